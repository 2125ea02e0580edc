/**
 * The OpenAPI 3.1 document of the HTTP API (`GET /openapi.json`): every route the serving handler answers,
 * and the two catalog routes only `fstore serve` adds. Request bodies are Feast's request models
 * (`sdk/python/feast/feature_server.py`); fields the models do not name are ignored, as pydantic does
 * there, so the request schemas allow additional properties. Answers are described exactly: the route
 * tests validate every answer they receive against this document.
 */

type Schema = Readonly<Record<string, unknown>>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => ({ $ref: '#/components/responses/Error', description });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const flag = (description: string): Schema => ({ ...nullable({ type: 'boolean' }), description });
const names = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description });
const columns = (description: string): Schema => ({
  type: 'object',
  additionalProperties: { type: 'array' },
  description,
});

const schemas: Record<string, Schema> = {
  GetOnlineFeaturesRequest: {
    type: 'object',
    description: "Feast's GetOnlineFeaturesRequest, plus fstore's request_context.",
    required: ['entities'],
    properties: {
      entities: columns('join key (or on-demand request field) -> one value per row'),
      features: {
        ...nullable(names('"view:feature", "view:*", "view@latest:feature", "view@v2:feature"')),
      },
      feature_service: nullable({ type: 'string' }),
      full_feature_names: flag('name features view__feature (view@v2__feature for a versioned reference)'),
      include_feature_view_version_metadata: flag('add metadata.feature_view_metadata'),
      request_context: nullable(columns('more on-demand request fields, one value per row')),
    },
  },
  OnlineFeaturesResponse: {
    type: 'object',
    required: ['metadata', 'results'],
    additionalProperties: false,
    properties: {
      metadata: {
        type: 'object',
        required: ['feature_names'],
        additionalProperties: false,
        properties: {
          feature_names: names('join keys in request order, then the features'),
          feature_view_metadata: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'version', 'version_id'],
              additionalProperties: false,
              properties: {
                name: { type: 'string' },
                version: { type: 'integer', minimum: 0, description: "Feast's version number (v0 first)" },
                version_id: { type: 'string', pattern: '^[0-9a-f]{16}$' },
              },
            },
          },
        },
      },
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['values', 'statuses', 'event_timestamps'],
          additionalProperties: false,
          properties: {
            values: { type: 'array', description: 'one per row; float64 values always have a fraction' },
            statuses: {
              type: 'array',
              items: { enum: ['PRESENT', 'NOT_FOUND', 'NULL_VALUE', 'OUTSIDE_MAX_AGE'] },
            },
            event_timestamps: { type: 'array', items: ref('FeastTimestamp') },
          },
        },
      },
    },
  },
  FeastTimestamp: {
    type: 'string',
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$',
    description: 'UTC, a fraction only when it is not zero; 1970-01-01T00:00:00Z when there is none',
  },
  PushFeaturesRequest: {
    type: 'object',
    description:
      "Feast's PushFeaturesRequest; push_source_name may be any source, or give fstore's feature_view.",
    required: ['df'],
    properties: {
      push_source_name: nullable({ type: 'string' }),
      feature_view: nullable({ type: 'string' }),
      df: columns('source column -> one value per row, the event time included'),
      to: nullable({ enum: ['online', 'offline', 'online_and_offline'] }),
      allow_registry_cache: flag('accepted; the served registry is at most its refresh interval old'),
      transform_on_write: flag('accepted; fstore has no write-time transformations'),
    },
  },
  WriteToFeatureStoreRequest: {
    type: 'object',
    description:
      "Feast's WriteToFeatureStoreRequest, for views whose features are latest values of source columns.",
    required: ['feature_view_name', 'df'],
    properties: {
      feature_view_name: { type: 'string' },
      df: columns('join keys, features and event_timestamp, one value per row; created is ignored'),
      allow_registry_cache: flag('accepted; the served registry is at most its refresh interval old'),
      transform_on_write: flag('accepted; fstore has no write-time transformations'),
    },
  },
  PushResult: {
    type: 'object',
    required: ['rows', 'online_items', 'offline_rows'],
    additionalProperties: false,
    properties: {
      rows: { type: 'integer', minimum: 0 },
      online_items: { type: 'integer', minimum: 0 },
      offline_rows: { type: 'integer', minimum: 0 },
    },
  },
  MaterializeRequest: {
    type: 'object',
    description: "Feast's MaterializeRequest.",
    properties: {
      start_ts: nullable({ type: 'string' }),
      end_ts: nullable({ type: 'string' }),
      feature_views: nullable(names('default: every online view')),
      disable_event_timestamp: flag('from the beginning up to now'),
      full_feature_names: flag('accepted; changes nothing'),
      version: nullable({
        type: 'string',
        description: 'latest, vN or a version id: must be the applied one',
      }),
    },
  },
  MaterializeIncrementalRequest: {
    type: 'object',
    description: "Feast's MaterializeIncrementalRequest.",
    required: ['end_ts'],
    properties: {
      end_ts: { type: 'string' },
      feature_views: nullable(names('default: every online view')),
      full_feature_names: flag('accepted; changes nothing'),
      version: nullable({
        type: 'string',
        description: 'latest, vN or a version id: must be the applied one',
      }),
    },
  },
  MaterializeJob: {
    type: 'object',
    required: ['job_id', 'kind', 'status', 'feature_views', 'started_at'],
    additionalProperties: false,
    properties: {
      job_id: { type: 'string' },
      kind: { enum: ['materialize', 'materialize-incremental'] },
      status: { enum: ['running', 'succeeded', 'failed'] },
      feature_views: names('the views the run materializes'),
      started_at: ref('FeastTimestamp'),
      finished_at: ref('FeastTimestamp'),
      result: {
        type: 'object',
        required: ['start', 'end', 'views'],
        additionalProperties: false,
        properties: {
          start: nullable(ref('FeastTimestamp')),
          end: ref('FeastTimestamp'),
          views: {
            type: 'array',
            items: {
              type: 'object',
              required: ['view', 'version', 'items', 'written', 'skipped'],
              additionalProperties: false,
              properties: {
                view: { type: 'string' },
                version: { type: 'string' },
                start: ref('FeastTimestamp'),
                items: { type: 'integer', minimum: 0 },
                written: { type: 'integer', minimum: 0 },
                skipped: { type: 'integer', minimum: 0 },
                refused: { type: 'string' },
              },
            },
          },
        },
      },
      error: ref('ErrorCodeAndMessage'),
    },
  },
  MaterializeAccepted: {
    type: 'object',
    description: "Feast's 202 body, with the job to poll.",
    required: ['status', 'feature_views', 'job_id', 'poll', 'message'],
    additionalProperties: false,
    properties: {
      status: { const: 'accepted' },
      feature_views: names('the views the run materializes'),
      job_id: { type: 'string' },
      poll: { type: 'string', description: 'the path to GET for the job' },
      message: { type: 'string' },
    },
  },
  Health: {
    type: 'object',
    required: ['status', 'registry_revision'],
    additionalProperties: false,
    properties: { status: { const: 'ok' }, registry_revision: { type: 'integer', minimum: 1 } },
  },
  FeatureViewSummary: {
    type: 'object',
    required: ['name', 'version', 'description', 'owner', 'tags', 'entities', 'online', 'features'],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      description: { type: 'string' },
      owner: { type: 'string' },
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      entities: names('entity names'),
      online: { type: 'boolean' },
      features: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'dtype', 'computation'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            dtype: { type: 'string' },
            computation: { type: 'string' },
          },
        },
      },
    },
  },
  FeatureViewList: {
    type: 'object',
    required: ['registry_revision', 'feature_views'],
    additionalProperties: false,
    properties: {
      registry_revision: { type: 'integer', minimum: 1 },
      feature_views: { type: 'array', items: ref('FeatureViewSummary') },
    },
  },
  ErrorCodeAndMessage: {
    type: 'object',
    required: ['code', 'message'],
    additionalProperties: false,
    properties: { code: { type: 'string' }, message: { type: 'string' } },
  },
  FeastErrorDetail: {
    type: 'object',
    description:
      "Feast's error detail (errors.py to_error_detail): module and class name the Feast exception its client raises (from_error_detail), with fstore's code and message.",
    required: ['module', 'class', 'message', 'error'],
    additionalProperties: false,
    properties: {
      module: { const: 'feast.errors' },
      class: { type: 'string' },
      message: { type: 'string' },
      error: ref('ErrorCodeAndMessage'),
    },
  },
  FstoreError: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: { error: ref('ErrorCodeAndMessage') },
  },
};

