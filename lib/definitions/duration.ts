/**
 * Durations are written as a whole number and a unit: `30s`, `5m`, `12h`, `7d`. They name windows,
 * hops and TTLs, and the written form becomes part of feature names (`amount_sum_7d`), so it is kept
 * strict: no fractions, no mixed units, no spaces.
 */
export type Duration = `${number}${DurationUnit}`;
export type DurationUnit = 's' | 'm' | 'h' | 'd';

export const MILLISECONDS_PER = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const DURATION_PATTERN = /^([0-9]{1,9})(s|m|h|d)$/;

/** Milliseconds in a duration string, or undefined when it is not one. Zero is returned as 0. */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * MILLISECONDS_PER[match[2] as DurationUnit];
}

/** The shortest exact written form of a millisecond count: 604800000 -> `7d`, 5400000 -> `90m`. */
export function formatDuration(milliseconds: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (milliseconds % MILLISECONDS_PER[unit] === 0) return `${milliseconds / MILLISECONDS_PER[unit]}${unit}`;
  }
  return `${milliseconds}ms`;
}

const TWELVE_DAYS = 12 * MILLISECONDS_PER.d;
const TWELVE_HOURS = 12 * MILLISECONDS_PER.h;

/**
 * The hop a window gets when its definition sets none (DESIGN.md section 3): 1 day for windows of
 * 12 days or more, 1 hour for 12 hours or more, else 5 minutes. Coarser hops keep the number of tiles
 * per window between 12 and a few hundred, which bounds both storage and read-time work.
 */
export function defaultHop(windowMilliseconds: number): number {
  if (windowMilliseconds >= TWELVE_DAYS) return MILLISECONDS_PER.d;
  if (windowMilliseconds >= TWELVE_HOURS) return MILLISECONDS_PER.h;
  return 5 * MILLISECONDS_PER.m;
}
