import { FstoreError } from '../../lib/errors.js';

/**
 * A reply the HTTP API gives on purpose: its status, a stable `code` callers can branch on, and a message
 * that says what was wrong and how to fix it. Raised at the edge (routing, body parsing, request shape);
 * services raise their own typed errors, which `errorReply` maps.
 * @example throw new ApiError(400, 'INVALID_REQUEST', 'full_feature_names must be true or false; got "yes"');
 */
export class ApiError extends FstoreError {
  override readonly name = 'ApiError';
  /** Extra reply headers, such as `allow` on a 405. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: ErrorOptions & { readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(message, options);
    this.headers = options.headers ?? {};
  }
}
