import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSafeIdentifier, SAFE_IDENTIFIER, suggestIdentifier } from '../../lib/index.js';

describe('isSafeIdentifier', () => {
  it.each(['a', '_', '_x', '__private', 'user_id', 'amount_mean_7d', 'a1', 'x9_9'])(
    'accepts "%s"',
    (name) => {
      // Act
      const safe = isSafeIdentifier(name);

      // Assert
      expect(safe).toBe(true);
    },
  );

  it.each([
    { name: '', why: 'is empty' },
    { name: 'Ab', why: 'has an upper-case letter' },
    { name: 'USER_ID', why: 'is upper case' },
    { name: 'userId', why: 'is camel case' },
    { name: '9a', why: 'starts with a digit' },
    { name: '7d', why: 'looks like a duration' },
    { name: 'user id', why: 'has a space' },
    { name: 'user-id', why: 'has a hyphen' },
    { name: 'user.id', why: 'has a dot' },
    { name: 'a;drop', why: 'has a semicolon' },
    { name: "1' OR '1'='1", why: 'is a SQL injection' },
    { name: 'a; DROP TABLE users; --', why: 'is a statement' },
    { name: '"quoted"', why: 'has double quotes' },
    { name: '`ticked`', why: 'has backticks' },
    { name: 'a\n', why: 'ends with a newline' },
    { name: '\ta', why: 'starts with a tab' },
    { name: 'a\u0000b', why: 'has a NUL character' },
    { name: 'café', why: 'has an accented letter' },
    { name: 'ключ', why: 'is Cyrillic' },
    { name: '用户', why: 'is Chinese' },
    { name: 'a\u200bb', why: 'has a zero-width space' },
    { name: 'ａｂ', why: 'uses full-width letters' },
    { name: '😀', why: 'is an emoji' },
  ])('rejects "$name" because it $why', ({ name }) => {
    // Act
    const safe = isSafeIdentifier(name);

    // Assert
    expect(safe).toBe(false);
  });

  it.each([
    { value: 42, label: 'a number' },
    { value: null, label: 'null' },
    { value: undefined, label: 'undefined' },
    { value: ['user_id'], label: 'an array holding a safe name' },
    { value: { toString: () => 'user_id' }, label: 'an object that prints as a safe name' },
  ])('rejects $label, which is not a string', ({ value }) => {
    // Act
    const safe = isSafeIdentifier(value);

    // Assert
    expect(safe).toBe(false);
  });

  it('agrees with SAFE_IDENTIFIER on any string', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(isSafeIdentifier(name)).toBe(SAFE_IDENTIFIER.test(name));
      }),
    );
  });
});

describe('suggestIdentifier', () => {
  it.each([
    { name: 'User ID', suggestion: 'user_id' },
    { name: 'User Stats', suggestion: 'user_stats' },
    { name: 'Amount', suggestion: 'amount' },
    { name: 'userId', suggestion: 'user_id' },
    { name: 'amountUSD', suggestion: 'amount_usd' },
    { name: 'Ab', suggestion: 'ab' },
    { name: 'user-id', suggestion: 'user_id' },
    { name: 'user.id', suggestion: 'user_id' },
    { name: '  padded name  ', suggestion: 'padded_name' },
    { name: 'a;drop', suggestion: 'a_drop' },
    { name: "1' OR '1'='1", suggestion: '_1_or_1_1' },
    { name: '9a', suggestion: '_9a' },
    { name: '7d', suggestion: '_7d' },
    { name: 'a---b', suggestion: 'a_b' },
    { name: '__x__', suggestion: 'x' },
    { name: 'café', suggestion: 'caf' },
    { name: '', suggestion: 'name' },
    { name: '!!!', suggestion: 'name' },
    { name: '用户', suggestion: 'name' },
  ])('suggests "$suggestion" for "$name"', ({ name, suggestion }) => {
    // Act
    const suggested = suggestIdentifier(name);

    // Assert
    expect(suggested).toBe(suggestion);
  });

  it('always suggests a safe identifier, whatever it is given', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (name) => {
        expect(isSafeIdentifier(suggestIdentifier(name))).toBe(true);
      }),
    );
  });

  it('leaves a safe name without leading or trailing underscores as it is', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_]*[a-z0-9]$/), (name) => {
        expect(suggestIdentifier(name)).toBe(name);
      }),
    );
  });
});
