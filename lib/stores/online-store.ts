import type { ViewState } from '../compute/online-state.js';
import { FstoreError } from '../errors.js';

/** Which item: one per (entity, feature view version). */
export interface OnlineItemKey {
  /** The entity's key as `encodeEntityKey` writes it. */
  readonly entityKey: string;
  readonly view: string;
  /** The view version the state was computed by; a read names the version it wants. */
  readonly version: string;
  /**
   * `stream`: the stream part of the state, the events the stream (and online pushes to a view reading
   * a stream) folded in, in an item of its own. Without it: the batch part, which materialization writes
   * from the batch data. The two parts never hold the same event and never overwrite each other; a read
   * merges them.
   */
  readonly part?: 'stream';
}

/** One (entity, feature view version) and its state. */
export interface OnlineItem extends OnlineItemKey {
  readonly state: ViewState;
  /**
   * When the store may delete the item (epoch milliseconds), from the view's TTL; absent for views
   * without one. Reads never rely on the deletion: they check time themselves.
   */
  readonly expiresAtMs?: number;
  /**
   * How far each stream shard has been applied to this item: shard id -> the sequence number of the last
   * record folded in from that shard. A redelivered record at or before its shard's position is skipped,
   * which makes at-least-once delivery change the state exactly once. Only stream parts have them.
   */
  readonly streamPositions?: Readonly<Record<string, string>>;
}

export interface OnlineWriteResult {
  /** Items stored. */
  readonly written: number;
  /** Items not stored because the store already held a state as new or newer (a replay or a backfill). */
  readonly skipped: number;
}

/**
 * The online store: one item per (entity, feature view version), read many at a time.
 * Implementation: DynamoDBOnlineStore (DynamoDB in AWS, dynalite locally).
 */
export interface OnlineStore {
  /**
   * Reads items; the result is aligned with `keys`, undefined where no item exists. Keys the store could
   * not read after its retries raise `OnlineStoreReadError`: never a silent "not found".
   */
  read(keys: readonly OnlineItemKey[]): Promise<(OnlineItem | undefined)[]>;
  /**
   * Stores each item unless the store holds a state at least as new: newer means a greater `eventTs`,
   * or an equal `eventTs` and a greater `throughTs`. So an older value never overwrites a newer one
   * and writing the same items twice changes nothing.
   */
  write(items: readonly OnlineItem[]): Promise<OnlineWriteResult>;
  /**
   * Read-modify-write, for pushes and streams that add events to a state: for each distinct key,
   * `change` gets the stored item (or undefined) and returns the item to store, or undefined to leave it.
   * Each write is conditional on the item being unchanged since it was read; on a conflict the key is
   * read and changed again, so concurrent updates never lose one another. Stream positions and the expiry
   * the stored item has are kept unless `change` gives its own. Returns how many were stored.
   */
  update(
    keys: readonly OnlineItemKey[],
    change: (key: OnlineItemKey, current: OnlineItem | undefined) => OnlineItem | undefined,
  ): Promise<{ readonly updated: number }>;
}

/** Keys that stayed unread after every retry (throttling): the read fails rather than report them missing. */
export class OnlineStoreReadError extends FstoreError {
  override readonly name = 'OnlineStoreReadError';
}

/** Items that stayed unwritten after every retry. */
export class OnlineStoreWriteError extends FstoreError {
  override readonly name = 'OnlineStoreWriteError';
}

/** The online store cannot be reached (down, refused, timed out): the API answers 503. */
export class OnlineStoreUnavailableError extends FstoreError {
  override readonly name = 'OnlineStoreUnavailableError';
}
