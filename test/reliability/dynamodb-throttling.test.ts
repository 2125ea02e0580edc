import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import {
  CATEGORIES,
  generateTransactions,
  writeTransactionsCsv,
} from '../../examples/transactions/generate-transactions.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { DeliveredRecord } from '../../lib/services/delivered-records.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import { ingestEvents } from '../../lib/services/ingest-events.js';
import { materialize } from '../../lib/services/materialize.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { OnlineStoreReadError } from '../../lib/stores/online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { transactionRecords } from '../support/delivered-records.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import {
  startThrottlingProxy,
  type ThrottlingProxy,
  type ThrottlingProxyOptions,
} from '../support/throttling-dynamodb-proxy.js';

/**
 * DynamoDB throttling, injected by an HTTP proxy in front of dynalite: a share of the calls answered
 * `ProvisionedThroughputExceededException`, batch calls answered with part of their keys or items left
 * unprocessed. Materialization, stream ingestion and reads through the proxy must end exactly as the same
 * work without faults: no state lost or doubled, no NOT_FOUND for an entity that exists, and a clear
 * `OnlineStoreReadError` when the retries run out.
 */
const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const USERS = 400;
const T = new Date('2024-03-10T13:37:11.123Z');
const DAY = Date.parse('2024-05-01T00:00:00.000Z');

