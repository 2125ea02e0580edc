import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import type { InvocationReport } from '../../lib/cli/local-event-source-mapping.js';
import { startLocalStreaming } from '../../lib/cli/local-streaming.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { compactRaw } from '../../lib/services/compact-raw.js';
import type { IngestResult } from '../../lib/services/ingest-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { KinesisEventStream } from '../../lib/stores/event-stream.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { ObjectStore } from '../../lib/stores/object-store.js';
import { type OnlineStore, OnlineStoreWriteError } from '../../lib/stores/online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { type Fault, faultyObjectStore } from '../support/faulty-object-store.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import { withRoundedMoments } from '../support/rounded-moments.js';

/**
 * The streaming path on one machine (kinesalite, the pollers, the ingest handler, dynalite) with an
 * offline store whose raw-area `put` fails on some calls: the batch whose landing failed is reported failed
 * (`batchItemFailures`), nothing of it is served, the poller delivers it again, and in the end the raw area,
 * once compacted, holds exactly one row per record, and the online state is that of a run without faults.
 */
const catalog = servingCatalog(
  repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))))),
);
const silent = { info: () => {}, warn: () => {}, error: () => {} };
const EVENTS = 240;
/** Two records no view can take, so quarantine puts happen beside the landings (and are never faulted). */
const MALFORMED = ['{"user_id": 1, "amount"', '{"merchant_id": 3, "amount": 1}'];

