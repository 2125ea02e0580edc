import { FstoreError } from '../errors.js';

/** Athena writes at most this many partitions in one INSERT INTO, CREATE TABLE AS or UNLOAD. */
export const ATHENA_MAX_PARTITIONS_PER_WRITE = 100;

/** A batch size Athena would refuse, or that is not a positive whole number. */
export class PartitionBatchSizeError extends FstoreError {
  override readonly name = 'PartitionBatchSizeError';
}

/**
 * Splits partition values (e.g. `dt` dates) into batches small enough for one Athena write each, so a
 * backfill over a year runs as four UNLOADs instead of failing with HIVE_TOO_MANY_OPEN_PARTITIONS.
 * Values are de-duplicated and sorted, so each batch covers a contiguous range of ISO dates.
 *
 * @example splitIntoPartitionBatches(['2024-01-03', '2024-01-01', '2024-01-02'], 2)
 * // [['2024-01-01', '2024-01-02'], ['2024-01-03']]
 */
export function splitIntoPartitionBatches(
  dates: readonly string[],
  max: number = ATHENA_MAX_PARTITIONS_PER_WRITE,
): string[][] {
  if (!Number.isInteger(max) || max < 1 || max > ATHENA_MAX_PARTITIONS_PER_WRITE) {
    throw new PartitionBatchSizeError(
      `partition batch size ${max} is not allowed; use a whole number from 1 to ${ATHENA_MAX_PARTITIONS_PER_WRITE} (Athena's limit per write)`,
    );
  }
  const sorted = [...new Set(dates)].sort();
  const batches: string[][] = [];
  for (let start = 0; start < sorted.length; start += max) {
    batches.push(sorted.slice(start, start + max));
  }
  return batches;
}
