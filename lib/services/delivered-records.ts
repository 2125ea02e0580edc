import type { OnlineScalar } from '../compute/online-state.js';
import { sourceValue } from '../compute/source-values.js';
import { parseDuration } from '../definitions/duration.js';
import type { KinesisSourceDefinition } from '../definitions/sources.js';
import type { ValueType } from '../definitions/value-type.js';

/** One Kinesis record as the ingest path sees it, whatever delivered it (Lambda, the local poller, a test). */
export interface DeliveredRecord {
  /** The record's bytes (Lambda hands them over base64; decoded here). */
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** Kinesis's sequence number: a decimal string, increasing within a shard. */
  readonly sequenceNumber: string;
  readonly shardId: string;
  /** When Kinesis received the record (ApproximateArrivalTimestamp), epoch milliseconds. */
  readonly arrivalMs: number;
}

/** A record that passed every check: its event time and values typed by the source's schema. */
export interface AcceptedRecord {
  readonly record: DeliveredRecord;
  readonly ts: number;
  readonly values: Readonly<Record<string, OnlineScalar | null>>;
}

/** A record refused for good, and why, in words that name the field and the fix. */
export interface RefusedRecord {
  readonly record: DeliveredRecord;
  readonly reason: string;
}

/** Kinesis's own limit on a record's data. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576;

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks one record against a Kinesis source: size, UTF-8 JSON object, each schema field's type (absent
 * fields are null, fields outside the schema are ignored so producers can add fields first), an event
 * time, the join keys `requiredKeys` (those of the views the source feeds), and lateness: an event time
 * earlier than the record's arrival minus the source's allowed lateness is refused as late. Every check
 * depends only on the record, so a redelivered record gets the same answer.
 */
export function checkStreamRecord(
  source: KinesisSourceDefinition,
  record: DeliveredRecord,
  requiredKeys: readonly string[],
  maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
): AcceptedRecord | RefusedRecord {
  const refuse = (reason: string): RefusedRecord => ({ record, reason });
  if (record.data.byteLength > maxRecordBytes) {
    return refuse(
      `too large: ${record.data.byteLength} bytes, at most ${maxRecordBytes} are accepted; send smaller records`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(record.data));
  } catch (error) {
    return refuse(`not JSON: ${(error as Error).message}; send one UTF-8 JSON object per record`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return refuse(
      `not a JSON object but ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}; send one object per record with the fields of source "${source.name}"`,
    );
  }
  const fields = parsed as Record<string, unknown>;
  const values: Record<string, OnlineScalar | null> = {};
  for (const [column, type] of Object.entries(source.schema as Record<string, ValueType>)) {
    // Own fields only: a column named like an Object method is absent, not a function.
    const typed = sourceValue(type, Object.hasOwn(fields, column) ? (fields[column] ?? null) : null);
    if (!('value' in typed)) {
      return refuse(
        `schema violation: field "${column}" is ${JSON.stringify(fields[column])}; source "${source.name}" declares it ${type}, so send ${typed.expected} or null`,
      );
    }
    values[column] = typed.value;
  }
  const ts = values[source.timestampField];
  if (typeof ts !== 'number') {
    return refuse(
      `schema violation: no event time in "${source.timestampField}"; every record of source "${source.name}" needs one`,
    );
  }
  for (const key of requiredKeys) {
    if (values[key] === null || values[key] === undefined) {
      return refuse(
        `schema violation: no "${key}", a join key of a feature view reading source "${source.name}"; send it in every record`,
      );
    }
  }
  const allowedMs = parseDuration(source.allowedLateness) ?? 0;
  if (ts < record.arrivalMs - allowedMs) {
    return refuse(
      `late: event time ${new Date(ts).toISOString()} is more than the allowed lateness (${source.allowedLateness}) before its arrival at ${new Date(record.arrivalMs).toISOString()}`,
    );
  }
  return { record, ts, values };
}

/** Compares two Kinesis sequence numbers (decimal strings too long for a double) by value. */
export function compareSequenceNumbers(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}
