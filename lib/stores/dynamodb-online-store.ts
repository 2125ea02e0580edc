import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type ViewState, withCurrentTileStats } from '../compute/online-state.js';
import { FstoreError } from '../errors.js';
import {
  type OnlineItem,
  type OnlineItemKey,
  type OnlineStore,
  OnlineStoreReadError,
  OnlineStoreUnavailableError,
  OnlineStoreWriteError,
  type OnlineWriteResult,
} from './online-store.js';
import { ONLINE_TTL_ATTRIBUTE } from './online-table.js';

/** DynamoDB's limits: keys per BatchGetItem, put requests per BatchWriteItem. */
export const MAX_BATCH_GET_KEYS = 100;
export const MAX_BATCH_WRITE_ITEMS = 25;

/** Stores the item unless the table holds a state at least as new (the same order as `isAtLeastAsNew`). */
const NEWER_STATE_CONDITION =
  'attribute_not_exists(pk) OR event_ts < :event_ts OR (event_ts = :event_ts AND through_ts < :through_ts)';
/** What a write needs to know about a stored item: its key and how new its state is, not the state. */
const STORED_VERSION_PROJECTION = 'pk, sk, event_ts, through_ts';

/** Errors DynamoDB throws for a whole call when the table or account is over its throughput. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);
/** Node socket error codes: the request never got an answer from DynamoDB. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

type DynamoDBRecord = Record<string, AttributeValue>;
type DynamoDBOperation = 'BatchGetItem' | 'BatchWriteItem' | 'PutItem' | 'UpdateItem';

export interface DynamoDBOnlineStoreOptions {
  /** The client requests go through; created once by the caller and shared (tests pass a mocked one). */
  readonly client: DynamoDBClient;
  /** The online table: string partition key `pk`, string sort key `sk` (see `ensureOnlineTable`). */
  readonly tableName: string;
  /**
   * Whether reads are strongly consistent, seeing every write acknowledged before them, at twice the read cost.
   * @default false
   */
  readonly consistentRead?: boolean;
  /**
   * Calls per batch (or per conditional put) while DynamoDB leaves keys or items unprocessed or throttles the
   * call; what is still left after that many fails the read or write.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * The backoff before retry `n` (0 first) is `random() * min(maxDelayMs, baseDelayMs * 2 ** n)` ("full jitter").
   * @default 20
   */
  readonly baseDelayMs?: number;
  /**
   * The longest backoff between two calls.
   * @default 1000
   */
  readonly maxDelayMs?: number;
  /**
   * Requests in flight at once within one read or write call.
   * @default 16
   */
  readonly concurrency?: number;
  /**
   * A new revision token for each stored item; `update` writes only if the token is still the one it read.
   * @default crypto.randomUUID
   */
  readonly newRevision?: () => string;
  /**
   * Waits between retries; tests pass one that records the delay and returns at once.
   * @default setTimeout from node:timers/promises
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * A number in [0, 1) for the backoff's jitter; tests pass a constant.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * The online table cannot serve a read or write for a reason retrying will not fix: it does not exist,
 * DynamoDB refused the request (permissions, validation, item too large), or an item holds no readable state.
 */
export class OnlineStoreTableError extends FstoreError {
  override readonly name = 'OnlineStoreTableError';
}

/** How new a state is: what writes compare. */
interface StateVersion {
  readonly eventTs: number;
  readonly throughTs: number;
}

interface WriteOutcome {
  readonly written: number;
  readonly skipped: number;
  readonly unwritten: number;
}

