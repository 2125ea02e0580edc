import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceEvent, stateFromEvents } from '../../lib/compute/online-fold.js';
import { type OnlineStateLayout, onlineStateLayout, type ViewState } from '../../lib/compute/online-state.js';
import {
  OnlineStateSqlError,
  onlineStateSourceRowsSql,
  onlineStateSql,
  viewStateFromRow,
} from '../../lib/compute/online-state-sql.js';
import { ATHENA_DIALECT, DUCKDB_DIALECT, type SqlDialect } from '../../lib/compute/sql-dialect.js';
import type { FeatureViewDefinition } from '../../lib/definitions/feature-view.js';
import type { ResolvedFeature } from '../../lib/definitions/resolved-features.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { athenaValue } from '../../lib/stores/athena-value.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { createTable, type FixtureValue } from '../support/duckdb-fixture.js';
import { DIALECTS, teachDuckDBTrinoNames } from '../support/historical-harness.js';
import { events, view as spend, user } from '../support/spend-view.js';
import { assertValidTrinoSql } from '../support/trino-sql.js';

/**
 * The state SQL of both dialects (Athena's run on DuckDB), checked against states worked out by hand at
 * the edges of DESIGN.md section 3 and against the plain fold `stateFromEvents` on random events.
 */
// The view of window-semantics.property.test.ts: hops 5m (amount, up to 1h), 10m (items, 30m), 1h (amount, 13h).
// Only window aggregations: the state SQL may skip rows older than every tile.
const totals = featureView({
  name: 'totals',
  entities: [user],
  source: events,
  aggregations: [{ column: 'items', functions: ['sum'], windows: ['30m'], hop: '10m' }],
});

const merchant = entity({ name: 'merchant', joinKeys: { merchant: 'string' } });
const visits = batchSource({
  name: 'visits',
  path: 'visits.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', merchant: 'string', ts: 'timestamp', city: 'string', seen_at: 'timestamp' },
});
// String and timestamp columns, two entities.
const places = featureView({
  name: 'places',
  entities: [user, merchant],
  source: visits,
  fields: { seen_at: 'timestamp', city: 'string' },
  aggregations: [
    { column: 'city', functions: ['min', 'max', 'count', 'last'], windows: ['1h'], hop: '30m' },
    { column: 'seen_at', functions: ['min', 'max'], windows: ['1h'], hop: '30m' },
  ],
});

const validated = validateFeatureRepo(
  collectDefinitions([user, merchant, events, visits, spend, totals, places]),
);
const featuresOf = (name: string): readonly ResolvedFeature[] => validated.features.get(name) ?? [];

const EVENT_COLUMNS = {
  user_id: 'BIGINT',
  ts: 'TIMESTAMP',
  created: 'TIMESTAMP',
  amount: 'DOUBLE',
  items: 'BIGINT',
};
const VISIT_COLUMNS = {
  user_id: 'BIGINT',
  merchant: 'VARCHAR',
  ts: 'TIMESTAMP',
  city: 'VARCHAR',
  seen_at: 'TIMESTAMP',
};

const MINUTE = 60_000;
const HOP_5M = 300_000;
const HOP_10M = 600_000;
const HOP_30M = 1_800_000;
const HOP_1H = 3_600_000;
const at = (time: string) => new Date(`2024-01-01T${time}Z`);
const ms = (time: string) => at(time).getTime();
/** 2024-01-01T06:00Z in tiles: 1704088800000 ms / hop. */
const TILE_5M_0600 = 5_680_296;
const TILE_10M_0600 = 2_840_148;
const TILE_30M_0600 = 946_716;
const TILE_1H_0600 = 473_358;

let engine: DuckDBEngine;
beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
  await teachDuckDBTrinoNames(engine);
});
afterAll(() => engine.close());

interface Scenario {
  readonly view: FeatureViewDefinition;
  readonly columns: Record<string, string>;
  readonly rows: readonly Record<string, FixtureValue>[];
  readonly through: Date;
  readonly changedFrom?: Date;
  readonly bucket?: { readonly count: number; readonly index: number };
}

/** Runs the state SQL on `rows`; states by the entity's keys joined with `|`. */
async function statesOf(scenario: Scenario, dialect: SqlDialect): Promise<Map<string, ViewState>> {
  const { view, columns, rows, through, changedFrom, bucket } = scenario;
  const features = featuresOf(view.name);
  const layout = onlineStateLayout(view, features);
  await createTable(engine, 'source_rows', columns, rows);
  const sql = onlineStateSql({ view, features, sourceRelation: '"source_rows"' }, layout, through, dialect, {
    ...(changedFrom ? { changedFrom } : {}),
    ...(bucket ? { bucket } : {}),
  });
  if (dialect.name === 'athena') assertValidTrinoSql(sql);
  const keyColumns = view.entities.flatMap((e) => Object.keys(e.joinKeys));
  const states = new Map<string, ViewState>();
  for (const row of await engine.query(sql)) {
    const { keys, state } = viewStateFromRow(row, layout, through, keyColumns);
    states.set(keyColumns.map((key) => String(keys[key])).join('|'), state);
  }
  return states;
}

