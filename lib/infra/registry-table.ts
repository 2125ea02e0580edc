import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface RegistryTableProps {
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
   * @default RemovalPolicy.RETAIN, since the registry is the record of every apply
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The DynamoDB table behind the registry: string `pk` and `sk` (one item per revision, written with a
 * conditional put), on demand, with point-in-time recovery so an accidental delete can be undone.
 */
export class RegistryTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: RegistryTableProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      ...(props.tableName ? { tableName: props.tableName } : {}),
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
