/**
 * bench:serving - `POST /get-online-features` through the local HTTP API, Feast's published benchmark
 * shapes (1 entity x 50 features, 100 entities x 50 features), side by side with raw reads:
 *
 * - ours: `fetch` (undici, keep-alive) -> `startLocalApiServer` -> `createServeHandler` (middy, body
 *   parsing, `getOnlineFeatures`: one BatchGetItem per 100 (entity, view) items, state JSON parsed,
 *   features computed from hop tiles) -> JSON reply, 8 requests in flight;
 * - raw: the very same keys read by `BatchGetItemCommand` straight from the same dynalite, one call per
 *   request, 8 calls in flight.
 *
 * The view has 50 features over one source (10 latest-value fields, 40 window aggregations), materialized
 * for 10,000 entities into an in-memory dynalite that `startLocalDynamoDB` runs in a child process; the
 * server runs in a second child process, so neither shares the load generator's event loop. Each shape: a warm-up of 100 requests for each
 * contender, then three rounds of 2,000 requests each, in turn; figures are the medians of the rounds.
 * BatchGetItem calls of the server's client are counted by a middleware. Prints progress lines, then one
 * JSON line per shape. Figures, not assertions: nothing here fails on a time.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '../lib/stores/dynamodb-client.js';
import { encodeEntityKey } from '../lib/stores/online-entity-key.js';
import { runDynaliteChild, startChild } from './child-process.js';
import { median, percentile, ratio, round } from './measure.js';
import { distinctEntities, prepareServedView, seededRandom, startBenchServer, TABLE } from './served-view.js';

const REQUESTS = 2_000;
const WARM_UP = 100;
const ROUNDS = 3;
const IN_FLIGHT = 8;
const SHAPES = [
  { name: '1x50', entities: 1 },
  { name: '100x50', entities: 100 },
] as const;

function log(line: string): void {
  console.error(`[bench:serving] ${line}`);
}

/**
 * Runs in a child: the HTTP API (`startLocalApiServer` + `createServeHandler`) over the dynalite at
 * `endpoint`, its URL on stdout. A line `count` on stdin answers how many BatchGetItem calls its client
 * made; closing stdin stops it. A process of its own, as a server is: the load generator does not share
 * its event loop.
 */
async function runServerChild(endpoint: string, sourceFile: string): Promise<void> {
  const { server, batchGets, close } = await startBenchServer(endpoint, sourceFile);
  process.stdout.write(`${server.url}\n`);
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line.trim() === 'count') process.stdout.write(`${batchGets()}\n`);
  });
  await once(commands, 'close');
  await close();
  process.exit(0);
}

interface Latencies {
  /** Per request, milliseconds. */
  readonly ms: Float64Array;
  readonly wallMs: number;
}

/** Calls `send(i)` for i in [0, count) with `IN_FLIGHT` calls outstanding at all times; times each one. */
async function closedLoop(count: number, send: (index: number) => Promise<void>): Promise<Latencies> {
  const ms = new Float64Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const t0 = performance.now();
      await send(index);
      ms[index] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { ms, wallMs: performance.now() - started };
}

interface RoundFigures {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
}

