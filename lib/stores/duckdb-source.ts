import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DUCKDB_DIALECT } from '../compute/sql-dialect.js';
import { stringLiteral } from '../compute/sql-literals.js';
import type { BatchSourceDefinition, SourceDefinition } from '../definitions/sources.js';
import type { ValueType } from '../definitions/value-type.js';
import { FstoreError } from '../errors.js';
import type { DuckDBEngine } from './duckdb-engine.js';

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
 * The DuckDB table function reading a local source: CSV with its declared column types, Parquet as
 * stored (a folder reads every Parquet file under it, with Hive partitions such as dt=... as columns).
 */
export function duckdbSourceRelation(source: BatchSourceDefinition, repoDir: string): string {
  const path = localSourcePath(source, repoDir);
  const isFolder = existsSync(path) && statSync(path).isDirectory();
  if (source.format === 'csv') {
    const types = Object.entries(source.schema)
      .map(([column, type]) => `${stringLiteral(column)}: ${stringLiteral(DUCKDB_DIALECT.sqlType(type))}`)
      .join(', ');
    const target = isFolder ? join(path, '**', '*.csv') : path;
    return `read_csv(${stringLiteral(target)}, header = true, types = {${types}})`;
  }
  const target = isFolder ? join(path, '**', '*.parquet') : path;
  return `read_parquet(${stringLiteral(target)}, hive_partitioning = ${isFolder ? 'true' : 'false'}, union_by_name = true)`;
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
  const relation = duckdbSourceRelation(source, repoDir);
  // CSV columns are checked by name first (the typed reader refuses a missing column without saying
  // which file), then a sample is parsed with the declared types.
  const untyped = source.format === 'csv' ? relation.replace(/, types = \{[^}]*\}\)$/, ')') : relation;
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

/** Rows of a CSV source parsed with the declared types before a job starts. */
const CSV_SAMPLE_ROWS = 10_000;
