import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  InvalidRequestException,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FstoreError } from '../../lib/errors.js';
import {
  AthenaEngine,
  type AthenaEngineOptions,
  AthenaEngineOptionsError,
} from '../../lib/stores/athena-engine.js';
import {
  AthenaQueryError,
  AthenaQueryStartError,
  AthenaQueryTimeoutError,
  AthenaUnloadTargetError,
} from '../../lib/stores/athena-errors.js';
import { assertValidAthenaUnload, assertValidTrinoSql } from '../support/trino-sql.js';

const athena = mockClient(AthenaClient);

type Column = readonly [name: string, type: string];

/** One GetQueryResults page; the first page of a SELECT starts with the column names as a row. */
function page(
  columns: readonly Column[],
  rows: readonly (readonly (string | null)[])[],
  options: { header?: boolean; nextToken?: string; updateCount?: number } = {},
): GetQueryResultsCommandOutput {
  const toRow = (values: readonly (string | null)[]) => ({
    Data: values.map((value) => (value === null ? {} : { VarCharValue: value })),
  });
  const header = options.header ? [toRow(columns.map(([name]) => name))] : [];
  return {
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
      Rows: [...header, ...rows.map(toRow)],
    },
    ...(options.nextToken ? { NextToken: options.nextToken } : {}),
    ...(options.updateCount !== undefined ? { UpdateCount: options.updateCount } : {}),
    $metadata: {},
  };
}

function execution(
  state: QueryExecutionState,
  status: Record<string, unknown> = {},
): GetQueryExecutionCommandOutput {
  return { QueryExecution: { QueryExecutionId: 'q-1', Status: { State: state, ...status } }, $metadata: {} };
}

/** An engine whose sleep returns at once and moves a fake clock, so timeouts take no real time. */
function newEngine(overrides: Partial<AthenaEngineOptions> = {}) {
  const clock = { now: 1_000_000, sleeps: [] as number[] };
  let tokens = 0;
  const engine = new AthenaEngine({
    client: new AthenaClient({ region: 'us-east-1' }),
    database: 'fstore_offline',
    workGroup: 'fstore',
    outputLocation: 's3://results-bucket/athena/',
    pollIntervalMs: 100,
    maxPollIntervalMs: 1_000,
    timeoutMs: 60_000,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
    now: () => clock.now,
    requestToken: () => `token-${String(++tokens).padStart(32, '0')}`,
    ...overrides,
  });
  return { engine, clock };
}

function startedSql(): string[] {
  return athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input.QueryString ?? '');
}

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
  athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
});

afterEach(() => {
  // Athena has no local server: every statement the engine sent must at least parse as Trino (UNLOAD in parts).
  for (const sql of startedSql()) {
    if (sql.startsWith('UNLOAD')) assertValidAthenaUnload(sql);
    else assertValidTrinoSql(sql);
  }
});

