import { randomUUID } from 'node:crypto';
import type { ObjectStore } from './object-store.js';
import { formatDt, quarantinePartitionPrefix } from './offline-layout.js';

/** A stream record that can never be applied (bad JSON, schema violation, too large, too late) and why. */
export interface QuarantinedRecord {
  /** The record's bytes as they arrived, base64, so any content survives. */
  readonly data: string;
  readonly reason: string;
  readonly partitionKey?: string;
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  /** When the stream received it, ISO 8601. */
  readonly arrivedAt?: string;
}

/**
 * Writes quarantined records as one JSON-lines object per call under `quarantine/<source>/dt=<day>/`
 * (the day they were quarantined), so none is lost and each keeps its reason; nothing is retried from
 * there. `name` (default: the time and a random id) names the object: a stream batch passes its shard and
 * sequence range, so quarantining a redelivered batch again on the same day rewrites one object rather
 * than adding a copy. Returns the object's key, or undefined when there was nothing to keep.
 */
export async function quarantineRecords(
  store: ObjectStore,
  source: string,
  records: readonly QuarantinedRecord[],
  now: Date = new Date(),
  name = `${now.getTime()}-${randomUUID()}`,
): Promise<string | undefined> {
  if (records.length === 0) return undefined;
  const key = `${quarantinePartitionPrefix(source, formatDt(now))}${name}.jsonl`;
  await store.put(
    key,
    `${records.map((record) => JSON.stringify({ ...record, quarantinedAt: now.toISOString() })).join('\n')}\n`,
  );
  return key;
}

/** Every quarantined record of a source on a day, each stream record once, for inspection and replay by hand. */
export async function readQuarantine(
  store: ObjectStore,
  source: string,
  dt: string,
): Promise<(QuarantinedRecord & { readonly quarantinedAt: string })[]> {
  const keys = (await store.list(quarantinePartitionPrefix(source, dt))).sort();
  const records: (QuarantinedRecord & { quarantinedAt: string })[] = [];
  // A stream record redelivered in a batch cut differently is quarantined again: list it once.
  const seen = new Set<string>();
  for (const key of keys) {
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    for (const line of new TextDecoder().decode(bytes).split('\n')) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as QuarantinedRecord & { quarantinedAt: string };
      const id =
        record.sequenceNumber === undefined ? undefined : `${record.shardId}:${record.sequenceNumber}`;
      if (id !== undefined && seen.has(id)) continue;
      if (id !== undefined) seen.add(id);
      records.push(record);
    }
  }
  return records;
}
