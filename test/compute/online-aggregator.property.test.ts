import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { viewFeaturesAt } from '../../lib/compute/online-aggregator.js';
import { foldEvents, mergeStates, type SourceEvent, stateFromEvents } from '../../lib/compute/online-fold.js';
import { onlineStateLayout } from '../../lib/compute/online-state.js';
import { closeValues } from '../support/close-values.js';
import { referenceFeatures } from '../support/reference-features.js';
import { features, view } from '../support/spend-view.js';

/**
 * The online path (events -> state -> features at t) against the plain reference of DESIGN.md section 3.
 * Times on whole minutes within a few hours, so ties, hop edges and window edges are common.
 */
const layout = onlineStateLayout(view, features);
const BASE = Date.UTC(2024, 0, 1, 6);
const MINUTE = 60_000;

const eventArbitrary = fc.record({
  minute: fc.integer({ min: 0, max: 240 }),
  createdOffset: fc.integer({ min: 0, max: 3 }),
  amount: fc.option(fc.integer({ min: -50, max: 200 }), { nil: null, freq: 6 }),
  items: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null, freq: 6 }),
});

function toEvents(
  generated: readonly {
    minute: number;
    createdOffset: number;
    amount: number | null;
    items: number | null;
  }[],
) {
  return generated.map((event) => ({
    ts: BASE + event.minute * MINUTE,
    created: BASE + (event.minute + event.createdOffset) * MINUTE,
    values: { amount: event.amount, items: event.items },
  }));
}

function referenceRows(events: readonly SourceEvent[]) {
  return events.map((event) => ({
    user_id: 1,
    ts: event.ts,
    created: event.created ?? null,
    ...event.values,
  }));
}

function assertAgrees(events: readonly SourceEvent[], throughTs: number, t: number): void {
  const state = stateFromEvents(layout, events, throughTs);
  const served = viewFeaturesAt(features, layout, state, t);
  const expected = referenceFeatures(view, features, referenceRows(events), { keys: { user_id: 1 }, t });
  for (const feature of features) {
    const actual = served.get(feature.name);
    if (!closeValues(actual?.value ?? null, expected[feature.name] ?? null)) {
      throw new Error(
        `${feature.name} through ${new Date(throughTs).toISOString()} read at ${new Date(t).toISOString()}: online gave ${JSON.stringify(actual?.value)}, reference ${JSON.stringify(expected[feature.name])}`,
      );
    }
    const status = actual?.status;
    if (!state) expect(status).toBe('NOT_FOUND');
    else if (expected[feature.name] === null || expected[feature.name] === undefined) {
      expect(['NULL_VALUE', 'OUTSIDE_MAX_AGE']).toContain(status);
    } else expect(status).toBe('PRESENT');
  }
}

