import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FstoreError } from '../errors.js';
import type { OfflineEngine, ParquetTarget, QueryFailure, ResultRow } from './offline-engine.js';

/** A query DuckDB refused or failed to run. */
export class DuckDBQueryError extends FstoreError implements QueryFailure {
  override readonly name = 'DuckDBQueryError';
}

export interface DuckDBEngineOptions {
  /** Worker threads. @default DuckDB's default (all cores) */
  readonly threads?: number;
  /** Memory DuckDB may use before spilling to disk, e.g. `'2GB'`. @default DuckDB's default (80% of RAM) */
  readonly memoryLimit?: string;
}

/**
 * The local offline engine: DuckDB in this process, reading and writing local Parquet and CSV. Its
 * session runs in UTC so timestamps without zone mean UTC, as DESIGN.md section 3 says.
 */
export class DuckDBEngine implements OfflineEngine {
  readonly dialect = 'duckdb' as const;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async create(options: DuckDBEngineOptions = {}): Promise<DuckDBEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const engine = new DuckDBEngine(instance, connection);
    await engine.run("SET TimeZone = 'UTC'");
    if (options.threads) await engine.run(`SET threads = ${Math.max(1, Math.floor(options.threads))}`);
    if (options.memoryLimit && /^\d+(\.\d+)?\s*(KB|MB|GB|TB)$/i.test(options.memoryLimit)) {
      await engine.run(`SET memory_limit = '${options.memoryLimit}'`);
    }
    return engine;
  }

  /** Runs statements that return nothing of interest (settings, DDL). */
  async run(sql: string): Promise<void> {
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw new DuckDBQueryError(`DuckDB failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async query(sql: string): Promise<ResultRow[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map(toPlainRow);
    } catch (error) {
      throw new DuckDBQueryError(`DuckDB failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async *stream(sql: string, chunkRows = 10_000): AsyncIterable<ResultRow[]> {
    let result: Awaited<ReturnType<DuckDBConnection['stream']>>;
    try {
      result = await this.connection.stream(sql);
    } catch (error) {
      throw new DuckDBQueryError(`DuckDB failed: ${(error as Error).message}`, { cause: error });
    }
    let pending: ResultRow[] = [];
    for await (const rows of result.yieldRowObjectJs()) {
      pending.push(...rows.map(toPlainRow));
      if (pending.length >= chunkRows) {
        yield pending;
        pending = [];
      }
    }
    if (pending.length > 0) yield pending;
  }

  async writeParquet(sql: string, target: ParquetTarget): Promise<{ rows: number }> {
    if (target.location.startsWith('s3://')) {
      throw new DuckDBQueryError(
        'the local engine writes local folders only; use the Athena engine for s3:// locations',
      );
    }
    await mkdir(target.singleFile ? dirname(target.location) : target.location, { recursive: true });
    const partition = target.partitionBy
      ? `, PARTITION_BY (${quote(target.partitionBy)}), OVERWRITE_OR_IGNORE`
      : '';
    const destination =
      target.partitionBy || target.singleFile
        ? target.location
        : `${target.location.replace(/\/$/, '')}/part-0.parquet`;
    const rows = await this.query(
      `COPY (${sql}) TO '${destination.replaceAll("'", "''")}' (FORMAT PARQUET, COMPRESSION ZSTD${partition})`,
    );
    const count = rows[0]?.Count ?? rows[0]?.count ?? 0;
    return { rows: Number(count) };
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** DuckDB's JS values with BIGINTs as numbers where that is exact (counts, ids, epoch milliseconds). */
function toPlainRow(row: Record<string, unknown>): ResultRow {
  const plain: ResultRow = {};
  for (const [key, value] of Object.entries(row)) plain[key] = toPlainValue(value);
  return plain;
}

function toPlainValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (Array.isArray(value)) return value.map(toPlainValue);
  return value;
}
