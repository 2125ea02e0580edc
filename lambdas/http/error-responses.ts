import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { FstoreError } from '../../lib/errors.js';
import { OnlineRequestError } from '../../lib/services/get-online-features.js';
import { MaterializeError } from '../../lib/services/materialize.js';
import {
  OnlineStoreReadError,
  OnlineStoreUnavailableError,
  OnlineStoreWriteError,
} from '../../lib/stores/online-store.js';
import { ApiError } from './api-error.js';
import { RegistryUnavailableError } from './catalog-cache.js';
import { errorStatus } from './error-status.js';
import { feastErrorBody } from './feast-error-detail.js';
import { JSON_CONTENT_TYPE, jsonReply } from './json-reply.js';

/** The body of an error reply in fstore's own shape (the catalog page's routes). */
export interface ErrorReplyBody {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * How an error body is written: `feast`, the JSON string of Feast's error detail carrying fstore's code and
 * message too (see `feastErrorBody`), for the Feast-shaped API; `fstore`, `{"error": {"code", "message"}}`.
 */
export type ErrorBodyShape = 'feast' | 'fstore';

/**
 * The reply for an error, as `@middy/http-error-handler` would decide it (a message is shown only for a
 * status below 500, unless the edge chose it on purpose), its body in `shape`:
 * - `ApiError` (raised at the edge, for the caller): its status, code and message;
 * - `OnlineRequestError` (a service's, for the caller): its code and message, the status from `ERROR_STATUS`;
 * - `MaterializeError` (a view that cannot be materialized as asked): 400 `MATERIALIZE_REFUSED`;
 * - any other `FstoreError` carrying a string `code` and a 4xx `status`: that status, code and message;
 * - `OnlineStoreUnavailableError`: 503 `ONLINE_STORE_UNAVAILABLE`; `OnlineStoreReadError` and
 *   `OnlineStoreWriteError` (throttled after retries): 503 `ONLINE_STORE_THROTTLED`, with their messages;
 * - `RegistryUnavailableError`: 503 `REGISTRY_UNAVAILABLE`, its cause logged;
 * - anything else: 500 `INTERNAL` with a generic message naming the request id; the error itself goes to
 *   `console.error` only, since its message may hold internals (table names, SQL, stack).
 */
export function errorReply(
  error: unknown,
  requestId = 'unknown',
  shape: ErrorBodyShape = 'fstore',
): APIGatewayProxyResult {
  const { status, code, message, headers } = describedError(error, requestId);
  return errorReplyOf(status, code, message, shape, headers);
}

/** What `errorReply` answers for an error: its status, code, message (and headers), logging what it hides. */
export function describedError(
  error: unknown,
  requestId = 'unknown',
): {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
} {
  if (error instanceof ApiError) {
    return { status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  if (error instanceof OnlineRequestError) {
    return { status: errorStatus(error.code), code: error.code, message: error.message };
  }
  if (error instanceof MaterializeError) {
    return { status: 400, code: 'MATERIALIZE_REFUSED', message: error.message };
  }
  if (error instanceof OnlineStoreUnavailableError) {
    return { status: 503, code: 'ONLINE_STORE_UNAVAILABLE', message: error.message };
  }
  if (error instanceof OnlineStoreReadError || error instanceof OnlineStoreWriteError) {
    return { status: 503, code: 'ONLINE_STORE_THROTTLED', message: error.message };
  }
  if (error instanceof RegistryUnavailableError) {
    console.error(`[fstore serve] request ${requestId}: ${error.message}`, error.cause);
    return { status: 503, code: 'REGISTRY_UNAVAILABLE', message: error.message };
  }
  const coded = codedClientError(error);
  if (coded) return coded;
  console.error(`[fstore serve] request ${requestId} failed:`, error);
  return {
    status: 500,
    code: 'INTERNAL',
    message: `the server failed to answer this request (request id ${requestId}); the cause is in its logs`,
  };
}

/** Middleware that turns whatever the route threw into `errorReply`'s answer; put it first in the stack. */
export function errorReplies(
  shape: ErrorBodyShape = 'fstore',
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    name: 'errorReplies',
    onError: (request) => {
      request.response = errorReply(request.error, request.context?.awsRequestId, shape);
    },
  };
}

/** An error reply of a status, code and message, its body in `shape`. */
export function errorReplyOf(
  status: number,
  code: string,
  message: string,
  shape: ErrorBodyShape,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  if (shape === 'feast') {
    return {
      statusCode: status,
      headers: { 'content-type': JSON_CONTENT_TYPE, ...headers },
      body: feastErrorBody(code, message),
    };
  }
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
