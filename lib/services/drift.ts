/**
 * Drift between the values a model was trained on and the values it is served now, as a Population
 * Stability Index (PSI) per feature.
 *
 * Both samples are cut into the same bins, built from the expected (training) sample alone:
 * - numbers (int64, float64; timestamps as epoch milliseconds): at the expected sample's deciles
 *   (nearest rank). The distinct decile values are the cut points, and bins are closed on the right: `<= c1`,
 *   `(c1, c2]`, ..., `> c9`, so values outside the expected range fall into the end bins, and a value
 *   that fills several deciles (many zeros in a count) gets a bin of its own instead of empty ones;
 * - strings and booleans: one bin per value for the 20 most frequent expected values, and `(other)`
 *   for every other value of either sample;
 * - last-k lists: their length (how many recent values the entity had), binned as numbers;
 * - vectors (`float32[N]`): not compared (there is no one-dimensional distribution to bin).
 *
 * Nulls (and NaN) have their own bin in every case. With `e` and `a` the shares of the expected and
 * actual samples in a bin, PSI = sum over bins of `(a - e) * ln(a / e)`, where a share of 0 counts as a
 * small epsilon (1e-4) so an empty bin adds a large but finite amount. Every term is >= 0 (`a - e` and
 * `ln(a / e)` have the same sign), so PSI >= 0, and it is 0 when both samples fall into the bins alike.
 *
 * Reading it, by the common rule of thumb: below 0.1 the distribution is stable; 0.1 to 0.25 is a
 * moderate shift worth a look; above 0.25 it has shifted significantly.
 */
import type { FeatureType } from '../definitions/value-type.js';

/** Below this PSI the distribution counts as stable. */
export const PSI_MODERATE = 0.1;
/** Above this PSI the shift counts as significant (from PSI_MODERATE up to it: moderate). */
export const PSI_SIGNIFICANT = 0.25;
/** The share an empty bin counts as, so `ln(a / e)` stays finite. */
export const DEFAULT_PSI_EPSILON = 1e-4;
/** Categories of their own; the rest share the `(other)` bin. */
export const DEFAULT_TOP_CATEGORIES = 20;
/** Numeric bins: the cut points are the expected sample's deciles. */
export const DEFAULT_QUANTILE_BINS = 10;

export type DriftLevel = 'stable' | 'moderate' | 'significant' | 'no_data';

/**
 * How the bins were made: `deciles` for numbers (and timestamps), `categories` for strings and
 * booleans, `list_length` for last-k lists (deciles of their length).
 */
export type DriftMethod = 'deciles' | 'categories' | 'list_length';

/** One bin of both samples. */
export interface DriftBin {
  /** For a chart axis: `<= 1.9`, `(1.9, 2.8]`, `> 9.1`, a category, `(other)` or `(null)`. */
  readonly label: string;
  readonly kind: 'range' | 'category' | 'other' | 'null';
  /** Ranges: the lower edge, excluded; null when the bin is open below. */
  readonly lower?: number | null;
  /** Ranges: the upper edge, included; null when the bin is open above. */
  readonly upper?: number | null;
  /** Categories: the value, as a string (`true`/`false` for booleans). */
  readonly value?: string;
  /** Values of the expected sample in the bin. */
  readonly expected: number;
  readonly actual: number;
  /** `expected / expectedCount` (0 to 1, before the epsilon). */
  readonly expectedShare: number;
  readonly actualShare: number;
  /** This bin's term of the PSI. */
  readonly contribution: number;
}

export interface DriftResult {
  readonly method: DriftMethod;
  /** Null when either sample is empty. */
  readonly psi: number | null;
  readonly level: DriftLevel;
  /** A plain reading of the PSI, e.g. `PSI 0.03 < 0.1: stable, no meaningful shift`. */
  readonly interpretation: string;
  /** Size of the expected sample, nulls included. */
  readonly expectedCount: number;
  readonly actualCount: number;
  /** In axis order: ranges low to high (or categories by expected frequency), then `(other)`, then `(null)`. */
  readonly bins: DriftBin[];
}

