import { quoteIdentifier } from '../compute/sql-literals.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import { rawSourceTableName } from './glue-table-names.js';
import { RECORD_ID_COLUMN } from './raw-landing.js';

/**
 * The relation Athena reads a batch source from: its Glue table `raw_<source>`, over `raw/<source>/`,
 * which on AWS holds both the source's batch data and the events landed from streams and pushes. A
 * record landed twice (a redelivered batch, a bisected half, a compaction caught halfway) counts once:
 * rows are kept one per `_record_id`, and rows without one (the batch data) are all kept. Trino has no
 * QUALIFY, so the row number is a column of an inner query:
 *
 * ```sql
 * (SELECT "a", ... FROM (SELECT "a", ..., "_record_id", row_number() OVER (PARTITION BY "_record_id")
 *   AS "__record_copy" FROM "db"."raw_src") AS raw_rows
 *  WHERE "_record_id" IS NULL OR "__record_copy" = 1) AS source_rows
 * ```
 *
 * The Glue table must declare the `_record_id` column (a string; Parquet files without it read as null):
 * the stack adds it to `raw_<source>` in a later issue.
 */
export function athenaSourceRelation(
  source: BatchSourceDefinition,
  database: string,
  landedRows?: string,
): string {
  const q = quoteIdentifier;
  const columns = Object.keys(source.schema).map(q).join(', ');
  const id = q(RECORD_ID_COLUMN);
  const table = `${q(database)}.${q(rawSourceTableName(source))}`;
  const which = landedRows === undefined ? '' : ` WHERE ${landedRows}`;
  return `(SELECT ${columns} FROM (SELECT ${columns}, ${id}, row_number() OVER (PARTITION BY ${id}) AS "__record_copy" FROM ${table}${which}) AS raw_rows WHERE ${id} IS NULL OR "__record_copy" = 1) AS source_rows`;
}