/** The first difference between two states, floats compared with relative tolerance 1e-9; undefined if none. */
function difference(actual: unknown, expected: unknown, path = 'state'): string | undefined {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected))
      ? undefined
      : `${path}: ${actual} instead of ${expected}`;
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual) || expected.length !== actual.length) {
      return `${path}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`;
    }
    for (const [index, item] of expected.entries()) {
      const found = difference(actual[index], item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const names = [...new Set([...Object.keys(a), ...Object.keys(e)])].sort();
    for (const name of names) {
      const found = difference(a[name], e[name], `${path}.${name}`);
      if (found) return found;
    }
    return undefined;
  }
  return Object.is(actual, expected)
    ? undefined
    : `${path}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`;
}

function expectStates(actual: Map<string, ViewState>, expected: Record<string, ViewState>): void {
  expect([...actual.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [key, state] of Object.entries(expected)) {
    expect(difference(actual.get(key), state, `state of ${key}`)).toBeUndefined();
  }
}

/** One entity's events as the fold reads them, from rows of the `events` source. */
function sourceEvents(rows: readonly Record<string, FixtureValue>[]): SourceEvent[] {
  return rows.map((row) => ({
    ts: (row.ts as Date).getTime(),
    ...(row.created instanceof Date ? { created: row.created.getTime() } : {}),
    values: { amount: row.amount as number | null, items: row.items as number | null },
  }));
}

const spendLayout = onlineStateLayout(spend, featuresOf('spend'));

describe('the online state layout of the test view', () => {
  it('has the hops, recent values, fields and recency the fixtures below assume', () => {
    expect(spendLayout.hops.map((hop) => [hop.hopMs, hop.longestWindowMs, hop.columns])).toEqual([
      [HOP_5M, HOP_1H, [{ column: 'amount', numeric: true }]],
      [HOP_10M, 30 * MINUTE, [{ column: 'items', numeric: true }]],
      [HOP_1H, 13 * HOP_1H, [{ column: 'amount', numeric: true }]],
    ]);
    expect(spendLayout.recent).toEqual([{ column: 'amount', keep: 3 }]);
    expect(spendLayout.fields).toEqual(['items']);
    expect(spendLayout.recency).toBe(true);
    expect(ms('06:00') / HOP_5M).toBe(TILE_5M_0600);
    expect(ms('06:00') / HOP_10M).toBe(TILE_10M_0600);
    expect(ms('06:00') / HOP_30M).toBe(TILE_30M_0600);
    expect(ms('06:00') / HOP_1H).toBe(TILE_1H_0600);
  });
});

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s online state SQL',
  (_, dialect) => {
    it('counts the row at exactly `through` for the event time and latest row only', async () => {
      const rows = [
        { user_id: 1, ts: at('06:50'), created: at('06:50'), amount: 10, items: 2 },
        { user_id: 1, ts: at('07:00'), created: at('07:00'), amount: 99, items: 7 },
        // Only a row at `through`: an entity with a time and latest row but empty tiles.
        { user_id: 2, ts: at('07:00'), created: at('07:00'), amount: 4, items: 1 },
        // After `through`: not seen at all.
        { user_id: 3, ts: at('07:00:00.001'), created: at('07:00'), amount: 4, items: 1 },
      ];

      const states = await statesOf(
        { view: spend, columns: EVENT_COLUMNS, rows, through: at('07:00') },
        dialect,
      );

      expectStates(states, {
        '1': {
          eventTs: ms('07:00'),
          throughTs: ms('07:00'),
          firstTs: ms('06:50'),
          lastTs: ms('06:50'),
          latest: { ts: ms('07:00'), values: { items: 7 } },
          tiles: {
            [HOP_5M]: { [TILE_5M_0600 + 10]: { amount: { n: 1, d: 0, m2: 0, min: 10, max: 10 } } },
            [HOP_10M]: { [TILE_10M_0600 + 5]: { items: { n: 1, d: 0, m2: 0, min: 2, max: 2 } } },
            [HOP_1H]: { [TILE_1H_0600]: { amount: { n: 1, d: 0, m2: 0, min: 10, max: 10 } } },
          },
          recent: { amount: [[ms('06:50'), 10]] },
        },
        '2': {
          eventTs: ms('07:00'),
          throughTs: ms('07:00'),
          latest: { ts: ms('07:00'), values: { items: 1 } },
          tiles: { [HOP_5M]: {}, [HOP_10M]: {}, [HOP_1H]: {} },
          recent: { amount: [] },
        },
      });
    });

    it('puts rows into tiles by hop boundary and drops tiles older than every window', async () => {
      // Read at 07:00, the oldest useful tiles start at 06:00 (5m hop, 1h), 06:30 (10m, 30m), 18:00 the day before (1h, 13h).
      const rows = [
        { user_id: 1, ts: at('05:59:59.999'), created: null, amount: 1, items: 1 },
        { user_id: 1, ts: at('06:00'), created: null, amount: 2, items: null },
        { user_id: 1, ts: at('06:29:59.999'), created: null, amount: null, items: 3 },
        { user_id: 1, ts: at('06:30'), created: null, amount: 5, items: 4 },
        { user_id: 1, ts: at('06:34:59.999'), created: null, amount: 6, items: null },
        { user_id: 1, ts: at('06:35'), created: null, amount: 7, items: null },
      ];

      const states = await statesOf(
        { view: spend, columns: EVENT_COLUMNS, rows, through: at('07:00') },
        dialect,
      );

      const expected: ViewState = {
        eventTs: ms('06:35'),
        throughTs: ms('07:00'),
        firstTs: ms('05:59:59.999'),
        lastTs: ms('06:35'),
        latest: { ts: ms('06:35'), values: { items: null } },
        tiles: {
          [HOP_5M]: {
            [TILE_5M_0600]: { amount: { n: 1, d: 0, m2: 0, min: 2, max: 2 } },
            [TILE_5M_0600 + 6]: { amount: { n: 2, d: 1, m2: 0.5, min: 5, max: 6 } },
            [TILE_5M_0600 + 7]: { amount: { n: 1, d: 0, m2: 0, min: 7, max: 7 } },
          },
          [HOP_10M]: { [TILE_10M_0600 + 3]: { items: { n: 1, d: 0, m2: 0, min: 4, max: 4 } } },
          [HOP_1H]: {
            [TILE_1H_0600 - 1]: { amount: { n: 1, d: 0, m2: 0, min: 1, max: 1 } },
            [TILE_1H_0600]: { amount: { n: 4, d: 12, m2: 14, min: 2, max: 7 } },
          },
        },
        recent: {
          amount: [
            [ms('06:35'), 7],
            [ms('06:34:59.999'), 6],
            [ms('06:30'), 5],
          ],
        },
      };
      expectStates(states, { '1': expected });
      expect(
        difference(stateFromEvents(spendLayout, sourceEvents(rows), ms('07:00')), expected),
      ).toBeUndefined();
    });

    it('breaks ties in time by value for recent values and by created time, then values, for the latest row', async () => {
      const rows = [
        { user_id: 1, ts: at('06:10'), created: at('06:11'), amount: 3, items: 1 },
        { user_id: 1, ts: at('06:10'), created: at('06:10'), amount: 8, items: 9 },
        { user_id: 1, ts: at('06:10'), created: null, amount: 5, items: 9 },
        { user_id: 2, ts: at('06:10'), created: at('06:10'), amount: null, items: 2 },
        { user_id: 2, ts: at('06:10'), created: at('06:10'), amount: 1, items: null },
      ];

      const states = await statesOf(
        { view: spend, columns: EVENT_COLUMNS, rows, through: at('06:30') },
        dialect,
      );

      expect(states.get('1')?.recent).toEqual({
        amount: [
          [ms('06:10'), 8],
          [ms('06:10'), 5],
          [ms('06:10'), 3],
        ],
      });
      expect(states.get('1')?.latest).toEqual({ ts: ms('06:10'), values: { items: 1 } });
      expect(states.get('2')?.latest).toEqual({ ts: ms('06:10'), values: { items: 2 } });
      expect(states.get('2')?.tiles[HOP_10M]).toEqual({
        [TILE_10M_0600 + 1]: { items: { n: 1, d: 0, m2: 0, min: 2, max: 2 } },
      });
    });

    it('keeps an entity whose aggregated columns are all null, with no tiles and no recent values', async () => {
      const rows = [
        { user_id: 5, ts: at('06:10'), created: at('06:10'), amount: null, items: null },
        { user_id: 5, ts: at('06:20'), created: at('06:20'), amount: null, items: null },
      ];

      const states = await statesOf(
        { view: spend, columns: EVENT_COLUMNS, rows, through: at('06:30') },
        dialect,
      );

      expectStates(states, {
        '5': {
          eventTs: ms('06:20'),
          throughTs: ms('06:30'),
          firstTs: ms('06:10'),
          lastTs: ms('06:20'),
          latest: { ts: ms('06:20'), values: { items: null } },
          tiles: { [HOP_5M]: {}, [HOP_10M]: {}, [HOP_1H]: {} },
          recent: { amount: [] },
        },
      });
    });

    it('returns only entities with a row in [changedFrom, through], each from its whole history', async () => {
      const rows = [
        { user_id: 1, ts: at('06:10'), created: null, amount: 1, items: 1 },
        { user_id: 2, ts: at('05:00'), created: null, amount: 2, items: 2 },
        { user_id: 2, ts: at('06:40'), created: null, amount: 3, items: 3 },
        { user_id: 3, ts: at('07:00'), created: null, amount: 4, items: 4 },
        { user_id: 4, ts: at('07:01'), created: null, amount: 5, items: 5 },
        // Rows without keys or time are never read.
        { user_id: null, ts: at('06:45'), created: null, amount: 6, items: 6 },
        { user_id: 6, ts: null, created: null, amount: 7, items: 7 },
      ];
      const scenario = { view: spend, columns: EVENT_COLUMNS, rows, through: at('07:00') };

      const all = await statesOf(scenario, dialect);
      const changed = await statesOf({ ...scenario, changedFrom: at('06:30') }, dialect);

      expect([...all.keys()].sort()).toEqual(['1', '2', '3']);
      expect([...changed.keys()].sort()).toEqual(['2', '3']);
      expect(changed.get('2')).toMatchObject({
        firstTs: ms('05:00'),
        lastTs: ms('06:40'),
        eventTs: ms('06:40'),
      });
      expect(changed.get('2')?.recent).toEqual({
        amount: [
          [ms('06:40'), 3],
          [ms('05:00'), 2],
        ],
      });
      expect(changed.get('3')).toEqual(all.get('3'));
    });

    it('gives a tiles-only view the same changed states while skipping rows older than every tile', async () => {
      const rows = [
        { user_id: 1, ts: at('03:00'), created: null, amount: null, items: 100 },
        { user_id: 1, ts: at('06:35'), created: null, amount: null, items: 2 },
        { user_id: 1, ts: at('06:55'), created: null, amount: null, items: 3 },
        { user_id: 2, ts: at('06:45'), created: null, amount: null, items: 4 },
        { user_id: 3, ts: at('06:05'), created: null, amount: null, items: 5 },
      ];
      const scenario = { view: totals, columns: EVENT_COLUMNS, rows, through: at('07:00') };

      const all = await statesOf(scenario, dialect);
      const changed = await statesOf({ ...scenario, changedFrom: at('06:50') }, dialect);

      expect([...all.keys()].sort()).toEqual(['1', '2', '3']);
      expectStates(changed, {
        '1': {
          eventTs: ms('06:55'),
          throughTs: ms('07:00'),
          tiles: {
            [HOP_10M]: {
              [TILE_10M_0600 + 3]: { items: { n: 1, d: 0, m2: 0, min: 2, max: 2 } },
              [TILE_10M_0600 + 5]: { items: { n: 1, d: 0, m2: 0, min: 3, max: 3 } },
            },
          },
          recent: {},
        },
      });
      expect(changed.get('1')).toEqual(all.get('1'));
      expect(all.get('3')).toEqual({
        eventTs: ms('06:05'),
        throughTs: ms('07:00'),
        tiles: { [HOP_10M]: {} },
        recent: {},
      });
    });

    it('keeps min and max of string and timestamp columns, timestamps as epoch milliseconds, per composite key', async () => {
      const rows = [
        { user_id: 1, merchant: 'm1', ts: at('06:05'), city: 'b', seen_at: at('01:00') },
        { user_id: 1, merchant: 'm1', ts: at('06:10'), city: 'B', seen_at: at('03:00') },
        { user_id: 1, merchant: 'm1', ts: at('06:20'), city: 'a', seen_at: at('02:00') },
        { user_id: 1, merchant: 'm1', ts: at('06:40'), city: null, seen_at: null },
        { user_id: 1, merchant: 'm2', ts: at('06:45'), city: 'Zürich', seen_at: at('04:00') },
        { user_id: 2, merchant: 'm1', ts: at('06:50'), city: 'c', seen_at: at('05:00') },
        // Athena's array text would read this back as two elements, the first a number.
        { user_id: 2, merchant: 'm1', ts: at('06:55'), city: '007, x]', seen_at: null },
        { user_id: 2, merchant: null, ts: at('06:50'), city: 'd', seen_at: at('05:00') },
      ];

      const states = await statesOf(
        { view: places, columns: VISIT_COLUMNS, rows, through: at('07:00') },
        dialect,
      );

      expectStates(states, {
        '1|m1': {
          eventTs: ms('06:40'),
          throughTs: ms('07:00'),
          latest: { ts: ms('06:40'), values: { seen_at: null, city: null } },
          tiles: {
            [HOP_30M]: {
              [TILE_30M_0600]: {
                city: { n: 3, min: 'B', max: 'b' },
                seen_at: { n: 3, min: ms('01:00'), max: ms('03:00') },
              },
            },
          },
          recent: { city: [[ms('06:20'), 'a']] },
        },
        '1|m2': {
          eventTs: ms('06:45'),
          throughTs: ms('07:00'),
          latest: { ts: ms('06:45'), values: { seen_at: ms('04:00'), city: 'Zürich' } },
          tiles: {
            [HOP_30M]: {
              [TILE_30M_0600 + 1]: {
                city: { n: 1, min: 'Zürich', max: 'Zürich' },
                seen_at: { n: 1, min: ms('04:00'), max: ms('04:00') },
              },
            },
          },
          recent: { city: [[ms('06:45'), 'Zürich']] },
        },
        '2|m1': {
          eventTs: ms('06:55'),
          throughTs: ms('07:00'),
          latest: { ts: ms('06:55'), values: { seen_at: null, city: '007, x]' } },
          tiles: {
            [HOP_30M]: {
              [TILE_30M_0600 + 1]: {
                city: { n: 2, min: '007, x]', max: 'c' },
                seen_at: { n: 1, min: ms('05:00'), max: ms('05:00') },
              },
            },
          },
          recent: { city: [[ms('06:55'), '007, x]']] },
        },
      });
    });
  },
);

