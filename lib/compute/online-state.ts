import { parseDuration } from '../definitions/duration.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { ValueType } from '../definitions/value-type.js';
import { aggregationWindow, oldestUsefulTile } from './window-kernel.js';

/** A scalar held in online state: numbers, strings, booleans; timestamps as epoch milliseconds. */
export type OnlineScalar = number | string | boolean;

/**
 * Statistics of one column's non-null values inside one hop tile: a numerically stable partial that
 * merges with others (tile-moments.ts), so a window is the merge of its tiles.
 */
export interface TileStats {
  /** Non-null values in the tile. */
  readonly n: number;
  /**
   * Numeric columns only: `d`, the sum of `value - min` (never negative), and `m2`, the sum of squared
   * deviations from the tile's mean. The tile's sum is `n * min + d` and its mean `min + d / n`.
   */
  readonly d?: number;
  readonly m2?: number;
  /** Smallest and largest value; absent when `n` is 0. */
  readonly min?: OnlineScalar;
  readonly max?: OnlineScalar;
}

/** The latest source row of a view with latest-value fields, as of the state's `throughTs`. */
export interface LatestRow {
  /** The row's event time, epoch milliseconds. */
  readonly ts: number;
  /** Field name -> value (null when the row holds none). */
  readonly values: Readonly<Record<string, OnlineScalar | null>>;
}

/**
 * Everything the online store keeps for one (entity, feature view): enough to compute every feature of
 * the view as of any time t >= `throughTs`, by the rules of DESIGN.md section 3, without the source.
 *
 * - `tiles[hopMs][tileIndex][column]`: events with `floor(ts / hopMs) = tileIndex`, only tiles a window
 *   read at or after `throughTs` can reach, only tiles holding events;
 * - `recent[column]`: the newest non-null values, newest first as `[ts, value]`, as many as the largest
 *   last-k asks (1 for a `last` aggregation);
 * - `firstTs`/`lastTs`: the first and last event times, for days since first/last event;
 * - `latest`: the latest row (ties: greatest created time, then values) for latest-value fields.
 */
export interface ViewState {
  /** The greatest event time folded in (epoch ms). Writes compare it: an older state never replaces a newer one. */
  readonly eventTs: number;
  /** The state holds every event before this time and every latest-value row at or before it (epoch ms). */
  readonly throughTs: number;
  readonly firstTs?: number;
  readonly lastTs?: number;
  readonly latest?: LatestRow;
  readonly tiles: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, TileStats>>>>>>;
  readonly recent: Readonly<Record<string, readonly (readonly [number, OnlineScalar])[]>>;
}

/** The tiles kept at one hop: the columns aggregated at it and how far back its longest window reaches. */
export interface HopLayout {
  readonly hopMs: number;
  /** The longest window using this hop; tiles older than `floor(t, hop) - longestWindowMs` are never read. */
  readonly longestWindowMs: number;
  /** Columns aggregated at this hop, with whether they are numeric (so tiles keep sums). */
  readonly columns: readonly { readonly column: string; readonly numeric: boolean }[];
}

/**
 * What a view's online state holds, derived from its definition: the hops and columns of its tiles,
 * the columns with recent values, the latest-value fields, whether it tracks first/last event times.
 * The state SQL, the aggregator and the streaming fold all read this one layout.
 */
export interface OnlineStateLayout {
  readonly hops: readonly HopLayout[];
  /** Column -> how many recent values to keep (the largest last-k, or 1 for a `last` aggregation). */
  readonly recent: readonly { readonly column: string; readonly keep: number }[];
  /** Latest-value field columns. */
  readonly fields: readonly string[];
  /** Whether first and last event times are kept (days since first/last event). */
  readonly recency: boolean;
  /** The view's TTL in milliseconds, when it has one. */
  readonly ttlMs?: number;
  /** Column types of the source, to turn stored scalars back into values (timestamps). */
  readonly columnTypes: Readonly<Record<string, ValueType>>;
}

