import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createServeHandler } from '../../lambdas/serve.js';
import { pushEvents } from '../../lib/services/push-events.js';
import {
  FixedOnlineStore,
  fixtureItems,
  lambdaContext,
  NOW,
  proxyEvent,
  transactionsCatalog,
} from './serving-fixture.js';

const loaded = transactionsCatalog();
const store = new FixedOnlineStore(fixtureItems(loaded.catalog));
const handler = createServeHandler({
  loadCatalog: async () => loaded,
  store,
  push: (request) => pushEvents({ catalog: loaded.catalog, onlineStore: store, request }),
  now: () => NOW,
  // A small limit, so the fuzzer reaches it with bodies it can build quickly.
  limits: { maxBodyBytes: 64 * 1024 },
});

const FEATURES = [
  'user_transaction_stats:amount_sum_7d',
  'user_transaction_stats:last_3_amounts',
  'user_transaction_stats:*',
  'merchant_transaction_stats:amount_count_1d',
  'category_transaction_stats:amount_mean_7d',
  'transaction_amount_ratios:amount_to_30d_mean_ratio',
];
const ODD_REFERENCES = ['user_transaction_stats:', ':amount_sum_7d', 'a:b:c', '__proto__:constructor'];
const REFERENCES = [...FEATURES, ...ODD_REFERENCES];
const KEYS = [
  'user_id',
  'merchant_id',
  'category',
  'amount',
  'transaction_date',
  '__proto__',
  'constructor',
  'toString',
  '',
];

/** Values that have broken parsers: huge and odd numbers, long digit strings, unicode, empty things. */
const awkwardValue = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    -0,
    0.1,
    '9223372036854775808',
    '-9223372036854775809',
    '12345678901234567890',
    '',
    '\u0000',
    '\uD800',
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    [],
    {},
  ),
  fc.string({ unit: 'grapheme' }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), awkwardValue);
const column = fc.oneof(
  fc.array(anyJson, { maxLength: 5 }),
  fc.array(awkwardValue, { maxLength: 5 }),
  anyJson,
);
const columns = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), column, { maxKeys: 4 }),
  anyJson,
);

const scalar = fc.oneof(
  fc.constantFrom(42, 7, 0, -1, 'food', '42'),
  awkwardValue.filter((value) => typeof value !== 'object' || value === null),
);
/** Columns of `rows` values (mostly), so requests get past the row count to the service's other checks. */
function scalarColumns(rows: number) {
  return fc.dictionary(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, fc.string()),
    fc.oneof(
      { weight: 19, arbitrary: fc.array(scalar, { minLength: rows, maxLength: rows }) },
      { weight: 1, arbitrary: fc.array(scalar, { maxLength: 5 }) },
    ),
    { minKeys: 1, maxKeys: 4 },
  );
}

const featureList = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...FEATURES) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_REFERENCES) },
    { weight: 1, arbitrary: fc.string() },
  ),
  { minLength: 1, maxLength: 3 },
);

/** Bodies of the right shape with random contents: they reach the service and its checks. */
const wellTypedOnlineFeaturesBody = fc.integer({ min: 1, max: 4 }).chain((rows) =>
  fc
    .record(
      {
        selection: fc.oneof(
          featureList.map((features) => ({ features })),
          fc.constantFrom('fraud_model_v1', 'fraud_model_v2').map((feature_service) => ({ feature_service })),
        ),
        entities: scalarColumns(rows),
        request_context: scalarColumns(rows),
        full_feature_names: fc.boolean(),
      },
      { requiredKeys: ['selection', 'entities'] },
    )
    .map(({ selection, ...rest }) => ({ ...selection, ...rest })),
);

/** Objects with the real keys of a get-online-features body, each value of any type. */
const wrongTypedOnlineFeaturesBody = fc.record(
  {
    features: fc.oneof(
      fc.array(fc.oneof(fc.constantFrom(...REFERENCES), anyJson), { maxLength: 4 }),
      anyJson,
    ),
    feature_service: fc.oneof(fc.constantFrom('fraud_model_v1', 'fraud_model_v2', '__proto__'), anyJson),
    entities: columns,
    request_context: columns,
    full_feature_names: fc.oneof(fc.boolean(), anyJson),
    extra: anyJson,
  },
  { requiredKeys: [] },
);

const onlineFeaturesBody = fc.oneof(wellTypedOnlineFeaturesBody, wrongTypedOnlineFeaturesBody);

/** Objects with the real keys of a push body, each value of any type. */
const pushBody = fc.record(
  {
    push_source_name: fc.oneof(fc.constantFrom('transactions', 'transaction'), anyJson),
    feature_view: fc.oneof(fc.constantFrom('user_transaction_stats'), anyJson),
    df: columns,
    to: fc.oneof(fc.constantFrom('online', 'offline', 'online_and_offline', 'nowhere'), anyJson),
  },
  { requiredKeys: [] },
);

/** JSON text made wrong: cut short, doubled, with stray characters, or not JSON at all. */
function brokenJson(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(valid, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
    valid.map((text) => `${text}${text}`),
    fc.tuple(valid, fc.string(), fc.nat()).map(([text, noise, at]) => {
      const position = at % (text.length + 1);
      return `${text.slice(0, position)}${noise}${text.slice(position)}`;
    }),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      '',
      ' ',
      'null',
      'NaN',
      'undefined',
      '{',
      '}',
      '[',
      '1e999',
      '-1e999',
      '"\\ud800"',
      '\uFEFF{}',
    ),
  );
}

