import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import { ingestEvents } from '../../lib/services/ingest-events.js';
import { materialize } from '../../lib/services/materialize.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { BATCH_PART_ROWS } from '../../lib/stores/raw-landing.js';
import { transactionRecords } from '../support/delivered-records.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

/**
 * The stream, pushes and materialization writing one view's online state in every order: the stream and
 * online pushes fold into the stream part, materialization writes the batch part from the batch data less
 * what the stream part holds, and reads merge the two. No order counts an event twice or loses one.
 */
const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const DAY = Date.parse('2024-05-01T00:00:00.000Z');
const MINUTE = 60_000;
const READ_AT = DAY + 3 * 3_600_000;

let dynamo: DynamoDBFixture;
let engine: DuckDBEngine;
let root: string;
let runs = 0;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  engine = await DuckDBEngine.create({ threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'fstore-stream-batch-'));
});
afterAll(async () => {
  await engine.close();
  await dynamo.close();
  await rm(root, { recursive: true, force: true });
});

/** A repo folder whose declared CSV holds two events of user 1 the day before, a fresh table and store. */
async function freshWorld() {
  runs += 1;
  const dir = join(root, `run-${runs}`);
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(
    join(dir, 'data', 'transactions.csv'),
    'user_id,transaction_date,amount,category,merchant_id\n' +
      '1,2024-04-30T10:00:00Z,100,food,7\n1,2024-04-30T11:00:00Z,200,food,7\n',
  );
  const tableName = `online_${runs}`;
  await ensureOnlineTable(dynamo.client, tableName);
  const onlineStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName });
  const offlineStore = new FileSystemObjectStore({ root: join(dir, 'offline') });
  const batchPart = (view: { source: Parameters<typeof batchSourceOf>[0] }) =>
    duckdbSourceRelation(
      batchSourceOf(view.source),
      dir,
      offlineStore.root,
      view.source.kind === 'kinesis_source' ? BATCH_PART_ROWS : undefined,
    );
  return {
    onlineStore,
    offlineStore,
    materialize: () =>
      materialize({
        engine,
        offlineStore,
        onlineStore,
        catalog,
        sourceRelation: batchPart,
        views: ['user_transaction_stats'],
        end: new Date(DAY + 2 * 3_600_000),
      }),
    stream: (records: ReturnType<typeof transactionRecords>) =>
      ingestEvents({ catalog, onlineStore, offlineStore, streamName: 'transactions', records }),
    push: (amount: number, to: 'online' | 'online_and_offline') =>
      pushEvents({
        catalog,
        onlineStore,
        offlineStore,
        request: {
          featureView: 'user_transaction_stats',
          to,
          df: {
            user_id: [1],
            transaction_date: [new Date(DAY + 30 * MINUTE).toISOString()],
            amount: [amount],
            category: ['food'],
            merchant_id: [7],
          },
        },
      }),
    read: async () => {
      const response = await getOnlineFeatures({
        catalog,
        store: onlineStore,
        now: () => READ_AT,
        request: {
          features: ['user_transaction_stats:amount_count_7d', 'user_transaction_stats:amount_sum_7d'],
          entities: { user_id: [1] },
        },
      });
      return { count: response.results[1]?.values[0], sum: response.results[2]?.values[0] };
    },
  };
}

const streamed = transactionRecords([
  { user_id: 1, merchant_id: 7, amount: 1, category: 'food', ts: DAY + 10 * MINUTE },
  { user_id: 1, merchant_id: 7, amount: 2, category: 'food', ts: DAY + 20 * MINUTE },
]);

describe('stream, pushes and materialization together', () => {
  it.each([
    ['materialize, then stream, then redeliver', ['materialize', 'stream', 'stream']],
    [
      'stream, then materialize (the batch data now holds the landed records), then redeliver',
      ['stream', 'materialize', 'stream'],
    ],
    ['stream, materialize twice, redeliver half', ['stream', 'materialize', 'materialize', 'half']],
  ])('%s: every event counted once', async (_, steps) => {
    const world = await freshWorld();
    for (const step of steps) {
      if (step === 'materialize') await world.materialize();
      else if (step === 'stream') await world.stream(streamed);
      else await world.stream(streamed.slice(1));
    }

    expect(await world.read()).toEqual({ count: 4, sum: 303 });
  });

  it('keeps the stream positions when a push folds into the same stream part, so a redelivery still counts once', async () => {
    const world = await freshWorld();
    await world.materialize();
    await world.stream(streamed);

    await world.push(1000, 'online');
    await world.stream(streamed);

    expect(await world.read()).toEqual({ count: 5, sum: 1303 });
  });

  it('counts a row pushed online and offline once, before and after a materialization', async () => {
    const world = await freshWorld();
    await world.materialize();

    await world.push(1000, 'online_and_offline');
    const before = await world.read();
    await world.materialize();

    expect(before).toEqual({ count: 3, sum: 1300 });
    expect(await world.read()).toEqual({ count: 3, sum: 1300 });
  });
});
