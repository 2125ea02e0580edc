/**
 * The table of written times every reader of times is tested with (CSV and Parquet sources, CSV, Parquet
 * and row spines, pushed and streamed values, CLI options), with the instants worked out by hand: a time
 * with an offset is the instant it names, one without a zone is UTC, a date alone is its midnight UTC, and
 * fraction digits beyond milliseconds are cut off (truncation, never rounding, before 1970 too).
 */
export interface TimeForm {
  /** What the case shows. */
  readonly form: string;
  readonly text: string;
  /** The instant, epoch milliseconds. */
  readonly ms: number;
  /** Nanoseconds past `ms` that the text names (digits 4 to 9 of its fraction), for readers of stored nanoseconds. */
  readonly subMsNanos?: number;
}

export const TIME_FORMS: readonly TimeForm[] = [
  { form: 'Z', text: '2024-02-03T10:11:12Z', ms: Date.UTC(2024, 1, 3, 10, 11, 12) },
  { form: '+hh:mm', text: '2024-02-03T00:00:00+02:00', ms: Date.UTC(2024, 1, 2, 22, 0, 0) },
  { form: '-hh:mm', text: '2024-02-03T00:00:00-05:30', ms: Date.UTC(2024, 1, 3, 5, 30, 0) },
  { form: '+hhmm', text: '2024-02-03T00:00:00+0200', ms: Date.UTC(2024, 1, 2, 22, 0, 0) },
  { form: '-hh', text: '2024-02-03T00:00:00-03', ms: Date.UTC(2024, 1, 3, 3, 0, 0) },
  { form: 'no zone (UTC)', text: '2024-02-03T10:11:12', ms: Date.UTC(2024, 1, 3, 10, 11, 12) },
  { form: 'a space instead of T', text: '2024-02-03 10:11:12+02:00', ms: Date.UTC(2024, 1, 3, 8, 11, 12) },
  { form: 'a space, no zone', text: '2024-02-03 10:11:12', ms: Date.UTC(2024, 1, 3, 10, 11, 12) },
  { form: 'lower-case t and z', text: '2024-02-03t10:11:12z', ms: Date.UTC(2024, 1, 3, 10, 11, 12) },
  { form: 'no seconds', text: '2024-02-03T10:11', ms: Date.UTC(2024, 1, 3, 10, 11, 0) },
  { form: 'no seconds, an offset', text: '2024-02-03T10:11+02:00', ms: Date.UTC(2024, 1, 3, 8, 11, 0) },
  { form: 'date only', text: '2024-02-03', ms: Date.UTC(2024, 1, 3) },
  { form: '1 fraction digit', text: '2024-02-03T10:11:12.1Z', ms: Date.UTC(2024, 1, 3, 10, 11, 12, 100) },
  { form: '2 fraction digits', text: '2024-02-03T10:11:12.12Z', ms: Date.UTC(2024, 1, 3, 10, 11, 12, 120) },
  { form: '3 fraction digits', text: '2024-02-03T10:11:12.123Z', ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123) },
  {
    form: '4 fraction digits (cut to 3)',
    text: '2024-02-03T10:11:12.1234Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 400_000,
  },
  {
    form: '5 fraction digits',
    text: '2024-02-03T10:11:12.12345Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 450_000,
  },
  {
    form: '6 fraction digits',
    text: '2024-02-03T10:11:12.123456Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 456_000,
  },
  {
    form: '7 fraction digits',
    text: '2024-02-03T10:11:12.1234567Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 456_700,
  },
  {
    form: '8 fraction digits',
    text: '2024-02-03T10:11:12.12345678Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 456_780,
  },
  {
    form: '9 fraction digits',
    text: '2024-02-03T10:11:12.123456789Z',
    ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123),
    subMsNanos: 456_789,
  },
  {
    form: 'nines are cut, not rounded up',
    text: '2024-02-03T10:11:12.999999999+02:00',
    ms: Date.UTC(2024, 1, 3, 8, 11, 12, 999),
    subMsNanos: 999_999,
  },
  {
    form: 'cut toward the past before 1970',
    text: '1969-12-31T23:59:59.9999Z',
    ms: -1,
    subMsNanos: 900_000,
  },
  {
    form: 'an offset crossing into a leap day',
    text: '2024-03-01T01:00:00+02:00',
    ms: Date.UTC(2024, 1, 29, 23),
  },
  {
    form: 'an offset crossing into a new year',
    text: '2023-12-31T22:00:00-03:00',
    ms: Date.UTC(2024, 0, 1, 1),
  },
  { form: 'spaces around', text: '  2024-02-03T10:11:12Z ', ms: Date.UTC(2024, 1, 3, 10, 11, 12) },
];

/** Text that is not a time by the rule, for every reader of text. */
export const NOT_TIMES: readonly { readonly form: string; readonly text: string }[] = [
  { form: 'a word', text: 'yesterday' },
  { form: 'a day that does not exist', text: '2024-02-30' },
  { form: 'February 29 of a common year', text: '2023-02-29T00:00:00Z' },
  { form: 'month 13', text: '2024-13-01' },
  { form: 'hour 24', text: '2024-02-03T24:00:00Z' },
  { form: 'a one-digit hour', text: '2024-02-03T1:02:03Z' },
  { form: 'ten fraction digits', text: '2024-02-03T10:11:12.1234567891Z' },
  { form: 'a dot without digits', text: '2024-02-03T10:11:12.Z' },
  { form: 'a zone name', text: '2024-02-03T10:11:12 Europe/Paris' },
  { form: 'an offset of 24 hours', text: '2024-02-03T10:11:12+24:00' },
  { form: 'a zone on a date alone', text: '2024-02-03Z' },
  { form: 'a day-first date', text: '03/02/2024' },
  { form: 'epoch milliseconds written as text', text: '1706955072000' },
];

/** Epoch milliseconds, which readers of JSON numbers (pushes, stream records, row spines) take as instants. */
export const EPOCH_MS_FORMS: readonly {
  readonly form: string;
  readonly value: number;
  readonly ms: number;
}[] = [
  { form: 'epoch milliseconds', value: 1_706_955_072_123, ms: Date.UTC(2024, 1, 3, 10, 11, 12, 123) },
  { form: 'epoch milliseconds before 1970', value: -86_400_001, ms: Date.UTC(1969, 11, 30, 23, 59, 59, 999) },
];

/** The fix every error about a time names (the same text as `TIME_FORMS` in source-values.ts). */
export const TIME_FIX =
  'an ISO 8601 time such as 2024-01-31T12:00:00Z, 2024-01-31T14:00:00.250+02:00 or 2024-01-31 (no zone means UTC)';
