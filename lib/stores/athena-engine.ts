import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AthenaClient,
  type ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  type Row,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { FstoreError } from '../errors.js';
import {
  AthenaQueryError,
  AthenaQueryStartError,
  type AthenaQueryState,
  AthenaQueryTimeoutError,
  AthenaUnloadTargetError,
} from './athena-errors.js';
import { type AthenaColumn, athenaValue } from './athena-value.js';
import type { OfflineEngine, ParquetTarget, ResultRow } from './offline-engine.js';

/** GetQueryResults returns at most this many rows per page. */
export const ATHENA_MAX_RESULTS_PER_PAGE = 1000;

export interface AthenaEngineOptions {
  /** The Athena client. @default a new AthenaClient with region and credentials from the default chain, destroyed by close() */
  readonly client?: AthenaClient;
  /** Workgroup the queries run in (its limits, engine version and, if it enforces one, result location apply). @default 'primary' */
  readonly workGroup?: string;
  /** Glue database that unqualified table names resolve in. */
  readonly database: string;
  /** `s3://` folder for query results, for workgroups that do not enforce their own. @default the workgroup's result location */
  readonly outputLocation?: string;
  /** First wait between two GetQueryExecution polls; each later wait doubles, up to maxPollIntervalMs. @default 250 */
  readonly pollIntervalMs?: number;
  /** Longest wait between two polls. @default 5_000 */
  readonly maxPollIntervalMs?: number;
  /** How long a query may run before it is stopped and AthenaQueryTimeoutError thrown. @default 1_800_000 (30 minutes) */
  readonly timeoutMs?: number;
  /** Waits between polls; tests pass one that returns at once. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Current time in epoch milliseconds, for the timeout. @default Date.now */
  readonly now?: () => number;
  /** Makes the ClientRequestToken of each StartQueryExecution (32 to 128 characters). @default crypto.randomUUID */
  readonly requestToken?: () => string;
}

/** Engine options that cannot work (empty database, non-positive intervals). */
export class AthenaEngineOptionsError extends FstoreError {
  override readonly name = 'AthenaEngineOptionsError';
}

/**
 * The AWS offline engine: runs the compiler's Trino SQL on Amazon Athena. Each statement is one
 * StartQueryExecution, polled with exponential backoff until it ends; results are paged with GetQueryResults
 * and typed by the result metadata; Parquet is written with UNLOAD.
 *
 * @example
 * const engine = new AthenaEngine({ database: 'fstore_offline', outputLocation: 's3://my-bucket/athena-results/' });
 * const rows = await engine.query('SELECT user_id, amount FROM transactions LIMIT 10');
 */
export class AthenaEngine implements OfflineEngine {
  readonly dialect = 'athena' as const;

  private readonly client: AthenaClient;
  private readonly ownsClient: boolean;
  private readonly workGroup: string;
  private readonly database: string;
  private readonly outputLocation: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly requestToken: () => string;

  constructor(options: AthenaEngineOptions) {
    if (!options.database) {
      throw new AthenaEngineOptionsError(
        'the Athena engine needs a database: the Glue database holding the offline tables',
      );
    }
    this.pollIntervalMs = positive(options.pollIntervalMs ?? 250, 'pollIntervalMs');
    this.maxPollIntervalMs = Math.max(
      positive(options.maxPollIntervalMs ?? 5_000, 'maxPollIntervalMs'),
      this.pollIntervalMs,
    );
    this.timeoutMs = positive(options.timeoutMs ?? 30 * 60 * 1000, 'timeoutMs');
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new AthenaClient({});
    this.workGroup = options.workGroup ?? 'primary';
    this.database = options.database;
    this.outputLocation = options.outputLocation;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.now = options.now ?? Date.now;
    this.requestToken = options.requestToken ?? randomUUID;
  }

  async query(sql: string): Promise<ResultRow[]> {
    const queryId = await this.execute(sql);
    const rows: ResultRow[] = [];
    for await (const page of this.resultPages(queryId, ATHENA_MAX_RESULTS_PER_PAGE)) rows.push(...page);
    return rows;
  }

