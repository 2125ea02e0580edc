import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { ServeConfigurationError } from '../../lambdas/http/serve-environment.js';
import { createIngestHandler, IngestBatchError, streamNameOf } from '../../lambdas/ingest.js';
import { ingestDependenciesFromEnvironment } from '../../lambdas/kinesis/ingest-environment.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { DeliveredRecord } from '../../lib/services/delivered-records.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { OnlineStore } from '../../lib/stores/online-store.js';
import { OnlineStoreWriteError } from '../../lib/stores/online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { S3ObjectStore } from '../../lib/stores/s3-object-store.js';
import { rawRecord, transactionRecords } from '../support/delivered-records.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const T = Date.parse('2024-05-01T10:00:00.000Z');
const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/transactions';

/** A Kinesis event as Lambda's event source mapping shapes it. */
function kinesisEvent(records: readonly DeliveredRecord[], arn = ARN): KinesisStreamEvent {
  return {
    Records: records.map((record) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: record.arrivalMs / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${record.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/ingest',
      awsRegion: 'eu-west-1',
      eventSourceARN: arn,
    })),
  };
}

let dynamo: DynamoDBFixture;
let dir: string;
let onlineStore: DynamoDBOnlineStore;
const silent = { error: () => {}, info: () => {} };

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  onlineStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  dir = await mkdtemp(join(tmpdir(), 'fstore-ingest-handler-'));
});
afterAll(async () => {
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

const events = [
  { user_id: 11, merchant_id: 3, amount: 12.5, category: 'food', ts: T },
  { user_id: 12, merchant_id: 3, amount: 7, category: 'food', ts: T + 1000 },
];

describe('createIngestHandler', () => {
  it('applies a Kinesis event and reports no failures; a malformed record is quarantined, not failed', async () => {
    const offlineStore = new FileSystemObjectStore({ root: join(dir, 'a') });
    const handler = createIngestHandler({
      loadCatalog: async () => ({ catalog }),
      onlineStore,
      offlineStore,
      logger: silent,
    });

    const reply = await handler(kinesisEvent([...transactionRecords(events), rawRecord('not json', 9, T)]));

    expect(reply).toEqual({ batchItemFailures: [] });
    expect(await offlineStore.list('quarantine/live_transactions/')).toHaveLength(1);
    expect(await offlineStore.list('raw/transactions/dt=2024-05-01/')).toEqual([
      expect.stringMatching(
        /^raw\/transactions\/dt=2024-05-01\/stream-shardId-000000000000-\d+-\d+\.parquet$/,
      ),
    ]);
    const [item] = await onlineStore.read([
      {
        entityKey: 'user_id=i:11',
        view: 'user_transaction_stats',
        version: catalog.views.get('user_transaction_stats')?.version ?? '',
        part: 'stream',
      },
    ]);
    expect(item?.state.eventTs).toBe(T);
  });

  it('returns the sequence numbers of records whose online write failed, and logs why', async () => {
    const failingStore: OnlineStore = {
      read: (keys) => onlineStore.read(keys),
      write: (items) => onlineStore.write(items),
      update: async () => {
        throw new OnlineStoreWriteError('the table is throttled');
      },
    };
    const logged: string[] = [];
    const handler = createIngestHandler({
      loadCatalog: async () => ({ catalog }),
      onlineStore: failingStore,
      offlineStore: new FileSystemObjectStore({ root: join(dir, 'b') }),
      logger: { error: (line: string) => logged.push(line), info: () => {} },
    });
    const records = transactionRecords(events, { firstSequence: 100 });

    const reply = await handler(kinesisEvent(records));

    expect(reply.batchItemFailures).toEqual(
      records.map((record) => ({ itemIdentifier: record.sequenceNumber })),
    );
    expect(logged.map((line) => JSON.parse(line))).toContainEqual({
      level: 'ERROR',
      message: 'ingest failed',
      stream: 'transactions',
      error: '2 records of source "live_transactions": the table is throttled',
    });
  });

  it('throws (so the whole batch is retried) before the first apply', async () => {
    const handler = createIngestHandler({
      loadCatalog: async () => undefined,
      onlineStore,
      offlineStore: new FileSystemObjectStore({ root: join(dir, 'c') }),
      logger: silent,
    });

    await expect(handler(kinesisEvent(transactionRecords(events)))).rejects.toThrow(IngestBatchError);
  });

  it('reads the stream name from the event source ARN', () => {
    expect(streamNameOf(ARN)).toBe('transactions');
    expect(() => streamNameOf('arn:aws:sqs:eu-west-1:123456789012:queue')).toThrow(
      'eventSourceARN "arn:aws:sqs:eu-west-1:123456789012:queue" names no Kinesis stream; the ingest Lambda takes events from a Kinesis event source mapping',
    );
  });
});

describe('ingestDependenciesFromEnvironment', () => {
  it('refuses an environment without the bucket, naming it', () => {
    expect(() =>
      ingestDependenciesFromEnvironment({ FSTORE_PROJECT: 'fraud', FSTORE_ONLINE_TABLE: 'online' }),
    ).toThrow(
      new ServeConfigurationError(
        'environment variable FSTORE_BUCKET (the offline store bucket) is not set; set it on the ingest Lambda (the CDK stack does)',
      ),
    );
  });

  it('builds the stores from a complete environment', () => {
    const deps = ingestDependenciesFromEnvironment({
      FSTORE_PROJECT: 'fraud',
      FSTORE_ONLINE_TABLE: 'online',
      FSTORE_BUCKET: 'fraud-offline',
      FSTORE_MAX_RECORD_BYTES: '65536',
      AWS_REGION: 'eu-west-1',
    });

    expect(deps.onlineStore).toBeInstanceOf(DynamoDBOnlineStore);
    expect(deps.offlineStore).toBeInstanceOf(S3ObjectStore);
    expect(deps.offlineStore.root).toBe('s3://fraud-offline');
    expect(deps.maxRecordBytes).toBe(65536);
  });
});