/**
 * The online store in DynamoDB (dynalite locally). One item per (entity, feature view version):
 * `pk` = entity key, `sk` = `<view>#<version>`, `event_ts` and `through_ts` (numbers, from the state),
 * `state` (the state as JSON) and, for views with a TTL, `expires_at` (epoch seconds) for DynamoDB TTL.
 *
 * Reads are BatchGetItem, 100 keys a call, calls in parallel; keys DynamoDB leaves unprocessed (and calls
 * it throttles) are retried with exponential backoff and full jitter, and keys still unread fail the read
 * with `OnlineStoreReadError` rather than come back as missing.
 *
 * Writes must never let an older state replace a newer one, but BatchWriteItem carries no condition and a
 * conditional PutItem per item is several times slower, so `write` is hybrid:
 * 1. duplicate keys within the call keep only the newest state (greater `eventTs`, then greater `throughTs`);
 * 2. one BatchGetItem per 100 items reads what is stored (`pk, sk, event_ts, through_ts` only, strongly
 *    consistent because an absent answer leads to an unconditional write);
 * 3. items whose stored state is as new or newer are skipped;
 * 4. items with no stored item go out as BatchWriteItem puts, 25 a call, unprocessed ones retried;
 * 5. items whose stored state is older go out as UpdateItem each, conditional on the stored state still
 *    being older, so a newer state written meanwhile wins and the item counts as skipped. An update (not a
 *    put) replaces the state and keeps the item's stream positions, so a stream batch redelivered after a
 *    materialization is still recognised as applied.
 *
 * The unconditional puts of step 4 assume no other writer first-writes the same key at the same moment
 * (one materialization or stream shard per view and entity); a replay or a backfill is always safe.
 * @example
 * const store = new DynamoDBOnlineStore({ client, tableName: LOCAL_ONLINE_TABLE });
 * await store.write([{ entityKey: 'user_id=i:42', view: 'user_stats', version: 'v1', state }]);
 * const [item] = await store.read([{ entityKey: 'user_id=i:42', view: 'user_stats', version: 'v1' }]);
 */
