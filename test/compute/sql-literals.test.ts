import { describe, expect, it } from 'vitest';
import {
  numberLiteral,
  quoteIdentifier,
  stringLiteral,
  timestampLiteral,
} from '../../lib/compute/sql-literals.js';

describe('quoteIdentifier', () => {
  it.each([
    ['amount', '"amount"'],
    ['a"b', '"a""b"'],
    ['x"; DROP TABLE t; --', '"x""; DROP TABLE t; --"'],
    ['', '""'],
    ['""', '""""""'],
  ])('quotes %j as %s', (name, quoted) => {
    expect(quoteIdentifier(name)).toBe(quoted);
  });
});

describe('stringLiteral', () => {
  it.each([
    ['food', "'food'"],
    ["it's", "'it''s'"],
    ["1' OR '1'='1", "'1'' OR ''1''=''1'"],
    ["''", "''''''"],
    ['back\\slash', "'back\\slash'"],
    ['line\nbreak', "'line\nbreak'"],
  ])('writes %j as %s', (text, literal) => {
    expect(stringLiteral(text)).toBe(literal);
  });

  it('refuses a NUL character, which no engine stores', () => {
    expect(() => stringLiteral('a\u0000b')).toThrow('a SQL string literal cannot hold a NUL character');
  });
});

describe('numberLiteral', () => {
  it.each([
    [0, '0'],
    [-12, '-12'],
    [2.5, 'CAST(2.5e+0 AS DOUBLE)'],
    [1e-7, 'CAST(1e-7 AS DOUBLE)'],
  ])('writes %d as %s', (value, literal) => {
    expect(numberLiteral(value)).toBe(literal);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (value) => {
    expect(() => numberLiteral(value)).toThrow(`${value} cannot be written as a SQL number`);
  });
});

describe('timestampLiteral', () => {
  it('writes a UTC instant with milliseconds', () => {
    expect(timestampLiteral(new Date('2024-02-29T23:59:59.999Z'))).toBe(
      "TIMESTAMP '2024-02-29 23:59:59.999'",
    );
  });

  it('refuses an invalid date', () => {
    expect(() => timestampLiteral(new Date('nope'))).toThrow(
      'an invalid date cannot be written as a SQL timestamp',
    );
  });
});
