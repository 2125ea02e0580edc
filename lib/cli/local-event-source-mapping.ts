import { randomUUID } from 'node:crypto';
import {
  type _Record,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  ListShardsCommand,
  type ListShardsCommandInput,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { FstoreError } from '../errors.js';
import type { CheckpointStore } from './event-source-checkpoints.js';

export { type CheckpointStore, fileCheckpoints, memoryCheckpoints } from './event-source-checkpoints.js';

/** The function a local event source mapping invokes: an ingest Lambda handler, minus the context. */
export type KinesisBatchHandler = (
  event: KinesisStreamEvent,
) => Promise<KinesisStreamBatchResponse | undefined> | Promise<void>;

/** Where the mapping logs what it cannot hand to anyone else (`console` fits). */
export interface EventSourceMappingLogger {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * What is handed to `onFailure` when records are discarded, shaped like the invocation record AWS sends
 * to an SQS/SNS on-failure destination of a Kinesis event source mapping, plus two local additions:
 * `errorMessage` and `payload` (the discarded records themselves, as an S3 destination would carry them).
 */
export interface KinesisFailureDetails {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted';
    /** Invocations that included these records. */
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: 200;
    readonly executedVersion: '$LATEST';
    /** Set when the last attempt threw; absent when it reported batch item failures. */
    readonly functionError?: 'Unhandled';
  };
  readonly version: '1.0';
  /** ISO time of the discard. */
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
  /** Why the last attempt failed: the thrown error's message, or which records the handler reported. */
  readonly errorMessage: string;
  readonly payload: KinesisStreamEvent;
}

/** One finished invocation of the handler, for tests and freshness benchmarks. */
export interface InvocationReport {
  readonly shardId: string;
  readonly event: KinesisStreamEvent;
  /** 0 on the first delivery of these records, n on the n-th retry (bisecting is not a retry). */
  readonly retryAttempt: number;
  /** True when the batch is a half (of a half...) of a batch that failed. */
  readonly bisected: boolean;
  /** `Date.now()` before and after the handler ran. */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** success: every record is done; partial-failure: valid batchItemFailures; failure: thrown or invalid reply. */
  readonly outcome: 'success' | 'partial-failure' | 'failure';
  /** The thrown error, or the reason a reply counted as a complete failure. */
  readonly error?: unknown;
}

export interface EventSourceMappingStats {
  /** Handler invocations, retries and bisected halves included. */
  readonly invocations: number;
  /** Records passed to the handler, redeliveries included. */
  readonly records: number;
  /** Invocations that were retries (each uses one of `maxRetryAttempts`). */
  readonly retries: number;
  /** Batches split in two after a failure. */
  readonly bisections: number;
  /** Batches handed to `onFailure` (or logged) after their retries ran out. */
  readonly failedBatches: number;
  /** Records in those batches. */
  readonly discardedRecords: number;
}

export interface LocalEventSourceMappingOptions {
  /** Caller-owned; stop() does not destroy it. For kinesalite, `createKinesisClient({ endpoint })`. */
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly handler: KinesisBatchHandler;
  /** Records per invocation at most (GetRecords Limit), 1 to 10,000. @default 100 (as AWS) */
  readonly batchSize?: number;
  /**
   * Retries of a failed batch before its records go to `onFailure`, 0 to 10,000, or -1 for no limit (the
   * AWS default, which retries until the records expire from the stream). @default 3 (local: a poison
   * record must not block its shard for a day)
   */
  readonly maxRetryAttempts?: number;
  /** Split a batch in two when the handler throws, without using a retry. @default true */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Honour `batchItemFailures` (FunctionResponseTypes: ReportBatchItemFailures). @default true */
  readonly reportBatchItemFailures?: boolean;
  /** Wait before polling a shard again after it returned no records. @default 100 */
  readonly idlePollMs?: number;
  /** Wait before retry n is `min(retryDelayMs * 2 ** (n - 1), maxRetryDelayMs)`. @default 100 */
  readonly retryDelayMs?: number;
  /** @default 5000 */
  readonly maxRetryDelayMs?: number;
  /** How often to look for new shards (ListShards). @default 5000 */
  readonly shardRefreshMs?: number;
  /**
   * Where to start reading a shard that has no checkpoint, for the shards found at start. Shards that
   * appear later (children of a split or merge) are read from their beginning. @default 'TRIM_HORIZON'
   */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Resume after the last record done with. Without it, every start reads from `startingPosition`. */
  readonly checkpoints?: CheckpointStore;
  /** The on-failure destination: receives discarded batches. Without it they are logged with `logger.error`. */
  readonly onFailure?: (details: KinesisFailureDetails) => Promise<void> | void;
  /** Called after every invocation; errors it throws are logged and ignored. */
  readonly onInvocation?: (report: InvocationReport) => void;
  /** @default console */
  readonly logger?: EventSourceMappingLogger;
  /** For ARNs in events and failure records. @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** For the functionArn of failure records. @default 'fstore-local' */
  readonly functionName?: string;
}

export interface LocalEventSourceMapping {
  /**
   * Stops polling: aborts waits and in-flight Kinesis calls, lets an in-flight invocation finish and
   * checkpoints its result, then resolves. Leaves no timer or request of its own running.
   */
  stop(): Promise<void>;
  /**
   * Resolves once every record put before the call has been handed to the handler and the handler is
   * done with it: each shard has come back empty at the tip of the stream (MillisBehindLatest 0) on a
   * poll started after the call, or has been read to its end. Shards are listed again first, so a
   * reshard just before the call is seen. Waits as long as a failing batch is being retried; rejects if
   * stop() is called first.
   */
  caughtUp(): Promise<void>;
  stats(): EventSourceMappingStats;
}

const DEFAULTS = {
  batchSize: 100,
  maxRetryAttempts: 3,
  idlePollMs: 100,
  retryDelayMs: 100,
  maxRetryDelayMs: 5_000,
  shardRefreshMs: 5_000,
};

/** Backoff after Kinesis errors (throttling, network): 50 ms doubling to 2 s. */
const KINESIS_BACKOFF_MS = 50;
const KINESIS_MAX_BACKOFF_MS = 2_000;

/**
 * Polls a Kinesis stream (kinesalite locally) and invokes a handler the way an AWS Lambda event source
 * mapping does with ParallelizationFactor 1: per shard, one batch at a time, in sequence order, with
 * ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts and an on-failure
 * destination. Resolves once the shards are listed (throws if the stream cannot be listed).
 */
export async function startLocalEventSourceMapping(
  options: LocalEventSourceMappingOptions,
): Promise<LocalEventSourceMapping> {
  const mapping = new EventSourceMapping(options);
  await mapping.start();
  return {
    stop: () => mapping.stop(),
    caughtUp: () => mapping.caughtUp(),
    stats: () => mapping.stats(),
  };
}

interface ShardState {
  readonly shardId: string;
  /** Found by the first ListShards: read from `startingPosition` rather than TRIM_HORIZON. */
  readonly initial: boolean;
  status: 'waiting' | 'reading' | 'finished' | 'stopped';
  /** The last record done with; the shard is read again just after it. */
  position: string | undefined;
  /** Whether `position` was loaded from the checkpoint store yet. */
  loaded: boolean;
  /** Id (tick) of the latest poll that came back empty at the tip. */
  caughtUpPoll: number;
  done: Promise<void>;
}

/** A run of consecutive records of one shard, handed to the handler as one event. */
interface Segment {
  readonly records: readonly KinesisStreamRecord[];
  readonly retries: number;
  readonly bisected: boolean;
  /** Invocations so far that included all of these records. */
  readonly invocations: number;
}

type Outcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial-failure'; readonly index: number; readonly message: string }
  | { readonly kind: 'failure'; readonly message: string; readonly thrown: boolean; readonly error: unknown };

class EventSourceMapping {
  private readonly client: KinesisClient;
  private readonly streamName: string;
  private readonly handler: KinesisBatchHandler;
  private readonly batchSize: number;
  private readonly maxRetryAttempts: number;
  private readonly bisect: boolean;
  private readonly reportBatchItemFailures: boolean;
  private readonly idlePollMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly shardRefreshMs: number;
  private readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  private readonly logger: EventSourceMappingLogger;
  private readonly region: string;
  private readonly streamArn: string;
  private readonly functionArn: string;
  private readonly invokeIdentityArn: string;

  private readonly abort = new AbortController();
  private readonly shards = new Map<string, ShardState>();
  private readonly waiters: { mark: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private refreshLoop: Promise<void> | undefined;
  /** A logical clock: every poll and every ListShards takes the next value when it starts. */
  private tick = 0;
  /** Id of the latest ListShards that succeeded. */
  private listedAt = 0;
  private readonly counts = {
    invocations: 0,
    records: 0,
    retries: 0,
    bisections: 0,
    failedBatches: 0,
    discardedRecords: 0,
  };

  constructor(private readonly options: LocalEventSourceMappingOptions) {
    this.client = options.client;
    this.streamName = options.streamName;
    this.handler = options.handler;
    this.batchSize = integerOption('batchSize', options.batchSize ?? DEFAULTS.batchSize, 1, 10_000);
    this.maxRetryAttempts = integerOption(
      'maxRetryAttempts',
      options.maxRetryAttempts ?? DEFAULTS.maxRetryAttempts,
      -1,
      10_000,
    );
    this.bisect = options.bisectBatchOnFunctionError ?? true;
    this.reportBatchItemFailures = options.reportBatchItemFailures ?? true;
    this.idlePollMs = integerOption('idlePollMs', options.idlePollMs ?? DEFAULTS.idlePollMs, 0);
    this.retryDelayMs = integerOption('retryDelayMs', options.retryDelayMs ?? DEFAULTS.retryDelayMs, 0);
    this.maxRetryDelayMs = integerOption(
      'maxRetryDelayMs',
      options.maxRetryDelayMs ?? DEFAULTS.maxRetryDelayMs,
      0,
    );
    this.shardRefreshMs = integerOption(
      'shardRefreshMs',
      options.shardRefreshMs ?? DEFAULTS.shardRefreshMs,
      1,
    );
    this.startingPosition = options.startingPosition ?? 'TRIM_HORIZON';
    if (this.startingPosition !== 'TRIM_HORIZON' && this.startingPosition !== 'LATEST') {
      throw new FstoreError(`startingPosition must be TRIM_HORIZON or LATEST, not ${this.startingPosition}`);
    }
    this.logger = options.logger ?? console;
    this.region = options.region ?? 'us-east-1';
    const account = options.accountId ?? '000000000000';
    this.streamArn = `arn:aws:kinesis:${this.region}:${account}:stream/${this.streamName}`;
    this.functionArn = `arn:aws:lambda:${this.region}:${account}:function:${options.functionName ?? 'fstore-local'}`;
    this.invokeIdentityArn = `arn:aws:iam::${account}:role/fstore-local`;
  }

  async start(): Promise<void> {
    try {
      await this.refreshShards();
    } catch (error) {
      this.stopping = true;
      this.abort.abort();
      await Promise.allSettled([...this.shards.values()].map((shard) => shard.done));
      throw new FstoreError(
        `cannot list the shards of Kinesis stream "${this.streamName}" (${errorText(error)}); create the stream first`,
        { cause: error },
      );
    }
    this.refreshLoop = this.refreshPeriodically();
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.abort.abort();
      await this.refreshLoop;
      // Children wait on their parents, so every shard's loop ends once the running ones have.
      while (
        [...this.shards.values()].some((shard) => shard.status === 'waiting' || shard.status === 'reading')
      ) {
        await Promise.allSettled([...this.shards.values()].map((shard) => shard.done));
      }
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(
          new FstoreError(`the event source mapping of "${this.streamName}" stopped before catching up`),
        );
      }
    })();
    return this.stopped;
  }

  caughtUp(): Promise<void> {
    if (this.stopping) {
      return Promise.reject(new FstoreError(`the event source mapping of "${this.streamName}" is stopped`));
    }
    const mark = this.tick;
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ mark, resolve, reject }));
    this.refreshShards().catch((error) => this.logListError(error));
    return promise;
  }

  stats(): EventSourceMappingStats {
    return { ...this.counts };
  }

  // --- shards -------------------------------------------------------------------------------------------

  private async refreshPeriodically(): Promise<void> {
    let failing = false;
    while (!this.stopping) {
      await delay(this.shardRefreshMs, this.abort.signal);
      if (this.stopping) return;
      try {
        await this.refreshShards();
        failing = false;
      } catch (error) {
        if (!failing && !this.stopping) this.logListError(error);
        failing = true;
      }
    }
  }

  private logListError(error: unknown): void {
    if (this.stopping) return;
    this.logger.warn(
      `[fstore esm ${this.streamName}] ListShards failed, trying again later: ${errorText(error)}`,
    );
  }

  /** Lists the shards and starts a loop for each one not seen before; parents before their children. */
  private async refreshShards(): Promise<void> {
    const id = ++this.tick;
    const listed: Shard[] = [];
    let input: ListShardsCommandInput = { StreamName: this.streamName };
    for (;;) {
      const output = await this.client.send(new ListShardsCommand(input), { abortSignal: this.abort.signal });
      listed.push(...(output.Shards ?? []));
      if (!output.NextToken) break;
      input = { NextToken: output.NextToken };
    }
    if (this.stopping) return;
    const initial = this.listedAt === 0;
    const added: { state: ShardState; shard: Shard }[] = [];
    for (const shard of listed) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      const state: ShardState = {
        shardId: shard.ShardId,
        initial,
        status: 'waiting',
        position: undefined,
        loaded: false,
        caughtUpPoll: 0,
        done: Promise.resolve(),
      };
      this.shards.set(shard.ShardId, state);
      added.push({ state, shard });
    }
    for (const { state, shard } of added) {
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId]
        .map((parentId) => (parentId ? this.shards.get(parentId) : undefined))
        .filter((parent): parent is ShardState => parent !== undefined);
      state.done = this.runShard(state, parents);
    }
    this.listedAt = Math.max(this.listedAt, id);
    this.notify();
  }

  private async runShard(shard: ShardState, parents: readonly ShardState[]): Promise<void> {
    try {
      // Let the listing loop set every new shard's `done` first, so a child listed before its parent
      // still waits for the parent's real run rather than its placeholder.
      await Promise.resolve();
      // A child shard starts once its parents are read to their end, so a key's records stay in order.
      await Promise.all(parents.map((parent) => parent.done));
      if (this.stopping) return;
      shard.status = 'reading';
      await this.readShard(shard);
    } catch (error) {
      // Only a bug gets here: Kinesis and handler errors are handled in readShard.
      this.logger.error(
        `[fstore esm ${this.streamName}] ${shard.shardId} stopped on an error: ${errorText(error)}`,
      );
    } finally {
      if (shard.status !== 'finished') shard.status = 'stopped';
      this.notify();
    }
  }

  private async readShard(shard: ShardState): Promise<void> {
    let iterator: string | undefined;
    let failures = 0;
    while (!this.stopping) {
      if (iterator === undefined) {
        iterator = await this.shardIterator(shard);
        if (iterator === undefined) {
          await delay(backoff(failures++), this.abort.signal);
          continue;
        }
      }
      const pollId = ++this.tick;
      let output: GetRecordsCommandOutput;
      try {
        output = await this.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.batchSize }),
          {
            abortSignal: this.abort.signal,
          },
        );
        failures = 0;
      } catch (error) {
        if (this.stopping) return;
        const name = errorName(error);
        if (name === 'ExpiredIteratorException' || name === 'InvalidArgumentException') {
          // Ask for a new iterator just after the checkpoint; nothing past it was taken as done.
          iterator = undefined;
          if (failures++ > 0) await delay(backoff(failures), this.abort.signal);
          continue;
        }
        if (failures === 0) {
          this.logger.warn(
            `[fstore esm ${this.streamName}] GetRecords on ${shard.shardId} failed, retrying with backoff: ${errorText(error)}`,
          );
        }
        await delay(backoff(failures++), this.abort.signal);
        continue;
      }
      const records = output.Records ?? [];
      if (records.length > 0) {
        const complete = await this.deliver(shard, records);
        if (!complete) return;
      }
      if (!output.NextShardIterator) {
        // A closed shard read to its end: its children may start.
        shard.status = 'finished';
        this.notify();
        return;
      }
      iterator = output.NextShardIterator;
      if (records.length === 0) {
        if ((output.MillisBehindLatest ?? 0) === 0) {
          shard.caughtUpPoll = pollId;
          this.notify();
        }
        await delay(this.idlePollMs, this.abort.signal);
      }
    }
  }

  /** A fresh iterator just after the checkpoint, or at the starting position; undefined on an error. */
  private async shardIterator(shard: ShardState): Promise<string | undefined> {
    try {
      if (!shard.loaded) {
        shard.position = (await this.options.checkpoints?.load(shard.shardId)) ?? undefined;
        shard.loaded = true;
      }
      const input: GetShardIteratorCommandInput =
        shard.position !== undefined
          ? {
              StreamName: this.streamName,
              ShardId: shard.shardId,
              ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
              StartingSequenceNumber: shard.position,
            }
          : {
              StreamName: this.streamName,
              ShardId: shard.shardId,
              ShardIteratorType: shard.initial ? this.startingPosition : 'TRIM_HORIZON',
            };
      try {
        const output = await this.client.send(new GetShardIteratorCommand(input), {
          abortSignal: this.abort.signal,
        });
        return output.ShardIterator;
      } catch (error) {
        if (shard.position === undefined || errorName(error) !== 'InvalidArgumentException') throw error;
        // The checkpoint is not from this stream: it was deleted and created again (kinesalite keeps
        // streams in memory). Everything in the new stream is unread, so read it from the beginning.
        this.logger.warn(
          `[fstore esm ${this.streamName}] the checkpoint of ${shard.shardId} (${shard.position}) is not from this stream; reading the shard from TRIM_HORIZON`,
        );
        shard.position = undefined;
        const output = await this.client.send(
          new GetShardIteratorCommand({
            StreamName: this.streamName,
            ShardId: shard.shardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
          { abortSignal: this.abort.signal },
        );
        return output.ShardIterator;
      }
    } catch (error) {
      if (!this.stopping) {
        this.logger.warn(
          `[fstore esm ${this.streamName}] GetShardIterator on ${shard.shardId} failed, retrying with backoff: ${errorText(error)}`,
        );
      }
      return undefined;
    }
  }

  // --- delivery -----------------------------------------------------------------------------------------

  /**
   * Hands one GetRecords batch to the handler until every record is done with: delivered, or discarded
   * to onFailure after its retries. Returns false when stop() interrupted it (the checkpoint then sits
   * after the last record done with, so a restart delivers the rest).
   */
  private async deliver(shard: ShardState, fetched: readonly _Record[]): Promise<boolean> {
    const records = fetched.map((record) => this.eventRecord(shard.shardId, record));
    const queue: Segment[] = [{ records, retries: 0, bisected: false, invocations: 0 }];
    while (queue.length > 0) {
      if (this.stopping) return false;
      const segment = queue.shift() as Segment;
      if (segment.retries > 0) {
        await delay(
          Math.min(this.retryDelayMs * 2 ** (segment.retries - 1), this.maxRetryDelayMs),
          this.abort.signal,
        );
        if (this.stopping) return false;
      }
      const outcome = await this.invoke(shard.shardId, segment);
      const invocations = segment.invocations + 1;
      if (outcome.kind === 'success') {
        await this.checkpoint(shard, segment.records.at(-1) as KinesisStreamRecord);
        continue;
      }
      if (outcome.kind === 'partial-failure') {
        // Checkpoint before the lowest failed record and retry from it, later records included.
        if (outcome.index > 0)
          await this.checkpoint(shard, segment.records[outcome.index - 1] as KinesisStreamRecord);
        const rest = segment.records.slice(outcome.index);
        if (this.mayRetry(segment.retries)) {
          queue.unshift({
            records: rest,
            retries: segment.retries + 1,
            bisected: segment.bisected,
            invocations,
          });
        } else {
          if (!(await this.discard(shard, rest, invocations, outcome.message, false))) return false;
        }
        continue;
      }
      if (this.bisect && segment.records.length > 1) {
        // Splitting does not use a retry; the first half is handled (to the end) before the second.
        const half = Math.ceil(segment.records.length / 2);
        this.counts.bisections++;
        queue.unshift(
          { records: segment.records.slice(0, half), retries: segment.retries, bisected: true, invocations },
          { records: segment.records.slice(half), retries: segment.retries, bisected: true, invocations },
        );
      } else if (this.mayRetry(segment.retries)) {
        queue.unshift({ ...segment, retries: segment.retries + 1, invocations });
      } else {
        if (!(await this.discard(shard, segment.records, invocations, outcome.message, outcome.thrown)))
          return false;
      }
    }
    return true;
  }

  private mayRetry(retries: number): boolean {
    return this.maxRetryAttempts === -1 || retries < this.maxRetryAttempts;
  }

  private async invoke(shardId: string, segment: Segment): Promise<Outcome> {
    const event: KinesisStreamEvent = { Records: segment.records.map((record) => structuredClone(record)) };
    this.counts.invocations++;
    this.counts.records += segment.records.length;
    if (segment.retries > 0) this.counts.retries++;
    const startedAt = Date.now();
    let outcome: Outcome;
    try {
      const response = await this.handler(event);
      outcome = this.classify(response, segment.records);
    } catch (error) {
      outcome = { kind: 'failure', message: errorText(error), thrown: true, error };
    }
    const finishedAt = Date.now();
    if (this.options.onInvocation) {
      try {
        this.options.onInvocation({
          shardId,
          event,
          retryAttempt: segment.retries,
          bisected: segment.bisected,
          startedAt,
          finishedAt,
          outcome: outcome.kind,
          ...(outcome.kind === 'failure' ? { error: outcome.error } : {}),
        });
      } catch (error) {
        this.logger.warn(`[fstore esm ${this.streamName}] onInvocation threw: ${errorText(error)}`);
      }
    }
    return outcome;
  }

  /**
   * Reads a handler reply as Lambda does with ReportBatchItemFailures: no reply, no list or an empty list
   * is a success; an item identifier that is empty, not a string or not a sequence number of the batch
   * makes the whole batch fail; otherwise the lowest reported record is where the retry starts.
   */
  private classify(response: unknown, records: readonly KinesisStreamRecord[]): Outcome {
    if (!this.reportBatchItemFailures || typeof response !== 'object' || response === null)
      return { kind: 'success' };
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return { kind: 'success' };
    const invalid = (message: string): Outcome => ({
      kind: 'failure',
      message,
      thrown: false,
      error: new FstoreError(message),
    });
    if (!Array.isArray(failures)) return invalid('batchItemFailures is not a list: the whole batch failed');
    if (failures.length === 0) return { kind: 'success' };
    let lowest = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      const index =
        typeof id === 'string' && id !== ''
          ? records.findIndex((record) => record.kinesis.sequenceNumber === id)
          : -1;
      if (index === -1) {
        return invalid(
          `batchItemFailures names ${JSON.stringify(id ?? null)}, not a sequence number of the batch: the whole batch failed`,
        );
      }
      lowest = Math.min(lowest, index);
    }
    const first = records[lowest] as KinesisStreamRecord;
    return {
      kind: 'partial-failure',
      index: lowest,
      message: `the handler reported ${failures.length} failed record(s), the first ${first.kinesis.sequenceNumber}`,
    };
  }

  private async checkpoint(shard: ShardState, record: KinesisStreamRecord): Promise<void> {
    const sequenceNumber = record.kinesis.sequenceNumber;
    shard.position = sequenceNumber;
    if (!this.options.checkpoints) return;
    try {
      await this.options.checkpoints.save(shard.shardId, sequenceNumber);
    } catch (error) {
      // The position in memory moves on; a restart would redeliver from the older saved checkpoint.
      this.logger.warn(
        `[fstore esm ${this.streamName}] could not save the checkpoint of ${shard.shardId}: ${errorText(error)}`,
      );
    }
  }

  /**
   * Hands records whose retries ran out to onFailure (or the logger), then checkpoints past them. An
   * onFailure that throws is called again with backoff until it succeeds or stop() is called: records
   * are never skipped without a destination taking them.
   */
  private async discard(
    shard: ShardState,
    records: readonly KinesisStreamRecord[],
    invocations: number,
    errorMessage: string,
    thrown: boolean,
  ): Promise<boolean> {
    const first = records[0] as KinesisStreamRecord;
    const last = records.at(-1) as KinesisStreamRecord;
    const details: KinesisFailureDetails = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: invocations,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(thrown ? { functionError: 'Unhandled' as const } : {}),
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first.kinesis.sequenceNumber,
        endSequenceNumber: last.kinesis.sequenceNumber,
        approximateArrivalOfFirstRecord: isoTime(first.kinesis.approximateArrivalTimestamp),
        approximateArrivalOfLastRecord: isoTime(last.kinesis.approximateArrivalTimestamp),
        batchSize: records.length,
        streamArn: this.streamArn,
      },
      errorMessage,
      payload: { Records: records.map((record) => structuredClone(record)) },
    };
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.options.onFailure) {
          await this.options.onFailure(details);
        } else {
          const { payload: _payload, ...summary } = details;
          this.logger.error(
            `[fstore esm ${this.streamName}] discarded ${records.length} record(s) of ${shard.shardId} after ${invocations} invocation(s): ${JSON.stringify(summary)}`,
          );
        }
        break;
      } catch (error) {
        if (this.stopping) return false;
        this.logger.error(
          `[fstore esm ${this.streamName}] onFailure threw for ${records.length} record(s) of ${shard.shardId} (${first.kinesis.sequenceNumber}..${last.kinesis.sequenceNumber}), calling it again: ${errorText(error)}`,
        );
        await delay(Math.min(this.retryDelayMs * 2 ** attempt, this.maxRetryDelayMs), this.abort.signal);
        if (this.stopping) return false;
      }
    }
    this.counts.failedBatches++;
    this.counts.discardedRecords += records.length;
    await this.checkpoint(shard, last);
    return true;
  }

  private eventRecord(shardId: string, record: _Record): KinesisStreamRecord {
    const sequenceNumber = record.SequenceNumber ?? '';
    const arrival = record.ApproximateArrivalTimestamp;
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.PartitionKey ?? '',
        sequenceNumber,
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (arrival instanceof Date ? arrival.getTime() : Date.now()) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: this.invokeIdentityArn,
      awsRegion: this.region,
      eventSourceARN: this.streamArn,
    };
  }

  // --- caughtUp -----------------------------------------------------------------------------------------

  private notify(): void {
    if (this.waiters.length === 0) return;
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index];
      if (waiter && this.caughtUpSince(waiter.mark)) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  private caughtUpSince(mark: number): boolean {
    if (this.listedAt <= mark) return false;
    for (const shard of this.shards.values()) {
      if (shard.status !== 'finished' && shard.caughtUpPoll <= mark) return false;
    }
    return true;
  }
}

function integerOption(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FstoreError(`${name} must be a whole number from ${min} to ${max}, not ${value}`);
  }
  return value;
}

/** Resolves after `ms`, or at once when the signal aborts; leaves no timer behind either way. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function backoff(failures: number): number {
  return Math.min(KINESIS_BACKOFF_MS * 2 ** failures, KINESIS_MAX_BACKOFF_MS);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function isoTime(epochSeconds: number): string {
  return new Date(Math.round(epochSeconds * 1000)).toISOString();
}
