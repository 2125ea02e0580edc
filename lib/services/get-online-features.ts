import type { ExpressionValue } from '../compute/evaluate-expression.js';
import { evaluateExpression } from '../compute/evaluate-expression.js';
import { type FeatureStatus, type ServedFeature, viewFeaturesAt } from '../compute/online-aggregator.js';
import { mergeStates } from '../compute/online-fold.js';
import { expressionReferences } from '../definitions/expression.js';
import { parseFeatureReference } from '../definitions/feature-service.js';
import type { OnDemandFeatureViewDefinition } from '../definitions/on-demand-feature-view.js';
import type { FeatureType, ValueType } from '../definitions/value-type.js';
import {
  encodeEntityKey,
  type JoinKeyValue,
  MAX_ENTITY_KEY_BYTES,
  oversizedEntityKey,
} from '../stores/online-entity-key.js';
import type { OnlineItemKey, OnlineStore } from '../stores/online-store.js';
import { OnlineRequestError } from './online-request-error.js';
import {
  featureNameCollisions,
  resolveRequestedFeatures,
  UnknownFeatureError,
  versionedReference,
} from './requested-features.js';
import type { ServedView, ServingCatalog } from './serving-catalog.js';
import { appliedVersion, servedVersionTag, versionHistory } from './view-versions.js';

/** Limits on one request, so one caller cannot make the service read or return without bound. */
export interface OnlineRequestLimits {
  /** Entity rows per request. @default 1000 */
  readonly maxEntityRows: number;
  /** Features per request. @default 500 */
  readonly maxFeatures: number;
}

export const DEFAULT_ONLINE_REQUEST_LIMITS: OnlineRequestLimits = { maxEntityRows: 1_000, maxFeatures: 500 };

/** What a caller asks for, as in Feast's `get-online-features` body (already parsed from JSON). */
export interface OnlineFeaturesRequest {
  /** `view:feature` references (`view:*` for a whole view); give this or `featureService`. */
  readonly features?: readonly string[];
  readonly featureService?: string;
  /** Column-major rows: join key (and on-demand request field) -> one value per row. */
  readonly entities: Readonly<Record<string, readonly unknown[]>>;
  /** Further request fields for on-demand features, column-major like `entities`. */
  readonly requestContext?: Readonly<Record<string, readonly unknown[]>>;
  /** Name features `view__feature`. @default false */
  readonly fullFeatureNames?: boolean | undefined;
  /**
   * Add `metadata.feature_view_metadata`: each view read, with the version number it was read at (Feast's
   * `include_feature_view_version_metadata`). @default false
   */
  readonly includeFeatureViewVersionMetadata?: boolean | undefined;
}

export interface OnlineFeatureColumn {
  readonly values: unknown[];
  readonly statuses: FeatureStatus[];
  /** ISO 8601 UTC; the epoch when there is none (Feast's convention). */
  readonly event_timestamps: string[];
}

/** A view an answer read, and the version it read (Feast's `FeatureViewMetadata`). */
export interface FeatureViewVersionMetadata {
  readonly name: string;
  /** Feast's version number: the view's first version is 0, each change after it one more. */
  readonly version: number;
  /** fstore's version id (16 hex digits). */
  readonly version_id: string;
}

/** Feast's response shape: column-major, join keys first, one result per name in `feature_names`. */
export interface OnlineFeaturesResponse {
  readonly metadata: {
    readonly feature_names: string[];
    /** Only when `includeFeatureViewVersionMetadata` was asked for. */
    readonly feature_view_metadata?: FeatureViewVersionMetadata[];
  };
  readonly results: OnlineFeatureColumn[];
}

export { OnlineRequestError };

export interface GetOnlineFeaturesOptions {
  readonly catalog: ServingCatalog;
  readonly store: OnlineStore;
  readonly request: OnlineFeaturesRequest;
  /** The read time. @default Date.now */
  readonly now?: () => number;
  readonly limits?: OnlineRequestLimits;
}

/** The event time where there is none: the epoch, as Feast answers (the HTTP edge writes it Feast's way). */
const EPOCH = new Date(0).toISOString();

