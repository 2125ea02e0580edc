import { FstoreError } from '../errors.js';
import type { QueryFailure } from './offline-engine.js';

/** The state an Athena query ended in, or was in when fstore gave up waiting. */
export type AthenaQueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** What Athena said about a query that did not succeed. */
export interface AthenaQueryErrorDetails {
  /** Athena's QueryExecutionId. */
  readonly queryId: string;
  readonly state: AthenaQueryState;
  /** Athena's `AthenaError.ErrorMessage`, else its `StateChangeReason`. */
  readonly reason: string;
  /** Athena's `AthenaError.Retryable`: true when running the same query again may succeed. */
  readonly retryable?: boolean;
}

/**
 * An Athena query that ended FAILED or CANCELLED. The message is Athena's own reason, e.g.
 * `Athena query 1234-abcd FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'amt' cannot be resolved`;
 * the query id finds it in the Athena console's query history.
 */
export class AthenaQueryError extends FstoreError implements QueryFailure {
  override readonly name: string = 'AthenaQueryError';
  readonly queryId: string;
  readonly state: AthenaQueryState;
  readonly reason: string;
  readonly retryable: boolean;

  constructor(details: AthenaQueryErrorDetails, message?: string, options?: ErrorOptions) {
    super(message ?? `Athena query ${details.queryId} ${details.state}: ${details.reason}`, options);
    this.queryId = details.queryId;
    this.state = details.state;
    this.reason = details.reason;
    this.retryable = details.retryable ?? false;
  }
}

/**
 * An Athena query that ran past the engine's `timeoutMs`. fstore asked Athena to stop it (StopQueryExecution)
 * before throwing; `cause` holds the error if that request failed too.
 */
export class AthenaQueryTimeoutError extends AthenaQueryError {
  override readonly name = 'AthenaQueryTimeoutError';
  readonly timeoutMs: number;

  constructor(queryId: string, state: AthenaQueryState, timeoutMs: number, options?: ErrorOptions) {
    const reason = `did not finish within ${timeoutMs} ms`;
    super(
      { queryId, state, reason, retryable: true },
      `Athena query ${queryId} ${reason} (last state ${state}) and was stopped; raise the engine's timeoutMs, or make the query scan less (fewer partitions per run)`,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** Athena refused to start a query (no such workgroup or database, missing permissions, throttling). */
export class AthenaQueryStartError extends FstoreError implements QueryFailure {
  override readonly name = 'AthenaQueryStartError';
}

/** A writeParquet call that cannot be turned into an UNLOAD (target not in S3, partition column missing). */
export class AthenaUnloadTargetError extends FstoreError {
  override readonly name = 'AthenaUnloadTargetError';
}
