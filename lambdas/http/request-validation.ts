import { parseTimeText, TIME_FORMS } from '../../lib/compute/source-values.js';
import { closestName } from '../../lib/definitions/closest-name.js';
import type { DiscoveryFilter } from '../../lib/registry/discovery.js';
import type { OnlineFeaturesRequest } from '../../lib/services/get-online-features.js';
import type { OnlineWriteRequest, PushDestination, PushRequest } from '../../lib/services/push-request.js';
import { ApiError } from './api-error.js';

/**
 * Longest feature, view, service or source name a request may give. Registry names are far shorter; the
 * bound keeps the "did you mean" search over unknown names cheap whatever a caller sends.
 */
export const MAX_NAME_LENGTH = 256;

/** Unknown query parameters named in one error; the rest are counted. */
const MAX_UNKNOWN_FIELDS_LISTED = 5;
/** Characters of a caller's value or key quoted back in a message. */
const MAX_QUOTED_LENGTH = 40;

const ONLINE_FEATURES_EXAMPLE = '{"features": ["view:feature"], "entities": {"user_id": [1, 2]}}';
const PUSH_DESTINATIONS: readonly PushDestination[] = ['online', 'offline', 'online_and_offline'];
const PUSH_EXAMPLE =
  '{"push_source_name": "transactions", "df": {"user_id": [1], "amount": [9.5]}, "to": "online"}';
const WRITE_EXAMPLE =
  '{"feature_view_name": "user_profile", "df": {"user_id": [1], "credit_score": [700.0], "event_timestamp": ["2024-01-01T00:00:00"]}}';
const MATERIALIZE_EXAMPLE =
  '{"start_ts": "2024-01-01T00:00:00", "end_ts": "2024-01-02T00:00:00", "feature_views": ["user_stats"]}';

const DISCOVERY_PARAMETERS = ['search', 'tag', 'owner', 'entity'] as const;

type JsonObject = Readonly<Record<string, unknown>>;
type Columns = Readonly<Record<string, readonly unknown[]>>;

/*
 * The bodies are Feast's request models (`sdk/python/feast/feature_server.py`: GetOnlineFeaturesRequest,
 * PushFeaturesRequest, WriteToFeatureStoreRequest, MaterializeRequest, MaterializeIncrementalRequest), read
 * the way pydantic reads them there: every field of the model is accepted, fields the model does not name
 * are ignored (those models set no `extra`, and pydantic's default is `extra="ignore"`), a missing required
 * field is 422 `MISSING_FIELD` as pydantic answers, and a field of the wrong type is 400 `INVALID_REQUEST`
 * naming the field and what to give. Optional fields may also be null, which means "not given".
 */

/**
 * A Feast `get-online-features` body (GetOnlineFeaturesRequest, plus fstore's `request_context`) as the
 * service's request. What needs the definitions (which features exist, join keys, types, row counts) is
 * the service's job.
 * @example onlineFeaturesRequestFromBody({ features: ['user_stats:amount_sum_7d'], entities: { user_id: [1] } })
 */
export function onlineFeaturesRequestFromBody(body: unknown): OnlineFeaturesRequest {
  const fields = bodyObject(body, ONLINE_FEATURES_EXAMPLE);
  const features = optional(fields.features);
  const featureService = optional(fields.feature_service);
  const requestContext = optional(fields.request_context);
  const fullFeatureNames = flag(fields, 'full_feature_names');
  const includeVersions = flag(fields, 'include_feature_view_version_metadata');
  if (optional(fields.entities) === undefined) {
    throw missing(
      'entities',
      'give each join key a list of values, one per row, e.g. "entities": {"user_id": [1, 2]}',
    );
  }
  const references = features === undefined ? undefined : featureReferences(features);
  const service =
    featureService === undefined
      ? undefined
      : name('feature_service', featureService, 'feature service name');
  // Feast's model defaults `features` to []: an empty list beside a feature service is "not given".
  const givenFeatures = references !== undefined && (references.length > 0 || service === undefined);
  return {
    features: givenFeatures ? references : undefined,
    featureService: service,
    entities: scalarColumns('entities', fields.entities),
    requestContext:
      requestContext === undefined ? undefined : scalarColumns('request_context', requestContext),
    fullFeatureNames,
    includeFeatureViewVersionMetadata: includeVersions,
  };
}

