import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FstoreFunction } from './fstore-function.js';
import { grantOnlineReadAndUpdate, grantRegistryRead } from './table-access.js';

/**
 * Where the ingest function lands what it accepts and quarantines what it refuses: the offline store's
 * bucket, and a way to grant writes under its `raw/`, `quarantine/` and `stream-failures/` prefixes
 * (`OfflineStore` is one).
 */
export interface LandingArea {
  readonly bucket: IBucket;
  /** Let `grantee` put objects under the landing prefixes, and nowhere else in the bucket. */
  grantLanding(grantee: IGrantable): void;
}

/** Capacity of the Kinesis streams. */
export type StreamCapacity =
  | {
      readonly mode: 'provisioned';
      /** @default 1 */
      readonly shards?: number;
    }
  | { readonly mode: 'onDemand' };

export interface StreamIngestionProps {
  /** The registry project the ingest function applies records for (`FSTORE_PROJECT`). */
  readonly project: string;
  /**
   * The Kinesis stream names of the repo's Kinesis sources, one stream each. Each stream's physical name
   * is exactly this name, because the ingest handler finds a record's Kinesis source by the stream name
   * in its `eventSourceARN`; so two stacks in one account and region cannot declare the same stream.
   */
  readonly streamNames: readonly string[];
  /** The online table the function folds records into (read/write). */
  readonly onlineTable: ITableV2;
  /** The registry table the function reads the applied definitions from (read only). */
  readonly registryTable: ITableV2;
  /** The offline store: raw landing and the quarantine. */
  readonly landing: LandingArea;
  /**
   * Stream capacity: provisioned shards, or on demand.
   * @default { mode: 'provisioned', shards: 1 }
   */
  readonly capacity?: StreamCapacity;
  /**
   * How long a stream keeps its records (24 hours to 365 days).
   * @default Duration.hours(24)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Records per invocation, at most.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long the event source mapping gathers records before it invokes with fewer than `batchSize`.
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failing batch (after bisecting) before it goes to the dead-letter queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not delivered again; their batch goes to the dead-letter queue.
   * @default Duration.days(1)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Records larger than this are quarantined (`FSTORE_MAX_RECORD_BYTES`).
   * @default the handler's default, 1 MiB
   */
  readonly maxRecordBytes?: number;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default the FstoreFunction default, one month */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the streams and their key when they leave the stack.
   * @default RemovalPolicy.RETAIN, so records not yet applied are not lost with the stack
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The offline store prefixes `grantLanding` opens to puts. */
const LANDING_PREFIXES = ['raw/', 'quarantine/', 'stream-failures/'] as const;

/** AWS's rule for a Kinesis stream name. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/**
 * The streaming path in AWS: one encrypted Kinesis stream per stream name, and one ingest Lambda
 * (`lambdas/ingest.ts`) reading all of them through event source mappings.
 *
 * Each mapping reports batch item failures (so only failed records and those after them come again),
 * bisects a batch that throws, retries a bounded number of times and hands what still fails to an
 * encrypted SQS dead-letter queue (the on-failure destination keeps the batch's shard and sequence
 * range; the records stay on the stream for its retention). Each mapping has a parallelization factor of
 * 1, and this must not change: the handler's exactly-once positions (per stream and shard, the last
 * sequence number folded into each item) and per-entity order hold only while a shard is processed one
 * batch at a time, in sequence order.
 *
 * The ingest function may read the streams (through the mappings) and decrypt with their key, read and
 * write the online table, read the registry table, put objects under the offline store's landing
 * prefixes, and send to the dead-letter queue; nothing else.
 */
export class StreamIngestion extends Construct {
  /** Each Kinesis stream by its name. */
  readonly streams: ReadonlyMap<string, Stream>;
  /** The ingest Lambda. */
  readonly function: NodejsFunction;
  /** The key the streams are encrypted with. */
  readonly streamKey: Key;
  /** The event source mappings' on-failure destination: batches that failed every retry. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StreamIngestionProps) {
    super(scope, id);
    const names = checkedStreamNames(props.streamNames);
    const capacity = props.capacity ?? { mode: 'provisioned' };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.streamKey = new Key(this, 'StreamKey', {
      description: `fstore ${props.project}: encrypts the Kinesis streams`,
      enableKeyRotation: true,
      removalPolicy,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'The streams use a customer managed key on purpose: its key policy and IAM decide who may read the events, which the aws/kinesis key cannot; the cost is one key and its requests.',
    });
    const streams = new Map<string, Stream>();
    for (const name of names) {
      streams.set(
        name,
        new Stream(this, `Stream-${name}`, {
          streamName: name,
          encryption: StreamEncryption.KMS,
          encryptionKey: this.streamKey,
          retentionPeriod: props.retentionPeriod ?? Duration.hours(24),
          ...(capacity.mode === 'onDemand'
            ? { streamMode: StreamMode.ON_DEMAND }
            : { streamMode: StreamMode.PROVISIONED, shardCount: capacity.shards ?? 1 }),
          removalPolicy,
        }),
      );
    }
    this.streams = streams;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the on-failure destination of the event source mappings, the last stop for batches that failed every retry; it needs no dead-letter queue of its own.',
    });

    const ingest = new FstoreFunction(this, 'Ingest', {
      handler: 'ingest',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(1),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      environment: {
        FSTORE_PROJECT: props.project,
        FSTORE_ONLINE_TABLE: props.onlineTable.tableName,
        FSTORE_REGISTRY_TABLE: props.registryTable.tableName,
        FSTORE_BUCKET: props.landing.bucket.bucketName,
        ...(props.maxRecordBytes === undefined
          ? {}
          : { FSTORE_MAX_RECORD_BYTES: String(props.maxRecordBytes) }),
      },
    });
    this.function = ingest.function;

    grantOnlineReadAndUpdate(props.onlineTable, this.function);
    grantRegistryRead(props.registryTable, this.function);
    grantLandingTo(ingest, props.landing);

    const onFailure = new SqsDlq(this.deadLetterQueue);
    for (const stream of streams.values()) {
      // Binding grants the function read on the stream and decrypt on its key.
      this.function.addEventSource(
        new KinesisEventSource(stream, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: props.batchSize ?? 100,
          ...(props.maxBatchingWindow === undefined ? {} : { maxBatchingWindow: props.maxBatchingWindow }),
          // Required by the handler's exactly-once positions and per-entity order: one batch per shard at a time.
          parallelizationFactor: 1,
          reportBatchItemFailures: true,
          bisectBatchOnError: true,
          retryAttempts: props.retryAttempts ?? 10,
          maxRecordAge: props.maxRecordAge ?? Duration.days(1),
          onFailure,
        }),
      );
    }
  }
}

function checkedStreamNames(streamNames: readonly string[]): string[] {
  if (streamNames.length === 0) {
    throw new Error(
      'StreamIngestion needs at least one stream name; leave it out of the stack when the repo has no Kinesis source',
    );
  }
  const names = [...new Set(streamNames)];
  for (const name of names) {
    if (!Token.isUnresolved(name) && !STREAM_NAME.test(name)) {
      throw new Error(
        `Kinesis stream name "${name}" is not valid; use 1 to 128 letters, digits, "_", "." or "-"`,
      );
    }
  }
  return names;
}

/**
 * Lets an fstore function land objects in the offline store (`raw/`, `quarantine/`, `stream-failures/`)
 * and acknowledges the prefix-scoped wildcards cdk-nag reports for it, on the function's role.
 */
export function grantLandingTo(fn: FstoreFunction, landing: LandingArea): void {
  landing.grantLanding(fn.function);
  // Grants land on the function's role, a sibling of the function inside the FstoreFunction.
  Validations.of(fn).acknowledge(
    ...LANDING_PREFIXES.map((prefix) => ({
      id: `AwsSolutions-IAM5[Resource::${nagResource(fn, landing.bucket.arnForObjects(`${prefix}*`))}]`,
      reason: `Landing writes are scoped to the offline store bucket's ${prefix} prefix, where each batch writes objects of its own name.`,
    })),
  );
}

/** A value as cdk-nag names it in findings: CloudFormation references flattened to `<LogicalId.Attr>`. */
function nagResource(scope: Construct, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node !== null && typeof node === 'object') {
      const object = node as Record<string, unknown>;
      if (Array.isArray(object['Fn::Join'])) {
        const [delimiter, items] = object['Fn::Join'] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (Array.isArray(object['Fn::GetAtt'])) {
        const [resource, attribute] = object['Fn::GetAtt'] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if ('Ref' in object) return `<${flatten(object.Ref)}>`;
      if ('Fn::Sub' in object) return flatten(object['Fn::Sub']);
      if ('Fn::ImportValue' in object) return flatten(object['Fn::ImportValue']);
    }
    return JSON.stringify(node);
  };
  return flatten(Stack.of(scope).resolve(value));
}