describe('AthenaEngine: starting a query', () => {
  it('sends the SQL with the database, workgroup, result location and an idempotency token', async () => {
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'integer']], [['1']], { header: true }));
    const { engine } = newEngine();

    await engine.query('SELECT 1 AS n');

    expect(athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueryString: 'SELECT 1 AS n',
        ClientRequestToken: 'token-00000000000000000000000000000001',
        QueryExecutionContext: { Database: 'fstore_offline' },
        WorkGroup: 'fstore',
        ResultConfiguration: { OutputLocation: 's3://results-bucket/athena/' },
      },
    ]);
  });

  it('uses the primary workgroup and its own result location when none is given', async () => {
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'integer']], [['1']], { header: true }));
    const { engine } = newEngine({ workGroup: undefined, outputLocation: undefined });

    await engine.query('SELECT 1 AS n');

    const input = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(input?.WorkGroup).toBe('primary');
    expect(input).not.toHaveProperty('ResultConfiguration');
  });

  it('gives each statement its own request token', async () => {
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'integer']], [['1']], { header: true }));
    const { engine } = newEngine();

    await engine.query('SELECT 1 AS n');
    await engine.query('SELECT 2 AS n');

    const tokens = athena
      .commandCalls(StartQueryExecutionCommand)
      .map((c) => c.args[0].input.ClientRequestToken);
    expect(new Set(tokens).size).toBe(2);
  });

  it('turns a refused start into AthenaQueryStartError that names the workgroup and database and keeps the cause', async () => {
    const refused = new InvalidRequestException({ message: 'WorkGroup fstore is not found.', $metadata: {} });
    athena.on(StartQueryExecutionCommand).rejects(refused);
    const { engine } = newEngine();

    const error = await engine.query('SELECT 1 AS n').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryStartError);
    expect(error).toBeInstanceOf(FstoreError);
    expect((error as Error).message).toMatch(
      /^Athena did not start the query in workgroup "fstore", database "fstore_offline": WorkGroup fstore is not found\.; check that both exist/,
    );
    expect((error as Error).cause).toBe(refused);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('AthenaEngine: waiting for a query', () => {
  it('polls until SUCCEEDED, doubling the wait each time up to the cap', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'integer']], [['1']], { header: true }));
    const { engine, clock } = newEngine();

    const rows = await engine.query('SELECT 1 AS n');

    expect(rows).toEqual([{ n: 1 }]);
    expect(clock.sleeps).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(athena.commandCalls(GetQueryExecutionCommand).map((call) => call.args[0].input)).toEqual(
      Array(8).fill({ QueryExecutionId: 'q-1' }),
    );
  });

  it.each([
    [
      'AthenaError.ErrorMessage',
      {
        AthenaError: {
          ErrorMessage: "COLUMN_NOT_FOUND: line 1:8: Column 'amt' cannot be resolved",
          Retryable: false,
        },
        StateChangeReason: 'other',
      },
      "COLUMN_NOT_FOUND: line 1:8: Column 'amt' cannot be resolved",
    ],
    [
      'StateChangeReason when there is no AthenaError',
      { StateChangeReason: 'Query exhausted resources' },
      'Query exhausted resources',
    ],
    ['a stand-in when Athena gives no reason', {}, 'Athena gave no reason'],
  ])(
    'throws AthenaQueryError with the query id and %s when the query FAILED',
    async (_source, status, reason) => {
      athena
        .on(GetQueryExecutionCommand)
        .resolvesOnce(execution('RUNNING'))
        .resolves(execution('FAILED', status));
      const { engine } = newEngine();

      const error = await engine.query('SELECT amt FROM transactions').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AthenaQueryError);
      expect(error).toMatchObject({ name: 'AthenaQueryError', queryId: 'q-1', state: 'FAILED', reason });
      expect((error as Error).message).toBe(`Athena query q-1 FAILED: ${reason}`);
      expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    },
  );

  it('says whether Athena thinks a failed query may succeed when run again', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('FAILED', { AthenaError: { ErrorMessage: 'Rate exceeded', Retryable: true } }));
    const { engine } = newEngine();

    const error = await engine.query('SELECT 1 AS n').catch((e: unknown) => e);

    expect(error).toMatchObject({ retryable: true });
  });

  it('throws AthenaQueryError with state CANCELLED when the query was cancelled', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('CANCELLED', { StateChangeReason: 'Query cancelled by user' }));
    const { engine } = newEngine();

    const error = await engine.query('SELECT 1 AS n').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ queryId: 'q-1', state: 'CANCELLED' });
    expect((error as Error).message).toBe('Athena query q-1 CANCELLED: Query cancelled by user');
  });

  it('stops a query that runs past the timeout, then throws AthenaQueryTimeoutError', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const { engine, clock } = newEngine({ timeoutMs: 2_500 });

    const error = await engine.query('SELECT 1 AS n').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryTimeoutError);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({
      name: 'AthenaQueryTimeoutError',
      queryId: 'q-1',
      state: 'RUNNING',
      timeoutMs: 2_500,
    });
    expect((error as Error).message).toBe(
      "Athena query q-1 did not finish within 2500 ms (last state RUNNING) and was stopped; raise the engine's timeoutMs, or make the query scan less (fewer partitions per run)",
    );
    expect(athena.commandCalls(StopQueryExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { QueryExecutionId: 'q-1' },
    ]);
    // The last wait is cut to end at the deadline; one more poll sees the query still running.
    expect(clock.sleeps).toEqual([100, 200, 400, 800, 1_000]);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(6);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('still throws the timeout when stopping the query fails, keeping that failure as the cause', async () => {
    const stopFailure = new InvalidRequestException({ message: 'Query has already finished', $metadata: {} });
    athena.on(GetQueryExecutionCommand).resolves(execution('QUEUED'));
    athena.on(StopQueryExecutionCommand).rejects(stopFailure);
    const { engine } = newEngine({ timeoutMs: 50 });

    const error = await engine.query('SELECT 1 AS n').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryTimeoutError);
    expect(error).toMatchObject({ state: 'QUEUED' });
    expect((error as Error).cause).toBe(stopFailure);
  });
});

