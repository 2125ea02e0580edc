import { closestName } from '../../lib/definitions/closest-name.js';
import type { DiscoveryFilter } from '../../lib/registry/discovery.js';
import type { OnlineFeaturesRequest } from '../../lib/services/get-online-features.js';
import type { PushDestination, PushRequest } from '../../lib/services/push-request.js';
import { ApiError } from './api-error.js';

/**
 * Longest feature, view, service or source name a request may give. Registry names are far shorter; the
 * bound keeps the "did you mean" search over unknown names cheap whatever a caller sends.
 */
export const MAX_NAME_LENGTH = 256;

/** Unknown fields named in one error; the rest are counted. */
const MAX_UNKNOWN_FIELDS_LISTED = 5;
/** Characters of a caller's value or key quoted back in a message. */
const MAX_QUOTED_LENGTH = 40;

const ONLINE_FEATURES_FIELDS = [
  'features',
  'feature_service',
  'entities',
  'request_context',
  'full_feature_names',
] as const;
const ONLINE_FEATURES_EXAMPLE = '{"features": ["view:feature"], "entities": {"user_id": [1, 2]}}';

const PUSH_FIELDS = ['push_source_name', 'feature_view', 'df', 'to'] as const;
const PUSH_DESTINATIONS: readonly PushDestination[] = ['online', 'offline', 'online_and_offline'];
const PUSH_EXAMPLE =
  '{"push_source_name": "transactions", "df": {"user_id": [1], "amount": [9.5]}, "to": "online"}';

const DISCOVERY_PARAMETERS = ['search', 'tag', 'owner', 'entity'] as const;

type JsonObject = Readonly<Record<string, unknown>>;
type Columns = Readonly<Record<string, readonly unknown[]>>;

/**
 * A Feast `get-online-features` body as the service's request: snake_case keys mapped to camelCase, every
 * field's type checked. Optional fields may also be null (Feast's own server accepts that). What needs
 * the definitions (which features exist, which join keys, their types, row counts) is the service's job.
 * @example onlineFeaturesRequestFromBody({ features: ['user_stats:amount_sum_7d'], entities: { user_id: [1] } })
 */
export function onlineFeaturesRequestFromBody(body: unknown): OnlineFeaturesRequest {
  const fields = bodyObject(body, ONLINE_FEATURES_EXAMPLE);
  rejectUnknownFields(fields, ONLINE_FEATURES_FIELDS);
  const features = optional(fields.features);
  const featureService = optional(fields.feature_service);
  const requestContext = optional(fields.request_context);
  const fullFeatureNames = optional(fields.full_feature_names);
  if (fullFeatureNames !== undefined && typeof fullFeatureNames !== 'boolean') {
    throw invalid(`full_feature_names must be true or false; got ${described(fullFeatureNames)}`);
  }
  if (fields.entities === undefined) {
    throw invalid(
      'entities is missing; give each join key a list of values, one per row, e.g. "entities": {"user_id": [1, 2]}',
    );
  }
  return {
    features: features === undefined ? undefined : featureReferences(features),
    featureService:
      featureService === undefined
        ? undefined
        : name('feature_service', featureService, 'feature service name'),
    entities: scalarColumns('entities', fields.entities),
    requestContext:
      requestContext === undefined ? undefined : scalarColumns('request_context', requestContext),
    fullFeatureNames,
  };
}

/**
 * A Feast `push` body as the push service's request: one of `push_source_name` or `feature_view`, `df` as
 * columns of equal length holding scalars (or flat lists, for vector columns), `to` one of the three
 * destinations. Whether the columns match the source's schema is the service's job.
 * @example pushRequestFromBody({ push_source_name: 'transactions', df: { user_id: [1], amount: [9.5] } })
 */
export function pushRequestFromBody(body: unknown): PushRequest {
  const fields = bodyObject(body, PUSH_EXAMPLE);
  rejectUnknownFields(fields, PUSH_FIELDS);
  const pushSourceName = optional(fields.push_source_name);
  const featureView = optional(fields.feature_view);
  if ((pushSourceName === undefined) === (featureView === undefined)) {
    throw invalid(
      `give either push_source_name (every view reading that source takes the rows) or feature_view (only that view takes them); the body has ${pushSourceName === undefined ? 'neither' : 'both'}`,
    );
  }
  const to = optional(fields.to);
  if (to !== undefined && !PUSH_DESTINATIONS.includes(to as PushDestination)) {
    throw invalid(`to must be "online", "offline" or "online_and_offline"; got ${described(to)}`);
  }
  if (fields.df === undefined) {
    throw invalid(
      'df is missing; give the rows column by column, e.g. "df": {"user_id": [1, 2], "amount": [9.5, 3]}',
    );
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