  /**
   * Yields one chunk per GetQueryResults page, so at most `chunkRows` rows (and at most 1000, Athena's page
   * limit) are held at a time. Empty pages are skipped.
   */
  async *stream(sql: string, chunkRows = ATHENA_MAX_RESULTS_PER_PAGE): AsyncIterable<ResultRow[]> {
    if (!Number.isInteger(chunkRows) || chunkRows < 1) {
      throw new AthenaEngineOptionsError(`chunkRows must be a whole number of at least 1, got ${chunkRows}`);
    }
    const queryId = await this.execute(sql);
    for await (const page of this.resultPages(queryId, Math.min(chunkRows, ATHENA_MAX_RESULTS_PER_PAGE))) {
      if (page.length > 0) yield page;
    }
  }

  /**
   * Writes the query's result as Snappy Parquet under an `s3://` folder with UNLOAD. Athena's rules apply:
   * the folder must be empty unless partitioned, and one UNLOAD writes at most 100 partitions (split larger
   * ranges with splitIntoPartitionBatches).
   *
   * UNLOAD takes partition columns from the end of the select list, so with `partitionBy` the engine first
   * reads the query's columns (a `LIMIT 0` query, which scans nothing) and, if the partition column is not
   * last, selects the columns again with it moved to the end.
   *
   * The row count is Athena's UpdateCount for the UNLOAD when it reports one; otherwise a `count(*)` over the
   * same SQL runs, which scans the input a second time.
   */
  async writeParquet(sql: string, target: ParquetTarget): Promise<{ rows: number }> {
    const location = unloadLocation(target.location);
    const select = target.partitionBy ? await this.withPartitionColumnLast(sql, target.partitionBy) : sql;
    const queryId = await this.execute(unloadSql(select, location, target.partitionBy));
    const output = await this.client.send(
      new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: 1 }),
    );
    if (typeof output.UpdateCount === 'number' && output.UpdateCount > 0) return { rows: output.UpdateCount };
    // An UpdateCount of 0 may mean "not reported" as well as "no rows"; only a count tells them apart.
    const [count] = await this.query(`SELECT count(*) AS row_count FROM (\n${sql}\n) AS unloaded`);
    return { rows: Number(count?.row_count ?? 0) };
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  /** Starts a statement and waits until it succeeded; returns its QueryExecutionId. */
  private async execute(sql: string): Promise<string> {
    const queryId = await this.start(sql);
    await this.waitForSuccess(queryId);
    return queryId;
  }

  private async start(sql: string): Promise<string> {
    let queryId: string | undefined;
    try {
      const output = await this.client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          // The SDK retries with the same input, and Athena starts one query per token.
          ClientRequestToken: this.requestToken(),
          QueryExecutionContext: { Database: this.database },
          WorkGroup: this.workGroup,
          ...(this.outputLocation ? { ResultConfiguration: { OutputLocation: this.outputLocation } } : {}),
        }),
      );
      queryId = output.QueryExecutionId;
    } catch (error) {
      throw new AthenaQueryStartError(
        `Athena did not start the query in workgroup "${this.workGroup}", database "${this.database}": ${(error as Error).message}; check that both exist, that the workgroup has a result location or outputLocation is set, and that the caller may run Athena queries, read the Glue catalog and use the S3 locations`,
        { cause: error },
      );
    }
    if (!queryId) {
      throw new AthenaQueryStartError(
        'Athena accepted the query but returned no QueryExecutionId; run it again',
      );
    }
    return queryId;
  }

  private async waitForSuccess(queryId: string): Promise<QueryExecution> {
    const startedAt = this.now();
    let interval = this.pollIntervalMs;
    for (;;) {
      const { QueryExecution: execution } = await this.client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: queryId }),
      );
      const status = execution?.Status;
      const state = (status?.State ?? 'QUEUED') as AthenaQueryState;
      if (state === 'SUCCEEDED') return execution as QueryExecution;
      if (state === 'FAILED' || state === 'CANCELLED') {
        throw new AthenaQueryError({
          queryId,
          state,
          reason: status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? 'Athena gave no reason',
          ...(status?.AthenaError?.Retryable !== undefined
            ? { retryable: status.AthenaError.Retryable }
            : {}),
        });
      }
      const elapsed = this.now() - startedAt;
      if (elapsed >= this.timeoutMs) {
        const stopError = await this.client
          .send(new StopQueryExecutionCommand({ QueryExecutionId: queryId }))
          .then(() => undefined)
          .catch((error: unknown) => error);
        throw new AthenaQueryTimeoutError(
          queryId,
          state,
          this.timeoutMs,
          stopError ? { cause: stopError } : undefined,
        );
      }
      // The last wait ends at the deadline, so a query finishing just in time is still seen.
      await this.sleep(Math.min(interval, this.timeoutMs - elapsed));
      interval = Math.min(interval * 2, this.maxPollIntervalMs);
    }
  }

  /** Pages through a finished query's results, converting each row by the column types. */
  private async *resultPages(queryId: string, pageSize: number): AsyncGenerator<ResultRow[]> {
    let columns: AthenaColumn[] | undefined;
    let nextToken: string | undefined;
    let firstPage = true;
    do {
      const page = await this.client.send(
        new GetQueryResultsCommand({
          QueryExecutionId: queryId,
          MaxResults: pageSize,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      columns ??= toColumns(page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []);
      let rows = page.ResultSet?.Rows ?? [];
      // A SELECT's first page starts with the column names as a row; DDL and utility results do not.
      if (firstPage && rows[0] && isHeaderRow(rows[0], columns)) rows = rows.slice(1);
      firstPage = false;
      const knownColumns = columns;
      yield rows.map((row) => toResultRow(row, knownColumns));
      nextToken = page.NextToken;
    } while (nextToken);
  }

  private async withPartitionColumnLast(sql: string, partitionBy: string): Promise<string> {
    const columns = await this.resultColumns(`SELECT * FROM (\n${sql}\n) AS unload_source LIMIT 0`);
    const names = columns.map((column) => column.name);
    const partitionColumn = names.find((name) => name.toLowerCase() === partitionBy.toLowerCase());
    if (partitionColumn === undefined) {
      throw new AthenaUnloadTargetError(
        `cannot partition by "${partitionBy}": the query returns only ${names.map((name) => `"${name}"`).join(', ')}; select the partition column or write without partitionBy`,
      );
    }
    if (names.at(-1) === partitionColumn) return sql;
    const ordered = [...names.filter((name) => name !== partitionColumn), partitionColumn];
    return `SELECT ${ordered.map(quoteIdentifier).join(', ')} FROM (\n${sql}\n) AS unload_source`;
  }

  /** The columns a statement returns, from the metadata of its first result page. */
  private async resultColumns(sql: string): Promise<AthenaColumn[]> {
    const queryId = await this.execute(sql);
    const page = await this.client.send(
      new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: 1 }),
    );
    return toColumns(page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []);
  }
}

