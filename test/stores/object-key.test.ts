import { describe, expect, it } from 'vitest';
import { assertObjectKey, assertObjectPrefix, InvalidObjectKeyError } from '../../lib/stores/object-key.js';

const problem = (check: () => void): string | undefined => {
  try {
    check();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidObjectKeyError);
    return (error as Error).message.split('; use ')[0];
  }
};

describe('assertObjectKey', () => {
  it.each([
    'a',
    'raw/transactions/dt=2024-01-31/part-0.parquet',
    '_staging/job-1/data_0.parquet',
    'features/user_stats/version=a1b2/dt=2024-01-31/_manifest.json',
    'a..b/c.d',
  ])('accepts %j', (key) => {
    expect(problem(() => assertObjectKey(key))).toBeUndefined();
  });

  it.each([
    ['', 'object key "" is empty'],
    ['a/', 'object key "a/" ends with "/", which names a folder, not an object'],
    ['/etc/passwd', 'object key "/etc/passwd" is absolute'],
    ['C:/x', 'object key "C:/x" is absolute'],
    ['a\\b', 'object key "a\\b" contains a backslash'],
    ['a//b', 'object key "a//b" has an empty segment ("//")'],
    ['../x', 'object key "../x" has a ".." segment, which escapes the root'],
    ['a/../b', 'object key "a/../b" has a ".." segment, which escapes the root'],
    ['./a', 'object key "./a" has a segment starting with "." (".")'],
    ['a/.fstore-tmp-1', 'object key "a/.fstore-tmp-1" has a segment starting with "." (".fstore-tmp-1")'],
    ['a b', 'object key "a b" contains the character " "'],
    ['a*.parquet', 'object key "a*.parquet" contains the character "*"'],
    ['a?b', 'object key "a?b" contains the character "?"'],
    ['a\u0000', 'object key "a\u0000" contains the character "\\u0000"'],
    [`${'x'.repeat(256)}`, `object key "${'x'.repeat(256)}" has a segment longer than 255 characters`],
  ])('rejects %j: %s', (key, message) => {
    expect(problem(() => assertObjectKey(key))).toBe(message);
  });

  it('ends every message with how to write a key', () => {
    expect(() => assertObjectKey('a//b')).toThrow(
      `object key "a//b" has an empty segment ("//"); use a relative path of segments made of letters, digits, '.', '_', '-' and '=' separated by single '/', e.g. "features/user_stats/version=1/dt=2024-01-31/part-0.parquet"`,
    );
  });
});

describe('assertObjectPrefix', () => {
  it.each(['', 'raw/', 'raw/tx/dt=2024-01', 'raw/tx/dt=2024-01-31/', 'a'])('accepts %j', (prefix) => {
    expect(problem(() => assertObjectPrefix(prefix))).toBeUndefined();
  });

  it.each(['/', '//', '../', '..', 'a//', 'a/../', '/raw/', 'a\\'])('rejects %j', (prefix) => {
    expect(problem(() => assertObjectPrefix(prefix))).toBeDefined();
  });
});
