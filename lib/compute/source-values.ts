import type { ValueType } from '../definitions/value-type.js';
import type { OnlineScalar } from './online-state.js';

/** What a source value must look like when it is not one of its column's type. */
export interface SourceValueMismatch {
  /** e.g. `an integer`, `an ISO 8601 time or epoch milliseconds`. */
  readonly expected: string;
}

/** An ISO 8601 date-time with no zone: UTC by DESIGN.md section 3, where `Date.parse` would take local time. */
const ZONELESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Epoch milliseconds of an event time given as epoch milliseconds or an ISO 8601 string (a time without
 * zone is UTC; a date alone is its midnight UTC); undefined for anything else, fractions of a millisecond
 * included.
 */
export function parseEventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value.trim())) return undefined;
  const text = value.trim().replace(' ', 'T');
  const ms = Date.parse(ZONELESS_DATE_TIME.test(value.trim()) ? `${text}Z` : text);
  return Number.isFinite(ms) ? ms : undefined;
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
      return ms === undefined ? { expected: 'an ISO 8601 time or epoch milliseconds' } : { value: ms };
    }
    default:
      return { expected: 'a scalar (vector columns cannot be pushed or streamed yet)' };
  }
}
