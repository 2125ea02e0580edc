/**
 * The Feast exception class a code stands for. Feast's client rebuilds the class by name from
 * `feast.errors` (`FeastError.from_error_detail`, `sdk/python/feast/errors.py` lines 54-70), so these must
 * be classes that module defines; codes without a closer class are the base `FeastError`.
 */
export const FEAST_ERROR_CLASS: Readonly<Record<string, string>> = {
  NOT_FOUND: 'FeastObjectNotFoundException',
  UNKNOWN_JOB: 'FeastObjectNotFoundException',
  UNKNOWN_FEATURE_VIEW: 'FeatureViewNotFoundException',
  UNKNOWN_FEATURE_SERVICE: 'FeatureServiceNotFoundException',
  UNKNOWN_VERSION: 'FeatureViewVersionNotFound',
  MISSING_REQUEST_FIELD: 'RequestDataNotFoundInEntityRowsException',
  UNKNOWN_SOURCE: 'PushSourceNotFoundException',
  FEATURE_NAME_COLLISION: 'FeatureNameCollisionError',
};

/** The module Feast's error classes live in. */
export const FEAST_ERRORS_MODULE = 'feast.errors';

/**
 * What an error body holds once its JSON string is parsed: Feast's three fields, which its client turns back
 * into a typed exception, and fstore's own `{code, message}`.
 */
export interface FeastErrorDetail {
  readonly module: string;
  readonly class: string;
  readonly message: string;
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * The body of an error reply. Feast's server answers `JSONResponse(content=exc.to_error_detail())`
 * (`sdk/python/feast/feature_server.py`, `rest_exception_handler`), and `to_error_detail` returns a JSON
 * *string* (`errors.py` lines 38-52), so the body is a JSON string holding a JSON object. Feast's client
 * reads it with `FeastError.from_error_detail(response.json())` (`sdk/python/feast/rest_error_handler.py`
 * line 101), which parses that string again and raises the class it names with the message; it ignores
 * other keys, so fstore's `error: {code, message}` rides along for clients that branch on codes.
 * @example
 * JSON.parse(JSON.parse(feastErrorBody('UNKNOWN_SOURCE', 'there is no source "tx"'))).class
 * // 'PushSourceNotFoundException'
 */
export function feastErrorBody(code: string, message: string): string {
  const detail: FeastErrorDetail = {
    module: FEAST_ERRORS_MODULE,
    class: FEAST_ERROR_CLASS[code] ?? 'FeastError',
    message,
    error: { code, message },
  };
  return JSON.stringify(JSON.stringify(detail));
}
