/**
 * Every name that reaches SQL, a DynamoDB attribute or a Glue column must match this pattern. Keeping
 * names to lower-case ASCII means one spelling works unquoted in Athena, DuckDB and Glue (Glue folds
 * case), and quoting stays a second line of defence rather than the only one.
 */
export const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export function isSafeIdentifier(name: unknown): name is string {
  return typeof name === 'string' && SAFE_IDENTIFIER.test(name);
}

/** A safe identifier close to `name`, to suggest in an error: `User ID` -> `user_id`. */
export function suggestIdentifier(name: string): string {
  const cleaned = name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (cleaned === '') return 'name';
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}
