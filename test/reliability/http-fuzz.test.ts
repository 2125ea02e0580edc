import { rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { runCli } from '../../lib/cli/program.js';
import { DEFAULT_SERVE_OPTIONS, type RunningServe, startServe } from '../../lib/cli/serve-command.js';
import { newTempRoot } from '../cli/run-fstore.js';

/**
 * Every route of the real `fstore serve` (`startServe`: the API handler, the catalog page and its JSON, the
 * local DynamoDB, the offline store and the stream), on the example repo applied and materialized, fuzzed
 * over HTTP with fast-check: random bodies, methods, paths, query strings and headers. Whatever arrives,
 * the reply is below 500 and is JSON (`{"error": {"code", "message"}}` for a 4xx), or the catalog page's
 * HTML for `GET /ui`; and the server keeps answering. Requests built valid must be served (200, a reply
 * of the right shape). 6,100 cases here, beside the 4,100 of test/lambdas/serve-handler.fuzz.test.ts
 * (the handler called directly).
 */
const RUNS = {
  onlineFeatures: 1_800,
  push: 1_000,
  registry: 1_200,
  healthAndCatalog: 800,
  anyRoute: 1_000,
  unparsable: 300,
};

let root: string;
let serve: RunningServe;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  root = await newTempRoot();
  const repo = join(root, 'repo');
  const output = { out: () => {}, err: () => {} };
  for (const args of [
    ['init', repo, '--rows', '200'],
    ['--repo', repo, 'apply'],
    // The example's 200 generated transactions end on 2024-01-09.
    ['--repo', repo, 'materialize', '--end', '2024-01-10'],
  ]) {
    const code = await runCli(args, output);
    if (code !== 0) throw new Error(`fstore ${args.join(' ')} exited ${code}`);
  }
  serve = await startServe(repo, { ...DEFAULT_SERVE_OPTIONS, port: 0, refreshMs: 60_000 }, () => {});
}, 300_000);

afterAll(async () => {
  agent.destroy();
  await serve?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

interface Reply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

interface Sent {
  readonly method: string;
  /** Path and query, as sent on the request line. */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

function send({ method, target, headers = {}, body }: Sent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Host, port and path apart, so the path goes out as written (a URL would be normalized first).
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port: serve.port,
        path: target,
        method,
        agent,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) },
      },
      (incoming) => {
        const parts: Buffer[] = [];
        incoming.on('data', (part: Buffer) => parts.push(part));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            contentType: incoming.headers['content-type'],
            text: Buffer.concat(parts).toString(),
          }),
        );
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The path the server routes on: without the query, trailing slashes dropped. */
function routedPath(target: string): string {
  return (target.split('?')[0] ?? '').replace(/\/+$/, '') || '/';
}

/**
 * Below 500; the catalog page as HTML for a successful GET /ui; otherwise JSON, a 4xx being Feast's
 * error detail as a JSON string carrying `{"error": {"code", "message"}}` (the catalog's `/ui` routes:
 * that object itself). Returns the parsed body (undefined for HTML and HEAD).
 */
function expectWellFormed(sent: Sent, reply: Reply): unknown {
  const where = `${sent.method} ${sent.target.slice(0, 200)} -> ${reply.status} ${reply.text.slice(0, 300)}`;
  expect(reply.status, where).toBeGreaterThanOrEqual(200);
  expect(reply.status, where).toBeLessThan(500);
  if (reply.contentType?.startsWith('text/html')) {
    expect([reply.status, sent.method, routedPath(sent.target)], where).toEqual([200, 'GET', '/ui']);
    expect(reply.text.startsWith('<!doctype html>'), where).toBe(true);
    return undefined;
  }
  expect(reply.contentType, where).toBe('application/json');
  // A reply to HEAD has no body.
  if (sent.method === 'HEAD') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    throw new Error(`not JSON: ${where}`);
  }
  const codeAndMessage = {
    error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.stringMatching(/\S/) },
  };
  if (reply.status >= 400 && /^\/ui(\/|$)/.test(routedPath(sent.target))) {
    // The catalog page's routes answer fstore's own shape.
    expect(body, where).toEqual(codeAndMessage);
  } else if (reply.status >= 400) {
    // The API's routes answer Feast's error detail as a JSON string, fstore's code and message in it.
    expect(typeof body, where).toBe('string');
    expect(JSON.parse(body as string), where).toEqual({
      module: 'feast.errors',
      class: expect.stringMatching(/^[A-Za-z]+$/),
      message: expect.stringMatching(/\S/),
      ...codeAndMessage,
    });
  } else {
    expect(reply.status, where).toBe(200);
    expect(typeof body === 'object' && body !== null && !Array.isArray(body), where).toBe(true);
  }
  return body;
}