describe('the Athena online state SQL', () => {
  it.each([
    ['spend', {}],
    ['spend', { changedFrom: at('06:00') }],
    ['totals', {}],
    ['totals', { changedFrom: at('06:00') }],
    ['places', {}],
  ] as const)('parses with the Trino grammar (%s, %o)', (name, options) => {
    const view = { spend, totals, places }[name];
    const features = featuresOf(name);
    const sql = onlineStateSql(
      { view, features, sourceRelation: '"db"."source"' },
      onlineStateLayout(view, features),
      at('07:00'),
      ATHENA_DIALECT,
      options,
    );

    expect(() => assertValidTrinoSql(sql)).not.toThrow();
    expect(sql).toContain('date_diff(');
    // Lists of strings (only the places view has string aggregations) travel as JSON.
    expect(sql.includes('AS JSON)')).toBe(name === 'places');
  });

  it('reads no row older than every tile or `changedFrom` for a tiles-only view, and all rows otherwise', () => {
    const sqlFor = (view: FeatureViewDefinition) =>
      onlineStateSql(
        { view, features: featuresOf(view.name), sourceRelation: '"source"' },
        onlineStateLayout(view, featuresOf(view.name)),
        at('07:00'),
        DUCKDB_DIALECT,
        { changedFrom: at('06:50') },
      );

    expect(sqlFor(totals)).toContain(`"ts" >= TIMESTAMP '2024-01-01 06:30:00.000'`);
    expect(sqlFor(spend)).not.toContain(`"ts" >= TIMESTAMP`);
  });
});

