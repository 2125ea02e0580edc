import { randomUUID } from 'node:crypto';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { OnlineScalar } from '../compute/online-state.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import { isScalarType, type ValueType } from '../definitions/value-type.js';
import { FstoreError } from '../errors.js';
import type { ObjectStore } from '../stores/object-store.js';
import { parsePartitionKey, rawPartitionPrefix, rawSourcePrefix } from '../stores/offline-layout.js';
import { type RawRow, RECORD_ID_COLUMN, rawParquet } from '../stores/raw-landing.js';

/** A raw file compaction cannot merge: not Parquet, or holding values or columns the source does not declare. */
export class RawCompactionError extends FstoreError {
  override readonly name = 'RawCompactionError';
}

/** What compacting one day partition of a source's raw area did. */
export interface CompactionResult {
  readonly dt: string;
  /** Parquet files merged: those listed whose every row has a `_record_id` (deleted when `file` is set). */
  readonly filesIn: number;
  /** Rows those files held. */
  readonly rowsIn: number;
  /** Rows kept of them: one per `_record_id`. */
  readonly rowsOut: number;
  /** The key of the file written; absent when there was nothing to do. */
  readonly file?: string;
  /** Parquet files left as they are because some of their rows have no `_record_id` (see compactRawPartition). */
  readonly filesLeft: number;
}

export interface CompactRawPartitionOptions {
  readonly store: ObjectStore;
  readonly source: BatchSourceDefinition;
  /** The day partition, `YYYY-MM-DD`. */
  readonly dt: string;
  /** The clock naming the compacted file. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Merges the Parquet files of one day of a source's raw area (`raw/<source>/dt=<dt>/`, where stream
 * records and pushed rows land one small file per batch) into one file, `compacted-<epochMs>-<uuid>.parquet`,
 * with the source's declared columns and types plus `_record_id`, keeping one row per `_record_id` (the
 * first in key order: copies of one record are the same record).
 *
 * The swap is atomic for readers without any lock, because every reader (DuckDB locally, Athena on AWS)
 * keeps one row per `_record_id`: the new file is written whole first (`put` is atomic), so while it and
 * the files it merged both exist, each record is in both and still counts once; then exactly the files
 * listed at the start are deleted. A file landed after the listing is not touched and is merged by a later
 * run. A redelivered batch that overwrites a listed file between the read and the delete holds the same
 * records, which the new file already has. Two compactions running at once each write a file with the same
 * records and delete the same inputs; readers still count each record once, and the next run merges the
 * two. (A reader that listed the files before the delete may fail to open one that is gone and has to run
 * again; it never counts a record twice or misses one.)
 *
 * Rows without a `_record_id` (files without the column, such as a source's own batch data under
 * `raw/<source>/` on AWS, or null ids) are never merged with each other, and a copy of them would count
 * twice while both files exist; so a file holding any such row is left as it is, whole (`filesLeft`), and
 * its rows keep counting once.
 *
 * Nothing is written when there is nothing to merge: no file to merge, or one with no id twice. Every file
 * is read and checked before anything is written, so a file that is not Parquet, or one to merge holding a
 * column the source does not declare or a value that does not fit its declared type, fails the run with a
 * RawCompactionError naming it, and the partition stays as it was. The partition is merged in memory.
 */
export async function compactRawPartition(options: CompactRawPartitionOptions): Promise<CompactionResult> {
  const { store, source, dt } = options;
  const prefix = rawPartitionPrefix(source.name, dt);
  const keys = (await store.list(prefix)).filter((key) => key.endsWith('.parquet'));
  const inputs: string[] = [];
  const rows: RawRow[] = [];
  let filesLeft = 0;
  for (const key of keys) {
    const bytes = await store.get(key);
    // Gone since the listing: a concurrent compaction merged it into a file of its own.
    if (bytes === undefined) continue;
    const fileRows = await readRawFile(source, key, bytes);
    if (fileRows === undefined) {
      filesLeft++;
      continue;
    }
    inputs.push(key);
    rows.push(...fileRows);
  }
  const kept = uniqueRecords(rows);
  const result = { dt, filesIn: inputs.length, rowsIn: rows.length, rowsOut: kept.length, filesLeft };
  if (inputs.length === 0 || (inputs.length === 1 && kept.length === rows.length)) return result;
  const now = (options.now ?? (() => new Date()))().getTime();
  const file = `${prefix}compacted-${now}-${randomUUID()}.parquet`;
  await store.put(file, rawParquet(source, kept));
  await store.delete(inputs);
  return { ...result, file };
}

export interface CompactRawOptions {
  readonly store: ObjectStore;
  readonly source: BatchSourceDefinition;
  /** Only these days (`YYYY-MM-DD`); @default every day partition the raw area holds */
  readonly dts?: readonly string[];
  readonly now?: () => Date;
  /** Called after each partition, with its result. */
  readonly onPartition?: (result: CompactionResult) => void;
}

/** Compacts each day partition of a source's raw area in turn, oldest first (see compactRawPartition). */
export async function compactRaw(options: CompactRawOptions): Promise<CompactionResult[]> {
  const { store, source } = options;
  const dts = options.dts
    ? [...new Set(options.dts)].sort()
    : [
        ...new Set(
          (await store.list(rawSourcePrefix(source.name)))
            .map((key) => parsePartitionKey(key))
            .flatMap((partition) => (partition?.kind === 'raw' ? [partition.dt] : [])),
        ),
      ].sort();
  const results: CompactionResult[] = [];
  for (const dt of dts) {
    const result = await compactRawPartition({
      store,
      source,
      dt,
      ...(options.now ? { now: options.now } : {}),
    });
    results.push(result);
    options.onPartition?.(result);
  }
  return results;
}

/** The first row of each `_record_id`, in order. */
function uniqueRecords(rows: readonly RawRow[]): RawRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    if (seen.has(row.recordId)) return false;
    seen.add(row.recordId);
    return true;
  });
}

