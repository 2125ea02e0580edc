import { randomBytes } from 'node:crypto';
import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/**
 * What the proxy does to a faulted call:
 * - `throttle`: answers HTTP 400 `ProvisionedThroughputExceededException` without forwarding, as DynamoDB does
 *   when a call exceeds the table's throughput (the SDK retries these itself before the caller sees them);
 * - `partial`: for BatchGetItem and BatchWriteItem only, forwards the first part of each table's keys or
 *   items (possibly none) and answers the real response plus the rest as `UnprocessedKeys` /
 *   `UnprocessedItems`, a successful answer only the caller's own loop retries.
 */
export type InjectedFaultKind = 'throttle' | 'partial';

export interface ThrottlingProxyOptions {
  /** The DynamoDB endpoint calls are forwarded to (dynalite: `http://127.0.0.1:<port>`). */
  readonly target: string;
  /** The share of faultable calls that are faulted, in [0, 1]. */
  readonly share: number;
  /** Seeds the choice of calls faulted, of the fault kind and of how much of a partial batch is processed. */
  readonly seed: number;
  /**
   * The faults injected; a call of an operation no kind applies to (`partial` only, a PutItem) is forwarded.
   * @default ['throttle', 'partial']
   */
  readonly kinds?: readonly InjectedFaultKind[];
  /** The operations that may be faulted. @default the item operations (`FAULTABLE_OPERATIONS`) */
  readonly operations?: readonly string[];
}

/** Item reads and writes; table management (CreateTable, DescribeTable, ...) always goes through. */
export const FAULTABLE_OPERATIONS: readonly string[] = [
  'BatchGetItem',
  'BatchWriteItem',
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'TransactGetItems',
  'TransactWriteItems',
];

export interface OperationStats {
  /** Calls received. */
  calls: number;
  /** Calls answered `ProvisionedThroughputExceededException` without being forwarded. */
  throttled: number;
  /** Batch calls answered with part of their keys or items left unprocessed. */
  partial: number;
}

export interface ThrottlingProxyStats {
  /** Calls received, of every operation. */
  readonly calls: number;
  /** Calls (or parts of calls) forwarded to the target. */
  readonly forwarded: number;
  readonly throttled: number;
  readonly partial: number;
  /** Keys returned as `UnprocessedKeys` by partial BatchGetItem answers. */
  readonly unprocessedKeys: number;
  /** Write requests returned as `UnprocessedItems` by partial BatchWriteItem answers. */
  readonly unprocessedItems: number;
  readonly byOperation: Readonly<Record<string, OperationStats>>;
}

export interface ThrottlingProxy {
  /** `http://127.0.0.1:<port>`: give it to `createDynamoDBClient({ endpoint })`. */
  readonly endpoint: string;
  /** What was injected so far (a copy). */
  stats(): ThrottlingProxyStats;
  close(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const THROTTLING_BODY = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message:
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
});
/** Hop-by-hop headers and those the proxy recomputes for a rewritten body. */
const DROPPED_REQUEST_HEADERS = new Set(['host', 'connection', 'content-length', 'keep-alive']);

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * An HTTP proxy in front of a DynamoDB endpoint that throttles a seeded share of the calls (see
 * `InjectedFaultKind`), the rest forwarded as they are. Decisions follow the order calls arrive in, so
 * with one call in flight at a time a run is repeatable; with several, the share holds but which call
 * gets which fault may vary.
 * @example
 * const proxy = await startThrottlingProxy({ target: dynalite.endpoint, share: 0.3, seed: 7 });
 * const client = createDynamoDBClient({ endpoint: proxy.endpoint });
 */