describe('viewStateFromRow', () => {
  const layout: OnlineStateLayout = {
    hops: [{ hopMs: HOP_5M, longestWindowMs: HOP_1H, columns: [{ column: 'amount', numeric: true }] }],
    recent: [{ column: 'seen_at', keep: 2 }],
    fields: ['seen_at'],
    recency: true,
    columnTypes: { amount: 'float64', seen_at: 'timestamp' },
  };

  it('reads bigints, Dates and null arrays the engines may return', () => {
    const row = {
      user_id: 9_007_199_254_740_993n,
      __event_ts: at('06:40'),
      __first_ts: null,
      __last_ts: BigInt(ms('06:30')),
      __tiles_0: [
        { t: TILE_5M_0600 + 1, c0_n: 0, c0_d: null, c0_m2: null, c0_min: null, c0_max: null },
        { t: BigInt(TILE_5M_0600), c0_n: 2n, c0_d: 3.5, c0_m2: 6.25, c0_min: 1, c0_max: 2.5 },
      ],
      __recent_0_v: [at('01:00'), BigInt(ms('00:30'))],
      __recent_0_ts: [at('06:30'), ms('06:20')],
      __latest_ts: ms('06:40'),
      __field_0: at('02:00'),
    };

    const { keys, state } = viewStateFromRow(row, layout, at('07:00'), ['user_id']);

    expect(keys).toEqual({ user_id: 9_007_199_254_740_993n });
    expect(state).toEqual({
      eventTs: ms('06:40'),
      throughTs: ms('07:00'),
      lastTs: ms('06:30'),
      latest: { ts: ms('06:40'), values: { seen_at: ms('02:00') } },
      tiles: { [HOP_5M]: { [TILE_5M_0600]: { amount: { n: 2, d: 3.5, m2: 6.25, min: 1, max: 2.5 } } } },
      recent: {
        seen_at: [
          [ms('06:30'), ms('01:00')],
          [ms('06:20'), ms('00:30')],
        ],
      },
    });
  });

  it('reads lists sent as JSON text, as the Athena SQL sends lists of strings', () => {
    const stringLayout: OnlineStateLayout = {
      hops: [{ hopMs: HOP_5M, longestWindowMs: HOP_1H, columns: [{ column: 'city', numeric: false }] }],
      recent: [{ column: 'city', keep: 2 }],
      fields: [],
      recency: false,
      columnTypes: { city: 'string' },
    };
    const row = {
      user_id: 1,
      __event_ts: 5,
      __tiles_0: `[{"t":${TILE_5M_0600},"c0_n":2,"c0_min":"007","c0_max":"a, b]"}]`,
      __recent_0_v: '["a, b]","007"]',
      __recent_0_ts: [4, 3],
    };

    const { state } = viewStateFromRow(row, stringLayout, new Date(10), ['user_id']);

    expect(state.tiles).toEqual({
      [HOP_5M]: { [TILE_5M_0600]: { city: { n: 2, min: '007', max: 'a, b]' } } },
    });
    expect(state.recent).toEqual({
      city: [
        [4, 'a, b]'],
        [3, '007'],
      ],
    });
  });

  it('gives empty tiles and recent values for null arrays', () => {
    const row = { user_id: 'u', __event_ts: 5, __tiles_0: null, __recent_0_v: null, __recent_0_ts: null };

    const { state } = viewStateFromRow(row, layout, new Date(10), ['user_id']);

    expect(state).toEqual({ eventTs: 5, throughTs: 10, tiles: { [HOP_5M]: {} }, recent: { seen_at: [] } });
  });

  it('refuses a row without its join key or event time', () => {
    expect(() => viewStateFromRow({ __event_ts: 5 }, layout, new Date(10), ['user_id'])).toThrow(
      'online state row has no value for join key "user_id" (got undefined); select the view\'s join keys in the state query',
    );
    expect(() => viewStateFromRow({ user_id: 1 }, layout, new Date(10), ['user_id'])).toThrow(
      'online state row for {"user_id":1} has no __event_ts; rows come from onlineStateSql',
    );
  });
});

