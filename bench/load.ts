/**
 * bench:load - the local HTTP API under a fixed request rate. `POST /get-online-features` for
 * `--entities` (10) random entities x `--features` (20) features of one materialized view, sent open-loop
 * at `--rate` (500) requests a second for `--duration` (60) seconds: request i is due at start + i / rate
 * and is sent then whether or not earlier ones were answered, so a slow server cannot slow the load down
 * and hide its own latency (no coordinated omission). Latency runs from the time a request was due, not
 * from when the client got round to sending it, so queueing in the client counts too.
 *
 * The view is bench:serving's (50 features: 10 latest-value fields, 40 window aggregations, over 10,000
 * entities), materialized into an in-memory dynalite run by `startLocalDynamoDB` in a child process; the
 * server (`startLocalApiServer` + `createServeHandler`) runs in a second child process. Both report the
 * CPU they used, so the figures say which process limits the rate. Requests go over loopback with
 * keep-alive (`node:http`, at most `--connections` sockets); one not answered within `--timeout-ms`
 * (5,000) of its due time is abandoned and counted as an error, as are network errors and any status but
 * 200. Bounded: rate x duration requests, after a warm-up of `--warmup` (5) seconds at the same rate; the
 * run ends at most `--timeout-ms` after the last request was due. Prints progress lines every 5 s, then
 * one JSON line. Figures, not assertions: nothing here fails on a time.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { Session } from 'node:inspector';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EventLoopUtilization,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDB } from '../lib/stores/local-dynamodb.js';
import { startChild } from './child-process.js';
import { percentile, round } from './measure.js';
import {
  distinctEntities,
  prepareServedView,
  seededRandom,
  startBenchServer,
  VIEW_FEATURES,
} from './served-view.js';

const PROGRESS_EVERY_MS = 5_000;
/** The client closes keep-alive sockets idle this long (see the Agent). */
const IDLE_SOCKET_MS = 4_000;
/** One answer in this many is parsed and its shape checked (all of them during the warm-up). */
const CHECK_EVERY = 100;

function log(line: string): void {
  console.error(`[bench:load] ${line}`);
}

/** What a child process reports about itself on a `stats` line. */
interface ProcessStats {
  /** User + system CPU time since it started, milliseconds. */
  readonly cpuMs: number;
  readonly elu: EventLoopUtilization;
  /** BatchGetItem calls of the server's DynamoDB client (0 for dynalite). */
  readonly batchGets: number;
  /** Since the previous `stats`: the longest event-loop delay and garbage-collection pause, and all GC. */
  readonly loopDelayMaxMs: number;
  readonly gcMaxMs: number;
  readonly gcMs: number;
}

/**
 * Answers each `stats` line on stdin with a JSON line of `ProcessStats`; resolves when stdin closes. Event
 * loop delay (sampled every 10 ms) and GC pauses are measured from the call on.
 */
async function answerStats(batchGets: () => number): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let gcMaxMs = 0;
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line.trim() !== 'stats') return;
    const cpu = process.cpuUsage();
    const stats: ProcessStats = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      elu: performance.eventLoopUtilization(),
      batchGets: batchGets(),
      loopDelayMaxMs: delay.max / 1e6,
      gcMaxMs,
      gcMs,
    };
    delay.reset();
    gcMaxMs = 0;
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  });
  await once(commands, 'close');
  delay.disable();
  gc.disconnect();
}

/**
 * With `FSTORE_BENCH_CPU_PROF=<folder>`, a child profiles itself (V8's sampling profiler through
 * `node:inspector`) and the returned function writes `<role>.cpuprofile` there, for Chrome DevTools.
 */
