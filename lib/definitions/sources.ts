import { type NormalizedMetadata, normalizeMetadata, type ProductMetadata } from './metadata.js';
import type { ValueType } from './value-type.js';

export type Schema = Readonly<Record<string, ValueType>>;
export type FileFormat = 'parquet' | 'csv';

/** Events or rows at rest: Parquet or CSV at a local path or an `s3://` URI. */
export interface BatchSourceSpec<Name extends string, S extends Schema> extends ProductMetadata {
  /** Unique among sources, a safe identifier. */
  readonly name: Name;
  /** A file or folder: relative paths resolve from the feature repo; `s3://bucket/prefix/` for S3. */
  readonly path: string;
  /** @default taken from the path's extension; `parquet` for folders */
  readonly format?: FileFormat;
  /** The column with each row's event time (type `timestamp`). */
  readonly timestampField: keyof S & string;
  /** A column with the time a row was written, used to break ties between equal event times. @default none */
  readonly createdTimestampField?: keyof S & string;
  /** Every column the source holds, with its type. */
  readonly schema: S;
}

export interface BatchSourceDefinition<Name extends string = string, S extends Schema = Schema>
  extends NormalizedMetadata {
  readonly kind: 'batch_source';
  readonly name: Name;
  readonly path: string;
  readonly format: FileFormat;
  readonly timestampField: string;
  readonly createdTimestampField: string | undefined;
  readonly schema: S;
}

/** The format a path implies: `.csv` files are CSV, everything else (files and folders) Parquet. */
export function formatFromPath(path: string): FileFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'parquet';
}

/**
 * Declares a batch source.
 * @example
 * export const transactions = batchSource({
 *   name: 'transactions', path: 'data/transactions.csv', timestampField: 'transaction_date',
 *   schema: { user_id: 'int64', transaction_date: 'timestamp', amount: 'float64' },
 * });
 */
export function batchSource<const Name extends string, const S extends Schema>(
  spec: BatchSourceSpec<Name, S>,
): BatchSourceDefinition<Name, S> {
  return {
    kind: 'batch_source',
    name: spec.name,
    path: spec.path,
    format: spec.format ?? formatFromPath(spec.path),
    timestampField: spec.timestampField,
    createdTimestampField: spec.createdTimestampField,
    schema: { ...spec.schema },
    ...normalizeMetadata(spec),
  };
}

/** Events arriving on a Kinesis stream, with the batch source that holds the same events for backfill. */
export interface KinesisSourceSpec<Name extends string, S extends Schema> extends ProductMetadata {
  /** Unique among sources, a safe identifier. */
  readonly name: Name;
  /** The Kinesis stream's name. */
  readonly streamName: string;
  /** The JSON record's fields and their types; each must also be a column of `batchSource`. */
  readonly schema: S;
  /** The field holding each record's event time. */
  readonly timestampField: keyof S & string;
  /** Where the same events rest, so training and backfills see what the stream saw. */
  readonly batchSource: BatchSourceDefinition;
  /**
   * How long after its event time a record may reach the stream and still be applied: a record whose
   * event time is earlier than its arrival time (Kinesis's ApproximateArrivalTimestamp) minus this is
   * quarantined as late, online and offline alike. Arrival time, not processing time, so a consumer
   * catching up on a backlog makes nothing late. A duration such as `30m`, `1h`, `2d`.
   * @default '1h'
   */
  readonly allowedLateness?: string;
  /**
   * The record field producers use as the Kinesis partition key; `fstore ingest` uses it. Using an
   * entity's join key keeps each entity's records on one shard, in order.
   * @default the first join key of the first feature view reading the source
   */
  readonly partitionKey?: keyof S & string;
}

export interface KinesisSourceDefinition<Name extends string = string, S extends Schema = Schema>
  extends NormalizedMetadata {
  readonly kind: 'kinesis_source';
  readonly name: Name;
  readonly streamName: string;
  readonly schema: S;
  readonly timestampField: string;
  readonly batchSource: BatchSourceDefinition;
  readonly allowedLateness: string;
  readonly partitionKey: string | undefined;
}

/** A Kinesis source's allowed lateness when it declares none. */
export const DEFAULT_ALLOWED_LATENESS = '1h';

/**
 * Declares a Kinesis source.
 * @example
 * export const liveTransactions = kinesisSource({
 *   name: 'live_transactions', streamName: 'transactions', timestampField: 'transaction_date',
 *   schema: transactions.schema, batchSource: transactions,
 * });
 */
export function kinesisSource<const Name extends string, const S extends Schema>(
  spec: KinesisSourceSpec<Name, S>,
): KinesisSourceDefinition<Name, S> {
  return {
    kind: 'kinesis_source',
    name: spec.name,
    streamName: spec.streamName,
    schema: { ...spec.schema },
    timestampField: spec.timestampField,
    batchSource: spec.batchSource,
    allowedLateness: spec.allowedLateness ?? DEFAULT_ALLOWED_LATENESS,
    partitionKey: spec.partitionKey,
    ...normalizeMetadata(spec),
  };
}

export type SourceDefinition = BatchSourceDefinition | KinesisSourceDefinition;
