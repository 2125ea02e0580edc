import { isSafeIdentifier } from '../definitions/identifier.js';
import { FstoreError } from '../errors.js';

/**
 * Where offline data lives, the same in a local folder and in S3 (Hive-style, so Glue partition
 * projection and DuckDB's `hive_partitioning` read the `dt` column from the path):
 *
 * ```
 * raw/<source>/dt=YYYY-MM-DD/...                        raw events of a batch source
 * features/<view>/version=<version>/dt=YYYY-MM-DD/...   computed features of one view version
 * _staging/<jobId>/...                                  a running job's output, before publishing
 * ```
 */

/** A day partition's value: `YYYY-MM-DD` in UTC. */
const DT = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Versions are content hashes; they end up in paths and Glue partition values. */
const VERSION = /^[A-Za-z0-9_-]+$/;

/** A source, view, version or day that cannot be part of an offline path. */
export class InvalidPartitionError extends FstoreError {
  override readonly name = 'InvalidPartitionError';
}

/** A parsed partition path. */
export type OfflinePartition =
  | { readonly kind: 'raw'; readonly source: string; readonly dt: string; readonly prefix: string }
  | {
      readonly kind: 'features';
      readonly view: string;
      readonly version: string;
      readonly dt: string;
      readonly prefix: string;
    };

/**
 * The UTC day of an instant, as a `dt` partition value.
 * @example formatDt(new Date('2024-01-31T23:59:59.999Z')) // '2024-01-31'
 */
export function formatDt(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new InvalidPartitionError(`${String(date)} is not a valid date; pass a Date holding an instant`);
  }
  if (date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    throw new InvalidPartitionError(
      `${date.toISOString()} is outside the years 0000-9999 a dt partition can hold`,
    );
  }
  return date.toISOString().slice(0, 10);
}

/** `raw/<source>/` */
export function rawSourcePrefix(source: string): string {
  assertName('source', source);
  return `raw/${source}/`;
}

/**
 * @example rawPartitionPrefix('transactions', '2024-01-31') // 'raw/transactions/dt=2024-01-31/'
 */
export function rawPartitionPrefix(source: string, dt: Date | string): string {
  return `${rawSourcePrefix(source)}dt=${dtValue(dt)}/`;
}

/**
 * Where records that can never be applied wait with their reason, one folder per day they arrived.
 * @example quarantinePartitionPrefix('transactions', '2024-01-31') // 'quarantine/transactions/dt=2024-01-31/'
 */
export function quarantinePartitionPrefix(source: string, dt: Date | string): string {
  assertName('source', source);
  return `quarantine/${source}/dt=${dtValue(dt)}/`;
}

/** `features/<view>/version=<version>/` */
export function featureVersionPrefix(view: string, version: string): string {
  assertName('feature view', view);
  if (!VERSION.test(version)) {
    throw new InvalidPartitionError(
      `feature view version "${version}" cannot be part of a path; use the version the registry gives (letters, digits, '_' and '-')`,
    );
  }
  return `features/${view}/version=${version}/`;
}

/**
 * @example featurePartitionPrefix('user_stats', 'a1b2', new Date('2024-01-31T12:00:00Z'))
 * // 'features/user_stats/version=a1b2/dt=2024-01-31/'
 */
export function featurePartitionPrefix(view: string, version: string, dt: Date | string): string {
  return `${featureVersionPrefix(view, version)}dt=${dtValue(dt)}/`;
}

/**
 * Reads the partition out of a key or prefix (`.../dt=2024-01-31/part-0.parquet` or the prefix itself);
 * undefined when the key is not inside a raw or feature partition.
 */
export function parsePartitionKey(key: string): OfflinePartition | undefined {
  const segments = key.split('/');
  if (segments[0] === 'raw' && segments.length >= 3) {
    const [, source = '', dtSegment = ''] = segments;
    const dt = dtSegment.startsWith('dt=') ? dtSegment.slice(3) : undefined;
    if (!isSafeIdentifier(source) || dt === undefined || !isValidDt(dt)) return undefined;
    return { kind: 'raw', source, dt, prefix: `raw/${source}/dt=${dt}/` };
  }
  if (segments[0] === 'features' && segments.length >= 4) {
    const [, view = '', versionSegment = '', dtSegment = ''] = segments;
    const version = versionSegment.startsWith('version=') ? versionSegment.slice(8) : '';
    const dt = dtSegment.startsWith('dt=') ? dtSegment.slice(3) : undefined;
    if (!isSafeIdentifier(view) || !VERSION.test(version) || dt === undefined || !isValidDt(dt)) {
      return undefined;
    }
    return { kind: 'features', view, version, dt, prefix: `features/${view}/version=${version}/dt=${dt}/` };
  }
  return undefined;
}

/** True for a real calendar day written `YYYY-MM-DD` (so `2024-02-30` is false). */
export function isValidDt(dt: string): boolean {
  const match = DT.exec(dt);
  if (!match) return false;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0-99 as 1900-1999
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function dtValue(dt: Date | string): string {
  if (typeof dt !== 'string') return formatDt(dt);
  if (!isValidDt(dt)) {
    throw new InvalidPartitionError(
      `"${dt}" is not a partition day; write it as YYYY-MM-DD (UTC), e.g. "2024-01-31", or pass a Date`,
    );
  }
  return dt;
}

function assertName(what: string, name: string): void {
  if (!isSafeIdentifier(name)) {
    throw new InvalidPartitionError(
      `${what} name "${name}" cannot be part of a path; use the definition's name (lower-case letters, digits and _)`,
    );
  }
}
