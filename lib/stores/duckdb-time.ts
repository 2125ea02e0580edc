import { EVENT_TIME_PATTERN } from '../compute/source-values.js';
import { stringLiteral } from '../compute/sql-literals.js';

/**
 * How the local engine reads times, the same rule as `parseEventTime` (DESIGN.md section 3): a time with
 * an offset is the instant it names, one without a zone is UTC, and every time is kept at millisecond
 * precision, finer digits cut off (floor, before 1970 too). Each function gives a DuckDB `TIMESTAMP`
 * (UTC wall clock) that does not depend on the session's time zone.
 */

/** `floor(a / b)` on BIGINTs (DuckDB's `//` truncates toward zero). */
function floorDiv(a: string, b: number): string {
  return `((${a}) - (((${a}) % ${b}) + ${b}) % ${b}) // ${b}`;
}

/**
 * The instant a text expression names, or NULL when the text is not a time by `EVENT_TIME_PATTERN` (or
 * names no day, such as 2023-02-29). The text is matched by the grammar first; DuckDB's TIMESTAMPTZ
 * parser, which reads every form the grammar allows once `HH:MM` gets its `:00` and the text is upper
 * case, then gives the microseconds, floored to milliseconds. The parse runs once per value.
 */
export function textTimeSql(text: string): string {
  const trimmed = `(CASE WHEN starts_with(${text}, ' ') OR ends_with(${text}, ' ') THEN trim(${text}) ELSE ${text} END)`;
  // DuckDB's parser wants seconds before a zone: `2024-01-31T12:00Z` becomes `2024-01-31T12:00:00Z`.
  const t = '__fstore_time';
  const withSeconds = `upper(CASE WHEN length(${t}) > 10 AND substr(${t}, 17, 1) <> ':' THEN left(${t}, 16) || ':00' || substr(${t}, 17) ELSE ${t} END)`;
  const micros = `epoch_us(TRY_CAST(${withSeconds} AS TIMESTAMPTZ))`;
  return `list_transform([CASE WHEN regexp_full_match(${text}, ${stringLiteral(EVENT_TIME_PATTERN)}) THEN ${trimmed} END], lambda ${t}: date_trunc('millisecond', make_timestamp(${micros})))[1]`;
}

/**
 * The instant of a stored DuckDB time (TIMESTAMP of any unit, TIMESTAMP WITH TIME ZONE or DATE), floored
 * to milliseconds. A TIMESTAMP without zone is UTC. TIMESTAMP_NS is read from its nanoseconds, since a
 * cast to microseconds would round.
 */
export function storedTimeSql(value: string): string {
  const nanosMs = floorDiv(`epoch_ns(${value})`, 1_000_000);
  return `CASE WHEN typeof(${value}) = 'TIMESTAMP_NS' THEN make_timestamp(${nanosMs} * 1000) ELSE date_trunc('millisecond', make_timestamp(epoch_us(${value}))) END`;
}

/**
 * `textTimeSql`, but a value that is not a time stops the query with `error(<message>)`: `message` is a
 * SQL string expression, which can use the value.
 */
export function checkedTextTimeSql(text: string, message: string): string {
  return `coalesce(${textTimeSql(text)}, CASE WHEN ${text} IS NOT NULL THEN error(${message}) END)`;
}
