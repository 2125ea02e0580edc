import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntityKey, EntityKeyError, encodeEntityKey } from '../../lib/stores/online-entity-key.js';

describe('encodeEntityKey', () => {
  it.each<[string, Record<string, number | bigint | string>]>([
    ['user_id=i:42', { user_id: 42 }],
    ['user_id=i:-7', { user_id: -7 }],
    ['user_id=s:42', { user_id: '42' }],
    ['country=s:FR|merchant_id=i:3', { merchant_id: 3, country: 'FR' }],
    ['country=s:FR|merchant_id=i:3', { country: 'FR', merchant_id: 3 }],
    ['category=s:a\\|b', { category: 'a|b' }],
    ['category=s:a\\=b', { category: 'a=b' }],
    ['category=s:back\\\\slash', { category: 'back\\slash' }],
    ['category=s:', { category: '' }],
    ["category=s:1' OR '1'\\='1", { category: "1' OR '1'='1" }],
    ['category=s:café ☕', { category: 'café ☕' }],
    ['user_id=i:9007199254740993', { user_id: 9007199254740993n }],
  ])('encodes and decodes %s', (encoded, keys) => {
    expect(encodeEntityKey(keys)).toBe(encoded);
    expect(decodeEntityKey(encoded)).toEqual(keys);
  });

  it('keeps apart values that a naive join would confuse', () => {
    const pairs: [Record<string, number | string>, Record<string, number | string>][] = [
      [{ a: 'x|b=s:y' }, { a: 'x', b: 'y' }],
      [{ a: 1 }, { a: '1' }],
      [{ a: 'x\\' }, { a: 'x\\\\' }],
    ];
    for (const [left, right] of pairs)
      expect(encodeEntityKey(left ?? {})).not.toBe(encodeEntityKey(right ?? {}));
  });

  it('decodes what it encodes, for any keys', () => {
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.maxSafeInteger(),
      fc.constantFrom('|', '=', '\\', '\\|'),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value, { minKeys: 1, maxKeys: 4 }), (keys) => {
        expect(decodeEntityKey(encodeEntityKey(keys))).toEqual({ ...keys });
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    [{}, 'an entity key needs at least one join key'],
    [{ user_id: 1.5 }, 'join key "user_id" is 1.5; give an integer (int64 keys) or a string'],
    [
      { user_id: null as unknown as string },
      'join key "user_id" is null; give an integer (int64 keys) or a string',
    ],
  ])('refuses %j', (keys, message) => {
    expect(() => encodeEntityKey(keys)).toThrow(new EntityKeyError(message));
  });

  it.each(['user_id', 'user_id=42', 'a=s:1=2'])('refuses to decode %j', (encoded) => {
    expect(() => decodeEntityKey(encoded)).toThrow(EntityKeyError);
  });
});