export interface DriftOptions {
  /** @default DEFAULT_PSI_EPSILON */
  readonly epsilon?: number;
  /** @default DEFAULT_TOP_CATEGORIES */
  readonly topCategories?: number;
  /** Quantile bins for numbers. @default DEFAULT_QUANTILE_BINS (deciles) */
  readonly quantileBins?: number;
}

/**
 * PSI of two samples of one feature, binned by its type (see the top of this file); undefined for
 * vectors, which are not compared. Values are taken as a training set or an online response holds
 * them: numbers (or bigints, or strings of digits), Dates or ISO strings for timestamps, arrays for
 * lists; null, undefined and NaN are nulls.
 * @example featureDrift('float64', trainingAmounts, onlineAmounts).psi
 */
export function featureDrift(
  dtype: FeatureType | undefined,
  expected: readonly unknown[],
  actual: readonly unknown[],
  options: DriftOptions = {},
): DriftResult | undefined {
  const kind = valueKind(dtype);
  switch (kind) {
    case 'number':
      return numericDrift(expected.map(toNumber), actual.map(toNumber), options);
    case 'timestamp':
      return numericDrift(expected.map(toEpochMs), actual.map(toEpochMs), {
        ...options,
        format: formatInstant,
      });
    case 'list':
      return {
        ...numericDrift(expected.map(listLength), actual.map(listLength), options),
        method: 'list_length',
      };
    case 'category':
      return categoricalDrift(expected.map(toCategory), actual.map(toCategory), options);
    case 'vector':
      return undefined;
  }
}

/** How a feature type's values are binned: as numbers, instants, list lengths or categories. */
export type ValueKind = 'number' | 'timestamp' | 'list' | 'category' | 'vector';

export function valueKind(dtype: FeatureType | undefined): ValueKind {
  if (dtype === 'int64' || dtype === 'float64') return 'number';
  if (dtype === 'timestamp') return 'timestamp';
  if (dtype?.startsWith('list<')) return 'list';
  if (dtype?.startsWith('float32[')) return 'vector';
  return 'category'; // string, bool, and a type not known yet
}

/**
 * PSI of two numeric samples, binned at the expected sample's quantiles (deciles by default); nulls
 * (and NaN) in a bin of their own.
 */
export function numericDrift(
  expected: readonly (number | null)[],
  actual: readonly (number | null)[],
  options: DriftOptions & { readonly format?: (value: number) => string } = {},
): DriftResult {
  const format = options.format ?? formatNumber;
  const present = (values: readonly (number | null)[]) =>
    values.filter((value): value is number => value !== null && !Number.isNaN(value));
  const expectedValues = present(expected);
  const cuts = quantileCuts(expectedValues, options.quantileBins ?? DEFAULT_QUANTILE_BINS);
  const countBins = (values: readonly number[]) => {
    const counts = new Array<number>(cuts.length + 1).fill(0);
    for (const value of values) {
      const bin = binOf(cuts, value);
      counts[bin] = (counts[bin] ?? 0) + 1;
    }
    return counts;
  };
  const expectedCounts = countBins(expectedValues);
  const actualValues = present(actual);
  const actualCounts = countBins(actualValues);
  const bins: BinCounts[] = expectedCounts.map((count, index) => {
    const lower = index === 0 ? null : (cuts[index - 1] as number);
    const upper = index === cuts.length ? null : (cuts[index] as number);
    const label =
      lower === null && upper === null
        ? 'all values'
        : lower === null
          ? `<= ${format(upper as number)}`
          : upper === null
            ? `> ${format(lower)}`
            : `(${format(lower)}, ${format(upper)}]`;
    return { label, kind: 'range', lower, upper, expected: count, actual: actualCounts[index] ?? 0 };
  });
  const expectedNulls = expected.length - expectedValues.length;
  const actualNulls = actual.length - actualValues.length;
  if (expectedNulls + actualNulls > 0) bins.push(nullBin(expectedNulls, actualNulls));
  return finish('deciles', bins, expected.length, actual.length, options);
}

