import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestFeaturesSql } from '../../lib/compute/feature-queries.js';
import {
  batchSource,
  collectDefinitions,
  div,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DIALECTS, runHistorical, teachDuckDBTrinoNames } from '../support/historical-harness.js';
import { referenceFeatures } from '../support/reference-features.js';

/**
 * Values worked out by hand from DESIGN.md section 3, for one user with events on a hop boundary, a tie,
 * a null amount and the TTL edge, a user whose only event is at the read time, and a user with none.
 * Window 2h, hop 1h: read at t, it covers floor(t, 1h) - 2h <= ts < t.
 */
const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const events = batchSource({
  name: 'events',
  path: 'events.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64', status: 'string' },
});
const spend = featureView({
  name: 'spend',
  entities: [user],
  source: events,
  fields: { status: 'string' },
  aggregations: [
    {
      column: 'amount',
      functions: ['sum', 'count', 'mean', 'stddev', 'min', 'max', 'last'],
      windows: ['2h'],
      hop: '1h',
    },
  ],
  lastK: [{ column: 'amount', k: 2, name: 'last_2_amounts' }],
  daysSinceFirstEvent: 'days_since_first',
  daysSinceLastEvent: 'days_since_last',
  derived: (f) => ({ mean_by_ratio: div(f.amount_sum_2h, f.amount_count_2h) }),
  ttl: '3h',
});
const validated = validateFeatureRepo(collectDefinitions([user, events, spend]));
const features = validated.features.get('spend') ?? [];

const at = (time: string) => new Date(`2024-01-01T${time}Z`);
const rows = [
  { user_id: 1, ts: at('08:00:00.000'), amount: 10, status: 'a' },
  { user_id: 1, ts: at('09:30:00.000'), amount: 20, status: 'b' },
  { user_id: 1, ts: at('10:00:00.000'), amount: 30, status: 'c' },
  { user_id: 1, ts: at('10:00:00.000'), amount: 5, status: 'd' },
  { user_id: 1, ts: at('11:15:00.000'), amount: null, status: 'e' },
  { user_id: 2, ts: at('10:30:00.000'), amount: 7, status: 'z' },
];

const HOUR = 1 / 24;
const empty = {
  amount_sum_2h: 0,
  amount_count_2h: 0,
  amount_mean_2h: null,
  amount_stddev_2h: null,
  amount_min_2h: null,
  amount_max_2h: null,
  amount_last_2h: null,
  mean_by_ratio: null,
};

const cases: [string, { keys: { user_id: number }; at: Date }, Record<string, unknown>][] = [
  [
    'at the first event: nothing before it, but its own status (fields include t)',
    { keys: { user_id: 1 }, at: at('08:00:00.000') },
    { ...empty, last_2_amounts: [], days_since_first: null, days_since_last: null, status: 'a' },
  ],
  [
    'at a tie on the hop boundary: the old edge (08:00) is in, the events at t are out',
    { keys: { user_id: 1 }, at: at('10:00:00.000') },
    {
      amount_sum_2h: 30,
      amount_count_2h: 2,
      amount_mean_2h: 15,
      amount_stddev_2h: Math.sqrt(50),
      amount_min_2h: 10,
      amount_max_2h: 20,
      amount_last_2h: 20,
      mean_by_ratio: 15,
      last_2_amounts: [20, 10],
      days_since_first: 2 * HOUR,
      days_since_last: 0.5 * HOUR,
      status: 'd',
    },
  ],
  [
    'one millisecond before the next hop: the window still starts at 08:00; the tie goes to the larger value',
    { keys: { user_id: 1 }, at: at('10:59:59.999') },
    {
      amount_sum_2h: 65,
      amount_count_2h: 4,
      amount_mean_2h: 16.25,
      amount_stddev_2h: Math.sqrt(
        ((10 - 16.25) ** 2 + (20 - 16.25) ** 2 + (30 - 16.25) ** 2 + (5 - 16.25) ** 2) / 3,
      ),
      amount_min_2h: 5,
      amount_max_2h: 30,
      amount_last_2h: 30,
      mean_by_ratio: 16.25,
      last_2_amounts: [30, 5],
      days_since_first: (2 * 3_600_000 + 3_599_999) / 86_400_000,
      days_since_last: 3_599_999 / 86_400_000,
      status: 'd',
    },
  ],
  [
    'on the next hop: the old edge moves to 09:00 and the 08:00 event drops out',
    { keys: { user_id: 1 }, at: at('11:00:00.000') },
    {
      amount_sum_2h: 55,
      amount_count_2h: 3,
      amount_mean_2h: 55 / 3,
      amount_stddev_2h: Math.sqrt(((20 - 55 / 3) ** 2 + (30 - 55 / 3) ** 2 + (5 - 55 / 3) ** 2) / 2),
      amount_min_2h: 5,
      amount_max_2h: 30,
      amount_last_2h: 30,
      mean_by_ratio: 55 / 3,
      last_2_amounts: [30, 5],
      days_since_first: 3 * HOUR,
      days_since_last: 1 * HOUR,
      status: 'd',
    },
  ],
  [
    'after an event with a null amount: it counts as an event for recency, not for the amount',
    { keys: { user_id: 1 }, at: at('12:00:00.000') },
    {
      amount_sum_2h: 35,
      amount_count_2h: 2,
      amount_mean_2h: 17.5,
      amount_stddev_2h: Math.sqrt(312.5),
      amount_min_2h: 5,
      amount_max_2h: 30,
      amount_last_2h: 30,
      mean_by_ratio: 17.5,
      last_2_amounts: [30, 5],
      days_since_first: 4 * HOUR,
      days_since_last: 0.75 * HOUR,
      status: 'e',
    },
  ],
  [
    'exactly at the TTL edge: a status exactly 3h old is still served',
    { keys: { user_id: 1 }, at: at('14:15:00.000') },
    {
      ...empty,
      last_2_amounts: [30, 5],
      days_since_first: 6.25 * HOUR,
      days_since_last: 3 * HOUR,
      status: 'e',
    },
  ],
  [
    'one millisecond past the TTL: the status is null, and the 2h window is empty',
    { keys: { user_id: 1 }, at: at('14:15:00.001') },
    {
      ...empty,
      last_2_amounts: [30, 5],
      days_since_first: (6.25 * 3_600_000 + 1) / 86_400_000,
      days_since_last: (3 * 3_600_000 + 1) / 86_400_000,
      status: null,
    },
  ],
  [
    'a user read at the time of their only event: it does not see itself',
    { keys: { user_id: 2 }, at: at('10:30:00.000') },
    { ...empty, last_2_amounts: [], days_since_first: null, days_since_last: null, status: 'z' },
  ],
  [
    'a user with no events at all',
    { keys: { user_id: 3 }, at: at('12:00:00.000') },
    { ...empty, last_2_amounts: [], days_since_first: null, days_since_last: null, status: null },
  ],
];

