import fc from 'fast-check';
import type { ResolvedFeature } from '../../lib/definitions/resolved-features.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { type ExactAggregates, exactAggregates, Rational, valuesInWindow } from './exact-rational.js';

/**
 * What the precision tests of issue 13 share: a view with every numeric window aggregate over several
 * windows and hops, generators of amounts as wide as real data, the exact expected value of each
 * aggregated feature, the bounds of DESIGN.md section 3 and a record of the largest error seen per path
 * and per magnitude band.
 *
 * Bounds and how errors are measured:
 * - A window's magnitude/spread ratio is max|x| / s, with s the exact sample stddev of its values: the
 *   condition of its variance (windows of 0 or 1 values, or of equal values, have ratio 1).
 *   Ratio <= 1e6: relative error <= 1e-9; ratio <= 1e9: <= 1e-6; beyond 1e9 nothing is asserted for
 *   stddev and variance (the errors are still recorded, under "> 1e9").
 * - stddev and variance: relative error against the exact value. Equal values (exact variance 0) must
 *   give exactly 0: a shifted or pairwise scheme subtracts equal doubles exactly, so nothing else is right.
 * - sum and mean: relative error against the exact value, except under cancellation, when the exact sum
 *   is below sum(|x|) / 1e6 (condition number above 1e6): then the error is measured against the scale
 *   the rounding errors have, sum(|x|) for the sum and sum(|x|)/n for the mean. Their accuracy does not
 *   depend on the spread, so 1e-9 holds for them in every band.
 * - count, min and max are exact (min and max are input doubles); an empty window has count 0, sum 0 and
 *   null for the rest, and fewer than two values give a null stddev and variance.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
export const payments = batchSource({
  name: 'payments',
  path: 'payments.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});
const NUMERIC = ['count', 'sum', 'mean', 'stddev', 'variance', 'min', 'max'] as const;
/** Hops 5m (15m, 1h), 10m (30m), 1h (7d) and 1d (30d), so short windows hold 0, 1 or 2 events and long ones all. */
export const precisionView = featureView({
  name: 'precision',
  entities: [user],
  source: payments,
  aggregations: [
    { column: 'amount', functions: [...NUMERIC], windows: ['15m', '1h'] },
    { column: 'amount', functions: [...NUMERIC], windows: ['30m'], hop: '10m' },
    { column: 'amount', functions: [...NUMERIC], windows: ['7d', '30d'] },
  ],
});
export const precisionValidated = validateFeatureRepo(collectDefinitions([user, payments, precisionView]));
export const precisionFeatures: readonly ResolvedFeature[] =
  precisionValidated.features.get('precision') ?? [];

/** An aggregated feature's function, window and hop. */
export interface WindowFeature {
  readonly name: string;
  readonly fn: (typeof NUMERIC)[number];
  readonly windowMs: number;
  readonly hopMs: number;
}

export const windowFeatures: readonly WindowFeature[] = precisionFeatures.flatMap((feature) => {
  const origin = feature.origin;
  if (origin.kind !== 'aggregation' || origin.windowMs === undefined || origin.hopMs === undefined) return [];
  return [
    {
      name: feature.name,
      fn: origin.function as WindowFeature['fn'],
      windowMs: origin.windowMs,
      hopMs: origin.hopMs,
    },
  ];
});

/** One event of one entity, as every path is fed it. */
export interface PrecisionEvent {
  readonly userId: number;
  readonly ts: number;
  readonly amount: number;
}

/** 2024-01-01T06:00Z: events fall on whole minutes after it (some a millisecond off), so edges and ties occur. */
export const BASE = Date.UTC(2024, 0, 1, 6);

/**
 * A uniform draw from [min, max] in steps of 1e-6. (fc.double draws uniformly over the doubles' bit
 * patterns, which crowds a range like [0, 9] near 0.)
 */
const uniform = (min: number, max: number) =>
  fc.integer({ min: Math.round(min * 1e6), max: Math.round(max * 1e6) }).map((k) => k / 1e6);

/** u in [-1, 1]: uniform, any double (many tiny ones), eighths, or the edges, so values are m + spread * u. */
const unitArbitrary = fc.oneof(
  uniform(-1, 1),
  fc.double({ min: -1, max: 1, noNaN: true }),
  fc.integer({ min: -8, max: 8 }).map((k) => k / 8),
  fc.constantFrom(0, 1, -1),
);

