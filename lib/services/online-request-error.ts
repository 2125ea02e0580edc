import { FstoreError } from '../errors.js';

/**
 * A request the service cannot answer as asked. `code` says what is wrong (the HTTP edge picks the status
 * from it, see `lambdas/http/error-status.ts`), the message how to fix it.
 */
export class OnlineRequestError extends FstoreError {
  override readonly name = 'OnlineRequestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