const discoveryParameters = ['search', 'tag', 'owner', 'entity'].map((name) => ({
  name,
  in: 'query',
  required: false,
  schema: { type: 'string' },
}));
const materializeParameters = [
  {
    name: 'async',
    in: 'query',
    required: false,
    schema: { type: 'boolean' },
    description: 'answer 202 at once rather than waiting for the run',
  },
  {
    name: 'force',
    in: 'query',
    required: false,
    schema: { type: 'boolean' },
    description: "accepted (Feast's); a running job is never overridden",
  },
];
const materializeResponses = {
  '200': json(ref('MaterializeJob'), 'the run finished within the wait'),
  '202': json(ref('MaterializeAccepted'), 'the run goes on; poll GET /materialize-jobs/{id}'),
  '400': error('a bad body or a refused view'),
  '404': error('an unknown view or version'),
  '409': error('a view of the run is being materialized already'),
  '422': error('a required field is missing'),
  '501': error('this server cannot materialize (the serving Lambda)'),
  '503': error('the registry or the online store is unavailable'),
};
const body = (name: string) => ({
  required: true,
  content: { 'application/json': { schema: ref(name) } },
});

/** The document; a fresh object each call. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'fstore HTTP API',
      version: '1',
      description:
        "Online features, pushes, materialization and discovery, shaped like Feast's feature server so its clients work unchanged. Every error body is a JSON string holding Feast's error detail with fstore's code and message.",
    },
    paths: {
      '/get-online-features': {
        post: {
          operationId: 'getOnlineFeatures',
          requestBody: body('GetOnlineFeaturesRequest'),
          responses: {
            '200': json(ref('OnlineFeaturesResponse'), 'column-major, join keys first'),
            '400': error('a bad request'),
            '404': error('an unknown view, feature service, version or request field'),
            '413': error('the body is too large'),
            '422': error('entities is missing'),
            '503': error('not applied yet, or the online store or registry is unavailable'),
          },
        },
      },
      '/push': {
        post: {
          operationId: 'push',
          requestBody: body('PushFeaturesRequest'),
          responses: {
            '200': json(ref('PushResult'), 'the rows were taken'),
            '400': error('a bad row or request'),
            '404': error('an unknown feature view'),
            '422': error('an unknown push source, or df or push_source_name missing'),
            '501': error('no push service, or no offline store for an offline push'),
            '503': error('the online store is unavailable'),
          },
        },
      },
      '/write-to-online-store': {
        post: {
          operationId: 'writeToOnlineStore',
          requestBody: body('WriteToFeatureStoreRequest'),
          responses: {
            '200': json(ref('PushResult'), 'the rows were written'),
            '400': error('a bad row, or a view computed from events (push its source rows instead)'),
            '404': error('an unknown feature view'),
            '422': error('feature_view_name or df is missing'),
            '501': error('no push service'),
            '503': error('the online store is unavailable'),
          },
        },
      },
      '/materialize': {
        post: {
          operationId: 'materialize',
          parameters: materializeParameters,
          requestBody: body('MaterializeRequest'),
          responses: materializeResponses,
        },
      },
      '/materialize-incremental': {
        post: {
          operationId: 'materializeIncremental',
          parameters: materializeParameters,
          requestBody: body('MaterializeIncrementalRequest'),
          responses: materializeResponses,
        },
      },
      '/materialize-jobs/{id}': {
        get: {
          operationId: 'getMaterializeJob',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': json(ref('MaterializeJob'), 'the job as it is now'),
            '404': error('no such job on this server'),
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          responses: {
            '200': json(ref('Health'), 'the registry revision served'),
            '503': error('not applied yet, or the registry is unavailable'),
          },
        },
      },
      '/registry/feature-views': {
        get: {
          operationId: 'listFeatureViews',
          parameters: discoveryParameters,
          responses: {
            '200': json(ref('FeatureViewList'), 'the applied feature views, filtered'),
            '400': error('an unknown query parameter'),
            '503': error('not applied yet, or the registry is unavailable'),
          },
        },
      },
      '/registry/feature-views/{name}': {
        get: {
          operationId: 'getFeatureView',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': json(ref('FeatureViewSummary'), 'one view'),
            '404': error('no such view; the message names the closest'),
            '503': error('not applied yet, or the registry is unavailable'),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          responses: { '200': json({ type: 'object' }, 'this document') },
        },
      },
      '/ui': {
        get: {
          operationId: 'catalogPage',
          description: '`fstore serve` only: the feature catalog page.',
          responses: {
            '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        },
      },
      '/ui/api/catalog': {
        get: {
          operationId: 'catalogJson',
          description:
            '`fstore serve` only: the JSON the catalog page reads. Its errors are `{"error": {"code", "message"}}`.',
          parameters: [
            ...discoveryParameters,
            { name: 'kind', in: 'query', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': json({ type: 'object' }, 'the catalog'),
            '400': json(ref('FstoreError'), 'a bad query'),
            '503': json(ref('FstoreError'), 'not applied yet'),
          },
        },
      },
    },
    components: {
      schemas,
      responses: {
        Error: {
          description: "Feast's error detail as a JSON string (FastAPI's JSONResponse of to_error_detail())",
          content: {
            'application/json': {
              schema: {
                type: 'string',
                contentMediaType: 'application/json',
                contentSchema: ref('FeastErrorDetail'),
              },
            },
          },
        },
      },
    },
  };
}
