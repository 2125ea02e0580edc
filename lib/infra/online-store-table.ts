import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ONLINE_TTL_ATTRIBUTE } from '../stores/online-table.js';
import { type PkSkTableProps, pkSkTable } from './pk-sk-table.js';

/** Retained by default, since rebuilding every entity's state means materializing every view again. */
export type OnlineStoreTableProps = PkSkTableProps;

/**
 * The DynamoDB table serving online features: string `pk` (the entity key) and `sk` (`<view>#<version>`,
 * `#stream` for a stream part), on demand, with point-in-time recovery. DynamoDB TTL deletes items by
 * `expires_at` (epoch seconds) once nothing in them can be present any more; reads never rely on it.
 */
export class OnlineStoreTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: OnlineStoreTableProps = {}) {
    super(scope, id);
    this.table = pkSkTable(this, props, { timeToLiveAttribute: ONLINE_TTL_ATTRIBUTE });
  }
}
