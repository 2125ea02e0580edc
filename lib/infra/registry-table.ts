import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type PkSkTableProps, pkSkTable } from './pk-sk-table.js';

/** Retained by default, since the registry is the record of every apply. */
export type RegistryTableProps = PkSkTableProps;

/**
 * The DynamoDB table behind the registry: string `pk` and `sk` (one item per revision, written with a
 * conditional put), on demand, with point-in-time recovery so an accidental delete can be undone.
 */
export class RegistryTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: RegistryTableProps = {}) {
    super(scope, id);
    this.table = pkSkTable(this, props);
  }
}
