import type { ValueType } from '../definitions/value-type.js';
import type { OnlineScalar } from './online-state.js';

/** What a source value must look like when it is not one of its column's type. */
export interface SourceValueMismatch {
  /** e.g. `an integer`, `an ISO 8601 time ... or epoch milliseconds`. */
  readonly expected: string;
}

/**
 * The one grammar of a time written as text, for every reader (CSV and Parquet sources, spines, pushes,
 * stream records, CLI options; DuckDB's readers use it through `duckdb-time.ts`): a date, optionally a
 * time (`T`, `t` or a space between), optionally seconds with a fraction of 1 to 9 digits, optionally a
 * zone (`Z`, `z`, `+hh:mm`, `+hhmm`, `+hh` or the same with `-`), with spaces around allowed. A time
 * with an offset is the instant it names; one without a zone is UTC; a date alone is its midnight UTC.
 * Times are kept at millisecond precision: fraction digits beyond the third are cut off (truncation, so
 * `.9999` is `.999`, also before 1970). RE2 and JavaScript read it alike. Groups: 1 date, 2 hour,
 * 3 minute, 4 second, 5 fraction, 6 offset sign, 7 offset hours, 8 offset minutes.
 */
export const EVENT_TIME_PATTERN = String.raw`^ *(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))(?:[Tt ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?(?:[Zz]|([+-])([01]\d|2[0-3])(?::?([0-5]\d))?)?)? *$`;

const EVENT_TIME = new RegExp(EVENT_TIME_PATTERN);

/** How to write a time, for the fix in every error about one. */
export const TIME_FORMS =
  'an ISO 8601 time such as 2024-01-31T12:00:00Z, 2024-01-31T14:00:00.250+02:00 or 2024-01-31 (no zone means UTC)';

const DAY_MS = 86_400_000;

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Epoch milliseconds of a time written by `EVENT_TIME_PATTERN`; undefined for any other text. */
export function parseTimeText(text: string): number | undefined {
  const match = EVENT_TIME.exec(text);
  if (!match) return undefined;
  const [
    ,
    date = '',
    hour = '0',
    minute = '0',
    second = '0',
    fraction = '',
    sign,
    offsetHours,
    offsetMinutes,
  ] = match;
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  if (day > daysInMonth(year, month)) return undefined;
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offset =
    sign === undefined
      ? 0
      : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes ?? 0));
  return (
    daysFromCivil(year, month, day) * DAY_MS +
    ((Number(hour) * 60 + Number(minute) - offset) * 60 + Number(second)) * 1000 +
    millis
  );
}

/**
 * Epoch milliseconds of an event time given as epoch milliseconds (a safe integer: JSON has numbers) or
 * as text in the one grammar (`EVENT_TIME_PATTERN`); undefined for anything else.
 */
export function parseEventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  return typeof value === 'string' ? parseTimeText(value) : undefined;
}

/**
 * A pushed or streamed value as the online path holds it (timestamps as epoch milliseconds), checked
 * against its column's type; null stays null. Pushes and stream records read values with this one rule.
 */
export function sourceValue(
  type: ValueType,
  value: unknown,
): { readonly value: OnlineScalar | null } | SourceValueMismatch {
  if (value === null || value === undefined) return { value: null };
  switch (type) {
    case 'int64':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? { value }
        : { expected: 'an integer' };
    case 'float64':
      return typeof value === 'number' && Number.isFinite(value) ? { value } : { expected: 'a number' };
    case 'bool':
      return typeof value === 'boolean' ? { value } : { expected: 'true or false' };
    case 'string':
      return typeof value === 'string' ? { value } : { expected: 'a string' };
    case 'timestamp': {
      const ms = parseEventTime(value);
      return ms === undefined ? { expected: `${TIME_FORMS}, or epoch milliseconds` } : { value: ms };
    }
    default:
      return { expected: 'a scalar (vector columns cannot be pushed or streamed yet)' };
  }
}
