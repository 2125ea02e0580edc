import { type Dirent, existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { TIME_FORMS } from '../compute/source-values.js';
import { DUCKDB_DIALECT } from '../compute/sql-dialect.js';
import { quoteIdentifier, stringLiteral } from '../compute/sql-literals.js';
import type { BatchSourceDefinition, SourceDefinition } from '../definitions/sources.js';
import type { ValueType } from '../definitions/value-type.js';
import { FstoreError } from '../errors.js';
import type { DuckDBEngine } from './duckdb-engine.js';
import { checkedTextTimeSql, storedTimeSql, textTimeSql } from './duckdb-time.js';
import { rawSourcePrefix } from './offline-layout.js';
import { RECORD_ID_COLUMN } from './raw-landing.js';

/** A source's data is missing or does not match its declared schema. */
export class SourceDataError extends FstoreError {
  override readonly name = 'SourceDataError';
}

/** DuckDB column types each declared type accepts as stored (narrower integers and floats widen safely). */
const ACCEPTED: Record<string, RegExp> = {
  int64: /^(BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT)$/,
  float64: /^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|SMALLINT|TINYINT)$/,
  string: /^VARCHAR$/,
  bool: /^BOOLEAN$/,
  timestamp: /^(TIMESTAMP.*|DATE)$/,
};

/** The batch source behind a source (a Kinesis source backfills from its batch source). */
export function batchSourceOf(source: SourceDefinition): BatchSourceDefinition {
  return source.kind === 'batch_source' ? source : source.batchSource;
}

/** Where a local batch source's data is: its path resolved against the feature repo. */
export function localSourcePath(source: BatchSourceDefinition, repoDir: string): string {
  if (source.path.startsWith('s3://')) {
    throw new SourceDataError(
      `source "${source.name}" is on S3 (${source.path}); the local provider reads local files only: copy the data locally or use provider 'aws'`,
    );
  }
  return isAbsolute(source.path) ? source.path : resolve(repoDir, source.path);
}

/**
 * The relation a local source is read from.
 *
 * Without `offlineRoot`, or while the source's raw area (`<offlineRoot>/raw/<source>/`) holds no Parquet
 * file, it is the DuckDB table function reading the declared path: CSV with its declared column types,
 * Parquet as stored (a folder reads every Parquet file under it, with Hive partitions such as dt=... as
 * columns).
 *
 * Once events have landed in the raw area (stream records, offline pushes: see raw-landing.ts), it is the
 * declared rows followed by the landed ones, each column cast to its declared type, as one subquery:
 *
 * ```sql
 * (SELECT CAST("a" AS T) AS "a", ... FROM read_csv(...)
 *  UNION ALL
 *  SELECT CAST("a" AS T) AS "a", ... FROM read_parquet(<each Parquet file under the raw area>, ...)
 *  QUALIFY "_record_id" IS NULL OR row_number() OVER (PARTITION BY "_record_id") = 1) AS source_rows
 * ```
 *
 * A record landed twice (a redelivered batch, a bisected half, a compaction caught halfway) counts once:
 * landed rows are kept one per `_record_id`; rows without an id are all kept, and declared rows are never
 * deduplicated. `landedRows`, a condition on the landed rows (e.g. `BATCH_PART_ROWS`), keeps only some of
 * them. The raw area is looked at on every call, so files landed since the last call are read.
 * When the declared path and the raw area overlap (one inside the other), the declared relation alone is
 * used, so no file is read twice.
 */
export function duckdbSourceRelation(
  source: BatchSourceDefinition,
  repoDir: string,
  offlineRoot?: string,
  landedRows?: string,
): string {
  const declared = declaredRelation(source, repoDir);
  if (offlineRoot === undefined) return declared;
  const rawDir = resolve(offlineRoot, rawSourcePrefix(source.name));
  const path = localSourcePath(source, repoDir);
  if (isWithin(path, rawDir) || isWithin(rawDir, path) || !holdsParquet(rawDir)) return declared;
  const q = quoteIdentifier;
  const columns = (Object.entries(source.schema) as [string, ValueType][])
    .map(
      ([column, type]) =>
        `${type === 'timestamp' ? storedTimeSql(q(column)) : `CAST(${q(column)} AS ${DUCKDB_DIALECT.sqlType(type)})`} AS ${q(column)}`,
    )
    .join(', ');
  const id = q(RECORD_ID_COLUMN);
  // hive_partitioning off: raw files are read by the declared columns only, so a source column named dt
  // is never shadowed by the partition folder.
  const landed = `read_parquet(${stringLiteral(join(rawDir, '**', '*.parquet'))}, hive_partitioning = false, union_by_name = true)`;
  const which = landedRows === undefined ? '' : ` WHERE ${landedRows}`;
  return `(SELECT ${columns} FROM ${declared} UNION ALL SELECT ${columns} FROM ${landed}${which} QUALIFY ${id} IS NULL OR row_number() OVER (PARTITION BY ${id}) = 1) AS source_rows`;
}

