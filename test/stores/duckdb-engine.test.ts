import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perEventFeaturesSql } from '../../lib/compute/feature-queries.js';
import { DUCKDB_DIALECT } from '../../lib/compute/sql-dialect.js';
import { baseFeaturesOf } from '../../lib/definitions/resolved-features.js';
import { batchSource, entity, featureView } from '../../lib/index.js';
import { DuckDBEngine, DuckDBQueryError } from '../../lib/stores/duckdb-engine.js';

let engine: DuckDBEngine;
let dir: string;
beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'fstore-duckdb-'));
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DuckDBEngine', () => {
  it('returns plain JavaScript values: numbers, Dates in UTC, arrays, nulls', async () => {
    const [row] = await engine.query(
      "SELECT 42::BIGINT AS n, 2.5 AS x, TIMESTAMP '2024-01-01 12:00:00.123' AS t, [1, 2]::BIGINT[] AS l, NULL AS z, 'a' AS s",
    );

    expect(row).toEqual({
      n: 42,
      x: 2.5,
      t: new Date('2024-01-01T12:00:00.123Z'),
      l: [1, 2],
      z: null,
      s: 'a',
    });
  });

  it('keeps integers beyond 2^53 exact, as bigint', async () => {
    const [row] = await engine.query('SELECT 9007199254740993::BIGINT AS big');

    expect(row?.big).toBe(9007199254740993n);
  });

  it('streams a result in chunks of the size asked for', async () => {
    const chunks: number[] = [];
    for await (const chunk of engine.stream('SELECT * FROM range(25000) AS r(i)', 10_000))
      chunks.push(chunk.length);

    expect(chunks.reduce((a, b) => a + b, 0)).toBe(25_000);
    expect(chunks.every((size) => size <= 12_048)).toBe(true);
  });

  it('writes Parquet partitioned by a column, one folder per value', async () => {
    const target = join(dir, 'partitioned');

    const written = await engine.writeParquet(
      "SELECT i, CASE WHEN i < 3 THEN '2024-01-01' ELSE '2024-01-02' END AS dt FROM range(5) AS r(i)",
      { location: target, partitionBy: 'dt' },
    );

    expect(written.rows).toBe(5);
    expect((await readdir(target)).sort()).toEqual(['dt=2024-01-01', 'dt=2024-01-02']);
  });

  it('writes one file when asked', async () => {
    const file = join(dir, 'single', 'out.parquet');

    await engine.writeParquet('SELECT 1 AS a', { location: file, singleFile: true });

    expect(await engine.query(`SELECT * FROM read_parquet('${file}')`)).toEqual([{ a: 1 }]);
  });

  it('reports a failed query as DuckDBQueryError', async () => {
    await expect(engine.query('SELECT * FROM no_such_table')).rejects.toThrow(DuckDBQueryError);
  });

  it('refuses s3:// locations, which the local engine cannot write', async () => {
    await expect(engine.writeParquet('SELECT 1', { location: 's3://bucket/x/' })).rejects.toThrow(
      'the local engine writes local folders only; use the Athena engine for s3:// locations',
    );
  });

  it('runs compiled SQL over names that need quoting, when validation is bypassed', async () => {
    // Validation refuses such names at apply; quoting must still hold if one slips through.
    const hostile = 'x"; DROP TABLE t; --';
    await engine.run(
      `CREATE OR REPLACE TABLE "t" ("id" BIGINT, "ts" TIMESTAMP, "${hostile.replaceAll('"', '""')}" DOUBLE)`,
    );
    await engine.run(
      "INSERT INTO \"t\" VALUES (1, TIMESTAMP '2024-01-01 00:00:00', 1.5), (1, TIMESTAMP '2024-01-01 01:00:00', 2.5)",
    );
    const user = entity({ name: 'user', joinKeys: { id: 'int64' } });
    const events = batchSource({
      name: 'events',
      path: 't',
      timestampField: 'ts',
      schema: { id: 'int64', ts: 'timestamp', [hostile]: 'float64' } as Record<
        string,
        'int64' | 'timestamp' | 'float64'
      >,
    });
    const view = featureView({
      name: 'v',
      entities: [user],
      source: events,
      aggregations: [{ column: hostile as 'id', functions: ['sum'], windows: ['1d'] }],
    });

    const rows = await engine.query(
      perEventFeaturesSql(
        { view, features: baseFeaturesOf(view), sourceRelation: '"t"' },
        { start: new Date('2024-01-01T00:00:00Z'), end: new Date('2024-01-02T00:00:00Z') },
        DUCKDB_DIALECT,
      ),
    );

    expect(rows.map((row) => row[`${hostile}_sum_1d`])).toEqual([0, 1.5]);
    expect(await engine.query('SELECT count(*) AS n FROM "t"')).toEqual([{ n: 2 }]);
  });
});
