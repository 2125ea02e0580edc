import type { FstoreError } from '../errors.js';

/** SQL dialects the compiler writes: DuckDB (local) and Athena's Trino. */
export type SqlDialectName = 'duckdb' | 'athena';

/** One result row: column name -> value (numbers, strings, booleans, Date for timestamps, arrays, null). */
export type ResultRow = Record<string, unknown>;

/** Where a query's result is written as Parquet, one folder per value of `partitionBy`. */
export interface ParquetTarget {
  /** Folder (local path or `s3://bucket/prefix/`) to write under; it must be empty or absent. */
  readonly location: string;
  /**
   * Column whose values become `<column>=<value>/` sub-folders, e.g. `dt`. Athena's UNLOAD needs it as
   * the last column of the query; the compiler puts `dt` last. @default no partitioning
   */
  readonly partitionBy?: string;
  /** Write exactly one file at `location` (a file path, not a folder). Local engine only. @default false */
  readonly singleFile?: boolean;
}

/**
 * Runs SQL for the offline store. Implementations: DuckDB in process (local) and Athena (aws).
 * The SQL comes from the compiler in the engine's own dialect; engines never build SQL from user input.
 */
export interface OfflineEngine {
  readonly dialect: SqlDialectName;
  /** Runs a statement and returns every row; for small results (previews, summaries). */
  query(sql: string): Promise<ResultRow[]>;
  /** Runs a query and yields its rows in chunks, never holding the whole result. */
  stream(sql: string, chunkRows?: number): AsyncIterable<ResultRow[]>;
  /** Writes a query's result as Parquet files under `target.location`; returns the rows written. */
  writeParquet(sql: string, target: ParquetTarget): Promise<{ rows: number }>;
  close(): Promise<void>;
}

/** A query the engine refused or that failed while running. */
export interface QueryFailure extends FstoreError {
  /** The engine's id for the query (Athena's QueryExecutionId), when it has one. */
  readonly queryId?: string;
}
