import type { ResolvedFeature } from '../definitions/resolved-features.js';
import { type ExpressionValue, evaluateExpression } from './evaluate-expression.js';
import type { OnlineScalar, OnlineStateLayout, ViewState } from './online-state.js';
import { AggregateOverflowError, type WindowMoments, WindowMomentsAccumulator } from './tile-moments.js';
import { type AggregationWindow, aggregationWindow, windowStart, windowTiles } from './window-kernel.js';

const DAY_MS = 86_400_000;

/** How a served value came to be, as Feast's feature server reports it. */
export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'NULL_VALUE' | 'OUTSIDE_MAX_AGE';

/** A feature value online: numbers, strings, booleans, Dates for timestamps, lists, or null. */
export type OnlineValue = ExpressionValue;

export interface ServedFeature {
  readonly value: OnlineValue;
  readonly status: FeatureStatus;
  /** The event time the value is as of (epoch ms); undefined when nothing was found. */
  readonly eventTs: number | undefined;
}

/**
 * A view's features as of time `t` from its online state, by the rules of DESIGN.md section 3: a window
 * W with hop H covers the events with floor(t, H) - W <= ts < t, assembled from the state's hop tiles;
 * last-k and `last` from the recent values before t; latest-value fields outside the TTL come back
 * OUTSIDE_MAX_AGE; derived features are evaluated over the others. The online read path and the
 * streaming path both compute values with this one function.
 *
 * Exact for `t >= state.throughTs` (the state cannot tell apart events before and after an earlier t).
 */
export function viewFeaturesAt(
  features: readonly ResolvedFeature[],
  layout: OnlineStateLayout,
  state: ViewState | undefined,
  t: number,
): Map<string, ServedFeature> {
  if (!state) {
    // An entity the store has never seen has had no events: its values are those of no events (count 0,
    // an empty last-k), exactly what training sees for it, and every status says NOT_FOUND.
    const empty = viewFeaturesAt(features, layout, { eventTs: 0, throughTs: t, tiles: {}, recent: {} }, t);
    return new Map(
      [...empty].map(([name, feature]) => [
        name,
        { value: feature.value, status: 'NOT_FOUND', eventTs: undefined },
      ]),
    );
  }
  const served = new Map<string, ServedFeature>();
  const merged = new Map<string, WindowMoments>();
  const eventTs = state.eventTs;
  const present = (value: OnlineValue): ServedFeature => ({
    value,
    status: value === null ? 'NULL_VALUE' : 'PRESENT',
    eventTs,
  });
  const asValue = (column: string, scalar: OnlineScalar | null | undefined): OnlineValue => {
    if (scalar === null || scalar === undefined) return null;
    return layout.columnTypes[column] === 'timestamp' ? new Date(Number(scalar)) : scalar;
  };

  const derived: ResolvedFeature[] = [];
  for (const feature of features) {
    const origin = feature.origin;
    switch (origin.kind) {
      case 'field': {
        const latest = state.latest;
        if (!latest) served.set(feature.name, { value: null, status: 'NOT_FOUND', eventTs: undefined });
        else if (layout.ttlMs !== undefined && latest.ts < t - layout.ttlMs) {
          served.set(feature.name, { value: null, status: 'OUTSIDE_MAX_AGE', eventTs: latest.ts });
        } else {
          served.set(feature.name, {
            ...present(asValue(origin.column, latest.values[origin.column])),
            eventTs: latest.ts,
          });
        }
        break;
      }
      case 'aggregation': {
        const window = aggregationWindow(origin, feature.name);
        if (origin.function === 'last') {
          const newest = (state.recent[origin.column] ?? []).find(([ts]) => ts < t);
          const value = newest && newest[0] >= windowStart(t, window) ? newest[1] : null;
          served.set(feature.name, present(asValue(origin.column, value)));
          break;
        }
        // Functions over one (hop, window, column) share one merge of its tiles.
        const mergeKey = `${window.hopMs}:${window.windowMs}:${origin.column}`;
        let moments = merged.get(mergeKey);
        if (!moments) {
          moments = windowMoments(state, window, t, origin.column);
          merged.set(mergeKey, moments);
        }
        const value = aggregate(origin.function, moments, origin.column, asValue);
        if (typeof value === 'number' && !Number.isFinite(value)) {
          throw new AggregateOverflowError(feature.name, origin.column);
        }
        served.set(feature.name, present(value));
        break;
      }
      case 'last_k': {
        const values = (state.recent[origin.column] ?? [])
          .filter(([ts]) => ts < t)
          .slice(0, origin.k)
          .map(([, value]) => asValue(origin.column, value));
        served.set(feature.name, present(values));
        break;
      }
      case 'days_since_first_event':
      case 'days_since_last_event': {
        const from = origin.kind === 'days_since_first_event' ? state.firstTs : state.lastTs;
        served.set(feature.name, present(from === undefined || from >= t ? null : (t - from) / DAY_MS));
        break;
      }
      case 'derived':
        derived.push(feature);
        break;
    }
  }
  // Derived features read the values as served (a field outside its TTL reads as null), in order, so
  // one derived feature may use an earlier one.
  for (const feature of derived) {
    if (feature.origin.kind !== 'derived') continue;
    const value = evaluateExpression(feature.origin.expression, {
      feature: (reference) => served.get(reference.name)?.value ?? null,
      requestField: () => null,
    });
    served.set(feature.name, present(value));
  }
  return served;
}