/** An entity's amounts: magnitude 1e-6 to 1e12 (log-uniform, and some fixed decades), either sign, spread |m| / ratio. */
export const amountsArbitrary = fc.record({
  magnitudeExponent: fc.oneof(
    { weight: 3, arbitrary: uniform(-6, 12) },
    { weight: 1, arbitrary: fc.constantFrom(-6, 0, 2, Math.log10(5e6), 8, 12) },
  ),
  negative: fc.boolean(),
  ratioExponent: fc.oneof(
    { weight: 3, arbitrary: uniform(0, 9) },
    { weight: 1, arbitrary: fc.constantFrom(0, 3, 6, 9) },
  ),
  // Values are drawn from a small pool, so runs of equal values are common (a pool of one: all equal).
  pool: fc.array(unitArbitrary, { minLength: 1, maxLength: 4 }),
});

const eventShape = fc.record({
  minuteInCluster: fc.integer({ min: 0, max: 25 }),
  minute: fc.integer({ min: 0, max: 240 }),
  clustered: fc.boolean(),
  extraMs: fc.constantFrom(0, 0, 0, 1, 59_999),
  pick: fc.nat(),
  fresh: fc.option(unitArbitrary, { nil: null, freq: 4 }),
});

const readShape = fc.record({
  minute: fc.integer({ min: -5, max: 45 }),
  extraMs: fc.constantFrom(0, 0, 1, 59_999),
});

/**
 * One entity: its amounts, 0 to 10 events, mostly within 25 minutes of one another after `cluster`, and
 * 1 to 3 read times from 5 minutes before the cluster to 45 after it, so short windows hold 0, 1, 2 or
 * more events and read times fall on, just after and just before event times and hop edges.
 */
export const entityArbitrary = fc.record({
  amounts: amountsArbitrary,
  cluster: fc.integer({ min: 0, max: 215 }),
  events: fc.array(eventShape, { maxLength: 10 }),
  reads: fc.array(readShape, { minLength: 1, maxLength: 3 }),
});
export type GeneratedEntity = typeof entityArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** Whole minutes to move an entity by so that its first read falls in minute `alignMinute` (none without one). */
function offsetMinutes(generated: GeneratedEntity, alignMinute: number | undefined): number {
  return alignMinute === undefined
    ? 0
    : alignMinute - (generated.cluster + (generated.reads[0]?.minute ?? 0));
}

/**
 * The events of generated entities, user ids 1, 2, ... in order. With `alignMinute`, each entity is moved
 * by whole minutes so that its first read time falls in that minute after BASE (for one shared read time).
 */
export function eventsOf(entities: readonly GeneratedEntity[], alignMinute?: number): PrecisionEvent[] {
  return entities.flatMap((generated, index) => {
    const { magnitudeExponent, negative, ratioExponent, pool } = generated.amounts;
    const magnitude = (negative ? -1 : 1) * 10 ** magnitudeExponent;
    const spread = Math.abs(magnitude) / 10 ** ratioExponent;
    const offset = offsetMinutes(generated, alignMinute);
    return generated.events.map((event) => {
      const u = event.fresh ?? pool[event.pick % pool.length] ?? 0;
      const minute = (event.clustered ? generated.cluster + event.minuteInCluster : event.minute) + offset;
      return {
        userId: index + 1,
        ts: BASE + minute * MINUTE + event.extraMs,
        amount: magnitude + spread * u,
      };
    });
  });
}

/** An entity's read times (epoch ms), moved as `eventsOf` moves its events. */
export function readsOf(generated: GeneratedEntity, alignMinute?: number): number[] {
  const offset = offsetMinutes(generated, alignMinute);
  return generated.reads.map(
    (read) => BASE + (generated.cluster + read.minute + offset) * MINUTE + read.extraMs,
  );
}

export type Band = '<=1e3' | '<=1e6' | '<=1e9' | '>1e9';
const BANDS: readonly Band[] = ['<=1e3', '<=1e6', '<=1e9', '>1e9'];

/** The magnitude/spread ratio of a window's values: max|x| / exact stddev; 1 without a spread. */
export function spreadRatio(values: readonly number[], exact: ExactAggregates): number {
  if (!exact.stddev || exact.stddev.isZero()) return 1;
  const largest = Math.max(...values.map(Math.abs));
  return Rational.fromNumber(largest).div(exact.stddev).toNumber();
}

