import { randomUUID } from 'node:crypto';
import { foldEvents, type SourceEvent } from '../compute/online-fold.js';
import type { OnlineScalar } from '../compute/online-state.js';
import { expiryAfterLastEvent } from '../compute/online-state.js';
import { sourceValue } from '../compute/source-values.js';
import { closestName } from '../definitions/closest-name.js';
import type { SourceDefinition } from '../definitions/sources.js';
import type { ValueType } from '../definitions/value-type.js';
import type { ObjectStore } from '../stores/object-store.js';
import { MAX_ENTITY_KEY_BYTES, oversizedEntityKey } from '../stores/online-entity-key.js';
import type { OnlineItemKey, OnlineStore } from '../stores/online-store.js';
import { landRawRows, OFFLINE_PUSH_ID_PREFIX, ONLINE_PUSH_ID_PREFIX } from '../stores/raw-landing.js';
import { OnlineRequestError } from './get-online-features.js';
import type { OnlineWriteRequest, PushRequest, PushResult } from './push-request.js';
import { type ServedView, type ServingCatalog, viewEntityKey } from './serving-catalog.js';

export interface PushEventsOptions {
  readonly catalog: ServingCatalog;
  readonly onlineStore: OnlineStore;
  /** Where `offline` pushes land as Parquet (`raw/<source>/dt=<day>/push-<id>.parquet`); without it they are refused. */
  readonly offlineStore?: ObjectStore;
  readonly request: PushRequest;
  /** Rows per push. @default 1000 */
  readonly maxRows?: number;
}

/**
 * Takes rows of a source as they happen: online, each (entity, view) state reading that source folds
 * them in (windows, last-k, latest values) by a conditional read-modify-write, so concurrent pushes lose
 * nothing; offline, they land as Parquet in the source's raw area, one file per day. Every row is
 * checked against the source's schema first, so a bad row stores nothing.
 */
export async function pushEvents(options: PushEventsOptions): Promise<PushResult> {
  const { catalog, request } = options;
  const to = request.to ?? 'online';
  const { source, views } = pushTargets(catalog, request, to);
  const rows = parseRows(source, request.df, options.maxRows ?? 1_000);
  // Every row's entity key for every view is checked before anything lands, so a refused push stores nothing.
  for (const view of views) for (const row of rows) entityKeyOfRow(view, row);
  let onlineItems = 0;
  let offlineRows = 0;
  if (to === 'offline' || to === 'online_and_offline') {
    if (!options.offlineStore) {
      throw new OnlineRequestError(
        'OFFLINE_PUSH_UNAVAILABLE',
        'this server has no offline store to push to; push with "to": "online"',
      );
    }
    offlineRows = await landRows(options.offlineStore, source, rows, to === 'online_and_offline');
  }
  if (to === 'online' || to === 'online_and_offline') {
    for (const view of views) onlineItems += await foldIntoView(options.onlineStore, view, rows);
  }
  return { rows: rows.length, onlineItems, offlineRows };
}

type Row = { readonly ts: number; readonly values: Record<string, OnlineScalar | null> };

