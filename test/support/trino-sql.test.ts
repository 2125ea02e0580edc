import { TrinoSQL } from 'dt-sql-parser/dist/parser/trino/index.js';
import { describe, expect, it } from 'vitest';
import { unloadSql } from '../../lib/stores/athena-engine.js';
import { assertValidAthenaUnload, assertValidTrinoSql } from './trino-sql.js';

const featureQuery = `
WITH events AS (
  SELECT user_id, amount, ts, date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', ts) AS ts_ms
  FROM transactions
)
SELECT
  user_id,
  ts,
  SUM(amount) OVER (PARTITION BY user_id ORDER BY ts_ms RANGE BETWEEN 3 PRECEDING AND 1 PRECEDING) AS amount_sum,
  array_agg(amount ORDER BY ts DESC) OVER (PARTITION BY user_id) AS last_amounts
FROM events`;

describe('assertValidTrinoSql', () => {
  it('accepts a feature query with a numeric RANGE frame, ordered array_agg and date_diff', () => {
    expect(() => assertValidTrinoSql(featureQuery)).not.toThrow();
  });

  it('accepts an ordered array_agg in a GROUP BY query', () => {
    expect(() =>
      assertValidTrinoSql(
        'SELECT user_id, array_agg(amount ORDER BY ts DESC) AS amounts FROM t GROUP BY user_id',
      ),
    ).not.toThrow();
  });

  it('rejects broken SQL, naming the position of each error and showing the SQL', () => {
    const broken = 'SELECT user_id,\nFROM transactions';

    expect(() => assertValidTrinoSql(broken)).toThrow(
      /^not valid Trino SQL:\n {2}line 2:1: 'FROM' is not valid at this position.*\n {3}1 \| SELECT user_id,\n {3}2 \| FROM transactions$/s,
    );
  });

  it('rejects an empty string, which the grammar alone would accept', () => {
    expect(new TrinoSQL().validate('')).toEqual([]);
    expect(() => assertValidTrinoSql('  ')).toThrow('expected Trino SQL, got an empty string');
  });

  // What the SQL compiler may rely on: each construct, and whether dt-sql-parser 4.5.1's Trino grammar parses it.
  it.each([
    [
      'a RANGE frame with numeric offsets',
      'SELECT SUM(x) OVER (PARTITION BY k ORDER BY t RANGE BETWEEN 3 PRECEDING AND 1 PRECEDING) FROM tbl',
    ],
    [
      'a RANGE frame with an expression offset',
      'SELECT count(x) OVER (ORDER BY t RANGE BETWEEN 86400000 * 7 PRECEDING AND 1 PRECEDING) FROM tbl',
    ],
    [
      'a RANGE frame with an interval offset',
      "SELECT SUM(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '3' DAY PRECEDING AND CURRENT ROW) FROM tbl",
    ],
    [
      'IGNORE NULLS after last_value',
      'SELECT last_value(x) IGNORE NULLS OVER (PARTITION BY k ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) FROM tbl',
    ],
    [
      'CROSS JOIN of an aliased VALUES list',
      'SELECT t.a, o.j FROM tbl AS t CROSS JOIN (VALUES (0), (1)) AS o(j)',
    ],
    ['max_by and min_by', 'SELECT k, max_by(x, y), min_by(x, y), max_by(x, y, 3) FROM tbl GROUP BY k'],
    ['an aggregate FILTER clause', 'SELECT count(*) FILTER (WHERE x > 1), count_if(x > 1) FROM tbl'],
    ['UNNEST WITH ORDINALITY', 'SELECT * FROM tbl CROSS JOIN UNNEST(a) WITH ORDINALITY AS u(v, i)'],
    ['lambdas', 'SELECT transform(a, v -> v + 1), filter(a, v -> v IS NOT NULL) FROM tbl'],
    [
      'CREATE TABLE AS with partitioned_by',
      "CREATE TABLE t WITH (format = 'PARQUET', partitioned_by = ARRAY['dt']) AS SELECT 1 AS a, 'x' AS dt",
    ],
    ['INSERT INTO ... SELECT', 'INSERT INTO t SELECT a, dt FROM s'],
  ])('parses %s', (_construct, sql) => {
    expect(new TrinoSQL().validate(sql)).toEqual([]);
  });

  it.each([
    [
      'UNLOAD (an Athena extension)',
      "UNLOAD (SELECT a, dt FROM tbl) TO 's3://b/p/' WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'])",
    ],
    ['IGNORE NULLS inside the parentheses', 'SELECT last_value(x IGNORE NULLS) OVER (ORDER BY t) FROM tbl'],
    [
      'QUALIFY (DuckDB, not Trino)',
      'SELECT * FROM tbl QUALIFY row_number() OVER (PARTITION BY k ORDER BY t) = 1',
    ],
    ['the :: cast (DuckDB, not Trino)', 'SELECT x::double FROM tbl'],
  ])('does not parse %s', (_construct, sql) => {
    expect(new TrinoSQL().validate(sql).length).toBeGreaterThan(0);
  });

  it('checks syntax only: unknown functions and DuckDB words that read as aliases pass', () => {
    expect(() => assertValidTrinoSql('SELECT epoch_ms(ts) FROM a ASOF JOIN b ON a.k = b.k')).not.toThrow();
  });
});

describe('assertValidAthenaUnload', () => {
  it('accepts the UNLOAD the Athena engine writes and returns its parts', () => {
    const sql = unloadSql('SELECT user_id, amount, dt FROM features', "s3://bucket/o'neil/", 'dt');

    const parts = assertValidAthenaUnload(sql);

    expect(parts).toEqual({
      select: 'SELECT user_id, amount, dt FROM features',
      location: "s3://bucket/o'neil/",
      properties: "format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['dt']",
    });
  });

  it('rejects an UNLOAD whose select is broken', () => {
    expect(() => assertValidAthenaUnload(unloadSql('SELECT FROM features', 's3://b/p/'))).toThrow(
      /^not valid Trino SQL:\n {2}line 1:8: 'FROM' is not valid/,
    );
  });

  it('rejects an UNLOAD whose properties are broken', () => {
    const sql = "UNLOAD (\nSELECT 1 AS x\n) TO 's3://b/p/' WITH (format 'PARQUET')";

    expect(() => assertValidAthenaUnload(sql)).toThrow(/^not valid Trino SQL/);
  });

  it('rejects a statement that is not an UNLOAD', () => {
    expect(() => assertValidAthenaUnload('SELECT 1')).toThrow(/^not an UNLOAD/);
  });
});