/**
 * The declared path's rows. CSV is read with the declared types, except that timestamp columns are read
 * as text and parsed by the one rule for times (`textTimeSql`, the same as `parseEventTime`), so an offset
 * is honoured and a value that is not a time stops the job with an error naming the source, column, file
 * and value. Parquet is read as stored, its timestamp columns (TIMESTAMP of any unit, TIMESTAMP WITH TIME
 * ZONE, DATE) taken as the instants they hold, at millisecond precision (`storedTimeSql`).
 */
function declaredRelation(source: BatchSourceDefinition, repoDir: string): string {
  const { target, isFolder } = declaredTarget(source, repoDir);
  const times = timestampColumns(source);
  if (source.format === 'csv') {
    if (times.length === 0) return csvReader(source, target);
    const file = quoteIdentifier(FILE_COLUMN);
    const replaced = times.map(
      (column) =>
        `${checkedTextTimeSql(quoteIdentifier(column), notATimeSql(source, column, file))} AS ${quoteIdentifier(column)}`,
    );
    return `(SELECT * EXCLUDE (${file}) REPLACE (${replaced.join(', ')}) FROM ${csvReader(source, target, { filenames: true })})`;
  }
  const reader = parquetReader(target, isFolder);
  if (times.length === 0) return reader;
  const replaced = times.map(
    (column) => `${storedTimeSql(quoteIdentifier(column))} AS ${quoteIdentifier(column)}`,
  );
  return `(SELECT * REPLACE (${replaced.join(', ')}) FROM ${reader})`;
}

/** `read_parquet` of a source's file(s), as stored (a folder's Hive partitions such as dt=... as columns). */
function parquetReader(target: string, isFolder: boolean): string {
  return `read_parquet(${stringLiteral(target)}, hive_partitioning = ${isFolder ? 'true' : 'false'}, union_by_name = true)`;
}

/** The column naming each CSV row's file while its times are parsed (dropped from the rows). */
const FILE_COLUMN = '__fstore_file';

/** The declared path, or the glob of its files when it is a folder. */
function declaredTarget(
  source: BatchSourceDefinition,
  repoDir: string,
): { readonly target: string; readonly isFolder: boolean } {
  const path = localSourcePath(source, repoDir);
  const isFolder = existsSync(path) && statSync(path).isDirectory();
  return {
    target: isFolder ? join(path, '**', source.format === 'csv' ? '*.csv' : '*.parquet') : path,
    isFolder,
  };
}

function timestampColumns(source: BatchSourceDefinition): string[] {
  return (Object.entries(source.schema) as [string, ValueType][])
    .filter(([, type]) => type === 'timestamp')
    .map(([column]) => column);
}

/**
 * `read_csv` of a source's file(s): declared columns with their types (timestamps as VARCHAR, for the
 * one rule to parse), or sniffed ones when `typed` is false; `filenames` adds `FILE_COLUMN`.
 */
function csvReader(
  source: BatchSourceDefinition,
  target: string,
  options: { readonly typed?: boolean; readonly filenames?: boolean } = {},
): string {
  const settings = [stringLiteral(target), 'header = true'];
  if (options.typed !== false) {
    const types = (Object.entries(source.schema) as [string, ValueType][]).map(
      ([column, type]) =>
        `${stringLiteral(column)}: ${stringLiteral(type === 'timestamp' ? 'VARCHAR' : DUCKDB_DIALECT.sqlType(type))}`,
    );
    settings.push(`types = {${types.join(', ')}}`);
  }
  if (options.filenames) settings.push(`filename = ${stringLiteral(FILE_COLUMN)}`);
  return `read_csv(${settings.join(', ')})`;
}

/** The error for a CSV value that is not a time, as a SQL string expression (`file` names the file). */
function notATimeSql(source: BatchSourceDefinition, column: string, file: string): string {
  return `${stringLiteral(`source "${source.name}": column "${column}" in `)} || ${file} || ' has "' || ${quoteIdentifier(column)} || ${stringLiteral(`", which is not a time; write ${TIME_FORMS}`)}`;
}

/** True when `path` is `folder` or inside it (both absolute). */
function isWithin(path: string, folder: string): boolean {
  const a = resolve(path);
  const b = resolve(folder);
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
}

/**
 * Whether a folder holds a `*.parquet` file at any depth (what the `**` glob reads). Names starting with
 * `.` are skipped: the object store's temporary files, never objects.
 */
