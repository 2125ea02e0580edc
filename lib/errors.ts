/**
 * Every error the library throws on purpose extends FstoreError, so the edges (CLI, HTTP handlers) can
 * tell an expected failure with a message for the user from a bug. Messages say what was wrong and how
 * to fix it; `cause` keeps the underlying error.
 */
export class FstoreError extends Error {
  override readonly name: string = 'FstoreError';
}
