/**
 * bench:streaming - events through the whole local streaming path: a producer puts JSON records on a
 * Kinesis stream (kinesalite, in a child process); pollers that behave like Lambda's event source mapping
 * (one per shard, batch size 100) hand them to the ingest handler, which checks them, lands them as
 * Parquet in the raw area and folds them into the online states (dynalite, in another child process) of
 * the transactions example: each event updates a user item and a merchant item.
 *
 * Three phases: a warm-up of 2,000 events (not measured); `--events` (100,000) put at a steady `--rate`
 * (800/s), for freshness; then a burst of `--burst` (20,000) put as fast as the stream takes them, for the
 * throughput the path sustains with a backlog. Freshness of an event is the time from just before its
 * PutRecords call to the end of the handler invocation that applied it (its online items written, so a
 * read from then on sees it). After the run every event must be applied exactly once (the 7-day counts of
 * all users add up to the events put) and none failed. Prints progress, then one JSON line. Figures, not
 * assertions.
 *
 * Usage: node dist/bench/streaming.js [--events N] [--rate N] [--burst N] [--shards N] [--batch-size N]
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
/** Events put first at the paced rate and left out of the figures, while the JIT and the connections warm up. */
const WARM_UP = 2_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '800' },
      burst: { type: 'string', default: '20000' },
      shards: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const events = Number(values.events);
  const rate = Number(values.rate);
  const burst = Number(values.burst);
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
    const total = WARM_UP + events + burst;
    const putAt = new Float64Array(total);
    const appliedAt = new Float64Array(total);
    let applied = 0;
    let failed = 0;
    let quarantined = 0;
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
        if (report.outcome !== 'success') return;
        for (const record of report.event.Records) {
          const index = Number(JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString()).bench_index);
          appliedAt[index] = report.finishedAt;
        }
      },
      logger: { info: () => {}, warn: console.error, error: console.error },
    });
    const stream = new KinesisEventStream({ client: streaming.client, streamName: 'transactions' });
    /** Puts events [first, first + count) at `perSecond` (Infinity: as fast as the stream takes them). */
    const put = async (first: number, count: number, perSecond: number) => {
      const started = Date.now();
      let sent = 0;
      while (sent < count) {
        const due = Math.min(count, Math.floor(((Date.now() - started) / 1000) * perSecond) + 1);
        if (due <= sent) {
          await new Promise((resolveTick) => setTimeout(resolveTick, TICK_MS));
          continue;
        }
        const records: StreamRecord[] = [];
        const now = Date.now();
        for (let index = first + sent; index < first + Math.min(due, sent + 500); index++) {
          putAt[index] = now;
          records.push(eventRecord(index, now));
        }
        await stream.put(records);
        sent += records.length;
      }
      await streaming.caughtUp();
    };
    const progress = setInterval(() => console.error(`  applied ${applied}`), 10_000);
    console.error(`warm-up: ${WARM_UP} events at ${rate}/s...`);
    await put(0, WARM_UP, rate);
    console.error(`freshness: ${events} events at ${rate}/s on ${shards} shards...`);
    await put(WARM_UP, events, rate);
    console.error(`throughput: ${burst} events at once...`);
    await put(WARM_UP + events, burst, Number.POSITIVE_INFINITY);
    clearInterval(progress);
    await streaming.close();

    const paced = range(WARM_UP, events);
    const freshness = Float64Array.from(
      paced,
      (index) => (appliedAt[index] ?? 0) - (putAt[index] ?? 0),
    ).sort();
    const pacedSeconds = (maxOf(appliedAt, paced) - (putAt[WARM_UP] ?? 0)) / 1000;
    const burstRange = range(WARM_UP + events, burst);
    const burstSeconds = (maxOf(appliedAt, burstRange) - (putAt[WARM_UP + events] ?? 0)) / 1000;
    const counted = await countedEvents(catalog, onlineStore);
    console.log(
      JSON.stringify({
        bench: 'streaming',
        events,
        events_per_s: round(events / pacedSeconds, 0),
        freshness_p50_ms: round(percentile(freshness, 0.5), 1),
        freshness_p99_ms: round(percentile(freshness, 0.99), 1),
        freshness_max_ms: round(percentile(freshness, 1), 1),
        rate: rate,
        burst_events: burst,
        burst_events_per_s: round(burst / burstSeconds, 0),
        burst_events_per_s_per_shard: round(burst / burstSeconds / shards, 0),
        shards,
        batch_size: batchSize,
        concurrency,
        applied,
        quarantined,
        failed,
        counted_online: counted,
      }),
    );
  } finally {
    client.destroy();
    await kinesalite.close();
    await dynalite.close();
    await rm(work, { recursive: true, force: true });
  }
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

function maxOf(values: Float64Array, indexes: readonly number[]): number {
  let max = 0;
  for (const index of indexes) max = Math.max(max, values[index] ?? 0);
  return max;
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
