/**
 * bench:materialize - 1,000,000 entities written into the online store (dynalite), side by side:
 *
 * - ours: `materialize` end to end: DuckDB computes each entity's state (latest-value fields and hop
 *   tiles of two windows), the rows stream out in chunks, `DynamoDBOnlineStore` writes them with its
 *   newer-only check (one BatchGetItem per 100 items, then BatchWriteItem puts, 25 a call);
 * - raw: the very items ours wrote (keys, attributes and state JSON recorded by an untimed first pass),
 *   read back from a file and written with plain `BatchWriteItemCommand`, 25 a call, 16 calls in flight
 *   (the store's concurrency), unprocessed items retried.
 *
 * Each contender gets a fresh in-memory dynalite, run by `startLocalDynamoDB` in a child process so the
 * server neither shares this process's event loop nor counts in its memory. The peak RSS of this process
 * is sampled every 100 ms while ours runs. Prints progress lines, then one JSON line. Figures, not
 * assertions: nothing here fails on a time.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { batchSource, collectDefinitions, entity, featureView, validateFeatureRepo } from 'fstore';
import { stringLiteral } from '../lib/compute/sql-literals.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { materialize } from '../lib/services/materialize.js';
import { servingCatalog } from '../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { createDynamoDBClient } from '../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import type { OnlineItem, OnlineStore, OnlineWriteResult } from '../lib/stores/online-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { runDynaliteChild, startChild } from './child-process.js';
import { ratio, round, secondsSince, timeSideBySide } from './measure.js';

const ENTITIES = Number(process.env.FSTORE_BENCH_ENTITIES ?? 1_000_000);
const TABLE = 'fstore_online';
/** The states are as of this time; every source row falls in the 7 days before it. */
const END = new Date('2024-01-08T00:00:00Z');
const SPAN_MS = 7 * 86_400_000;
/** Rows the engine hands over at a time (materialize's default). */
const CHUNK_ROWS = Number(process.env.FSTORE_BENCH_CHUNK_ROWS ?? 2_000);
/** The store's defaults, which raw matches. */
const BATCH_WRITE_ITEMS = 25;
const CONCURRENCY = 16;
const RSS_SAMPLE_MS = 100;
/** Attributes raw rebuilds from the recorded items; any other attribute of ours' items is copied as is. */
const RECORDED_ATTRIBUTES = new Set(['pk', 'sk', 'event_ts', 'through_ts', 'state', 'expires_at']);

function log(line: string): void {
  console.error(`[bench:materialize] ${line}`);
}

/** A dynalite in a child process of this script (see the bottom of this file). */
interface Backend {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const child = startChild(fileURLToPath(import.meta.url), ['--dynalite']);
  const endpoint = await child.next();
  const client = createDynamoDBClient({ endpoint });
  await ensureOnlineTable(client, TABLE);
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await child.close();
    },
  };
}

/**
 * An online store that writes every item it is given to a file, one line each: key, sort key, event and
 * through times, expiry and the state as JSON, tab-separated (JSON never holds a raw tab). Used by the
 * untimed first pass, so raw writes exactly the items ours writes.
 */
class RecordingStore implements OnlineStore {
  constructor(private readonly out: WriteStream) {}

  async read(): Promise<never> {
    throw new Error('RecordingStore only records writes');
  }

  async update(): Promise<never> {
    throw new Error('RecordingStore only records writes');
  }

  async write(items: readonly OnlineItem[]): Promise<OnlineWriteResult> {
    let text = '';
    for (const item of items) {
      text += `${item.entityKey}\t${item.view}#${item.version}\t${item.state.eventTs}\t${item.state.throughTs}\t${item.expiresAtMs === undefined ? '' : Math.ceil(item.expiresAtMs / 1000)}\t${JSON.stringify(item.state)}\n`;
    }
    if (!this.out.write(text)) await once(this.out, 'drain');
    return { written: items.length, skipped: 0 };
  }
}

function parseRecorded(line: string, extra: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const [pk = '', sk = '', eventTs = '', throughTs = '', expires = '', ...state] = line.split('\t');
  return {
    pk: { S: pk },
    sk: { S: sk },
    ...extra,
    event_ts: { N: eventTs },
    through_ts: { N: throughTs },
    state: { S: state.join('\t') },
    ...(expires === '' ? {} : { expires_at: { N: expires } }),
  };
}

