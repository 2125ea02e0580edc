import middy from '@middy/core';
import httpRouterHandler, { type Route } from '@middy/http-router';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { findObjects } from '../lib/registry/discovery.js';
import { readOnlineFeatures } from '../lib/services/get-online-features.js';
import { materializeTargets } from '../lib/services/materialize-targets.js';
import { onlineWriteAsPush } from '../lib/services/push-events.js';
import type { PushRequest, PushResult } from '../lib/services/push-request.js';
import { ApiError } from './http/api-error.js';
import { appliedCatalog } from './http/applied-catalog.js';
import { errorReplies, errorReplyOf } from './http/error-responses.js';
import { errorStatus } from './http/error-status.js';
import { featureViewNamed, featureViewSummary } from './http/feature-view-summary.js';
import { parseJsonBody } from './http/json-body.js';
import { JSON_CONTENT_TYPE, jsonReply } from './http/json-reply.js';
import { MaterializeJobs } from './http/materialize-jobs.js';
import { openApiDocument } from './http/openapi-document.js';
import {
  discoveryFilterFromQuery,
  materializeRequestFromBody,
  onlineFeaturesRequestFromBody,
  onlineWriteRequestFromBody,
  pushRequestFromBody,
} from './http/request-validation.js';
import { type LoadedCatalog, resolveServeLimits, type ServeDependencies } from './http/serve-dependencies.js';
import { serveDependenciesFromEnvironment } from './http/serve-environment.js';
import { typedOnlineFeaturesJson } from './http/typed-json.js';
import { unmatchedRoute } from './http/unmatched-route.js';

export type { ServeDependencies } from './http/serve-dependencies.js';

/** An API Gateway (REST API, proxy integration) handler. */
export type ServeHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

type ApiRoute = Route<APIGatewayProxyEvent, APIGatewayProxyResult>;

/** How long a materialize request waits for its run by default before answering 202. */
export const DEFAULT_MATERIALIZE_WAIT_MS = 10_000;

/**
 * The HTTP API, shaped like Feast's feature server (`sdk/python/feast/feature_server.py`), so Feast's own
 * clients work unchanged:
 * - `POST /get-online-features`: Feast's body and response (DESIGN.md section 4), values typed as Feast's
 *   client infers them (`typedOnlineFeaturesJson`);
 * - `POST /push`: rows to a push source or a feature view; 501 without `deps.push`;
 * - `POST /write-to-online-store`: Feast's remote online store's writes, for views of latest-value fields;
 * - `POST /materialize`, `POST /materialize-incremental`: Feast's bodies; a run still going after
 *   `materializeWaitMs` (or at once with `?async=true`) answers 202 with a job for `GET /materialize-jobs/{id}`;
 * - `GET /openapi.json`: the OpenAPI 3.1 document of every route;
 * - `GET /health`: `{"status": "ok", "registry_revision": n}`. It reads no online item: the store has no
 *   cheap ping (`read([])` makes no call), so an unreachable store shows as 503s from `get-online-features`;
 * - `GET /registry/feature-views[?search=&tag=&owner=&entity=]` and `GET /registry/feature-views/{name}`.
 *
 * Every route is parse, call, shape; every error body is Feast's error detail carrying fstore's code and
 * message (see `feastErrorBody`), with the status `ERROR_STATUS` gives its code.
 * @example
 * const handler = createServeHandler({ loadCatalog: registryCatalogLoader(registry), store });
 * const reply = await handler(event, context);
 */
