import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewFeaturesAt } from '../lib/compute/online-aggregator.js';
import { foldEvents, mergeStates, type SourceEvent, stateFromEvents } from '../lib/compute/online-fold.js';
import type { ViewState } from '../lib/compute/online-state.js';
import { stringLiteral } from '../lib/compute/sql-literals.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { getOnlineFeatures } from '../lib/services/get-online-features.js';
import { materialize } from '../lib/services/materialize.js';
import { servingCatalog } from '../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { exactAggregates, type Rational } from './support/exact-rational.js';
import { DIALECTS, teachDuckDBTrinoNames } from './support/historical-harness.js';
import { type DynamoDBFixture, startDynamoDBFixture } from './support/local-dynamodb.js';
import { offlineValuesAt } from './support/offline-values-at.js';
import {
  HOUR,
  type PrecisionEvent,
  payments,
  precisionFeatures,
  precisionValidated,
} from './support/precision.js';
import {
  loadSource,
  materializedStates,
  offlineFeatures,
  precisionLayout,
} from './support/precision-duckdb.js';

/**
 * Issue 13's table, as a user meets it: one user near 5,000,000 with a spread of 0.5, one near 1e8 with a
 * spread of 0.1, one near 1e12 with a spread of 1, every event inside the last 3 days, read as of `NOW` on
 * every path: offline in both dialects, materialized online (state SQL of both dialects, and for real
 * through materialize, DynamoDB (dynalite) and getOnlineFeatures), streamed, merged, and the training
 * set getHistoricalFeatures writes. The exact values were worked out with rational arithmetic (Python's
 * fractions over the same doubles) and are checked against the reference first.
 *
 * Bounds: the issue's magnitude/spread is 1e7 for the first user and 1e9 for the second, so 1e-6 for
 * both (stricter than the data rule of test/support/precision.ts, by which the second user's max|x| /
 * stddev of 2.9e9 would be beyond 1e9). The third user's 1e12 is beyond every bound: there the paths
 * must only agree with the exact value and with each other to 1e-3, and the errors are printed.
 */
const NOW = Date.UTC(2024, 2, 10, 12);
/** Hours before NOW of each event, all within 72. */
const HOURS_AGO = [71, 60, 49, 30, 23, 12, 5, 1];
const USERS = [
  {
    userId: 1,
    near: 5_000_000,
    offsets: [0, 0.5, 0.25, 0.1, 0.4, 0.35, 0.05, 0.2],
    stddev: '1.77155097580349e-1',
  },
  {
    userId: 2,
    near: 100_000_000,
    offsets: [0, 0.1, 0.05, 0.02, 0.08, 0.06, 0.03],
    stddev: '3.48466014611712e-2',
  },
  { userId: 3, near: 1e12, offsets: [0, 1, 0.5, 0.25, 0.75, 0.6, 0.1, 0.9], stddev: '3.69127309001088e-1' },
] as const;
const EVENTS: PrecisionEvent[] = USERS.flatMap((u) =>
  u.offsets.map((offset, k) => ({
    userId: u.userId,
    ts: NOW - (HOURS_AGO[k] ?? 0) * HOUR,
    amount: u.near + offset,
  })),
);
const CHECKED = ['stddev', 'variance', 'mean', 'sum'] as const;
const WINDOWS = ['7d', '30d'] as const;

const toSource = (event: PrecisionEvent): SourceEvent => ({ ts: event.ts, values: { amount: event.amount } });
const own = (userId: number) => EVENTS.filter((event) => event.userId === userId);
const exactOf = (userId: number) => exactAggregates(own(userId).map((event) => event.amount));

/** Every path's features as of NOW, per user: feature name -> value. */
const paths = new Map<string, Map<number, Record<string, unknown>>>();
const errors: Record<string, Record<string, number>> = {};

let dir: string;
let engine: DuckDBEngine;
let dynamo: DynamoDBFixture;

