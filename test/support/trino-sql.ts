import { TrinoSQL } from 'dt-sql-parser/dist/parser/trino/index.js';

// One parser for the whole test run: building its ANTLR tables is the slow part.
const trino = new TrinoSQL();

/**
 * Throws unless `sql` parses with dt-sql-parser's Trino grammar, listing each syntax error with its
 * line and column, then the SQL with line numbers. It checks syntax only: unknown functions or tables
 * pass, and so do some words from other dialects that read as aliases (`a ASOF JOIN b` is `a AS asof`).
 */
export function assertValidTrinoSql(sql: string): void {
  if (sql.trim() === '') throw new Error('expected Trino SQL, got an empty string');
  const errors = trino.validate(sql);
  if (errors.length === 0) return;
  const problems = errors.map((e) => `  line ${e.startLine}:${e.startColumn}: ${e.message}`).join('\n');
  const numbered = sql
    .split('\n')
    .map((line, index) => `${String(index + 1).padStart(4)} | ${line}`)
    .join('\n');
  throw new Error(`not valid Trino SQL:\n${problems}\n${numbered}`);
}

const UNLOAD = /^UNLOAD \(\n([\s\S]*)\n\) TO '((?:[^']|'')*)' WITH \(([^()]*(?:\([^()]*\)[^()]*)*)\)$/;

/**
 * The grammar has no UNLOAD (an Athena extension), so this checks the statement in parts: the exact
 * `UNLOAD (\n<select>\n) TO '<s3 location>' WITH (<properties>)` shape the Athena engine writes, the
 * select with the Trino grammar, and the properties inside a CREATE TABLE ... WITH (...), whose property
 * list has the same syntax. Returns the parts for further assertions.
 */
export function assertValidAthenaUnload(sql: string): {
  select: string;
  location: string;
  properties: string;
} {
  const match = UNLOAD.exec(sql);
  if (!match)
    throw new Error(`not an UNLOAD (\\n<select>\\n) TO '<location>' WITH (<properties>) statement:\n${sql}`);
  const [, select = '', location = '', properties = ''] = match;
  assertValidTrinoSql(select);
  assertValidTrinoSql(`CREATE TABLE unload_properties WITH (${properties}) AS SELECT 1 AS x`);
  return { select, location: location.replaceAll("''", "'"), properties };
}