/** One requested feature: its view, its name, and the version tag it was asked with (`v2`, a version id). */
interface RequestedFeature {
  readonly view: string;
  readonly feature: string;
  /** Undefined: asked without a version or with `@latest`. */
  readonly versionTag: string | undefined;
}

/** The answer with the type of every column, for writers that type JSON values (`20.0` for a float64). */
export interface TypedOnlineFeatures {
  readonly response: OnlineFeaturesResponse;
  /** Aligned with `response.metadata.feature_names`; undefined where the definition has no type. */
  readonly types: readonly (FeatureType | undefined)[];
}

/**
 * Reads features for live requests: each distinct (entity, view) is read once, in one batched store
 * call, computed as of now from its state (windows from hop tiles, TTL as OUTSIDE_MAX_AGE), fanned back
 * out to every row that asked; on-demand features are evaluated from request fields and those values.
 */
export async function getOnlineFeatures(options: GetOnlineFeaturesOptions): Promise<OnlineFeaturesResponse> {
  return (await readOnlineFeatures(options)).response;
}

/**
 * `getOnlineFeatures` with the type of each column. Join keys come first, in the order the request's
 * `entities` gives them; then the features in the order asked.
 */
export async function readOnlineFeatures(options: GetOnlineFeaturesOptions): Promise<TypedOnlineFeatures> {
  const { catalog, store, request } = options;
  const limits = options.limits ?? DEFAULT_ONLINE_REQUEST_LIMITS;
  const t = (options.now ?? Date.now)();
  const requested = resolveFeatures(catalog, request, limits);
  const outputName = ({ view, feature, versionTag }: RequestedFeature): string =>
    request.fullFeatureNames
      ? `${view}${versionTag === undefined ? '' : `@${versionTag}`}__${feature}`
      : feature;
  if (!request.fullFeatureNames) refuseNameCollisions(requested);
  const columns = { ...(request.requestContext ?? {}), ...request.entities };
  const rowCount = countRows(columns, limits);

  // Views whose state is read: those requested and those on-demand features read.
  const onDemandByName = new Map(
    catalog.validated.repo.onDemandFeatureViews.map((view) => [view.name, view]),
  );
  const storedViews = new Set<string>();
  const requestFields = new Map<string, ValueType>();
  for (const { view, feature } of requested) {
    const onDemand = onDemandByName.get(view);
    if (!onDemand) {
      storedViews.add(view);
      continue;
    }
    const references = expressionReferences(onDemand.expressions[feature] as never);
    for (const reference of references.features) if (reference.view) storedViews.add(reference.view);
    for (const field of references.requestFields)
      requestFields.set(field, onDemand.request[field] ?? 'float64');
  }
  const views = [...storedViews].map((name) => servedView(catalog, name));
  const joinKeyTypes = new Map(views.flatMap((view) => [...view.joinKeys]));
  for (const view of views) checkJoinKeys(view, columns);
  for (const [field, type] of requestFields) checkRequestField(field, type, columns, requested);
  // In the request's order, as Feast answers them.
  const joinKeyNames = Object.keys(request.entities).filter((key) => joinKeyTypes.has(key));
  // One item per distinct (entity, view): rows asking for the same entity share the read and the math.
  const rowKeys = views.map((view) =>
    Array.from({ length: rowCount }, (_, row) => entityKeyOf(view, columns, row)),
  );
  const distinct = new Map<string, OnlineItemKey>();
  views.forEach((view, index) => {
    for (const entityKey of rowKeys[index] ?? []) {
      distinct.set(`${view.definition.name}\u0000${entityKey}`, {
        entityKey,
        view: view.definition.name,
        version: view.version,
      });
    }
  });
  const keys = [...distinct.values()];
  // A view reading a stream has a stream part beside the batch part: both are read in the same calls.
  const streamKeys = keys.filter((key) => servedView(catalog, key.view).streamFed);
  const items = await store.read([
    ...keys,
    ...streamKeys.map((key) => ({ ...key, part: 'stream' as const })),
  ]);
  const streamParts = new Map(streamKeys.map((key, index) => [key, items[keys.length + index]?.state]));
  const served = new Map<string, Map<string, ServedFeature>>();
  keys.forEach((key, index) => {
    const view = servedView(catalog, key.view);
    const state = view.streamFed
      ? mergeStates(view.layout, items[index]?.state, streamParts.get(key))
      : items[index]?.state;
    served.set(`${key.view}\u0000${key.entityKey}`, viewFeaturesAt(view.features, view.layout, state, t));
  });
  // Each row's served features per view, looked up once rather than once per feature.
  const rowFeatures = new Map(
    views.map((view, index) => [
      view.definition.name,
      (rowKeys[index] ?? []).map((entityKey) => served.get(`${view.definition.name}\u0000${entityKey}`)),
    ]),
  );
  const featuresOfRow = (viewName: string, row: number): Map<string, ServedFeature> | undefined =>
    rowFeatures.get(viewName)?.[row];
  // Rows of one entity share event times: format each once.
  const isoTimes = new Map<number, string>();
  const isoTime = (ms: number): string => {
    let iso = isoTimes.get(ms);
    if (iso === undefined) {
      iso = new Date(ms).toISOString();
      isoTimes.set(ms, iso);
    }
    return iso;
  };

  const featureNames: string[] = [...joinKeyNames];
  const types: (FeatureType | undefined)[] = joinKeyNames.map((key) => joinKeyTypes.get(key));
  const results: OnlineFeatureColumn[] = joinKeyNames.map((key) => ({
    values: [...(columns[key] ?? [])],
    statuses: Array.from({ length: rowCount }, () => 'PRESENT' as const),
    event_timestamps: Array.from({ length: rowCount }, () => EPOCH),
  }));
  for (const requestedFeature of requested) {
    const { view, feature } = requestedFeature;
    featureNames.push(outputName(requestedFeature));
    types.push(catalog.validated.features.get(view)?.find((candidate) => candidate.name === feature)?.dtype);
    const onDemand = onDemandByName.get(view);
    const column: OnlineFeatureColumn = { values: [], statuses: [], event_timestamps: [] };
    const rows = rowFeatures.get(view);
    for (let row = 0; row < rowCount; row++) {
      const value = onDemand
        ? onDemandValue(onDemand, feature, row, columns, featuresOfRow)
        : (rows?.[row]?.get(feature) ?? missing);
      column.values.push(toJsonValue(value.value));
      column.statuses.push(value.status);
      column.event_timestamps.push(value.eventTs === undefined ? EPOCH : isoTime(value.eventTs));
    }
    results.push(column);
  }
  const metadata: OnlineFeaturesResponse['metadata'] = request.includeFeatureViewVersionMetadata
    ? { feature_names: featureNames, feature_view_metadata: viewVersionMetadata(catalog, requested) }
    : { feature_names: featureNames };
  return { response: { metadata, results }, types };
}