async function check(sent: Sent): Promise<{ reply: Reply; body: unknown }> {
  const reply = await send(sent);
  return { reply, body: expectWellFormed(sent, reply) };
}

/** `encodeURIComponent`, lone surrogates (which it refuses) replaced by U+FFFD first. */
function encoded(text: string): string {
  return encodeURIComponent(
    text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );
}

// --- values and shapes -------------------------------------------------------------------------------------

const VIEWS = [
  'user_transaction_stats',
  'merchant_transaction_stats',
  'category_transaction_stats',
  'transaction_amount_ratios',
];
const FEATURES = [
  'user_transaction_stats:amount_sum_7d',
  'user_transaction_stats:amount_mean_30d',
  'user_transaction_stats:amount_stddev_14d',
  'user_transaction_stats:last_3_amounts',
  'user_transaction_stats:days_since_first_transaction',
  'user_transaction_stats:weekly_to_monthly_amount_ratio',
  'merchant_transaction_stats:amount_count_1d',
  'merchant_transaction_stats:amount_mean_7d',
  'category_transaction_stats:amount_count_7d',
  'transaction_amount_ratios:amount_to_30d_mean_ratio',
];
const SERVICES = ['fraud_model_v1', 'fraud_model_v2', '__proto__', 'constructor'];
const CATEGORIES = ['food', 'transport', 'travel', "food' OR '1'='1", '', '%', '\\', 'ü', '{"$ne":1}'];
const STATUSES = ['PRESENT', 'NULL_VALUE', 'OUTSIDE_MAX_AGE', 'NOT_FOUND'];

/** Text that has broken parsers and messages. */
const oddText = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\uD800', '\uFEFF', '𝔘𝔫𝔦', '../..', '%00', '%E0%A4%A', 'a'.repeat(300)),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const oddNumber = fc.oneof(
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 0.1),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const anyValue = fc.oneof(oddText, oddNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));
const int64 = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 10 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) },
);
const category = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CATEGORIES) }, oddText);

/** JSON text made wrong in one of the usual ways. */
function brokenJson(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(valid, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
    fc.tuple(valid, oddText, fc.nat()).map(([text, noise, at]) => {
      const position = at % (text.length + 1);
      return `${text.slice(0, position)}${noise}${text.slice(position)}`;
    }),
    fc.constantFrom(
      '',
      'null',
      '[]',
      '"x"',
      '{',
      '1e999',
      '{"a":1}{"b":2}',
      '\uFEFF{}',
      `${'['.repeat(5_000)}`,
    ),
  );
}

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
);

const queryString = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('search', 'tag', 'owner', 'entity', 'kind', '__proto__', 'constructor', ''),
          oddText,
        ),
        fc.oneof(
          fc.constantFrom(
            'user',
            'payments',
            'domain=payments',
            'risk-ml@example.com',
            'feature_view',
            'entity',
          ),
          oddText,
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) =>
      pairs.length === 0
        ? ''
        : `?${pairs.map(([name, value]) => `${encoded(name)}=${encoded(value)}`).join('&')}`,
    ),
  fc.constantFrom('?', '?&&', '?a', '?=', '?%', '?search=%E0%A4%A', '?kind=feature_view&kind=entity'),
);

/** A request as clients send them: maybe a query string, maybe a trailing slash, any content type. */
function requestTo(
  method: fc.Arbitrary<string>,
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<string | undefined>,
): fc.Arbitrary<Sent> {
  return fc
    .record({
      method,
      path,
      slash: fc.boolean(),
      query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, queryString),
      body,
      contentType,
      base64: fc.constantFrom(false, false, false, true),
    })
    .map(
      ({ method: verb, path: route, slash, query, body: text, contentType: type, base64 }): Sent => ({
        method: verb,
        target: `${route}${slash ? '/' : ''}${query}`,
        headers: type === undefined ? {} : { 'content-type': type },
        // Some clients send base64; the server takes it as the text it is.
        ...(text === undefined ? {} : { body: base64 ? Buffer.from(text).toString('base64') : text }),
      }),
    );
}

