import { describe, expect, it } from 'vitest';
import { defaultHop, formatDuration, MILLISECONDS_PER, parseDuration } from '../../lib/index.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    { text: '0d', milliseconds: 0 },
    { text: '0s', milliseconds: 0 },
    { text: '1s', milliseconds: SECOND },
    { text: '30s', milliseconds: 30 * SECOND },
    { text: '5m', milliseconds: 5 * MINUTE },
    { text: '90m', milliseconds: 90 * MINUTE },
    { text: '11h', milliseconds: 11 * HOUR },
    { text: '12h', milliseconds: 12 * HOUR },
    { text: '7d', milliseconds: 7 * DAY },
    { text: '30d', milliseconds: 30 * DAY },
    { text: '007d', milliseconds: 7 * DAY },
    { text: '999999999s', milliseconds: 999_999_999 * SECOND },
  ])('reads "$text" as $milliseconds ms', ({ text, milliseconds }) => {
    // Act
    const parsed = parseDuration(text);

    // Assert
    expect(parsed).toBe(milliseconds);
  });

  it.each([
    { text: '', why: 'is empty' },
    { text: '7', why: 'has no unit' },
    { text: 'd', why: 'has no number' },
    { text: '7 days', why: 'spells the unit out with a space' },
    { text: '7days', why: 'spells the unit out' },
    { text: '7 d', why: 'has a space before the unit' },
    { text: ' 7d', why: 'has a leading space' },
    { text: '7d ', why: 'has a trailing space' },
    { text: '7d\n', why: 'has a trailing newline' },
    { text: '1.5h', why: 'has a fraction' },
    { text: '-1d', why: 'is negative' },
    { text: '+1d', why: 'has a sign' },
    { text: '7D', why: 'has an upper-case unit' },
    { text: '7w', why: 'uses weeks, which are not a unit' },
    { text: '100ms', why: 'uses milliseconds, which are not a unit' },
    { text: '1h30m', why: 'mixes units' },
    { text: '1e3s', why: 'uses exponent notation' },
    { text: '1234567890s', why: 'has more than nine digits' },
  ])('rejects "$text" because it $why', ({ text }) => {
    // Act
    const parsed = parseDuration(text);

    // Assert
    expect(parsed).toBeUndefined();
  });

  it.each([
    { value: 7, label: 'a number' },
    { value: null, label: 'null' },
    { value: undefined, label: 'undefined' },
    { value: ['7d'], label: 'an array holding a duration' },
    { value: { toString: () => '7d' }, label: 'an object that prints as a duration' },
  ])('rejects $label, which is not a string', ({ value }) => {
    // Act
    const parsed = parseDuration(value);

    // Assert
    expect(parsed).toBeUndefined();
  });

  it('distinguishes zero, which parses, from text that does not', () => {
    // Act
    const zero = parseDuration('0d');
    const invalid = parseDuration('zero');

    // Assert
    expect(zero).toBe(0);
    expect(invalid).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    { milliseconds: 7 * DAY, text: '7d' },
    { milliseconds: DAY, text: '1d' },
    { milliseconds: 36 * HOUR, text: '36h' },
    { milliseconds: 12 * HOUR, text: '12h' },
    { milliseconds: 90 * MINUTE, text: '90m' },
    { milliseconds: 5 * MINUTE, text: '5m' },
    { milliseconds: 90 * SECOND, text: '90s' },
    { milliseconds: SECOND, text: '1s' },
    { milliseconds: 1_500, text: '1500ms' },
    { milliseconds: 1, text: '1ms' },
    { milliseconds: 0, text: '0d' },
  ])('writes $milliseconds ms as "$text"', ({ milliseconds, text }) => {
    // Act
    const formatted = formatDuration(milliseconds);

    // Assert
    expect(formatted).toBe(text);
  });

  it.each(['30s', '5m', '90m', '12h', '36h', '7d', '30d'])(
    'gives back "%s" when formatting what it parses to',
    (text) => {
      // Arrange
      const milliseconds = parseDuration(text);

      // Act
      const formatted = formatDuration(milliseconds ?? Number.NaN);

      // Assert
      expect(formatted).toBe(text);
    },
  );

  it('writes the shortest form of a duration written in a smaller unit', () => {
    // Arrange
    const milliseconds = parseDuration('1440m') ?? Number.NaN;

    // Act
    const formatted = formatDuration(milliseconds);

    // Assert
    expect(formatted).toBe('1d');
  });
});

describe('defaultHop', () => {
  it.each([
    { window: '0d', hop: 5 * MINUTE },
    { window: '1m', hop: 5 * MINUTE },
    { window: '30m', hop: 5 * MINUTE },
    { window: '11h', hop: 5 * MINUTE },
    { window: '719m', hop: 5 * MINUTE },
    { window: '720m', hop: HOUR },
    { window: '12h', hop: HOUR },
    { window: '1d', hop: HOUR },
    { window: '7d', hop: HOUR },
    { window: '11d', hop: HOUR },
    { window: '287h', hop: HOUR },
    { window: '288h', hop: DAY },
    { window: '12d', hop: DAY },
    { window: '30d', hop: DAY },
    { window: '365d', hop: DAY },
  ])('gives a $window window a hop of $hop ms', ({ window, hop }) => {
    // Arrange
    const windowMilliseconds = parseDuration(window) ?? Number.NaN;

    // Act
    const chosen = defaultHop(windowMilliseconds);

    // Assert
    expect(chosen).toBe(hop);
  });

  it.each([
    { below: 12 * HOUR - 1, at: 12 * HOUR, hopBelow: 5 * MINUTE, hopAt: HOUR },
    { below: 12 * DAY - 1, at: 12 * DAY, hopBelow: HOUR, hopAt: DAY },
  ])('switches hop exactly at $at ms, not one millisecond earlier', ({ below, at, hopBelow, hopAt }) => {
    // Act
    const justBelow = defaultHop(below);
    const exactly = defaultHop(at);

    // Assert
    expect(justBelow).toBe(hopBelow);
    expect(exactly).toBe(hopAt);
  });

  it('names its units in MILLISECONDS_PER consistently with the hops it returns', () => {
    // Act
    const hops = [
      defaultHop(MILLISECONDS_PER.m),
      defaultHop(MILLISECONDS_PER.h * 12),
      defaultHop(MILLISECONDS_PER.d * 12),
    ];

    // Assert
    expect(hops).toEqual([5 * MILLISECONDS_PER.m, MILLISECONDS_PER.h, MILLISECONDS_PER.d]);
  });
});