async function startProfiling(role: string): Promise<() => Promise<void>> {
  const folder = process.env.FSTORE_BENCH_CPU_PROF;
  if (!folder) return async () => {};
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    await writeFile(join(folder, `${role}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Runs in a child: dynalite in memory, its endpoint on stdout, then `stats` answers until stdin closes. */
async function runDynaliteChild(): Promise<void> {
  const server = await startLocalDynamoDB();
  const stopProfiling = await startProfiling('dynalite');
  process.stdout.write(`${server.endpoint}\n`);
  await answerStats(() => 0);
  await stopProfiling();
  await server.close();
  process.exit(0);
}

/**
 * Runs in a child: the HTTP API (`startLocalApiServer` + `createServeHandler`) over the dynalite at
 * `endpoint`, its URL on stdout, then `stats` answers (BatchGetItem calls counted by a middleware) until
 * stdin closes. A process of its own, as a server is: the load generator does not share its event loop.
 */
async function runServerChild(endpoint: string, sourceFile: string): Promise<void> {
  const { server, batchGets, close } = await startBenchServer(endpoint, sourceFile);
  const stopProfiling = await startProfiling('server');
  process.stdout.write(`${server.url}\n`);
  await answerStats(batchGets);
  await stopProfiling();
  await close();
  process.exit(0);
}

/** `count` of `names`, evenly spread over the list, so latest-value fields and windows both appear. */
function spread(names: readonly string[], count: number): string[] {
  return Array.from({ length: count }, (_, k) => names[Math.floor((k * names.length) / count)] as string);
}

/** How a request ended (0: not yet). */
const Outcome = { Ok: 1, Status: 2, Network: 3, Timeout: 4, BadBody: 5 } as const;
type Outcome = (typeof Outcome)[keyof typeof Outcome];

interface PhaseOptions {
  readonly url: URL;
  readonly agent: Agent;
  readonly rate: number;
  readonly requests: number;
  readonly timeoutMs: number;
  /** The body of request i. */
  readonly body: (index: number) => string;
  /** Whether request i's answer is parsed and checked. */
  readonly check: (index: number) => boolean;
  /** Checks a parsed answer; false counts the request as an error. */
  readonly inspect: (parsed: unknown) => boolean;
  readonly label: string;
  /** Extra text for each progress line (CPU use since the previous one). */
  readonly sample: () => Promise<string>;
}

interface PhaseResult {
  /** Per request: milliseconds from its due time to its answer read in full, its failure or its timeout. */
  readonly latencyMs: Float64Array;
  /** Per request: milliseconds from its due time to the `request()` call. */
  readonly sendLagMs: Float64Array;
  readonly outcomes: Uint8Array;
  readonly statuses: Map<number, number>;
  /** Network errors by code (`ECONNRESET`, ...). */
  readonly networkErrors: Map<string, number>;
  /** From the first request's due time to the last answer (or failure), milliseconds. */
  readonly wallMs: number;
  readonly socketsOpened: number;
  readonly maxInFlight: number;
}

/**
 * Sends `requests` POSTs open-loop at `rate` a second: a timer sends every request that has come due,
 * whatever is still in flight. Each is timed from its due time; it is abandoned (socket destroyed) at its
 * due time plus `timeoutMs`. Resolves when every request has ended, so within `timeoutMs` of the last one
 * falling due.
 */
async function openLoop(options: PhaseOptions): Promise<PhaseResult> {
  const { requests, rate, timeoutMs } = options;
  const intervalMs = 1000 / rate;
  const latencyMs = new Float64Array(requests);
  const sendLagMs = new Float64Array(requests);
  const outcomes = new Uint8Array(requests);
  const statuses = new Map<number, number>();
  const networkErrors = new Map<string, number>();
  const networkError = (error: Error): Outcome => {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    networkErrors.set(code, (networkErrors.get(code) ?? 0) + 1);
    return Outcome.Network;
  };
  let answered = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let socketsOpened = 0;
  const sockets = new WeakSet<object>();
  let lastEnd = 0;
  /** Latencies of the requests ended since the last progress line. */
  let recent: number[] = [];
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const start = performance.now() + 20;
  const dueAt = (index: number) => start + index * intervalMs;

  const end = (index: number, outcome: Outcome): void => {
    const now = performance.now();
    latencyMs[index] = now - dueAt(index);
    outcomes[index] = outcome;
    lastEnd = Math.max(lastEnd, now);
    recent.push(now - dueAt(index));
    inFlight--;
    answered++;
    if (answered === requests) allDone();
  };

  const send = (index: number): void => {
    const due = dueAt(index);
    const body = options.body(index);
    let ended = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      end(index, outcome);
    };
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    sendLagMs[index] = performance.now() - due;
    const call = request(
      options.url,
      {
        method: 'POST',
        agent: options.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const check = status === 200 && options.check(index);
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          if (check) chunks.push(chunk);
        });
        response.on('end', () => {
          if (status !== 200) return finish(Outcome.Status);
          if (!check) return finish(Outcome.Ok);
          let good = false;
          try {
            good = options.inspect(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            good = false;
          }
          finish(good ? Outcome.Ok : Outcome.BadBody);
        });
        response.on('error', (error) => finish(timedOut ? Outcome.Timeout : networkError(error)));
      },
    );
    call.on('socket', (socket) => {
      if (sockets.has(socket)) return;
      sockets.add(socket);
      socketsOpened++;
    });
    call.on('error', (error) => {
      if (!ended) finish(timedOut ? Outcome.Timeout : networkError(error));
    });
    timer = setTimeout(
      () => {
        timedOut = true;
        call.destroy();
        finish(Outcome.Timeout);
      },
      Math.max(0, due + timeoutMs - performance.now()),
    );
    call.end(body);
  };

  // Progress: every 5 s, the counts so far and the latencies of the requests ended since the last line.
  let nextReport = start + PROGRESS_EVERY_MS;
  const report = async (): Promise<void> => {
    let errors = 0;
    for (const outcome of outcomes) if (outcome !== 0 && outcome !== Outcome.Ok) errors++;
    const window = recent.sort((a, b) => a - b);
    recent = [];
    const line = `${options.label} t=${Math.round((performance.now() - start) / 1000)} s: ${answered} of ${requests} ended, ${errors} errors, ${inFlight} in flight; since last line p50 ${round(percentile(window, 0.5), 1)} ms, p99 ${round(percentile(window, 0.99), 1)} ms, max ${round(window.at(-1) ?? Number.NaN, 1)} ms`;
    log(`${line}; ${await options.sample()}`);
  };
  let reporting = Promise.resolve();

  let next = 0;
  while (next < requests) {
    const now = performance.now();
    while (next < requests && dueAt(next) <= now) send(next++);
    if (now >= nextReport) {
      reporting = reporting.then(report);
      nextReport += PROGRESS_EVERY_MS;
    }
    if (next < requests) {
      const wait = Math.max(0, Math.min(dueAt(next), nextReport) - performance.now());
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  if (answered < requests) await finished;
  await reporting.then(report);
  return {
    latencyMs,
    sendLagMs,
    outcomes,
    statuses,
    networkErrors,
    wallMs: lastEnd - start,
    socketsOpened,
    maxInFlight,
  };
}

/** Busy and total CPU time of the whole machine so far (Linux `/proc/stat`, in ticks), or undefined. */
interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

async function machineTicks(): Promise<MachineTicks | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    // idle and iowait are the 4th and 5th fields.
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

function positiveInteger(name: string, value: string | undefined, max: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > max) {
    throw new Error(`--${name} must be a whole number from 1 to ${max}, not ${String(value)}`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '500' },
      duration: { type: 'string', default: '60' },
      entities: { type: 'string', default: '10' },
      features: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      'timeout-ms': { type: 'string', default: '5000' },
      connections: { type: 'string', default: '256' },
    },
  });
  const rate = positiveInteger('rate', values.rate, 10_000);
  const duration = positiveInteger('duration', values.duration, 600);
  const entitiesPerRequest = positiveInteger('entities', values.entities, 1_000);
  const featuresPerRequest = positiveInteger('features', values.features, VIEW_FEATURES);
  const warmup = Number(values.warmup) === 0 ? 0 : positiveInteger('warmup', values.warmup, 60);
  const timeoutMs = positiveInteger('timeout-ms', values['timeout-ms'], 60_000);
  const connections = positiveInteger('connections', values.connections, 4_096);
  const requests = rate * duration;
  const warmupRequests = rate * warmup;

  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const script = fileURLToPath(import.meta.url);
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-load-'));
  const dynaliteChild = startChild(script, ['--dynalite']);
  let serverChild: ReturnType<typeof startChild> | undefined;
  let agent: Agent | undefined;
  const clients: DynamoDBClient[] = [];
  try {
    const endpoint = await dynaliteChild.next();
    const { featureNames, sourceFile } = await prepareServedView(work, endpoint, log);

    serverChild = startChild(script, ['--server', endpoint, sourceFile]);
    const serverUrl = await serverChild.next();
    const url = new URL(`${serverUrl}/get-online-features`);
    log(`serving on ${serverUrl} (a process of its own; dynalite in another)`);
    const stats = async (child: ReturnType<typeof startChild>): Promise<ProcessStats> => {
      child.send('stats');
      return JSON.parse(await child.next()) as ProcessStats;
    };

    const features = spread(featureNames, featuresPerRequest);
    log(`${entitiesPerRequest} entities x ${features.length} features a request: ${features.join(', ')}`);
    const bodyPrefix = `{"features":${JSON.stringify(features)},"entities":{"entity_id":[`;
    const random = seededRandom(42);
    const body = () => `${bodyPrefix}${distinctEntities(random, entitiesPerRequest).join(',')}]}}`;
    let present = 0;
    let valuesSeen = 0;
    const inspect = (parsed: unknown): boolean => {
      const results = (parsed as { results?: { values?: unknown[]; statuses?: string[] }[] }).results;
      if (!Array.isArray(results) || results.length !== features.length + 1) return false;
      for (const column of results) {
        if (column.values?.length !== entitiesPerRequest) return false;
      }
      for (const column of results.slice(1)) {
        for (const status of column.statuses ?? []) {
          valuesSeen++;
          if (status === 'PRESENT') present++;
        }
      }
      return true;
    };
    // Idle sockets are closed after 4 s, a second before the server's keep-alive timeout (Node's 5 s, which
    // its answers announce): else the client may send on a socket the server is closing that very moment
    // and get ECONNRESET. Clients do the same (undici: the server's hint minus 1 s).
    agent = new Agent({ keepAlive: true, maxSockets: connections, timeout: IDLE_SOCKET_MS });
    const server = serverChild;
    let previous:
      | {
          at: number;
          client: number;
          serverStats: ProcessStats;
          dynaliteStats: ProcessStats;
          machine?: MachineTicks;
        }
      | undefined;
    const sample = async (): Promise<string> => {
      const cpu = process.cpuUsage();
      const now = {
        at: performance.now(),
        client: (cpu.user + cpu.system) / 1000,
        serverStats: await stats(server),
        dynaliteStats: await stats(dynaliteChild),
        machine: await machineTicks(),
      };
      const pauses = (name: string, child: ProcessStats) =>
        `${name} loop delay max ${Math.round(child.loopDelayMaxMs)} ms, GC max ${Math.round(child.gcMaxMs)} ms`;
      const detail = `${pauses('server', now.serverStats)}; ${pauses('dynalite', now.dynaliteStats)}`;
      const last = previous;
      previous = now;
      if (!last) return detail;
      const ms = now.at - last.at;
      const client = ((now.client - last.client) / ms).toFixed(2);
      const share = (key: 'serverStats' | 'dynaliteStats') =>
        ((now[key].cpuMs - last[key].cpuMs) / ms).toFixed(2);
      const machine =
        now.machine && last.machine
          ? (
              ((now.machine.busy - last.machine.busy) / (now.machine.total - last.machine.total)) *
              cpus().length
            ).toFixed(2)
          : '?';
      return `CPU cores client ${client} server ${share('serverStats')} dynalite ${share('dynaliteStats')} machine ${machine}; ${detail}`;
    };

    await sample();
    if (warmupRequests > 0) {
      log(`warm-up: ${warmupRequests} requests at ${rate}/s (not measured)`);
      const warm = await openLoop({
        url,
        agent,
        rate,
        requests: warmupRequests,
        timeoutMs,
        body,
        check: () => true,
        inspect,
        label: 'warm-up',
        sample,
      });
      const warmErrors = warm.outcomes.filter((outcome) => outcome !== Outcome.Ok).length;
      log(
        `warm-up done: ${warmErrors} errors; ${present} of ${valuesSeen} values PRESENT; ${warm.socketsOpened} sockets opened`,
      );
    }

    const [serverBefore, dynaliteBefore] = [await stats(serverChild), await stats(dynaliteChild)];
    const machineBefore = await machineTicks();
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    await sample();
    log(
      `measuring: ${requests} requests at ${rate}/s for ${duration} s, open-loop, timeout ${timeoutMs} ms, at most ${connections} connections`,
    );
    const run = await openLoop({
      url,
      agent,
      rate,
      requests,
      timeoutMs,
      body,
      check: (index) => index % CHECK_EVERY === 0,
      inspect,
      label: 'load',
      sample,
    });
    const cpuClient = process.cpuUsage(cpuBefore);
    const eluClient = performance.eventLoopUtilization(eluBefore);
    const machineAfter = await machineTicks();
    const [serverAfter, dynaliteAfter] = [await stats(serverChild), await stats(dynaliteChild)];

    const count = (outcome: Outcome) => run.outcomes.filter((value) => value === outcome).length;
    const ok = count(Outcome.Ok);
    const timeouts = count(Outcome.Timeout);
    const networkErrors = count(Outcome.Network);
    const badStatus = count(Outcome.Status);
    const badBodies = count(Outcome.BadBody);
    const latency = run.latencyMs.slice().sort();
    const sendLag = run.sendLagMs.slice().sort();
    const wallS = run.wallMs / 1000;
    const cores = (ms: number) => round(ms / run.wallMs, 2);
    const elu = (after: EventLoopUtilization, before: EventLoopUtilization) => {
      const active = after.active - before.active;
      const idle = after.idle - before.idle;
      return round(active / (active + idle), 2);
    };
    const cpu = {
      client: cores((cpuClient.user + cpuClient.system) / 1000),
      server: cores(serverAfter.cpuMs - serverBefore.cpuMs),
      dynalite: cores(dynaliteAfter.cpuMs - dynaliteBefore.cpuMs),
    };
    // The whole machine's busy share, in cores: what is above client + server + dynalite is other work.
    const machine =
      machineBefore && machineAfter
        ? round(
            ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
              cpus().length,
            2,
          )
        : null;
    const eventLoop = {
      client: round(eluClient.utilization, 2),
      server: elu(serverAfter.elu, serverBefore.elu),
      dynalite: elu(dynaliteAfter.elu, dynaliteBefore.elu),
    };
    const errors = requests - ok;
    log(
      `target: no errors at ${rate} requests/s: ${errors === 0 ? 'met' : 'NOT met'} (${errors} errors: ${badStatus} non-200, ${networkErrors} network, ${timeouts} timeouts, ${badBodies} bad bodies)`,
    );
    log(
      `CPU in cores over the run: client ${cpu.client}, server ${cpu.server}, dynalite ${cpu.dynalite}, whole machine ${machine} of ${cpus().length}; event loop busy: client ${eventLoop.client}, server ${eventLoop.server}, dynalite ${eventLoop.dynalite}`,
    );
    const others = machine === null ? null : round(machine - cpu.client - cpu.server - cpu.dynalite, 2);
    if (others !== null && others > 0.2) {
      log(`other processes used ${others} cores during the run: these figures are not this code's alone`);
    }
    console.log(
      JSON.stringify({
        bench: 'load',
        duration_s: duration,
        rps_target: rate,
        rps_achieved: round(ok / wallS, 1),
        errors,
        p50_ms: round(percentile(latency, 0.5)),
        p99_ms: round(percentile(latency, 0.99)),
        max_ms: round(latency.at(-1) ?? Number.NaN),
        requests,
        ok,
        timeouts,
        network_errors: networkErrors,
        network_error_codes: Object.fromEntries(run.networkErrors),
        bad_bodies: badBodies,
        statuses: Object.fromEntries([...run.statuses].sort(([a], [b]) => a - b)),
        p90_ms: round(percentile(latency, 0.9)),
        p999_ms: round(percentile(latency, 0.999)),
        send_lag_p99_ms: round(percentile(sendLag, 0.99)),
        send_lag_max_ms: round(sendLag.at(-1) ?? Number.NaN),
        wall_s: round(wallS),
        entities_per_request: entitiesPerRequest,
        features_per_request: features.length,
        timeout_ms: timeoutMs,
        warmup_s: warmup,
        max_in_flight: run.maxInFlight,
        sockets_opened: run.socketsOpened,
        batch_gets_per_request: round((serverAfter.batchGets - serverBefore.batchGets) / requests, 3),
        cpu_cores: {
          ...cpu,
          others,
          machine,
          machine_cores: cpus().length,
        },
        event_loop_busy: eventLoop,
      }),
    );
  } finally {
    agent?.destroy();
    for (const client of clients) client.destroy();
    await serverChild?.close();
    await dynaliteChild.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--dynalite') await runDynaliteChild();
else if (process.argv[2] === '--server') await runServerChild(process.argv[3] ?? '', process.argv[4] ?? '');
else await main();
