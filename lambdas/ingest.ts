import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { FstoreError } from '../lib/errors.js';
import type { DeliveredRecord } from '../lib/services/delivered-records.js';
import { type IngestResult, ingestEvents } from '../lib/services/ingest-events.js';
import type { ServingCatalog } from '../lib/services/serving-catalog.js';
import type { ObjectStore } from '../lib/stores/object-store.js';
import type { OnlineStore } from '../lib/stores/online-store.js';
import { ingestDependenciesFromEnvironment } from './kinesis/ingest-environment.js';

export interface IngestDependencies {
  /** The applied definitions; undefined before the first apply. */
  readonly loadCatalog: () => Promise<{ readonly catalog: ServingCatalog } | undefined>;
  readonly onlineStore: OnlineStore;
  /** Raw landing and quarantine. */
  readonly offlineStore: ObjectStore;
  /** @default 1 MiB, Kinesis's own limit */
  readonly maxRecordBytes?: number;
  /** Where failures are reported; one JSON line each. @default console */
  readonly logger?: Pick<Console, 'error' | 'info'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Told about every stream's result: counts for a local run's summary, or metrics. */
  readonly onResult?: (result: IngestResult) => void;
}

export type IngestHandler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/** The ingest Lambda cannot work on any record of the batch: the event source mapping retries it whole. */
export class IngestBatchError extends FstoreError {
  override readonly name = 'IngestBatchError';
}

/**
 * The Kinesis ingest handler, for an event source mapping with `ReportBatchItemFailures`: records are
 * decoded, grouped by stream and applied by `ingestEvents`; the sequence numbers of records whose landing or
 * online write failed come back as `batchItemFailures`, so only they (and what follows them in the shard)
 * are delivered again, and redelivered records change nothing. Records that can never succeed are
 * quarantined, not retried. A batch that cannot be worked on at all (nothing applied yet, an unknown
 * stream) throws, so the mapping retries it, bisecting, until its retry limit sends it to the on-failure
 * destination.
 */
export function createIngestHandler(deps: IngestDependencies): IngestHandler {
  const logger = deps.logger ?? console;
  return async (event) => {
    const loaded = await deps.loadCatalog();
    if (loaded === undefined) {
      throw new IngestBatchError(
        'no feature definitions have been applied to this project yet, so stream records cannot be applied; run `fstore apply` (the event source mapping retries the batch until its retry limit, then sends it to the on-failure destination)',
      );
    }
    const failures: string[] = [];
    for (const [streamName, records] of recordsByStream(event.Records ?? [])) {
      const result = await ingestEvents({
        catalog: loaded.catalog,
        onlineStore: deps.onlineStore,
        offlineStore: deps.offlineStore,
        streamName,
        records,
        ...(deps.maxRecordBytes === undefined ? {} : { maxRecordBytes: deps.maxRecordBytes }),
        ...(deps.now === undefined ? {} : { now: deps.now }),
      });
      deps.onResult?.(result);
      for (const error of result.errors) {
        logger.error(JSON.stringify({ level: 'ERROR', message: 'ingest failed', stream: streamName, error }));
      }
      failures.push(...result.failed);
    }
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** The stream name from a record's `eventSourceARN` (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function streamNameOf(arn: string): string {
  const match = /:stream\/([^/]+)$/.exec(arn);
  if (!match?.[1]) {
    throw new IngestBatchError(
      `eventSourceARN "${arn}" names no Kinesis stream; the ingest Lambda takes events from a Kinesis event source mapping`,
    );
  }
  return match[1];
}

function recordsByStream(records: readonly KinesisStreamRecord[]): Map<string, DeliveredRecord[]> {
  const byStream = new Map<string, DeliveredRecord[]>();
  for (const record of records) {
    const streamName = streamNameOf(record.eventSourceARN);
    const deliveredRecord: DeliveredRecord = {
      data: Buffer.from(record.kinesis.data, 'base64'),
      partitionKey: record.kinesis.partitionKey,
      sequenceNumber: record.kinesis.sequenceNumber,
      // eventID is `<shardId>:<sequenceNumber>`.
      shardId: record.eventID.slice(0, record.eventID.indexOf(':')),
      arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    };
    const group = byStream.get(streamName);
    if (group) group.push(deliveredRecord);
    else byStream.set(streamName, [deliveredRecord]);
  }
  return byStream;
}

let lambdaHandler: IngestHandler | undefined;

/** The Lambda entry point; clients and the catalog cache are built once per container from the environment. */
export const handler: IngestHandler = (event) => {
  lambdaHandler ??= createIngestHandler(ingestDependenciesFromEnvironment());
  return lambdaHandler(event);
};
