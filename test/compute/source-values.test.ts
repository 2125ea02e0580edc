import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventTime, sourceValue } from '../../lib/compute/source-values.js';
import type { ValueType } from '../../lib/definitions/value-type.js';
import { EPOCH_MS_FORMS, NOT_TIMES, TIME_FIX, TIME_FORMS } from '../support/time-forms.js';

describe('parseEventTime', () => {
  it.each(TIME_FORMS)('reads $form ($text) as the instant it names', ({ text, ms }) => {
    expect(parseEventTime(text)).toBe(ms);
  });

  it.each(EPOCH_MS_FORMS)('reads $form ($value) as that instant', ({ value, ms }) => {
    expect(parseEventTime(value)).toBe(ms);
  });

  it.each(NOT_TIMES)('reads $form ($text) as no time', ({ text }) => {
    expect(parseEventTime(text)).toBeUndefined();
  });

  it.each([[''], [1.5], [Number.NaN], [2 ** 60], [true], [null], [{}]])('reads %j as no time', (input) => {
    expect(parseEventTime(input)).toBeUndefined();
  });

  it('agrees with Date.parse on every ISO 8601 time with a zone and at most 3 fraction digits', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1000-01-01T00:00:00Z'),
          max: new Date('9998-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (date, offsetMinutes) => {
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().replace('Z', zone);
          return parseEventTime(local) === date.getTime() && Date.parse(local) === date.getTime();
        },
      ),
      { numRuns: 2_000 },
    );
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
    ['timestamp', 'noon', { expected: `${TIME_FIX}, or epoch milliseconds` }],
    ['float32[3]', [1, 2, 3], { expected: 'a scalar (vector columns cannot be pushed or streamed yet)' }],
    ['string', null, { value: null }],
    ['int64', undefined, { value: null }],
  ])('takes a %s column value %j as %j', (type, input, expected) => {
    expect(sourceValue(type, input)).toEqual(expected);
  });

  it.each(TIME_FORMS)(
    'takes a timestamp column value written $form ($text) as its instant',
    ({ text, ms }) => {
      expect(sourceValue('timestamp', text)).toEqual({ value: ms });
    },
  );

  it.each(EPOCH_MS_FORMS)(
    'takes a timestamp column value of $form ($value) as that instant',
    ({ value, ms }) => {
      expect(sourceValue('timestamp', value)).toEqual({ value: ms });
    },
  );

  it.each(NOT_TIMES)(
    'refuses a timestamp column value written as $form ($text) and says how to write one',
    ({ text }) => {
      expect(sourceValue('timestamp', text)).toEqual({ expected: `${TIME_FIX}, or epoch milliseconds` });
    },
  );

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
