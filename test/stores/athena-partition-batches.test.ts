import { describe, expect, it } from 'vitest';
import {
  ATHENA_MAX_PARTITIONS_PER_WRITE,
  PartitionBatchSizeError,
  splitIntoPartitionBatches,
} from '../../lib/stores/athena-partition-batches.js';

/** `count` consecutive ISO dates from 2024-01-01. */
function days(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10),
  );
}

describe('splitIntoPartitionBatches', () => {
  it.each([
    [0, []],
    [1, [1]],
    [99, [99]],
    [100, [100]],
    [101, [100, 1]],
    [250, [100, 100, 50]],
    [366, [100, 100, 100, 66]],
  ])('splits %i dates into batches of sizes %j', (count, sizes) => {
    const batches = splitIntoPartitionBatches(days(count));

    expect(batches.map((batch) => batch.length)).toEqual(sizes);
    expect(batches.flat()).toEqual(days(count));
  });

  it('keeps each batch a contiguous range, sorted, without duplicates', () => {
    const shuffled = ['2024-01-04', '2024-01-02', '2024-01-01', '2024-01-03', '2024-01-02', '2024-01-05'];

    expect(splitIntoPartitionBatches(shuffled, 2)).toEqual([
      ['2024-01-01', '2024-01-02'],
      ['2024-01-03', '2024-01-04'],
      ['2024-01-05'],
    ]);
  });

  it("allows at most 100 partitions per batch, Athena's limit", () => {
    expect(ATHENA_MAX_PARTITIONS_PER_WRITE).toBe(100);
  });

  it.each([0, -1, 1.5, 101, Number.NaN])('refuses the batch size %s', (max) => {
    expect(() => splitIntoPartitionBatches(days(3), max)).toThrow(
      new PartitionBatchSizeError(
        `partition batch size ${max} is not allowed; use a whole number from 1 to 100 (Athena's limit per write)`,
      ),
    );
  });
});