function pushTargets(
  catalog: ServingCatalog,
  request: PushRequest,
  to: string,
): { source: SourceDefinition; views: ServedView[] } {
  if ((request.pushSourceName === undefined) === (request.featureView === undefined)) {
    throw new OnlineRequestError(
      'INVALID_REQUEST',
      'give either "push_source_name" or "feature_view", not both or neither',
    );
  }
  const online = to !== 'offline';
  if (request.featureView !== undefined) {
    const view = catalog.views.get(request.featureView);
    if (!view) {
      const suggestion = closestName(request.featureView, catalog.views.keys());
      throw new OnlineRequestError(
        'UNKNOWN_FEATURE_VIEW',
        `there is no feature view "${request.featureView}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      );
    }
    if (online && !view.definition.online) {
      throw new OnlineRequestError(
        'NOT_SERVED_ONLINE',
        `feature view "${view.definition.name}" is not served online (online: false)`,
      );
    }
    return { source: view.definition.source, views: online ? [view] : [] };
  }
  const sources = catalog.validated.repo.sources;
  const source = sources.find((candidate) => candidate.name === request.pushSourceName);
  if (!source) {
    const suggestion = closestName(
      request.pushSourceName ?? '',
      sources.map((s) => s.name),
    );
    throw new OnlineRequestError(
      'UNKNOWN_SOURCE',
      `there is no source "${request.pushSourceName}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    );
  }
  const readsSource = (view: ServedView) =>
    view.definition.source.name === source.name ||
    (view.definition.source.kind === 'kinesis_source' &&
      view.definition.source.batchSource.name === source.name);
  return {
    source,
    views: online
      ? [...catalog.views.values()].filter((view) => view.definition.online && readsSource(view))
      : [],
  };
}

function parseRows(
  source: SourceDefinition,
  df: Readonly<Record<string, readonly unknown[]>>,
  maxRows: number,
): Row[] {
  const schema = source.schema as Record<string, ValueType>;
  const columns = Object.keys(df);
  const unknown = columns.filter((column) => !(column in schema));
  if (unknown.length > 0) {
    throw new OnlineRequestError(
      'UNKNOWN_COLUMN',
      `df has columns source "${source.name}" does not: ${unknown.join(', ')}; its columns are ${Object.keys(schema).join(', ')}`,
    );
  }
  if (!(source.timestampField in df)) {
    throw new OnlineRequestError(
      'MISSING_COLUMN',
      `df has no "${source.timestampField}", the event time of source "${source.name}"; add it`,
    );
  }
  const lengths = new Set(columns.map((column) => (Array.isArray(df[column]) ? df[column].length : -1)));
  if (lengths.has(-1) || lengths.size !== 1) {
    throw new OnlineRequestError(
      'INVALID_REQUEST',
      'df columns must be lists of one length, one value per row',
    );
  }
  const count = [...lengths][0] ?? 0;
  if (count === 0) throw new OnlineRequestError('INVALID_REQUEST', 'df holds no rows');
  if (count > maxRows) {
    throw new OnlineRequestError(
      'TOO_MANY_ROWS',
      `df holds ${count} rows; at most ${maxRows} are allowed per push, so split it`,
    );
  }
  return Array.from({ length: count }, (_, row) => {
    const values: Record<string, OnlineScalar | null> = {};
    for (const column of columns) {
      values[column] = typedValue(column, row, schema[column] as ValueType, df[column]?.[row]);
    }
    const ts = values[source.timestampField];
    if (typeof ts !== 'number') {
      throw new OnlineRequestError(
        'INVALID_VALUE',
        `df.${source.timestampField}[${row}] is empty; every row needs its event time`,
      );
    }
    return { ts, values };
  });
}

function typedValue(column: string, row: number, type: ValueType, value: unknown): OnlineScalar | null {
  const parsed = sourceValue(type, value);
  if ('value' in parsed) return parsed.value;
  throw new OnlineRequestError(
    'INVALID_VALUE',
    `df.${column}[${row}] is ${JSON.stringify(value) ?? String(value)}; column "${column}" is ${type}, so give ${parsed.expected} or null`,
  );
}

async function foldIntoView(store: OnlineStore, view: ServedView, rows: readonly Row[]): Promise<number> {
  const byEntity = new Map<string, { key: OnlineItemKey; events: SourceEvent[] }>();
  for (const row of rows) {
    const entityKey = entityKeyOfRow(view, row);
    const entry = byEntity.get(entityKey) ?? {
      // A view reading a stream takes pushes in its stream part, which materialization never rewrites.
      key: {
        entityKey,
        view: view.definition.name,
        version: view.version,
        ...(view.streamFed ? { part: 'stream' as const } : {}),
      },
      events: [],
    };
    entry.events.push({ ts: row.ts, values: row.values });
    byEntity.set(entityKey, entry);
  }
  const expiry = expiryAfterLastEvent(view.layout);
  const { updated } = await store.update(
    [...byEntity.values()].map((entry) => entry.key),
    (key, current) => {
      const state = foldEvents(view.layout, current?.state, byEntity.get(key.entityKey)?.events ?? []);
      if (!state) return undefined;
      return { ...key, state, ...(expiry === undefined ? {} : { expiresAtMs: state.eventTs + expiry }) };
    },
  );
  return updated;
}

/** A pushed row's entity key for a view, or the request's error: a missing join key, or a key too long to store. */
function entityKeyOfRow(view: ServedView, row: Row): string {
  for (const name of view.joinKeys.keys()) {
    const value = row.values[name];
    if (value === null || value === undefined) {
      throw new OnlineRequestError(
        'MISSING_JOIN_KEY',
        `a pushed row has no "${name}", the join key view "${view.definition.name}" needs`,
      );
    }
  }
  const entityKey = viewEntityKey(view, row.values);
  const bytes = oversizedEntityKey(entityKey);
  if (bytes !== undefined) {
    throw new OnlineRequestError(
      'INVALID_VALUE',
      `a pushed row's join keys (${[...view.joinKeys.keys()].join(', ')}) make an entity key of ${bytes} bytes; keys hold at most ${MAX_ENTITY_KEY_BYTES} bytes, so send shorter values`,
    );
  }
  return entityKey;
}

/**
 * One Parquet file per UTC day of the rows, under the raw area of the source's batch source. Rows pushed
 * online too are named `push-online-<id>:<row>`, so the batch part of a view reading a stream, which
 * holds them in its stream part already, leaves them out.
 */
async function landRows(
  store: ObjectStore,
  source: SourceDefinition,
  rows: readonly Row[],
  alsoOnline: boolean,
): Promise<number> {
  const pushId = `${alsoOnline ? ONLINE_PUSH_ID_PREFIX : OFFLINE_PUSH_ID_PREFIX}${randomUUID()}`;
  await landRawRows(
    store,
    source.kind === 'kinesis_source' ? source.batchSource : source,
    rows.map((row, index) => ({ ts: row.ts, values: row.values, recordId: `${pushId}:${index}` })),
    pushId,
  );
  return rows.length;
}

/**
 * Columns Feast's clients send beside a view's rows that fstore does not keep: the created time of each row
 * (`created` from Feast's remote online store, `infra/online_stores/remote.py` line 281; `created_timestamp`
 * in Feast's tests), unless the source declares a column of that name.
 */
const FEAST_CREATED_COLUMNS = ['created', 'created_timestamp'];

/**
 * A Feast `write-to-online-store` request as the push it amounts to. Feast writes a view's feature values
 * as they are; fstore computes every value from source rows, so only a view whose features are the latest
 * values of source columns (`fields`, and derived features of them) can take such rows: they are its
 * source rows, pushed to that view alone. The event time may come as Feast's `event_timestamp` for a source
 * whose timestamp column is named otherwise; a derived feature's column is left out (it is computed from
 * the fields); Feast's created time is left out unless the source has such a column. A view computed
 * from events (windows, last-k, days since) is refused with `NOT_WRITABLE`, naming its source to push to.
 */
export function onlineWriteAsPush(catalog: ServingCatalog, request: OnlineWriteRequest): PushRequest {
  const view = catalog.views.get(request.featureViewName);
  if (!view) {
    const suggestion = closestName(request.featureViewName, catalog.views.keys());
    throw new OnlineRequestError(
      'UNKNOWN_FEATURE_VIEW',
      `there is no feature view "${request.featureViewName}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    );
  }
  const name = view.definition.name;
  const source = view.definition.source;
  const computed = view.features.filter(
    (feature) => feature.origin.kind !== 'field' && feature.origin.kind !== 'derived',
  );
  if (computed.length > 0) {
    const listed = computed.slice(0, 5).map((feature) => feature.name);
    throw new OnlineRequestError(
      'NOT_WRITABLE',
      `feature view "${name}" computes ${listed.join(', ')}${computed.length > 5 ? ', ...' : ''} from the events of source "${source.name}", so its values cannot be written as they are; push the source rows instead: POST /push with {"push_source_name": "${source.name}", "df": {...}}`,
    );
  }
  const schema = source.schema as Record<string, ValueType>;
  const columnOf = new Map<string, string>();
  for (const feature of view.features) {
    if (feature.origin.kind === 'field') columnOf.set(feature.name, feature.origin.column);
  }
  const derived = new Set(
    view.features.filter((feature) => feature.origin.kind === 'derived').map((feature) => feature.name),
  );
  const df: Record<string, readonly unknown[]> = {};
  for (const [column, values] of Object.entries(request.df)) {
    if (derived.has(column) && !(column in schema)) continue;
    if (FEAST_CREATED_COLUMNS.includes(column) && !(column in schema)) continue;
    const target =
      column === 'event_timestamp' && !(column in schema) && !(source.timestampField in request.df)
        ? source.timestampField
        : (columnOf.get(column) ?? column);
    df[target] = values;
  }
  return { featureView: name, df, to: 'online' };
}