describe('AthenaEngine.query', () => {
  it('pages GetQueryResults with NextToken across three pages, skipping the header row of the first', async () => {
    const columns: Column[] = [
      ['user_id', 'bigint'],
      ['amount', 'double'],
    ];
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        page(
          columns,
          [
            ['1', '10.5'],
            ['2', '20.0'],
          ],
          { header: true, nextToken: 'page-2' },
        ),
      )
      .resolvesOnce(
        page(
          columns,
          [
            ['3', '30.25'],
            ['4', null],
          ],
          { nextToken: 'page-3' },
        ),
      )
      .resolvesOnce(page(columns, [['5', '50.0']]));
    const { engine } = newEngine();

    const rows = await engine.query('SELECT user_id, amount FROM transactions');

    expect(rows).toEqual([
      { user_id: 1, amount: 10.5 },
      { user_id: 2, amount: 20 },
      { user_id: 3, amount: 30.25 },
      { user_id: 4, amount: null },
      { user_id: 5, amount: 50 },
    ]);
    expect(athena.commandCalls(GetQueryResultsCommand).map((call) => call.args[0].input)).toEqual([
      { QueryExecutionId: 'q-1', MaxResults: 1000 },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: 'page-2' },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: 'page-3' },
    ]);
  });

  it('keeps a first row that is not the column names, as DDL and utility results have none', async () => {
    athena.on(GetQueryResultsCommand).resolves(page([['tab_name', 'string']], [['transactions']]));
    const { engine } = newEngine();

    const rows = await engine.query('SHOW TABLES');

    expect(rows).toEqual([{ tab_name: 'transactions' }]);
  });

  it('returns no rows for a statement without a result set', async () => {
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { Rows: [] }, $metadata: {} });
    const { engine } = newEngine();

    expect(await engine.query('CREATE SCHEMA IF NOT EXISTS fstore_offline')).toEqual([]);
  });

  it.each([
    ['bigint', '42', 42],
    ['bigint', '-9007199254740991', -9007199254740991],
    ['bigint', '9007199254740993', 9007199254740993n],
    ['integer', '-7', -7],
    ['smallint', '12', 12],
    ['tinyint', '3', 3],
    ['double', '1.5', 1.5],
    ['double', '1.0E10', 1e10],
    ['double', 'NaN', Number.NaN],
    ['double', '-Infinity', Number.NEGATIVE_INFINITY],
    ['float', '0.25', 0.25],
    ['real', '0.5', 0.5],
    ['decimal', '12.50', 12.5],
    ['decimal(10,2)', '-0.01', -0.01],
    ['boolean', 'true', true],
    ['boolean', 'false', false],
    ['varchar', 'hello, world', 'hello, world'],
    ['varchar', '', ''],
    ['char', 'ab', 'ab'],
    ['timestamp', '2024-03-01 12:00:00.250', new Date('2024-03-01T12:00:00.250Z')],
    ['timestamp', '2024-03-01 12:00:00', new Date('2024-03-01T12:00:00.000Z')],
    ['timestamp(6)', '2024-03-01 12:00:00.123456', new Date('2024-03-01T12:00:00.123Z')],
    ['timestamp with time zone', '2024-03-01 12:00:00.000 UTC', new Date('2024-03-01T12:00:00.000Z')],
    ['timestamp with time zone', '2024-03-01 12:00:00.000 +02:00', new Date('2024-03-01T10:00:00.000Z')],
    ['date', '2024-03-01', new Date('2024-03-01T00:00:00.000Z')],
    ['array', '[1, 2, 3]', [1, 2, 3]],
    ['array', '[a, b]', ['a', 'b']],
    ['array', '[]', []],
    ['array', '[1.5, null, -2]', [1.5, null, -2]],
    ['array', '[[1, 2], [3]]', [[1, 2], [3]]],
    ['json', '{"a":[1,2],"b":null}', { a: [1, 2], b: null }],
    ['row', '{field0=1, field1=2.0}', '{field0=1, field1=2.0}'],
    ['map', '{a=1}', '{a=1}'],
  ])('reads a %s value %j by its column type', async (type, text, expected) => {
    athena.on(GetQueryResultsCommand).resolves(page([['v', type]], [[text]], { header: true }));
    const { engine } = newEngine();

    const [row] = await engine.query('SELECT v FROM t');

    expect(row).toEqual({ v: expected });
  });

  it.each(['bigint', 'double', 'boolean', 'varchar', 'timestamp', 'date', 'array', 'json'])(
    'reads a missing %s value as null',
    async (type) => {
      athena.on(GetQueryResultsCommand).resolves(page([['v', type]], [[null]], { header: true }));
      const { engine } = newEngine();

      expect(await engine.query('SELECT v FROM t')).toEqual([{ v: null }]);
    },
  );
});

