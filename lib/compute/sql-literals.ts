/**
 * Quoting for the SQL the compiler writes. Identifiers are always double-quoted (they are validated
 * as safe at apply time too, but quoting stays on as the second line of defence) and values are
 * always written as escaped literals, never spliced raw.
 */

/** `"name"`, with any `"` doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'`, with any `'` doubled; NUL characters, which no engine stores, are refused. */
export function stringLiteral(text: string): string {
  if (text.includes('\u0000')) throw new Error('a SQL string literal cannot hold a NUL character');
  return `'${text.replaceAll("'", "''")}'`;
}

/** A finite number as SQL; integers stay integers, others get a decimal exponent form engines parse alike. */
export function numberLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} cannot be written as a SQL number`);
  return Number.isInteger(value) ? String(value) : `CAST(${value.toExponential()} AS DOUBLE)`;
}

/** `TIMESTAMP 'YYYY-MM-DD HH:MM:SS.mmm'` for a UTC instant, a form DuckDB and Trino both read. */
export function timestampLiteral(instant: Date): string {
  if (Number.isNaN(instant.getTime()))
    throw new Error('an invalid date cannot be written as a SQL timestamp');
  return `TIMESTAMP '${instant.toISOString().replace('T', ' ').replace('Z', '')}'`;
}