/**
 * An instant as Feast writes times (`sdk/python/feast/feature_server_utils.py` `_timestamp_to_str`,
 * lines 131-152): UTC with `Z`, no fraction when the milliseconds are zero, else three digits.
 * @example feastTimestamp(0) // '1970-01-01T00:00:00Z'
 */
export function feastTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Each view read, once, in request order, with the number and id of the version it was read at. */
function viewVersionMetadata(
  catalog: ServingCatalog,
  requested: readonly RequestedFeature[],
): FeatureViewVersionMetadata[] {
  const seen = new Map<string, FeatureViewVersionMetadata>();
  for (const { view } of requested) {
    if (seen.has(view)) continue;
    const versionId = appliedVersion(catalog, view);
    const history = versionHistory(catalog, view, versionId);
    seen.set(view, { name: view, version: history.lastIndexOf(versionId), version_id: versionId });
  }
  return [...seen.values()];
}

const missing: ServedFeature = { value: null, status: 'NOT_FOUND', eventTs: undefined };

function resolveFeatures(
  catalog: ServingCatalog,
  request: OnlineFeaturesRequest,
  limits: OnlineRequestLimits,
): RequestedFeature[] {
  if ((request.features === undefined) === (request.featureService === undefined)) {
    throw new OnlineRequestError(
      'INVALID_REQUEST',
      'give either "features" (["view:feature", ...]) or "feature_service", not both or neither',
    );
  }
  if (request.features && request.features.length > limits.maxFeatures) {
    throw new OnlineRequestError(
      'TOO_MANY_FEATURES',
      `"features" names ${request.features.length} features; at most ${limits.maxFeatures} are allowed per request, so split the request`,
    );
  }
  const references = request.features?.map(versionedReference);
  let requested: RequestedFeature[];
  try {
    const resolved = resolveRequestedFeatures(catalog.validated, {
      features: references?.map((reference) => reference.reference),
      service: request.featureService,
    });
    // A service's features, or each reference (`view:*` expanded) with the version it names.
    requested = references
      ? references.flatMap((reference) => {
          const tag =
            reference.version === undefined
              ? undefined
              : servedVersionTag(catalog, reference.view, reference.version);
          const { view, feature } = parseFeatureReference(reference.reference);
          const names =
            feature === '*'
              ? (catalog.validated.features.get(view) ?? []).map((candidate) => candidate.name)
              : [feature];
          return names.map((name) => ({ view, feature: name, versionTag: tag }));
        })
      : resolved.map(({ view, feature }) => ({ view, feature, versionTag: undefined }));
  } catch (error) {
    if (error instanceof UnknownFeatureError) {
      const code =
        error.subject === 'feature_service'
          ? 'UNKNOWN_FEATURE_SERVICE'
          : error.subject === 'feature_view'
            ? 'UNKNOWN_FEATURE_VIEW'
            : 'UNKNOWN_FEATURE';
      throw new OnlineRequestError(code, error.message);
    }
    throw error;
  }
  if (requested.length > limits.maxFeatures) {
    throw new OnlineRequestError(
      'TOO_MANY_FEATURES',
      `the request expands to ${requested.length} features; at most ${limits.maxFeatures} are allowed per request, so split the request`,
    );
  }
  const offlineOnly = [...new Set(requested.map((r) => r.view))].filter(
    (view) => catalog.views.get(view)?.definition.online === false,
  );
  if (offlineOnly.length > 0) {
    throw new OnlineRequestError(
      'NOT_SERVED_ONLINE',
      `feature view ${offlineOnly.map((v) => `"${v}"`).join(', ')} is not served online (online: false); read it with get-historical-features or set online: true and apply`,
    );
  }
  return requested;
}

