import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewFeaturesAt } from '../../lib/compute/online-aggregator.js';
import { foldEvents, mergeStates, type SourceEvent } from '../../lib/compute/online-fold.js';
import type { ViewState } from '../../lib/compute/online-state.js';
import { DUCKDB_DIALECT } from '../../lib/compute/sql-dialect.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DIALECTS, teachDuckDBTrinoNames } from '../support/historical-harness.js';
import {
  assertNone,
  BASE,
  disagreements,
  ErrorRecord,
  entityArbitrary,
  eventsOf,
  expectedWindows,
  MINUTE,
  type PrecisionEvent,
  precisionFeatures,
  readsOf,
  violations,
} from '../support/precision.js';
import {
  loadSource,
  materializedStates,
  offlineFeatures,
  precisionLayout,
} from '../support/precision-duckdb.js';

/**
 * Issue 13, the materialized online paths: the online state SQL of both dialects run on DuckDB, decoded
 * by viewStateFromRow and read by viewFeaturesAt, alone and merged with a stream part folded by
 * foldEvents; and online against offline at the materialization time. Amounts from 1e-6 to 1e12 of
 * either sign with spreads down to 1e-9 of the magnitude, against the exact rational reference within the
 * bounds of DESIGN.md section 3 (test/support/precision.ts says how errors are measured).
 */
const record = new ErrorRecord();
let engine: DuckDBEngine;
beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
  await teachDuckDBTrinoNames(engine);
});
afterAll(async () => {
  record.print();
  await engine.close();
});

/** Every entity is moved so that its first read falls in this minute after BASE: the materialization time. */
const THROUGH_MINUTE = 150;
const entitiesArbitrary = fc.array(entityArbitrary, { minLength: 1, maxLength: 30 });
const throughArbitrary = fc
  .constantFrom(0, 0, 1, 59_999)
  .map((extraMs) => BASE + THROUGH_MINUTE * MINUTE + extraMs);
const laterArbitrary = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 120 }).map((minutes) => minutes * MINUTE),
  fc.integer({ min: 1, max: 40 * 24 * 60 }).map((minutes) => minutes * MINUTE),
);
const toSource = (event: PrecisionEvent): SourceEvent => ({ ts: event.ts, values: { amount: event.amount } });

function servedAt(state: ViewState | undefined, t: number): (feature: string) => unknown {
  const served = viewFeaturesAt(precisionFeatures, precisionLayout, state, t);
  return (feature) => served.get(feature)?.value;
}

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'materialized online features from the %s state SQL, to the exact values',
  (name, dialect) => {
    it('are within the bound read at the materialization time and later', async () => {
      await fc.assert(
        fc.asyncProperty(
          entitiesArbitrary,
          throughArbitrary,
          laterArbitrary,
          async (entities, through, later) => {
            const events = eventsOf(entities, THROUGH_MINUTE);
            await loadSource(engine, events);

            const states = await materializedStates(engine, dialect, through);

            const found: string[] = [];
            entities.forEach((generated, index) => {
              const userId = index + 1;
              const own = events.filter((event) => event.userId === userId && event.ts < through);
              const state = states.get(userId);
              if (own.length > 0) expect(state).toBeDefined();
              const reads = readsOf(generated, THROUGH_MINUTE).filter((t) => t >= through);
              for (const t of [through, through + later, ...reads]) {
                found.push(
                  ...violations(
                    `materialized online ${name} (onlineStateSql -> viewStateFromRow -> viewFeaturesAt)`,
                    record,
                    `for user ${userId} at ${new Date(t).toISOString()} through ${new Date(through).toISOString()}`,
                    servedAt(state, t),
                    expectedWindows(own, t),
                  ),
                );
              }
            });
            assertNone(found);
          },
        ),
        { numRuns: 100, seed: dialect.name === 'duckdb' ? 1331 : 1332 },
      );
    });

    it('are within the bound merged with a stream part of the later events', async () => {
      await fc.assert(
        fc.asyncProperty(
          entitiesArbitrary,
          throughArbitrary,
          fc.integer({ min: 1, max: 3 }),
          laterArbitrary,
          async (entities, through, streamBatches, later) => {
            const events = eventsOf(entities, THROUGH_MINUTE);
            await loadSource(engine, events);

            const states = await materializedStates(engine, dialect, through);

            const found: string[] = [];
            entities.forEach((_, index) => {
              const userId = index + 1;
              const own = events.filter((event) => event.userId === userId);
              // The state SQL holds the events before `through`; the stream folds those at or after it.
              const streamEvents = own.filter((event) => event.ts >= through).map(toSource);
              let stream: ViewState | undefined;
              const size = Math.max(1, Math.ceil(streamEvents.length / streamBatches));
              for (let start = 0; start < streamEvents.length; start += size) {
                stream = foldEvents(precisionLayout, stream, streamEvents.slice(start, start + size));
              }
              const merged = mergeStates(precisionLayout, states.get(userId), stream);
              const t = Math.max(merged?.throughTs ?? through, through) + later;
              found.push(
                ...violations(
                  `materialized ${name} + stream merge (mergeStates -> viewFeaturesAt)`,
                  record,
                  `for user ${userId} at ${new Date(t).toISOString()} through ${new Date(through).toISOString()}`,
                  servedAt(merged, t),
                  expectedWindows(own, t),
                ),
              );
            });
            assertNone(found);
          },
        ),
        { numRuns: 80, seed: dialect.name === 'duckdb' ? 1333 : 1334 },
      );
    });
  },
);

describe('online and offline at the same time', () => {
  it('agree within the bound: both state SQL dialects and the stream fold against both offline dialects', async () => {
    await fc.assert(
      fc.asyncProperty(entitiesArbitrary, throughArbitrary, async (entities, through) => {
        const events = eventsOf(entities, THROUGH_MINUTE);
        await loadSource(engine, events);
        const points = entities.map((_, index) => ({ userId: index + 1, t: through }));

        const offline = new Map<string, Record<string, unknown>[]>();
        const online = new Map<string, Map<number, ViewState | undefined>>();
        for (const dialect of DIALECTS) {
          offline.set(dialect.name, await offlineFeatures(engine, dialect, points));
          online.set(`materialized ${dialect.name}`, await materializedStates(engine, dialect, through));
        }
        const streamed = new Map<number, ViewState | undefined>();
        entities.forEach((_, index) => {
          const own = events.filter((event) => event.userId === index + 1 && event.ts < through);
          // Folded up to `through`: the stream state holds what a read at `through` can see.
          const folded = foldEvents(precisionLayout, undefined, own.map(toSource));
          streamed.set(index + 1, folded);
        });
        online.set('streamed', streamed);

        const found: string[] = [];
        points.forEach((point, index) => {
          const own = events.filter((event) => event.userId === point.userId);
          const expected = expectedWindows(own, through);
          for (const [offlineName, rows] of offline) {
            for (const [onlineName, states] of online) {
              found.push(
                ...disagreements(
                  'offline vs online',
                  record,
                  `offline ${offlineName} vs online ${onlineName} for user ${point.userId} at ${new Date(through).toISOString()}`,
                  (feature) => rows[index]?.[feature],
                  servedAt(states.get(point.userId), through),
                  expected,
                ),
              );
            }
          }
        });
        assertNone(found);
        expect(offline.get(DUCKDB_DIALECT.name)).toHaveLength(points.length);
      }),
      { numRuns: 80, seed: 1335 },
    );
  });
});