let engine: DuckDBEngine;
beforeAll(async () => {
  engine = await DuckDBEngine.create();
  await teachDuckDBTrinoNames(engine);
});
afterAll(() => engine.close());

function expectFeatures(
  actual: Record<string, unknown> | undefined,
  expected: Record<string, unknown>,
): void {
  for (const [name, value] of Object.entries(expected)) {
    if (typeof value === 'number') expect(actual?.[name], name).toBeCloseTo(value, 9);
    else expect(actual?.[name], name).toEqual(value);
  }
}

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s point-in-time join, by hand-computed values',
  (_, dialect) => {
    it.each(cases)('%s', async (_label, point, expected) => {
      const [row] = await runHistorical(engine, dialect, spend, features, rows, [point]);

      expectFeatures(row, expected);
    });

    it('answers every point of one spine in input order, keeping the spine columns', async () => {
      const spine = cases.map(([, point]) => point).reverse();

      const result = await runHistorical(engine, dialect, spend, features, rows, spine);

      expect(result.map((row) => [row.user_id, (row.at as Date).toISOString()])).toEqual(
        spine.map((point) => [point.keys.user_id, point.at.toISOString()]),
      );
      result.forEach((row, index) => {
        expectFeatures(row, cases[cases.length - 1 - index]?.[2] ?? {});
      });
    });
  },
);

describe('the reference implementation', () => {
  it.each(cases)('agrees with the hand-computed values %s', (_label, point, expected) => {
    const referenceRows = rows.map((row) => ({ ...row, ts: row.ts.getTime() }));

    const values = referenceFeatures(spend, features, referenceRows, {
      keys: point.keys,
      t: point.at.getTime(),
    });

    expectFeatures(values, expected);
  });
});

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s latest-values query (what materialization will read)',
  (_, dialect) => {
    it('gives every entity seen by then one row, equal to the point-in-time values at that time', async () => {
      const asOf = at('12:00:00.000');
      const [atPoint] = await runHistorical(engine, dialect, spend, features, rows, [
        { keys: { user_id: 1 }, at: asOf },
      ]);
      const [user2] = await runHistorical(engine, dialect, spend, features, rows, [
        { keys: { user_id: 2 }, at: asOf },
      ]);

      const latest = await engine.query(
        latestFeaturesSql({ view: spend, features, sourceRelation: '"source_rows"' }, asOf, dialect),
      );

      expect(latest.map((row) => row.user_id)).toEqual([1, 2]);
      for (const feature of features) {
        expect(latest[0]?.[feature.name], feature.name).toEqual(atPoint?.[feature.name]);
        expect(latest[1]?.[feature.name], feature.name).toEqual(user2?.[feature.name]);
      }
      expect(latest[0]?.event_timestamp).toEqual(asOf);
    });
  },
);
