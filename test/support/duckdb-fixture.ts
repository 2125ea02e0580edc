import { quoteIdentifier, stringLiteral, timestampLiteral } from '../../lib/compute/sql-literals.js';
import type { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';

export type FixtureValue = number | string | boolean | null | Date;

/** Writes rows into a DuckDB table with the given column types, as literal VALUES (fine for small fixtures). */
export async function createTable(
  engine: DuckDBEngine,
  table: string,
  columns: Record<string, string>,
  rows: readonly Record<string, FixtureValue>[],
): Promise<void> {
  const names = Object.keys(columns);
  await engine.run(
    `CREATE OR REPLACE TABLE ${quoteIdentifier(table)} (${names.map((n) => `${quoteIdentifier(n)} ${columns[n]}`).join(', ')})`,
  );
  for (let start = 0; start < rows.length; start += 500) {
    const chunk = rows.slice(start, start + 500);
    const values = chunk.map((row) => `(${names.map((n) => literal(row[n] ?? null)).join(', ')})`).join(', ');
    await engine.run(`INSERT INTO ${quoteIdentifier(table)} VALUES ${values}`);
  }
}

function literal(value: FixtureValue): string {
  if (value === null) return 'NULL';
  if (value instanceof Date) return timestampLiteral(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toExponential();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return stringLiteral(value);
}
