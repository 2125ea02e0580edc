import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../examples/transactions/features.js';
import { CATEGORIES, writeTransactionsCsv } from '../examples/transactions/generate-transactions.js';
import { collectDefinitions, validateFeatureRepo } from '../lib/index.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { getOnlineFeatures } from '../lib/services/get-online-features.js';
import { materialize } from '../lib/services/materialize.js';
import { type ServingCatalog, servingCatalog } from '../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { closeValues } from './support/close-values.js';
import { type DynamoDBFixture, startDynamoDBFixture } from './support/local-dynamodb.js';
import { offlineValuesAt } from './support/offline-values-at.js';

/**
 * Training-serving consistency for batch data: the transactions example is materialized into the online
 * store (dynalite) as of a time t, read back through getOnlineFeatures at t, and every feature of every
 * view (and the on-demand ratio) must equal the offline point-in-time join at t.
 */
const validated = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
const USERS = 30;
const MERCHANTS = 50;
let dir: string;
let engine: DuckDBEngine;
let dynamo: DynamoDBFixture;
let store: DynamoDBOnlineStore;
let catalog: ServingCatalog;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-consistency-'));
  await writeTransactionsCsv(join(dir, 'data', 'transactions.csv'), { rows: 4_000, users: USERS, seed: 11 });
  engine = await DuckDBEngine.create({ threads: 2 });
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  catalog = servingCatalog(repoFromRegistry(toRegistryObjects(validated)));
});
afterAll(async () => {
  await engine.close();
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

const sourceRelation = (view: { source: Parameters<typeof batchSourceOf>[0] }) =>
  duckdbSourceRelation(batchSourceOf(view.source), dir);

function materializeAt(end: Date, start?: Date) {
  return materialize({
    engine,
    offlineStore: new FileSystemObjectStore({ root: join(dir, 'offline') }),
    onlineStore: store,
    catalog,
    sourceRelation,
    end,
    ...(start ? { start } : {}),
  });
}

/** Every entity row: each user, with a merchant and a category cycling, and an amount for the on-demand ratio. */
function entityRows() {
  return Array.from({ length: MERCHANTS }, (_, index) => ({
    user_id: (index % USERS) + 1,
    merchant_id: index + 1,
    category: CATEGORIES[index % CATEGORIES.length] as string,
    amount: 10 + index,
  }));
}

const allFeatures = [
  'user_transaction_stats:*',
  'merchant_transaction_stats:*',
  'category_transaction_stats:*',
  'transaction_amount_ratios:amount_to_30d_mean_ratio',
];

describe('materialized online features', () => {
  it('equal the offline point-in-time values at the same time, for every feature of the example', async () => {
    const t = new Date('2024-03-10T13:37:11.123Z');
    await materializeAt(t);
    const rows = entityRows();

    const online = await getOnlineFeatures({
      catalog,
      store,
      now: () => t.getTime(),
      request: {
        features: allFeatures,
        entities: {
          user_id: rows.map((r) => r.user_id),
          merchant_id: rows.map((r) => r.merchant_id),
          category: rows.map((r) => r.category),
          amount: rows.map((r) => r.amount),
        },
        fullFeatureNames: true,
      },
    });
    const offline = await offlineValuesAt({
      engine,
      validated,
      sourceRelation,
      rows,
      features: allFeatures,
      t,
      dir,
    });

    const names = online.metadata.feature_names.slice(3);
    expect(names.length).toBeGreaterThan(25);
    let compared = 0;
    names.forEach((name, index) => {
      const column = online.results[index + 3];
      rows.forEach((_, row) => {
        const expected = offline[row]?.[name];
        const actual = column?.values[row];
        if (!closeValues(actual, expected)) {
          throw new Error(
            `${name} for row ${row}: online ${JSON.stringify(actual)}, offline ${JSON.stringify(expected)}`,
          );
        }
        const status = column?.statuses[row];
        if (status !== 'NOT_FOUND') expect(status).toBe(expected === null ? 'NULL_VALUE' : 'PRESENT');
        compared++;
      });
    });
    expect(compared).toBe(names.length * rows.length);
  });

  it('changes nothing when the same materialization runs again', async () => {
    const t = new Date('2024-03-10T13:37:11.123Z');
    const first = await materializeAt(t);

    const again = await materializeAt(t);

    expect(first.views.every((view) => view.items > 0)).toBe(true);
    expect(again.views.map((view) => view.written)).toEqual([0, 0, 0]);
    expect(again.views.map((view) => view.skipped)).toEqual(first.views.map((view) => view.items));
  });

  it('never lets an older backfill overwrite newer values', async () => {
    const newer = new Date('2024-03-20T00:00:00.000Z');
    await materializeAt(newer);
    const read = () =>
      getOnlineFeatures({
        catalog,
        store,
        now: () => newer.getTime(),
        request: { features: ['user_transaction_stats:amount_sum_30d'], entities: { user_id: [1, 2, 3] } },
      });
    const before = await read();

    const backfill = await materializeAt(new Date('2024-02-01T00:00:00.000Z'));

    expect(backfill.views.every((view) => view.written === 0 && view.skipped === view.items)).toBe(true);
    expect(await read()).toEqual(before);
  });
});