const BASE = Date.UTC(2024, 0, 1, 6);
const eventArbitrary = fc.record({
  user_id: fc.integer({ min: 1, max: 3 }),
  // Some minutes drawn from a handful, so rows of one user often tie in time.
  minute: fc.oneof(fc.integer({ min: 0, max: 240 }), fc.constantFrom(0, 30, 60, 90)),
  extraMs: fc.constantFrom(0, 0, 0, 1, 59_999),
  createdOffset: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 6 }),
  amount: fc.option(fc.integer({ min: -50, max: 200 }), { nil: null, freq: 6 }),
  items: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null, freq: 6 }),
});

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s online state SQL on random events',
  (_, dialect) => {
    it('gives every entity the state stateFromEvents folds from its events', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(eventArbitrary, { maxLength: 25 }),
          fc.integer({ min: 0, max: 260 }),
          fc.option(fc.integer({ min: 0, max: 260 }), { nil: undefined }),
          async (generated, throughMinute, changedMinute) => {
            const rows = generated.map((event) => ({
              user_id: event.user_id,
              ts: new Date(BASE + event.minute * MINUTE + event.extraMs),
              created:
                event.createdOffset === null
                  ? null
                  : new Date(BASE + (event.minute + event.createdOffset) * MINUTE),
              amount: event.amount,
              items: event.items,
            }));
            const through = new Date(BASE + throughMinute * MINUTE);
            const changedFrom =
              changedMinute === undefined ? undefined : new Date(BASE + changedMinute * MINUTE);

            const states = await statesOf(
              { view: spend, columns: EVENT_COLUMNS, rows, through, ...(changedFrom ? { changedFrom } : {}) },
              dialect,
            );

            const expected: Record<string, ViewState> = {};
            for (const userId of new Set(rows.map((row) => row.user_id))) {
              const own = rows.filter((row) => row.user_id === userId);
              const changed = !changedFrom || own.some((row) => row.ts >= changedFrom && row.ts <= through);
              const state = stateFromEvents(spendLayout, sourceEvents(own), through.getTime());
              if (state && changed) expected[String(userId)] = state;
            }
            expect([...states.keys()].sort()).toEqual(Object.keys(expected).sort());
            for (const [key, state] of Object.entries(expected)) {
              const found = difference(states.get(key), state, `user ${key}`);
              if (found) throw new Error(found);
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  },
);

/** The states of each of `count` buckets, in bucket order. */
async function bucketStates(
  scenario: Scenario,
  dialect: SqlDialect,
  count: number,
): Promise<Map<string, ViewState>[]> {
  const parts: Map<string, ViewState>[] = [];
  for (let index = 0; index < count; index++) {
    parts.push(await statesOf({ ...scenario, bucket: { count, index } }, dialect));
  }
  return parts;
}

/** Asserts that `parts` hold every state of `whole` exactly once, and nothing else. */
function expectPartition(parts: readonly Map<string, ViewState>[], whole: Map<string, ViewState>): void {
  const keys = parts.flatMap((part) => [...part.keys()]);
  expect(keys.length).toBe(new Set(keys).size);
  expect(new Map(parts.flatMap((part) => [...part]))).toEqual(whole);
}

const visitArbitrary = fc.record({
  // Negative and large keys too: the hash, not the key, decides the bucket.
  user_id: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.maxSafeInteger()),
  merchant: fc.oneof(fc.constantFrom('m1', 'm|2', '', "o'k"), fc.string({ maxLength: 4 })),
  minute: fc.integer({ min: 0, max: 130 }),
  city: fc.option(fc.constantFrom('a', 'B', 'Zürich', '007, x]'), { nil: null }),
  seenMinute: fc.option(fc.integer({ min: 0, max: 600 }), { nil: null }),
});

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s online state SQL in buckets',
  (_, dialect) => {
    it('splits random entities with composite keys into 3 buckets that together give the unbucketed states, each once', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(visitArbitrary, { maxLength: 30 }), async (generated) => {
          const rows = generated.map((visit) => ({
            user_id: visit.user_id,
            merchant: visit.merchant,
            ts: new Date(Date.UTC(2024, 0, 1, 5) + visit.minute * MINUTE),
            city: visit.city,
            seen_at:
              visit.seenMinute === null ? null : new Date(Date.UTC(2024, 0, 1) + visit.seenMinute * MINUTE),
          }));
          const scenario = { view: places, columns: VISIT_COLUMNS, rows, through: at('07:00') };

          const whole = await statesOf(scenario, dialect);
          const parts = await bucketStates(scenario, dialect, 3);

          expectPartition(parts, whole);
        }),
        { numRuns: 25 },
      );
    });

    it('puts entities in every bucket and keeps changedFrom within a bucket', async () => {
      const rows = Array.from({ length: 60 }, (_, k) => ({
        // Ids on both sides of zero, up to the largest exact integer.
        user_id: k < 58 ? (k - 29) * 1_000_003 : (k === 58 ? 1 : -1) * Number.MAX_SAFE_INTEGER,
        ts: at(k % 2 === 0 ? '06:10' : '06:40'),
        created: null,
        amount: k,
        items: k % 5,
      }));
      const scenario = { view: spend, columns: EVENT_COLUMNS, rows, through: at('07:00') };

      const whole = await statesOf(scenario, dialect);
      const parts = await bucketStates(scenario, dialect, 3);
      const changed = await bucketStates({ ...scenario, changedFrom: at('06:30') }, dialect, 3);

      expect(whole.size).toBe(60);
      expectPartition(parts, whole);
      for (const part of parts) expect(part.size).toBeGreaterThan(5);
      // An incremental run in buckets: each bucket's changed entities, from the same split.
      const changedIds = new Set(
        rows.filter((row) => row.ts >= at('06:30')).map((row) => String(row.user_id)),
      );
      changed.forEach((part, index) => {
        expect([...part.keys()].sort()).toEqual(
          [...(parts[index]?.keys() ?? [])].filter((key) => changedIds.has(key)).sort(),
        );
      });
    });

    it('counts the source rows the state SQL reads, per bucket too', async () => {
      const rows = [
        { user_id: 1, ts: at('06:10'), created: null, amount: 1, items: 1 },
        { user_id: 2, ts: at('07:00'), created: null, amount: 2, items: 2 },
        { user_id: 3, ts: at('07:00:00.001'), created: null, amount: 3, items: 3 },
        { user_id: null, ts: at('06:45'), created: null, amount: 4, items: 4 },
        ...Array.from({ length: 20 }, (_, k) => ({
          user_id: 10 + k,
          ts: at('06:20'),
          created: null,
          amount: k,
          items: k,
        })),
      ];
      await createTable(engine, 'source_rows', EVENT_COLUMNS, rows);
      const countOf = async (options: Parameters<typeof onlineStateSql>[4]): Promise<number> => {
        const sql = onlineStateSourceRowsSql(
          { view: spend, features: featuresOf('spend'), sourceRelation: '"source_rows"' },
          spendLayout,
          at('07:00'),
          dialect,
          options,
        );
        if (dialect.name === 'athena') assertValidTrinoSql(sql);
        return Number((await engine.query(sql))[0]?.rows);
      };

      const perBucket = [
        await countOf({ bucket: { count: 3, index: 0 } }),
        await countOf({ bucket: { count: 3, index: 1 } }),
        await countOf({ bucket: { count: 3, index: 2 } }),
      ];

      expect(await countOf({})).toBe(22);
      expect(perBucket.reduce((a, b) => a + b)).toBe(22);
    });
  },
);

