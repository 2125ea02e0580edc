import { InvalidArgumentError } from 'commander';
import { parseTimeText, TIME_FORMS } from '../compute/source-values.js';

/** A command-line count: a whole number of at least 1. */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return parsed;
}

/** A command-line whole number, negative ones included. */
export function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}

/**
 * A command-line time (--start, --end): text in the one grammar of times (`parseEventTime`, as every
 * other reader), so `2024-01-31T14:00:00+02:00` is 12:00 UTC, a time without zone is UTC and a date
 * alone is its midnight UTC; digits beyond milliseconds are cut off.
 */
export function instant(value: string): Date {
  const ms = parseTimeText(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected ${TIME_FORMS}`);
  return new Date(ms);
}
