import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { checkStreamRecord } from '../../lib/services/delivered-records.js';
import { getHistoricalFeatures } from '../../lib/services/get-historical-features.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import { EPOCH_MS_FORMS, NOT_TIMES, TIME_FIX, TIME_FORMS } from '../support/time-forms.js';

const validated = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
const catalog = servingCatalog(repoFromRegistry(toRegistryObjects(validated)));
const source = batchSourceOf(transactions.liveTransactions);
let dynamo: DynamoDBFixture;
let store: DynamoDBOnlineStore;
let engine: DuckDBEngine;
let dir: string;
let offlineRoot: string;

/** The reported row: midnight at +02:00, which is 22:00 UTC the day before. */
const OFFSET_TEXT = '2024-02-03T00:00:00+02:00';
const TRUE_INSTANT = Date.UTC(2024, 1, 2, 22);

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  engine = await DuckDBEngine.create({ threads: 2 });
  dir = await mkdtemp(join(tmpdir(), 'fstore-time-offsets-'));
  offlineRoot = join(dir, '.fstore', 'offline');
  await mkdir(join(dir, 'data'));
  await writeFile(
    join(dir, 'data', 'transactions.csv'),
    `user_id,transaction_date,amount,category,merchant_id\n7,${OFFSET_TEXT},10,food,1\n`,
  );
});
afterAll(async () => {
  await engine.close();
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

/** A training set's features for `user_id` at each spine time (a CSV spine, offsets and all). */
async function training(userId: number, times: readonly string[]): Promise<Record<string, unknown>[]> {
  const spine = join(dir, `spine-${userId}.csv`);
  await writeFile(spine, `user_id,event_timestamp\n${times.map((time) => `${userId},${time}`).join('\n')}\n`);
  const out = join(dir, `train-${userId}.parquet`);
  await getHistoricalFeatures({
    engine,
    repo: validated,
    sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir, offlineRoot),
    spine,
    features: [
      'user_transaction_stats:amount_count_7d',
      'user_transaction_stats:days_since_last_transaction',
    ],
    out,
  });
  return engine.query(
    `SELECT epoch_ms("event_timestamp") AS "at", "amount_count_7d", "days_since_last_transaction" FROM read_parquet(${stringLiteral(out)})`,
  );
}

describe('a time with an offset, end to end', () => {
  it('is the instant it names in a CSV source: a training row just after it sees it, one just before does not', async () => {
    const rows = await training(7, [
      '2024-02-02T21:59:59.999Z',
      '2024-02-02T22:00:00Z',
      '2024-02-02T22:00:00.001Z',
      '2024-02-02T23:00:00Z',
      '2024-02-03T00:00:00.001+02:00',
      '2024-02-02T23:59:59.999+02:00',
    ]);

    expect(rows).toEqual([
      { at: TRUE_INSTANT - 1, amount_count_7d: 0, days_since_last_transaction: null },
      // The event at exactly t is not included (DESIGN.md section 3).
      { at: TRUE_INSTANT, amount_count_7d: 0, days_since_last_transaction: null },
      { at: TRUE_INSTANT + 1, amount_count_7d: 1, days_since_last_transaction: 1 / 86_400_000 },
      { at: TRUE_INSTANT + 3_600_000, amount_count_7d: 1, days_since_last_transaction: 1 / 24 },
      { at: TRUE_INSTANT + 1, amount_count_7d: 1, days_since_last_transaction: 1 / 86_400_000 },
      { at: TRUE_INSTANT - 1, amount_count_7d: 0, days_since_last_transaction: null },
    ]);
  });

  it('lands a push of the same text online at the same instant, so online and offline give the same values', async () => {
    await pushEvents({
      catalog,
      onlineStore: store,
      request: {
        pushSourceName: 'transactions',
        df: {
          user_id: [8],
          transaction_date: [OFFSET_TEXT],
          amount: [10],
          category: ['food'],
          merchant_id: [1],
        },
        to: 'online',
      },
    });
    const read = (now: number) =>
      getOnlineFeatures({
        catalog,
        store,
        now: () => now,
        request: {
          features: [
            'user_transaction_stats:amount_count_7d',
            'user_transaction_stats:days_since_last_transaction',
          ],
          entities: { user_id: [8] },
        },
      });

    const online = await read(Date.UTC(2024, 1, 2, 23));
    const [offline] = await training(7, ['2024-02-02T23:00:00Z']);

    expect(online.results[1]?.values).toEqual([1]);
    expect(online.results[2]?.values).toEqual([1 / 24]);
    expect([online.results[1]?.values[0], online.results[2]?.values[0]]).toEqual([
      offline?.amount_count_7d,
      offline?.days_since_last_transaction,
    ]);
  });

  it('lands a push of the same text offline at the same instant', async () => {
    await pushEvents({
      catalog,
      onlineStore: store,
      offlineStore: new FileSystemObjectStore({ root: offlineRoot }),
      request: {
        pushSourceName: 'transactions',
        df: {
          user_id: [9],
          transaction_date: [OFFSET_TEXT],
          amount: [10],
          category: ['food'],
          merchant_id: [1],
        },
        to: 'offline',
      },
    });

    const rows = await training(9, ['2024-02-02T21:59:59.999Z', '2024-02-02T22:00:00.001Z']);

    expect(rows.map((row) => row.amount_count_7d)).toEqual([0, 1]);
  });
});

describe('a pushed time', () => {
  it('lands every form of the time table and epoch milliseconds at the instants they name', async () => {
    const times = [...TIME_FORMS.map((form) => form.text), ...EPOCH_MS_FORMS.map((form) => form.value)];
    const expected = [...TIME_FORMS.map((form) => form.ms), ...EPOCH_MS_FORMS.map((form) => form.ms)];
    const root = join(dir, 'push-forms');
    await pushEvents({
      catalog,
      onlineStore: store,
      offlineStore: new FileSystemObjectStore({ root }),
      request: {
        pushSourceName: 'transactions',
        df: {
          user_id: times.map(() => 10),
          transaction_date: times,
          amount: times.map(() => 1),
          category: times.map(() => 'food'),
          merchant_id: times.map((_, index) => index),
        },
        to: 'offline',
      },
    });

    const rows = await engine.query(
      `SELECT "merchant_id", epoch_ms("transaction_date") AS "ms" FROM ${duckdbSourceRelation(source, dir, root)} WHERE "user_id" = 10 ORDER BY "merchant_id"`,
    );

    expect(rows.map((row) => row.ms)).toEqual(expected);
  });

  it.each(NOT_TIMES)('is refused when written as $form, naming the field and the fix', async ({ text }) => {
    const push = pushEvents({
      catalog,
      onlineStore: store,
      request: {
        pushSourceName: 'transactions',
        df: { user_id: [11], transaction_date: [text], amount: [1], category: ['food'], merchant_id: [1] },
        to: 'online',
      },
    });

    await expect(push).rejects.toThrow(
      `df.transaction_date[0] is ${JSON.stringify(text)}; column "transaction_date" is timestamp, so give ${TIME_FIX}, or epoch milliseconds or null`,
    );
  });
});

describe('a streamed time', () => {
  const record = (transactionDate: unknown, arrivalMs: number) => ({
    data: new TextEncoder().encode(
      JSON.stringify({
        user_id: 12,
        merchant_id: 1,
        amount: 1,
        category: 'food',
        transaction_date: transactionDate,
      }),
    ),
    partitionKey: '12',
    sequenceNumber: '1',
    shardId: 'shardId-000000000000',
    arrivalMs,
  });

  it.each(TIME_FORMS)('is read as the instant it names when written $form ($text)', ({ text, ms }) => {
    const checked = checkStreamRecord(transactions.liveTransactions, record(text, ms + 60_000), ['user_id']);

    expect('ts' in checked ? checked.ts : checked.reason).toBe(ms);
  });

  it.each(EPOCH_MS_FORMS)('is read as that instant when given as $form', ({ value, ms }) => {
    const checked = checkStreamRecord(transactions.liveTransactions, record(value, ms + 60_000), ['user_id']);

    expect('ts' in checked ? checked.ts : checked.reason).toBe(ms);
  });

  it.each(NOT_TIMES)('is refused when written as $form, naming the field and the fix', ({ text }) => {
    const checked = checkStreamRecord(transactions.liveTransactions, record(text, Date.UTC(2024, 1, 3)), [
      'user_id',
    ]);

    expect('reason' in checked ? checked.reason : checked.ts).toBe(
      `schema violation: field "transaction_date" is ${JSON.stringify(text)}; source "live_transactions" declares it timestamp, so send ${TIME_FIX}, or epoch milliseconds or null`,
    );
  });
});