/**
 * A Feast `push` body (PushFeaturesRequest) as the push service's request: `push_source_name` (or fstore's
 * `feature_view`), `df` as columns of equal length, `to` one of the three destinations. Feast's
 * `allow_registry_cache` and `transform_on_write` are accepted and checked; fstore has nothing they change
 * (the served registry is at most its refresh interval old, and there are no write-time transformations).
 * Whether the columns match the source's schema is the service's job.
 * @example pushRequestFromBody({ push_source_name: 'transactions', df: { user_id: [1], amount: [9.5] } })
 */
export function pushRequestFromBody(body: unknown): PushRequest {
  const fields = bodyObject(body, PUSH_EXAMPLE);
  const pushSourceName = optional(fields.push_source_name);
  const featureView = optional(fields.feature_view);
  flag(fields, 'allow_registry_cache');
  flag(fields, 'transform_on_write');
  if (pushSourceName === undefined && featureView === undefined) {
    throw missing(
      'push_source_name',
      'name the source the rows belong to (every view reading it takes them), or give "feature_view" for one view only',
    );
  }
  if (pushSourceName !== undefined && featureView !== undefined) {
    throw invalid(
      'give either push_source_name (every view reading that source takes the rows) or feature_view (only that view takes them), not both',
    );
  }
  const to = optional(fields.to);
  if (to !== undefined && !PUSH_DESTINATIONS.includes(to as PushDestination)) {
    throw invalid(`to must be "online", "offline" or "online_and_offline"; got ${described(to)}`);
  }
  if (optional(fields.df) === undefined) {
    throw missing('df', 'give the rows column by column, e.g. "df": {"user_id": [1, 2], "amount": [9.5, 3]}');
  }
  return {
    pushSourceName:
      pushSourceName === undefined ? undefined : name('push_source_name', pushSourceName, 'push source name'),
    featureView:
      featureView === undefined ? undefined : name('feature_view', featureView, 'feature view name'),
    df: dataFrame(fields.df),
    to: to as PushDestination | undefined,
  };
}

/**
 * A Feast `write-to-online-store` body (WriteToFeatureStoreRequest): a feature view's rows of feature values,
 * as Feast's remote online store sends them (`infra/online_stores/remote.py`, `online_write_batch`).
 * @example onlineWriteRequestFromBody({ feature_view_name: 'user_profile', df: { user_id: [1], credit_score: [700.0] } })
 */
export function onlineWriteRequestFromBody(body: unknown): OnlineWriteRequest {
  const fields = bodyObject(body, WRITE_EXAMPLE);
  flag(fields, 'allow_registry_cache');
  flag(fields, 'transform_on_write');
  const view = optional(fields.feature_view_name);
  if (view === undefined) {
    throw missing('feature_view_name', 'name the feature view the rows are written to');
  }
  if (optional(fields.df) === undefined) {
    throw missing(
      'df',
      'give the rows column by column: the join keys, the features and "event_timestamp", one value per row',
    );
  }
  return { featureViewName: name('feature_view_name', view, 'feature view name'), df: dataFrame(fields.df) };
}

/** A Feast materialize body as a run: which views, which range, which version. */
export interface MaterializeRunRequest {
  readonly incremental: boolean;
  /** Undefined: every online view. */
  readonly views: readonly string[] | undefined;
  /** Entities with rows since then are written; undefined: all (only for a full run). */
  readonly start: Date | undefined;
  readonly end: Date;
  /** A version (`v2`, `latest` or a version id) the run must be of; undefined: the applied one. */
  readonly version: string | undefined;
}

/**
 * A Feast `materialize` body (MaterializeRequest) or `materialize-incremental` body
 * (MaterializeIncrementalRequest) as a run. As in Feast (`_parse_materialize_timestamps`), a full run needs
 * `start_ts` before `end_ts` unless `disable_event_timestamp` is true, which means from the beginning up
 * to `now`; times without a zone are UTC. `full_feature_names` is accepted and changes nothing here (Feast
 * uses it for on-demand views written at materialization, which fstore computes at read time).
 * @example materializeRequestFromBody({ end_ts: '2024-01-02T00:00:00' }, true, Date.now())
 */