/** One column's moments over the window read at t: its whole tiles plus t's own tile, in tile order. */
function windowMoments(
  state: ViewState,
  window: AggregationWindow,
  t: number,
  column: string,
): WindowMoments {
  const tiles = state.tiles[String(window.hopMs)] ?? {};
  const { first, last } = windowTiles(t, window);
  // Sparse tiles: walk the stored ones rather than every index of a long window, in tile order so the
  // merge (and its rounding) is the same whichever path wrote the state.
  const indexes = Object.keys(tiles)
    .map(Number)
    .filter((tile) => tile >= first && tile <= last)
    .sort((a, b) => a - b);
  const accumulator = new WindowMomentsAccumulator();
  for (const tile of indexes) {
    const stats = tiles[String(tile)]?.[column];
    if (stats) accumulator.add(stats);
  }
  return accumulator.result();
}

function aggregate(
  fn: string,
  moments: WindowMoments,
  column: string,
  asValue: (column: string, scalar: OnlineScalar | null | undefined) => OnlineValue,
): OnlineValue {
  const n = moments.n;
  switch (fn) {
    case 'count':
      return n;
    case 'sum':
      return moments.sum ?? 0;
    case 'mean':
      return n > 0 ? (moments.mean ?? null) : null;
    case 'variance':
    case 'stddev': {
      if (n < 2 || moments.m2 === undefined) return null;
      const variance = Math.max(moments.m2 / (n - 1), 0);
      return fn === 'variance' ? variance : Math.sqrt(variance);
    }
    case 'min':
      return asValue(column, moments.min);
    case 'max':
      return asValue(column, moments.max);
    default:
      return null;
  }
}

/**
 * Throws `AggregateOverflowError` when a window value the state serves at its `throughTs` is beyond
 * float64's range, so an overflowing sum is refused where it is written, never served as Infinity. A
 * cheap bound over all tiles settles almost every state; only a state near the range is read in full.
 */
export function assertAggregatesInRange(
  features: readonly ResolvedFeature[],
  layout: OnlineStateLayout,
  state: ViewState,
): void {
  let bound = 0;
  for (const atHop of Object.values(state.tiles)) {
    for (const columns of Object.values(atHop)) {
      for (const stats of Object.values(columns)) {
        if (stats.d !== undefined) bound += Math.abs(stats.n * Number(stats.min)) + stats.d + (stats.m2 ?? 0);
      }
    }
  }
  if (Number.isFinite(bound)) return;
  viewFeaturesAt(features, layout, state, state.throughTs);
}
