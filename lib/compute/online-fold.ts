import {
  type LatestRow,
  type OnlineScalar,
  type OnlineStateLayout,
  oldestUsefulTileOf,
  type TileStats,
  type ViewState,
} from './online-state.js';
import { addValueToTile, compareScalars, mergeTileStats } from './tile-moments.js';
import { tileOf } from './window-kernel.js';

/** One source row of one entity, as the online path sees it: times in epoch milliseconds. */
export interface SourceEvent {
  readonly ts: number;
  /** The row's created time, when the source has one (breaks ties between rows of equal time). */
  readonly created?: number;
  /** Column -> value; timestamps as epoch milliseconds. */
  readonly values: Readonly<Record<string, OnlineScalar | null>>;
}

/**
 * The state of one entity built from its events in plain TypeScript: the events before `throughTs`
 * fill tiles, recent values and first/last times; the rows at or before it give the latest row and
 * the event time. Undefined when no row is at or before `throughTs`. The offline state SQL must give
 * exactly this (tests compare them), and the streaming path folds events the same way.
 */
export function stateFromEvents(
  layout: OnlineStateLayout,
  events: readonly SourceEvent[],
  throughTs: number,
): ViewState | undefined {
  const rows = events.filter((event) => event.ts <= throughTs);
  if (rows.length === 0) return undefined;
  const before = rows.filter((event) => event.ts < throughTs);

  const tiles = tilesWith(layout, undefined, before, throughTs);
  const recent = recentWith(layout, undefined, before);

  let latest: SourceEvent | undefined;
  if (layout.fields.length > 0) {
    for (const row of rows) {
      if (!latest || compareRows(row, latest, layout.fields) > 0) latest = row;
    }
  }
  const times = before.map((event) => event.ts);
  return {
    eventTs: Math.max(...rows.map((row) => row.ts)),
    throughTs,
    ...(layout.recency && times.length > 0
      ? { firstTs: Math.min(...times), lastTs: Math.max(...times) }
      : {}),
    ...(latest ? { latest: latestRow(layout, latest) } : {}),
    tiles,
    recent,
  };
}

/** The state's tiles (if any) plus the events', keeping only tiles a read at or after `throughTs` can reach. */
function tilesWith(
  layout: OnlineStateLayout,
  state: ViewState | undefined,
  events: readonly SourceEvent[],
  throughTs: number,
): Record<string, Record<string, Record<string, TileStats>>> {
  const tiles: Record<string, Record<string, Record<string, TileStats>>> = {};
  for (const hop of layout.hops) {
    const oldest = oldestUsefulTileOf(hop, throughTs);
    const atHop: Record<string, Record<string, TileStats>> = {};
    for (const [tile, columns] of Object.entries(state?.tiles[String(hop.hopMs)] ?? {})) {
      if (Number(tile) >= oldest) atHop[tile] = { ...columns };
    }
    for (const event of events) {
      const tile = tileOf(event.ts, hop.hopMs);
      if (tile < oldest) continue;
      for (const { column, numeric } of hop.columns) {
        const value = event.values[column];
        if (value === null || value === undefined) continue;
        const stats = atHop[String(tile)] ?? {};
        stats[column] = addValueToTile(stats[column], value, numeric);
        atHop[String(tile)] = stats;
      }
    }
    tiles[String(hop.hopMs)] = atHop;
  }
  return tiles;
}

/** The newest values per column among the state's and the events', newest first, ties to the larger value. */
function recentWith(
  layout: OnlineStateLayout,
  state: ViewState | undefined,
  events: readonly SourceEvent[],
): Record<string, [number, OnlineScalar][]> {
  const recent: Record<string, [number, OnlineScalar][]> = {};
  for (const { column, keep } of layout.recent) {
    const added = events.flatMap((event): [number, OnlineScalar][] => {
      const value = event.values[column];
      return value === null || value === undefined ? [] : [[event.ts, value]];
    });
    const kept = (state?.recent[column] ?? []).map(([ts, value]): [number, OnlineScalar] => [ts, value]);
    recent[column] = [...kept, ...added]
      .sort((a, b) => b[0] - a[0] || compareScalars(b[1], a[1]))
      .slice(0, keep);
  }
  return recent;
}

/** The fields of the row kept for latest-value features, a missing one as null. */
function latestRow(layout: OnlineStateLayout, row: SourceEvent): LatestRow {
  return {
    ts: row.ts,
    values: Object.fromEntries(layout.fields.map((field) => [field, row.values[field] ?? null])),
  };
}

