import { FstoreError } from '../errors.js';
import type { OnlineScalar, TileStats } from './online-state.js';

/**
 * Numerically stable, mergeable partial aggregates: the one algorithm behind every window value online.
 *
 * A numeric tile keeps its count `n`, its `min` and `max`, `d`, the sum of `value - min` (never negative),
 * and `m2`, the sum of squared deviations from the tile's mean. Shifting by the tile's minimum keeps the
 * numbers near the data's spread rather than its magnitude: values near 1e8 with a spread of 0.1 give
 * deviations near 0.1, computed without cancellation, where the textbook `(ss - s*s/n) / (n - 1)` keeps
 * nothing. Values are added one at a time with Welford's update and tiles are merged with the pairwise
 * formula of Chan, Golub and LeVeque, both in the shifted coordinates; a window's `d` adds up its tiles'
 * with Neumaier's compensated summation. The state SQL computes the same (n, min, max, d, m2) per tile.
 */

/** A window's sum or sum of squared deviations left float64's range: an error, never a silent Infinity. */
export class AggregateOverflowError extends FstoreError {
  override readonly name = 'AggregateOverflowError';
  constructor(
    /** The feature whose value overflowed. */
    readonly feature: string,
    /** The source column it aggregates. */
    readonly column: string,
  ) {
    super(
      `feature "${feature}" (over column "${column}") is beyond float64's range (about ±1.8e308): its sum or sum of squares overflowed; scale the column down in the source (for example to thousands) or aggregate a smaller window`,
    );
  }
}

/** A tile's stats with one more non-null value. Only numeric columns keep `d` and `m2`. */
export function addValueToTile(
  stats: TileStats | undefined,
  value: OnlineScalar,
  numeric: boolean,
): TileStats {
  if (!numeric) {
    if (!stats) return { n: 1, min: value, max: value };
    return {
      n: stats.n + 1,
      min: compareScalars(value, stats.min ?? value) < 0 ? value : (stats.min ?? value),
      max: compareScalars(value, stats.max ?? value) > 0 ? value : (stats.max ?? value),
    };
  }
  const x = Number(value);
  if (!stats || stats.n === 0) return { n: 1, d: 0, m2: 0, min: x, max: x };
  const oldMin = Number(stats.min);
  const min = Math.min(x, oldMin);
  // Re-shift to the new minimum: every earlier value moves up by (oldMin - min).
  const d = (stats.d ?? 0) + stats.n * (oldMin - min);
  const y = x - min;
  const n = stats.n + 1;
  const delta = y - d / stats.n;
  const dAfter = d + y;
  const m2 = (stats.m2 ?? 0) + delta * (y - dAfter / n);
  const max = Math.max(x, Number(stats.max));
  return { n, d: dAfter, m2, min, max };
}

/** Two tiles' stats over disjoint values merged into one (Chan, Golub and LeVeque's pairwise update). */
export function mergeTileStats(a: TileStats | undefined, b: TileStats | undefined): TileStats | undefined {
  if (!a || a.n === 0) return b;
  if (!b || b.n === 0) return a;
  const min = smallerScalar(a.min, b.min);
  const max = largerScalar(a.max, b.max);
  const n = a.n + b.n;
  if (a.d === undefined && b.d === undefined) {
    return { n, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  const aMin = Number(a.min);
  const bMin = Number(b.min);
  const shift = Number(min);
  const d = (a.d ?? 0) + a.n * (aMin - shift) + ((b.d ?? 0) + b.n * (bMin - shift));
  // The difference of the means, computed from the shifts and the mean offsets so nothing cancels.
  const delta = bMin - aMin + ((b.d ?? 0) / b.n - (a.d ?? 0) / a.n);
  const m2 = (a.m2 ?? 0) + (b.m2 ?? 0) + delta * delta * ((a.n * b.n) / n);
  return { n, d, m2, min: shift, max: Number(max) };
}

/** What a window's tiles add up to: the values of count, sum, mean, variance, stddev, min and max. */
export interface WindowMoments {
  readonly n: number;
  /** Numeric columns only (undefined otherwise): the window's sum, mean and sum of squared deviations. */
  readonly sum: number | undefined;
  readonly mean: number | undefined;
  readonly m2: number | undefined;
  readonly min: OnlineScalar | undefined;
  readonly max: OnlineScalar | undefined;
}

/**
 * Accumulates a window's tiles into `WindowMoments`: tiles merge pairwise (Chan) into one running
 * partial whose `d` is a Neumaier pair, so a window of thousands of tiles loses no more than one tile.
 */
export class WindowMomentsAccumulator {
  private n = 0;
  private shift = 0;
  private dHigh = 0;
  private dLow = 0;
  private m2 = 0;
  private numeric = false;
  private min: OnlineScalar | undefined;
  private max: OnlineScalar | undefined;

  add(tile: TileStats): void {
    if (tile.n === 0) return;
    this.min = smallerScalar(this.min, tile.min);
    this.max = largerScalar(this.max, tile.max);
    if (tile.d === undefined) {
      this.n += tile.n;
      return;
    }
    const tileMin = Number(tile.min);
    const tileD = tile.d;
    if (this.n === 0 || !this.numeric) {
      this.numeric = true;
      this.n = tile.n;
      this.shift = tileMin;
      this.dHigh = tileD;
      this.dLow = 0;
      this.m2 = tile.m2 ?? 0;
      return;
    }
    const n = this.n + tile.n;
    const delta = tileMin - this.shift + (tileD / tile.n - (this.dHigh + this.dLow) / this.n);
    this.m2 += (tile.m2 ?? 0) + delta * delta * ((this.n * tile.n) / n);
    if (tileMin < this.shift) {
      this.addToD(this.n * (this.shift - tileMin));
      this.shift = tileMin;
      this.addToD(tileD);
    } else {
      this.addToD(tileD + tile.n * (tileMin - this.shift));
    }
    this.n = n;
  }

  result(): WindowMoments {
    if (!this.numeric || this.n === 0) {
      return { n: this.n, sum: undefined, mean: undefined, m2: undefined, min: this.min, max: this.max };
    }
    const d = this.dHigh + this.dLow;
    return {
      n: this.n,
      sum: compensatedSum([this.n * this.shift, this.dHigh, this.dLow]),
      mean: this.shift + d / this.n,
      m2: this.m2,
      min: this.min,
      max: this.max,
    };
  }

  /** Neumaier's step: `dLow` keeps what rounding dropped from `dHigh`. */
  private addToD(value: number): void {
    const sum = this.dHigh + value;
    this.dLow +=
      Math.abs(this.dHigh) >= Math.abs(value) ? this.dHigh - sum + value : value - sum + this.dHigh;
    this.dHigh = sum;
  }
}

/** Neumaier's compensated sum of a few numbers. */
export function compensatedSum(values: readonly number[]): number {
  let sum = 0;
  let compensation = 0;
  for (const value of values) {
    const next = sum + value;
    compensation += Math.abs(sum) >= Math.abs(value) ? sum - next + value : value - next + sum;
    sum = next;
  }
  return sum + compensation;
}

/** SQL's ordering of two non-null scalars of one column: numbers by value, strings by code point. */
export function compareScalars(a: OnlineScalar, b: OnlineScalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function smallerScalar(a: OnlineScalar | undefined, b: OnlineScalar | undefined): OnlineScalar | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareScalars(b, a) < 0 ? b : a;
}

function largerScalar(a: OnlineScalar | undefined, b: OnlineScalar | undefined): OnlineScalar | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareScalars(b, a) > 0 ? b : a;
}
