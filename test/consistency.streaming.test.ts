import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../examples/transactions/features.js';
import { CATEGORIES, writeTransactionsCsv } from '../examples/transactions/generate-transactions.js';
import { startLocalStreaming } from '../lib/cli/local-streaming.js';
import { collectDefinitions, validateFeatureRepo } from '../lib/index.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { getOnlineFeatures, type OnlineFeaturesResponse } from '../lib/services/get-online-features.js';
import type { IngestResult } from '../lib/services/ingest-events.js';
import { materialize } from '../lib/services/materialize.js';
import { servingCatalog } from '../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { KinesisEventStream } from '../lib/stores/event-stream.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { closeValues } from './support/close-values.js';
import { type DynamoDBFixture, startDynamoDBFixture } from './support/local-dynamodb.js';
import { offlineValuesAt } from './support/offline-values-at.js';

/**
 * Training-serving consistency for streams. A feature repo holds a month of batch history, materialized
 * online two days ago. Then a random stream of events (some out of order, some late beyond the allowed
 * lateness, some malformed) goes through the whole local streaming path: kinesalite, the pollers that
 * behave like Lambda's event source mapping, the ingest handler, dynalite and the raw area. Read at a time t
 * after the stream, every streamed feature online must equal (a) a fresh materialization at t computed in
 * batch from the declared data plus the landed raw events, and (b) the offline point-in-time join at t.
 */
const validated = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
const catalog = servingCatalog(repoFromRegistry(toRegistryObjects(validated)));
const USERS = 12;
const MERCHANTS = 6;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** Views the stream feeds (the category view reads the batch source only, so it changes by materialization). */
const STREAMED_FEATURES = [
  'user_transaction_stats:*',
  'merchant_transaction_stats:*',
  'transaction_amount_ratios:amount_to_30d_mean_ratio',
];

let dynamo: DynamoDBFixture;
let engine: DuckDBEngine;
let root: string;
let runs = 0;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  engine = await DuckDBEngine.create({ threads: 2 });
  root = await mkdtemp(join(tmpdir(), 'fstore-stream-consistency-'));
});
afterAll(async () => {
  await engine.close();
  await dynamo.close();
  await rm(root, { recursive: true, force: true });
});

interface StreamEvent {
  readonly user: number;
  readonly merchant: number;
  readonly amount: number;
  /** Minutes before the stream starts; 0-50 is within the allowed lateness (1h) of arrival, 70+ is late. */
  readonly minutesAgo: number;
  readonly malformed: boolean;
}

const streamEvent = fc.record({
  user: fc.integer({ min: 1, max: USERS }),
  merchant: fc.integer({ min: 1, max: MERCHANTS }),
  amount: fc.double({ min: 0, max: 500, noNaN: true }).map((x) => Math.round(x * 100) / 100),
  minutesAgo: fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 0, max: 50 }) },
    { weight: 1, arbitrary: fc.integer({ min: 70, max: 600 }) },
  ),
  malformed: fc.integer({ min: 0, max: 9 }).map((digit) => digit === 0),
});

