import { quoteIdentifier } from '../compute/sql-literals.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import { rawSourceTableName } from './glue-table-names.js';
import { RECORD_ID_COLUMN } from './raw-landing.js';

/**
 * The relation Athena reads a batch source from: its Glue table `raw_<source>`, over `raw/<source>/`,
 * which on AWS holds both the source's batch data and the events landed from streams and pushes. A
 * record landed twice (a redelivered batch, a bisected half, a compaction caught halfway) counts once:
 * landed rows are kept one per `_record_id`, and rows without one (the batch data) are all kept. The two
 * are read apart, so the numbering of copies never gathers the batch data's null ids in one window
 * partition (one worker); Trino has no QUALIFY, so the row number is a column of an inner query:
 *
 * ```sql
 * (SELECT "a", ... FROM "db"."raw_src" WHERE "_record_id" IS NULL
 *  UNION ALL
 *  SELECT "a", ... FROM (SELECT "a", ..., row_number() OVER (PARTITION BY "_record_id") AS "__record_copy"
 *   FROM "db"."raw_src" WHERE "_record_id" IS NOT NULL) AS landed_rows WHERE "__record_copy" = 1) AS source_rows
 * ```
 *
 * `landedRows`, a condition on the landed rows (e.g. `BATCH_PART_ROWS`), keeps only some of them. The
 * stack's Glue table declares `_record_id` (Parquet files without it read as null).
 *
 * Times: the Glue table is Parquet and declares each timestamp column `timestamp`, so no text time
 * reaches Athena and the rule for parsing text (`parseEventTime`) has nothing to do here. Rows landed from
 * pushes and streams were parsed by that rule and are written as whole milliseconds, exact on both
 * engines. Batch data put in `raw/<source>/` must store its times as Parquet timestamps; Athena reads a
 * Parquet timestamp as its UTC instant (one without zone as UTC wall-clock time, like the local engine)
 * at millisecond precision. How Athena's reader treats digits finer than milliseconds (cut or rounded)
 * is Athena's and is untested here: the local engine cuts them, so data stored in whole milliseconds
 * reads the same on both.
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
  const which = landedRows === undefined ? '' : ` AND ${landedRows}`;
  const batchRows = `SELECT ${columns} FROM ${table} WHERE ${id} IS NULL`;
  const landed = `SELECT ${columns} FROM (SELECT ${columns}, row_number() OVER (PARTITION BY ${id}) AS "__record_copy" FROM ${table} WHERE ${id} IS NOT NULL${which}) AS landed_rows WHERE "__record_copy" = 1`;
  return `(${batchRows} UNION ALL ${landed}) AS source_rows`;
}