export function createServeHandler(deps: ServeDependencies): ServeHandler {
  const limits = resolveServeLimits(deps.limits);
  const catalog = (): Promise<LoadedCatalog> => appliedCatalog(deps.loadCatalog);
  const now = deps.now ?? Date.now;
  const jobs = new MaterializeJobs(now);
  const push = (request: PushRequest): Promise<PushResult> => {
    if (deps.push === undefined) {
      throw new ApiError(
        501,
        'PUSH_UNAVAILABLE',
        'this server was started without a push service, so it takes no rows; write them through the stream or `fstore ingest` instead',
      );
    }
    return deps.push(request);
  };
  const materializeRoute =
    (incremental: boolean) =>
    async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
      const run = materializeRequestFromBody(parseJsonBody(event, limits.maxBodyBytes), incremental, now());
      const asynchronous = queryFlag(event, 'async');
      queryFlag(event, 'force');
      const { catalog: served } = await catalog();
      const views = materializeTargets(served, run.views, run.version);
      const materialize = deps.materialize;
      if (materialize === undefined) {
        throw new ApiError(
          501,
          'MATERIALIZE_UNAVAILABLE',
          'this server has no offline engine to materialize with (the serving Lambda reads the online store only); views are materialized on their schedule by the recompute Lambda, or run `fstore materialize` / `fstore materialize-incremental`, or call this route on `fstore serve`',
        );
      }
      const started = jobs.start(incremental ? 'materialize-incremental' : 'materialize', views, () =>
        materialize({ catalog: served, incremental, views, start: run.start, end: run.end }),
      );
      const job = asynchronous
        ? started
        : await jobs.settled(started.job_id, deps.materializeWaitMs ?? DEFAULT_MATERIALIZE_WAIT_MS);
      if (job.status === 'succeeded') return jsonReply(200, job);
      if (job.status === 'failed' && job.error) {
        return errorReplyOf(errorStatus(job.error.code), job.error.code, job.error.message, 'feast');
      }
      // Feast's 202 body (`{"status": "accepted", "feature_views": [...]}`) and the job to poll.
      return jsonReply(202, {
        status: 'accepted',
        feature_views: job.feature_views,
        job_id: job.job_id,
        poll: `/materialize-jobs/${job.job_id}`,
        message: `the run continues in the background; poll GET /materialize-jobs/${job.job_id} until its status is "succeeded" or "failed"`,
      });
    };

  const routes: ApiRoute[] = [
    {
      method: 'POST',
      path: '/get-online-features',
      handler: async (event: APIGatewayProxyEvent) => {
        const request = onlineFeaturesRequestFromBody(parseJsonBody(event, limits.maxBodyBytes));
        const { catalog: served } = await catalog();
        const typed = await readOnlineFeatures({ catalog: served, store: deps.store, request, limits, now });
        return {
          statusCode: 200,
          headers: { 'content-type': JSON_CONTENT_TYPE },
          body: typedOnlineFeaturesJson(typed),
        };
      },
    },
    {
      method: 'POST',
      path: '/push',
      handler: async (event: APIGatewayProxyEvent) => {
        const result = await push(pushRequestFromBody(parseJsonBody(event, limits.maxBodyBytes)));
        return jsonReply(200, pushReply(result));
      },
    },
    {
      method: 'POST',
      path: '/write-to-online-store',
      handler: async (event: APIGatewayProxyEvent) => {
        const request = onlineWriteRequestFromBody(parseJsonBody(event, limits.maxBodyBytes));
        const { catalog: served } = await catalog();
        return jsonReply(200, pushReply(await push(onlineWriteAsPush(served, request))));
      },
    },
    { method: 'POST', path: '/materialize', handler: materializeRoute(false) },
    { method: 'POST', path: '/materialize-incremental', handler: materializeRoute(true) },
    {
      method: 'GET',
      path: '/materialize-jobs/{id}',
      handler: async (event: APIGatewayProxyEvent) =>
        jsonReply(200, jobs.get(decodedPathParameter(event.pathParameters?.id ?? ''))),
    },
    {
      method: 'GET',
      path: '/openapi.json',
      handler: async () => jsonReply(200, openApiDocument()),
    },
    {
      method: 'GET',
      path: '/health',
      handler: async () => jsonReply(200, { status: 'ok', registry_revision: (await catalog()).revision }),
    },
    {
      method: 'GET',
      path: '/registry/feature-views',
      handler: async (event: APIGatewayProxyEvent) => {
        const filter = discoveryFilterFromQuery(event.queryStringParameters);
        const { objects, revision } = await catalog();
        return jsonReply(200, {
          registry_revision: revision,
          feature_views: findObjects(objects, { ...filter, kind: 'feature_view' }).map(featureViewSummary),
        });
      },
    },
    {
      method: 'GET',
      path: '/registry/feature-views/{name}',
      handler: async (event: APIGatewayProxyEvent) => {
        const name = decodedPathParameter(event.pathParameters?.name ?? '');
        const view = featureViewNamed((await catalog()).objects, name);
        return jsonReply(200, featureViewSummary(view));
      },
    },
  ];

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(errorReplies('feast'))
    .before(({ event }) => {
      // The router throws a plain Error on an event that is not a REST proxy event; say what is wrong instead.
      if (typeof event.httpMethod !== 'string' || typeof event.path !== 'string' || event.path === '') {
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          'the event has no HTTP method or path; invoke this function through an API Gateway REST API with proxy integration',
        );
      }
    })
    .handler(httpRouterHandler({ routes, notFoundResponse: unmatchedRoute(routes) }));
}

/** A push's answer: rows taken, online items changed, offline rows landed. */
function pushReply(result: PushResult): { rows: number; online_items: number; offline_rows: number } {
  return { rows: result.rows, online_items: result.onlineItems, offline_rows: result.offlineRows };
}

/** A boolean query parameter as FastAPI reads one (`?async=true`); absent is false. */
function queryFlag(event: APIGatewayProxyEvent, name: string): boolean {
  const value = event.queryStringParameters?.[name];
  if (value === undefined || value === null) return false;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ApiError(
    400,
    'INVALID_REQUEST',
    `query parameter ${name} must be true or false; got "${value.slice(0, 40)}"`,
  );
}

/** API Gateway passes path parameters percent-encoded in some setups; a malformed encoding is taken as it is. */
function decodedPathParameter(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

let lambdaHandler: ServeHandler | undefined;

/**
 * The Lambda entry point. Its clients and catalog cache are built on the first invocation from the
 * environment (see `serveDependenciesFromEnvironment`) and reused by every later one.
 */
export const handler: ServeHandler = (event, context) => {
  lambdaHandler ??= createServeHandler(serveDependenciesFromEnvironment());
  return lambdaHandler(event, context);
};
