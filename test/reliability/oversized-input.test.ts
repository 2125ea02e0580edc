import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIngestHandler } from '../../lambdas/ingest.js';
import { createServeHandler } from '../../lambdas/serve.js';
import { type LocalApiServer, startLocalApiServer } from '../../lib/cli/local-api-server.js';
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
import type { IngestResult } from '../../lib/services/ingest-events.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { readQuarantine } from '../../lib/stores/quarantine.js';
import { NOW, transactionsCatalog } from '../lambdas/serving-fixture.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

/**
 * Input over a limit, through the real local API (`startLocalApiServer` + `createServeHandler`, with the
 * limits `fstore serve --max-entity-rows --max-features --max-body-bytes` sets) and the ingest handler
 * (with a small `maxRecordBytes`): each is refused with a 4xx or quarantined, with a message naming the
 * field, the limit and what to do, and nothing of it reaches the online table or the offline store.
 */
const MAX_BODY = 64 * 1024;
const MAX_ROWS = 10;
const MAX_FEATURES = 5;
const MAX_RECORD = 512;
const loaded = transactionsCatalog();

let dynamo: DynamoDBFixture;
let dir: string;
let tables = 0;
let tableName: string;
let offlineStore: FileSystemObjectStore;
let server: LocalApiServer;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  dir = await mkdtemp(join(tmpdir(), 'fstore-oversized-'));
});
afterAll(async () => {
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh online table and offline folder, and the API over them (the server is closed after the test). */
beforeEach(async () => {
  tables += 1;
  tableName = `online_${tables}`;
  await ensureOnlineTable(dynamo.client, tableName);
  offlineStore = new FileSystemObjectStore({ root: join(dir, `offline_${tables}`) });
  const store = new DynamoDBOnlineStore({ client: dynamo.client, tableName });
  const limits = { maxEntityRows: MAX_ROWS, maxFeatures: MAX_FEATURES, maxBodyBytes: MAX_BODY };
  server = await startLocalApiServer({
    handler: createServeHandler({
      loadCatalog: async () => loaded,
      store,
      limits,
      now: () => NOW,
      push: (request) => pushEvents({ catalog: loaded.catalog, onlineStore: store, offlineStore, request }),
    }),
    port: 0,
    maxBodyBytes: MAX_BODY,
  });
  return () => server.close();
});

/** Nothing in the online table, nothing in the offline store. */
async function expectNothingStored(): Promise<void> {
  const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  expect(Items).toEqual([]);
  expect(await offlineStore.list('')).toEqual([]);
}

/** Sends a body (a string, or chunks without a content-length) over HTTP; resolves with status and JSON. */
/**
 * A reply's JSON; an error body, Feast's error detail as a JSON string (`feastErrorBody`), as the
 * `{"error": {"code", "message"}}` it carries.
 */
function carriedJson(text: string): unknown {
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'string') return json;
  const detail = JSON.parse(json) as { module: string; error: unknown };
  if (detail.module !== 'feast.errors') throw new Error(`not Feast's error detail: ${text.slice(0, 200)}`);
  return { error: detail.error };
}

function post(path: string, body: string | readonly string[]): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${server.url}${path}`,
      {
        method: 'POST',
        headers:
          typeof body === 'string'
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : { 'content-type': 'application/json' },
      },
      (incoming) => {
        const parts: Buffer[] = [];
        incoming.on('data', (part: Buffer) => parts.push(part));
        incoming.on('end', () => {
          const text = Buffer.concat(parts).toString();
          try {
            resolve({ status: incoming.statusCode ?? 0, json: carriedJson(text) });
          } catch {
            reject(
              new Error(`${path} answered ${incoming.statusCode} with a body that is not JSON: ${text}`),
            );
          }
        });
      },
    );
    // The server closes the connection once it has refused a body still being written.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (typeof body === 'string') outgoing.end(body);
    else {
      for (const chunk of body) outgoing.write(chunk);
      outgoing.end();
    }
  });
}

/** `body` as JSON with spaces added to make it exactly `bytes` long. */
function paddedTo(body: unknown, bytes: number): string {
  const text = JSON.stringify(body);
  return `${text}${' '.repeat(bytes - Buffer.byteLength(text))}`;
}

function pushBody(rows: number, to = 'online_and_offline') {
  return {
    push_source_name: 'transactions',
    to,
    df: {
      user_id: Array.from({ length: rows }, (_, row) => 1 + (row % 50)),
      merchant_id: Array.from({ length: rows }, () => 7),
      amount: Array.from({ length: rows }, () => 1.5),
      category: Array.from({ length: rows }, () => 'food'),
      transaction_date: Array.from({ length: rows }, () => NOW - 3_600_000),
    },
  };
}

const READ = { features: ['user_transaction_stats:amount_sum_7d'], entities: { user_id: [42] } };

function bodyTooLarge(size: string) {
  return {
    status: 413,
    json: {
      error: {
        code: 'BODY_TOO_LARGE',
        message: `the body is ${size} bytes; at most ${MAX_BODY} bytes are allowed per request, so split the request`,
      },
    },
  };
}

describe('request bodies over --max-body-bytes', () => {
  it('are refused with 413 naming the limit, one byte over as a megabyte over; a body of exactly the limit is read', async () => {
    const exact = await post('/get-online-features', paddedTo(READ, MAX_BODY));
    const oneOver = await post('/get-online-features', paddedTo(READ, MAX_BODY + 1));
    const far = await post('/get-online-features', paddedTo(READ, 16 * MAX_BODY));
    // Counted in bytes, not characters: 40,000 characters of 2 bytes each.
    const wide = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, entities: { user_id: [42], note: ['é'.repeat(40_000)] } }),
    );

    expect(exact.status).toBe(200);
    expect(oneOver).toEqual(bodyTooLarge(String(MAX_BODY + 1)));
    expect(far).toEqual(bodyTooLarge(String(16 * MAX_BODY)));
    expect(wide.status).toBe(413);
  });

  it('store nothing of an oversized push, declared or streamed without a length, and the server goes on answering', async () => {
    const body = JSON.stringify(pushBody(3_000));
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY);

    const declared = await post('/push', body);
    const chunked = await post(
      '/push',
      Array.from({ length: Math.ceil(body.length / 8_192) }, (_, index) =>
        body.slice(index * 8_192, (index + 1) * 8_192),
      ),
    );
    const after = await post('/get-online-features', JSON.stringify(READ));

    expect(declared).toEqual(bodyTooLarge(String(Buffer.byteLength(body))));
    expect(chunked).toEqual(bodyTooLarge(`over ${MAX_BODY}`));
    expect(after.status).toBe(200);
    await expectNothingStored();
  });
});

describe('requests over --max-entity-rows and --max-features, and pushes over 1,000 rows', () => {
  it('answer 400 naming the field, the count, the limit and the fix; at the limit they are served', async () => {
    const userIds = (rows: number) => Array.from({ length: rows }, (_, row) => row + 1);
    const atRows = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, entities: { user_id: userIds(MAX_ROWS) } }),
    );
    const overRows = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, entities: { user_id: userIds(MAX_ROWS + 1) } }),
    );
    const sixFeatures = [
      'amount_sum_7d',
      'amount_sum_14d',
      'amount_sum_30d',
      'amount_count_7d',
      'amount_count_14d',
      'amount_count_30d',
    ].map((name) => `user_transaction_stats:${name}`);
    const atFeatures = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, features: sixFeatures.slice(0, MAX_FEATURES) }),
    );
    const overFeatures = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, features: sixFeatures }),
    );
    const star = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, features: ['user_transaction_stats:*'] }),
    );
    const service = await post(
      '/get-online-features',
      JSON.stringify({
        feature_service: 'fraud_model_v1',
        entities: { user_id: [1], merchant_id: [1], category: ['food'], amount: [1] },
      }),
    );
    const longName = await post(
      '/get-online-features',
      JSON.stringify({ ...READ, features: [`user_transaction_stats:${'a'.repeat(300)}`] }),
    );

    expect(atRows.status).toBe(200);
    expect(overRows).toEqual({
      status: 400,
      json: {
        error: {
          code: 'TOO_MANY_ROWS',
          message: `entities holds ${MAX_ROWS + 1} rows; at most ${MAX_ROWS} are allowed per request, so split the request`,
        },
      },
    });
    expect(atFeatures.status).toBe(200);
    expect(overFeatures).toEqual({
      status: 400,
      json: {
        error: {
          code: 'TOO_MANY_FEATURES',
          message: `"features" names 6 features; at most ${MAX_FEATURES} are allowed per request, so split the request`,
        },
      },
    });
    // One name, expanded: the count is what the expansion gives.
    for (const expanded of [star, service]) {
      expect(expanded).toEqual({
        status: 400,
        json: {
          error: {
            code: 'TOO_MANY_FEATURES',
            message: expect.stringMatching(
              new RegExp(
                `^the request expands to \\d+ features; at most ${MAX_FEATURES} are allowed per request, so split the request$`,
              ),
            ),
          },
        },
      });
    }
    expect(longName).toEqual({
      status: 400,
      json: {
        error: {
          code: 'INVALID_REQUEST',
          message: 'features[0] is 323 characters long; a "view:feature" name has at most 256',
        },
      },
    });
    await expectNothingStored();
  });

  it('refuse a push of 1,001 rows, storing nothing online or offline; 1,000 rows are taken', async () => {
    const over = await post('/push', JSON.stringify(pushBody(1_001)));

    expect(over).toEqual({
      status: 400,
      json: {
        error: {
          code: 'TOO_MANY_ROWS',
          message: 'df holds 1001 rows; at most 1000 are allowed per push, so split it',
        },
      },
    });
    await expectNothingStored();

    const at = await post('/push', JSON.stringify(pushBody(1_000)));
    expect(at).toEqual({ status: 200, json: { rows: 1_000, online_items: 50 + 1 + 1, offline_rows: 1_000 } });
  });
});

describe('stream records over maxRecordBytes', () => {
  const arrival = NOW;
  const record = (text: string, sequence: number) => ({
    eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/transactions',
    eventID: `shardId-000000000000:${sequence}`,
    eventName: 'aws:kinesis:record',
    eventVersion: '1.0',
    eventSource: 'aws:kinesis',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/ingest',
    awsRegion: 'us-east-1',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'k',
      sequenceNumber: String(sequence),
      data: Buffer.from(text).toString('base64'),
      approximateArrivalTimestamp: arrival / 1000,
    },
  });
  /** A transaction of `userId`, padded with an ignored field to exactly `bytes` bytes of JSON. */
  const transactionOf = (userId: number, bytes: number) => {
    const text = JSON.stringify({
      user_id: userId,
      merchant_id: 7,
      amount: 5,
      category: 'food',
      transaction_date: new Date(arrival - 60_000).toISOString(),
      padding: '',
    });
    return text.replace('"padding":""', `"padding":"${'x'.repeat(bytes - Buffer.byteLength(text))}"`);
  };

  it('are quarantined as too large, naming the size, the limit and the fix; a record of exactly the limit is applied', async () => {
    const results: IngestResult[] = [];
    const handler = createIngestHandler({
      loadCatalog: async () => loaded,
      onlineStore: new DynamoDBOnlineStore({ client: dynamo.client, tableName }),
      offlineStore,
      maxRecordBytes: MAX_RECORD,
      now: () => new Date(arrival),
      onResult: (result) => results.push(result),
      logger: { info: () => {}, error: () => {} },
    });
    const event = {
      Records: [
        record(transactionOf(1, MAX_RECORD), 1),
        record(transactionOf(2, MAX_RECORD + 1), 2),
        record(transactionOf(3, 100_000), 3),
      ],
    } as KinesisStreamEvent;

    const reply = await handler(event);

    expect(reply).toEqual({ batchItemFailures: [] });
    expect(results).toMatchObject([{ records: 3, applied: 1, quarantined: 2, failed: [] }]);
    const quarantine = await readQuarantine(offlineStore, 'live_transactions', '2024-03-01');
    expect(quarantine.map(({ sequenceNumber, reason }) => ({ sequenceNumber, reason }))).toEqual([
      {
        sequenceNumber: '2',
        reason: `too large: ${MAX_RECORD + 1} bytes, at most ${MAX_RECORD} are accepted; send smaller records`,
      },
      {
        sequenceNumber: '3',
        reason: `too large: 100000 bytes, at most ${MAX_RECORD} are accepted; send smaller records`,
      },
    ]);
    // Kept whole, so it can be replayed by hand.
    expect(Buffer.from(quarantine[1]?.data ?? '', 'base64').toString()).toBe(transactionOf(3, 100_000));
    // Only user 1 is online (its user and merchant items), and only its record landed.
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
    expect(Items.map((item) => item.pk?.S).sort()).toEqual(['merchant_id=i:7', 'user_id=i:1']);
    expect(await offlineStore.list('raw/')).toEqual([
      'raw/transactions/dt=2024-02-29/stream-shardId-000000000000-1-1.parquet',
    ]);
  });
});

/**
 * Values each within every other limit whose online key or item would be over DynamoDB's own limits
 * (2,048 bytes of partition key, 400 KB of item): refused as the caller's error, naming the field, and
 * nothing stored; a stream record quarantined rather than retried until it blocks its shard.
 */
describe('values over DynamoDB’s key and item limits', () => {
  const longCategory = 'c'.repeat(3_000);
  // The 500s log their cause; keep the output clean.
  beforeEach(() => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    return () => spy.mockRestore();
  });

  it('a join key value over 2,048 bytes answers 400 naming entities.category, not 500 INTERNAL', async () => {
    const reply = await post(
      '/get-online-features',
      JSON.stringify({
        features: ['category_transaction_stats:amount_count_7d'],
        entities: { category: [longCategory] },
      }),
    );

    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.json)).toContain('category');
  });

  it('a pushed row whose join key is over 2,048 bytes answers 400 and lands nothing offline', async () => {
    const body = pushBody(1);
    const reply = await post(
      '/push',
      JSON.stringify({ ...body, df: { ...body.df, category: [longCategory] } }),
    );

    expect(reply.status).toBe(400);
    await expectNothingStored();
  });

  /** A shop keyed by a string, streamed, keeping its latest note: what the example's int64-keyed stream views cannot show. */
  const shop = entity({ name: 'shop', joinKeys: { shop: 'string' } });
  const sales = batchSource({
    name: 'sales',
    path: 'data/sales.csv',
    timestampField: 'ts',
    schema: { shop: 'string', ts: 'timestamp', amount: 'float64', note: 'string' },
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
    aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
    fields: { note: 'string' },
  });
  const shops = servingCatalog(
    repoFromRegistry(
      toRegistryObjects(validateFeatureRepo(collectDefinitions([shop, sales, liveSales, shopStats]))),
    ),
  );

  /** One sale through the ingest handler with the default maxRecordBytes (1 MiB): the reply and the result. */
  async function ingestSale(sale: { shop: string; note: string }) {
    const results: IngestResult[] = [];
    const handler = createIngestHandler({
      loadCatalog: async () => ({ catalog: shops }),
      onlineStore: new DynamoDBOnlineStore({ client: dynamo.client, tableName }),
      offlineStore,
      now: () => new Date(NOW),
      onResult: (result) => results.push(result),
      logger: { info: () => {}, error: () => {} },
    });
    const text = JSON.stringify({ ...sale, ts: new Date(NOW - 60_000).toISOString(), amount: 5 });
    const reply = await handler({
      Records: [
        {
          eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/sales',
          eventID: 'shardId-000000000000:1',
          kinesis: {
            partitionKey: 'k',
            sequenceNumber: '1',
            data: Buffer.from(text).toString('base64'),
            approximateArrivalTimestamp: NOW / 1000,
          },
        },
      ],
    } as unknown as KinesisStreamEvent);
    return { reply, result: results[0] };
  }

  it('a stream record whose join key is over 2,048 bytes is quarantined, not failed and retried', async () => {
    const { reply, result } = await ingestSale({ shop: 's'.repeat(3_000), note: 'n' });

    expect(reply).toEqual({ batchItemFailures: [] });
    expect(result).toMatchObject({ quarantined: 1, failed: [] });
  });

  it('a stream record under 1 MiB whose online item would pass 400 KB is quarantined, not failed and retried', async () => {
    const { reply, result } = await ingestSale({ shop: 'a', note: 'n'.repeat(500_000) });

    expect(reply).toEqual({ batchItemFailures: [] });
    expect(result).toMatchObject({ quarantined: 1, failed: [] });
  });
});
