/**
 * The HTTP status of every error code the API answers: the one place statuses are chosen. Services raise
 * errors with a code and a message only; this table turns the code into a status.
 *
 * Where Feast's feature server answers a 4xx, the status is Feast's (`sdk/python/feast/errors.py`:
 * `FeastObjectNotFoundException.http_status_code` 404, `PushSourceNotFoundException` 422; pydantic's
 * missing required fields 422). Where Feast answers 500 for bad input (a `ValueError`, a `KeyError`, a
 * `FeatureNameCollisionError`), the API answers a 4xx: bad input is never a server error.
 */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  // The request is malformed or asks for something impossible.
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  UNKNOWN_FEATURE: 400,
  INVALID_VERSION: 400,
  MISSING_JOIN_KEY: 400,
  INVALID_ENTITY_KEY: 400,
  INVALID_REQUEST_FIELD: 400,
  FEATURE_NAME_COLLISION: 400,
  NOT_SERVED_ONLINE: 400,
  TOO_MANY_ROWS: 400,
  TOO_MANY_FEATURES: 400,
  UNKNOWN_COLUMN: 400,
  MISSING_COLUMN: 400,
  INVALID_VALUE: 400,
  NOT_WRITABLE: 400,
  MATERIALIZE_REFUSED: 400,
  // Something named does not exist (Feast: FeastObjectNotFoundException and its subclasses).
  NOT_FOUND: 404,
  UNKNOWN_FEATURE_VIEW: 404,
  UNKNOWN_FEATURE_SERVICE: 404,
  UNKNOWN_VERSION: 404,
  MISSING_REQUEST_FIELD: 404,
  UNKNOWN_JOB: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_MATERIALIZING: 409,
  BODY_TOO_LARGE: 413,
  // Feast: a required field of the request model is missing (pydantic), or the push source is unknown.
  MISSING_FIELD: 422,
  UNKNOWN_SOURCE: 422,
  INTERNAL: 500,
  PUSH_UNAVAILABLE: 501,
  OFFLINE_PUSH_UNAVAILABLE: 501,
  MATERIALIZE_UNAVAILABLE: 501,
  NOT_APPLIED: 503,
  ONLINE_STORE_UNAVAILABLE: 503,
  ONLINE_STORE_THROTTLED: 503,
  REGISTRY_UNAVAILABLE: 503,
};

/** The status of a code; a code the table does not know is a request the caller must fix (400). */
export function errorStatus(code: string): number {
  return ERROR_STATUS[code] ?? 400;
}
