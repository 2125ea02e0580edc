import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
let dynamo: DynamoDBFixture;
let store: DynamoDBOnlineStore;
let dir: string;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  dir = await mkdtemp(join(tmpdir(), 'fstore-push-'));
});
afterAll(async () => {
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

const df = {
  user_id: [501, 501, 502],
  transaction_date: ['2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z'],
  amount: [10, 30, 7.5],
  category: ['food', 'food', 'transport'],
  merchant_id: [1, 2, 1],
};

describe('pushEvents', () => {
  it('folds pushed rows into every online view of the source, readable at once', async () => {
    const result = await pushEvents({
      catalog,
      onlineStore: store,
      request: { pushSourceName: 'transactions', df, to: 'online' },
    });

    expect(result).toEqual({ rows: 3, onlineItems: 6, offlineRows: 0 });
    const online = await getOnlineFeatures({
      catalog,
      store,
      now: () => Date.parse('2024-05-02T00:00:00.000Z'),
      request: {
        features: ['user_transaction_stats:amount_sum_7d', 'user_transaction_stats:last_3_amounts'],
        entities: { user_id: [501, 502] },
      },
    });
    expect(online.results[1]?.values).toEqual([40, 7.5]);
    expect(online.results[2]?.values).toEqual([[30, 10], [7.5]]);
    expect(online.results[1]?.statuses).toEqual(['PRESENT', 'PRESENT']);
  });

  it('lands offline pushes as Parquet in the raw area, one file per day, with the rows as sent', async () => {
    const offlineStore = new FileSystemObjectStore({ root: join(dir, 'offline') });

    const result = await pushEvents({
      catalog,
      onlineStore: store,
      offlineStore,
      request: { pushSourceName: 'transactions', df, to: 'offline' },
    });

    expect(result).toEqual({ rows: 3, onlineItems: 0, offlineRows: 3 });
    const files = await offlineStore.list('raw/transactions/dt=2024-05-01/');
    expect(files).toHaveLength(1);
    const engine = await DuckDBEngine.create({ threads: 1 });
    try {
      const rows = await engine.query(
        `SELECT user_id, transaction_date, amount, category, merchant_id FROM read_parquet(${stringLiteral(join(dir, 'offline', files[0] ?? ''))}) ORDER BY transaction_date`,
      );
      expect(
        rows.map((row) => [row.user_id, (row.transaction_date as Date).toISOString(), row.amount]),
      ).toEqual([
        [501, '2024-05-01T10:00:00.000Z', 10],
        [501, '2024-05-01T11:00:00.000Z', 30],
        [502, '2024-05-01T12:00:00.000Z', 7.5],
      ]);
    } finally {
      await engine.close();
    }
  });

  it.each([
    [{ pushSourceName: 'transaction', df }, 'there is no source "transaction"; did you mean "transactions"?'],
    [
      { pushSourceName: 'transactions', df: { ...df, amount: [1, 'x', 3] } },
      'df.amount[1] is "x"; column "amount" is float64, so give a number or null',
    ],
    [
      { pushSourceName: 'transactions', df: { ...df, colour: [1, 2, 3] } },
      'df has columns source "transactions" does not: colour; its columns are user_id, transaction_date, amount, category, merchant_id',
    ],
    [
      { featureView: 'user_transaction_stat', df },
      'there is no feature view "user_transaction_stat"; did you mean "user_transaction_stats"?',
    ],
  ])(
    'refuses a bad push with one message naming the fix and stores nothing (%#)',
    async (request, message) => {
      const before = await store.read([
        {
          entityKey: 'user_id=i:501',
          view: 'user_transaction_stats',
          version: catalog.views.get('user_transaction_stats')?.version ?? '',
        },
      ]);

      await expect(pushEvents({ catalog, onlineStore: store, request })).rejects.toMatchObject({
        name: 'OnlineRequestError',
        message,
      });

      expect(
        await store.read([
          {
            entityKey: 'user_id=i:501',
            view: 'user_transaction_stats',
            version: catalog.views.get('user_transaction_stats')?.version ?? '',
          },
        ]),
      ).toEqual(before);
    },
  );
});
