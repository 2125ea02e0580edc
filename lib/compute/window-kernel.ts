import type { FeatureOrigin } from '../definitions/resolved-features.js';
import { FstoreError } from '../errors.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * The one window rule of DESIGN.md section 3, as small pure functions that every path calls or is
 * generated from: the DuckDB and Trino feature SQL, the state SQL, and the TypeScript fold and read.
 *
 * A window W with hop H read as of t covers the events e with `floor(t, H) - W <= e.ts < t`. Events
 * fall into hop tiles `floor(ts / H)`; the window is the complete tiles `[tile(t) - W/H, tile(t))`
 * plus the events of t's own tile that are before t.
 */

/** A validated aggregation's window: both lengths known, the hop positive and dividing the window. */
export interface AggregationWindow {
  readonly windowMs: number;
  readonly hopMs: number;
}

/** An aggregation reached compute without a valid window: the repo was not validated first. */
export class InvalidAggregationWindowError extends FstoreError {
  override readonly name = 'InvalidAggregationWindowError';
}

type AggregationOrigin = Extract<FeatureOrigin, { kind: 'aggregation' }>;

/**
 * The window of a validated aggregation. Validation refuses windows and hops that do not parse, a hop
 * that is not positive and a hop that does not divide its window, so compute never guesses a default.
 */
export function aggregationWindow(origin: AggregationOrigin, featureName: string): AggregationWindow {
  const { windowMs, hopMs } = origin;
  if (
    windowMs === undefined ||
    hopMs === undefined ||
    !Number.isInteger(windowMs) ||
    !Number.isInteger(hopMs) ||
    windowMs <= 0 ||
    hopMs <= 0 ||
    windowMs % hopMs !== 0
  ) {
    throw new InvalidAggregationWindowError(
      `feature "${featureName}" has window "${origin.window}" (${String(windowMs)} ms) and hop ${String(hopMs)} ms, which is not a valid window; validate the feature repo (fstore plan) and fix the window or hop it names`,
    );
  }
  return { windowMs, hopMs };
}

/** The hop tile holding time `ts` (epoch ms): `floor(ts / H)`, also for times before 1970. */
export function tileOf(ts: number, hopMs: number): number {
  return Math.floor(ts / hopMs);
}

/** How many tiles a window spans: `W / H`. */
export function tilesPerWindow(window: AggregationWindow): number {
  return window.windowMs / window.hopMs;
}

/** The first instant a read at `t` counts: `floor(t, H) - W`. */
export function windowStart(t: number, window: AggregationWindow): number {
  return tileOf(t, window.hopMs) * window.hopMs - window.windowMs;
}

/**
 * The tiles a read at `t` takes, first to last: `first` to `last - 1` whole, and `last` (t's own tile)
 * only for its events before t.
 */
export function windowTiles(t: number, window: AggregationWindow): { first: number; last: number } {
  const last = tileOf(t, window.hopMs);
  return { first: last - tilesPerWindow(window), last };
}

/**
 * The first tile at hop `hopMs` that a read at or after `throughTs` can reach, for windows up to
 * `longestWindowMs`: older tiles are never read again, so a state need not keep them.
 */
export function oldestUsefulTile(hopMs: number, longestWindowMs: number, throughTs: number): number {
  return tileOf(throughTs, hopMs) - longestWindowMs / hopMs;
}

/** How far before a read time an event can still count: `W + H` (the window's longest span). */
export function windowLookbackMs(window: AggregationWindow): number {
  return window.windowMs + window.hopMs;
}

/** `tileOf` in SQL, for a BIGINT epoch-ms expression. */
export function tileOfSql(tsSql: string, hopMs: number, dialect: SqlDialect): string {
  return dialect.floorDiv(tsSql, hopMs);
}

/** `windowStart` in SQL, for a BIGINT epoch-ms expression. */
export function windowStartSql(tsSql: string, window: AggregationWindow, dialect: SqlDialect): string {
  return `((${tileOfSql(tsSql, window.hopMs, dialect)} - ${tilesPerWindow(window)}) * ${window.hopMs})`;
}