describe('AthenaEngine.stream', () => {
  const columns: Column[] = [['n', 'integer']];

  it('yields one chunk per result page and skips a first page that held only the header', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(page(columns, [], { header: true, nextToken: 't2' }))
      .resolvesOnce(page(columns, [['1'], ['2']], { nextToken: 't3' }))
      .resolvesOnce(page(columns, [['3']]));
    const { engine } = newEngine();

    const chunks: unknown[] = [];
    for await (const chunk of engine.stream('SELECT n FROM t')) chunks.push(chunk);

    expect(chunks).toEqual([[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
  });

  it('asks for pages of chunkRows rows', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(page(columns, [['1']], { header: true, nextToken: 't2' }))
      .resolvesOnce(page(columns, [['2'], ['3']]));
    const { engine } = newEngine();

    const chunks: unknown[] = [];
    for await (const chunk of engine.stream('SELECT n FROM t', 2)) chunks.push(chunk);

    expect(chunks).toEqual([[{ n: 1 }], [{ n: 2 }, { n: 3 }]]);
    expect(athena.commandCalls(GetQueryResultsCommand).map((call) => call.args[0].input.MaxResults)).toEqual([
      2, 2,
    ]);
  });

  it("asks for at most 1000 rows per page, Athena's limit", async () => {
    athena.on(GetQueryResultsCommand).resolves(page(columns, [['1']], { header: true }));
    const { engine } = newEngine();

    for await (const _chunk of engine.stream('SELECT n FROM t', 50_000)) {
      // drain
    }

    expect(athena.commandCalls(GetQueryResultsCommand)[0]?.args[0].input.MaxResults).toBe(1000);
  });

  it('refuses a chunk size below one before starting a query', async () => {
    const { engine } = newEngine();

    const error = await engine
      .stream('SELECT n FROM t', 0)
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaEngineOptionsError);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('AthenaEngine.writeParquet', () => {
  const features = 'SELECT user_id, amount_sum_7d, dt FROM daily_features';

  it('unloads the query as Snappy Parquet and returns the UpdateCount as rows', async () => {
    athena.on(GetQueryResultsCommand).resolves(page([['rows', 'bigint']], [], { updateCount: 1234 }));
    const { engine } = newEngine();

    const result = await engine.writeParquet(features, { location: 's3://offline/features/user_7d' });

    expect(result).toEqual({ rows: 1234 });
    expect(startedSql()).toEqual([
      `UNLOAD (\n${features}\n) TO 's3://offline/features/user_7d/' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
    ]);
    expect(athena.commandCalls(GetQueryResultsCommand).map((call) => call.args[0].input)).toEqual([
      { QueryExecutionId: 'q-1', MaxResults: 1 },
    ]);
  });

  it('reads the columns first and partitions by a column that is already last', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-columns' })
      .resolves({ QueryExecutionId: 'q-unload' });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-columns' })
      .resolves(
        page(
          [
            ['user_id', 'bigint'],
            ['amount_sum_7d', 'double'],
            ['dt', 'varchar'],
          ],
          [],
          { header: true },
        ),
      )
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-unload' })
      .resolves(page([['rows', 'bigint']], [], { updateCount: 10 }));
    const { engine } = newEngine();

    const result = await engine.writeParquet(features, {
      location: 's3://offline/features/',
      partitionBy: 'dt',
    });

    expect(result).toEqual({ rows: 10 });
    expect(startedSql()).toEqual([
      `SELECT * FROM (\n${features}\n) AS unload_source LIMIT 0`,
      `UNLOAD (\n${features}\n) TO 's3://offline/features/' WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['dt'])`,
    ]);
  });

  it('moves the partition column to the end of the select list, where UNLOAD takes partition columns from', async () => {
    const dtFirst = 'SELECT dt, user_id, amount_sum_7d FROM daily_features';
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-columns' })
      .resolves({ QueryExecutionId: 'q-unload' });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-columns' })
      .resolves(
        page(
          [
            ['dt', 'varchar'],
            ['user_id', 'bigint'],
            ['amount_sum_7d', 'double'],
          ],
          [],
          { header: true },
        ),
      )
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-unload' })
      .resolves(page([['rows', 'bigint']], [], { updateCount: 10 }));
    const { engine } = newEngine();

    await engine.writeParquet(dtFirst, { location: 's3://offline/features/', partitionBy: 'dt' });

    const unload = startedSql()[1] ?? '';
    expect(assertValidAthenaUnload(unload).select).toBe(
      `SELECT "user_id", "amount_sum_7d", "dt" FROM (\n${dtFirst}\n) AS unload_source`,
    );
    expect(unload).toContain("partitioned_by = ARRAY['dt']");
  });

  it('refuses to partition by a column the query does not return, before unloading anything', async () => {
    athena.on(GetQueryResultsCommand).resolves(
      page(
        [
          ['user_id', 'bigint'],
          ['amount', 'double'],
        ],
        [],
        { header: true },
      ),
    );
    const { engine } = newEngine();

    const error = await engine
      .writeParquet('SELECT user_id, amount FROM t', { location: 's3://offline/x/', partitionBy: 'dt' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaUnloadTargetError);
    expect((error as Error).message).toBe(
      'cannot partition by "dt": the query returns only "user_id", "amount"; select the partition column or write without partitionBy',
    );
    expect(startedSql().filter((sql) => sql.startsWith('UNLOAD'))).toEqual([]);
  });

  it.each(['/tmp/features', 'file:///tmp/features', 's3://', 'https://bucket.s3.amazonaws.com/features/'])(
    'refuses the non-S3 location %s without starting a query',
    async (location) => {
      const { engine } = newEngine();

      const error = await engine.writeParquet(features, { location }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AthenaUnloadTargetError);
      expect((error as Error).message).toBe(
        `Athena writes Parquet to S3 only, and "${location}" is not an s3:// location; give the target as s3://<bucket>/<prefix>/`,
      );
      expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
    },
  );

  it.each([
    ['reports no UpdateCount', undefined],
    ['reports an UpdateCount of 0', 0],
  ])('counts the rows with a count query when Athena %s', async (_case, updateCount) => {
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-unload' })
      .resolves({ QueryExecutionId: 'q-count' });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-unload' })
      .resolves(page([['rows', 'bigint']], [], updateCount === undefined ? {} : { updateCount }))
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-count' })
      .resolves(page([['row_count', 'bigint']], [['77']], { header: true }));
    const { engine } = newEngine();

    const result = await engine.writeParquet(features, { location: 's3://offline/features/' });

    expect(result).toEqual({ rows: 77 });
    expect(startedSql()[1]).toBe(`SELECT count(*) AS row_count FROM (\n${features}\n) AS unloaded`);
  });

  it('escapes quotes in the location and partition column', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolves(page([["it's", 'varchar']], [], { header: true, updateCount: 1 }));
    const { engine } = newEngine();

    await engine.writeParquet("SELECT 'x' AS \"it's\"", { location: "s3://b/o'neil/", partitionBy: "it's" });

    const parts = assertValidAthenaUnload(startedSql()[1] ?? '');
    expect(parts.location).toBe("s3://b/o'neil/");
    expect(parts.properties).toContain("partitioned_by = ARRAY['it''s']");
  });
});

describe('AthenaEngine options and lifecycle', () => {
  it.each([
    [{ database: '' }, 'the Athena engine needs a database: the Glue database holding the offline tables'],
    [{ pollIntervalMs: 0 }, 'pollIntervalMs must be a positive number of milliseconds, got 0'],
    [{ maxPollIntervalMs: -1 }, 'maxPollIntervalMs must be a positive number of milliseconds, got -1'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs must be a positive number of milliseconds, got NaN'],
  ])('refuses the options %j', (overrides, message) => {
    expect(() => newEngine(overrides)).toThrow(new AthenaEngineOptionsError(message));
  });

  it('leaves a client it was given open on close, for its owner to reuse', async () => {
    const client = new AthenaClient({ region: 'us-east-1' });
    const destroy = vi.spyOn(client, 'destroy');
    const { engine } = newEngine({ client });

    await engine.close();

    expect(destroy).not.toHaveBeenCalled();
  });

  it('says it speaks the athena dialect', () => {
    expect(newEngine().engine.dialect).toBe('athena');
  });
});