export function onlineStateLayout(
  view: FeatureViewDefinition,
  features: readonly ResolvedFeature[],
): OnlineStateLayout {
  const schema = view.source.schema as Record<string, ValueType>;
  const hops = new Map<number, { longestWindowMs: number; columns: Set<string> }>();
  const recent = new Map<string, number>();
  const fields: string[] = [];
  let recency = false;
  for (const feature of features) {
    const origin = feature.origin;
    if (origin.kind === 'aggregation') {
      if (origin.function === 'last') {
        recent.set(origin.column, Math.max(recent.get(origin.column) ?? 0, 1));
        continue;
      }
      const { hopMs, windowMs } = aggregationWindow(origin, feature.name);
      const hop = hops.get(hopMs) ?? { longestWindowMs: 0, columns: new Set<string>() };
      hop.longestWindowMs = Math.max(hop.longestWindowMs, windowMs);
      hop.columns.add(origin.column);
      hops.set(hopMs, hop);
    } else if (origin.kind === 'last_k') {
      recent.set(origin.column, Math.max(recent.get(origin.column) ?? 0, origin.k));
    } else if (origin.kind === 'field') fields.push(origin.column);
    else if (origin.kind === 'days_since_first_event' || origin.kind === 'days_since_last_event') {
      recency = true;
    }
  }
  const ttlMs = view.ttl ? parseDuration(view.ttl) : undefined;
  return {
    hops: [...hops.entries()]
      .sort(([a], [b]) => a - b)
      .map(([hopMs, hop]) => ({
        hopMs,
        longestWindowMs: hop.longestWindowMs,
        columns: [...hop.columns].map((column) => ({
          column,
          numeric: schema[column] === 'int64' || schema[column] === 'float64',
        })),
      })),
    recent: [...recent.entries()].map(([column, keep]) => ({ column, keep })),
    fields,
    recency,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    columnTypes: schema,
  };
}

/** The first tile index at `hop` that a read at or after `throughTs` can reach. */
export function oldestUsefulTileOf(hop: HopLayout, throughTs: number): number {
  return oldestUsefulTile(hop.hopMs, hop.longestWindowMs, throughTs);
}

/**
 * How long after an entity's last event its item may be deleted: the TTL, but never before its windows
 * have emptied (the state still answers them until then). Views without a TTL keep items. Every path
 * that writes items (materialization, stream, push) sets this one expiry.
 */
export function expiryAfterLastEvent(layout: OnlineStateLayout): number | undefined {
  if (layout.ttlMs === undefined) return undefined;
  const lookback = Math.max(0, ...layout.hops.map((hop) => hop.longestWindowMs + hop.hopMs));
  return Math.max(layout.ttlMs, lookback);
}

/**
 * A state as stored before tiles kept shifted moments (`s` and `ss`, a plain sum and sum of squares),
 * rewritten to today's `d` and `m2` so items written by an earlier release still read as numbers. Those
 * items carry the old formula's rounding until the view is materialized again.
 */
export function withCurrentTileStats(state: ViewState): ViewState {
  let upgraded = false;
  const tiles: Record<string, Record<string, Record<string, TileStats>>> = {};
  for (const [hop, atHop] of Object.entries(state.tiles)) {
    const hopTiles: Record<string, Record<string, TileStats>> = {};
    for (const [tile, columns] of Object.entries(atHop)) {
      const tileColumns: Record<string, TileStats> = {};
      for (const [column, stats] of Object.entries(columns)) {
        const legacy = stats as TileStats & { s?: number; ss?: number };
        if (legacy.d === undefined && typeof legacy.s === 'number' && typeof legacy.min === 'number') {
          upgraded = true;
          const { s, ss = 0, ...rest } = legacy;
          tileColumns[column] = {
            ...rest,
            d: Math.max(s - legacy.n * legacy.min, 0),
            m2: Math.max(ss - (s * s) / legacy.n, 0),
          };
        } else tileColumns[column] = stats;
      }
      hopTiles[tile] = tileColumns;
    }
    tiles[hop] = hopTiles;
  }
  return upgraded ? { ...state, tiles } : state;
}
