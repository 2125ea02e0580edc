import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perEventFeaturesSql } from '../../lib/compute/feature-queries.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { closeValues } from '../support/close-values.js';
import { createTable } from '../support/duckdb-fixture.js';
import { DIALECTS, runHistorical, teachDuckDBTrinoNames } from '../support/historical-harness.js';
import { referenceFeatures } from '../support/reference-features.js';
import { features, view } from '../support/spend-view.js';

/**
 * Random small event sets, read at random times, through the compiled SQL of both dialects on DuckDB,
 * compared with the plain reference of DESIGN.md section 3. Times fall on whole minutes within a few
 * hours, so ties, hop boundaries and window edges happen often.
 */
const BASE = Date.UTC(2024, 0, 1, 6);
const SOURCE_COLUMNS = {
  user_id: 'BIGINT',
  ts: 'TIMESTAMP',
  created: 'TIMESTAMP',
  amount: 'DOUBLE',
  items: 'BIGINT',
};
const MINUTE = 60_000;

const eventArbitrary = fc.record({
  user_id: fc.integer({ min: 1, max: 3 }),
  minute: fc.integer({ min: 0, max: 240 }),
  createdOffset: fc.integer({ min: 0, max: 3 }),
  amount: fc.option(fc.integer({ min: -50, max: 200 }), { nil: null, freq: 6 }),
  items: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null, freq: 6 }),
});
const pointArbitrary = fc.record({
  user_id: fc.integer({ min: 1, max: 4 }),
  minute: fc.integer({ min: 0, max: 300 }),
  extraMs: fc.constantFrom(0, 0, 1, 59_999),
});

let engine: DuckDBEngine;
beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
  await teachDuckDBTrinoNames(engine);
});
afterAll(() => engine.close());

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s point-in-time join',
  (_, dialect) => {
    it('agrees with the reference on random events and read times', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(eventArbitrary, { maxLength: 25 }),
          fc.array(pointArbitrary, { minLength: 1, maxLength: 8 }),
          async (generated, points) => {
            const rows = generated.map((event) => ({
              user_id: event.user_id,
              ts: new Date(BASE + event.minute * MINUTE),
              created: new Date(BASE + (event.minute + event.createdOffset) * MINUTE),
              amount: event.amount,
              items: event.items,
            }));
            const spine = points.map((point) => ({
              keys: { user_id: point.user_id },
              at: new Date(BASE + point.minute * MINUTE + point.extraMs),
            }));

            const result = await runHistorical(engine, dialect, view, features, rows, spine);

            const referenceRows = rows.map((row) => ({
              ...row,
              ts: row.ts.getTime(),
              created: row.created.getTime(),
            }));
            spine.forEach((point, index) => {
              const expected = referenceFeatures(view, features, referenceRows, {
                keys: point.keys,
                t: point.at.getTime(),
              });
              for (const feature of features) {
                const actual = result[index]?.[feature.name];
                if (!closeValues(actual, expected[feature.name])) {
                  throw new Error(
                    `${feature.name} at ${point.at.toISOString()} for user ${point.keys.user_id}: SQL gave ${JSON.stringify(actual)}, reference ${JSON.stringify(expected[feature.name])}`,
                  );
                }
              }
            });
          },
        ),
        { numRuns: 60 },
      );
      expect(features.length).toBeGreaterThan(15);
    });

    it('gives each event in a range its features as of its own time, on random events', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(eventArbitrary, { maxLength: 25 }),
          fc.integer({ min: 0, max: 200 }),
          async (generated, startMinute) => {
            const rows = generated.map((event) => ({
              user_id: event.user_id,
              ts: new Date(BASE + event.minute * MINUTE),
              created: new Date(BASE + (event.minute + event.createdOffset) * MINUTE),
              amount: event.amount,
              items: event.items,
            }));
            const range = {
              start: new Date(BASE + startMinute * MINUTE),
              end: new Date(BASE + (startMinute + 60) * MINUTE),
            };
            await createTable(engine, 'source_rows', SOURCE_COLUMNS, rows);

            const result = await engine.query(
              perEventFeaturesSql({ view, features, sourceRelation: '"source_rows"' }, range, dialect),
            );

            const inRange = rows.filter((row) => row.ts >= range.start && row.ts < range.end);
            expect(result).toHaveLength(inRange.length);
            const referenceRows = rows.map((row) => ({
              ...row,
              ts: row.ts.getTime(),
              created: row.created.getTime(),
            }));
            for (const row of result) {
              const t = (row.event_timestamp as Date).getTime();
              const keys = { user_id: row.user_id as number };
              const expected = referenceFeatures(view, features, referenceRows, { keys, t });
              for (const feature of features) {
                if (!closeValues(row[feature.name], expected[feature.name])) {
                  throw new Error(
                    `${feature.name} for the event of user ${row.user_id} at ${new Date(t).toISOString()}: SQL gave ${JSON.stringify(row[feature.name])}, reference ${JSON.stringify(expected[feature.name])}`,
                  );
                }
              }
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  },
);