export function bandOf(ratio: number): Band {
  return ratio <= 1e3 ? '<=1e3' : ratio <= 1e6 ? '<=1e6' : ratio <= 1e9 ? '<=1e9' : '>1e9';
}

/** The largest relative error allowed in a band; undefined when nothing is asserted. */
export function boundOf(band: Band): number | undefined {
  return band === '>1e9' ? undefined : band === '<=1e9' ? 1e-6 : 1e-9;
}

/** The exact aggregates of one window as of t, with its band. */
export interface ExpectedWindow {
  readonly values: readonly number[];
  readonly exact: ExactAggregates;
  readonly band: Band;
}

/** The exact windows of every aggregated feature of one entity as of t, over `events` (that entity's). */
export function expectedWindows(
  events: readonly { readonly ts: number; readonly amount: number }[],
  t: number,
): Map<string, ExpectedWindow> {
  const byWindow = new Map<string, ExpectedWindow>();
  const expected = new Map<string, ExpectedWindow>();
  const timed = events.map((event) => ({ ts: event.ts, value: event.amount }));
  for (const feature of windowFeatures) {
    const key = `${feature.windowMs}:${feature.hopMs}`;
    let window = byWindow.get(key);
    if (!window) {
      const values = valuesInWindow(timed, t, feature.windowMs, feature.hopMs);
      const exact = exactAggregates(values);
      window = { values, exact, band: bandOf(spreadRatio(values, exact)) };
      byWindow.set(key, window);
    }
    expected.set(feature.name, window);
  }
  return expected;
}

/** The exact value of one function of a window: a number for count, min and max, a fraction, or null. */
function exactValue(fn: WindowFeature['fn'], exact: ExactAggregates): Rational | number | null {
  return exact[fn];
}

/** The scale an error of `fn` is measured against (see the comment at the top); undefined when exact. */
function errorScale(fn: WindowFeature['fn'], exact: ExactAggregates): Rational | undefined {
  const n = exact.count;
  if (n === 0) return undefined;
  const cancelled = exact.sum.abs().mul(Rational.of(1_000_000)).compare(exact.sumAbs) < 0;
  if (fn === 'sum') return cancelled ? exact.sumAbs : exact.sum.abs();
  if (fn === 'mean') return cancelled ? exact.sumAbs.div(Rational.of(n)) : exact.mean?.abs();
  if (fn === 'variance') return exact.variance ?? undefined;
  if (fn === 'stddev') return exact.stddev ?? undefined;
  return undefined;
}

/** The bound for `fn` in a window's band: 1e-9 for sum and mean everywhere, the band's for the moments. */
function boundFor(fn: WindowFeature['fn'], band: Band): number | undefined {
  return fn === 'sum' || fn === 'mean' ? 1e-9 : boundOf(band);
}

/** The largest errors seen, per path and band, printed as one JSON line per path. */
export class ErrorRecord {
  private readonly worst = new Map<string, Map<Band, { error: number; feature: string; n: number }>>();
  private readonly checks = new Map<string, number>();

  note(path: string, band: Band, feature: string, n: number, error: number): void {
    const bands = this.worst.get(path) ?? new Map();
    const seen = bands.get(band);
    if (!seen || error > seen.error) bands.set(band, { error, feature, n });
    this.worst.set(path, bands);
  }

  counted(path: string): void {
    this.checks.set(path, (this.checks.get(path) ?? 0) + 1);
  }

  /** One JSON object per path: the largest relative error per band, with the feature and window size that gave it. */
  lines(): string[] {
    return [...this.checks.keys()].map((path) => {
      const bands = this.worst.get(path) ?? new Map();
      const maxRelativeError = Object.fromEntries(
        BANDS.filter((band) => bands.has(band)).map((band) => {
          const seen = bands.get(band);
          return [
            band,
            seen ? { error: Number(seen.error.toPrecision(3)), feature: seen.feature, n: seen.n } : null,
          ];
        }),
      );
      return JSON.stringify({ path, valuesChecked: this.checks.get(path), maxRelativeError });
    });
  }

  print(): void {
    for (const line of this.lines()) console.log(`precision ${line}`);
  }
}

/** |actual - exact| / scale, exactly, as a double. */
function relativeError(actual: number, exact: Rational, scale: Rational): number {
  return Rational.fromNumber(actual).sub(exact).abs().div(scale).toNumber();
}