export function materializeRequestFromBody(
  body: unknown,
  incremental: boolean,
  now: number,
): MaterializeRunRequest {
  const fields = bodyObject(body, incremental ? '{"end_ts": "2024-01-02T00:00:00"}' : MATERIALIZE_EXAMPLE);
  flag(fields, 'full_feature_names');
  const views = optional(fields.feature_views);
  const version = optional(fields.version);
  if (views !== undefined && !(Array.isArray(views) && views.length > 0)) {
    throw invalid(
      `feature_views must be a non-empty list of feature view names, e.g. ["user_stats"], or left out for every online view; got ${Array.isArray(views) ? 'an empty list' : described(views)}`,
    );
  }
  const viewNames = views?.map((view: unknown, index) =>
    name(`feature_views[${index}]`, view, 'feature view name'),
  );
  const versionName = version === undefined ? undefined : name('version', version, 'version such as "v2"');
  if (versionName !== undefined && viewNames?.length !== 1) {
    throw invalid(
      'version needs feature_views with exactly one view, as in Feast; name the one view whose version to materialize',
    );
  }
  const common = { views: viewNames, version: versionName };
  if (incremental) {
    if (optional(fields.end_ts) === undefined) {
      throw missing('end_ts', 'give the time to materialize up to, e.g. "end_ts": "2024-01-02T00:00:00"');
    }
    return { incremental, ...common, start: undefined, end: instant('end_ts', fields.end_ts) };
  }
  if (flag(fields, 'disable_event_timestamp')) {
    return { incremental, ...common, start: undefined, end: new Date(now) };
  }
  if (optional(fields.start_ts) === undefined || optional(fields.end_ts) === undefined) {
    throw missing(
      optional(fields.start_ts) === undefined ? 'start_ts' : 'end_ts',
      'give both start_ts and end_ts (or "disable_event_timestamp": true for everything up to now)',
    );
  }
  const start = instant('start_ts', fields.start_ts);
  const end = instant('end_ts', fields.end_ts);
  if (!(start.getTime() < end.getTime())) {
    throw invalid(
      `start_ts (${start.toISOString()}) must be before end_ts (${end.toISOString()}); swap them or widen the range`,
    );
  }
  return { incremental, ...common, start, end };
}

/** The `/registry/feature-views` query (`?search=&tag=&owner=&entity=`) as a discovery filter. */
export function discoveryFilterFromQuery(
  parameters: Readonly<Record<string, string | undefined>> | null | undefined,
): DiscoveryFilter {
  const given = parameters ?? {};
  rejectUnknownFields(given, DISCOVERY_PARAMETERS, 'query parameter');
  const filter: { -readonly [key in keyof DiscoveryFilter]: DiscoveryFilter[key] } = {};
  for (const parameter of DISCOVERY_PARAMETERS) {
    const value = given[parameter];
    if (value !== undefined) filter[parameter] = value;
  }
  return filter;
}

function invalid(message: string): ApiError {
  return new ApiError(400, 'INVALID_REQUEST', message);
}

/** A required field of Feast's model is missing: 422, as pydantic answers in Feast's server. */
function missing(field: string, fix: string): ApiError {
  return new ApiError(422, 'MISSING_FIELD', `${field} is missing; ${fix}`);
}

/** An optional boolean of Feast's models: true, false, or null / absent for its default. */
function flag(fields: JsonObject, field: string): boolean | undefined {
  const value = optional(fields[field]);
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid(`${field} must be true or false; got ${described(value)}`);
  }
  return value;
}

/** A time of a materialize body: ISO 8601, an offset being the instant it names, no zone meaning UTC. */
function instant(field: string, value: unknown): Date {
  const ms = typeof value === 'string' ? parseTimeText(value) : undefined;
  if (ms === undefined) {
    throw invalid(`${field} must be ${TIME_FORMS}; got ${described(value)}`);
  }
  return new Date(ms);
}

/** Null stands for "not given", as in Feast's request models. */
function optional(value: unknown): unknown {
  return value === null ? undefined : value;
}

