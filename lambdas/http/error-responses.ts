import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { FstoreError } from '../../lib/errors.js';
import { OnlineRequestError } from '../../lib/services/get-online-features.js';
import {
  OnlineStoreReadError,
  OnlineStoreUnavailableError,
  OnlineStoreWriteError,
} from '../../lib/stores/online-store.js';
import { ApiError } from './api-error.js';
import { RegistryUnavailableError } from './catalog-cache.js';
import { jsonReply } from './json-reply.js';

/** The body of every error reply. */
export interface ErrorReplyBody {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * The reply for an error, as `@middy/http-error-handler` would decide it (a message is shown only for a
 * status below 500, unless the edge chose it on purpose) but always in one JSON shape,
 * `{"error": {"code", "message"}}`:
 * - `ApiError` and `OnlineRequestError` (both raised on purpose, for the caller): their status, code and message;
 * - any other `FstoreError` carrying a string `code` and a 4xx `status`: that status, code and message;
 * - `OnlineStoreUnavailableError`: 503 `ONLINE_STORE_UNAVAILABLE`; `OnlineStoreReadError` and
 *   `OnlineStoreWriteError` (throttled after retries): 503 `ONLINE_STORE_THROTTLED`, with their messages;
 * - `RegistryUnavailableError`: 503 `REGISTRY_UNAVAILABLE`, its cause logged;
 * - anything else: 500 `INTERNAL` with a generic message naming the request id; the error itself goes to
 *   `console.error` only, since its message may hold internals (table names, SQL, stack).
 */
export function errorReply(error: unknown, requestId = 'unknown'): APIGatewayProxyResult {
  if (error instanceof ApiError) return reply(error.status, error.code, error.message, error.headers);
  if (error instanceof OnlineRequestError) return reply(error.status, error.code, error.message);
  if (error instanceof OnlineStoreUnavailableError) {
    return reply(503, 'ONLINE_STORE_UNAVAILABLE', error.message);
  }
  if (error instanceof OnlineStoreReadError || error instanceof OnlineStoreWriteError) {
    return reply(503, 'ONLINE_STORE_THROTTLED', error.message);
  }
  if (error instanceof RegistryUnavailableError) {
    console.error(`[fstore serve] request ${requestId}: ${error.message}`, error.cause);
    return reply(503, 'REGISTRY_UNAVAILABLE', error.message);
  }
  const coded = codedClientError(error);
  if (coded) return reply(coded.status, coded.code, coded.message);
  console.error(`[fstore serve] request ${requestId} failed:`, error);
  return reply(
    500,
    'INTERNAL',
    `the server failed to answer this request (request id ${requestId}); the cause is in its logs`,
  );
}

/** Middleware that turns whatever the route threw into `errorReply`'s answer; put it first in the stack. */
export function errorReplies(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    name: 'errorReplies',
    onError: (request) => {
      request.response = errorReply(request.error, request.context?.awsRequestId);
    },
  };
}

function reply(
  status: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  const body: ErrorReplyBody = { error: { code, message } };
  return jsonReply(status, body, headers);
}

/**
 * Another service's error meant for the caller: an `FstoreError` with a code and a 4xx status. One with a
 * 5xx status may hold internals, so it answers 500 like any other failure.
 */
function codedClientError(error: unknown): { status: number; code: string; message: string } | undefined {
  if (!(error instanceof FstoreError)) return undefined;
  const { code, status } = error as FstoreError & { code?: unknown; status?: unknown };
  if (typeof code !== 'string' || code === '' || typeof status !== 'number') return undefined;
  if (!Number.isInteger(status) || status < 400 || status > 499) return undefined;
  return { status, code, message: error.message };
}
