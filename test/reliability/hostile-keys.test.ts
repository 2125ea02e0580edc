import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  kinesisSource,
  validateFeatureRepo,
} from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { DeliveredRecord } from '../../lib/services/delivered-records.js';
import { getHistoricalFeatures } from '../../lib/services/get-historical-features.js';
import { getOnlineFeatures, type OnlineFeaturesResponse } from '../../lib/services/get-online-features.js';
import { ingestEvents } from '../../lib/services/ingest-events.js';
import { materialize } from '../../lib/services/materialize.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { decodeEntityKey } from '../../lib/stores/online-entity-key.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { BATCH_PART_ROWS } from '../../lib/stores/raw-landing.js';
import { fixtureItems, NOW } from '../lambdas/serving-fixture.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

/**
 * Join key values written to break out of a SQL literal, a JSON string, the online store's entity-key
 * encoding or a LIKE pattern, sent through every path a key takes: the declared CSV, the stream, the
 * raw area, materialization, DynamoDB, online reads and the offline point-in-time join. Each must be
 * taken as one opaque value: it reads exactly its own entity's events, and a value nothing was stored
 * under reads nothing.
 */
const DAY = 86_400_000;
const T = Date.parse('2024-05-10T12:00:00.000Z');

// A shop is keyed by two strings, so the entity-key encoding (`country=s:..|shop=s:..`) is attacked too.
const shop = entity({ name: 'shop', joinKeys: { country: 'string', shop: 'string' } });
const sales = batchSource({
  name: 'sales',
  path: 'data/sales.csv',
  timestampField: 'ts',
  schema: { country: 'string', shop: 'string', ts: 'timestamp', amount: 'float64' },
});
const liveSales = kinesisSource({
  name: 'live_sales',
  streamName: 'sales',
  timestampField: 'ts',
  schema: sales.schema,
  batchSource: sales,
  partitionKey: 'shop',
  allowedLateness: '1h',
});
const shopStats = featureView({
  name: 'shop_stats',
  entities: [shop],
  source: liveSales,
  aggregations: [{ column: 'amount', functions: ['sum', 'count'], windows: ['7d'] }],
  lastK: [{ column: 'amount', k: 5, name: 'last_amounts' }],
});
const validated = validateFeatureRepo(collectDefinitions([shop, sales, liveSales, shopStats]));
const catalog = servingCatalog(repoFromRegistry(toRegistryObjects(validated)));

type Key = readonly [country: string, shop: string];

/** Entities with events: each its own amounts (index + 1 in the CSV, 100 times that on the stream). */
const STORED: readonly Key[] = [
  ['FR', 'a'],
  ['FR', "a' OR '1'='1"],
  ['FR', "1' OR '1'='1"],
  // Without escaping, these two would both encode as country=s:FR|shop=s:a|shop=s:b.
  ['FR|shop=s:a', 'b'],
  ['FR', 'a|shop=s:b'],
  ['FR', 'a\\'],
  ['FR\\', 'a'],
  ['"}], "x": [{"', '{"$ne": null}'],
  ['FR', "'; DROP TABLE sales; --"],
  ['FR', '%'],
  ['FR', '_'],
  ['FR', 'a, "b"\nc'],
  ['FR', 'ü 🙂'],
];
/** Entities only the stream has. */
const STREAM_ONLY: readonly Key[] = [
  // Not in the CSV: DuckDB's read_csv reads a quoted empty field ("") as NULL, a row without its key.
  ['', ''],
  ['FR', '\\u0027 OR 1=1'],
  ['{"country": "FR"}', 'x\\"y'],
];
/** Values nothing was stored under, several close to a stored one or matching many as a pattern would. */
const PROBES: readonly Key[] = [
  ['FR', "' OR '1'='1"],
  ['FR', "a' OR '1'='1' --"],
  ['FR', '*'],
  ['FR', 'a%'],
  ['FR', 'A'],
  ['FR ', 'a'],
  ['FR', 'a|shop=s:b|x'],
  ["FR' OR 1=1 --", 'a'],
  ['FR', '%%'],
  ['FR', '\\'],
];
/** Stored entities whose events also come from the stream. */
const STREAMED = new Set([0, 1, 3, 4, 7, 9, 12]);