function holdsParquet(folder: string): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return false; // no raw area yet (or not a folder)
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile() && entry.name.endsWith('.parquet')) return true;
  }
  return entries.some(
    (entry) => entry.isDirectory() && !entry.name.startsWith('.') && holdsParquet(join(folder, entry.name)),
  );
}

/**
 * Checks that a local source exists and holds every declared column with a compatible type, so a
 * mismatch is reported with the file, the column and the expected type before any job runs.
 */
export async function checkLocalSource(
  engine: DuckDBEngine,
  source: BatchSourceDefinition,
  repoDir: string,
): Promise<void> {
  const path = localSourcePath(source, repoDir);
  if (!existsSync(path)) {
    throw new SourceDataError(
      `source "${source.name}": ${path} does not exist; create it or fix the source's path`,
    );
  }
  const relation = declaredRelation(source, repoDir);
  const { target, isFolder } = declaredTarget(source, repoDir);
  // Columns are checked by name and stored type first (the typed CSV reader refuses a missing column
  // without saying which file), then a CSV sample is parsed with the declared types.
  const untyped =
    source.format === 'csv' ? csvReader(source, target, { typed: false }) : parquetReader(target, isFolder);
  let described: Record<string, unknown>[];
  try {
    described = await engine.query(`DESCRIBE SELECT * FROM ${untyped}`);
  } catch (error) {
    throw new SourceDataError(`source "${source.name}": cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const actual = new Map(described.map((row) => [String(row.column_name), String(row.column_type)]));
  for (const [column, type] of Object.entries(source.schema) as [string, ValueType][]) {
    const found = actual.get(column);
    if (found === undefined) {
      throw new SourceDataError(
        `source "${source.name}": ${path} has no column "${column}" (expected ${type}); its columns are ${[...actual.keys()].join(', ')}`,
      );
    }
    const accepted = ACCEPTED[type] ?? /^(FLOAT|DOUBLE)\[\]$/;
    if (source.format !== 'csv' && !accepted.test(found)) {
      throw new SourceDataError(
        `source "${source.name}": column "${column}" in ${path} is ${found}, but the schema declares ${type}; fix the data or the schema`,
      );
    }
  }
  if (source.format === 'csv') {
    await checkCsvTimes(engine, source, target);
    try {
      await engine.query(`SELECT * FROM ${relation} LIMIT ${CSV_SAMPLE_ROWS}`);
    } catch (error) {
      throw new SourceDataError(
        `source "${source.name}": ${path} has values that do not fit the declared schema: ${(error as Error).message.split('\n')[0]}`,
        { cause: error },
      );
    }
  }
}

/**
 * Reports the first value of a CSV sample's timestamp columns that is not a time, with its file and
 * line (counted as the header's line plus the data row's number, so a quoted field spanning lines
 * before it shifts the count).
 */
async function checkCsvTimes(
  engine: DuckDBEngine,
  source: BatchSourceDefinition,
  target: string,
): Promise<void> {
  const times = timestampColumns(source);
  if (times.length === 0) return;
  const q = quoteIdentifier;
  const notATime = (column: string) => `(${q(column)} IS NOT NULL AND ${textTimeSql(q(column))} IS NULL)`;
  const sample = `SELECT * FROM ${csvReader(source, target, { filenames: true })} LIMIT ${CSV_SAMPLE_ROWS}`;
  const [bad] = await engine.query(
    `SELECT ${q(FILE_COLUMN)}, ${times.map((column) => `CASE WHEN ${notATime(column)} THEN ${q(column)} END AS ${q(column)}`).join(', ')} FROM (${sample}) WHERE ${times.map(notATime).join(' OR ')} LIMIT 1`,
  );
  if (!bad) return;
  const file = String(bad[FILE_COLUMN]);
  const column = times.find((name) => bad[name] !== null && bad[name] !== undefined) ?? '';
  const value = String(bad[column]);
  // One file read in order: the streaming row_number() follows the file's rows.
  const [found] = await engine.query(
    `SELECT "line" FROM (SELECT row_number() OVER () + 1 AS "line", ${q(column)} FROM ${csvReader(source, file)}) WHERE ${q(column)} = ${stringLiteral(value)} LIMIT 1`,
  );
  const line = found ? ` line ${String(found.line)}` : '';
  throw new SourceDataError(
    `source "${source.name}": column "${column}" in ${file}${line} has "${value}", which is not a time; write ${TIME_FORMS}`,
  );
}

/** Rows of a CSV source parsed with the declared types before a job starts. */
const CSV_SAMPLE_ROWS = 10_000;