function fromState(state: (userId: number) => ViewState | undefined): Map<number, Record<string, unknown>> {
  return new Map(
    USERS.map(({ userId }) => {
      const served = viewFeaturesAt(precisionFeatures, precisionLayout, state(userId), NOW);
      return [userId, Object.fromEntries([...served].map(([name, value]) => [name, value.value]))];
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-precision-'));
  engine = await DuckDBEngine.create({ threads: 1 });
  await teachDuckDBTrinoNames(engine);
  await loadSource(engine, EVENTS);
  const points = USERS.map(({ userId }) => ({ userId, t: NOW }));

  for (const dialect of DIALECTS) {
    const rows = await offlineFeatures(engine, dialect, points);
    paths.set(
      `offline ${dialect.name}`,
      new Map(points.map((point, index) => [point.userId, rows[index] ?? {}])),
    );
    const states = await materializedStates(engine, dialect, NOW);
    paths.set(
      `materialized ${dialect.name} state SQL`,
      fromState((userId) => states.get(userId)),
    );
  }
  paths.set(
    'online state (stateFromEvents)',
    fromState((userId) => stateFromEvents(precisionLayout, own(userId).map(toSource), NOW)),
  );
  paths.set(
    'streamed (foldEvents, 3 batches)',
    fromState((userId) => {
      const events = own(userId).map(toSource);
      let state: ViewState | undefined;
      for (const part of [events.slice(0, 3), events.slice(3, 5), events.slice(5)]) {
        state = foldEvents(precisionLayout, state, part);
      }
      return state;
    }),
  );
  // Materialized a day ago, the last day streamed.
  const dayAgo = NOW - 24 * HOUR;
  const batch = await materializedStates(engine, DIALECTS[0] ?? (undefined as never), dayAgo);
  paths.set(
    'materialized a day ago + stream merge',
    fromState((userId) =>
      mergeStates(
        precisionLayout,
        batch.get(userId),
        foldEvents(
          precisionLayout,
          undefined,
          own(userId)
            .filter((event) => event.ts >= dayAgo)
            .map(toSource),
        ),
      ),
    ),
  );

  // The product end to end: a Parquet source, materialize into dynalite, getOnlineFeatures, getHistoricalFeatures.
  await engine.run(
    `COPY (SELECT * FROM "precision_source") TO ${stringLiteral(join(dir, 'payments.parquet'))} (FORMAT PARQUET)`,
  );
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  const store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  const catalog = servingCatalog(repoFromRegistry(toRegistryObjects(precisionValidated)));
  const sourceRelation = () => duckdbSourceRelation(batchSourceOf(payments), dir);
  await materialize({
    engine,
    offlineStore: new FileSystemObjectStore({ root: join(dir, 'offline') }),
    onlineStore: store,
    catalog,
    sourceRelation,
    end: new Date(NOW),
  });
  const features = precisionFeatures.map((feature) => `precision:${feature.name}`);
  const online = await getOnlineFeatures({
    catalog,
    store,
    now: () => NOW,
    request: { features, entities: { user_id: USERS.map((u) => u.userId) } },
  });
  const names = online.metadata.feature_names;
  paths.set(
    'getOnlineFeatures after materialize (DynamoDB)',
    new Map(
      USERS.map((u, row) => [
        u.userId,
        Object.fromEntries(names.map((name, index) => [name, online.results[index]?.values[row]])),
      ]),
    ),
  );
  const offline = await offlineValuesAt({
    engine,
    validated: precisionValidated,
    sourceRelation,
    rows: USERS.map((u) => ({ user_id: u.userId })),
    features,
    t: new Date(NOW),
    dir,
  });
  paths.set(
    'getHistoricalFeatures (training set)',
    new Map(
      USERS.map((u, row) => [
        u.userId,
        Object.fromEntries(precisionFeatures.map((f) => [f.name, offline[row]?.[`precision__${f.name}`]])),
      ]),
    ),
  );
});
afterAll(async () => {
  for (const [path, byFeature] of Object.entries(errors)) {
    console.log(`precision fixture ${JSON.stringify({ path, maxRelativeError: byFeature })}`);
  }
  await engine?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

function exactValue(fn: (typeof CHECKED)[number], userId: number): Rational {
  const exact = exactOf(userId);
  const value = fn === 'sum' ? exact.sum : exact[fn];
  if (!value) throw new Error(`no exact ${fn} for user ${userId}`);
  return value;
}

/** |value - exact| / |exact|, recorded per path as `user <id> <feature>`. */
function relativeError(
  path: string,
  userId: number,
  feature: string,
  value: unknown,
  exact: Rational,
): number {
  if (typeof value !== 'number')
    throw new Error(`${path}: ${feature} for user ${userId} is ${JSON.stringify(value)}`);
  const error = Math.abs((value - exact.toNumber()) / exact.toNumber());
  // The largest error per path and user, over the features checked.
  const key = `user ${userId}`;
  const seen = errors[path]?.[key] ?? 0;
  errors[path] = { ...errors[path], [key]: Math.max(seen, Number(error.toPrecision(3))) };
  return error;
}

describe('the exact values of the issue 13 users', () => {
  it.each(USERS.map((u) => [u.userId, u.near, u.stddev] as const))(
    'user %d near %d has the hand-worked exact sample stddev %s',
    (userId, _near, stddev) => {
      expect(exactOf(userId).stddev?.toDecimal(15)).toBe(stddev);
    },
  );

  it('are far from what the textbook one-pass formula gives in float64', () => {
    const values = own(2).map((event) => event.amount);
    const n = values.length;
    const s = values.reduce((a, b) => a + b, 0);
    const ss = values.reduce((a, b) => a + b * b, 0);
    const naive = (ss - (s * s) / n) / (n - 1);
    expect(Math.abs(naive / exactValue('variance', 2).toNumber() - 1)).toBeGreaterThan(0.5);
  });
});

describe('every path as of NOW', () => {
  it('covers the nine paths', () => {
    expect([...paths.keys()]).toHaveLength(9);
  });

  it.each([1, 2])(
    'gives user %d stddev, variance, mean and sum over 7d and 30d within 1e-6 of the exact values',
    (userId) => {
      const failures: string[] = [];
      for (const [path, values] of paths) {
        for (const fn of CHECKED) {
          for (const window of WINDOWS) {
            const feature = `amount_${fn}_${window}`;
            const value = values.get(userId)?.[feature];
            const error = relativeError(path, userId, feature, value, exactValue(fn, userId));
            if (!(error <= 1e-6)) {
              failures.push(
                `${path}: ${feature} = ${value}, exact ${exactValue(fn, userId).toDecimal(15)}, relative error ${error.toPrecision(3)}`,
              );
            }
          }
        }
        expect(values.get(userId)?.amount_count_7d).toBe(own(userId).length);
      }
      expect(failures).toEqual([]);
    },
  );

  it('gives the user near 1e12 the same stddev on every path, within 1e-3 of the exact value and of each other', () => {
    const failures: string[] = [];
    const reference = paths.get('offline duckdb')?.get(3)?.amount_stddev_7d;
    for (const [path, values] of paths) {
      for (const window of WINDOWS) {
        const feature = `amount_stddev_${window}`;
        const value = values.get(3)?.[feature];
        const error = relativeError(path, 3, feature, value, exactValue('stddev', 3));
        const skew =
          typeof value === 'number' && typeof reference === 'number'
            ? Math.abs(value / reference - 1)
            : Number.NaN;
        if (!(error <= 1e-3) || !(skew <= 1e-3)) {
          failures.push(
            `${path}: ${feature} = ${value}, exact ${exactValue('stddev', 3).toDecimal(15)}, offline duckdb ${reference}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