/** Writes every recorded item with BatchWriteItem, `BATCH_WRITE_ITEMS` a call, `CONCURRENCY` calls in flight. */
async function rawWrite(
  client: DynamoDBClient,
  file: string,
  extra: Record<string, AttributeValue>,
): Promise<{ items: number; calls: number; retried: number }> {
  let items = 0;
  let calls = 0;
  let retried = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const send = async (batch: WriteRequest[]): Promise<void> => {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      calls++;
      const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }));
      pending = output.UnprocessedItems?.[TABLE] ?? [];
      if (pending.length === 0) return;
      retried += pending.length;
      if (attempt >= 8) throw new Error(`${pending.length} items stayed unprocessed after ${attempt} calls`);
      await sleep(Math.random() * Math.min(1000, 20 * 2 ** (attempt - 1)));
    }
  };
  const launch = (batch: WriteRequest[]): void => {
    const call: Promise<void> = send(batch).then(
      () => {
        inFlight.delete(call);
      },
      (error: unknown) => {
        inFlight.delete(call);
        failure ??= error;
      },
    );
    inFlight.add(call);
  };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let batch: WriteRequest[] = [];
  for await (const line of lines) {
    if (line === '') continue;
    batch.push({ PutRequest: { Item: parseRecorded(line, extra) } });
    items++;
    if (batch.length === BATCH_WRITE_ITEMS) {
      launch(batch);
      batch = [];
      while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      if (failure) throw failure;
    }
  }
  if (batch.length > 0) launch(batch);
  await Promise.all(inFlight);
  if (failure) throw failure;
  return { items, calls, retried };
}

