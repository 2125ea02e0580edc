import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

/** Settings shared by fstore's DynamoDB tables. */
export interface PkSkTableProps {
  /**
   * Physical table name. Leave it unset so CloudFormation names it and stacks can coexist.
   * @default a generated name
   */
  readonly tableName?: string;
  /**
   * Refuse deletes of the table through CloudFormation or the console until this is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A table keyed by string `pk` and `sk`, as fstore's stores write them, on demand, with point-in-time
 * recovery, deletion protection and retention unless told otherwise; `timeToLiveAttribute` for DynamoDB TTL.
 */
export function pkSkTable(
  scope: Construct,
  props: PkSkTableProps,
  options: { readonly timeToLiveAttribute?: string } = {},
): TableV2 {
  return new TableV2(scope, 'Table', {
    ...(props.tableName ? { tableName: props.tableName } : {}),
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
    billing: Billing.onDemand(),
    ...(options.timeToLiveAttribute ? { timeToLiveAttribute: options.timeToLiveAttribute } : {}),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: props.deletionProtection ?? true,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
}
