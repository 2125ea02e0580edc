import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { writeTransactionsCsv } from '../../examples/transactions/generate-transactions.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import {
  getHistoricalFeatures,
  type HistoricalFeaturesOptions,
  SpineError,
  UnknownFeatureError,
} from '../../lib/services/get-historical-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';

const repo = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
let dir: string;
let engine: DuckDBEngine;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-historical-'));
  engine = await DuckDBEngine.create({ threads: 2 });
  await writeTransactionsCsv(join(dir, 'data', 'transactions.csv'), { rows: 2_000, users: 20, seed: 7 });
});
afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function options(overrides: Partial<HistoricalFeaturesOptions>): HistoricalFeaturesOptions {
  return {
    engine,
    repo,
    sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir),
    out: join(dir, 'train.parquet'),
    features: ['user_transaction_stats:amount_sum_7d'],
    ...overrides,
  } as HistoricalFeaturesOptions;
}

const at = (iso: string) => new Date(iso);

describe('getHistoricalFeatures', () => {
  it('keeps every spine row and column, in input order, and adds the features', async () => {
    const spine = [
      { user_id: 5, event_timestamp: at('2024-02-01T00:00:00Z'), label: 1 },
      { user_id: 3, event_timestamp: at('2024-01-15T00:00:00Z'), label: 0 },
      { user_id: 5, event_timestamp: at('2024-02-01T00:00:00Z'), label: 0 },
      { user_id: 999, event_timestamp: at('2024-02-01T00:00:00Z'), label: 1 },
    ];

    const result = await getHistoricalFeatures(
      options({
        spine,
        features: ['user_transaction_stats:amount_sum_7d', 'user_transaction_stats:last_3_amounts'],
      }),
    );

    expect(result.rows).toBe(4);
    expect(result.columns).toEqual([
      'user_id',
      'event_timestamp',
      'label',
      'amount_sum_7d',
      'last_3_amounts',
    ]);
    expect(result.preview.map((row) => [row.user_id, row.label])).toEqual([
      [5, 1],
      [3, 0],
      [5, 0],
      [999, 1],
    ]);
    expect(result.preview[0]?.amount_sum_7d).toEqual(result.preview[2]?.amount_sum_7d);
    expect(result.preview[3]).toMatchObject({ amount_sum_7d: 0, last_3_amounts: [] });
  });

  it('names features view__feature when asked, and serves a feature service with its on-demand feature', async () => {
    const spine = [
      {
        user_id: 4,
        merchant_id: 7,
        category: 'food',
        event_timestamp: at('2024-02-01T00:00:00Z'),
        amount: 250,
      },
    ];

    const result = await getHistoricalFeatures(
      options({ spine, features: undefined, service: 'fraud_model_v1', fullFeatureNames: true }),
    );

    expect(result.columns).toContain('user_transaction_stats__amount_mean_30d');
    expect(result.columns).toContain('merchant_transaction_stats__amount_count_1d');
    expect(result.columns).toContain('transaction_amount_ratios__amount_to_30d_mean_ratio');
    const row = result.preview[0] ?? {};
    expect(row.transaction_amount_ratios__amount_to_30d_mean_ratio).toBeCloseTo(
      250 / (row.user_transaction_stats__amount_mean_30d as number),
      9,
    );
  });

  it('reads a CSV spine, finding its only timestamp column', async () => {
    const path = join(dir, 'spine.csv');
    await writeFile(path, 'user_id,when,label\n2,2024-03-01T00:00:00Z,1\n7,2024-03-02T00:00:00Z,0\n');

    const result = await getHistoricalFeatures(options({ spine: path }));

    expect(result.rows).toBe(2);
    expect(result.columns).toEqual(['user_id', 'when', 'label', 'amount_sum_7d']);
  });

  it('binds a hostile key as a value: it matches nothing and changes nothing for the other rows', async () => {
    const spine = [
      { category: "food' OR '1'='1", event_timestamp: at('2024-02-01T00:00:00Z') },
      { category: 'food', event_timestamp: at('2024-02-01T00:00:00Z') },
    ];

    const result = await getHistoricalFeatures(
      options({ spine, features: ['category_transaction_stats:amount_count_7d'] }),
    );

    expect(result.preview.map((row) => row.category)).toEqual(["food' OR '1'='1", 'food']);
    expect(result.preview[0]?.amount_count_7d).toBe(0);
    expect(result.preview[1]?.amount_count_7d).toBeGreaterThan(0);
  });

  it.each([
    [{ spine: '/nonexistent/spine.csv' }, SpineError, 'spine file /nonexistent/spine.csv does not exist'],
    [
      { spine: [{ user_id: 1, label: 0 }] },
      SpineError,
      'the spine has no timestamp column; add an event_timestamp column or name one with --timestamp-column (columns: user_id, label)',
    ],
    [
      { spine: [{ customer: 1, event_timestamp: at('2024-02-01T00:00:00Z') }] },
      SpineError,
      'the spine has no join key column "user_id" (entity "user", needed by view "user_transaction_stats"); its columns are customer, event_timestamp',
    ],
    [
      { features: ['user_transaction_stats:amount_sum_8d'] },
      UnknownFeatureError,
      'unknown features: user_transaction_stats:amount_sum_8d (did you mean user_transaction_stats:amount_sum_7d?)',
    ],
    [
      { features: undefined, service: 'fraud_model_v2' },
      UnknownFeatureError,
      'there is no feature service "fraud_model_v2"; did you mean "fraud_model_v1"?',
    ],
  ])('rejects bad input %#', async (overrides, type, message) => {
    const spine = [{ user_id: 1, event_timestamp: at('2024-02-01T00:00:00Z') }];

    const error = await getHistoricalFeatures(options({ spine, ...overrides })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
  });

  it('says which request field an on-demand feature is missing', async () => {
    const spine = [{ user_id: 1, event_timestamp: at('2024-02-01T00:00:00Z') }];

    await expect(
      getHistoricalFeatures(
        options({ spine, features: ['transaction_amount_ratios:amount_to_30d_mean_ratio'] }),
      ),
    ).rejects.toThrow(
      'on-demand feature transaction_amount_ratios:amount_to_30d_mean_ratio needs request field "amount", which the spine lacks; add a "amount" column to the spine',
    );
  });
});
