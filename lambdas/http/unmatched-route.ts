import type { Method, RouteNotFoundResponseFn } from '@middy/http-router';
import { ApiError } from './api-error.js';

/** Characters of a caller's path quoted back in a message. */
const MAX_QUOTED_PATH = 100;

/**
 * The `notFoundResponse` for `@middy/http-router`: 405 `METHOD_NOT_ALLOWED` (with an `allow` header) when
 * another method serves the path, else 404 `NOT_FOUND` listing the routes. Paths match as the router
 * matches them: `{name}` is one segment, and a trailing slash is optional.
 */
export function unmatchedRoute(
  routes: readonly { readonly method: Method; readonly path: string }[],
): RouteNotFoundResponseFn {
  const patterns = routes.map((route) => ({ method: route.method, pattern: routePattern(route.path) }));
  const served = routes.map((route) => `${route.method} ${route.path}`).join(', ');
  return ({ method, path }) => {
    const shown = path.length > MAX_QUOTED_PATH ? `${path.slice(0, MAX_QUOTED_PATH)}…` : path;
    const allowed = [...new Set(patterns.filter(({ pattern }) => pattern.test(path)).map((p) => p.method))];
    if (allowed.length > 0) {
      throw new ApiError(
        405,
        'METHOD_NOT_ALLOWED',
        `${shown} answers ${allowed.join(', ')}, not ${method.slice(0, MAX_QUOTED_PATH)}`,
        { headers: { allow: allowed.join(', ') } },
      );
    }
    throw new ApiError(404, 'NOT_FOUND', `there is no route ${shown}; the API serves ${served}`);
  };
}

function routePattern(path: string): RegExp {
  const segments = path
    .split('/')
    .map((segment) =>
      /^\{[^/]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
  return new RegExp(`^${segments.join('/')}/?$`);
}