const amountOf = (index: number) => index + 1;
const streamedAmountOf = (index: number) => (index + 1) * 100;

function csvField(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** The stream records: JSON text as a producer writes it, the first written by hand with \u escapes. */
function streamRecords(): DeliveredRecord[] {
  const at = new Date(T - 30 * 60_000).toISOString();
  const texts = [
    // "a' OR '1'='1" spelt with JSON escapes: the same entity as STORED[1].
    `{"country": "FR", "shop": "a\\u0027 OR \\u00271\\u0027=\\u00271", "ts": "${at}", "amount": ${streamedAmountOf(1)}}`,
    ...[...STREAMED]
      .filter((index) => index !== 1)
      .map((index) =>
        JSON.stringify({
          country: STORED[index]?.[0],
          shop: STORED[index]?.[1],
          ts: at,
          amount: streamedAmountOf(index),
        }),
      ),
    ...STREAM_ONLY.map(([country, shopName], index) =>
      JSON.stringify({ country, shop: shopName, ts: at, amount: 7_000 + index }),
    ),
  ];
  return texts.map((text, index) => ({
    data: new TextEncoder().encode(text),
    partitionKey: 'k',
    sequenceNumber: String(1_000 + index),
    shardId: 'shardId-000000000000',
    arrivalMs: T - 29 * 60_000,
  }));
}

/** What each stored or stream-only entity holds at T: sum, count and last amounts (newest first). */
function expected(key: Key): { sum: number; count: number; last: number[] } {
  const streamOnly = STREAM_ONLY.findIndex(([c, s]) => c === key[0] && s === key[1]);
  if (streamOnly >= 0) return { sum: 7_000 + streamOnly, count: 1, last: [7_000 + streamOnly] };
  const index = STORED.findIndex(([c, s]) => c === key[0] && s === key[1]);
  if (index < 0) return { sum: 0, count: 0, last: [] };
  const amounts = STREAMED.has(index) ? [streamedAmountOf(index), amountOf(index)] : [amountOf(index)];
  return { sum: amounts.reduce((a, b) => a + b, 0), count: amounts.length, last: amounts };
}

let dynamo: DynamoDBFixture;
let engine: DuckDBEngine;
let dir: string;
let onlineStore: DynamoDBOnlineStore;
let offlineStore: FileSystemObjectStore;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  engine = await DuckDBEngine.create({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'fstore-hostile-keys-'));
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(
    join(dir, 'data', 'sales.csv'),
    `country,shop,ts,amount\n${STORED.map(
      ([country, shopName], index) =>
        `${csvField(country)},${csvField(shopName)},${new Date(T - 2 * DAY).toISOString()},${amountOf(index)}`,
    ).join('\n')}\n`,
  );
  await ensureOnlineTable(dynamo.client, 'online');
  onlineStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'online' });
  offlineStore = new FileSystemObjectStore({ root: join(dir, 'offline') });
});
afterAll(async () => {
  await engine?.close();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function column(response: OnlineFeaturesResponse, name: string) {
  const index = response.metadata.feature_names.indexOf(name);
  return response.results[index] as OnlineFeaturesResponse['results'][number];
}

describe('hostile join key values', () => {
  it("read nothing extra online: the example’s category \"1' OR '1'='1\" is NOT_FOUND, the other rows unchanged", async () => {
    await ensureOnlineTable(dynamo.client, 'example');
    const store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'example' });
    const example = servingCatalog(
      repoFromRegistry(
        toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions)))),
      ),
    );
    await store.write(fixtureItems(example));
    const read = (categories: string[]) =>
      getOnlineFeatures({
        catalog: example,
        store,
        now: () => NOW,
        request: {
          features: [
            'category_transaction_stats:amount_count_7d',
            'category_transaction_stats:amount_mean_7d',
          ],
          entities: { category: categories },
        },
      });

    const alone = await read(['food']);
    const mixed = await read(["1' OR '1'='1", 'food', "food' OR '1'='1", '%', 'food"', 'food\\']);

    expect(column(alone, 'amount_count_7d')).toMatchObject({ values: [1], statuses: ['PRESENT'] });
    expect(column(mixed, 'amount_count_7d')).toEqual({
      values: [0, 1, 0, 0, 0, 0],
      statuses: ['NOT_FOUND', 'PRESENT', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'],
      event_timestamps: [
        '1970-01-01T00:00:00.000Z',
        column(alone, 'amount_count_7d').event_timestamps[0],
        '1970-01-01T00:00:00.000Z',
        '1970-01-01T00:00:00.000Z',
        '1970-01-01T00:00:00.000Z',
        '1970-01-01T00:00:00.000Z',
      ],
    });
    expect(column(mixed, 'amount_mean_7d').values).toEqual([null, 10, null, null, null, null]);
  });

  it('are each one entity through the CSV, the stream, the raw area, materialization, DynamoDB and both reads', async () => {
    const ingested = await ingestEvents({
      catalog,
      onlineStore,
      offlineStore,
      streamName: 'sales',
      records: streamRecords(),
      now: () => new Date(T),
    });
    const materialized = await materialize({
      engine,
      offlineStore,
      onlineStore,
      catalog,
      sourceRelation: (view) =>
        duckdbSourceRelation(batchSourceOf(view.source), dir, offlineStore.root, BATCH_PART_ROWS),
      end: new Date(T),
    });
    const everyKey = [...STORED, ...STREAM_ONLY, ...PROBES];
    const online = await getOnlineFeatures({
      catalog,
      store: onlineStore,
      now: () => T,
      request: {
        features: ['shop_stats:amount_sum_7d', 'shop_stats:amount_count_7d', 'shop_stats:last_amounts'],
        entities: { country: everyKey.map(([c]) => c), shop: everyKey.map(([, s]) => s) },
      },
    });
    const offline = await getHistoricalFeatures({
      engine,
      repo: validated,
      sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir, offlineStore.root),
      spine: everyKey.map(([country, shopName]) => ({
        country,
        shop: shopName,
        event_timestamp: new Date(T),
      })),
      features: ['shop_stats:amount_sum_7d', 'shop_stats:amount_count_7d', 'shop_stats:last_amounts'],
      out: join(dir, 'training.parquet'),
      previewRows: 1_000,
    });
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: 'online' }));

    const streamed = STREAMED.size + STREAM_ONLY.length;
    expect(ingested).toMatchObject({ records: streamed, applied: streamed, quarantined: 0, failed: [] });
    expect(materialized).toBeDefined();
    // DynamoDB holds one item per part of exactly the entities sent, each decoding back to its own keys.
    const stored = Items.map((item) => [decodeEntityKey(item.pk?.S ?? ''), item.sk?.S]);
    const entityKeys = (keys: readonly Key[]) =>
      keys.map(([country, shopName]) => JSON.stringify({ country, shop: shopName })).sort();
    expect([...new Set(stored.map(([keys]) => JSON.stringify(keys)))].sort()).toEqual(
      entityKeys([...STORED, ...STREAM_ONLY]).sort(),
    );
    expect(Items).toHaveLength(STORED.length + streamed);

    const sums = column(online, 'amount_sum_7d');
    const counts = column(online, 'amount_count_7d');
    const lasts = column(online, 'last_amounts');
    everyKey.forEach((key, row) => {
      const want = expected(key);
      const where = JSON.stringify(key);
      expect([sums.values[row], counts.values[row], lasts.values[row]], where).toEqual([
        want.sum,
        want.count,
        want.last,
      ]);
      expect(counts.statuses[row], where).toBe(want.count === 0 ? 'NOT_FOUND' : 'PRESENT');
    });

    // Offline: one row per spine row, in spine order, each with its own entity's values.
    expect(offline.rows).toBe(everyKey.length);
    expect(offline.preview.map((row) => [row.country, row.shop])).toEqual(everyKey.map(([c, s]) => [c, s]));
    everyKey.forEach((key, row) => {
      const want = expected(key);
      const got = offline.preview[row] ?? {};
      expect([got.amount_sum_7d, got.amount_count_7d, got.last_amounts], JSON.stringify(key)).toEqual([
        want.sum,
        want.count,
        want.last,
      ]);
    });
  });
});