let dynamo: DynamoDBFixture;
let engine: DuckDBEngine;
let dir: string;
let runs = 0;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  engine = await DuckDBEngine.create({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'fstore-raw-landing-'));
});
afterAll(async () => {
  await engine?.close();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SentEvent {
  readonly user_id: number;
  readonly merchant_id: number;
  readonly amount: number;
  readonly category: string;
  readonly transaction_date: string;
}

/** Events of 30 users and 7 merchants over the last 40 minutes (within the example's allowed lateness). */
function events(now: number): SentEvent[] {
  return Array.from({ length: EVENTS }, (_, index) => ({
    user_id: 1 + (index % 30),
    merchant_id: 1 + (index % 7),
    amount: (index % 13) + 0.5,
    category: index % 3 === 0 ? 'food' : 'transport',
    transaction_date: new Date(now - 2_400_000 + index * 9_000).toISOString(),
  }));
}

/**
 * `store` with `faults` on its `put` calls under `raw/` only (counted among those; quarantine and failure
 * records are written as they are). Each fault is a `faultyObjectStore` of its own, stacked.
 */
function faultyRawPuts(store: ObjectStore, faults: readonly Fault[]): ObjectStore {
  const faulty = faults.reduce((inner, fault) => faultyObjectStore(inner, fault), store);
  return {
    root: store.root,
    put: (key, body) => (key.startsWith('raw/') ? faulty.put(key, body) : store.put(key, body)),
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    delete: (keys) => store.delete(keys),
    copy: (from, to) => store.copy(from, to),
    move: (from, to) => store.move(from, to),
    localPath: (key) => store.localPath(key),
    uri: (key) => store.uri(key),
  };
}

/** Streams the events (and the malformed records) into a fresh table and offline folder; waits until applied. */
async function streamThrough(
  sent: readonly SentEvent[],
  faults: readonly Fault[],
  wrapOnline: (store: OnlineStore) => OnlineStore = (store) => store,
) {
  runs += 1;
  const tableName = `online_${runs}`;
  await ensureOnlineTable(dynamo.client, tableName);
  const offlineStore = new FileSystemObjectStore({ root: join(dir, `offline_${runs}`) });
  const results: IngestResult[] = [];
  const invocations: InvocationReport[] = [];
  const streaming = await startLocalStreaming({
    loadCatalog: async () => ({ catalog }),
    onlineStore: wrapOnline(new DynamoDBOnlineStore({ client: dynamo.client, tableName, baseDelayMs: 1 })),
    offlineStore: faultyRawPuts(offlineStore, faults),
    shards: 2,
    batchSize: 20,
    idlePollMs: 10,
    onResult: (result) => results.push(result),
    onInvocation: (report) => invocations.push(report),
    logger: silent,
  });
  try {
    const stream = new KinesisEventStream({ client: streaming.client, streamName: 'transactions' });
    const encoded = [
      ...sent.map((event) => ({
        partitionKey: String(event.user_id),
        data: new TextEncoder().encode(JSON.stringify(event)),
      })),
      ...MALFORMED.map((text, index) => ({
        partitionKey: `bad-${index}`,
        data: new TextEncoder().encode(text),
      })),
    ];
    // In waves while the pollers run, so batches are cut differently from one run to the next.
    for (let start = 0; start < encoded.length; start += 60) {
      await stream.put(encoded.slice(start, start + 60));
    }
    await streaming.caughtUp();
  } finally {
    await streaming.close();
  }
  const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  const states = Object.fromEntries(
    Items.map((item) => {
      const state = JSON.parse(item.state?.S ?? 'null');
      // throughTs records when the latest batch ran; positions are kinesalite's own sequence numbers.
      return [`${item.pk?.S}|${item.sk?.S}`, { ...state, throughTs: undefined }];
    }),
  );
  return { offlineStore, states, results, invocations };
}

type LandedRow = {
  record: string;
  user: number;
  merchant: number;
  amount: number;
  category: string;
  at: string;
};

/** Every row of the raw area of `transactions`, read with DuckDB, sorted by record id. */
async function rawRows(store: FileSystemObjectStore): Promise<LandedRow[]> {
  const files = (await store.list('raw/transactions/')).filter((key) => key.endsWith('.parquet'));
  if (files.length === 0) return [];
  const list = files.map((key) => stringLiteral(join(store.root, key))).join(', ');
  const rows = await engine.query(
    `SELECT _record_id, user_id, merchant_id, amount, category, epoch_ms(transaction_date) AS at_ms
     FROM read_parquet([${list}], union_by_name = true) ORDER BY _record_id`,
  );
  return rows.map((row) => ({
    record: String(row._record_id),
    user: Number(row.user_id),
    merchant: Number(row.merchant_id),
    amount: Number(row.amount),
    category: String(row.category),
    at: new Date(Number(row.at_ms)).toISOString(),
  }));
}

/** The rows without their record ids (kinesalite numbers records anew in each run), as sorted JSON lines. */
function contents(rows: readonly LandedRow[]): string[] {
  return rows.map(({ record: _record, ...values }) => JSON.stringify(values)).sort();
}

function sentContents(sent: readonly SentEvent[]): string[] {
  return sent
    .map((event) =>
      JSON.stringify({
        user: event.user_id,
        merchant: event.merchant_id,
        amount: event.amount,
        category: event.category,
        at: event.transaction_date,
      }),
    )
    .sort();
}

/**
 * Fails, twice (the batch's update and the ingest's retry of that entity alone), the update of the last
 * user of the first user-view update holding several users. That user's records are reported failed, and the
 * poller delivers the batch again from the first of them: a cut of its own, so the records after it land a
 * second time under another file name, and the raw area holds copies that only `_record_id` tells apart.
 */
function failOneUserTwice(store: OnlineStore): OnlineStore {
  let target: string | undefined;
  let failures = 0;
  return {
    read: (keys) => store.read(keys),
    write: (items) => store.write(items),
    update: async (keys, change) => {
      const users = keys.filter((key) => key.view === 'user_transaction_stats');
      if (target === undefined && users.length > 1) target = users.at(-1)?.entityKey;
      if (failures < 2 && users.some((key) => key.entityKey === target)) {
        failures += 1;
        throw new OnlineStoreWriteError(`injected: the update of ${target} failed`);
      }
      return store.update(keys, change);
    },
  };
}

describe('a raw landing that fails on some calls', () => {
  it('fails the batch, is delivered again, and ends with one raw row per record and the online state of a run without faults', async () => {
    const now = Date.now();
    const sent = events(now);
    const clean = await streamThrough(sent, []);
    // Stacked, outermost last: raw puts 2 and 8 fail, and 5 lands its file but loses its reply.
    const faulty = await streamThrough(
      sent,
      [
        { operation: 'put', onCall: 7 },
        { operation: 'put', onCall: 4, landed: true },
        { operation: 'put', onCall: 2 },
      ],
      failOneUserTwice,
    );

    // Three landings failed, each reported as the failure of every record of its batch, with the cause.
    const failedResults = faulty.results.filter((result) =>
      result.errors.some((error) => error.includes('injected failure of put')),
    );
    expect(failedResults).toHaveLength(3);
    for (const result of failedResults) {
      expect(result.failed).toHaveLength(result.records - result.quarantined);
      expect(result.applied).toBe(0);
      expect(result.itemsUpdated).toBe(0);
      expect(result.errors).toEqual([expect.stringMatching(/injected failure of put call \d/)]);
    }
    // Each was delivered again by the poller, from its first failed record on, and then applied.
    const sequencesOf = (report: InvocationReport) =>
      report.event.Records.map((record) => record.kinesis.sequenceNumber);
    for (const result of failedResults) {
      const first = result.failed[0];
      const at = faulty.invocations.findIndex(
        (report) => report.outcome === 'partial-failure' && sequencesOf(report).includes(first as string),
      );
      const failedReport = faulty.invocations[at] as InvocationReport;
      const redelivery = faulty.invocations
        .slice(at + 1)
        .find((report) => report.shardId === failedReport.shardId && sequencesOf(report)[0] === first);
      expect(redelivery?.retryAttempt).toBe(failedReport.retryAttempt + 1);
      expect(sequencesOf(redelivery as InvocationReport)).toEqual(expect.arrayContaining([...result.failed]));
      // The redelivery can meet the next fault in turn; a later one succeeds.
      const applied = faulty.invocations
        .slice(at + 1)
        .find(
          (report) =>
            report.shardId === failedReport.shardId &&
            report.outcome === 'success' &&
            result.failed.every((sequence) => sequencesOf(report).includes(sequence)),
        );
      expect(applied).toBeDefined();
    }
    expect(await faulty.offlineStore.list('stream-failures/')).toEqual([]);
    expect(faulty.results.reduce((total, result) => total + result.quarantined, 0)).toBe(MALFORMED.length);

    // Every record landed; the batch redelivered from its failed user landed its later records twice.
    const landed = await rawRows(faulty.offlineStore);
    expect(new Set(landed.map((row) => row.record)).size).toBe(EVENTS);
    expect(landed.length).toBeGreaterThan(EVENTS);

    const compactions = await compactRaw({ store: faulty.offlineStore, source: transactions.transactions });
    const compacted = await rawRows(faulty.offlineStore);

    expect(compactions.reduce((total, result) => total + result.rowsOut, 0)).toBe(EVENTS);
    expect(compacted).toHaveLength(EVENTS);
    expect(new Set(compacted.map((row) => row.record)).size).toBe(EVENTS);
    expect(contents(compacted)).toEqual(sentContents(sent));
    const files = await faulty.offlineStore.list('raw/transactions/');
    expect(files.every((key) => /\/compacted-\d+-[0-9a-f-]+\.parquet$/.test(key))).toBe(true);
    // The clean run's raw area holds the same rows.
    await compactRaw({ store: clean.offlineStore, source: transactions.transactions });
    expect(contents(await rawRows(clean.offlineStore))).toEqual(contents(compacted));

    // Online: every event folded in exactly once.
    expect(clean.results.every((result) => result.failed.length === 0)).toBe(true);
    expect(Object.keys(clean.states)).toHaveLength(30 + 7);
    expect(withRoundedMoments(faulty.states)).toEqual(withRoundedMoments(clean.states));
  });
});