describe('online features from state', () => {
  it('equal the reference when read at the time the state was built through', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { maxLength: 25 }),
        fc.integer({ min: 0, max: 300 }),
        (generated, minute) => {
          const events = toEvents(generated);
          const t = BASE + minute * MINUTE;
          // The reference sees every event; the state only those it was built from, which are all that count at t.
          assertAgrees(events, t, t);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equal the reference when read later, with no events in between', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { maxLength: 25 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 24 * 60 * MINUTE }),
        (generated, minute, laterMs) => {
          const throughTs = BASE + minute * MINUTE + 1;
          // Events after throughTs are not in the state and would not be in a live store yet either.
          const events = toEvents(generated).filter((event) => event.ts < throughTs);
          assertAgrees(events, throughTs, throughTs + laterMs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('serves a field older than the TTL as OUTSIDE_MAX_AGE with a null value, and its windows still', () => {
    const events = [{ ts: BASE, values: { amount: 10, items: 3 } }];
    const state = stateFromEvents(layout, events, BASE + MINUTE);
    const at = (t: number) => viewFeaturesAt(features, layout, state, t);

    expect(at(BASE + 45 * MINUTE).get('items')).toEqual({ value: 3, status: 'PRESENT', eventTs: BASE });
    expect(at(BASE + 45 * MINUTE + 1).get('items')).toEqual({
      value: null,
      status: 'OUTSIDE_MAX_AGE',
      eventTs: BASE,
    });
    expect(at(BASE + 45 * MINUTE + 1).get('amount_sum_1h')?.value).toBe(10);
  });

  it('answers NOT_FOUND with no event time for an entity it has no state for, with the values of no events', () => {
    const served = viewFeaturesAt(features, layout, undefined, BASE);

    expect(
      [...served.values()].every((value) => value.status === 'NOT_FOUND' && value.eventTs === undefined),
    ).toBe(true);
    expect(served.get('amount_count_15m')?.value).toBe(0);
    expect(served.get('amount_sum_1h')?.value).toBe(0);
    expect(served.get('amount_last_3')?.value).toEqual([]);
    expect(served.get('amount_mean_15m')?.value).toBeNull();
    expect(served.get('items')?.value).toBeNull();
    expect(served.size).toBe(features.length);
  });

  it('keeps only the tiles a read at or after the state time can reach', () => {
    const events = [
      { ts: BASE, values: { amount: 1, items: 1 } },
      { ts: BASE + 20 * 60 * MINUTE, values: { amount: 2, items: 2 } },
    ];
    const state = stateFromEvents(layout, events, BASE + 20 * 60 * MINUTE + 1);
    // 13h is the longest window at the 1h hop: the event 20 hours earlier is in no tile, but still first.
    expect(Object.keys(state?.tiles[String(60 * MINUTE)] ?? {})).toEqual([
      String((BASE + 20 * 60 * MINUTE) / (60 * MINUTE)),
    ]);
    expect(state?.firstTs).toBe(BASE);
  });
});

describe('folding events into a state', () => {
  it('gives the state built from all events at once, whatever the batches', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 0, max: 25 }),
        (generated, cut) => {
          // Created times are left out: a state keeps no created time for its latest row.
          const events = toEvents(generated).map(({ ts, values }) => ({ ts, values }));
          const throughTs = Math.max(...events.map((event) => event.ts)) + 1;

          const folded = foldEvents(
            layout,
            foldEvents(layout, undefined, events.slice(0, cut)),
            events.slice(cut),
          );

          expect(folded).toEqual(stateFromEvents(layout, events, throughTs));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('merging the batch and stream parts of a state', () => {
  it('gives the features of all events together, read at or after both parts', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { minLength: 0, maxLength: 20 }),
        fc.array(eventArbitrary, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 600 }),
        (batchGenerated, streamGenerated, batchEndMinute, readAfterMinutes) => {
          // The batch part is as of its end; the stream part folds the rest, whenever they happened.
          const batchEnd = BASE + batchEndMinute * MINUTE;
          const batchEvents = toEvents(batchGenerated)
            .filter((event) => event.ts < batchEnd)
            .map(({ ts, values }) => ({ ts, values }));
          const streamEvents = toEvents(streamGenerated).map(({ ts, values }) => ({ ts, values }));
          const batch = stateFromEvents(layout, batchEvents, batchEnd);
          const stream = foldEvents(layout, undefined, streamEvents);
          const merged = mergeStates(layout, batch, stream);
          const t = Math.max(merged?.throughTs ?? 0, batchEnd) + readAfterMinutes * MINUTE;

          const all = [...batchEvents, ...streamEvents];
          const served = viewFeaturesAt(features, layout, merged, t);
          const expected = referenceFeatures(view, features, referenceRows(all), { keys: { user_id: 1 }, t });
          for (const feature of features) {
            if (feature.origin.kind === 'field') continue; // ties between parts have no created time to break them
            expect(closeValues(served.get(feature.name)?.value ?? null, expected[feature.name] ?? null)).toBe(
              true,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is either part alone when the other is missing', () => {
    const state = stateFromEvents(layout, [{ ts: BASE, values: { amount: 1, items: 2 } }], BASE + 1);
    expect(mergeStates(layout, state, undefined)).toBe(state);
    expect(mergeStates(layout, undefined, state)).toBe(state);
    expect(mergeStates(layout, undefined, undefined)).toBeUndefined();
  });
});