/** Samples this process's RSS every `RSS_SAMPLE_MS` until stopped; returns the peak in MB. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return round(peak / 1024 / 1024, 1);
    },
  };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-materialize-'));
  const engine = await DuckDBEngine.create();
  let backend: Backend | undefined;
  const freshBackend = async (): Promise<Backend> => {
    await backend?.close();
    backend = undefined;
    backend = await startBackend();
    return backend;
  };
  try {
    // One row per entity: a time in the 7 days before END and four numbers.
    const sourceFile = join(work, 'entities.parquet');
    let started = process.hrtime.bigint();
    await engine.run(`COPY (
        SELECT CAST(i + 1 AS BIGINT) AS entity_id,
          make_timestamp((${END.getTime() - SPAN_MS} + CAST(hash(i) % ${SPAN_MS} AS BIGINT)) * 1000) AS ts,
          CAST(hash(i * 4 + 1) % 1000000 AS DOUBLE) / 1000 AS f1,
          CAST(hash(i * 4 + 2) % 1000000 AS DOUBLE) / 1000 - 500 AS f2,
          CAST(hash(i * 4 + 3) % 1000 AS DOUBLE) AS f3,
          CAST(hash(i * 4 + 4) % 100000 AS DOUBLE) / 100 AS amount
        FROM range(${ENTITIES}) AS t(i)
      ) TO ${stringLiteral(sourceFile)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    log(`generated ${ENTITIES} entities (one row each) in ${secondsSince(started)} s: ${sourceFile}`);

    const thing = entity({ name: 'thing', joinKeys: { entity_id: 'int64' } });
    const things = batchSource({
      name: 'things',
      path: sourceFile,
      format: 'parquet',
      timestampField: 'ts',
      schema: {
        entity_id: 'int64',
        ts: 'timestamp',
        f1: 'float64',
        f2: 'float64',
        f3: 'float64',
        amount: 'float64',
      },
    });
    const view = featureView({
      name: 'thing_stats',
      entities: [thing],
      source: things,
      fields: { f1: 'float64', f2: 'float64', f3: 'float64' },
      aggregations: [{ column: 'amount', functions: ['sum', 'count'], windows: ['1d', '7d'] }],
      ttl: '30d',
    });
    const catalog = servingCatalog(
      repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions([thing, things, view])))),
    );
    const sortKey = `${view.name}#${catalog.views.get(view.name)?.version ?? ''}`;
    const common = {
      engine,
      offlineStore: new FileSystemObjectStore({ root: join(work, 'offline') }),
      catalog,
      sourceRelation: (definition: { source: Parameters<typeof batchSourceOf>[0] }) =>
        duckdbSourceRelation(batchSourceOf(definition.source), work),
      end: END,
      chunkRows: CHUNK_ROWS,
    };

    // Untimed first pass: the items ours writes, recorded for raw (and the source file cached by the OS).
    const recorded = join(work, 'items.tsv');
    started = process.hrtime.bigint();
    const out = createWriteStream(recorded);
    // Its own engine, closed before ours runs, so what it holds does not count in ours' memory.
    const firstEngine = await DuckDBEngine.create();
    let firstPass: Awaited<ReturnType<typeof materialize>>;
    try {
      firstPass = await materialize({ ...common, engine: firstEngine, onlineStore: new RecordingStore(out) });
    } finally {
      await firstEngine.close();
    }
    out.end();
    await once(out, 'finish');
    log(
      `recorded ${firstPass.views[0]?.items} items in ${secondsSince(started)} s (states computed, no store): ${recorded}`,
    );

    let oursItems = 0;
    let oursWritten = 0;
    let peakRssMb = 0;
    let rssAtStartMb = 0;
    let extra: Record<string, AttributeValue> = {};
    let sampleItemBytes = 0;
    let rawResult: Awaited<ReturnType<typeof rawWrite>> | undefined;
    log(
      `timing ours (materialize, chunkRows ${CHUNK_ROWS}) and raw BatchWriteItem, each on a fresh dynalite`,
    );
    const timings = await timeSideBySide(
      {
        ours: {
          before: async () => {
            await freshBackend();
          },
          work: async () => {
            const client = (backend as Backend).client;
            const store = new DynamoDBOnlineStore({ client, tableName: TABLE, concurrency: CONCURRENCY });
            const runStart = process.hrtime.bigint();
            let lastLog = runStart;
            rssAtStartMb = round(process.memoryUsage.rss() / 1024 / 1024, 1);
            const rss = rssSampler();
            try {
              const result = await materialize({
                ...common,
                onlineStore: store,
                onProgress: (p) => {
                  const now = process.hrtime.bigint();
                  if (now - lastLog < 15_000_000_000n) return;
                  lastLog = now;
                  log(`  ours: ${p.items} items, ${p.written} written after ${secondsSince(runStart)} s`);
                },
              });
              oursItems = result.views[0]?.items ?? 0;
              oursWritten = result.views[0]?.written ?? 0;
            } finally {
              peakRssMb = rss.stop();
            }
          },
        },
        raw: {
          before: async () => {
            // What else ours' items hold (a revision token, say), so raw writes the same attributes. Ours'
            // dynalite is still up: read one of its items before replacing it.
            const sample = await (backend as Backend).client.send(
              new GetItemCommand({
                TableName: TABLE,
                Key: { pk: { S: 'entity_id=i:1' }, sk: { S: sortKey } },
              }),
            );
            const item = sample.Item ?? {};
            extra = Object.fromEntries(
              Object.entries(item).filter(([name]) => !RECORDED_ATTRIBUTES.has(name)),
            );
            sampleItemBytes = Object.entries(item).reduce(
              (total, [name, value]) => total + name.length + (value.S?.length ?? value.N?.length ?? 0),
              0,
            );
            await freshBackend();
          },
          work: async () => {
            rawResult = await rawWrite((backend as Backend).client, recorded, extra);
          },
        },
      },
      log,
    );
    log(
      `ours: ${oursItems} items, ${oursWritten} written; raw: ${rawResult?.items} items in ${rawResult?.calls} calls (${rawResult?.retried} retried); item ~${sampleItemBytes} bytes, extra attributes: ${Object.keys(extra).join(', ') || 'none'}`,
    );

    const oursSeconds = timings.ours?.seconds ?? Number.NaN;
    const rawSeconds = timings.raw?.seconds ?? Number.NaN;
    const rowsPerS = Math.round(oursItems / oursSeconds);
    const rawRowsPerS = Math.round((rawResult?.items ?? 0) / rawSeconds);
    const oursVsRaw = ratio(rowsPerS, rawRowsPerS);
    log(`ours' RSS: ${rssAtStartMb} MB when it started, ${peakRssMb} MB at its peak`);
    log(
      `targets: ratio >= 0.8: ${oursVsRaw !== null && oursVsRaw >= 0.8 ? 'met' : 'NOT met'} (${oursVsRaw}); peak RSS <= 300 MB: ${peakRssMb <= 300 ? 'met' : 'NOT met'} (${peakRssMb} MB)`,
    );
    console.log(
      JSON.stringify({
        bench: 'materialize',
        rows: oursItems,
        rows_per_s: rowsPerS,
        raw_rows_per_s: rawRowsPerS,
        ratio: oursVsRaw,
        peak_rss_mb: peakRssMb,
        rss_at_start_mb: rssAtStartMb,
        ours_s: oursSeconds,
        raw_s: rawSeconds,
        chunk_rows: CHUNK_ROWS,
        concurrency: CONCURRENCY,
        item_bytes: sampleItemBytes,
        runs: { ours: timings.ours?.runs, raw: timings.raw?.runs },
      }),
    );
  } finally {
    await backend?.close();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--dynalite') await runDynaliteChild();
else await main();
