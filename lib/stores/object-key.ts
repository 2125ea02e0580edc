import { FstoreError } from '../errors.js';

/**
 * Characters a key segment may hold. Keys travel unescaped into S3 request headers (CopySource),
 * filesystem paths, DuckDB file lists (where `*`, `?`, `[` are globs) and Athena locations, so they
 * keep to S3's "safe" characters plus `=` for Hive partitions (`dt=2024-01-31`).
 */
const SAFE_SEGMENT = /^[A-Za-z0-9._=-]+$/;

/** Longest key segment: most filesystems cap a file name at 255 bytes. */
export const MAX_KEY_SEGMENT_LENGTH = 255;

/** A key or prefix that is not a plain relative path inside the store's root. */
export class InvalidObjectKeyError extends FstoreError {
  override readonly name = 'InvalidObjectKeyError';
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(
      `object key "${key}" ${problem}; use a relative path of segments made of letters, digits, '.', '_', '-' and '=' separated by single '/', e.g. "features/user_stats/version=1/dt=2024-01-31/part-0.parquet"`,
    );
  }
}

/**
 * Checks that `key` names an object inside the store: `/`-separated, relative, no empty, `.` or `..`
 * segments, no backslashes, only safe characters. Throws InvalidObjectKeyError otherwise.
 * @example
 * assertObjectKey('raw/transactions/dt=2024-01-31/part-0.parquet'); // ok
 * assertObjectKey('../etc/passwd'); // throws
 */
export function assertObjectKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new InvalidObjectKeyError(String(key), 'is empty');
  if (key.endsWith('/')) {
    throw new InvalidObjectKeyError(key, 'ends with "/", which names a folder, not an object');
  }
  assertSegments(key, key.split('/'));
}

/**
 * Checks a prefix for `list` and folder locations: `''` (the whole store) or a key's leading part.
 * A trailing `/` is allowed and the last segment may be partial (`raw/tx/dt=2024-01`).
 */
export function assertObjectPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidObjectKeyError(String(prefix), 'is not a string');
  if (prefix === '') return;
  const segments = prefix.split('/');
  if (prefix.endsWith('/')) segments.pop();
  assertSegments(prefix, segments);
}

function assertSegments(key: string, segments: readonly string[]): void {
  if (key.includes('\\')) {
    throw new InvalidObjectKeyError(key, 'contains a backslash');
  }
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) {
    throw new InvalidObjectKeyError(key, 'is absolute');
  }
  for (const segment of segments) {
    if (segment === '') throw new InvalidObjectKeyError(key, 'has an empty segment ("//")');
    if (segment === '..') throw new InvalidObjectKeyError(key, 'has a ".." segment, which escapes the root');
    if (segment.startsWith('.')) {
      throw new InvalidObjectKeyError(key, `has a segment starting with "." ("${segment}")`);
    }
    if (segment.length > MAX_KEY_SEGMENT_LENGTH) {
      throw new InvalidObjectKeyError(key, `has a segment longer than ${MAX_KEY_SEGMENT_LENGTH} characters`);
    }
    if (!SAFE_SEGMENT.test(segment)) {
      const bad = [...segment].find((char) => !SAFE_SEGMENT.test(char)) ?? '';
      throw new InvalidObjectKeyError(key, `contains the character ${JSON.stringify(bad)}`);
    }
  }
}
