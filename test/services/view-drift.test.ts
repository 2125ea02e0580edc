import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DriftMetrics, FEATURE_DRIFT_METRIC, viewDrift } from '../../lib/services/view-drift.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { FixedOnlineStore, fixtureItems, NOW, transactionsCatalog } from '../lambdas/serving-fixture.js';

/**
 * Drift of a view against online: the newest day's rows (here a VALUES relation standing in for the day's
 * Glue table) compared, feature by feature, with what the online store serves now for the same entities.
 */
const { catalog } = transactionsCatalog();
const view = catalog.views.get('merchant_transaction_stats');
let engine: DuckDBEngine;

beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

/** `rows` rows of merchant 7 with the given 1-day count, as a day partition would hold them. */
const dayOf = (counts: readonly number[]) =>
  `(SELECT * FROM (VALUES ${counts.map((count) => `(7, ${count}, 15.0, 1, 15.0)`).join(', ')}) AS t(merchant_id, amount_count_1d, amount_mean_1d, amount_count_7d, amount_mean_7d)) AS partition_rows`;

describe('viewDrift', () => {
  it('is 0 for a feature whose day values all equal what is online now, and large for one far from it', async () => {
    if (!view) throw new Error('no merchant view');
    // Online now, merchant 7 has two events in 7 days (one in the last day): count_7d 2, count_1d 1.
    const store = new FixedOnlineStore(fixtureItems(catalog));

    const drift = await viewDrift({
      engine,
      catalog,
      view,
      partitionRelation: dayOf([1, 1, 1, 1]),
      onlineStore: store,
      now: () => NOW,
    });

    expect(drift.get('amount_count_1d')?.psi).toBe(0);
    expect(drift.get('amount_count_1d')?.level).toBe('stable');
    // The day held count_7d 1 everywhere; online says 2: every value moved to a bin the day never had.
    expect(drift.get('amount_count_7d')?.psi).toBeGreaterThan(0.25);
    expect(drift.get('amount_count_7d')?.level).toBe('significant');
    expect([...drift.keys()].sort()).toEqual(view.features.map((feature) => feature.name).sort());
  });

  it('measures nothing for an empty day', async () => {
    if (!view) throw new Error('no merchant view');
    const drift = await viewDrift({
      engine,
      catalog,
      view,
      partitionRelation: `(SELECT * FROM ${dayOf([1])} WHERE false) AS empty_day`,
      onlineStore: new FixedOnlineStore([]),
    });
    expect(drift.size).toBe(0);
  });
});

describe('DriftMetrics', () => {
  it('writes one EMF line per feature: FeatureDriftPsi with the project, view and feature as dimensions', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      new DriftMetrics({ project: 'fraud' }).publish(
        'user_stats',
        new Map([
          ['amount_sum_7d', { psi: 0.31 } as never],
          ['amount_count_7d', { psi: null } as never],
        ]),
      );
    } finally {
      spy.mockRestore();
    }
    const emf = lines.map((line) => JSON.parse(line));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      service: 'fraud',
      view: 'user_stats',
      feature: 'amount_sum_7d',
      [FEATURE_DRIFT_METRIC]: 0.31,
      _aws: { CloudWatchMetrics: [{ Namespace: 'fstore', Dimensions: [['service', 'view', 'feature']] }] },
    });
  });
});
