import type { ResolvedFeature } from '../definitions/resolved-features.js';
import { type ExpressionValue, evaluateExpression } from './evaluate-expression.js';
import { compareScalars } from './online-fold.js';
import type { OnlineScalar, OnlineStateLayout, TileStats, ViewState } from './online-state.js';

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
  const merged = new Map<string, TileStats>();
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
        const hopMs = origin.hopMs ?? 1;
        const windowStart = Math.floor(t / hopMs) * hopMs - (origin.windowMs ?? 0);
        if (origin.function === 'last') {
          const newest = (state.recent[origin.column] ?? []).find(([ts]) => ts < t);
          const value = newest && newest[0] >= windowStart ? newest[1] : null;
          served.set(feature.name, present(asValue(origin.column, value)));
          break;
        }
        // Functions over one (hop, window, column) share one merge of its tiles.
        const mergeKey = `${hopMs}:${windowStart}:${origin.column}`;
        let stats = merged.get(mergeKey);
        if (!stats) {
          stats = windowStats(state, hopMs, windowStart, t, origin.column);
          merged.set(mergeKey, stats);
        }
        served.set(feature.name, present(aggregate(origin.function, stats, origin.column, asValue)));
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

/** One column's stats over the tiles of [windowStart, t): whole tiles plus t's own tile. */
function windowStats(
  state: ViewState,
  hopMs: number,
  windowStart: number,
  t: number,
  column: string,
): TileStats {
  const tiles = state.tiles[String(hopMs)] ?? {};
  const first = windowStart / hopMs;
  const last = Math.floor(t / hopMs);
  let n = 0;
  let s = 0;
  let ss = 0;
  let min: OnlineScalar | undefined;
  let max: OnlineScalar | undefined;
  // Sparse tiles: walk the stored ones rather than every index of a long window.
  for (const index in tiles) {
    const tile = Number(index);
    if (tile < first || tile > last) continue;
    const stats = tiles[index]?.[column];
    if (!stats || stats.n === 0) continue;
    n += stats.n;
    s += stats.s ?? 0;
    ss += stats.ss ?? 0;
    if (stats.min !== undefined && (min === undefined || compareScalars(stats.min, min) < 0)) min = stats.min;
    if (stats.max !== undefined && (max === undefined || compareScalars(stats.max, max) > 0)) max = stats.max;
  }
  return { n, s, ss, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

function aggregate(
  fn: string,
  stats: TileStats,
  column: string,
  asValue: (column: string, scalar: OnlineScalar | null | undefined) => OnlineValue,
): OnlineValue {
  const n = stats.n;
  const s = stats.s ?? 0;
  switch (fn) {
    case 'count':
      return n;
    case 'sum':
      return s;
    case 'mean':
      return n > 0 ? s / n : null;
    case 'variance':
    case 'stddev': {
      if (n < 2) return null;
      const variance = Math.max(((stats.ss ?? 0) - (s * s) / n) / (n - 1), 0);
      return fn === 'variance' ? variance : Math.sqrt(variance);
    }
    case 'min':
      return asValue(column, stats.min);
    case 'max':
      return asValue(column, stats.max);
    default:
      return null;
  }
}
