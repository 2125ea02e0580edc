import middy from '@middy/core';
import httpRouterHandler, { type Route } from '@middy/http-router';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { findObjects } from '../lib/registry/discovery.js';
import { getOnlineFeatures } from '../lib/services/get-online-features.js';
import { ApiError } from './http/api-error.js';
import { appliedCatalog } from './http/applied-catalog.js';
import { errorReplies } from './http/error-responses.js';
import { featureViewNamed, featureViewSummary } from './http/feature-view-summary.js';
import { parseJsonBody } from './http/json-body.js';
import { jsonReply } from './http/json-reply.js';
import {
  discoveryFilterFromQuery,
  onlineFeaturesRequestFromBody,
  pushRequestFromBody,
} from './http/request-validation.js';
import { type LoadedCatalog, resolveServeLimits, type ServeDependencies } from './http/serve-dependencies.js';
import { serveDependenciesFromEnvironment } from './http/serve-environment.js';
import { unmatchedRoute } from './http/unmatched-route.js';

export type { ServeDependencies } from './http/serve-dependencies.js';

/** An API Gateway (REST API, proxy integration) handler. */
export type ServeHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

type ApiRoute = Route<APIGatewayProxyEvent, APIGatewayProxyResult>;

/**
 * The HTTP API, shaped like Feast's feature server:
 * - `POST /get-online-features`: Feast's body and response (DESIGN.md section 4);
 * - `POST /push`: rows to a push source or a feature view; 501 without `deps.push`;
 * - `GET /health`: `{"status": "ok", "registry_revision": n}`. It reads no online item: the store has no
 *   cheap ping (`read([])` makes no call), so an unreachable store shows as 503s from `get-online-features`;
 * - `GET /registry/feature-views[?search=&tag=&owner=&entity=]` and `GET /registry/feature-views/{name}`.
 *
 * Every route is parse, call, shape; every error is `{"error": {"code", "message"}}` (see `errorReply`).
 * @example
 * const handler = createServeHandler({ loadCatalog: registryCatalogLoader(registry), store });
 * const reply = await handler(event, context);
 */
export function createServeHandler(deps: ServeDependencies): ServeHandler {
  const limits = resolveServeLimits(deps.limits);
  const catalog = (): Promise<LoadedCatalog> => appliedCatalog(deps.loadCatalog);

  const routes: ApiRoute[] = [
    {
      method: 'POST',
      path: '/get-online-features',
      handler: async (event: APIGatewayProxyEvent) => {
        const request = onlineFeaturesRequestFromBody(parseJsonBody(event, limits.maxBodyBytes));
        const { catalog: served } = await catalog();
        const response = await getOnlineFeatures({
          catalog: served,
          store: deps.store,
          request,
          limits,
          ...(deps.now === undefined ? {} : { now: deps.now }),
        });
        return jsonReply(200, response);
      },
    },
    {
      method: 'POST',
      path: '/push',
      handler: async (event: APIGatewayProxyEvent) => {
        if (deps.push === undefined) {
          throw new ApiError(
            501,
            'PUSH_UNAVAILABLE',
            'this server was started without a push service, so POST /push is unavailable; write the rows through the stream or `fstore ingest` instead',
          );
        }
        const result = await deps.push(pushRequestFromBody(parseJsonBody(event, limits.maxBodyBytes)));
        return jsonReply(200, {
          rows: result.rows,
          online_items: result.onlineItems,
          offline_rows: result.offlineRows,
        });
      },
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
    .use(errorReplies())
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