function describeExact(value: Rational | number | null): string {
  return value instanceof Rational ? value.toDecimal(21) : String(value);
}

/**
 * Checks one path's values of every aggregated feature against the exact windows; returns a line per
 * violation (empty when all hold) and records the errors under `path`.
 */
export function violations(
  path: string,
  record: ErrorRecord,
  where: string,
  actual: (feature: string) => unknown,
  expected: Map<string, ExpectedWindow>,
): string[] {
  const found: string[] = [];
  for (const feature of windowFeatures) {
    const window = expected.get(feature.name);
    if (!window) continue;
    const value = actual(feature.name) ?? null;
    const exact = exactValue(feature.fn, window.exact);
    record.counted(path);
    const problem = (text: string) =>
      found.push(
        `${path}: ${feature.name} ${where}: ${text}; window of ${window.values.length} values [${window.values.slice(0, 6).join(', ')}${window.values.length > 6 ? ', ...' : ''}], band ${window.band}`,
      );
    if (exact === null || typeof exact === 'number') {
      if (value !== exact) problem(`gave ${JSON.stringify(value)}, exact ${String(exact)}`);
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problem(`gave ${JSON.stringify(value)}, exact ${describeExact(exact)}`);
      continue;
    }
    if (
      exact.isZero() &&
      (feature.fn === 'stddev' || feature.fn === 'variance' || window.values.length === 0)
    ) {
      // Equal values: exactly 0, nothing else; and the sum of no values is 0.
      record.note(path, window.band, feature.name, window.values.length, Math.abs(value));
      if (value !== 0) problem(`gave ${value}, exact 0`);
      continue;
    }
    const scale = errorScale(feature.fn, window.exact) ?? exact.abs();
    if (scale.isZero()) {
      // All values 0: the sum and mean are 0 exactly.
      if (value !== 0) problem(`gave ${value}, exact 0 (every value is 0)`);
      continue;
    }
    const error = relativeError(value, exact, scale);
    record.note(path, window.band, feature.name, window.values.length, error);
    const bound = boundFor(feature.fn, window.band);
    if (bound !== undefined && !(error <= bound)) {
      problem(
        `gave ${value}, exact ${describeExact(exact)}, relative error ${error.toPrecision(3)} > ${bound}`,
      );
    }
  }
  return found;
}

/**
 * Checks that two paths agree on every aggregated feature within the bound of each window (measured on
 * the same scale as against the exact value); records their differences under `path`.
 */
export function disagreements(
  path: string,
  record: ErrorRecord,
  where: string,
  left: (feature: string) => unknown,
  right: (feature: string) => unknown,
  expected: Map<string, ExpectedWindow>,
): string[] {
  const found: string[] = [];
  for (const feature of windowFeatures) {
    const window = expected.get(feature.name);
    if (!window) continue;
    const a = left(feature.name) ?? null;
    const b = right(feature.name) ?? null;
    record.counted(path);
    const problem = (text: string) =>
      found.push(
        `${path}: ${feature.name} ${where}: ${text}; window of ${window.values.length} values, band ${window.band}`,
      );
    if (typeof a !== 'number' || typeof b !== 'number') {
      if (a !== b) problem(`${JSON.stringify(a)} against ${JSON.stringify(b)}`);
      continue;
    }
    const exact = exactValue(feature.fn, window.exact);
    const scale =
      exact instanceof Rational ? (errorScale(feature.fn, window.exact) ?? exact.abs()) : undefined;
    if (!scale || scale.isZero()) {
      if (a !== b) problem(`${a} against ${b}, which must be equal`);
      continue;
    }
    const error = Rational.fromNumber(a).sub(Rational.fromNumber(b)).abs().div(scale).toNumber();
    record.note(path, window.band, feature.name, window.values.length, error);
    const bound = boundFor(feature.fn, window.band);
    if (bound !== undefined && !(error <= bound)) {
      problem(`${a} against ${b}: relative difference ${error.toPrecision(3)} > ${bound}`);
    }
  }
  return found;
}

/** Throws with the first violations, if any. */
export function assertNone(found: readonly string[]): void {
  if (found.length === 0) return;
  throw new Error(
    `${found.length} value(s) outside the bound:\n${found.slice(0, 8).join('\n')}${found.length > 8 ? '\n...' : ''}`,
  );
}
