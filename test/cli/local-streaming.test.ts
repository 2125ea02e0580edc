import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { startLocalStreaming } from '../../lib/cli/local-streaming.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { IngestResult } from '../../lib/services/ingest-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { KinesisEventStream } from '../../lib/stores/event-stream.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { type OnlineStore, OnlineStoreWriteError } from '../../lib/stores/online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import { withRoundedMoments } from '../support/rounded-moments.js';

/**
 * The streaming path end to end on one machine: records put on kinesalite, the pollers (like Lambda's event
 * source mapping), the ingest handler, dynalite and the raw area, with faults injected in the online store.
 */
const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const silent = { info: () => {}, warn: () => {}, error: () => {} };
let dynamo: DynamoDBFixture;
let dir: string;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  dir = await mkdtemp(join(tmpdir(), 'fstore-local-streaming-'));
});
afterAll(async () => {
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

/** 300 events of 40 users and 9 merchants over the last 30 minutes, keyed by user. */
function events(now: number) {
  return Array.from({ length: 300 }, (_, index) => ({
    partitionKey: String(1 + (index % 40)),
    data: new TextEncoder().encode(
      JSON.stringify({
        user_id: 1 + (index % 40),
        merchant_id: 1 + (index % 9),
        amount: (index % 17) + 0.25,
        category: 'food',
        transaction_date: new Date(now - 1_800_000 + index * 5_000).toISOString(),
      }),
    ),
  }));
}

/** Streams the events into a fresh table through `wrap(store)`; returns the table's items and the results. */
async function streamInto(wrap: (store: OnlineStore) => OnlineStore, now: number) {
  tables += 1;
  const tableName = `online_${tables}`;
  await ensureOnlineTable(dynamo.client, tableName);
  const results: IngestResult[] = [];
  const offlineStore = new FileSystemObjectStore({ root: join(dir, `offline_${tables}`) });
  const streaming = await startLocalStreaming({
    loadCatalog: async () => ({ catalog }),
    onlineStore: wrap(new DynamoDBOnlineStore({ client: dynamo.client, tableName })),
    offlineStore,
    shards: 2,
    batchSize: 25,
    idlePollMs: 10,
    onResult: (result) => results.push(result),
    logger: silent,
  });
  try {
    await new KinesisEventStream({ client: streaming.client, streamName: 'transactions' }).put(events(now));
    await streaming.caughtUp();
  } finally {
    await streaming.close();
  }
  const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  const states = Object.fromEntries(
    Items.map((item) => {
      const state = JSON.parse(item.state?.S ?? 'null');
      return [`${item.pk?.S}|${item.sk?.S}`, { ...state, throughTs: undefined }];
    }),
  );
  return { states, results, failures: await offlineStore.list('stream-failures/') };
}

describe('local streaming', () => {
  it('applies every record once, even when online writes fail and the pollers redeliver from the failed record', async () => {
    const now = Date.now();
    const clean = await streamInto((store) => store, now);
    let calls = 0;
    const faulty = await streamInto(
      (store) => ({
        read: (keys) => store.read(keys),
        write: (items) => store.write(items),
        // Three updates fail after writing: the items are stored, but the handler reports failure.
        update: async (keys, change) => {
          const result = await store.update(keys, change);
          calls += 1;
          if ([2, 5, 9].includes(calls)) throw new OnlineStoreWriteError('injected: the reply was lost');
          return result;
        },
      }),
      now,
    );

    expect(clean.results.every((result) => result.failed.length === 0)).toBe(true);
    expect(faulty.results.some((result) => result.failed.length > 0)).toBe(true);
    expect(faulty.failures).toEqual([]);
    // States hold the same events, tiles, last values and first/last times (throughTs records when the
    // latest batch ran, which redelivery can move, so it is left out).
    expect(withRoundedMoments(faulty.states)).toEqual(withRoundedMoments(clean.states));
    expect(Object.keys(clean.states)).toHaveLength(49);
  });

  it('sets a batch aside in stream-failures/ when it fails every retry, and goes on with the rest', async () => {
    const now = Date.now();
    const broken = await streamInto(
      (store) => ({
        read: (keys) => store.read(keys),
        write: (items) => store.write(items),
        update: async (keys, change) => {
          if (keys.some((key) => key.entityKey === 'user_id=i:7')) {
            throw new OnlineStoreWriteError('injected: user 7 cannot be written');
          }
          return store.update(keys, change);
        },
      }),
      now,
    );

    expect(broken.failures.length).toBeGreaterThan(0);
    expect(Object.keys(broken.states).some((key) => key.startsWith('user_id=i:7|'))).toBe(false);
    expect(Object.keys(broken.states).some((key) => key.startsWith('user_id=i:8|'))).toBe(true);
  });
});