function figures(latencies: Latencies): RoundFigures {
  const sorted = latencies.ms.slice().sort();
  return {
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    rps: Math.round((latencies.ms.length / latencies.wallMs) * 1000),
  };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-serving-'));
  const dynaliteChild = startChild(fileURLToPath(import.meta.url), ['--dynalite']);
  const dynalite = { endpoint: await dynaliteChild.next(), close: () => dynaliteChild.close() };
  const clients: DynamoDBClient[] = [];
  let serverChild: ReturnType<typeof startChild> | undefined;
  try {
    const { served, featureNames, sourceFile } = await prepareServedView(work, dynalite.endpoint, log);

    serverChild = startChild(fileURLToPath(import.meta.url), ['--server', dynalite.endpoint, sourceFile]);
    const serverUrl = await serverChild.next();
    const url = `${serverUrl}/get-online-features`;
    const batchGetCalls = async (): Promise<number> => {
      serverChild?.send('count');
      return Number(await serverChild?.next());
    };
    log(`serving on ${serverUrl} (a process of its own)`);

    const rawClient = createDynamoDBClient({ endpoint: dynalite.endpoint });
    clients.push(rawClient);
    const sortKey = `${served.definition.name}#${served.version}`;

    for (const shape of SHAPES) {
      const random = seededRandom(7 + shape.entities);
      const entityLists = Array.from({ length: WARM_UP + ROUNDS * REQUESTS }, () =>
        distinctEntities(random, shape.entities),
      );
      const bodies = entityLists.map((ids) =>
        JSON.stringify({ features: featureNames, entities: { entity_id: ids } }),
      );
      const keyLists = entityLists.map((ids) =>
        ids.map(
          (id): Record<string, AttributeValue> => ({
            pk: { S: encodeEntityKey({ entity_id: id }) },
            sk: { S: sortKey },
          }),
        ),
      );
      let present = 0;
      let values = 0;
      let responseBytes = 0;
      let itemBytes = 0;
      const ours = async (index: number, inspect = false): Promise<void> => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: bodies[index] as string,
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 500)}`);
        if (inspect) {
          const parsed = JSON.parse(text) as { results: { statuses: string[] }[] };
          responseBytes += text.length;
          for (const column of parsed.results.slice(1)) {
            for (const status of column.statuses) {
              values++;
              if (status === 'PRESENT') present++;
            }
          }
        }
      };
      const raw = async (index: number, inspect = false): Promise<void> => {
        let pending: KeysAndAttributes | undefined = { Keys: keyLists[index] };
        for (let attempt = 1; pending?.Keys?.length; attempt++) {
          const output: BatchGetItemCommandOutput = await rawClient.send(
            new BatchGetItemCommand({ RequestItems: { [TABLE]: pending } }),
          );
          if (inspect) {
            for (const item of output.Responses?.[TABLE] ?? []) itemBytes += item.state?.S?.length ?? 0;
          }
          pending = output.UnprocessedKeys?.[TABLE];
          if (attempt >= 8 && pending?.Keys?.length) throw new Error('keys stayed unprocessed');
        }
      };

      // Warm-up: connections, JIT, dynalite's caches; its responses are checked for present values.
      await closedLoop(WARM_UP, (index) => ours(index, true));
      await closedLoop(WARM_UP, (index) => raw(index, true));
      log(
        `${shape.name}: warm-up done; ${present} of ${values} values PRESENT, response ~${Math.round(responseBytes / WARM_UP)} bytes, state JSON ~${Math.round(itemBytes / (WARM_UP * shape.entities))} bytes per entity`,
      );

      const oursRounds: RoundFigures[] = [];
      const rawRounds: RoundFigures[] = [];
      let oursCalls = 0;
      for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
        const offset = WARM_UP + roundIndex * REQUESTS;
        const before = await batchGetCalls();
        const oursFigures = figures(await closedLoop(REQUESTS, (index) => ours(offset + index)));
        oursCalls += (await batchGetCalls()) - before;
        oursRounds.push(oursFigures);
        const rawFigures = figures(await closedLoop(REQUESTS, (index) => raw(offset + index)));
        rawRounds.push(rawFigures);
        log(
          `${shape.name} round ${roundIndex + 1}: ours p50 ${oursFigures.p50} ms p99 ${oursFigures.p99} ms ${oursFigures.rps} rps; raw p50 ${rawFigures.p50} ms p99 ${rawFigures.p99} ms ${rawFigures.rps} rps`,
        );
      }
      const mid = (list: RoundFigures[], key: keyof RoundFigures) => round(median(list.map((f) => f[key])));
      const p99 = mid(oursRounds, 'p99');
      const rawP99 = mid(rawRounds, 'p99');
      const p99Ratio = ratio(p99, rawP99);
      const roundTrips = round(oursCalls / (ROUNDS * REQUESTS), 3);
      log(
        `${shape.name} targets: p99 within 1.25x of raw: ${p99Ratio !== null && p99Ratio <= 1.25 ? 'met' : 'NOT met'} (${p99Ratio}x); at most one BatchGetItem per 100 items: ${roundTrips <= Math.ceil(shape.entities / 100) ? 'met' : 'NOT met'} (${roundTrips} per request)`,
      );
      console.log(
        JSON.stringify({
          bench: 'serving',
          shape: shape.name,
          p50_ms: mid(oursRounds, 'p50'),
          p99_ms: p99,
          rps: mid(oursRounds, 'rps'),
          raw_p50_ms: mid(rawRounds, 'p50'),
          raw_p99_ms: rawP99,
          p99_ratio: p99Ratio,
          round_trips_per_request: roundTrips,
          raw_rps: mid(rawRounds, 'rps'),
          requests: REQUESTS,
          rounds: ROUNDS,
          in_flight: IN_FLIGHT,
          runs: { ours: oursRounds, raw: rawRounds },
        }),
      );
    }
  } finally {
    await serverChild?.close();
    for (const client of clients) client.destroy();
    await dynalite.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--dynalite') await runDynaliteChild();
else if (process.argv[2] === '--server') await runServerChild(process.argv[3] ?? '', process.argv[4] ?? '');
else await main();
