import { describe, expect, it } from 'vitest';
import { isSchedule, scheduleIntervalMs } from '../../lib/index.js';

describe('isSchedule', () => {
  it.each([
    'rate(1 minute)',
    'rate(15 minutes)',
    'rate(1 hour)',
    'rate(2 hours)',
    'rate(11 hours)',
    'rate(1 day)',
    'rate(10 days)',
    'cron(0 3 * * ? *)',
    'cron(0/15 * * * ? *)',
    'cron(0 12 ? * MON-FRI *)',
  ])('accepts %s', (schedule) => {
    // Act
    const valid = isSchedule(schedule);

    // Assert
    expect(valid).toBe(true);
  });

  it.each([
    { schedule: 'rate(1 hours)', why: 'uses a plural unit with 1' },
    { schedule: 'rate(1 minutes)', why: 'uses a plural unit with 1' },
    { schedule: 'rate(2 hour)', why: 'uses a singular unit with 2' },
    { schedule: 'rate(11 day)', why: 'uses a singular unit with 11' },
    { schedule: 'rate(0 minutes)', why: 'has a zero rate' },
    { schedule: 'rate(01 minutes)', why: 'has a leading zero' },
    { schedule: 'rate(-1 hours)', why: 'is negative' },
    { schedule: 'rate(1.5 hours)', why: 'has a fraction' },
    { schedule: 'rate(1 week)', why: 'uses weeks, which EventBridge lacks' },
    { schedule: 'rate(1  hour)', why: 'has two spaces' },
    { schedule: 'rate(1hour)', why: 'has no space' },
    { schedule: 'rate(1 Hour)', why: 'has an upper-case unit' },
    { schedule: ' rate(1 hour)', why: 'has a leading space' },
    { schedule: 'rate(1 hour) ', why: 'has a trailing space' },
    { schedule: 'rate(1h)', why: 'uses a duration' },
    { schedule: '1h', why: 'is a bare duration' },
    { schedule: 'cron(0 3 * * ?)', why: 'has five cron fields' },
    { schedule: 'cron(0 3 * * ? * *)', why: 'has seven cron fields' },
    { schedule: 'cron()', why: 'has no cron fields' },
    { schedule: '0 3 * * ? *', why: 'is a bare cron expression' },
    { schedule: 'every hour', why: 'is prose' },
    { schedule: '', why: 'is empty' },
  ])('rejects "$schedule" because it $why', ({ schedule }) => {
    // Act
    const valid = isSchedule(schedule);

    // Assert
    expect(valid).toBe(false);
  });

  it.each([
    { value: 3_600_000, label: 'a number' },
    { value: null, label: 'null' },
    { value: undefined, label: 'undefined' },
  ])('rejects $label, which is not a string', ({ value }) => {
    // Act
    const valid = isSchedule(value);

    // Assert
    expect(valid).toBe(false);
  });
});

describe('scheduleIntervalMs', () => {
  it.each([
    { schedule: 'rate(1 minute)', milliseconds: 60_000 },
    { schedule: 'rate(15 minutes)', milliseconds: 900_000 },
    { schedule: 'rate(1 hour)', milliseconds: 3_600_000 },
    { schedule: 'rate(2 hours)', milliseconds: 7_200_000 },
    { schedule: 'rate(1 day)', milliseconds: 86_400_000 },
    { schedule: 'rate(7 days)', milliseconds: 604_800_000 },
  ])('gives $milliseconds ms for $schedule', ({ schedule, milliseconds }) => {
    // Act
    const interval = scheduleIntervalMs(schedule);

    // Assert
    expect(interval).toBe(milliseconds);
  });

  it.each(['cron(0 3 * * ? *)', 'rate(0 minutes)', 'rate(1 week)', 'every hour', ''])(
    'gives no interval for "%s"',
    (schedule) => {
      // Act
      const interval = scheduleIntervalMs(schedule);

      // Assert
      expect(interval).toBeUndefined();
    },
  );
});