/**
 * A raw file's rows with their values as landing takes them (epoch ms, numbers, JSON vectors); undefined
 * when some row has no `_record_id`, so the file is not to be merged.
 */
async function readRawFile(
  source: BatchSourceDefinition,
  key: string,
  bytes: Uint8Array,
): Promise<RawRow[] | undefined> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let columns: string[];
  let objects: Record<string, unknown>[];
  try {
    columns = parquetSchema(parquetMetadata(file)).children.map((child) => child.element.name);
    objects = columns.includes(RECORD_ID_COLUMN) ? await parquetReadObjects({ file }) : [];
  } catch (error) {
    throw new RawCompactionError(
      `raw file ${key} cannot be read as Parquet (${(error as Error).message}); move it out of the raw area or delete it, then compact again`,
      { cause: error },
    );
  }
  if (!columns.includes(RECORD_ID_COLUMN)) return undefined;
  const ids: string[] = [];
  for (const [index, object] of objects.entries()) {
    const id = object[RECORD_ID_COLUMN];
    if (id === null || id === undefined) return undefined;
    if (typeof id !== 'string') {
      throw new RawCompactionError(
        `raw file ${key}, row ${index}: ${RECORD_ID_COLUMN} is ${describe(id)}; it must be a string`,
      );
    }
    ids.push(id);
  }
  const schema = source.schema as Readonly<Record<string, ValueType>>;
  const undeclared = columns.filter((column) => column !== RECORD_ID_COLUMN && !(column in schema));
  if (undeclared.length > 0) {
    throw new RawCompactionError(
      `raw file ${key} has columns source "${source.name}" does not declare: ${undeclared.join(', ')}; compaction would drop them, so declare them in the source or move the file out of the raw area`,
    );
  }
  return objects.map((object, index) => {
    const values: Record<string, OnlineScalar | null> = {};
    for (const [column, type] of Object.entries(schema)) {
      values[column] = landedValue(
        type,
        object[column],
        () => `raw file ${key}, row ${index}, column "${column}"`,
      );
    }
    const ts = values[source.timestampField];
    return { ts: typeof ts === 'number' ? ts : 0, recordId: ids[index] as string, values };
  });
}

/** A value as read from Parquet, back in the form landing takes: what rawParquet writes as the declared type. */
function landedValue(type: ValueType, value: unknown, where: () => string): OnlineScalar | null {
  if (value === null || value === undefined) return null;
  const refuse = (): never => {
    throw new RawCompactionError(
      `${where()} is ${describe(value)}, which does not fit its declared type ${type}`,
    );
  };
  if (!isScalarType(type)) {
    // Vectors land as JSON text; a Parquet list becomes the same text.
    if (typeof value === 'string') return value;
    return Array.isArray(value) && value.every((v) => typeof v === 'number')
      ? JSON.stringify(value)
      : refuse();
  }
  switch (type) {
    case 'int64': {
      const number = typeof value === 'bigint' ? Number(value) : value;
      return typeof number === 'number' && Number.isSafeInteger(number) ? number : refuse();
    }
    case 'float64': {
      const number = typeof value === 'bigint' ? Number(value) : value;
      return typeof number === 'number' ? number : refuse();
    }
    case 'timestamp':
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value.getTime() : refuse();
    case 'bool':
      return typeof value === 'boolean' ? value : refuse();
    case 'string':
      return typeof value === 'string' ? value : refuse();
  }
  return refuse();
}

function describe(value: unknown): string {
  if (value instanceof Date) return `the time ${value.toISOString()}`;
  if (typeof value === 'bigint') return `${value} (int64)`;
  return `${JSON.stringify(value) ?? String(value)} (${Array.isArray(value) ? 'list' : typeof value})`;
}
