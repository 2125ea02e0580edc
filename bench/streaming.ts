/**
 * bench:streaming - events through the whole local streaming path: a producer puts JSON records on a
 * Kinesis stream (kinesalite, in a child process) at a fixed rate; pollers that behave like Lambda's event
 * source mapping (one per shard, batch size 100) hand them to the ingest handler, which checks them, lands
 * them as Parquet in the raw area and folds them into the online states (dynalite, in another child
 * process) of the transactions example: each event updates a user item and a merchant item.
 *
 * Freshness of an event is the time from just before its PutRecords call to the end of the handler
 * invocation that applied it (its online items written, so a read from then on sees it). Throughput is
 * events applied per second from the first put to the last applied event. After the run, the events
 * applied are checked: every event is applied exactly once (the 7-day counts of all users add up to the
 * events put), none failed. Prints progress, then one JSON line. Figures, not assertions.
 *
 * Usage: node dist/bench/streaming.js [--events N] [--rate N] [--shards N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { collectDefinitions, validateFeatureRepo } from 'fstore';
import * as transactions from '../examples/transactions/features.js';
import { startLocalStreaming } from '../lib/cli/local-streaming.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { getOnlineFeatures } from '../lib/services/get-online-features.js';
import { servingCatalog } from '../lib/services/serving-catalog.js';
import { createDynamoDBClient } from '../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { KinesisEventStream, type StreamRecord } from '../lib/stores/event-stream.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { runDynaliteChild, runKinesaliteChild, startChild } from './child-process.js';
import { percentile, round } from './measure.js';

const TABLE = 'fstore_online';
const USERS = 10_000;
const MERCHANTS = 500;
/** The producer puts what is due every tick. */
const TICK_MS = 10;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '2000' },
      shards: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const events = Number(values.events);
  const rate = Number(values.rate);
  const shards = Number(values.shards);
  const batchSize = Number(values['batch-size']);
  const concurrency = Number(values.concurrency);
  const script = fileURLToPath(import.meta.url);
  const dynalite = startChild(script, ['--dynalite']);
  const kinesalite = startChild(script, ['--kinesalite']);
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-streaming-'));
  const client = createDynamoDBClient({ endpoint: await dynalite.next() });
  const kinesisEndpoint = await kinesalite.next();
  try {
    await ensureOnlineTable(client, TABLE);
    const catalog = servingCatalog(
      repoFromRegistry(
        toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions)))),
      ),
    );
    const onlineStore = new DynamoDBOnlineStore({ client, tableName: TABLE, concurrency });
    const putAt = new Float64Array(events);
    const freshness = new Float64Array(events);
    let applied = 0;
    let failed = 0;
    let quarantined = 0;
    let lastAppliedAt = 0;
    const streaming = await startLocalStreaming({
      loadCatalog: async () => ({ catalog }),
      onlineStore,
      offlineStore: new FileSystemObjectStore({ root: join(work, 'offline') }),
      shards,
      batchSize,
      idlePollMs: 100,
      kinesisEndpoint,
      onResult: (result) => {
        applied += result.applied;
        failed += result.failed.length;
        quarantined += result.quarantined;
      },
      onInvocation: (report) => {
        if (process.env.BENCH_DEBUG)
          console.error(
            `inv ${report.shardId} n=${report.event.Records.length} dur=${report.finishedAt - report.startedAt}`,
          );
        if (report.outcome !== 'success') return;
        for (const record of report.event.Records) {
          const index = Number(JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString()).bench_index);
          freshness[index] = report.finishedAt - (putAt[index] ?? 0);
        }
        lastAppliedAt = report.finishedAt;
      },
      logger: { info: () => {}, warn: console.error, error: console.error },
    });
    const stream = new KinesisEventStream({ client: streaming.client, streamName: 'transactions' });
    console.error(`putting ${events} events at ${rate}/s on ${shards} shards...`);
    const started = Date.now();
    let sent = 0;
    const progress = setInterval(() => console.error(`  put ${sent}, applied ${applied}`), 5_000);
    while (sent < events) {
      const due = Math.min(events, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
      if (due <= sent) {
        await new Promise((resolveTick) => setTimeout(resolveTick, TICK_MS));
        continue;
      }
      const records: StreamRecord[] = [];
      const now = Date.now();
      for (let index = sent; index < due; index++) {
        putAt[index] = now;
        records.push(eventRecord(index, now));
      }
      await stream.put(records);
      sent = due;
    }
    await streaming.caughtUp();
    clearInterval(progress);
    await streaming.close();
    const seconds = (lastAppliedAt - started) / 1000;
    const sorted = Float64Array.from(freshness).sort();
    const counted = await countedEvents(catalog, onlineStore);
    console.log(
      JSON.stringify({
        bench: 'streaming',
        events,
        events_per_s: round(applied / seconds, 0),
        events_per_s_per_shard: round(applied / seconds / shards, 0),
        freshness_p50_ms: round(percentile(sorted, 0.5), 1),
        freshness_p99_ms: round(percentile(sorted, 0.99), 1),
        freshness_max_ms: round(percentile(sorted, 1), 1),
        rate_target: rate,
        shards,
        batch_size: batchSize,
        concurrency,
        applied,
        quarantined,
        failed,
        counted_online: counted,
        seconds: round(seconds, 1),
      }),
    );
  } finally {
    client.destroy();
    await kinesalite.close();
    await dynalite.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Event `index`: a user and merchant spread over the keys, an amount, its event time a little before now. */
function eventRecord(index: number, now: number): StreamRecord {
  const userId = 1 + ((index * 7919) % USERS);
  return {
    partitionKey: String(userId),
    data: new TextEncoder().encode(
      JSON.stringify({
        user_id: userId,
        merchant_id: 1 + (index % MERCHANTS),
        amount: (index % 1000) / 10,
        category: 'food',
        transaction_date: new Date(now - (index % 50)).toISOString(),
        bench_index: index,
      }),
    ),
  };
}

/** The 7-day event counts of every user, added up: the events the online store holds. */
async function countedEvents(
  catalog: ReturnType<typeof servingCatalog>,
  store: DynamoDBOnlineStore,
): Promise<number> {
  let total = 0;
  for (let first = 1; first <= USERS; first += 1000) {
    const users = Array.from({ length: Math.min(1000, USERS - first + 1) }, (_, i) => first + i);
    const response = await getOnlineFeatures({
      catalog,
      store,
      request: { features: ['user_transaction_stats:amount_count_7d'], entities: { user_id: users } },
    });
    for (const value of response.results[1]?.values ?? []) total += Number(value ?? 0);
  }
  return total;
}

if (process.argv[2] === '--dynalite') await runDynaliteChild();
else if (process.argv[2] === '--kinesalite') await runKinesaliteChild();
else await main();