async function runScenario(events: readonly StreamEvent[]): Promise<void> {
  runs += 1;
  const dir = join(root, `run-${runs}`);
  const startedAt = Date.now();
  await writeTransactionsCsv(join(dir, 'data', 'transactions.csv'), {
    rows: 900,
    users: USERS,
    seed: runs,
    start: new Date(startedAt - 40 * DAY),
  });
  const offlineStore = new FileSystemObjectStore({ root: join(dir, 'offline') });
  const sourceRelation = (view: { source: Parameters<typeof batchSourceOf>[0] }) =>
    duckdbSourceRelation(batchSourceOf(view.source), dir, offlineStore.root);
  const streamedTable = `streamed_${runs}`;
  const batchTable = `batch_${runs}`;
  await ensureOnlineTable(dynamo.client, streamedTable);
  await ensureOnlineTable(dynamo.client, batchTable);
  const streamedStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: streamedTable });
  const batchStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: batchTable });

  // The history, online as of two days ago.
  await materialize({
    engine,
    offlineStore,
    onlineStore: streamedStore,
    catalog,
    sourceRelation,
    end: new Date(startedAt - 2 * DAY),
  });

  // The stream, through kinesalite, the pollers and the ingest handler.
  const results: IngestResult[] = [];
  const streaming = await startLocalStreaming({
    loadCatalog: async () => ({ catalog }),
    onlineStore: streamedStore,
    offlineStore,
    shards: 2,
    batchSize: 7,
    idlePollMs: 20,
    onResult: (result) => results.push(result),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  try {
    const records = events.map((event) => ({
      partitionKey: String(event.user),
      data: new TextEncoder().encode(
        event.malformed
          ? `{"user_id": ${event.user}, "amount": `
          : JSON.stringify({
              user_id: event.user,
              merchant_id: event.merchant,
              amount: event.amount,
              category: CATEGORIES[event.user % CATEGORIES.length],
              transaction_date: new Date(startedAt - event.minutesAgo * MINUTE).toISOString(),
            }),
      ),
    }));
    await new KinesisEventStream({ client: streaming.client, streamName: 'transactions' }).put(records);
    await streaming.caughtUp();
  } finally {
    await streaming.close();
  }
  const quarantined = results.reduce((total, result) => total + result.quarantined, 0);
  expect(results.every((result) => result.failed.length === 0)).toBe(true);
  expect(quarantined).toBe(events.filter((event) => event.malformed || event.minutesAgo >= 70).length);

  // Batch: compute from the declared data plus what the stream landed, materialized at t.
  const t = new Date(Date.now() + 1_000);
  await materialize({ engine, offlineStore, onlineStore: batchStore, catalog, sourceRelation, end: t });

  const rows = Array.from({ length: USERS }, (_, index) => ({
    user_id: index + 1,
    merchant_id: (index % MERCHANTS) + 1,
    amount: 25 + index,
  }));
  const read = (store: DynamoDBOnlineStore) =>
    getOnlineFeatures({
      catalog,
      store,
      now: () => t.getTime(),
      request: {
        features: STREAMED_FEATURES,
        entities: {
          user_id: rows.map((r) => r.user_id),
          merchant_id: rows.map((r) => r.merchant_id),
          amount: rows.map((r) => r.amount),
        },
        fullFeatureNames: true,
      },
    });
  const streamed = await read(streamedStore);
  const batch = await read(batchStore);
  const offline = await offlineValuesAt({
    engine,
    validated,
    sourceRelation,
    rows,
    features: STREAMED_FEATURES,
    t,
    dir,
  });

  const batchColumn = (name: string) => batch.results[batch.metadata.feature_names.indexOf(name)];
  assertSameValues(streamed, (name, row) => batchColumn(name)?.values[row], 'batch materialization');
  assertSameValues(streamed, (name, row) => offline[row]?.[name], 'offline point-in-time join');
}

function assertSameValues(
  streamed: OnlineFeaturesResponse,
  expectedAt: (name: string, row: number) => unknown,
  what: string,
): void {
  const names = streamed.metadata.feature_names;
  expect(names.length).toBeGreaterThan(20);
  names.forEach((name, index) => {
    if (index < 3) return; // join keys and the request field
    streamed.results[index]?.values.forEach((actual, row) => {
      const expected = expectedAt(name, row);
      if (!closeValues(actual, expected)) {
        throw new Error(
          `${name} for row ${row}: streamed ${JSON.stringify(actual)}, ${what} ${JSON.stringify(expected)}`,
        );
      }
    });
  });
}

describe('streamed online features', () => {
  it('equal batch compute plus materialization, and the offline join, at a time after a random stream', async () => {
    await fc.assert(fc.asyncProperty(fc.array(streamEvent, { minLength: 1, maxLength: 120 }), runScenario), {
      numRuns: 3,
    });
  }, 300_000);
});