export class DynamoDBOnlineStore implements OnlineStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly consistentRead: boolean;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly newRevision: () => string;

  constructor(options: DynamoDBOnlineStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.consistentRead = options.consistentRead ?? false;
    this.maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 8);
    this.baseDelayMs = options.baseDelayMs ?? 20;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.concurrency = positiveInteger('concurrency', options.concurrency ?? 16);
    this.sleep = options.sleep ?? ((ms) => setTimeout(ms));
    this.random = options.random ?? Math.random;
    this.newRevision = options.newRevision ?? randomUUID;
  }

  /**
   * Reads each distinct key once and answers every position asking for it. Items come back without
   * `expiresAtMs`: the table keeps it in whole seconds for DynamoDB TTL, and reads check age themselves.
   */
  async read(keys: readonly OnlineItemKey[]): Promise<(OnlineItem | undefined)[]> {
    const distinct = new Map(keys.map((key) => [keyId(key), key]));
    const { found, unread } = await this.batchGet([...distinct.values()], this.consistentRead);
    if (unread > 0) {
      throw new OnlineStoreReadError(
        `${unread} of ${distinct.size} keys stayed unread after ${this.maxAttempts} attempts: the online store (DynamoDB table "${this.tableName}") is throttled; retry, or raise the table's capacity`,
      );
    }
    return keys.map((key) => {
      const record = found.get(keyId(key));
      return record === undefined ? undefined : this.onlineItem(key, record);
    });
  }

  /**
   * Stores each item unless the table holds a state at least as new, by the hybrid algorithm in the class
   * documentation. `skipped` counts items not stored: older or equal states, duplicates within the call, and
   * conditional puts a concurrent newer write beat; `written + skipped` is `items.length`.
   */
  async write(items: readonly OnlineItem[]): Promise<OnlineWriteResult> {
    const newest = newestPerKey(items);
    const stored = await this.storedVersions([...newest.values()]);
    const absent: OnlineItem[] = [];
    const older: OnlineItem[] = [];
    let skipped = items.length - newest.size;
    for (const [id, item] of newest) {
      const current = stored.get(id);
      if (current === undefined) absent.push(item);
      else if (isAtLeastAsNew(current, item.state)) skipped++;
      else older.push(item);
    }
    const tasks = [
      ...chunks(absent, MAX_BATCH_WRITE_ITEMS).map((batch) => () => this.batchPut(batch)),
      ...older.map((item) => () => this.conditionalPut(item)),
    ];
    const outcomes = await mapConcurrent(tasks, this.concurrency, (task) => task());
    let written = 0;
    let unwritten = 0;
    for (const outcome of outcomes) {
      written += outcome.written;
      skipped += outcome.skipped;
      unwritten += outcome.unwritten;
    }
    if (unwritten > 0) {
      throw new OnlineStoreWriteError(
        `${unwritten} of ${newest.size} items stayed unwritten after ${this.maxAttempts} attempts: the online store (DynamoDB table "${this.tableName}") is throttled; write them again (writing is idempotent), or raise the table's capacity`,
      );
    }
    return { written, skipped };
  }

  async update(
    keys: readonly OnlineItemKey[],
    change: (key: OnlineItemKey, current: OnlineItem | undefined) => OnlineItem | undefined,
  ): Promise<{ readonly updated: number }> {
    const distinct = [...new Map(keys.map((key) => [keyId(key), key])).values()];
    let pending = distinct;
    let updated = 0;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const { found, unread } = await this.batchGet(pending, true);
      if (unread > 0) {
        throw new OnlineStoreWriteError(
          `${unread} of ${distinct.length} items stayed unwritten: they stayed unread after ${this.maxAttempts} attempts, as the online store (DynamoDB table "${this.tableName}") is throttled; retry, or raise the table's capacity`,
        );
      }
      const outcomes = await mapConcurrent(pending, this.concurrency, async (key) => {
        const record = found.get(keyId(key));
        const current = record === undefined ? undefined : this.onlineItem(key, record);
        const changed = change(key, current);
        if (changed === undefined) return 'unchanged' as const;
        // The put replaces the whole item: what `change` leaves out of the stored item is carried over.
        const storedExpiry = record?.[ONLINE_TTL_ATTRIBUTE]?.N;
        const next: OnlineItem = {
          ...changed,
          ...(changed.streamPositions === undefined && current?.streamPositions
            ? { streamPositions: current.streamPositions }
            : {}),
          ...(changed.expiresAtMs === undefined && storedExpiry !== undefined
            ? { expiresAtMs: Number(storedExpiry) * 1000 }
            : {}),
        };
        return this.revisionPut(next, record?.rev?.S, record !== undefined);
      });
      updated += outcomes.filter((outcome) => outcome === 'written').length;
      const conflicts = pending.filter((_, index) => outcomes[index] === 'conflict');
      if (conflicts.length > 0 && attempt >= this.maxAttempts) {
        throw new OnlineStoreWriteError(
          `${conflicts.length} items kept changing under concurrent writers through ${this.maxAttempts} attempts (DynamoDB table "${this.tableName}"); send them again`,
        );
      }
      if (conflicts.length > 0) {
        await this.sleep(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
      }
      pending = conflicts;
    }
    return { updated };
  }

  /** Stores `item` if the stored item still has `revision` (or, when none was read, still does not exist). */
  private async revisionPut(
    item: OnlineItem,
    revision: string | undefined,
    existed: boolean,
  ): Promise<'written' | 'conflict'> {
    const outcome = await this.putIf(
      item,
      existed && revision !== undefined
        ? { ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': { S: revision } } }
        : { ConditionExpression: existed ? 'attribute_not_exists(rev)' : 'attribute_not_exists(pk)' },
    );
    if (outcome === 'unwritten') {
      throw new OnlineStoreWriteError(
        `an update stayed unwritten after ${this.maxAttempts} attempts: the online store (DynamoDB table "${this.tableName}") is throttled; send it again`,
      );
    }
    return outcome === 'written' ? 'written' : 'conflict';
  }

  private async storedVersions(items: readonly OnlineItem[]): Promise<Map<string, StateVersion>> {
    const { found, unread } = await this.batchGet(items, true, STORED_VERSION_PROJECTION);
    if (unread > 0) {
      throw new OnlineStoreWriteError(
        `${unread} of ${items.length} items stayed unwritten: their stored state stayed unread after ${this.maxAttempts} attempts, as the online store (DynamoDB table "${this.tableName}") is throttled; write them again (writing is idempotent), or raise the table's capacity`,
      );
    }
    const versions = new Map<string, StateVersion>();
    for (const [id, record] of found) {
      versions.set(id, { eventTs: Number(record.event_ts?.N), throughTs: Number(record.through_ts?.N) });
    }
    return versions;
  }

  /** The items found, by `keyId`, and how many keys stayed unprocessed after every retry. */
  private async batchGet(
    keys: readonly OnlineItemKey[],
    consistentRead: boolean,
    projection?: string,
  ): Promise<{ found: Map<string, DynamoDBRecord>; unread: number }> {
    const found = new Map<string, DynamoDBRecord>();
    const left = await mapConcurrent(
      chunks(keys.map(dynamoDBKey), MAX_BATCH_GET_KEYS),
      this.concurrency,
      (batch) =>
        this.retryLeftovers(batch, 'BatchGetItem', async (pending) => {
          const output = await this.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: pending,
                  ...(consistentRead ? { ConsistentRead: true } : {}),
                  ...(projection === undefined ? {} : { ProjectionExpression: projection }),
                },
              },
            }),
          );
          for (const record of output.Responses?.[this.tableName] ?? []) {
            found.set(itemId(record.pk?.S, record.sk?.S), record);
          }
          return output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        }),
    );
    return { found, unread: left.reduce((total, count) => total + count, 0) };
  }

  private async batchPut(batch: readonly OnlineItem[]): Promise<WriteOutcome> {
    const requests: WriteRequest[] = batch.map((item) => ({
      PutRequest: { Item: dynamoDBItem(item, this.newRevision()) },
    }));
    const unwritten = await this.retryLeftovers(requests, 'BatchWriteItem', async (pending) => {
      const output = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
      );
      return output.UnprocessedItems?.[this.tableName] ?? [];
    });
    return { written: batch.length - unwritten, skipped: 0, unwritten };
  }

  private async conditionalPut(item: OnlineItem): Promise<WriteOutcome> {
    let refused = false;
    const unwritten = await this.retryLeftovers([item], 'UpdateItem', async () => {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: dynamoDBKey(item),
            UpdateExpression: `SET #state = :state, event_ts = :event_ts, through_ts = :through_ts, rev = :rev${
              item.expiresAtMs === undefined ? '' : `, ${ONLINE_TTL_ATTRIBUTE} = :expires_at`
            }`,
            ConditionExpression: NEWER_STATE_CONDITION,
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':state': { S: JSON.stringify(item.state) },
              ':event_ts': { N: String(item.state.eventTs) },
              ':through_ts': { N: String(item.state.throughTs) },
              ':rev': { S: this.newRevision() },
              ...(item.expiresAtMs === undefined
                ? {}
                : { ':expires_at': expiresAtAttribute(item.expiresAtMs) }),
            },
          }),
        );
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        // A state at least as new was written since the stored versions were read.
        refused = true;
      }
      return [];
    });
    if (unwritten > 0) return { written: 0, skipped: 0, unwritten: 1 };
    return refused ? { written: 0, skipped: 1, unwritten: 0 } : { written: 1, skipped: 0, unwritten: 0 };
  }

  /** One PutItem under a condition, throttling retried: written, refused by the condition, or still unwritten. */
  private async putIf(
    item: OnlineItem,
    condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<'written' | 'refused' | 'unwritten'> {
    let refused = false;
    const unwritten = await this.retryLeftovers([item], 'PutItem', async () => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: dynamoDBItem(item, this.newRevision()),
            ...condition,
          }),
        );
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        refused = true;
      }
      return [];
    });
    if (unwritten > 0) return 'unwritten';
    return refused ? 'refused' : 'written';
  }

  /**
   * Calls `send` with what is pending until nothing is left over or `maxAttempts` calls are made, backing
   * off between calls; a throttled call counts as an attempt that processed nothing. Returns how many stayed
   * left over; other errors are thrown as the store's errors.
   */
  private async retryLeftovers<T>(
    initial: T[],
    operation: DynamoDBOperation,
    send: (pending: T[]) => Promise<T[]>,
  ): Promise<number> {
    let pending = initial;
    for (let attempt = 1; ; attempt++) {
      try {
        pending = await send(pending);
        if (pending.length === 0) return 0;
      } catch (error) {
        if (!THROTTLING_ERRORS.has(errorName(error) ?? '')) throw this.storeError(error, operation);
      }
      if (attempt >= this.maxAttempts) return pending.length;
      await this.sleep(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
    }
  }

  private storeError(error: unknown, operation: DynamoDBOperation): unknown {
    if (!(error instanceof Error)) return error;
    if (isConnectionFailure(error)) {
      return new OnlineStoreUnavailableError(
        `the online store (DynamoDB table "${this.tableName}") cannot be reached: ${error.message}`,
        { cause: error },
      );
    }
    // Without $metadata the error did not come from DynamoDB: a bug here, thrown as it is.
    if (!('$metadata' in error)) return error;
    if (error.name === 'ResourceNotFoundException') {
      return new OnlineStoreTableError(
        `the online store's DynamoDB table "${this.tableName}" does not exist; run \`fstore apply\` to create it locally, or deploy the stack (cdk deploy) in AWS`,
        { cause: error },
      );
    }
    return new OnlineStoreTableError(
      `the online store (DynamoDB table "${this.tableName}") refused a ${operation} request: ${error.name}: ${error.message}`,
      { cause: error },
    );
  }

  private onlineItem(key: OnlineItemKey, record: DynamoDBRecord): OnlineItem {
    let state: ViewState;
    try {
      state = withCurrentTileStats(JSON.parse(record.state?.S ?? ''));
    } catch (error) {
      throw new OnlineStoreTableError(
        `the online item of entity "${key.entityKey}", view "${key.view}" version ${key.version} in DynamoDB table "${this.tableName}" holds no readable state; materialize the view again to rewrite it`,
        { cause: error },
      );
    }
    const positions = record.stream_positions?.M;
    return {
      entityKey: key.entityKey,
      view: key.view,
      version: key.version,
      ...(key.part ? { part: key.part } : {}),
      state,
      ...(positions === undefined
        ? {}
        : {
            streamPositions: Object.fromEntries(
              Object.entries(positions).map(([shard, sequence]) => [shard, sequence.S ?? '']),
            ),
          }),
    };
  }
}

