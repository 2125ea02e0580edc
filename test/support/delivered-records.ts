import type { DeliveredRecord } from '../../lib/services/delivered-records.js';

/** A sequence number of the size Kinesis gives (56 digits), to prove they are compared as big integers. */
const SEQUENCE_BASE = 49590338271490256608559692538361571095921575989136588800n;

export interface TransactionEvent {
  readonly user_id: number;
  readonly merchant_id: number;
  readonly amount: number;
  readonly category: string;
  /** Epoch milliseconds. */
  readonly ts: number;
}

/**
 * Kinesis records of the transactions example, in sequence order on one shard, each arriving `delayMs`
 * after its event time (within the example's allowed lateness of 1 hour unless told otherwise).
 */
export function transactionRecords(
  events: readonly TransactionEvent[],
  options: { shardId?: string; firstSequence?: number; delayMs?: number } = {},
): DeliveredRecord[] {
  const { shardId = 'shardId-000000000000', firstSequence = 0, delayMs = 60_000 } = options;
  return events.map((event, index) => ({
    data: new TextEncoder().encode(
      JSON.stringify({
        user_id: event.user_id,
        merchant_id: event.merchant_id,
        amount: event.amount,
        category: event.category,
        transaction_date: new Date(event.ts).toISOString(),
      }),
    ),
    partitionKey: String(event.user_id),
    sequenceNumber: String(SEQUENCE_BASE + BigInt(firstSequence + index)),
    shardId,
    arrivalMs: event.ts + delayMs,
  }));
}

/** A record with arbitrary bytes, sequenced like `transactionRecords`. */
export function rawRecord(
  bytes: string | Uint8Array,
  sequence: number,
  arrivalMs: number,
  shardId = 'shardId-000000000000',
): DeliveredRecord {
  return {
    data: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes,
    partitionKey: 'x',
    sequenceNumber: String(SEQUENCE_BASE + BigInt(sequence)),
    shardId,
    arrivalMs,
  };
}
