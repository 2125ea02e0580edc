import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DIALECTS, teachDuckDBTrinoNames } from '../support/historical-harness.js';
import {
  assertNone,
  ErrorRecord,
  entityArbitrary,
  eventsOf,
  expectedWindows,
  readsOf,
  violations,
} from '../support/precision.js';
import { loadSource, offlineFeatures, sourceAmounts } from '../support/precision-duckdb.js';

/**
 * Issue 13, the offline paths: the point-in-time join of both dialects (Athena's with the Trino-name
 * macros), run on DuckDB over many entities at once, with amounts from 1e-6 to 1e12 of either sign and
 * spreads down to 1e-9 of the magnitude, against the exact rational reference within the bounds of
 * DESIGN.md section 3 (test/support/precision.ts says how errors are measured). The largest errors per
 * path and band are printed at the end.
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

const entitiesArbitrary = fc.array(entityArbitrary, { minLength: 1, maxLength: 30 });

describe('the source table of the offline precision tests', () => {
  it('holds every generated double exactly as generated', async () => {
    const samples = fc.sample(entitiesArbitrary, { numRuns: 5, seed: 1320 });
    const events = samples.flatMap((entities) => eventsOf(entities));
    await loadSource(engine, events);

    const amounts = await sourceAmounts(engine);

    expect(amounts).toEqual(events.map((event) => event.amount));
    expect(events.length).toBeGreaterThan(50);
  });
});

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))(
  'the %s point-in-time join, to the exact values',
  (name, dialect) => {
    it('is within the bound for amounts of every magnitude and spread, at window edges and ties', async () => {
      await fc.assert(
        fc.asyncProperty(entitiesArbitrary, async (entities) => {
          const events = eventsOf(entities);
          const points = entities.flatMap((generated, index) =>
            readsOf(generated).map((t) => ({ userId: index + 1, t })),
          );
          await loadSource(engine, events);

          const rows = await offlineFeatures(engine, dialect, points);

          expect(rows).toHaveLength(points.length);
          const found = points.flatMap((point, index) => {
            const own = events.filter((event) => event.userId === point.userId);
            return violations(
              `offline ${name} (historicalFeaturesSql on DuckDB)`,
              record,
              `for user ${point.userId} at ${new Date(point.t).toISOString()}`,
              (feature) => rows[index]?.[feature],
              expectedWindows(own, point.t),
            );
          });
          assertNone(found);
        }),
        { numRuns: 100, seed: dialect.name === 'duckdb' ? 1321 : 1322 },
      );
    });
  },
);