/**
 * PSI of two samples of categories: the `topCategories` most frequent expected values each get a bin
 * (ties by value), every other value `(other)`, nulls `(null)`.
 */
export function categoricalDrift(
  expected: readonly (string | null)[],
  actual: readonly (string | null)[],
  options: DriftOptions = {},
): DriftResult {
  const top = options.topCategories ?? DEFAULT_TOP_CATEGORIES;
  const frequencies = new Map<string, number>();
  for (const value of expected) if (value !== null) frequencies.set(value, (frequencies.get(value) ?? 0) + 1);
  const kept = [...frequencies.entries()]
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, Math.max(0, top))
    .map(([value]) => value);
  const index = new Map(kept.map((value, position) => [value, position]));
  const count = (values: readonly (string | null)[]) => {
    const counts = { bins: new Array<number>(kept.length).fill(0), other: 0, nulls: 0 };
    for (const value of values) {
      if (value === null) counts.nulls += 1;
      else {
        const position = index.get(value);
        if (position === undefined) counts.other += 1;
        else counts.bins[position] = (counts.bins[position] ?? 0) + 1;
      }
    }
    return counts;
  };
  const e = count(expected);
  const a = count(actual);
  const bins: BinCounts[] = kept.map((value, position) => ({
    label: value,
    kind: 'category',
    value,
    expected: e.bins[position] ?? 0,
    actual: a.bins[position] ?? 0,
  }));
  if (e.other + a.other > 0)
    bins.push({ label: '(other)', kind: 'other', expected: e.other, actual: a.other });
  if (e.nulls + a.nulls > 0) bins.push(nullBin(e.nulls, a.nulls));
  return finish('categories', bins, expected.length, actual.length, options);
}

/**
 * `sum((a - e) * ln(a / e))` over paired shares, a share of 0 counting as `epsilon`.
 * @example populationStabilityIndex([0.5, 0.5], [0.8, 0.2]) // 0.3 ln 1.6 + 0.3 ln 2.5 = 0.41589
 */
export function populationStabilityIndex(
  expectedShares: readonly number[],
  actualShares: readonly number[],
  epsilon = DEFAULT_PSI_EPSILON,
): number {
  if (expectedShares.length !== actualShares.length) {
    throw new RangeError(
      `PSI needs one actual share per expected share (got ${expectedShares.length} and ${actualShares.length})`,
    );
  }
  return expectedShares.reduce((sum, e, index) => sum + psiTerm(e, actualShares[index] ?? 0, epsilon), 0);
}

/** The rule-of-thumb reading of a PSI; `no_data` for null. */
export function interpretPsi(psi: number | null): { level: DriftLevel; interpretation: string } {
  if (psi === null) return { level: 'no_data', interpretation: 'no values to compare' };
  const shown = formatPsi(psi);
  if (psi < PSI_MODERATE) {
    return {
      level: 'stable',
      interpretation: `PSI ${shown} < ${PSI_MODERATE}: stable, no meaningful shift`,
    };
  }
  if (psi <= PSI_SIGNIFICANT) {
    return {
      level: 'moderate',
      interpretation: `PSI ${shown} between ${PSI_MODERATE} and ${PSI_SIGNIFICANT}: a moderate shift, worth a look`,
    };
  }
  return {
    level: 'significant',
    interpretation: `PSI ${shown} > ${PSI_SIGNIFICANT}: a significant shift; check the feature before trusting the model's scores`,
  };
}