let dir: string;
let engine: DuckDBEngine;
let dynamo: DynamoDBFixture;
let cleanMaterialization: Awaited<ReturnType<typeof materialize>>;
const proxies: ThrottlingProxy[] = [];
const clients: DynamoDBClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-throttling-'));
  await writeTransactionsCsv(join(dir, 'data', 'transactions.csv'), { rows: 4_000, users: USERS, seed: 5 });
  engine = await DuckDBEngine.create({ threads: 2 });
  dynamo = await startDynamoDBFixture();
  // The reference state, materialized without faults, that the reads below are served from.
  await ensureOnlineTable(dynamo.client, 'clean');
  cleanMaterialization = await materializeInto(onlineStore(dynamo.client, 'clean'));
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  for (const proxy of proxies) await proxy.close();
  await engine?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A proxy in front of dynalite and a client sending through it: the one the application builds
 * (`createDynamoDBClient`, whose SDK makes up to 4 attempts at a DynamoDB call, backing off from 1 s after a
 * throttling error), or,
 * with `sdkRetries: false`, the same without the SDK's retries, so every throttled call reaches the store's
 * own retry loop (and a test with hundreds of calls does not wait on the SDK's backoff).
 */
async function throttled(options: Omit<ThrottlingProxyOptions, 'target'>, { sdkRetries = true } = {}) {
  const proxy = await startThrottlingProxy({ target: dynamo.server.endpoint, ...options });
  proxies.push(proxy);
  const client = sdkRetries
    ? createDynamoDBClient({ endpoint: proxy.endpoint })
    : new DynamoDBClient({
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
  clients.push(client);
  return { proxy, client };
}

function onlineStore(client: DynamoDBClient, tableName: string, options: { maxAttempts?: number } = {}) {
  return new DynamoDBOnlineStore({ client, tableName, baseDelayMs: 2, maxDelayMs: 20, ...options });
}

function materializeInto(store: DynamoDBOnlineStore) {
  return materialize({
    engine,
    offlineStore: new FileSystemObjectStore({ root: join(dir, 'offline') }),
    onlineStore: store,
    catalog,
    sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir),
    end: T,
  });
}

/** Every item of a table, read past dynalite's 1 MB pages, by `pk|sk`, without the random revision token. */
async function tableItems(tableName: string): Promise<Record<string, Record<string, AttributeValue>>> {
  const items: Record<string, Record<string, AttributeValue>> = {};
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.client.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }),
    );
    for (const { rev, ...item } of page.Items ?? []) {
      expect(rev?.S).toBeTruthy();
      items[`${item.pk?.S}|${item.sk?.S}`] = item;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

describe('DynamoDB throttling injected by a proxy', () => {
  it('materializes exactly the states of a run without faults', async () => {
    const { proxy, client } = await throttled({ share: 0.3, seed: 1 });
    await ensureOnlineTable(dynamo.client, 'materialized');

    const result = await materializeInto(onlineStore(client, 'materialized'));
    // Replayed through the proxy: the stored versions are read back under throttling, nothing is rewritten.
    const replay = await materializeInto(onlineStore(client, 'materialized'));

    expect(result.views).toEqual(cleanMaterialization.views);
    expect(result.views.every((view) => view.written === view.items && view.skipped === 0)).toBe(true);
    expect(replay.views.map((view) => view.written)).toEqual([0, 0, 0]);
    const faulted = await tableItems('materialized');
    expect(Object.keys(faulted).length).toBeGreaterThan(USERS);
    expect(faulted).toEqual(await tableItems('clean'));
    const { byOperation, unprocessedItems, unprocessedKeys } = proxy.stats();
    expect(byOperation.BatchWriteItem?.partial).toBeGreaterThan(0);
    expect(byOperation.BatchWriteItem?.throttled).toBeGreaterThan(0);
    expect(byOperation.BatchGetItem?.partial).toBeGreaterThan(0);
    expect(unprocessedItems).toBeGreaterThan(0);
    expect(unprocessedKeys).toBeGreaterThan(0);
  });

  it('ingests a stream into exactly the states of a run without faults', async () => {
    // About 800 calls, mostly conditional PutItems of the read-modify-write: the store retries them itself.
    const { proxy, client } = await throttled({ share: 0.3, seed: 2 }, { sdkRetries: false });
    const events = [
      ...generateTransactions({ rows: 600, users: 60, seed: 3, start: new Date(DAY), intervalMs: 5_000 }),
    ].map((t) => ({ ...t, ts: t.transaction_date.getTime() }));
    const records = transactionRecords(events);
    const run = async (tableName: string, storeClient: DynamoDBClient) => {
      await ensureOnlineTable(dynamo.client, tableName);
      const stores = {
        onlineStore: onlineStore(storeClient, tableName),
        offlineStore: new FileSystemObjectStore({ root: join(dir, `offline-${tableName}`) }),
      };
      let redeliveries = 0;
      // Batches of 100 in order, as the event source mapping delivers them; failed records come again.
      for (let start = 0; start < records.length; start += 100) {
        let batch: readonly DeliveredRecord[] = records.slice(start, start + 100);
        for (;;) {
          const result = await ingestEvents({
            catalog,
            ...stores,
            streamName: 'transactions',
            records: batch,
            now: () => new Date(DAY + 86_400_000),
          });
          expect(result.quarantined).toBe(0);
          if (result.failed.length === 0) break;
          redeliveries++;
          expect(redeliveries).toBeLessThan(10);
          const first = batch.findIndex((record) => result.failed.includes(record.sequenceNumber));
          batch = batch.slice(first);
        }
      }
      return redeliveries;
    };

    await run('ingested_clean', dynamo.client);
    // Redeliveries (records whose update ran out of attempts) are allowed; the final state must not differ.
    await run('ingested', client);

    const faulted = await tableItems('ingested');
    expect(Object.keys(faulted).length).toBeGreaterThan(60);
    expect(faulted).toEqual(await tableItems('ingested_clean'));
    const { byOperation } = proxy.stats();
    expect(byOperation.BatchGetItem?.partial).toBeGreaterThan(0);
    expect(byOperation.PutItem?.throttled).toBeGreaterThan(0);
  });

  describe('reads', () => {
    /** Existing users and merchants and some that were never seen, with every category and one unknown. */
    const rows = Array.from({ length: 400 }, (_, index) => ({
      user_id: (index % (USERS + 30)) + 1,
      merchant_id: (index % 60) + 1,
      category: [...CATEGORIES, 'travel'][index % 5] as string,
      amount: 10 + index,
    }));
    const read = (store: DynamoDBOnlineStore) =>
      getOnlineFeatures({
        catalog,
        store,
        now: () => T.getTime(),
        request: {
          features: [
            'user_transaction_stats:*',
            'merchant_transaction_stats:*',
            'category_transaction_stats:*',
            'transaction_amount_ratios:amount_to_30d_mean_ratio',
          ],
          entities: {
            user_id: rows.map((row) => row.user_id),
            merchant_id: rows.map((row) => row.merchant_id),
            category: rows.map((row) => row.category),
            amount: rows.map((row) => row.amount),
          },
          fullFeatureNames: true,
        },
      });

    it('answer what an unfaulted read answers: never NOT_FOUND for an entity that exists', async () => {
      const { proxy, client } = await throttled({ share: 0.3, seed: 4 });
      const expected = await read(onlineStore(dynamo.client, 'clean'));

      const answers = [];
      for (let round = 0; round < 3; round++) answers.push(await read(onlineStore(client, 'clean')));

      const statuses = expected.results.flatMap((column) => column.statuses);
      expect(statuses.filter((status) => status === 'NOT_FOUND').length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status === 'PRESENT').length).toBeGreaterThan(statuses.length / 2);
      for (const answer of answers) expect(answer).toEqual(expected);
      expect(proxy.stats().byOperation.BatchGetItem?.partial).toBeGreaterThan(0);
      expect(proxy.stats().byOperation.BatchGetItem?.throttled).toBeGreaterThan(0);
    });

    it('fail with OnlineStoreReadError, not NOT_FOUND, when keys stay unprocessed through every attempt', async () => {
      // Partial answers only: the SDK passes them on as successes, so the store's own loop is what runs out.
      const { proxy, client } = await throttled({ share: 0.9, seed: 6, kinds: ['partial'] });

      await expect(read(onlineStore(client, 'clean', { maxAttempts: 2 }))).rejects.toThrow(
        expect.objectContaining({
          name: 'OnlineStoreReadError',
          message: expect.stringMatching(/^\d+ of \d+ keys stayed unread after 2 attempts: .* is throttled/),
        }),
      );
      expect(proxy.stats().unprocessedKeys).toBeGreaterThan(0);
    });

    it('fail with OnlineStoreReadError when every call is throttled past the SDK and store retries', async () => {
      const { proxy, client } = await throttled({ share: 1, seed: 8, kinds: ['throttle'] });

      const error = await read(onlineStore(client, 'clean', { maxAttempts: 1 })).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(OnlineStoreReadError);
      expect((error as Error).message).toMatch(/keys stayed unread after 1 attempts/);
      const { calls, throttled: refused, forwarded } = proxy.stats();
      expect(forwarded).toBe(0);
      expect(refused).toBe(calls);
      // The store sent each batch once; the SDK made its own attempts at each before giving up.
      const sdkAttempts = await client.config.maxAttempts();
      expect(sdkAttempts).toBeGreaterThan(1);
      expect(calls % sdkAttempts).toBe(0);
      expect(calls / sdkAttempts).toBeGreaterThan(1);
    });
  });
});