export async function startThrottlingProxy(options: ThrottlingProxyOptions): Promise<ThrottlingProxy> {
  if (!(options.share >= 0 && options.share <= 1)) {
    throw new Error(`share must be in [0, 1], got ${options.share}`);
  }
  const kinds = new Set(options.kinds ?? ['throttle', 'partial']);
  const faultable = new Set(options.operations ?? FAULTABLE_OPERATIONS);
  const random = seededRandom(options.seed);
  const agent = new Agent({ keepAlive: true });
  const target = new URL(options.target);
  const totals = {
    calls: 0,
    forwarded: 0,
    throttled: 0,
    partial: 0,
    unprocessedKeys: 0,
    unprocessedItems: 0,
  };
  const byOperation: Record<string, OperationStats> = {};

  const forward = (req: IncomingMessage, body: string): Promise<Answer> => {
    totals.forwarded++;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers as IncomingHttpHeaders)) {
      if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value;
    }
    headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (res) => {
          readBody(res).then((text) => {
            const answerHeaders: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') answerHeaders[name] = value;
            }
            resolve({ status: res.statusCode ?? 500, headers: answerHeaders, body: text });
          }, reject);
        },
      );
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  };

  const partialBatchGet = async (req: IncomingMessage, input: Json): Promise<Answer> => {
    const requestItems = (input.RequestItems ?? {}) as Record<string, Json & { Keys: unknown[] }>;
    const sent: Record<string, Json> = {};
    const unprocessed: Record<string, Json> = {};
    for (const [table, keysAndAttributes] of Object.entries(requestItems)) {
      const keys = keysAndAttributes.Keys ?? [];
      const processed = Math.floor(random() * keys.length);
      if (processed > 0) sent[table] = { ...keysAndAttributes, Keys: keys.slice(0, processed) };
      // The same KeysAndAttributes shape as the request: projection and consistency kept.
      unprocessed[table] = { ...keysAndAttributes, Keys: keys.slice(processed) };
      totals.unprocessedKeys += keys.length - processed;
    }
    const responses: Record<string, unknown[]> = Object.fromEntries(
      Object.keys(requestItems).map((table) => [table, []]),
    );
    let output: Json = {};
    if (Object.keys(sent).length > 0) {
      const answer = await forward(req, JSON.stringify({ ...input, RequestItems: sent }));
      if (answer.status !== 200) return answer;
      output = JSON.parse(answer.body) as Json;
      Object.assign(responses, output.Responses as Record<string, unknown[]>);
      mergeUnprocessed(unprocessed, output.UnprocessedKeys as Record<string, Json & { Keys: unknown[] }>);
    }
    return jsonAnswer({ ...output, Responses: responses, UnprocessedKeys: unprocessed });
  };

  const partialBatchWrite = async (req: IncomingMessage, input: Json): Promise<Answer> => {
    const requestItems = (input.RequestItems ?? {}) as Record<string, unknown[]>;
    const sent: Record<string, unknown[]> = {};
    const unprocessed: Record<string, unknown[]> = {};
    for (const [table, writes] of Object.entries(requestItems)) {
      const processed = Math.floor(random() * writes.length);
      if (processed > 0) sent[table] = writes.slice(0, processed);
      unprocessed[table] = writes.slice(processed);
      totals.unprocessedItems += writes.length - processed;
    }
    let output: Json = {};
    if (Object.keys(sent).length > 0) {
      const answer = await forward(req, JSON.stringify({ ...input, RequestItems: sent }));
      if (answer.status !== 200) return answer;
      output = JSON.parse(answer.body) as Json;
      for (const [table, writes] of Object.entries(
        (output.UnprocessedItems ?? {}) as Record<string, unknown[]>,
      )) {
        unprocessed[table] = [...(unprocessed[table] ?? []), ...writes];
      }
    }
    return jsonAnswer({ ...output, UnprocessedItems: unprocessed });
  };

  const handle = async (req: IncomingMessage): Promise<Answer> => {
    const body = await readBody(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    totals.calls++;
    const stats = byOperation[operation] ?? { calls: 0, throttled: 0, partial: 0 };
    byOperation[operation] = stats;
    stats.calls++;
    const isBatch = operation === 'BatchGetItem' || operation === 'BatchWriteItem';
    const applicable = [...kinds].filter((kind) => kind === 'throttle' || isBatch);
    if (!faultable.has(operation) || applicable.length === 0 || random() >= options.share) {
      return forward(req, body);
    }
    const kind = applicable[Math.floor(random() * applicable.length)] as InjectedFaultKind;
    if (kind === 'throttle') {
      totals.throttled++;
      stats.throttled++;
      return { status: 400, headers: answerHeaders(THROTTLING_BODY), body: THROTTLING_BODY };
    }
    totals.partial++;
    stats.partial++;
    const input = JSON.parse(body) as Json;
    return operation === 'BatchGetItem' ? partialBatchGet(req, input) : partialBatchWrite(req, input);
  };

  const server = createServer((req, res) => {
    handle(req).then(
      (answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      },
      (error: unknown) => {
        const body = `throttling proxy: ${(error as Error)?.message ?? error}`;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(body);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats: () => ({
      ...totals,
      byOperation: Object.fromEntries(
        Object.entries(byOperation).map(([name, stats]) => [name, { ...stats }]),
      ),
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** Adds the target's own unprocessed keys (dynalite leaves none) to those the proxy held back. */
function mergeUnprocessed(
  into: Record<string, Json>,
  from: Record<string, Json & { Keys: unknown[] }> | undefined,
): void {
  for (const [table, keysAndAttributes] of Object.entries(from ?? {})) {
    const held = into[table] as (Json & { Keys: unknown[] }) | undefined;
    into[table] = { ...keysAndAttributes, Keys: [...(held?.Keys ?? []), ...keysAndAttributes.Keys] };
  }
}

function jsonAnswer(output: Json): Answer {
  const body = JSON.stringify(output);
  return { status: 200, headers: answerHeaders(body), body };
}

/** The headers DynamoDB sends with a JSON answer. */
function answerHeaders(body: string): Record<string, string> {
  return {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-requestid': randomBytes(26).toString('hex').toUpperCase(),
    'x-amz-crc32': String(crc32(body)),
  };
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (part: Buffer) => parts.push(part));
    stream.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    stream.once('error', reject);
  });
}

/** mulberry32: a small seeded PRNG, numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
