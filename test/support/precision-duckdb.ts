import { historicalFeaturesSql } from '../../lib/compute/feature-queries.js';
import { onlineStateLayout, type ViewState } from '../../lib/compute/online-state.js';
import { onlineStateSql, viewStateFromRow } from '../../lib/compute/online-state-sql.js';
import type { SqlDialect } from '../../lib/compute/sql-dialect.js';
import type { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { createTable } from './duckdb-fixture.js';
import { type PrecisionEvent, precisionFeatures, precisionView } from './precision.js';

/**
 * The SQL paths of the precision tests on DuckDB: the view's source rows in one table, the point-in-time
 * join of either dialect over many entities at once, and the online state SQL of either dialect decoded
 * with viewStateFromRow, as materialization does.
 */
export const precisionLayout = onlineStateLayout(precisionView, precisionFeatures);
const SOURCE = 'precision_source';
const SPINE = 'precision_spine';

/** Writes the events as the view's source rows. */
export async function loadSource(engine: DuckDBEngine, events: readonly PrecisionEvent[]): Promise<void> {
  await createTable(
    engine,
    SOURCE,
    { user_id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE' },
    events.map((event) => ({ user_id: event.userId, ts: new Date(event.ts), amount: event.amount })),
  );
}

/** The amounts of the source table in insertion order, to check that the doubles arrived unchanged. */
export async function sourceAmounts(engine: DuckDBEngine): Promise<number[]> {
  const rows = await engine.query(`SELECT amount FROM "${SOURCE}" ORDER BY rowid`);
  return rows.map((row) => row.amount as number);
}

/** The features as of each point from the point-in-time join in `dialect`, in point order. */
export async function offlineFeatures(
  engine: DuckDBEngine,
  dialect: SqlDialect,
  points: readonly { readonly userId: number; readonly t: number }[],
): Promise<Record<string, unknown>[]> {
  await createTable(
    engine,
    SPINE,
    { __row: 'BIGINT', user_id: 'BIGINT', at: 'TIMESTAMP' },
    points.map((point, index) => ({ __row: index, user_id: point.userId, at: new Date(point.t) })),
  );
  const sql = historicalFeaturesSql(
    {
      spineRelation: `"${SPINE}"`,
      spineColumns: ['user_id', 'at'],
      timestampColumn: 'at',
      views: [
        {
          computation: { view: precisionView, features: precisionFeatures, sourceRelation: `"${SOURCE}"` },
          features: precisionFeatures.map((feature) => feature.name),
        },
      ],
      onDemand: [],
      fullFeatureNames: false,
    },
    dialect,
  );
  const rows = await engine.query(sql);
  // Counts may come back as BIGINT.
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value]),
    ),
  );
}

/** Each entity's online state through `through` from the state SQL in `dialect`, by user id. */
export async function materializedStates(
  engine: DuckDBEngine,
  dialect: SqlDialect,
  through: number,
): Promise<Map<number, ViewState>> {
  const sql = onlineStateSql(
    { view: precisionView, features: precisionFeatures, sourceRelation: `"${SOURCE}"` },
    precisionLayout,
    new Date(through),
    dialect,
  );
  const states = new Map<number, ViewState>();
  for (const row of await engine.query(sql)) {
    const { keys, state } = viewStateFromRow(row, precisionLayout, new Date(through), ['user_id']);
    states.set(Number(keys.user_id), state);
  }
  return states;
}