function sortKey(key: OnlineItemKey): string {
  return `${key.view}#${key.version}${key.part === 'stream' ? '#stream' : ''}`;
}

/** One string per (pk, sk), unambiguous whatever the two hold. */
function itemId(pk: string | undefined, sk: string | undefined): string {
  return JSON.stringify([pk, sk]);
}

function keyId(key: OnlineItemKey): string {
  return itemId(key.entityKey, sortKey(key));
}

function dynamoDBKey(key: OnlineItemKey): DynamoDBRecord {
  return { pk: { S: key.entityKey }, sk: { S: sortKey(key) } };
}

function dynamoDBItem(item: OnlineItem, revision: string): DynamoDBRecord {
  return {
    ...dynamoDBKey(item),
    rev: { S: revision },
    event_ts: { N: String(item.state.eventTs) },
    through_ts: { N: String(item.state.throughTs) },
    state: { S: JSON.stringify(item.state) },
    ...(item.expiresAtMs === undefined
      ? {}
      : { [ONLINE_TTL_ATTRIBUTE]: expiresAtAttribute(item.expiresAtMs) }),
    ...(item.streamPositions === undefined || Object.keys(item.streamPositions).length === 0
      ? {}
      : {
          stream_positions: {
            M: Object.fromEntries(
              Object.entries(item.streamPositions).map(([shard, sequence]) => [shard, { S: sequence }]),
            ),
          },
        }),
  };
}

