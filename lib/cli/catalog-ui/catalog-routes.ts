import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError } from '../../../lambdas/http/api-error.js';
import { errorReply } from '../../../lambdas/http/error-responses.js';
import { jsonReply } from '../../../lambdas/http/json-reply.js';
import { discoveryFilterFromQuery } from '../../../lambdas/http/request-validation.js';
import { DEFINITION_KINDS, type DefinitionKind } from '../../definitions/feature-repo.js';
import type { ApiGatewayProxyHandler } from '../local-api-server.js';
import { buildCatalog, type CatalogApiDependencies, type CatalogFilter } from './catalog-api.js';
import { catalogPage } from './catalog-page.js';

/** The catalog page. */
export const CATALOG_PAGE_PATH = '/ui';
/** The JSON the page reads. */
export const CATALOG_API_PATH = '/ui/api/catalog';

/**
 * The HTTP API with the feature catalog in front of it, for `fstore serve` only (the Lambda has no UI):
 * - `GET /ui`: the catalog page, one self-contained HTML document (no external URL);
 * - `GET /ui/api/catalog[?kind=&search=&tag=&owner=&entity=]`: `CatalogJson` (see catalog-api.ts);
 *   503 `NOT_APPLIED` before the first apply, 400 on an unknown parameter or kind.
 * Other paths under `/ui` answer 404 (405 for another method); every other request goes to `api`.
 */
export function withCatalogUi(
  api: ApiGatewayProxyHandler,
  deps: CatalogApiDependencies,
): ApiGatewayProxyHandler {
  return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const path = event.path.replace(/\/+$/, '') || '/';
    if (path !== CATALOG_PAGE_PATH && !path.startsWith(`${CATALOG_PAGE_PATH}/`)) return api(event, context);
    try {
      if (path !== CATALOG_PAGE_PATH && path !== CATALOG_API_PATH) {
        throw new ApiError(
          404,
          'NOT_FOUND',
          `there is no catalog route ${path.slice(0, 100)}; open ${CATALOG_PAGE_PATH} (the page) or ${CATALOG_API_PATH} (its JSON)`,
        );
      }
      if (event.httpMethod !== 'GET') {
        throw new ApiError(
          405,
          'METHOD_NOT_ALLOWED',
          `${path} answers GET, not ${event.httpMethod.slice(0, 20)}`,
          {
            headers: { allow: 'GET' },
          },
        );
      }
      if (path === CATALOG_PAGE_PATH) return pageReply();
      const catalog = await buildCatalog(deps, catalogFilterFromQuery(event.queryStringParameters));
      if (catalog === undefined) {
        throw new ApiError(
          503,
          'NOT_APPLIED',
          'no feature definitions have been applied to this project yet; run `fstore apply`, then retry',
        );
      }
      return jsonReply(200, catalog, { 'cache-control': 'no-store' });
    } catch (error) {
      return errorReply(error, context.awsRequestId);
    }
  };
}

/** `kind` plus the discovery filters; empty values count as not given (a cleared search box). */
export function catalogFilterFromQuery(
  parameters: Readonly<Record<string, string | undefined>> | null | undefined,
): CatalogFilter {
  const given = Object.entries(parameters ?? {}).filter(([, value]) => value !== undefined && value !== '');
  const kind = given.find(([name]) => name === 'kind')?.[1];
  if (kind !== undefined && !(DEFINITION_KINDS as readonly string[]).includes(kind)) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `query parameter kind must be one of ${DEFINITION_KINDS.join(', ')}; got "${kind.slice(0, 100)}"`,
    );
  }
  let filter: CatalogFilter;
  try {
    filter = discoveryFilterFromQuery(Object.fromEntries(given.filter(([name]) => name !== 'kind')));
  } catch (error) {
    // The discovery routes' message lists their parameters; this route also takes `kind`.
    if (!(error instanceof ApiError)) throw error;
    throw new ApiError(error.status, error.code, `${error.message}, and "kind" here`, { cause: error });
  }
  return kind === undefined ? filter : { kind: kind as DefinitionKind, ...filter };
}

function pageReply(): APIGatewayProxyResult {
  const page = catalogPage();
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': page.contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
    body: page.html,
  };
}