/** Without full names, two views' features of one name would be two columns of one name. */
function refuseNameCollisions(requested: readonly RequestedFeature[]): void {
  const collisions = featureNameCollisions(requested);
  if (collisions.length > 0) {
    throw new OnlineRequestError(
      'FEATURE_NAME_COLLISION',
      `feature names collide: ${collisions.map(([name, views]) => `${name} (${views.join(', ')})`).join('; ')}; set "full_feature_names": true to name them view__feature`,
    );
  }
}

function servedView(catalog: ServingCatalog, name: string): ServedView {
  const view = catalog.views.get(name);
  if (!view)
    throw new OnlineRequestError(
      'UNKNOWN_FEATURE',
      `on-demand features read view "${name}", which is not a feature view`,
    );
  return view;
}

function countRows(
  columns: Readonly<Record<string, readonly unknown[]>>,
  limits: OnlineRequestLimits,
): number {
  const lengths = Object.entries(columns).map(([name, values]) => {
    if (!Array.isArray(values)) {
      throw new OnlineRequestError(
        'INVALID_REQUEST',
        `entities.${name} must be a list of values, one per row`,
      );
    }
    return [name, values.length] as const;
  });
  const counts = new Set(lengths.map(([, length]) => length));
  if (counts.size > 1) {
    throw new OnlineRequestError(
      'INVALID_REQUEST',
      `entities columns have different lengths (${lengths.map(([name, length]) => `${name}: ${length}`).join(', ')}); give one value per row in each`,
    );
  }
  const rows = lengths[0]?.[1] ?? 0;
  if (rows === 0) {
    throw new OnlineRequestError(
      'INVALID_REQUEST',
      'entities holds no rows; give each join key a list of at least one value',
    );
  }
  if (rows > limits.maxEntityRows) {
    throw new OnlineRequestError(
      'TOO_MANY_ROWS',
      `entities holds ${rows} rows; at most ${limits.maxEntityRows} are allowed per request, so split the request`,
    );
  }
  return rows;
}

