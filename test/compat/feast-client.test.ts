import type { APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import type { ServeDependencies } from '../../lambdas/http/serve-dependencies.js';
import { createServeHandler } from '../../lambdas/serve.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import type { RegistryRevision, RevisionSummary } from '../../lib/registry/registry-store.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import {
  FixedOnlineStore,
  fixtureItems,
  lambdaContext,
  NOW,
  proxyEvent,
} from '../lambdas/serving-fixture.js';
import { feastClientReading, pythonJsonLoads } from './feast-type-inference.js';
import { openApiDocumentErrors, replyProblems } from './openapi-responses.js';

/*
 * Requests are sent byte for byte as Feast's Python client sends them: `requests.post(url, json=body)`
 * writes `json.dumps(body)`, keys in insertion order, `", "` and `": "` between them. Answers are read the
 * way that client reads them (`feastClientReading`, `FeastError.from_error_detail`).
 */

/** Feast's driver example as an fstore repo: a view of latest-value fields, which Feast writes to as values. */
const driver = entity({ name: 'driver', joinKeys: { driver_id: 'int64' } });
const driverStatsSource = batchSource({
  name: 'driver_stats_source',
  path: 'data/driver_stats.parquet',
  timestampField: 'event_timestamp',
  schema: {
    driver_id: 'int64',
    event_timestamp: 'timestamp',
    conv_rate: 'float64',
    acc_rate: 'float64',
    avg_daily_trips: 'int64',
  },
});
const driverHourlyStats = featureView({
  name: 'driver_hourly_stats',
  entities: [driver],
  source: driverStatsSource,
  fields: { conv_rate: 'float64', acc_rate: 'float64', avg_daily_trips: 'int64' },
});

const objects = toRegistryObjects(
  validateFeatureRepo(
    collectDefinitions([...Object.values(transactions), driver, driverStatsSource, driverHourlyStats]),
  ),
);
const applied = repoFromRegistry(objects);
const userStatsVersion = applied.versions.get('feature_view/user_transaction_stats') ?? '';
/** An earlier version of user_transaction_stats, applied at revision 1 and changed at revision 2. */
const EARLIER_VERSION = '00000000000000aa';

/** Revision 1 added user_transaction_stats at an earlier version; revision 2 changed it and added the rest. */
const changeLog: RevisionSummary[] = [
  {
    project: 'fraud',
    revision: 1,
    appliedAt: '2024-01-01T00:00:00.000Z',
    appliedBy: 'ci',
    changes: [
      {
        kind: 'feature_view',
        name: 'user_transaction_stats',
        action: 'add',
        fromVersion: null,
        toVersion: EARLIER_VERSION,
        breaking: false,
      },
    ] as unknown as RevisionSummary['changes'],
  },
  {
    project: 'fraud',
    revision: 2,
    appliedAt: '2024-02-01T00:00:00.000Z',
    appliedBy: 'ci',
    changes: objects.map((object) => ({
      kind: object.kind,
      name: object.name,
      action: object.name === 'user_transaction_stats' ? 'change' : 'add',
      fromVersion: object.name === 'user_transaction_stats' ? EARLIER_VERSION : null,
      toVersion: object.version,
      breaking: false,
    })) as unknown as RevisionSummary['changes'],
  },
];
const revision: RegistryRevision = { ...changeLog[1], objects } as RegistryRevision;

function feastServer(overrides: Partial<ServeDependencies> = {}) {
  const catalog = servingCatalog(applied);
  const store = new FixedOnlineStore(fixtureItems(catalog));
  const loadCatalog = registryCatalogLoader({
    current: async () => revision,
    changeLog: async () => changeLog,
  });
  const handler = createServeHandler({
    loadCatalog,
    store,
    push: async (request) => {
      const loaded = await loadCatalog();
      if (!loaded) throw new Error('not applied');
      return pushEvents({ catalog: loaded.catalog, onlineStore: store, request });
    },
    now: () => NOW,
    ...overrides,
  });
  return {
    /** POSTs `body` (the exact text) and checks the answer against the OpenAPI document. */
    post: async (path: string, body: string): Promise<APIGatewayProxyResult> => {
      const reply = await handler(proxyEvent({ method: 'POST', path, body }), lambdaContext());
      expect(replyProblems('POST', path, reply)).toEqual([]);
      return reply;
    },
  };
}

/** What Feast's client raises for an error answer: `FeastError.from_error_detail(response.json())`. */
function feastClientError(reply: APIGatewayProxyResult): { module: string; class: string; message: string } {
  const detail = pythonJsonLoads(reply.body);
  expect(typeof detail).toBe('string');
  const fields = JSON.parse(detail as string) as Record<string, unknown>;
  expect(Object.keys(fields)).toEqual(expect.arrayContaining(['module', 'class', 'message']));
  return fields as { module: string; class: string; message: string };
}

// `RemoteOnlineStore.get_online_features` (remote.py lines 198-207): entities, full_feature_names,
// include_feature_view_version_metadata, then features or feature_service.
const REMOTE_FEATURES_BODY =
  '{"entities": {"user_id": [42]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["user_transaction_stats:amount_sum_7d", "user_transaction_stats:amount_mean_7d", "user_transaction_stats:amount_count_7d", "user_transaction_stats:last_3_amounts", "user_transaction_stats:days_since_last_transaction"]}';

describe('a Feast client against the API', () => {
  it('is served a valid OpenAPI 3.1 document of every route', async () => {
    const { post } = feastServer();
    await post('/get-online-features', REMOTE_FEATURES_BODY);

    expect(await openApiDocumentErrors()).toEqual({ valid: true, version: '3.1', errors: undefined });
  });

  it('gets 200 for the exact body remote.py sends, with every value of the type Feast’s client infers', async () => {
    const { post } = feastServer();

    const reply = await post('/get-online-features', REMOTE_FEATURES_BODY);

    expect(reply.statusCode).toBe(200);
    // User 42 spent 10 and 20 this week and 30 ten days ago: integral amounts, written as floats.
    expect(reply.body).toContain('"values":[30.0]');
    expect(reply.body).toContain('"values":[[10.0,20.0,30.0]]');
    expect(feastClientReading(reply.body)).toEqual({
      user_id: ['INT64'],
      amount_sum_7d: ['DOUBLE'],
      amount_mean_7d: ['DOUBLE'],
      amount_count_7d: ['INT64'],
      last_3_amounts: ['DOUBLE_LIST'],
      days_since_last_transaction: ['DOUBLE'],
    });
  });

  it('reads a feature service for a known and an unknown user without raising, an empty last-k read as None', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42, 7], "merchant_id": [7, 7], "category": ["food", "food"], "amount": [25.0, 310.0]}, "full_feature_names": true, "include_feature_view_version_metadata": false, "feature_service": "fraud_model_v1"}',
    );

    expect(reply.statusCode).toBe(200);
    const reading = feastClientReading(reply.body);
    expect(reading.user_transaction_stats__last_3_amounts).toEqual(['DOUBLE_LIST', null]);
    // NOT_FOUND user 7 keeps fstore's values: a count of 0 (Feast would answer None).
    expect(reading.user_transaction_stats__amount_count_30d).toEqual(['INT64', 'INT64']);
    expect(reading.transaction_amount_ratios__amount_to_30d_mean_ratio).toEqual(['DOUBLE', null]);
  });

  it('writes times as Feast does: Z, and a fraction only when it is not zero', async () => {
    const { post } = feastServer();

    const reply = await post('/get-online-features', REMOTE_FEATURES_BODY);

    const times = (JSON.parse(reply.body) as { results: { event_timestamps: string[] }[] }).results.map(
      (column) => column.event_timestamps[0],
    );
    expect(times).toEqual([
      '1970-01-01T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2024-02-29T00:00:00Z',
    ]);
  });

  it('gets 200 for versioned references, @latest and @v1 being the applied version, with Feast’s full names', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42]}, "full_feature_names": true, "include_feature_view_version_metadata": true, "features": ["user_transaction_stats@latest:amount_sum_7d", "user_transaction_stats@v1:amount_count_7d"]}',
    );

    expect(reply.statusCode).toBe(200);
    const answer = JSON.parse(reply.body) as { metadata: unknown };
    expect(answer.metadata).toEqual({
      feature_names: [
        'user_id',
        'user_transaction_stats__amount_sum_7d',
        'user_transaction_stats@v1__amount_count_7d',
      ],
      feature_view_metadata: [{ name: 'user_transaction_stats', version: 1, version_id: userStatsVersion }],
    });
    expect(feastClientReading(reply.body)).toEqual({
      user_id: ['INT64'],
      user_transaction_stats__amount_sum_7d: ['DOUBLE'],
      'user_transaction_stats@v1__amount_count_7d': ['INT64'],
    });
  });

  it('gets 404 FeatureViewVersionNotFound for a version the online store does not hold, naming those it has', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["user_transaction_stats@v0:amount_sum_7d"]}',
    );

    expect(reply.statusCode).toBe(404);
    expect(feastClientError(reply)).toMatchObject({
      module: 'feast.errors',
      class: 'FeatureViewVersionNotFound',
      message: `feature view "user_transaction_stats" is not served at v0 (${EARLIER_VERSION}): the online store holds its applied version v1 (${userStatsVersion}), which "user_transaction_stats@latest" and "user_transaction_stats@v1" read; its versions are v0 (${EARLIER_VERSION}), v1 (${userStatsVersion}, applied). To serve another version, apply its definition and materialize it`,
    });
  });

  it('gets 404 FeatureViewNotFoundException for an unknown view and FeatureServiceNotFoundException for an unknown service', async () => {
    const { post } = feastServer();

    const view = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["driver_stats:conv_rate"]}',
    );
    const service = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "feature_service": "fraud_model_v9"}',
    );

    expect([view.statusCode, feastClientError(view).class]).toEqual([404, 'FeatureViewNotFoundException']);
    expect([service.statusCode, feastClientError(service)]).toEqual([
      404,
      {
        module: 'feast.errors',
        class: 'FeatureServiceNotFoundException',
        message: 'there is no feature service "fraud_model_v9"; did you mean "fraud_model_v1"?',
        error: {
          code: 'UNKNOWN_FEATURE_SERVICE',
          message: 'there is no feature service "fraud_model_v9"; did you mean "fraud_model_v1"?',
        },
      },
    ]);
  });

  it('gets 404 RequestDataNotFoundInEntityRowsException when an on-demand feature’s request data is missing', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/get-online-features',
      '{"entities": {"user_id": [42]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["transaction_amount_ratios:amount_to_30d_mean_ratio"]}',
    );

    expect([reply.statusCode, feastClientError(reply).class]).toEqual([
      404,
      'RequestDataNotFoundInEntityRowsException',
    ]);
  });

  it('gets 422 for a body without entities, as pydantic answers in Feast’s server', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/get-online-features',
      '{"features": ["user_transaction_stats:amount_sum_7d"]}',
    );

    expect(reply.statusCode).toBe(422);
    expect(feastClientError(reply)).toMatchObject({
      class: 'FeastError',
      message:
        'entities is missing; give each join key a list of values, one per row, e.g. "entities": {"user_id": [1, 2]}',
    });
  });

  it('gets 200 for a push with Feast’s optional flags, and the next read sees the pushed row', async () => {
    const { post } = feastServer();

    // Feast's test push body (tests/unit/test_feature_server.py `push_body`, times as `str(_utc_now())`),
    // for this repo's source, with the optional flags of PushFeaturesRequest.
    const pushed = await post(
      '/push',
      '{"push_source_name": "transactions", "df": {"user_id": [42], "transaction_date": ["2024-02-29 23:00:00.123456+00:00"], "amount": [20.0], "category": ["food"], "merchant_id": [7]}, "to": "online", "allow_registry_cache": true, "transform_on_write": true}',
    );
    const read = await post('/get-online-features', REMOTE_FEATURES_BODY);

    expect([pushed.statusCode, JSON.parse(pushed.body)]).toEqual([
      200,
      { rows: 1, online_items: 3, offline_rows: 0 },
    ]);
    expect(read.body).toContain('"values":[50.0]');
    expect(read.body).toContain('"values":[[20.0,10.0,20.0]]');
    expect(feastClientReading(read.body).last_3_amounts).toEqual(['DOUBLE_LIST']);
  });

  it('gets 422 PushSourceNotFoundException for an unknown push source, as Feast’s test expects', async () => {
    const { post } = feastServer();

    // tests/unit/test_feature_server.py `test_push_source_does_not_exist`.
    const reply = await post(
      '/push',
      '{"push_source_name": "push_source_does_not_exist", "df": {"any_data": [1], "event_timestamp": ["2024-02-29 23:00:00.123456+00:00"]}}',
    );

    expect(reply.statusCode).toBe(422);
    expect(feastClientError(reply)).toMatchObject({
      class: 'PushSourceNotFoundException',
      message: expect.stringMatching(/^there is no source "push_source_does_not_exist"/),
    });
  });

  it('gets 422 for a push without df', async () => {
    const { post } = feastServer();

    const reply = await post('/push', '{"push_source_name": "transactions"}');

    expect(reply.statusCode).toBe(422);
    expect(feastClientError(reply).message).toBe(
      'df is missing; give the rows column by column, e.g. "df": {"user_id": [1, 2], "amount": [9.5, 3]}',
    );
  });

  it('takes the exact write remote.py’s online_write_batch sends for a view of fields, and serves it typed', async () => {
    const { post } = feastServer();

    // remote.py lines 261-289: join keys, features, event_timestamp (naive UTC isoformat), created.
    const written = await post(
      '/write-to-online-store',
      '{"feature_view_name": "driver_hourly_stats", "df": {"driver_id": [1001, 1002], "conv_rate": [0.5, 1.0], "acc_rate": [0.25, 1.0], "avg_daily_trips": [12, 3], "event_timestamp": ["2024-02-29T23:00:00", "2024-02-29T22:30:00.250000"], "created": [null, null]}, "allow_registry_cache": false}',
    );
    const read = await post(
      '/get-online-features',
      '{"entities": {"driver_id": [1001, 1002]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"]}',
    );

    expect([written.statusCode, JSON.parse(written.body)]).toEqual([
      200,
      { rows: 2, online_items: 2, offline_rows: 0 },
    ]);
    expect(read.body).toContain('"values":[0.5,1.0]');
    expect(read.body).toContain('"event_timestamps":["2024-02-29T23:00:00Z","2024-02-29T22:30:00.250Z"]');
    expect(feastClientReading(read.body)).toEqual({
      driver_id: ['INT64', 'INT64'],
      conv_rate: ['DOUBLE', 'DOUBLE'],
      avg_daily_trips: ['INT64', 'INT64'],
    });
  });

  it('refuses a write to a view computed from events with 400, saying to push the source rows instead', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/write-to-online-store',
      '{"feature_view_name": "user_transaction_stats", "df": {"user_id": [42], "amount_sum_7d": [10.0], "event_timestamp": ["2024-02-29T23:00:00"], "created": [null]}, "allow_registry_cache": false}',
    );

    expect(reply.statusCode).toBe(400);
    expect(feastClientError(reply).message).toBe(
      'feature view "user_transaction_stats" computes amount_mean_7d, amount_mean_14d, amount_mean_30d, amount_sum_7d, amount_sum_14d, ... from the events of source "live_transactions", so its values cannot be written as they are; push the source rows instead: POST /push with {"push_source_name": "live_transactions", "df": {...}}',
    );
  });

  it('gets 404 FeatureViewNotFoundException for a write to an unknown view', async () => {
    const { post } = feastServer();

    const reply = await post(
      '/write-to-online-store',
      '{"feature_view_name": "driver_hourly_stat", "df": {"driver_id": [1]}, "allow_registry_cache": false}',
    );

    expect([reply.statusCode, feastClientError(reply)]).toMatchObject([
      404,
      {
        class: 'FeatureViewNotFoundException',
        message: 'there is no feature view "driver_hourly_stat"; did you mean "driver_hourly_stats"?',
      },
    ]);
  });
});