// --- POST /get-online-features ------------------------------------------------------------------------------

/** A request the example serves: known features or a service, every needed column, valid values. */
const validOnlineFeatures = fc.integer({ min: 1, max: 5 }).chain((rows) =>
  fc.record({
    selection: fc.oneof(
      fc
        .uniqueArray(fc.constantFrom(...FEATURES), { minLength: 1, maxLength: 6 })
        .map((features) => ({ features })),
      fc.constantFrom(...VIEWS.slice(0, 3)).map((view) => ({ features: [`${view}:*`] })),
      fc.constant({ feature_service: 'fraud_model_v1' }),
    ),
    user_id: fc.array(int64, { minLength: rows, maxLength: rows }),
    merchant_id: fc.array(int64, { minLength: rows, maxLength: rows }),
    category: fc.array(category, { minLength: rows, maxLength: rows }),
    amount: fc.array(fc.oneof(oddNumber, fc.constant(null)), { minLength: rows, maxLength: rows }),
    full: fc.constant(true),
  }),
);

const anyOnlineFeatures = fc.record(
  {
    features: fc.oneof(
      fc.array(fc.oneof(fc.constantFrom(...FEATURES, 'user_transaction_stats:*', 'a:b:c', ':'), anyValue), {
        maxLength: 4,
      }),
      anyValue,
    ),
    feature_service: fc.oneof(fc.constantFrom(...SERVICES), anyValue),
    entities: fc.oneof(
      fc.dictionary(
        fc.oneof(fc.constantFrom('user_id', 'merchant_id', 'category', 'amount', '__proto__'), oddText),
        fc.oneof(fc.array(anyValue, { maxLength: 4 }), anyValue),
        { maxKeys: 4 },
      ),
      anyValue,
    ),
    request_context: fc.oneof(
      fc.dictionary(oddText, fc.array(anyValue, { maxLength: 3 }), { maxKeys: 2 }),
      anyValue,
    ),
    full_feature_names: fc.oneof(fc.boolean(), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

// --- POST /push ---------------------------------------------------------------------------------------------

const isoTime = fc
  .integer({ min: Date.parse('2023-06-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') })
  .map((ms) => new Date(ms).toISOString());

/** Rows every view reading `transactions` takes: join keys set, a real event time. */
const validPush = fc.integer({ min: 1, max: 4 }).chain((rows) =>
  fc.record({
    push_source_name: fc.constant('transactions'),
    to: fc.constantFrom('online', 'offline', 'online_and_offline'),
    df: fc.record({
      user_id: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: rows, maxLength: rows }),
      merchant_id: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: rows, maxLength: rows }),
      category: fc.array(fc.constantFrom(...CATEGORIES.slice(0, 3)), { minLength: rows, maxLength: rows }),
      amount: fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(null)), {
        minLength: rows,
        maxLength: rows,
      }),
      transaction_date: fc.array(isoTime, { minLength: rows, maxLength: rows }),
    }),
  }),
);

const anyPush = fc.record(
  {
    push_source_name: fc.oneof(fc.constantFrom('transactions', 'live_transactions', 'transaction'), anyValue),
    feature_view: fc.oneof(fc.constantFrom(...VIEWS), anyValue),
    to: fc.oneof(fc.constantFrom('online', 'offline', 'online_and_offline', 'nowhere'), anyValue),
    df: fc.oneof(
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('user_id', 'merchant_id', 'category', 'amount', 'transaction_date', '__proto__'),
          oddText,
        ),
        fc.oneof(
          fc.array(fc.oneof(anyValue, int64, isoTime, category), { minLength: 1, maxLength: 3 }),
          anyValue,
        ),
        { maxKeys: 6 },
      ),
      anyValue,
    ),
  },
  { requiredKeys: [] },
);

function jsonBodies(valid: fc.Arbitrary<unknown>, any: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const text = valid.map((body) => JSON.stringify(body));
  return fc.oneof(
    { weight: 3, arbitrary: text },
    { weight: 3, arbitrary: any.map((body) => JSON.stringify(body) ?? 'null') },
    { weight: 2, arbitrary: brokenJson(text) },
    { weight: 1, arbitrary: anyValue.map((body) => JSON.stringify(body) ?? 'null') },
  );
}

