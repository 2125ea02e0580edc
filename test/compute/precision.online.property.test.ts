import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { viewFeaturesAt } from '../../lib/compute/online-aggregator.js';
import { foldEvents, mergeStates, type SourceEvent, stateFromEvents } from '../../lib/compute/online-fold.js';
import { onlineStateLayout, type ViewState } from '../../lib/compute/online-state.js';
import {
  assertNone,
  ErrorRecord,
  entityArbitrary,
  eventsOf,
  expectedWindows,
  MINUTE,
  type PrecisionEvent,
  precisionFeatures,
  precisionView,
  readsOf,
  violations,
  windowFeatures,
} from '../support/precision.js';

/**
 * Issue 13, the online paths in TypeScript: amounts from 1e-6 to 1e12 of either sign with spreads down to
 * 1e-9 of the magnitude, folded into online state and read with viewFeaturesAt, against the exact
 * rational reference, within the bounds of DESIGN.md section 3 (see test/support/precision.ts for how
 * errors are measured). The largest errors per path and band are printed at the end.
 */
const layout = onlineStateLayout(precisionView, precisionFeatures);
const record = new ErrorRecord();
afterAll(() => record.print());

const toSource = (event: PrecisionEvent): SourceEvent => ({ ts: event.ts, values: { amount: event.amount } });

/** Violations of one entity's features read from `state` at t, against the exact windows of `events` at t. */
function check(
  path: string,
  state: ViewState | undefined,
  events: readonly PrecisionEvent[],
  t: number,
  userId: number,
): string[] {
  const served = viewFeaturesAt(precisionFeatures, layout, state, t);
  return violations(
    path,
    record,
    `for user ${userId} at ${new Date(t).toISOString()}`,
    (name) => served.get(name)?.value,
    expectedWindows(events, t),
  );
}

const entitiesArbitrary = fc.array(entityArbitrary, { minLength: 1, maxLength: 6 });
/** How long after the state's time it is read: at once, minutes later (tiles leave windows), or days. */
const laterArbitrary = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 120 }).map((minutes) => minutes * MINUTE),
  fc.integer({ min: 1, max: 40 * 24 * 60 }).map((minutes) => minutes * MINUTE),
);

describe('online features from a state built through t, to the exact values', () => {
  it('are within the bound for amounts of every magnitude and spread, read at t and later', () => {
    fc.assert(
      fc.property(entitiesArbitrary, laterArbitrary, (entities, later) => {
        const events = eventsOf(entities);
        const found: string[] = [];
        entities.forEach((generated, index) => {
          const userId = index + 1;
          const [through = 0, ...reads] = readsOf(generated);
          // The state holds the events before `through`: all a read at or after it can see.
          const own = events.filter((event) => event.userId === userId && event.ts < through);
          const state = stateFromEvents(layout, own.map(toSource), through);
          for (const t of [through, through + later, ...reads.filter((read) => read >= through)]) {
            found.push(...check('online state (stateFromEvents -> viewFeaturesAt)', state, own, t, userId));
          }
        });
        assertNone(found);
      }),
      { numRuns: 300, seed: 1311 },
    );
    expect(windowFeatures.length).toBe(35);
  });
});

describe('streamed online features, folded in batches, to the exact values', () => {
  it('are within the bound whatever the order and batches of the events', () => {
    fc.assert(
      fc.property(
        entitiesArbitrary,
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        laterArbitrary,
        (entities, order, batches, later) => {
          const events = eventsOf(entities);
          const found: string[] = [];
          entities.forEach((generated, index) => {
            const userId = index + 1;
            const own = events.filter((event) => event.userId === userId);
            // A stream delivers in any order: shuffle by the drawn keys, then cut into `batches` parts.
            const shuffled = own
              .map((event, k) => ({ event, key: order[k % order.length] ?? 0 }))
              .sort((a, b) => a.key - b.key)
              .map(({ event }) => toSource(event));
            let state: ViewState | undefined;
            const size = Math.ceil(shuffled.length / batches);
            for (let start = 0; start < shuffled.length; start += size) {
              state = foldEvents(layout, state, shuffled.slice(start, start + size));
            }
            const through = state?.throughTs ?? 0;
            const reads = readsOf(generated).filter((read) => read >= through);
            for (const t of [through, through + later, ...reads]) {
              if (state)
                found.push(...check('streamed online (foldEvents -> viewFeaturesAt)', state, own, t, userId));
            }
          });
          assertNone(found);
        },
      ),
      { numRuns: 300, seed: 1312 },
    );
  });
});

describe('merged batch and stream parts of online state, to the exact values', () => {
  it('are within the bound for every split of the events between the parts', () => {
    fc.assert(
      fc.property(
        entitiesArbitrary,
        fc.integer({ min: 1, max: 3 }),
        laterArbitrary,
        (entities, streamBatches, later) => {
          const events = eventsOf(entities);
          const found: string[] = [];
          entities.forEach((generated, index) => {
            const userId = index + 1;
            const [batchEnd = 0, ...reads] = readsOf(generated);
            const own = events.filter((event) => event.userId === userId);
            // Materialization covers the events before its end; the stream folds the others.
            const batchEvents = own.filter((event) => event.ts < batchEnd);
            const streamEvents = own.filter((event) => event.ts >= batchEnd).map(toSource);
            const batch = stateFromEvents(layout, batchEvents.map(toSource), batchEnd);
            let stream: ViewState | undefined;
            const size = Math.max(1, Math.ceil(streamEvents.length / streamBatches));
            for (let start = 0; start < streamEvents.length; start += size) {
              stream = foldEvents(layout, stream, streamEvents.slice(start, start + size));
            }
            const merged = mergeStates(layout, batch, stream);
            const through = Math.max(merged?.throughTs ?? batchEnd, batchEnd);
            for (const t of [through, through + later, ...reads.filter((read) => read >= through)]) {
              found.push(
                ...check('batch + stream merge (mergeStates -> viewFeaturesAt)', merged, own, t, userId),
              );
            }
          });
          assertNone(found);
        },
      ),
      { numRuns: 300, seed: 1313 },
    );
  });
});
