import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { createIngestHandler } from '../../lambdas/ingest.js';
import type { IngestResult } from '../services/ingest-events.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import { createKinesisClient } from '../stores/kinesis-client.js';
import { startLocalKinesis } from '../stores/local-kinesis.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OnlineStore } from '../stores/online-store.js';
import {
  type InvocationReport,
  type KinesisFailureDetails,
  type LocalEventSourceMapping,
  startLocalEventSourceMapping,
} from './local-event-source-mapping.js';

export interface LocalStreamingOptions {
  /** The applied definitions; streams are created for the Kinesis sources they hold. */
  readonly loadCatalog: () => Promise<{ readonly catalog: ServingCatalog } | undefined>;
  readonly onlineStore: OnlineStore;
  /** Raw landing, quarantine, and the on-failure destination (`stream-failures/<stream>/`). */
  readonly offlineStore: ObjectStore;
  /** Shards per stream. @default 2 */
  readonly shards?: number;
  /** Records per invocation, as an event source mapping's BatchSize. @default 100 */
  readonly batchSize?: number;
  /** How long a shard with nothing new waits before it is polled again. @default 100 */
  readonly idlePollMs?: number;
  /** Told about every ingest result (counts of applied, quarantined, failed records). */
  readonly onResult?: (result: IngestResult) => void;
  readonly logger?: Pick<Console, 'error' | 'info' | 'warn'>;
  /** A Kinesis endpoint already running (a benchmark's child process); by default kinesalite starts in this process. */
  readonly kinesisEndpoint?: string;
  /** Told about every invocation of the ingest handler (a benchmark measures freshness with it). */
  readonly onInvocation?: (report: InvocationReport) => void;
}

export interface LocalStreaming {
  /** The local Kinesis endpoint producers put to. */
  readonly endpoint: string;
  readonly client: KinesisClient;
  /** Creates a stream (and starts its poller) for every Kinesis source applied since; returns all stream names. */
  sync(): Promise<readonly string[]>;
  /** Resolves once every record put before the call has been through the ingest handler. */
  caughtUp(): Promise<void>;
  /** Stops the pollers (an invocation in flight finishes first) and the local Kinesis. */
  close(): Promise<void>;
}

/**
 * The streaming path on one machine: an in-memory Kinesis (kinesalite) with one stream per Kinesis source
 * of the applied definitions, and per stream a poller that behaves like Lambda's event source mapping
 * (batch size, retries, bisect on error, partial batch failures) calling the same ingest handler the
 * Lambda runs. Batches that exhaust their retries are written to `stream-failures/<stream>/` in the
 * offline store, the local stand-in for the mapping's SQS on-failure destination.
 */
export async function startLocalStreaming(options: LocalStreamingOptions): Promise<LocalStreaming> {
  const logger = options.logger ?? console;
  const kinesis = options.kinesisEndpoint
    ? { endpoint: options.kinesisEndpoint, close: async () => {} }
    : await startLocalKinesis();
  const client = createKinesisClient({ endpoint: kinesis.endpoint });
  const handler = createIngestHandler({
    loadCatalog: options.loadCatalog,
    onlineStore: options.onlineStore,
    offlineStore: options.offlineStore,
    logger,
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  const mappings = new Map<string, LocalEventSourceMapping>();
  let syncing: Promise<readonly string[]> | undefined;

  const onFailure = async (streamName: string, details: KinesisFailureDetails) => {
    const info = details.KinesisBatchInfo;
    await options.offlineStore.put(
      `stream-failures/${streamName}/${info.shardId}-${info.startSequenceNumber}-${info.endSequenceNumber}.json`,
      `${JSON.stringify(details, null, 2)}\n`,
    );
    logger.error(
      `[fstore stream] ${info.batchSize} records of stream ${streamName} (${info.shardId}) failed every retry and were set aside in stream-failures/${streamName}/: ${details.errorMessage}`,
    );
  };

  const syncOnce = async (): Promise<readonly string[]> => {
    const loaded = await options.loadCatalog();
    const names = new Set<string>();
    for (const source of loaded?.catalog.validated.repo.sources ?? []) {
      if (source.kind === 'kinesis_source') names.add(source.streamName);
    }
    for (const streamName of names) {
      if (mappings.has(streamName)) continue;
      await createStream(client, streamName, options.shards ?? 2);
      mappings.set(
        streamName,
        await startLocalEventSourceMapping({
          client,
          streamName,
          handler,
          batchSize: options.batchSize ?? 100,
          idlePollMs: options.idlePollMs ?? 100,
          onFailure: (details) => onFailure(streamName, details),
          ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
          logger,
        }),
      );
    }
    return [...mappings.keys()];
  };

  const streaming: LocalStreaming = {
    endpoint: kinesis.endpoint,
    client,
    sync: () => {
      // One sync at a time, so two callers never create one stream twice.
      syncing ??= syncOnce().finally(() => {
        syncing = undefined;
      });
      return syncing;
    },
    caughtUp: async () => {
      await Promise.all([...mappings.values()].map((mapping) => mapping.caughtUp()));
    },
    close: async () => {
      await Promise.all([...mappings.values()].map((mapping) => mapping.stop()));
      client.destroy();
      await kinesis.close();
    },
  };
  try {
    await streaming.sync();
  } catch (error) {
    await streaming.close();
    throw error;
  }
  return streaming;
}

/** Creates a stream and waits until it is ACTIVE; an existing stream is left as it is. */
async function createStream(client: KinesisClient, streamName: string, shards: number): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shards }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(10);
  }
}