/** Deeply nested lists in the places a body holds values: parsers and messages must not recurse on them. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('entities', 'features', 'df', 'top'))
  .map(([depth, where]) => {
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (where === 'entities') return `{"features": ["${REFERENCES[0]}"], "entities": {"user_id": ${nested}}}`;
    if (where === 'features') return `{"features": [${nested}], "entities": {"user_id": [1]}}`;
    if (where === 'df') return `{"push_source_name": "transactions", "df": {"user_id": [${nested}]}}`;
    return nested;
  });

/** Bodies with `__proto__` and other inherited names as keys, written as text so they stay own keys. */
const prototypeKeys = fc.constantFrom(
  '{"__proto__": {"features": ["user_transaction_stats:amount_sum_7d"]}, "entities": {"user_id": [1]}}',
  '{"features": ["user_transaction_stats:amount_sum_7d"], "entities": {"__proto__": [1], "user_id": [1]}}',
  '{"features": ["user_transaction_stats:amount_sum_7d"], "entities": {"user_id": {"__proto__": [1]}}}',
  '{"feature_service": "fraud_model_v1", "entities": {"user_id": [1]}, "request_context": {"__proto__": {"amount": [1]}}}',
  '{"features": ["user_transaction_stats:amount_sum_7d"], "entities": {"constructor": [1], "user_id": [1]}}',
  '{"push_source_name": "transactions", "df": {"__proto__": [1]}}',
  '{"feature_view": "user_transaction_stats", "df": {"user_id": [1], "constructor": [2]}, "__proto__": 1}',
);

function bodies(shape: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const valid = shape.map((body) => JSON.stringify(body));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 2, arbitrary: brokenJson(valid) },
    { weight: 1, arbitrary: anyJson.map((body) => JSON.stringify(body) ?? 'null') },
    { weight: 1, arbitrary: deeplyNested },
    { weight: 1, arbitrary: prototypeKeys },
  );
}

/** A request as API Gateway passes it: the body maybe base64-encoded, the content type maybe missing or wrong. */
function eventFor(
  method: string,
  path: string,
  body: string,
  base64: boolean,
  contentType: string | undefined,
) {
  return proxyEvent({
    method,
    path,
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });
}

const contentTypes = fc.constantFrom(
  undefined,
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
);

/**
 * Every reply is JSON with a status below 500; every 4xx is Feast's error detail as a JSON string, carrying
 * `{"error": {"code", "message"}}` (`feastErrorBody`).
 */
async function expectWellFormedReply(event: APIGatewayProxyEvent): Promise<void> {
  const reply = await handler(event, lambdaContext());
  expect(reply.statusCode).toBeLessThan(500);
  expect(reply.headers?.['content-type']).toBe('application/json');
  const body: unknown = JSON.parse(reply.body);
  if (reply.statusCode >= 400) {
    expect(typeof body).toBe('string');
    expect(JSON.parse(body as string)).toEqual({
      module: 'feast.errors',
      class: expect.stringMatching(/^[A-Za-z]+$/),
      message: expect.stringMatching(/\S/),
      error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.stringMatching(/\S/) },
    });
  } else {
    expect(reply.statusCode).toBe(200);
    expect(body).toBeTypeOf('object');
  }
}

describe('the serving handler under random input', () => {
  it('answers every random get-online-features body with JSON below 500, and every 4xx with a code and a message', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodies(onlineFeaturesBody),
        fc.boolean(),
        contentTypes,
        async (body, base64, contentType) => {
          await expectWellFormedReply(eventFor('POST', '/get-online-features', body, base64, contentType));
        },
      ),
      { numRuns: 2_500 },
    );
  });

  it('answers every random push body with JSON below 500, and every 4xx with a code and a message', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(pushBody), fc.boolean(), contentTypes, async (body, base64, contentType) => {
        await expectWellFormedReply(eventFor('POST', '/push', body, base64, contentType));
      }),
      { numRuns: 1_000 },
    );
  });

  it('answers random methods and paths with JSON below 500', async () => {
    const paths = fc.oneof(
      fc.constantFrom(
        '/',
        '/health',
        '/push/',
        '/registry/feature-views',
        '/registry/feature-views/',
        '/registry/feature-views/%E0%A4%A',
        '/registry/feature-views/__proto__',
        '/registry/feature-views/a/b',
        '//get-online-features',
      ),
      fc.string().map((text) => `/${text}`),
      fc.webPath().map((path) => path || '/'),
    );
    const methods = fc.oneof(
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      fc.string({ minLength: 1, maxLength: 10 }),
    );
    await fc.assert(
      fc.asyncProperty(methods, paths, bodies(onlineFeaturesBody), async (method, path, body) => {
        await expectWellFormedReply(eventFor(method, path, body, false, 'application/json'));
      }),
      { numRuns: 500 },
    );
  });

  it('answers a body over the limit with 413 whatever it holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), async (text) => {
        const body = text.repeat(Math.ceil((64 * 1024 + 1) / Buffer.byteLength(text)));

        const reply = await handler(
          eventFor('POST', '/get-online-features', body, false, undefined),
          lambdaContext(),
        );

        expect(reply.statusCode).toBe(413);
        expect(JSON.parse(JSON.parse(reply.body))).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
      }),
      { numRuns: 100 },
    );
  });
});