/**
 * The distinct quantile cut points of a sample, by the nearest-rank definition (the p-quantile is the
 * smallest value with at least p of the sample at or below it): for deciles the values at 10%, 20%,
 * ..., 90%. Cuts are values of the sample, so whole numbers stay whole and no bin between two cuts is
 * empty by construction; with right-closed bins each of the first k bins holds at least k/10 of the
 * sample. Non-finite cuts (from infinities in the sample) are dropped; those values stay in the end bins.
 * @example quantileCuts([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10) // [1, 2, 3, 4, 5, 6, 7, 8, 9]
 */
export function quantileCuts(values: readonly number[], bins: number): number[] {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  const n = sorted.length;
  const cuts: number[] = [];
  if (n === 0) return cuts;
  for (let step = 1; step < bins; step += 1) {
    // ceil(step / bins * n) in integers first, so 3 * 10 / 10 is exactly rank 3, never 3.0000000000000004.
    const rank = Math.max(1, Math.ceil((step * n) / bins));
    const cut = sorted[rank - 1] as number;
    if (Number.isFinite(cut) && cut !== cuts.at(-1)) cuts.push(cut);
  }
  return cuts;
}

/** The bin of a value for right-closed bins at sorted cut points: the first cut >= the value, else the last bin. */
function binOf(cuts: readonly number[], value: number): number {
  let low = 0;
  let high = cuts.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (value <= (cuts[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

interface BinCounts {
  readonly label: string;
  readonly kind: DriftBin['kind'];
  readonly lower?: number | null;
  readonly upper?: number | null;
  readonly value?: string;
  readonly expected: number;
  readonly actual: number;
}

function nullBin(expected: number, actual: number): BinCounts {
  return { label: '(null)', kind: 'null', expected, actual };
}

function finish(
  method: DriftMethod,
  counts: readonly BinCounts[],
  expectedCount: number,
  actualCount: number,
  options: DriftOptions,
): DriftResult {
  const epsilon = options.epsilon ?? DEFAULT_PSI_EPSILON;
  const comparable = expectedCount > 0 && actualCount > 0;
  const bins = counts.map((bin): DriftBin => {
    const expectedShare = expectedCount === 0 ? 0 : bin.expected / expectedCount;
    const actualShare = actualCount === 0 ? 0 : bin.actual / actualCount;
    return {
      ...bin,
      expectedShare,
      actualShare,
      contribution: comparable ? psiTerm(expectedShare, actualShare, epsilon) : 0,
    };
  });
  const psi = comparable ? bins.reduce((sum, bin) => sum + bin.contribution, 0) : null;
  const reading = interpretPsi(psi);
  return {
    method,
    psi,
    level: reading.level,
    interpretation: comparable
      ? reading.interpretation
      : `no values to compare (${expectedCount} expected, ${actualCount} actual)`,
    expectedCount,
    actualCount,
    bins,
  };
}

function psiTerm(expectedShare: number, actualShare: number, epsilon: number): number {
  const e = expectedShare === 0 ? epsilon : expectedShare;
  const a = actualShare === 0 ? epsilon : actualShare;
  return (a - e) * Math.log(a / e);
}

/** A number from what a training set or an online response holds; null when there is none. */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return toEpochMs(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value);
    return Number.isNaN(number) ? null : number;
  }
  return null;
}

/** Epoch milliseconds of a Date, an ISO 8601 string or a number of milliseconds; null otherwise. */
export function toEpochMs(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return toNumber(value);
  return null;
}

/** A list's length; null when the value is not a list. */
export function listLength(value: unknown): number | null {
  return Array.isArray(value) ? value.length : null;
}

/** A category: strings as they are, booleans and numbers as text; null when there is none. */
export function toCategory(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && Number.isNaN(value)) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Four significant digits, integers whole: `1.9`, `1235`, `0.0001235`, `1.235e+21`. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** An instant as ISO 8601 without empty milliseconds: `2024-01-31T12:00:00Z`. */
export function formatInstant(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString().replace('.000Z', 'Z');
}

function formatPsi(psi: number): string {
  return psi >= 0.001 || psi === 0 ? psi.toFixed(3) : psi.toExponential(1);
}
