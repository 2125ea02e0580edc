import { parquetWriteBuffer } from 'hyparquet-writer';
import type { OnlineScalar } from '../compute/online-state.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import type { ValueType } from '../definitions/value-type.js';
import type { ObjectStore } from './object-store.js';
import { formatDt, rawPartitionPrefix } from './offline-layout.js';

/**
 * The column every landed raw row carries besides the source's own: a string naming the record it came
 * from (`<shardId>:<sequenceNumber>` for a stream record, `push-<id>:<row>` for a pushed row). A record
 * delivered twice (a retried batch, a bisected half) lands twice under one id, so readers and compaction
 * keep one row per id and never count an event twice.
 */
export const RECORD_ID_COLUMN = '_record_id';

/** Record ids of rows pushed offline only (`push-<id>:<row>`) and online too (`push-online-<id>:<row>`). */
export const OFFLINE_PUSH_ID_PREFIX = 'push-';
export const ONLINE_PUSH_ID_PREFIX = 'push-online-';

/**
 * Which landed rows the batch part of a stream-fed view leaves out, as a SQL condition on `_record_id`:
 * the stream's records and rows pushed online, which its stream part holds. Declared rows (no id) and
 * rows pushed offline only stay.
 */
export const BATCH_PART_ROWS = `("${RECORD_ID_COLUMN}" IS NULL OR ("${RECORD_ID_COLUMN}" LIKE '${OFFLINE_PUSH_ID_PREFIX}%' AND "${RECORD_ID_COLUMN}" NOT LIKE '${ONLINE_PUSH_ID_PREFIX}%'))`;

/** One event to land: its event time (epoch ms), values by source column (timestamps as epoch ms), and id. */
export interface RawRow {
  readonly ts: number;
  readonly recordId: string;
  readonly values: Readonly<Record<string, OnlineScalar | null>>;
}

const DAY_MS = 86_400_000;

/** Parquet types of scalar columns; vectors land as JSON strings. */
const PARQUET_TYPES: Readonly<Record<string, string>> = {
  int64: 'INT64',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  string: 'STRING',
  timestamp: 'TIMESTAMP',
};

/**
 * Lands rows in the raw area of a batch source, one Parquet file per UTC day of their event times:
 * `raw/<source>/dt=<day>/<fileStem>.parquet`. A deterministic `fileStem` (a stream batch's shard and
 * sequence range) makes a redelivered batch overwrite its own file rather than add one. Returns the keys.
 */
export async function landRawRows(
  store: ObjectStore,
  source: BatchSourceDefinition,
  rows: readonly RawRow[],
  fileStem: string,
): Promise<string[]> {
  const byDay = new Map<string, RawRow[]>();
  for (const row of rows) {
    const day = formatDt(new Date(Math.floor(row.ts / DAY_MS) * DAY_MS));
    const dayRows = byDay.get(day);
    if (dayRows) dayRows.push(row);
    else byDay.set(day, [row]);
  }
  const keys: string[] = [];
  for (const [day, dayRows] of byDay) {
    const key = `${rawPartitionPrefix(source.name, day)}${fileStem}.parquet`;
    await store.put(key, rawParquet(source, dayRows));
    keys.push(key);
  }
  return keys;
}

/** Rows as one Parquet file with the source's columns, typed as declared, plus `_record_id`. */
export function rawParquet(source: BatchSourceDefinition, rows: readonly RawRow[]): Uint8Array {
  const schema = source.schema as Record<string, ValueType>;
  const columnData = [
    ...Object.entries(schema).map(([name, type]) => ({
      name,
      data: rows.map((row) => parquetValue(type, row.values[name] ?? null)),
      type: PARQUET_TYPES[type] ?? 'STRING',
    })),
    { name: RECORD_ID_COLUMN, data: rows.map((row) => row.recordId), type: 'STRING' },
  ];
  return new Uint8Array(parquetWriteBuffer({ columnData: columnData as never }));
}

function parquetValue(type: ValueType, value: OnlineScalar | null): unknown {
  if (typeof value !== 'number') return value;
  if (type === 'timestamp') return new Date(value);
  return type === 'int64' ? BigInt(value) : value;
}
