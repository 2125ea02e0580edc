import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ONLINE_TTL_ATTRIBUTE } from '../stores/online-table.js';

export interface OnlineStoreTableProps {
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
   * @default RemovalPolicy.RETAIN, since rebuilding every entity's state means materializing every view again
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The DynamoDB table serving online features: string `pk` (the entity key) and `sk` (`<view>#<version>`,
 * `#stream` for a stream part), on demand, with point-in-time recovery. DynamoDB TTL deletes items by
 * `expires_at` (epoch seconds) once nothing in them can be present any more; reads never rely on it.
 */
export class OnlineStoreTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: OnlineStoreTableProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      ...(props.tableName ? { tableName: props.tableName } : {}),
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: ONLINE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
