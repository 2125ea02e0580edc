import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { ApiError } from '../../lambdas/http/api-error.js';
import { RegistryUnavailableError, registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import type { LoadedCatalog, ServeDependencies } from '../../lambdas/http/serve-dependencies.js';
import {
  ServeConfigurationError,
  serveDependenciesFromEnvironment,
} from '../../lambdas/http/serve-environment.js';
import { createServeHandler } from '../../lambdas/serve.js';
import { FstoreError } from '../../lib/errors.js';
import { collectDefinitions, featureView, validateFeatureRepo } from '../../lib/index.js';
import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { Registry } from '../../lib/registry/registry.js';
import type { RegistryRevision } from '../../lib/registry/registry-store.js';
import { ensureRegistryTable } from '../../lib/registry/registry-table.js';
import { pushEvents } from '../../lib/services/push-events.js';
import type { PushRequest, PushResult } from '../../lib/services/push-request.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import {
  OnlineStoreReadError,
  OnlineStoreUnavailableError,
  OnlineStoreWriteError,
} from '../../lib/stores/online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { replyProblems } from '../compat/openapi-responses.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import {
  FixedOnlineStore,
  fixtureItems,
  itemOf,
  lambdaContext,
  NOW,
  parsedReply,
  postJson,
  proxyEvent,
  transactionsCatalog,
} from './serving-fixture.js';

const loaded = transactionsCatalog();
const MIB = 1024 * 1024;
const ROUTES =
  'POST /get-online-features, POST /push, POST /write-to-online-store, POST /materialize, POST /materialize-incremental, GET /materialize-jobs/{id}, GET /openapi.json, GET /health, GET /registry/feature-views, GET /registry/feature-views/{name}';

interface Served {
  readonly store: FixedOnlineStore;
  readonly pushed: PushRequest[];
  call(event: APIGatewayProxyEvent): Promise<{ status: number; body: unknown; reply: APIGatewayProxyResult }>;
}

/** The handler over the transactions example and the fixture items, with a push service that records requests. */
function serve(overrides: Partial<ServeDependencies> = {}): Served {
  const store = new FixedOnlineStore(fixtureItems(loaded.catalog));
  const pushed: PushRequest[] = [];
  const handler = createServeHandler({
    loadCatalog: async () => loaded,
    store,
    push: async (request): Promise<PushResult> => {
      pushed.push(request);
      return { rows: 2, onlineItems: 1, offlineRows: 2 };
    },
    now: () => NOW,
    ...overrides,
  });
  return {
    store,
    pushed,
    call: async (event) => {
      const reply = await handler(event, lambdaContext());
      const { status, contentType, body } = parsedReply(reply);
      expect(contentType).toBe('application/json');
      // Every answer a route test receives is as the OpenAPI document describes it.
      if (typeof event.httpMethod === 'string' && typeof event.path === 'string') {
        expect(replyProblems(event.httpMethod, event.path, reply)).toEqual([]);
      }
      return { status, body, reply };
    },
  };
}

/** The Feast exception class each code names, which Feast's client raises (`FeastError.from_error_detail`). */
const FEAST_CLASS: Readonly<Record<string, string>> = {
  NOT_FOUND: 'FeastObjectNotFoundException',
  UNKNOWN_FEATURE_VIEW: 'FeatureViewNotFoundException',
  UNKNOWN_FEATURE_SERVICE: 'FeatureServiceNotFoundException',
  UNKNOWN_VERSION: 'FeatureViewVersionNotFound',
  MISSING_REQUEST_FIELD: 'RequestDataNotFoundInEntityRowsException',
  UNKNOWN_SOURCE: 'PushSourceNotFoundException',
  FEATURE_NAME_COLLISION: 'FeatureNameCollisionError',
};

/** An error body once parsed (`parsedReply`): Feast's error detail with fstore's code and message. */
function errorBody(code: string, message: string): unknown {
  return {
    module: 'feast.errors',
    class: FEAST_CLASS[code] ?? 'FeastError',
    message,
    error: { code, message },
  };
}

function syntaxErrorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} parses`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /get-online-features', () => {
  it('answers Feast’s column-major response, join keys first, NOT_FOUND for an entity with nothing stored', async () => {
    const { call } = serve();

    const { status, body } = await call(
      postJson('/get-online-features', {
        features: [
          'user_transaction_stats:amount_sum_7d',
          'user_transaction_stats:weekly_to_monthly_amount_ratio',
        ],
        entities: { user_id: [42, 7] },
      }),
    );

    expect(status).toBe(200);
    expect(body).toEqual({
      metadata: { feature_names: ['user_id', 'amount_sum_7d', 'weekly_to_monthly_amount_ratio'] },
      results: [
        {
          values: [42, 7],
          statuses: ['PRESENT', 'PRESENT'],
          event_timestamps: ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'],
        },
        {
          values: [30, 0],
          statuses: ['PRESENT', 'NOT_FOUND'],
          event_timestamps: ['2024-02-29T00:00:00Z', '1970-01-01T00:00:00Z'],
        },
        {
          values: [0.5, null],
          statuses: ['PRESENT', 'NOT_FOUND'],
          event_timestamps: ['2024-02-29T00:00:00Z', '1970-01-01T00:00:00Z'],
        },
      ],
    });
  });

  it('names features view__feature when full_feature_names is true', async () => {
    const { call } = serve();

    const { body } = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_count_7d'],
        entities: { user_id: [42] },
        full_feature_names: true,
      }),
    );

    expect(body).toMatchObject({
      metadata: { feature_names: ['user_id', 'user_transaction_stats__amount_count_7d'] },
      results: [{ values: [42] }, { values: [2] }],
    });
  });

  it('serves a feature service, reading on-demand request fields from request_context', async () => {
    const { call, store } = serve();

    const { status, body } = await call(
      postJson('/get-online-features', {
        feature_service: 'fraud_model_v1',
        entities: { user_id: [42], merchant_id: [7], category: ['food'] },
        request_context: { amount: [15] },
        full_feature_names: true,
      }),
    );

    expect(status).toBe(200);
    const { metadata, results } = body as {
      metadata: { feature_names: string[] };
      results: { values: unknown[] }[];
    };
    const value = (name: string) => results[metadata.feature_names.indexOf(name)]?.values[0];
    expect(metadata.feature_names).toHaveLength(3 + 17 + 3 + 1);
    expect(value('merchant_transaction_stats__amount_count_1d')).toBe(1);
    expect(value('category_transaction_stats__amount_mean_7d')).toBe(10);
    expect(value('transaction_amount_ratios__amount_to_30d_mean_ratio')).toBe(0.75);
    expect(store.reads).toHaveLength(1);
  });

  it('decodes a base64-encoded body', async () => {
    const { call } = serve();
    const json = JSON.stringify({
      features: ['user_transaction_stats:amount_sum_30d'],
      entities: { user_id: [42] },
    });

    const { status, body } = await call(
      proxyEvent({ body: Buffer.from(json).toString('base64'), isBase64Encoded: true }),
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({ results: [{ values: [42] }, { values: [60] }] });
  });

  it.each([
    ['no content type', {}],
    ['a form content type', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('parses a JSON body sent with %s', async (_, headers) => {
    const { call } = serve();
    const json = JSON.stringify({
      features: ['user_transaction_stats:amount_sum_30d'],
      entities: { user_id: [42] },
    });

    const { status } = await call(proxyEvent({ body: json, headers }));

    expect(status).toBe(200);
  });

  it('takes null for an optional field as not given, as Feast does', async () => {
    const { call } = serve();

    const { status } = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_sum_30d'],
        feature_service: null,
        request_context: null,
        full_feature_names: null,
        entities: { user_id: [42] },
      }),
    );

    expect(status).toBe(200);
  });

  it.each([
    [
      'a misspelt field',
      JSON.stringify({
        featues: ['x'],
        features: ['user_transaction_stats:amount_sum_30d'],
        entities: { user_id: [42] },
      }),
    ],
    [
      'a __proto__ field',
      '{"__proto__": {"features": 1}, "features": ["user_transaction_stats:amount_sum_30d"], "entities": {"user_id": [42]}}',
    ],
    [
      'a field of a later Feast',
      JSON.stringify({
        features: ['user_transaction_stats:amount_sum_30d'],
        entities: { user_id: [42] },
        api_version: 2,
      }),
    ],
  ])(
    'ignores %s, as the pydantic models of Feast’s server ignore fields they do not name',
    async (_, body) => {
      const { call } = serve();

      const { status, body: answer } = await call(proxyEvent({ body }));

      expect(status).toBe(200);
      expect(answer).toMatchObject({ metadata: { feature_names: ['user_id', 'amount_sum_30d'] } });
    },
  );

  it('answers the join keys in the order the request gives them, not the order the views declare them', async () => {
    const { call } = serve();

    const { body } = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_count_7d', 'merchant_transaction_stats:amount_count_7d'],
        entities: { merchant_id: [7], user_id: [42] },
        full_feature_names: true,
      }),
    );

    expect((body as { metadata: { feature_names: string[] } }).metadata.feature_names).toEqual([
      'merchant_id',
      'user_id',
      'user_transaction_stats__amount_count_7d',
      'merchant_transaction_stats__amount_count_7d',
    ]);
  });

  it.each([
    ['@latest', 'user_transaction_stats@latest:amount_count_7d', 'user_transaction_stats__amount_count_7d'],
    [
      '@v0, the applied version when the view has one',
      'user_transaction_stats@v0:amount_count_7d',
      'user_transaction_stats@v0__amount_count_7d',
    ],
    [
      'the version id',
      `user_transaction_stats@${loaded.catalog.views.get('user_transaction_stats')?.version}:amount_count_7d`,
      `user_transaction_stats@${loaded.catalog.views.get('user_transaction_stats')?.version}__amount_count_7d`,
    ],
  ])('serves a versioned reference with %s, naming it as Feast does', async (_, reference, name) => {
    const { call } = serve();

    const { status, body } = await call(
      postJson('/get-online-features', {
        features: [reference],
        entities: { user_id: [42] },
        full_feature_names: true,
      }),
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({
      metadata: { feature_names: ['user_id', name] },
      results: [{ values: [42] }, { values: [2], statuses: ['PRESENT'] }],
    });
  });

  it('answers 404 UNKNOWN_VERSION for a version the online store does not hold, naming the versions it does', async () => {
    const { call } = serve();
    const version = loaded.catalog.views.get('user_transaction_stats')?.version;

    const reply = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats@v3:amount_count_7d'],
        entities: { user_id: [42] },
      }),
    );

    expect(reply).toMatchObject({
      status: 404,
      body: errorBody(
        'UNKNOWN_VERSION',
        `feature view "user_transaction_stats" has no version v3: the online store holds its applied version v0 (${version}), which "user_transaction_stats@latest" and "user_transaction_stats@v0" read; its versions are v0 (${version}, applied). To serve another version, apply its definition and materialize it`,
      ),
    });
  });

  it('adds each view read and its version number when include_feature_view_version_metadata is true', async () => {
    const { call } = serve();

    const { body } = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_count_7d', 'merchant_transaction_stats:amount_count_7d'],
        entities: { user_id: [42], merchant_id: [7] },
        full_feature_names: true,
        include_feature_view_version_metadata: true,
      }),
    );

    expect((body as { metadata: unknown }).metadata).toMatchObject({
      feature_view_metadata: [
        {
          name: 'user_transaction_stats',
          version: 0,
          version_id: loaded.catalog.views.get('user_transaction_stats')?.version,
        },
        {
          name: 'merchant_transaction_stats',
          version: 0,
          version_id: loaded.catalog.views.get('merchant_transaction_stats')?.version,
        },
      ],
    });
  });

  it('answers 404 UNKNOWN_FEATURE_VIEW, as Feast does, when a reference names a view that does not exist', async () => {
    const { call } = serve();

    const reply = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_statz:amount_count_7d'],
        entities: { user_id: [42] },
      }),
    );

    expect(reply).toMatchObject({
      status: 404,
      body: errorBody(
        'UNKNOWN_FEATURE_VIEW',
        'unknown features: user_transaction_statz:amount_count_7d (did you mean user_transaction_stats:amount_count_7d?)',
      ),
    });
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    const { call } = serve();
    const json = JSON.stringify({
      features: ['user_transaction_stats:amount_sum_30d'],
      entities: { user_id: [42] },
    });

    const { status } = await call(proxyEvent({ body: json.padEnd(MIB, ' ') }));

    expect(status).toBe(200);
  });

  it('reads a row limit given in the dependencies', async () => {
    const { call } = serve({ limits: { maxEntityRows: 2 } });

    const { status, body } = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_sum_30d'],
        entities: { user_id: [1, 2, 3] },
      }),
    );

    expect(status).toBe(400);
    expect(body).toEqual(
      errorBody(
        'TOO_MANY_ROWS',
        'entities holds 3 rows; at most 2 are allowed per request, so split the request',
      ),
    );
  });
});

describe('POST /get-online-features with bad input', () => {
  const sum7d = 'user_transaction_stats:amount_sum_7d';

  it.each<[string, number, string, string | null, string]>([
    ['an absent body', 400, 'INVALID_JSON', null, 'the request has no body; send a JSON object'],
    [
      'malformed JSON',
      400,
      'INVALID_JSON',
      '{"features": [',
      `the body is not valid JSON (${syntaxErrorOf('{"features": [')}); send a JSON object`,
    ],
    [
      'a list for a body',
      400,
      'INVALID_REQUEST',
      '[1, 2]',
      'the body must be a JSON object such as {"features": ["view:feature"], "entities": {"user_id": [1, 2]}}; got a list',
    ],
    [
      'features as a string',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: sum7d, entities: { user_id: [1] } }),
      `features must be a list of "view:feature" names, e.g. ["user_stats:amount_sum_7d"]; got the string "${sum7d}"`,
    ],
    [
      'a feature that is not a string',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d, 42], entities: { user_id: [1] } }),
      'features[1] must be a "view:feature" name (a string); got 42',
    ],
    [
      'an overlong feature name',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: ['x'.repeat(257)], entities: { user_id: [1] } }),
      'features[0] is 257 characters long; a "view:feature" name has at most 256',
    ],
    [
      'feature_service as a list',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ feature_service: ['fraud_model_v1'], entities: { user_id: [1] } }),
      'feature_service must be a feature service name (a string); got a list',
    ],
    [
      'no entities',
      422,
      'MISSING_FIELD',
      JSON.stringify({ features: [sum7d] }),
      'entities is missing; give each join key a list of values, one per row, e.g. "entities": {"user_id": [1, 2]}',
    ],
    [
      'entities as a list',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], entities: [{ user_id: 1 }] }),
      'entities must be an object of lists, one value per row, e.g. {"user_id": [1, 2]}; got a list',
    ],
    [
      'an entity column that is not a list',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], entities: { user_id: 42 } }),
      'entities.user_id must be a list with one value per row, e.g. [1, 2]; got 42',
    ],
    [
      'a nested entity value',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], entities: { user_id: [[42]] } }),
      'entities.user_id[0] must be a string, number, boolean or null; got a list',
    ],
    [
      'a request_context column that is not a list',
      400,
      'INVALID_REQUEST',
      JSON.stringify({
        features: [sum7d],
        entities: { user_id: [1] },
        request_context: { 'the amount': 'x' },
      }),
      'request_context["the amount"] must be a list with one value per row, e.g. [1, 2]; got the string "x"',
    ],
    [
      'full_feature_names as a string',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], entities: { user_id: [1] }, full_feature_names: 'yes' }),
      'full_feature_names must be true or false; got the string "yes"',
    ],
    [
      'both features and feature_service',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], feature_service: 'fraud_model_v1', entities: { user_id: [1] } }),
      'give either "features" (["view:feature", ...]) or "feature_service", not both or neither',
    ],
    [
      'an unknown feature',
      400,
      'UNKNOWN_FEATURE',
      JSON.stringify({ features: ['user_transaction_stats:amount_sum_8d'], entities: { user_id: [1] } }),
      'unknown features: user_transaction_stats:amount_sum_8d (did you mean user_transaction_stats:amount_sum_7d?)',
    ],
    [
      'an unknown feature service',
      404,
      'UNKNOWN_FEATURE_SERVICE',
      JSON.stringify({ feature_service: 'fraud_model_v2', entities: { user_id: [1] } }),
      'there is no feature service "fraud_model_v2"; did you mean "fraud_model_v1"?',
    ],
    [
      'a missing join key',
      400,
      'MISSING_JOIN_KEY',
      JSON.stringify({ features: [sum7d], entities: { merchant_id: [1] } }),
      'entities has no "user_id" (join key of entity "user", needed by view "user_transaction_stats"); add "user_id": [...] with one value per row',
    ],
    [
      'a join key of the wrong type',
      400,
      'INVALID_ENTITY_KEY',
      JSON.stringify({ features: [sum7d], entities: { user_id: ['abc'] } }),
      'entities.user_id[0] is "abc"; "user_id" is an int64 join key, so give an integer (or a string of digits beyond 2^53)',
    ],
    [
      'columns of different lengths',
      400,
      'INVALID_REQUEST',
      JSON.stringify({ features: [sum7d], entities: { user_id: [1, 2], amount: [1] } }),
      'entities columns have different lengths (user_id: 2, amount: 1); give one value per row in each',
    ],
  ])('refuses %s with %i %s', async (_, status, code, body, message) => {
    const { call, store } = serve();

    const reply = await call(proxyEvent({ body }));

    expect(reply).toMatchObject({ status, body: errorBody(code, message) });
    expect(store.reads).toEqual([]);
  });

  it('refuses 1001 rows with 400 TOO_MANY_ROWS', async () => {
    const { call } = serve();

    const { status, body } = await call(
      postJson('/get-online-features', {
        features: [sum7d],
        entities: { user_id: Array.from({ length: 1001 }, (_, index) => index) },
      }),
    );

    expect(status).toBe(400);
    expect(body).toEqual(
      errorBody(
        'TOO_MANY_ROWS',
        'entities holds 1001 rows; at most 1000 are allowed per request, so split the request',
      ),
    );
  });

  it('refuses 501 features with 400 TOO_MANY_FEATURES', async () => {
    const { call } = serve();

    const { status, body } = await call(
      postJson('/get-online-features', {
        features: Array.from({ length: 501 }, () => sum7d),
        entities: { user_id: [42] },
      }),
    );

    expect(status).toBe(400);
    expect(body).toEqual(
      errorBody(
        'TOO_MANY_FEATURES',
        '"features" names 501 features; at most 500 are allowed per request, so split the request',
      ),
    );
  });

  it('refuses a body of 1 MiB + 1 byte with 413 BODY_TOO_LARGE before parsing it', async () => {
    const { call } = serve();

    const { status, body } = await call(proxyEvent({ body: '{'.padEnd(MIB + 1, ' ') }));

    expect(status).toBe(413);
    expect(body).toEqual(
      errorBody(
        'BODY_TOO_LARGE',
        'the body is 1048577 bytes; at most 1048576 bytes are allowed per request, so split the request',
      ),
    );
  });

  it('counts the decoded bytes of a base64 body against the limit', async () => {
    const { call } = serve({ limits: { maxBodyBytes: 10 } });

    const { status, body } = await call(
      proxyEvent({ body: Buffer.from('{"a": 12345}').toString('base64'), isBase64Encoded: true }),
    );

    expect(status).toBe(413);
    expect(body).toEqual(
      errorBody(
        'BODY_TOO_LARGE',
        'the body is 12 bytes; at most 10 bytes are allowed per request, so split the request',
      ),
    );
  });
});

describe('POST /get-online-features when something fails', () => {
  const request = postJson('/get-online-features', {
    features: ['user_transaction_stats:amount_sum_7d'],
    entities: { user_id: [42] },
  });

  it('answers 503 NOT_APPLIED before the first apply', async () => {
    const { call } = serve({ loadCatalog: async () => undefined });

    const reply = await call(request);

    expect(reply).toMatchObject({
      status: 503,
      body: errorBody(
        'NOT_APPLIED',
        'no feature definitions have been applied to this project yet; run `fstore apply`, then retry',
      ),
    });
  });

  it('answers 503 ONLINE_STORE_UNAVAILABLE with the store’s message when it cannot be reached', async () => {
    const { call, store } = serve();
    store.failure = new OnlineStoreUnavailableError(
      'the online store cannot be reached: connect ECONNREFUSED',
    );

    const reply = await call(request);

    expect(reply).toMatchObject({
      status: 503,
      body: errorBody('ONLINE_STORE_UNAVAILABLE', 'the online store cannot be reached: connect ECONNREFUSED'),
    });
  });

  it('answers 503 ONLINE_STORE_THROTTLED when keys stay unread, never a silent NOT_FOUND', async () => {
    const { call, store } = serve();
    store.failure = new OnlineStoreReadError('1 of 1 keys stayed unread after 8 attempts');

    const reply = await call(request);

    expect(reply).toMatchObject({
      status: 503,
      body: errorBody('ONLINE_STORE_THROTTLED', '1 of 1 keys stayed unread after 8 attempts'),
    });
  });

  it('answers 500 INTERNAL with a generic message and logs the real error', async () => {
    const { call, store } = serve();
    const failure = new Error('secret: table arn:aws:dynamodb:eu-west-1:1:table/x is corrupt');
    store.failure = failure;
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});

    const reply = await call(request);

    expect(reply).toMatchObject({
      status: 500,
      body: errorBody(
        'INTERNAL',
        'the server failed to answer this request (request id req-1); the cause is in its logs',
      ),
    });
    expect(reply.reply.body).not.toContain('secret');
    expect(logged).toHaveBeenCalledWith('[fstore serve] request req-1 failed:', failure);
  });

  it('answers 500 INTERNAL for a coded service error with a 5xx status, hiding its message', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { call } = serve({
      loadCatalog: async () => {
        throw Object.assign(new FstoreError('internal detail'), { code: 'BROKEN', status: 502 });
      },
    });

    const reply = await call(request);

    expect(reply.status).toBe(500);
    expect(reply.body).toMatchObject({ error: { code: 'INTERNAL' } });
  });
});

describe('POST /push', () => {
  it('passes the rows on in camelCase and answers rows, online_items and offline_rows', async () => {
    const { call, pushed } = serve();

    const reply = await call(
      postJson('/push', {
        push_source_name: 'transactions',
        df: { user_id: [1, 2], amount: [9.5, 3], embedding: [[0.1, 0.2], null] },
        to: 'online_and_offline',
      }),
    );

    expect(reply).toMatchObject({ status: 200, body: { rows: 2, online_items: 1, offline_rows: 2 } });
    expect(pushed).toEqual([
      {
        pushSourceName: 'transactions',
        featureView: undefined,
        df: { user_id: [1, 2], amount: [9.5, 3], embedding: [[0.1, 0.2], null] },
        to: 'online_and_offline',
      },
    ]);
  });

  it('folds pushed rows into the online views, so the next read sees them', async () => {
    const store = new FixedOnlineStore();
    const handler = createServeHandler({
      loadCatalog: async () => loaded,
      store,
      push: (request) => pushEvents({ catalog: loaded.catalog, onlineStore: store, request }),
      now: () => NOW,
    });
    const call = async (event: APIGatewayProxyEvent) => parsedReply(await handler(event, lambdaContext()));

    const pushedReply = await call(
      postJson('/push', {
        push_source_name: 'transactions',
        df: {
          user_id: [5, 5],
          transaction_date: ['2024-02-29T10:00:00Z', '2024-02-29T11:00:00Z'],
          amount: [4, 6],
          category: ['food', 'food'],
          merchant_id: [9, 9],
        },
      }),
    );
    const read = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_sum_7d', 'user_transaction_stats:amount_count_7d'],
        entities: { user_id: [5] },
      }),
    );

    expect(pushedReply).toMatchObject({ status: 200, body: { rows: 2, online_items: 3, offline_rows: 0 } });
    expect(read.body).toMatchObject({ results: [{ values: [5] }, { values: [10] }, { values: [2] }] });
  });

  it('answers the service’s 501 OFFLINE_PUSH_UNAVAILABLE as it is when there is no offline store', async () => {
    const store = new FixedOnlineStore();
    const { call } = serve({
      push: (request) => pushEvents({ catalog: loaded.catalog, onlineStore: store, request }),
    });

    const reply = await call(
      postJson('/push', {
        push_source_name: 'transactions',
        df: {
          user_id: [5],
          transaction_date: ['2024-02-29T10:00:00Z'],
          amount: [4],
          category: ['food'],
          merchant_id: [9],
        },
        to: 'offline',
      }),
    );

    expect(reply).toMatchObject({
      status: 501,
      body: errorBody(
        'OFFLINE_PUSH_UNAVAILABLE',
        'this server has no offline store to push to; push with "to": "online"',
      ),
    });
  });

  it('answers 501 PUSH_UNAVAILABLE when the server has no push service', async () => {
    const { call } = serve({ push: undefined });

    const reply = await call(postJson('/push', { push_source_name: 'transactions', df: { user_id: [1] } }));

    expect(reply).toMatchObject({
      status: 501,
      body: errorBody(
        'PUSH_UNAVAILABLE',
        'this server was started without a push service, so it takes no rows; write them through the stream or `fstore ingest` instead',
      ),
    });
  });

  it.each<[string, unknown, string]>([
    [
      'both a source and a view',
      { push_source_name: 'transactions', feature_view: 'user_transaction_stats', df: { user_id: [1] } },
      'give either push_source_name (every view reading that source takes the rows) or feature_view (only that view takes them), not both',
    ],
    [
      'an unknown destination',
      { push_source_name: 'transactions', df: { user_id: [1] }, to: 'dynamodb' },
      'to must be "online", "offline" or "online_and_offline"; got the string "dynamodb"',
    ],
    [
      'df as rows',
      { push_source_name: 'transactions', df: [{ user_id: 1 }] },
      'df must be an object of lists, one value per row, e.g. {"user_id": [1, 2], "amount": [9.5, 3]}; got a list',
    ],
    [
      'an empty df',
      { push_source_name: 'transactions', df: {} },
      'df holds no columns; give each column of the source a list with one value per row',
    ],
    [
      'columns of different lengths',
      { push_source_name: 'transactions', df: { user_id: [1, 2], amount: [1] } },
      'df columns have different lengths ("user_id": 2, "amount": 1); give one value per row in each',
    ],
    [
      'a nested list in a cell',
      { push_source_name: 'transactions', df: { embedding: [[[0.1]]] } },
      'df.embedding[0] must be a string, number, boolean, null or a flat list (for a vector column); got a nested list',
    ],
    [
      'allow_registry_cache as a string',
      { push_source_name: 'transactions', df: { user_id: [1] }, allow_registry_cache: 'no' },
      'allow_registry_cache must be true or false; got the string "no"',
    ],
  ])('refuses %s with 400 INVALID_REQUEST', async (_, body, message) => {
    const { call, pushed } = serve();

    const reply = await call(postJson('/push', body));

    expect(reply).toMatchObject({ status: 400, body: errorBody('INVALID_REQUEST', message) });
    expect(pushed).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    [
      'neither a source nor a view',
      { push_source: 'transactions', df: { user_id: [1] } },
      'push_source_name is missing; name the source the rows belong to (every view reading it takes them), or give "feature_view" for one view only',
    ],
    [
      'no df',
      { push_source_name: 'transactions' },
      'df is missing; give the rows column by column, e.g. "df": {"user_id": [1, 2], "amount": [9.5, 3]}',
    ],
  ])(
    'refuses %s with 422 MISSING_FIELD, as pydantic answers a missing required field in Feast',
    async (_, body, message) => {
      const { call, pushed } = serve();

      const reply = await call(postJson('/push', body));

      expect(reply).toMatchObject({ status: 422, body: errorBody('MISSING_FIELD', message) });
      expect(pushed).toEqual([]);
    },
  );

  it('takes Feast’s optional flags and ignores fields Feast’s model does not name', async () => {
    const { call, pushed } = serve();

    const reply = await call(
      postJson('/push', {
        push_source_name: 'transactions',
        df: { user_id: [1] },
        allow_registry_cache: false,
        transform_on_write: false,
        to: 'online',
        batch: 'ignored',
      }),
    );

    expect(reply.status).toBe(200);
    expect(pushed).toEqual([
      { pushSourceName: 'transactions', featureView: undefined, df: { user_id: [1] }, to: 'online' },
    ]);
  });

  it('answers a push service error that carries a code and a 4xx status with them', async () => {
    class PushSourceUnknownError extends FstoreError {
      readonly code = 'UNKNOWN_PUSH_SOURCE';
      readonly status = 404;
    }
    const { call } = serve({
      push: async () => {
        throw new PushSourceUnknownError(
          'there is no push source "transaction"; did you mean "transactions"?',
        );
      },
    });

    const reply = await call(postJson('/push', { push_source_name: 'transaction', df: { user_id: [1] } }));

    expect(reply).toMatchObject({
      status: 404,
      body: errorBody(
        'UNKNOWN_PUSH_SOURCE',
        'there is no push source "transaction"; did you mean "transactions"?',
      ),
    });
  });

  it('answers 503 ONLINE_STORE_THROTTLED when pushed items stay unwritten', async () => {
    const { call } = serve({
      push: async () => {
        throw new OnlineStoreWriteError('2 of 2 items stayed unwritten after 8 attempts');
      },
    });

    const reply = await call(
      postJson('/push', { feature_view: 'user_transaction_stats', df: { user_id: [1] } }),
    );

    expect(reply).toMatchObject({
      status: 503,
      body: errorBody('ONLINE_STORE_THROTTLED', '2 of 2 items stayed unwritten after 8 attempts'),
    });
  });
});

describe('GET /health', () => {
  it('answers ok with the registry revision it serves, reading no online item', async () => {
    const { call, store } = serve();

    const reply = await call(proxyEvent({ method: 'GET', path: '/health' }));

    expect(reply).toMatchObject({ status: 200, body: { status: 'ok', registry_revision: 3 } });
    expect(store.reads).toEqual([]);
  });

  it('answers 503 NOT_APPLIED before the first apply', async () => {
    const { call } = serve({ loadCatalog: async () => undefined });

    const reply = await call(proxyEvent({ method: 'GET', path: '/health' }));

    expect(reply).toMatchObject({ status: 503, body: { error: { code: 'NOT_APPLIED' } } });
  });
});

describe('GET /registry/feature-views', () => {
  it('lists every feature view with its entities and typed features, sorted by name', async () => {
    const { call } = serve();

    const { status, body } = await call(proxyEvent({ method: 'GET', path: '/registry/feature-views' }));

    expect(status).toBe(200);
    const { registry_revision, feature_views } = body as {
      registry_revision: number;
      feature_views: { name: string; features: { name: string }[] }[];
    };
    expect(registry_revision).toBe(3);
    expect(feature_views.map((view) => view.name)).toEqual([
      'category_transaction_stats',
      'merchant_transaction_stats',
      'user_transaction_stats',
    ]);
    expect(feature_views[1]).toEqual({
      name: 'merchant_transaction_stats',
      version: loaded.catalog.views.get('merchant_transaction_stats')?.version,
      description: "A merchant's transaction volume and average amount over the last day and week.",
      owner: 'risk-ml@example.com',
      tags: { domain: 'payments', model: 'fraud' },
      entities: ['merchant'],
      online: true,
      features: [
        { name: 'amount_count_1d', dtype: 'int64', computation: expect.any(String) },
        { name: 'amount_count_7d', dtype: 'int64', computation: expect.any(String) },
        { name: 'amount_mean_1d', dtype: 'float64', computation: expect.any(String) },
        { name: 'amount_mean_7d', dtype: 'float64', computation: expect.any(String) },
      ],
    });
  });

  it('filters with the discovery query parameters', async () => {
    const { call } = serve();

    const { body } = await call(
      proxyEvent({ method: 'GET', path: '/registry/feature-views', query: { entity: 'user' } }),
    );

    expect((body as { feature_views: { name: string }[] }).feature_views.map((view) => view.name)).toEqual([
      'user_transaction_stats',
    ]);
  });

  it('refuses an unknown query parameter, naming the allowed ones', async () => {
    const { call } = serve();

    const reply = await call(
      proxyEvent({
        method: 'GET',
        path: '/registry/feature-views',
        query: { owners: 'risk-ml@example.com' },
      }),
    );

    expect(reply).toMatchObject({
      status: 400,
      body: errorBody(
        'INVALID_REQUEST',
        'unknown query parameter "owners" (did you mean "owner"?); the query parameters are "search", "tag", "owner", "entity"',
      ),
    });
  });

  it('describes one feature view by name', async () => {
    const { call } = serve();

    const { status, body } = await call(
      proxyEvent({ method: 'GET', path: '/registry/feature-views/user_transaction_stats' }),
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'user_transaction_stats', entities: ['user'] });
    expect((body as { features: unknown[] }).features).toHaveLength(17);
  });

  it.each([
    ['suggests the closest name', 'user_transaction_stat', 'did you mean "user_transaction_stats"?'],
    ['points to the list when no name is close', 'weather', 'list them with GET /registry/feature-views'],
  ])('answers 404 NOT_FOUND for an unknown view and %s', async (_, name, hint) => {
    const { call } = serve();

    const reply = await call(proxyEvent({ method: 'GET', path: `/registry/feature-views/${name}` }));

    expect(reply).toMatchObject({
      status: 404,
      body: errorBody('NOT_FOUND', `there is no feature view "${name}"; ${hint}`),
    });
  });
});

describe('routing', () => {
  it('answers 404 NOT_FOUND for an unknown path, listing the routes', async () => {
    const { call } = serve();

    const reply = await call(proxyEvent({ method: 'GET', path: '/features' }));

    expect(reply).toMatchObject({
      status: 404,
      body: errorBody('NOT_FOUND', `there is no route /features; the API serves ${ROUTES}`),
    });
  });

  it.each([
    ['GET', '/get-online-features', 'POST'],
    ['DELETE', '/registry/feature-views/user_transaction_stats', 'GET'],
    ['POST', '/health/', 'GET'],
  ])('answers 405 METHOD_NOT_ALLOWED for %s %s, with an allow header', async (method, path, allowed) => {
    const { call } = serve();

    const { status, body, reply } = await call(proxyEvent({ method, path }));

    expect(status).toBe(405);
    expect(body).toEqual(errorBody('METHOD_NOT_ALLOWED', `${path} answers ${allowed}, not ${method}`));
    expect(reply.headers).toMatchObject({ allow: allowed });
  });

  it('serves a path with a trailing slash as the path without it', async () => {
    const { call } = serve();

    const reply = await call(proxyEvent({ method: 'GET', path: '/health/' }));

    expect(reply.status).toBe(200);
  });

  it('refuses an event that is not a REST proxy event with 400 rather than failing', async () => {
    const { call } = serve();
    const event = { ...proxyEvent(), path: '' };

    const reply = await call(event);

    expect(reply).toMatchObject({
      status: 400,
      body: errorBody(
        'INVALID_REQUEST',
        'the event has no HTTP method or path; invoke this function through an API Gateway REST API with proxy integration',
      ),
    });
  });
});

describe('registryCatalogLoader', () => {
  const objects = loaded.objects;
  const revision = (number: number): RegistryRevision => ({
    project: 'p',
    revision: number,
    appliedAt: '2024-03-01T00:00:00.000Z',
    appliedBy: 'test',
    changes: [],
    objects,
  });

  /** A registry whose answers the test sets, counting reads. */
  function fakeRegistry(answer: () => Promise<RegistryRevision | undefined>) {
    const registry = {
      reads: 0,
      current: () => {
        registry.reads++;
        return answer();
      },
    };
    return registry;
  }

  it('reads the registry at most once per refreshMs and rebuilds only for a new revision', async () => {
    let time = 0;
    let current = revision(1);
    const registry = fakeRegistry(async () => current);
    const load = registryCatalogLoader(registry, { refreshMs: 1_000, now: () => time });

    const first = await load();
    time = 999;
    const cached = await load();
    time = 1_000;
    const sameRevision = await load();
    current = revision(2);
    time = 2_000;
    const newRevision = await load();

    expect(registry.reads).toBe(3);
    expect(cached).toBe(first);
    expect(sameRevision).toBe(first);
    expect(newRevision?.revision).toBe(2);
    expect(newRevision?.catalog).not.toBe(first?.catalog);
  });

  it('shares one registry read among concurrent callers', async () => {
    const registry = fakeRegistry(async () => revision(1));
    const load = registryCatalogLoader(registry);

    const answers = await Promise.all([load(), load(), load()]);

    expect(registry.reads).toBe(1);
    expect(new Set(answers).size).toBe(1);
  });

  it('keeps serving the cached catalog when a reload fails, and says so', async () => {
    let time = 0;
    let failure: Error | undefined;
    const registry = fakeRegistry(async () => {
      if (failure) throw failure;
      return revision(1);
    });
    const reloadErrors: unknown[] = [];
    const load = registryCatalogLoader(registry, {
      refreshMs: 10,
      now: () => time,
      onReloadError: (error) => reloadErrors.push(error),
    });
    const first = await load();

    failure = new Error('throttled');
    time = 10;
    const afterFailure = await load();
    time = 15;
    await load();

    expect(afterFailure).toBe(first);
    expect(reloadErrors).toEqual([failure]);
    expect(registry.reads).toBe(2);
  });

  it('fails with RegistryUnavailableError when the first load fails, which the API answers 503', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const failure = new Error('connect ECONNREFUSED');
    const load = registryCatalogLoader(
      fakeRegistry(async () => {
        throw failure;
      }),
    );
    const handler = createServeHandler({ loadCatalog: load, store: new FixedOnlineStore() });

    const error = await load().catch((caught: unknown) => caught);
    const reply = parsedReply(await handler(proxyEvent({ method: 'GET', path: '/health' }), lambdaContext()));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).cause).toBe(failure);
    expect(reply).toMatchObject({
      status: 503,
      body: errorBody(
        'REGISTRY_UNAVAILABLE',
        'the feature registry could not be read, so the server has no definitions to answer with; retry shortly',
      ),
    });
  });

  it('answers undefined before the first apply', async () => {
    const load = registryCatalogLoader(fakeRegistry(async () => undefined));

    expect(await load()).toBeUndefined();
  });
});

describe('the handler on DynamoDB (dynalite)', () => {
  let dynamo: DynamoDBFixture;
  const TABLE = 'fstore_serving';

  beforeAll(async () => {
    dynamo = await startDynamoDBFixture();
    await ensureRegistryTable(dynamo.client, TABLE);
    await ensureOnlineTable(dynamo.client, TABLE);
  });
  afterAll(() => dynamo.close());

  it('serves what the online store holds and picks up a new apply after refreshMs, without a restart', async () => {
    const registry = new Registry({
      store: new DynamoDBRegistryStore({ client: dynamo.client, tableName: TABLE }),
      project: 'serving',
    });
    const definitions = Object.values(transactions);
    await registry.apply(validateFeatureRepo(collectDefinitions(definitions)));
    const store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: TABLE });
    let time = 0;
    const loadCatalog = registryCatalogLoader(registry, { refreshMs: 1_000, now: () => time });
    const first = (await loadCatalog()) as LoadedCatalog;
    await store.write([
      itemOf(first.catalog, 'user_transaction_stats', { user_id: 42 }, [
        [1, { amount: 10 }],
        [2, { amount: 20 }],
      ]),
    ]);
    const handler = createServeHandler({ loadCatalog, store, now: () => NOW });
    const call = async (event: APIGatewayProxyEvent) => parsedReply(await handler(event, lambdaContext()));

    const features = await call(
      postJson('/get-online-features', {
        features: ['user_transaction_stats:amount_sum_7d'],
        entities: { user_id: [42, 43] },
      }),
    );
    await registry.apply(
      validateFeatureRepo(
        collectDefinitions([
          ...definitions,
          featureView({
            name: 'user_latest_transaction',
            entities: [transactions.user],
            source: transactions.transactions,
            fields: { amount: 'float64' },
          }),
        ]),
      ),
    );
    const beforeRefresh = await call(proxyEvent({ method: 'GET', path: '/health' }));
    time = 1_000;
    const afterRefresh = await call(
      proxyEvent({ method: 'GET', path: '/registry/feature-views/user_latest_transaction' }),
    );

    expect(features.body).toMatchObject({
      results: [{ values: [42, 43] }, { values: [30, 0], statuses: ['PRESENT', 'NOT_FOUND'] }],
    });
    expect(beforeRefresh.body).toEqual({ status: 'ok', registry_revision: 1 });
    expect(afterRefresh).toMatchObject({ status: 200, body: { name: 'user_latest_transaction' } });
  });
});

describe('serveDependenciesFromEnvironment', () => {
  it.each([
    [{ FSTORE_ONLINE_TABLE: 'online' }, 'FSTORE_PROJECT (the registry project to serve)'],
    [{ FSTORE_PROJECT: 'fraud' }, 'FSTORE_ONLINE_TABLE (the DynamoDB online table)'],
  ])('refuses an environment without a required setting, naming it', (env, named) => {
    expect(() => serveDependenciesFromEnvironment(env)).toThrow(
      new ServeConfigurationError(
        `environment variable ${named} is not set; set it on the serving Lambda (the CDK stack does)`,
      ),
    );
  });

  it('builds the registry loader, the online store and the push service from a complete environment', () => {
    const deps = serveDependenciesFromEnvironment({
      FSTORE_PROJECT: 'fraud',
      FSTORE_ONLINE_TABLE: 'online',
      AWS_REGION: 'eu-west-1',
    });

    expect(deps.store).toBeInstanceOf(DynamoDBOnlineStore);
    expect(deps.loadCatalog).toBeTypeOf('function');
    expect(deps.push).toBeTypeOf('function');
    expect(deps.limits).toEqual({});
  });

  it('takes request limits from the environment', () => {
    const deps = serveDependenciesFromEnvironment({
      FSTORE_PROJECT: 'fraud',
      FSTORE_ONLINE_TABLE: 'online',
      FSTORE_MAX_ENTITY_ROWS: '50',
      FSTORE_MAX_FEATURES: '20',
      FSTORE_MAX_BODY_BYTES: '65536',
    });

    expect(deps.limits).toEqual({ maxEntityRows: 50, maxFeatures: 20, maxBodyBytes: 65_536 });
  });

  it('refuses a limit that is not a whole number of at least 1, naming the variable', () => {
    expect(() =>
      serveDependenciesFromEnvironment({
        FSTORE_PROJECT: 'fraud',
        FSTORE_ONLINE_TABLE: 'online',
        FSTORE_MAX_FEATURES: '0',
      }),
    ).toThrow(
      new ServeConfigurationError(
        'environment variable FSTORE_MAX_FEATURES is "0"; set it to a whole number of at least 1',
      ),
    );
  });
});

describe('ApiError', () => {
  it('is an FstoreError carrying its status, code and headers', () => {
    const error = new ApiError(405, 'METHOD_NOT_ALLOWED', 'no', { headers: { allow: 'GET' } });

    expect(error).toBeInstanceOf(FstoreError);
    expect([error.name, error.status, error.code, error.headers]).toEqual([
      'ApiError',
      405,
      'METHOD_NOT_ALLOWED',
      { allow: 'GET' },
    ]);
  });
});
