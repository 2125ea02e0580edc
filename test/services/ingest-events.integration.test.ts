import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { DeliveredRecord } from '../../lib/services/delivered-records.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import { ingestEvents, UnknownStreamError } from '../../lib/services/ingest-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { readQuarantine } from '../../lib/stores/quarantine.js';
import { rawRecord, type TransactionEvent, transactionRecords } from '../support/delivered-records.js';
import { faultyObjectStore } from '../support/faulty-object-store.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const DAY = Date.parse('2024-05-01T00:00:00.000Z');
const HOUR = 3_600_000;

let dynamo: DynamoDBFixture;
let dir: string;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  dir = await mkdtemp(join(tmpdir(), 'fstore-ingest-'));
});
afterAll(async () => {
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh online table and offline folder, so each case starts empty. */
async function freshStores(client: DynamoDBClient = dynamo.client) {
  tables += 1;
  const tableName = `online_${tables}`;
  await ensureOnlineTable(dynamo.client, tableName);
  return {
    tableName,
    onlineStore: new DynamoDBOnlineStore({ client, tableName, baseDelayMs: 1 }),
    offlineStore: new FileSystemObjectStore({ root: join(dir, `offline_${tables}`) }),
  };
}

function ingest(stores: Awaited<ReturnType<typeof freshStores>>, records: readonly DeliveredRecord[]) {
  return ingestEvents({
    catalog,
    onlineStore: stores.onlineStore,
    offlineStore: stores.offlineStore,
    streamName: 'transactions',
    records,
    now: () => new Date(DAY + 2 * HOUR),
  });
}

/** Every item of a table: key -> state and stream positions, to compare whole stores. */
async function tableContents(tableName: string): Promise<Record<string, unknown>> {
  const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  return Object.fromEntries(
    Items.map((item) => [
      `${item.pk?.S}|${item.sk?.S}`,
      { state: JSON.parse(item.state?.S ?? 'null'), positions: item.stream_positions?.M ?? null },
    ]),
  );
}

async function landedRows(offlineStore: FileSystemObjectStore): Promise<Record<string, unknown>[]> {
  const engine = await DuckDBEngine.create();
  try {
    const files = (await offlineStore.list('raw/transactions/')).filter((key) => key.endsWith('.parquet'));
    if (files.length === 0) return [];
    const list = files.map((key) => stringLiteral(join(offlineStore.root, key))).join(', ');
    return await engine.query(
      `SELECT _record_id, user_id, amount FROM read_parquet([${list}]) ORDER BY _record_id`,
    );
  } finally {
    await engine.close();
  }
}

const EVENTS: TransactionEvent[] = [
  { user_id: 1, merchant_id: 7, amount: 10, category: 'food', ts: DAY + 10 * 60_000 },
  { user_id: 2, merchant_id: 7, amount: 20, category: 'food', ts: DAY + 11 * 60_000 },
  { user_id: 1, merchant_id: 8, amount: 30, category: 'transport', ts: DAY + 12 * 60_000 },
  // Out of order, within the allowed lateness: it lands in its own (earlier) tile.
  { user_id: 1, merchant_id: 7, amount: 5, category: 'food', ts: DAY + 5 * 60_000 },
  { user_id: 3, merchant_id: 8, amount: 40, category: 'food', ts: DAY + 13 * 60_000 },
];

describe('ingestEvents', () => {
  it('quarantines the records of an entity whose sums would leave float64 range, naming view, feature and entity, and applies the others', async () => {
    const stores = await freshStores();
    const huge = [
      { user_id: 5, merchant_id: 90, amount: 1.5e308, category: 'food', ts: DAY + 60_000 },
      { user_id: 5, merchant_id: 90, amount: 1.5e308, category: 'food', ts: DAY + 2 * 60_000 },
      { user_id: 6, merchant_id: 91, amount: 12.5, category: 'food', ts: DAY + 3 * 60_000 },
    ];

    const result = await ingest(stores, transactionRecords(huge));

    expect(result).toMatchObject({ records: 3, applied: 1, quarantined: 2, failed: [], errors: [] });
    const quarantine = await readQuarantine(stores.offlineStore, 'live_transactions', '2024-05-01');
    expect(quarantine.map((record) => record.reason)).toEqual([
      expect.stringMatching(
        /^refused: feature view "user_transaction_stats", entity .*5.*: feature "amount_\w+" \(over column "amount"\) is beyond float64's range/,
      ),
      expect.stringMatching(/^refused: feature view "user_transaction_stats"/),
    ]);
    const served = await getOnlineFeatures({
      catalog,
      store: stores.onlineStore,
      now: () => DAY + HOUR,
      request: { features: ['user_transaction_stats:amount_count_7d'], entities: { user_id: [5, 6] } },
    });
    expect(served.results[1]?.values).toEqual([0, 1]);
  });

  it('applies good records online and lands them raw; quarantines bad and late ones with their reasons', async () => {
    const stores = await freshStores();
    const good = transactionRecords(EVENTS);
    const arrival = DAY + 20 * 60_000;
    const bad = [
      rawRecord('{"user_id": 1, "amount"', 10, arrival),
      rawRecord('[1, 2]', 11, arrival),
      rawRecord(
        JSON.stringify({
          user_id: 1,
          merchant_id: 7,
          amount: 'ten',
          transaction_date: '2024-05-01T00:15:00Z',
        }),
        12,
        arrival,
      ),
      rawRecord(
        JSON.stringify({ merchant_id: 7, amount: 1, transaction_date: '2024-05-01T00:15:00Z' }),
        13,
        arrival,
      ),
      rawRecord(JSON.stringify({ user_id: 1, merchant_id: 7, amount: 1 }), 14, arrival),
      // Arrived 3 hours after its event time; the allowed lateness is 1 hour.
      rawRecord(
        JSON.stringify({ user_id: 1, merchant_id: 7, amount: 99, transaction_date: '2024-05-01T00:15:00Z' }),
        15,
        DAY + 15 * 60_000 + 3 * HOUR,
      ),
    ];

    const result = await ingest(stores, [...good, ...bad]);

    expect(result).toMatchObject({ records: 11, applied: 5, quarantined: 6, failed: [], errors: [] });
    const quarantine = await readQuarantine(stores.offlineStore, 'live_transactions', '2024-05-01');
    expect(quarantine.map((record) => record.reason)).toEqual([
      expect.stringMatching(/^not JSON: /),
      'not a JSON object but an array; send one object per record with the fields of source "live_transactions"',
      'schema violation: field "amount" is "ten"; source "live_transactions" declares it float64, so send a number or null',
      'schema violation: no "user_id", a join key of a feature view reading source "live_transactions"; send it in every record',
      'schema violation: no event time in "transaction_date"; every record of source "live_transactions" needs one',
      'late: event time 2024-05-01T00:15:00.000Z is more than the allowed lateness (1h) before its arrival at 2024-05-01T03:15:00.000Z',
    ]);
    expect(Buffer.from(quarantine[0]?.data ?? '', 'base64').toString()).toBe('{"user_id": 1, "amount"');

    const online = await getOnlineFeatures({
      catalog,
      store: stores.onlineStore,
      now: () => DAY + HOUR,
      request: {
        features: [
          'user_transaction_stats:amount_sum_7d',
          'user_transaction_stats:amount_count_7d',
          'user_transaction_stats:last_3_amounts',
          'merchant_transaction_stats:amount_count_1d',
        ],
        entities: { user_id: [1, 2, 3], merchant_id: [7, 8, 8] },
      },
    });
    const values = Object.fromEntries(
      online.metadata.feature_names.map((name, index) => [name, online.results[index]?.values]),
    );
    expect(values).toMatchObject({
      amount_sum_7d: [45, 20, 40],
      amount_count_7d: [3, 1, 1],
      last_3_amounts: [[30, 10, 5], [20], [40]],
      amount_count_1d: [3, 2, 2],
    });
    expect((await landedRows(stores.offlineStore)).map((row) => Number(row.amount))).toEqual([
      10, 20, 30, 5, 40,
    ]);
  });

  it('changes nothing when a whole batch, or a bisected half of it, is delivered again', async () => {
    const stores = await freshStores();
    const records = transactionRecords(EVENTS);
    await ingest(stores, records);
    const once = await tableContents(stores.tableName);
    const filesOnce = await stores.offlineStore.list('raw/');

    const again = await ingest(stores, records);
    const half = await ingest(stores, records.slice(2));

    expect(again).toMatchObject({ applied: 5, failed: [], itemsUpdated: 0 });
    expect(half).toMatchObject({ applied: 3, failed: [], itemsUpdated: 0 });
    expect(await tableContents(stores.tableName)).toEqual(once);
    // The whole batch overwrote its own file; the half landed once more under its own range, and
    // readers keep one row per _record_id.
    expect(await stores.offlineStore.list('raw/')).toHaveLength(filesOnce.length + 1);
    const ids = (await landedRows(stores.offlineStore)).map((row) => row._record_id);
    expect(new Set(ids).size).toBe(5);
  });

  it('keeps per-stream-and-shard positions in the stream part: the same sequence number on another shard is a different record', async () => {
    const stores = await freshStores();
    await ingest(stores, transactionRecords(EVENTS.slice(0, 1), { shardId: 'shardId-000000000000' }));
    await ingest(stores, transactionRecords(EVENTS.slice(1, 2), { shardId: 'shardId-000000000001' }));

    const contents = await tableContents(stores.tableName);
    const version = catalog.views.get('merchant_transaction_stats')?.version;
    const sequence = transactionRecords(EVENTS.slice(0, 1))[0]?.sequenceNumber;
    expect(contents[`merchant_id=i:7|merchant_transaction_stats#${version}#stream`]).toMatchObject({
      positions: {
        'transactions/shardId-000000000000': { S: sequence },
        'transactions/shardId-000000000001': { S: sequence },
      },
      state: { tiles: expect.anything() },
    });
    // The batch part, which materialization writes, is not touched by the stream.
    expect(contents[`merchant_id=i:7|merchant_transaction_stats#${version}`]).toBeUndefined();
  });

  it('reports the records of a failed raw landing as failed and applies none of them online', async () => {
    const stores = await freshStores();
    const failing = {
      ...stores,
      offlineStore: faultyObjectStore(stores.offlineStore, { operation: 'put', onCall: 1 }),
    };

    const result = await ingest(failing as never, transactionRecords(EVENTS));

    expect(result.failed).toEqual(transactionRecords(EVENTS).map((record) => record.sequenceNumber));
    expect(result.errors).toEqual([expect.stringContaining('injected failure of put call 1')]);
    expect(await tableContents(stores.tableName)).toEqual({});
  });

  it('after a crash part-way through the online writes, redelivery gives exactly the state of a run without the crash', async () => {
    const batches = [
      transactionRecords(EVENTS),
      transactionRecords(
        EVENTS.map((e) => ({ ...e, ts: e.ts + HOUR })),
        { firstSequence: 5 },
      ),
    ];
    const reference = await freshStores();
    for (const batch of batches) await ingest(reference, batch);
    const expected = await tableContents(reference.tableName);

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 9 }), async (writesBeforeCrash) => {
        let writes = 0;
        const crashing = {
          send: (command: unknown) => {
            if (command instanceof PutItemCommand && ++writes > writesBeforeCrash) {
              return Promise.reject(new Error('the process died'));
            }
            return dynamo.client.send(command as never);
          },
        } as unknown as DynamoDBClient;
        const stores = await freshStores(crashing);
        const crashed = await ingest(stores, batches[0] ?? []);
        const healthy = {
          ...stores,
          onlineStore: new DynamoDBOnlineStore({ client: dynamo.client, tableName: stores.tableName }),
        };
        if (crashed.failed.length > 0) {
          expect(crashed.errors.join('\n')).toContain('the process died');
          // The event source mapping delivers the batch again (from the first failed record; here all of it).
          expect((await ingest(healthy, batches[0] ?? [])).failed).toEqual([]);
        }
        await ingest(healthy, batches[1] ?? []);
        expect(await tableContents(stores.tableName)).toEqual(expected);
      }),
      { numRuns: 6 },
    );
  });

  it('refuses a stream no Kinesis source reads, naming it', async () => {
    const stores = await freshStores();
    await expect(
      ingestEvents({ catalog, ...stores, streamName: 'clicks', records: transactionRecords(EVENTS) }),
    ).rejects.toThrow(UnknownStreamError);
  });
});