// --- paths and methods --------------------------------------------------------------------------------------

/** Methods Node's HTTP parser takes (others never reach the handler: see the unparsable requests below). */
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'HEAD',
  'TRACE',
  'PROPFIND',
  'SEARCH',
  'PURGE',
];
const method = fc.constantFrom(...METHODS);

/** A path segment as a client writes it: plain, percent-encoded text, or encodings servers trip over. */
const segment = fc.oneof(
  fc.constantFrom(
    ...VIEWS,
    'registry',
    'feature-views',
    'ui',
    'api',
    'catalog',
    'health',
    'push',
    '.',
    '..',
    '',
  ),
  fc.constantFrom('%2F', '%2e%2e', '%00', '%E0%A4%A', '%', '%%', '__proto__', 'constructor', '~', ';', '*'),
  oddText.map(encoded),
);
const anyPath = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`),
  fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
  fc.constantFrom(
    '/',
    '//',
    '///health',
    '/./health',
    '/../health',
    '/health/..',
    '/ui/../health',
    '/UI',
    '/Health',
  ),
);

describe('fstore serve over HTTP under random input', () => {
  it('answers POST /get-online-features with JSON below 500; a valid request with every row and feature', async () => {
    const valid = validOnlineFeatures.map(({ selection, full, ...entities }) => ({
      ...selection,
      entities,
      full_feature_names: full,
    }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          {
            weight: 2,
            arbitrary: valid.map((body) => ({ kind: 'valid' as const, body: JSON.stringify(body) })),
          },
          {
            weight: 5,
            arbitrary: jsonBodies(valid, anyOnlineFeatures).map((body) => ({ kind: 'any' as const, body })),
          },
        ),
        contentType,
        async ({ kind, body }, type) => {
          const sent: Sent = {
            method: 'POST',
            target: '/get-online-features',
            headers: type === undefined ? {} : { 'content-type': type },
            body,
          };
          const { reply, body: answer } = await check(sent);
          if (kind !== 'valid') return;
          expect(reply.status, reply.text).toBe(200);
          const request = JSON.parse(body) as { entities: { user_id: unknown[] } };
          const rows = request.entities.user_id.length;
          const response = answer as {
            metadata: { feature_names: string[] };
            results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
          };
          expect(response.results).toHaveLength(response.metadata.feature_names.length);
          for (const result of response.results) {
            expect(result.values).toHaveLength(rows);
            expect(result.event_timestamps).toHaveLength(rows);
            result.statuses.forEach((status, row) => {
              expect(STATUSES).toContain(status);
              // NULL_VALUE is the status of a null; a PRESENT value is there.
              if (status === 'PRESENT') expect(result.values[row], reply.text).not.toBeNull();
            });
          }
        },
      ),
      { numRuns: RUNS.onlineFeatures },
    );
  });

  it('answers POST /push with JSON below 500; valid rows are taken', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          {
            weight: 1,
            arbitrary: validPush.map((body) => ({ kind: 'valid' as const, body: JSON.stringify(body) })),
          },
          {
            weight: 3,
            arbitrary: jsonBodies(validPush, anyPush).map((body) => ({ kind: 'any' as const, body })),
          },
        ),
        contentType,
        async ({ kind, body }, type) => {
          const sent: Sent = {
            method: 'POST',
            target: '/push',
            headers: type === undefined ? {} : { 'content-type': type },
            body,
          };
          const { reply, body: answer } = await check(sent);
          if (kind !== 'valid') return;
          const rows = (JSON.parse(body) as { df: { user_id: unknown[] } }).df.user_id.length;
          expect(reply.status, reply.text).toBe(200);
          expect(answer).toMatchObject({ rows });
        },
      ),
      { numRuns: RUNS.push },
    );
  });

  it('answers the registry routes with JSON below 500, any name, query and method; a view by its name', async () => {
    const name = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...VIEWS.slice(0, 3)) },
      segment,
      fc.constantFrom('user_transaction_stat', 'USER_TRANSACTION_STATS', 'fraud_model_v1', 'a'.repeat(2_000)),
    );
    await fc.assert(
      fc.asyncProperty(
        requestTo(
          fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, method),
          fc.oneof(
            fc.constant('/registry/feature-views'),
            name.map((view) => `/registry/feature-views/${view}`),
          ),
          fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, oddText),
        ),
        async (sent) => {
          const { reply, body } = await check(sent);
          const view = /^\/registry\/feature-views\/([a-z_]+)$/.exec(routedPath(sent.target))?.[1];
          if (
            sent.method === 'GET' &&
            view &&
            VIEWS.slice(0, 3).includes(view) &&
            !sent.target.includes('?')
          ) {
            expect(reply.status).toBe(200);
            expect(body).toMatchObject({ name: view });
          }
        },
      ),
      { numRuns: RUNS.registry },
    );
  });

  it('answers /health, /ui and /ui/api/catalog with JSON (or the page) below 500, any query and method', async () => {
    await fc.assert(
      fc.asyncProperty(
        requestTo(
          fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, method),
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom('/health', '/ui', '/ui/api/catalog') },
            fc.constantFrom('/ui/api', '/ui/api/catalog/x', '/ui/index.html', '/ui/..', '/health/x'),
            segment.map((text) => `/ui/${text}`),
          ),
          fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, oddText),
        ),
        async (sent) => {
          const { reply, body } = await check(sent);
          if (sent.method === 'GET' && routedPath(sent.target) === '/health') {
            expect(reply.status).toBe(200);
            expect(body).toEqual({ status: 'ok', registry_revision: 1 });
          }
          if (sent.method === 'GET' && routedPath(sent.target) === '/ui') expect(reply.status).toBe(200);
        },
      ),
      { numRuns: RUNS.healthAndCatalog },
    );
  });

  it('answers any method on any path with JSON below 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        requestTo(method, anyPath, fc.oneof(fc.constant(undefined), oddText, jsonBodies(validPush, anyPush))),
        async (sent) => {
          await check(sent);
        },
      ),
      { numRuns: RUNS.anyRoute },
    );
  });

  it('never answers a request Node cannot parse with a 5xx, and keeps serving', async () => {
    // The server logs the requests it could not read to their end (cut short by the client).
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    onTestFinished(() => logged.mockRestore());
    const requestLine = fc.oneof(
      fc
        .tuple(
          fc.oneof(fc.constantFrom('GET', 'POST', 'FOO', 'get', 'G ET', ''), fc.string({ maxLength: 8 })),
          fc.oneof(anyPath, fc.string({ unit: 'binary', maxLength: 30 })),
          fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/9.9', ''),
        )
        .map(([verb, path, version]) => `${verb} ${path} ${version}`),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    const header = fc.oneof(
      fc.constantFrom(
        'Host: x',
        'Content-Length: abc',
        'Content-Length: -1',
        'Content-Length: 5\r\nContent-Length: 6',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip, chunked',
        'Bad Header',
        ': x',
        'X:\u0000',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    await fc.assert(
      fc.asyncProperty(
        requestLine,
        fc.array(header, { maxLength: 3 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        async (line, headers, rest) => {
          const text = `${line}\r\n${headers.join('\r\n')}\r\n\r\n${rest}`;
          const answer = await rawExchange(text);
          const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
          // Either no answer at all (the connection closed) or a status line below 500.
          if (status !== undefined) expect(Number(status), JSON.stringify(text)).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS.unparsable },
    );
    const health = await check({ method: 'GET', target: '/health' });
    expect(health.reply.status).toBe(200);
    for (const [message] of logged.mock.calls) {
      expect(String(message)).toBe('[fstore serve] could not answer a request:');
    }
  });

  // What Node's HTTP parser refuses itself gets the API's JSON error from the server's clientError handler.
  it('answers a request Node cannot parse with a JSON error', async () => {
    const answer = await rawExchange('FOO / HTTP/1.1\r\nHost: x\r\n\r\n');

    expect(answer).toMatch(/^HTTP\/1\.1 400 [^\r]*\r\n(.+\r\n)*content-type: application\/json\r\n/i);
  });
});

/** Writes `text` on a fresh TCP connection and returns what came back before the server closed it. */
function rawExchange(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(serve.port, '127.0.0.1', () => socket.end(Buffer.from(text, 'latin1')));
    const parts: Buffer[] = [];
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('data', (part) => parts.push(part));
    socket.on('close', () => resolve(Buffer.concat(parts).toString('latin1')));
    socket.on('error', () => {});
  });
}
