import { historicalFeaturesSql } from '../../lib/compute/feature-queries.js';
import { ATHENA_DIALECT, DUCKDB_DIALECT, type SqlDialect } from '../../lib/compute/sql-dialect.js';
import type { FeatureViewDefinition } from '../../lib/definitions/feature-view.js';
import type { ResolvedFeature } from '../../lib/definitions/resolved-features.js';
import type { ValueType } from '../../lib/definitions/value-type.js';
import type { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { createTable, type FixtureValue } from './duckdb-fixture.js';

/**
 * Lets the Athena dialect's SQL run on DuckDB where the two differ only in a function's name, so both
 * compiled queries can be checked against the same data (DESIGN.md section 5).
 */
export async function teachDuckDBTrinoNames(engine: DuckDBEngine): Promise<void> {
  await engine.run('CREATE OR REPLACE MACRO date_format(ts, fmt) AS strftime(ts, fmt)');
  await engine.run('CREATE OR REPLACE MACRO reverse(l) AS list_reverse(l)');
  // Entity buckets hash bytes into a signed BIGINT. DuckDB has neither xxhash64 nor from_big_endian_64:
  // its own 64-bit hash, shifted into BIGINT's range, stands in, negative about half the time like Trino's.
  await engine.run('CREATE OR REPLACE MACRO to_utf8(s) AS encode(s)');
  await engine.run('CREATE OR REPLACE MACRO xxhash64(b) AS hash(b)');
  await engine.run(
    'CREATE OR REPLACE MACRO from_big_endian_64(h) AS CAST(CAST(h AS HUGEINT) - 9223372036854775808 AS BIGINT)',
  );
}

export const DIALECTS: readonly SqlDialect[] = [DUCKDB_DIALECT, ATHENA_DIALECT];

/** Loads a view's source rows and a spine, runs the point-in-time join in `dialect`, returns rows in spine order. */
export async function runHistorical(
  engine: DuckDBEngine,
  dialect: SqlDialect,
  view: FeatureViewDefinition,
  features: readonly ResolvedFeature[],
  sourceRows: readonly Record<string, FixtureValue>[],
  spine: readonly { keys: Record<string, number | string>; at: Date }[],
): Promise<Record<string, unknown>[]> {
  const schema = view.source.schema as Record<string, ValueType>;
  await createTable(
    engine,
    'source_rows',
    Object.fromEntries(
      Object.entries(schema).map(([column, type]) => [column, DUCKDB_DIALECT.sqlType(type)]),
    ),
    sourceRows,
  );
  const keyNames = view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
  await createTable(
    engine,
    'spine',
    {
      __row: 'BIGINT',
      ...Object.fromEntries(keyNames.map((key) => [key, DUCKDB_DIALECT.sqlType(schema[key] ?? 'string')])),
      at: 'TIMESTAMP',
    },
    spine.map((point, index) => ({ __row: index, ...point.keys, at: point.at })),
  );
  const sql = historicalFeaturesSql(
    {
      spineRelation: '"spine"',
      spineColumns: [...keyNames, 'at'],
      timestampColumn: 'at',
      views: [
        {
          computation: { view, features, sourceRelation: '"source_rows"' },
          features: features.map((f) => f.name),
        },
      ],
      onDemand: [],
      fullFeatureNames: false,
    },
    dialect,
  );
  return engine.query(sql);
}