describe('the bucket option', () => {
  it.each([
    { count: 3, index: 3 },
    { count: 3, index: -1 },
    { count: 0, index: 0 },
    { count: 2.5, index: 0 },
    { count: 2, index: 0.5 },
  ])('refuses bucket %o', (bucket) => {
    expect(() =>
      onlineStateSql(
        { view: spend, features: featuresOf('spend'), sourceRelation: '"source"' },
        spendLayout,
        at('07:00'),
        DUCKDB_DIALECT,
        { bucket },
      ),
    ).toThrow(OnlineStateSqlError);
  });

  it('adds no hash for one bucket', () => {
    const sqlFor = (options: Parameters<typeof onlineStateSql>[4]) =>
      onlineStateSql(
        { view: spend, features: featuresOf('spend'), sourceRelation: '"source"' },
        spendLayout,
        at('07:00'),
        ATHENA_DIALECT,
        options,
      );

    expect(sqlFor({ bucket: { count: 1, index: 0 } })).toBe(sqlFor({}));
    expect(sqlFor({ bucket: { count: 4, index: 2 } })).toContain('xxhash64(');
  });
});

describe('viewStateFromRow on tile rows as Athena sends them', () => {
  const layout: OnlineStateLayout = {
    hops: [
      {
        hopMs: HOP_5M,
        longestWindowMs: HOP_1H,
        columns: [
          { column: 'amount', numeric: true },
          { column: 'flag', numeric: false },
        ],
      },
    ],
    recent: [],
    fields: [],
    recency: false,
    columnTypes: { amount: 'float64', flag: 'bool' },
  };
  const expected = {
    [HOP_5M]: {
      [TILE_5M_0600]: {
        amount: { n: 2, d: 3.5, m2: 6.25, min: 1, max: 2.5 },
        flag: { n: 1, min: false, max: false },
      },
      [TILE_5M_0600 + 1]: { flag: { n: 2, min: false, max: true } },
    },
  };

  it("reads Athena's text of an array of rows without strings", () => {
    const text = `[{t=${TILE_5M_0600 + 1}, c0_n=0, c0_d=null, c0_m2=null, c0_min=null, c0_max=null, c1_n=2, c1_min=false, c1_max=true}, {t=${TILE_5M_0600}, c0_n=2, c0_d=3.5, c0_m2=6.25, c0_min=1.0, c0_max=2.5, c1_n=1, c1_min=false, c1_max=false}, {t=${TILE_5M_0600 + 2}, c0_n=0, c0_d=null, c0_m2=null, c0_min=null, c0_max=null, c1_n=0, c1_min=null, c1_max=null}]`;
    const row = {
      user_id: 1,
      __event_ts: 5,
      __tiles_0: athenaValue(text, { name: '__tiles_0', type: 'array' }),
    };

    expect(viewStateFromRow(row, layout, new Date(10), ['user_id']).state.tiles).toEqual(expected);
  });

  it("reads rows cast to JSON as objects or as arrays in field order, with JSON's names for non-finite numbers", () => {
    const objects = `[{"t":${TILE_5M_0600},"c0_n":2,"c0_d":3.5,"c0_m2":6.25,"c0_min":1,"c0_max":2.5,"c1_n":1,"c1_min":false,"c1_max":false},{"t":${TILE_5M_0600 + 1},"c0_n":0,"c0_d":null,"c0_m2":null,"c0_min":null,"c0_max":null,"c1_n":2,"c1_min":false,"c1_max":true}]`;
    const arrays = `[[${TILE_5M_0600},2,3.5,6.25,1,2.5,1,false,false],[${TILE_5M_0600 + 1},0,null,null,null,null,2,false,true]]`;
    const nonFinite = `[[${TILE_5M_0600},2,"NaN","Infinity","-Infinity","Infinity",0,null,null]]`;
    const read = (tiles: string) =>
      viewStateFromRow({ user_id: 1, __event_ts: 5, __tiles_0: tiles }, layout, new Date(10), ['user_id'])
        .state.tiles;

    expect(read(objects)).toEqual(expected);
    expect(read(arrays)).toEqual(expected);
    expect(read(nonFinite)).toEqual({
      [HOP_5M]: {
        [TILE_5M_0600]: {
          amount: {
            n: 2,
            d: Number.NaN,
            m2: Number.POSITIVE_INFINITY,
            min: Number.NEGATIVE_INFINITY,
            max: Number.POSITIVE_INFINITY,
          },
        },
      },
    });
  });

  it('refuses a tile that is not a row', () => {
    expect(() =>
      viewStateFromRow({ user_id: 1, __event_ts: 5, __tiles_0: [7] }, layout, new Date(10), ['user_id']),
    ).toThrow('a tile of an online state row is 7, not a row; rows come from onlineStateSql');
  });
});
