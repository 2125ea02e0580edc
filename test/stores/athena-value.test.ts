import { describe, expect, it } from 'vitest';
import { AthenaResultValueError, athenaValue, parseAthenaArray } from '../../lib/stores/athena-value.js';

describe('parseAthenaArray', () => {
  it.each([
    ['[]', []],
    ['[1]', [1]],
    ['[1, 2, 3]', [1, 2, 3]],
    ['[-1.5, 2e3, NaN, Infinity]', [-1.5, 2000, Number.NaN, Number.POSITIVE_INFINITY]],
    ['[9007199254740993, 1]', [9007199254740993n, 1]],
    ['[true, false, null]', [true, false, null]],
    ['[a, b c, ]', ['a', 'b c', '']],
    ['[[1, 2], [], [3]]', [[1, 2], [], [3]]],
    ['[[[1]]]', [[[1]]]],
    ['[{a=1, b=[2, 3]}, {a=4, b=[]}]', ['{a=1, b=[2, 3]}', '{a=4, b=[]}']],
    ['[2024-03-01 12:00:00.000]', ['2024-03-01 12:00:00.000']],
  ])('reads %s', (text, expected) => {
    expect(parseAthenaArray(text)).toEqual(expected);
  });

  it.each([
    ['', 'expected "[" at character 0'],
    ['1, 2', 'expected "[" at character 0'],
    ['[1, 2', 'expected ", " or "]" at character 5'],
    ['[1, 2] x', 'unexpected text after the closing "]" at character 6'],
    ['[[1]x]', 'expected ", " or "]" at character 4'],
  ])('refuses the malformed text %j, saying where', (text, problem) => {
    expect(() => parseAthenaArray(text)).toThrow(
      new AthenaResultValueError(
        `cannot read Athena array text ${JSON.stringify(text)}: ${problem}; select CAST(<column> AS JSON) to receive it as JSON instead`,
      ),
    );
  });
});

describe('athenaValue', () => {
  it.each([
    ['bigint', '1.5'],
    ['integer', 'x'],
    ['double', 'one'],
    ['boolean', 'yes'],
    ['date', '2024-3-1'],
  ])('refuses %s text %j that does not read as that type', (type, text) => {
    expect(() => athenaValue(text, { name: 'v', type })).toThrow(
      new AthenaResultValueError(
        `column "v" is typed ${type} but Athena sent ${JSON.stringify(text)}; this is a bug in fstore's Athena reader, please report it with the query`,
      ),
    );
  });

  it('refuses a timestamp in a named time zone, saying how to select it in UTC', () => {
    const column = { name: 'ts', type: 'timestamp with time zone' };

    expect(() => athenaValue('2001-08-22 03:04:05.321 America/Los_Angeles', column)).toThrow(
      new AthenaResultValueError(
        `column "ts" (timestamp with time zone) holds "2001-08-22 03:04:05.321 America/Los_Angeles", which is not a UTC timestamp; select it as <column> AT TIME ZONE 'UTC' cast to timestamp`,
      ),
    );
  });

  it('reads type names in any case and with parameters', () => {
    expect(athenaValue('7', { name: 'v', type: 'BIGINT' })).toBe(7);
    expect(athenaValue('1.25', { name: 'v', type: 'decimal(38,9)' })).toBe(1.25);
    expect(athenaValue('abc', { name: 'v', type: 'varchar(3)' })).toBe('abc');
  });

  it('cuts sub-millisecond digits toward the past, also before 1970', () => {
    expect(athenaValue('1969-12-31 23:59:59.999999', { name: 'ts', type: 'timestamp' })).toEqual(
      new Date('1969-12-31T23:59:59.999Z'),
    );
  });

  it('passes through types it does not convert as text', () => {
    expect(athenaValue('68 65', { name: 'v', type: 'varbinary' })).toBe('68 65');
    expect(athenaValue('01:02:03.456', { name: 'v', type: 'time' })).toBe('01:02:03.456');
  });
});