function bodyObject(body: unknown, example: string): JsonObject {
  if (!isObject(body))
    throw invalid(`the body must be a JSON object such as ${example}; got ${described(body)}`);
  return body;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownFields(
  given: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  noun = 'field',
): void {
  const unknown = Object.keys(given).filter((key) => !allowed.includes(key));
  if (unknown.length === 0) return;
  const listed = unknown.slice(0, MAX_UNKNOWN_FIELDS_LISTED).map((key) => {
    // Beyond a few dozen characters a key is no typo of an allowed one, and the distance costs its length.
    const suggestion = key.length <= MAX_QUOTED_LENGTH ? closestName(key, allowed) : undefined;
    return `${quoted(key)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
  });
  const more = unknown.length - listed.length;
  throw invalid(
    `unknown ${noun}${unknown.length === 1 ? '' : 's'} ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}; the ${noun}s are ${allowed.map((key) => `"${key}"`).join(', ')}`,
  );
}

function featureReferences(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw invalid(
      `features must be a list of "view:feature" names, e.g. ["user_stats:amount_sum_7d"]; got ${described(value)}`,
    );
  }
  return value.map((item: unknown, index) => name(`features[${index}]`, item, '"view:feature" name'));
}

function name(field: string, value: unknown, what: string): string {
  if (typeof value !== 'string')
    throw invalid(`${field} must be a ${what} (a string); got ${described(value)}`);
  if (value.length > MAX_NAME_LENGTH) {
    throw invalid(`${field} is ${value.length} characters long; a ${what} has at most ${MAX_NAME_LENGTH}`);
  }
  return value;
}

/** Join keys and request fields: an object of lists of scalars, one value per row. */
function scalarColumns(field: string, value: unknown): Columns {
  const columns = columnsOf(field, value, '{"user_id": [1, 2]}');
  for (const [column, values] of Object.entries(columns)) {
    values.forEach((cell, row) => {
      if (!isScalar(cell)) {
        throw invalid(
          `${path(field, column)}[${row}] must be a string, number, boolean or null; got ${described(cell)}`,
        );
      }
    });
  }
  return columns;
}

/** Pushed rows: columns of equal length holding scalars or flat lists (vector columns). */
function dataFrame(value: unknown): Columns {
  const columns = columnsOf('df', value, '{"user_id": [1, 2], "amount": [9.5, 3]}');
  const lengths = Object.entries(columns).map(([column, values]) => [column, values.length] as const);
  if (lengths.length === 0) {
    throw invalid('df holds no columns; give each column of the source a list with one value per row');
  }
  if (new Set(lengths.map(([, length]) => length)).size > 1) {
    const listed = lengths.slice(0, 10).map(([column, length]) => `${quoted(column)}: ${length}`);
    throw invalid(
      `df columns have different lengths (${listed.join(', ')}${lengths.length > 10 ? ', ...' : ''}); give one value per row in each`,
    );
  }
  for (const [column, values] of Object.entries(columns)) {
    values.forEach((cell, row) => {
      if (isScalar(cell) || (Array.isArray(cell) && cell.every(isScalar))) return;
      throw invalid(
        `${path('df', column)}[${row}] must be a string, number, boolean, null or a flat list (for a vector column); got ${Array.isArray(cell) ? 'a nested list' : described(cell)}`,
      );
    });
  }
  return columns;
}

function columnsOf(field: string, value: unknown, example: string): Columns {
  if (!isObject(value)) {
    throw invalid(
      `${field} must be an object of lists, one value per row, e.g. ${example}; got ${described(value)}`,
    );
  }
  for (const [column, values] of Object.entries(value)) {
    if (!Array.isArray(values)) {
      throw invalid(
        `${path(field, column)} must be a list with one value per row, e.g. [1, 2]; got ${described(values)}`,
      );
    }
  }
  return value as Columns;
}

function isScalar(value: unknown): boolean {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

/** `entities.user_id`, or `entities["odd key"]` for a key that is not an identifier. */
function path(field: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && key.length <= MAX_QUOTED_LENGTH
    ? `${field}.${key}`
    : `${field}[${quoted(key)}]`;
}

/** A caller's string in double quotes, cut short when long. */
function quoted(text: string): string {
  const json = JSON.stringify(text);
  return json.length <= MAX_QUOTED_LENGTH ? json : `${json.slice(0, MAX_QUOTED_LENGTH - 1)}…"`;
}

/**
 * A value as a message names it. Lists and objects by their kind only: quoting one could be long, and
 * `JSON.stringify` of a deeply nested one overflows the stack.
 */
function described(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  return String(value);
}
