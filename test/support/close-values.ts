/**
 * Whether a computed value matches the expected one: numbers within a relative 1e-9 (engines and
 * TypeScript sum floats in different orders), lists element by element, anything else exactly, with
 * undefined read as null.
 */
export function closeValues(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return (
      expected.length === actual.length && expected.every((value, index) => closeValues(actual[index], value))
    );
  }
  return (actual ?? null) === (expected ?? null);
}