function checkJoinKeys(view: ServedView, columns: Readonly<Record<string, readonly unknown[]>>): void {
  for (const [key, type] of view.joinKeys) {
    const values = columns[key];
    if (!values) {
      const entity = view.definition.entities.find((e) => key in e.joinKeys)?.name ?? '';
      throw new OnlineRequestError(
        'MISSING_JOIN_KEY',
        `entities has no "${key}" (join key of entity "${entity}", needed by view "${view.definition.name}"); add "${key}": [...] with one value per row`,
      );
    }
    values.forEach((value, row) => {
      const ok = type === 'string' ? typeof value === 'string' : isInt64(value);
      if (!ok) {
        throw new OnlineRequestError(
          'INVALID_ENTITY_KEY',
          `entities.${key}[${row}] is ${JSON.stringify(value) ?? String(value)}; "${key}" is an ${type === 'string' ? 'string' : 'int64'} join key, so give ${type === 'string' ? 'a string' : 'an integer (or a string of digits beyond 2^53)'}`,
        );
      }
    });
  }
}

function isInt64(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (typeof value !== 'string' || !/^-?\d{1,19}$/.test(value)) return false;
  const integer = BigInt(value);
  return integer >= -(2n ** 63n) && integer < 2n ** 63n;
}

function checkRequestField(
  field: string,
  type: ValueType,
  columns: Readonly<Record<string, readonly unknown[]>>,
  requested: readonly { view: string; feature: string }[],
): void {
  const values = columns[field];
  if (!values) {
    const users = requested.map((r) => `${r.view}:${r.feature}`).join(', ');
    throw new OnlineRequestError(
      'MISSING_REQUEST_FIELD',
      `on-demand features (${users}) need request field "${field}"; add "${field}": [...] to entities or request_context`,
    );
  }
  values.forEach((value, row) => {
    if (value === null) return;
    const ok =
      type === 'int64' || type === 'float64'
        ? typeof value === 'number' && Number.isFinite(value)
        : type === 'bool'
          ? typeof value === 'boolean'
          : typeof value === 'string';
    if (!ok) {
      throw new OnlineRequestError(
        'INVALID_REQUEST_FIELD',
        `request field ${field}[${row}] is ${JSON.stringify(value) ?? String(value)}; it is ${type}, so give ${type === 'int64' || type === 'float64' ? 'a number' : type === 'bool' ? 'true or false' : 'a string'} or null`,
      );
    }
  });
}

function entityKeyOf(
  view: ServedView,
  columns: Readonly<Record<string, readonly unknown[]>>,
  row: number,
): string {
  const keys: Record<string, JoinKeyValue> = {};
  for (const [key, type] of view.joinKeys) {
    const value = columns[key]?.[row];
    keys[key] =
      type === 'string'
        ? String(value)
        : typeof value === 'string' && !Number.isSafeInteger(Number(value))
          ? BigInt(value)
          : Number(value);
  }
  const encoded = encodeEntityKey(keys);
  const bytes = oversizedEntityKey(encoded);
  if (bytes !== undefined) {
    throw new OnlineRequestError(
      'INVALID_VALUE',
      `entities row ${row} (${[...view.joinKeys.keys()].join(', ')}) makes an entity key of ${bytes} bytes; keys hold at most ${MAX_ENTITY_KEY_BYTES} bytes, so send shorter join key values`,
    );
  }
  return encoded;
}

function onDemandValue(
  view: OnDemandFeatureViewDefinition,
  feature: string,
  row: number,
  columns: Readonly<Record<string, readonly unknown[]>>,
  featuresOfRow: (view: string, row: number) => Map<string, ServedFeature> | undefined,
): ServedFeature {
  let eventTs: number | undefined;
  const value = evaluateExpression(view.expressions[feature] as never, {
    feature: (reference) => {
      const input = featuresOfRow(reference.view ?? '', row)?.get(reference.name);
      if (input?.eventTs !== undefined) eventTs = Math.max(eventTs ?? 0, input.eventTs);
      return input?.value ?? null;
    },
    requestField: (name) => (columns[name]?.[row] ?? null) as ExpressionValue,
  });
  return { value, status: value === null ? 'NULL_VALUE' : 'PRESENT', eventTs };
}

function toJsonValue(value: ExpressionValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => (item instanceof Date ? item.toISOString() : item));
  return value;
}
