import { setTimeout as sleep } from 'node:timers/promises';
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { FstoreError } from '../errors.js';

/** One record for the stream: its partition key (the entity key, so one entity's records share a shard) and bytes. */
export interface StreamRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

/**
 * Where events are sent for streaming ingestion. Implementation: KinesisEventStream (Kinesis in AWS,
 * kinesalite locally).
 */
export interface EventStream {
  /** Puts every record, retrying those the stream refused; throws when some stay refused. */
  put(records: readonly StreamRecord[]): Promise<{ readonly put: number }>;
}

/** Records the stream kept refusing after every retry, or one too large to ever accept. */
export class EventStreamPutError extends FstoreError {
  override readonly name = 'EventStreamPutError';
}

/** Kinesis limits: 500 records and 5 MiB per PutRecords call, 1 MiB per record (data plus partition key). */
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface KinesisEventStreamOptions {
  /** Created once by the caller and shared (tests pass a mocked one). */
  readonly client: KinesisClient;
  readonly streamName: string;
  /**
   * PutRecords calls per batch while records are refused (throughput exceeded); what is still refused then fails the put.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * The backoff before retry n (0 first) is `random() * min(maxDelayMs, baseDelayMs * 2 ** n)`.
   * @default 50
   */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** @default timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * Puts records to a Kinesis stream with PutRecords, in calls of at most 500 records and 5 MiB. A call
 * can accept some records and refuse others (a shard over its write limit): only the refused ones are
 * sent again, with exponential backoff and full jitter. A retried record can land after later records of
 * its partition key; the ingest path places events by their event time, not by arrival.
 */
export class KinesisEventStream implements EventStream {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly random: () => number;

  constructor(private readonly options: KinesisEventStreamOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
    this.random = options.random ?? Math.random;
  }

  async put(records: readonly StreamRecord[]): Promise<{ readonly put: number }> {
    records.forEach((record, index) => {
      const bytes = record.data.byteLength + Buffer.byteLength(record.partitionKey);
      if (bytes > MAX_RECORD_BYTES) {
        throw new EventStreamPutError(
          `record ${index} is ${bytes} bytes with its partition key; Kinesis takes at most ${MAX_RECORD_BYTES}, so split the event or store large values elsewhere`,
        );
      }
    });
    for (const batch of batches(records)) await this.putBatch(batch);
    return { put: records.length };
  }

  private async putBatch(batch: readonly StreamRecord[]): Promise<void> {
    let pending: PutRecordsRequestEntry[] = batch.map((record) => ({
      PartitionKey: record.partitionKey,
      Data: record.data,
    }));
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      const output = await this.options.client.send(
        new PutRecordsCommand({ StreamName: this.options.streamName, Records: pending }),
      );
      if (!output.FailedRecordCount) return;
      const refused = pending.filter((_, index) => output.Records?.[index]?.ErrorCode !== undefined);
      lastError = output.Records?.find((record) => record.ErrorCode)?.ErrorMessage ?? lastError;
      pending = refused;
      if (attempt >= this.maxAttempts) {
        throw new EventStreamPutError(
          `${pending.length} of ${batch.length} records stayed refused by stream "${this.options.streamName}" after ${this.maxAttempts} attempts (${lastError}); send them again later, or add shards`,
        );
      }
      await this.sleep(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/** Consecutive runs of records within the count and byte limits of one PutRecords call. */
function batches(records: readonly StreamRecord[]): StreamRecord[][] {
  const result: StreamRecord[][] = [];
  let current: StreamRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.data.byteLength + Buffer.byteLength(record.partitionKey);
    if (current.length === MAX_RECORDS_PER_PUT || (current.length > 0 && bytes + size > MAX_BYTES_PER_PUT)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}