/** Which row is later for latest-value fields: time, then created time, then the values, nulls first. */
function compareRows(a: SourceEvent, b: SourceEvent, fields: readonly string[]): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  const created = compareNullable(a.created ?? null, b.created ?? null);
  if (created !== 0) return created;
  for (const field of fields) {
    const order = compareNullable(a.values[field] ?? null, b.values[field] ?? null);
    if (order !== 0) return order;
  }
  return 0;
}

function compareNullable(a: OnlineScalar | null, b: OnlineScalar | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareScalars(a, b);
}

/**
 * Adds events to a state, as a push or a stream delivers them: tiles grow, recent values and the latest
 * row are kept if newer, and the state then holds every event before the newest one plus 1 ms. Folding
 * events in several batches gives the state `stateFromEvents` gives for all of them at once (a row tied
 * in time with the stored latest row, whose created time the state does not keep, wins on its values).
 */
export function foldEvents(
  layout: OnlineStateLayout,
  state: ViewState | undefined,
  events: readonly SourceEvent[],
): ViewState | undefined {
  if (events.length === 0) return state;
  const newest = Math.max(...events.map((event) => event.ts));
  const throughTs = Math.max(state?.throughTs ?? Number.NEGATIVE_INFINITY, newest + 1);

  const tiles = tilesWith(layout, state, events, throughTs);
  const recent = recentWith(layout, state, events);

  let latest: SourceEvent | undefined = state?.latest
    ? { ts: state.latest.ts, values: state.latest.values }
    : undefined;
  if (layout.fields.length > 0) {
    for (const event of events) {
      if (!latest || compareRows(event, latest, layout.fields) >= 0) latest = event;
    }
  }
  const times = events.map((event) => event.ts);
  const firstTs = Math.min(state?.firstTs ?? Number.POSITIVE_INFINITY, ...times);
  const lastTs = Math.max(state?.lastTs ?? Number.NEGATIVE_INFINITY, ...times);
  return {
    eventTs: Math.max(state?.eventTs ?? Number.NEGATIVE_INFINITY, newest),
    throughTs,
    ...(layout.recency ? { firstTs, lastTs } : {}),
    ...(latest ? { latest: latestRow(layout, latest) } : {}),
    tiles,
    recent,
  };
}

/**
 * Two states of one entity over disjoint events merged into one: the batch part materialization writes
 * and the stream part the stream folds (they never hold the same event). Tiles add up (min and max
 * combine), recent values and the latest row keep the newest, first and last times widen. The result
 * holds every event before the later `throughTs`, so it is exact for reads at or after it.
 */
export function mergeStates(
  layout: OnlineStateLayout,
  a: ViewState | undefined,
  b: ViewState | undefined,
): ViewState | undefined {
  if (!a || !b) return a ?? b;
  const throughTs = Math.max(a.throughTs, b.throughTs);
  const tiles: Record<string, Record<string, Record<string, TileStats>>> = {};
  for (const hop of layout.hops) {
    const oldest = oldestUsefulTileOf(hop, throughTs);
    const atHop: Record<string, Record<string, TileStats>> = {};
    for (const part of [a, b]) {
      for (const [tile, columns] of Object.entries(part.tiles[String(hop.hopMs)] ?? {})) {
        if (Number(tile) < oldest) continue;
        const merged = { ...(atHop[tile] ?? {}) };
        for (const [column, stats] of Object.entries(columns)) {
          const combined = mergeTileStats(merged[column], stats);
          if (combined) merged[column] = combined;
        }
        atHop[tile] = merged;
      }
    }
    tiles[String(hop.hopMs)] = atHop;
  }
  const recent: Record<string, [number, OnlineScalar][]> = {};
  for (const { column, keep } of layout.recent) {
    recent[column] = [...(a.recent[column] ?? []), ...(b.recent[column] ?? [])]
      .map(([ts, value]): [number, OnlineScalar] => [ts, value])
      .sort((x, y) => y[0] - x[0] || compareScalars(y[1], x[1]))
      .slice(0, keep);
  }
  const latest =
    a.latest && b.latest
      ? compareRows(a.latest, b.latest, layout.fields) >= 0
        ? a.latest
        : b.latest
      : (a.latest ?? b.latest);
  const firsts = [a.firstTs, b.firstTs].filter((ts): ts is number => ts !== undefined);
  const lasts = [a.lastTs, b.lastTs].filter((ts): ts is number => ts !== undefined);
  return {
    eventTs: Math.max(a.eventTs, b.eventTs),
    throughTs,
    ...(firsts.length > 0 ? { firstTs: Math.min(...firsts) } : {}),
    ...(lasts.length > 0 ? { lastTs: Math.max(...lasts) } : {}),
    ...(latest ? { latest } : {}),
    tiles,
    recent,
  };
}
