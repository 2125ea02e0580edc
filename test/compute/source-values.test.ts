import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventTime, sourceValue } from '../../lib/compute/source-values.js';
import type { ValueType } from '../../lib/definitions/value-type.js';

describe('parseEventTime', () => {
  it.each([
    ['2024-01-31T12:00:00Z', Date.UTC(2024, 0, 31, 12)],
    ['2024-01-31T12:00:00.123Z', Date.UTC(2024, 0, 31, 12, 0, 0, 123)],
    ['2024-01-31T12:00:00', Date.UTC(2024, 0, 31, 12)],
    ['2024-01-31 12:00:00.5', Date.UTC(2024, 0, 31, 12, 0, 0, 500)],
    ['2024-01-31T12:00', Date.UTC(2024, 0, 31, 12)],
    ['2024-01-31', Date.UTC(2024, 0, 31)],
    ['2024-01-31T14:00:00+02:00', Date.UTC(2024, 0, 31, 12)],
    ['2024-01-31T07:00:00-0500', Date.UTC(2024, 0, 31, 12)],
    [1_706_702_400_000, 1_706_702_400_000],
    [-86_400_000, -86_400_000],
  ])('reads %j as the instant it names (no zone: UTC)', (input, expected) => {
    expect(parseEventTime(input)).toBe(expected);
  });

  it.each([
    ['yesterday'],
    ['31/01/2024'],
    ['2024-13-45T00:00:00Z'],
    [''],
    [1.5],
    [Number.NaN],
    [true],
    [null],
    [{}],
  ])('reads %j as no time', (input) => {
    expect(parseEventTime(input)).toBeUndefined();
  });
});

describe('sourceValue', () => {
  it.each<[ValueType, unknown, unknown]>([
    ['int64', 42, { value: 42 }],
    ['int64', 4.2, { expected: 'an integer' }],
    ['int64', '42', { expected: 'an integer' }],
    ['int64', 2 ** 60, { expected: 'an integer' }],
    ['float64', 4.2, { value: 4.2 }],
    ['float64', Number.POSITIVE_INFINITY, { expected: 'a number' }],
    ['float64', '4.2', { expected: 'a number' }],
    ['bool', false, { value: false }],
    ['bool', 'false', { expected: 'true or false' }],
    ['string', '', { value: '' }],
    ['string', 7, { expected: 'a string' }],
    ['timestamp', '2024-01-31T12:00:00', { value: Date.UTC(2024, 0, 31, 12) }],
    ['timestamp', 'noon', { expected: 'an ISO 8601 time or epoch milliseconds' }],
    ['float32[3]', [1, 2, 3], { expected: 'a scalar (vector columns cannot be pushed or streamed yet)' }],
    ['string', null, { value: null }],
    ['int64', undefined, { value: null }],
  ])('takes a %s column value %j as %j', (type, input, expected) => {
    expect(sourceValue(type, input)).toEqual(expected);
  });

  it('never throws and always answers a value of the type or what is expected, whatever JSON arrives', () => {
    const types: ValueType[] = ['int64', 'float64', 'bool', 'string', 'timestamp'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.jsonValue(), (type, input) => {
        const parsed = sourceValue(type, input);
        if ('expected' in parsed) return typeof parsed.expected === 'string';
        const value = parsed.value;
        if (value === null) return input === null;
        if (type === 'string') return typeof value === 'string';
        if (type === 'bool') return typeof value === 'boolean';
        return typeof value === 'number' && Number.isFinite(value);
      }),
      { numRuns: 2_000 },
    );
  });
});
