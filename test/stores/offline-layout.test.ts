import { describe, expect, it } from 'vitest';
import {
  featurePartitionPrefix,
  featureVersionPrefix,
  formatDt,
  InvalidPartitionError,
  isValidDt,
  parsePartitionKey,
  rawPartitionPrefix,
  rawSourcePrefix,
} from '../../lib/stores/offline-layout.js';

describe('formatDt', () => {
  it.each([
    ['2024-01-31T00:00:00.000Z', '2024-01-31'],
    ['2024-01-31T23:59:59.999Z', '2024-01-31'],
    ['2024-02-01T00:00:00.000Z', '2024-02-01'],
    ['2024-01-31T23:30:00.000-02:00', '2024-02-01'],
    ['2024-02-29T12:00:00.000Z', '2024-02-29'],
    ['0099-06-01T00:00:00.000Z', '0099-06-01'],
  ])('gives the UTC day of %s as %s', (instant, dt) => {
    expect(formatDt(new Date(instant))).toBe(dt);
  });

  it('refuses an invalid date, saying what to pass', () => {
    expect(() => formatDt(new Date('not a date'))).toThrow(
      new InvalidPartitionError('Invalid Date is not a valid date; pass a Date holding an instant'),
    );
  });

  it('refuses a year a dt partition cannot hold', () => {
    expect(() => formatDt(new Date('+010000-01-01T00:00:00Z'))).toThrow(InvalidPartitionError);
  });
});

describe('isValidDt', () => {
  it.each(['2024-01-31', '2024-02-29', '0099-01-01'])('accepts %s', (dt) => {
    expect(isValidDt(dt)).toBe(true);
  });

  it.each(['2023-02-29', '2024-13-01', '2024-00-10', '2024-1-31', '2024-01-31T00:00', '20240131', ''])(
    'rejects %j',
    (dt) => {
      expect(isValidDt(dt)).toBe(false);
    },
  );
});

describe('partition prefixes', () => {
  it('puts raw events under raw/<source>/dt=<day>/', () => {
    expect(rawSourcePrefix('transactions')).toBe('raw/transactions/');
    expect(rawPartitionPrefix('transactions', '2024-01-31')).toBe('raw/transactions/dt=2024-01-31/');
    expect(rawPartitionPrefix('transactions', new Date('2024-01-31T23:59:59Z'))).toBe(
      'raw/transactions/dt=2024-01-31/',
    );
  });

  it('puts features under features/<view>/version=<version>/dt=<day>/', () => {
    expect(featureVersionPrefix('user_stats', 'a1B2-c_3')).toBe('features/user_stats/version=a1B2-c_3/');
    expect(featurePartitionPrefix('user_stats', 'a1b2', new Date('2024-01-31T12:00:00Z'))).toBe(
      'features/user_stats/version=a1b2/dt=2024-01-31/',
    );
  });

  it.each([
    [
      () => rawPartitionPrefix('../etc', '2024-01-31'),
      'source name "../etc" cannot be part of a path; use the definition\'s name (lower-case letters, digits and _)',
    ],
    [
      () => featurePartitionPrefix('User Stats', 'a1', '2024-01-31'),
      'feature view name "User Stats" cannot be part of a path; use the definition\'s name (lower-case letters, digits and _)',
    ],
    [
      () => featurePartitionPrefix('user_stats', 'a/b', '2024-01-31'),
      "feature view version \"a/b\" cannot be part of a path; use the version the registry gives (letters, digits, '_' and '-')",
    ],
    [
      () => rawPartitionPrefix('transactions', '2024-02-30'),
      '"2024-02-30" is not a partition day; write it as YYYY-MM-DD (UTC), e.g. "2024-01-31", or pass a Date',
    ],
  ])('refuses a name or day that cannot be part of a path (%#)', (build, message) => {
    expect(build).toThrow(new InvalidPartitionError(message));
  });
});

describe('parsePartitionKey', () => {
  it.each([
    [
      'raw/transactions/dt=2024-01-31/events.json',
      { kind: 'raw', source: 'transactions', dt: '2024-01-31', prefix: 'raw/transactions/dt=2024-01-31/' },
    ],
    [
      'raw/transactions/dt=2024-01-31/',
      { kind: 'raw', source: 'transactions', dt: '2024-01-31', prefix: 'raw/transactions/dt=2024-01-31/' },
    ],
    [
      'features/user_stats/version=a1b2/dt=2024-01-31/_manifest.json',
      {
        kind: 'features',
        view: 'user_stats',
        version: 'a1b2',
        dt: '2024-01-31',
        prefix: 'features/user_stats/version=a1b2/dt=2024-01-31/',
      },
    ],
  ])('reads the partition of %s', (key, partition) => {
    expect(parsePartitionKey(key)).toEqual(partition);
  });

  it.each([
    'raw/transactions/',
    'raw/transactions/day=2024-01-31/x',
    'raw/transactions/dt=2024-02-30/x',
    'raw/Bad-Name/dt=2024-01-31/x',
    'features/user_stats/dt=2024-01-31/x',
    'features/user_stats/version=/dt=2024-01-31/x',
    '_staging/job1/dt=2024-01-31/x',
    '',
  ])('finds no partition in %j', (key) => {
    expect(parsePartitionKey(key)).toBeUndefined();
  });

  it('parses back every prefix the layout builds', () => {
    const prefix = featurePartitionPrefix('user_stats', 'v9', '2024-12-31');

    expect(parsePartitionKey(prefix)?.prefix).toBe(prefix);
    expect(parsePartitionKey(rawPartitionPrefix('tx', '2024-12-31'))?.prefix).toBe('raw/tx/dt=2024-12-31/');
  });
});