/** Seconds rounded up, so DynamoDB TTL never deletes an item before the time it was given. */
function expiresAtAttribute(expiresAtMs: number): AttributeValue {
  return { N: String(Math.ceil(expiresAtMs / 1000)) };
}

function isAtLeastAsNew(stored: StateVersion, candidate: StateVersion): boolean {
  return (
    stored.eventTs > candidate.eventTs ||
    (stored.eventTs === candidate.eventTs && stored.throughTs >= candidate.throughTs)
  );
}

/** The newest item per key, by `keyId`, in first-seen order. */
function newestPerKey(items: readonly OnlineItem[]): Map<string, OnlineItem> {
  const newest = new Map<string, OnlineItem>();
  for (const item of items) {
    const id = keyId(item);
    const kept = newest.get(id);
    if (kept === undefined || !isAtLeastAsNew(kept.state, item.state)) newest.set(id, item);
  }
  return newest;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/** Runs `work` on every input, at most `limit` at once; after a failure starts no more and rejects with it. */
async function mapConcurrent<T, R>(
  inputs: readonly T[],
  limit: number,
  work: (input: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(inputs.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < inputs.length) {
      const index = next++;
      try {
        results[index] = await work(inputs[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, inputs.length) }, worker));
  return results;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** No answer from DynamoDB: refused, reset, timed out, unresolvable (also when wrapped as `cause`). */
function isConnectionFailure(error: Error): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 3; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (current.name === 'TimeoutError' || (code !== undefined && CONNECTION_ERROR_CODES.has(code)))
      return true;
    current = current.cause;
  }
  return false;
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new FstoreError(
      `DynamoDBOnlineStore option ${option} must be a whole number of at least 1, got ${value}`,
    );
  }
  return value;
}