/** The UNLOAD statement for `select`; the select is on lines of its own so a trailing `--` comment ends there. */
export function unloadSql(select: string, location: string, partitionBy?: string): string {
  const properties = ["format = 'PARQUET'", "compression = 'SNAPPY'"];
  if (partitionBy) properties.push(`partitioned_by = ARRAY[${stringLiteral(partitionBy)}]`);
  return `UNLOAD (\n${select}\n) TO ${stringLiteral(location)} WITH (${properties.join(', ')})`;
}

function unloadLocation(location: string): string {
  if (!/^s3:\/\/[^/]+/.test(location)) {
    throw new AthenaUnloadTargetError(
      `Athena writes Parquet to S3 only, and "${location}" is not an s3:// location; give the target as s3://<bucket>/<prefix>/`,
    );
  }
  return location.endsWith('/') ? location : `${location}/`;
}

function toColumns(info: readonly ColumnInfo[]): AthenaColumn[] {
  return info.map((column, index) => ({
    name: column.Name ?? `_col${index}`,
    type: column.Type ?? 'varchar',
  }));
}

function isHeaderRow(row: Row, columns: readonly AthenaColumn[]): boolean {
  const data = row.Data ?? [];
  return (
    columns.length > 0 &&
    data.length === columns.length &&
    columns.every((c, i) => data[i]?.VarCharValue === c.name)
  );
}

function toResultRow(row: Row, columns: readonly AthenaColumn[]): ResultRow {
  const result: ResultRow = {};
  columns.forEach((column, index) => {
    const text = row.Data?.[index]?.VarCharValue;
    result[column.name] = text === undefined ? null : athenaValue(text, column);
  });
  return result;
}

function stringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function positive(value: number, option: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new AthenaEngineOptionsError(`${option} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}
