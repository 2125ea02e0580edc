/**
 * Batch recomputation schedules use EventBridge's own syntax so the CDK stack passes them through
 * unchanged: `rate(1 hour)`, `rate(15 minutes)`, `cron(0 3 * * ? *)`.
 */
const RATE_PATTERN = /^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_PATTERN = /^cron\(\S+( \S+){5}\)$/;

const RATE_UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function isSchedule(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const rate = RATE_PATTERN.exec(text);
  if (rate) return (rate[1] === '1') === !(rate[2] ?? '').endsWith('s');
  return CRON_PATTERN.test(text);
}

/** The interval of a `rate(...)` schedule in milliseconds; undefined for cron expressions. */
export function scheduleIntervalMs(schedule: string): number | undefined {
  if (!isSchedule(schedule)) return undefined;
  const rate = RATE_PATTERN.exec(schedule);
  if (!rate) return undefined;
  return Number(rate[1]) * (RATE_UNIT_MS[(rate[2] ?? '').replace(/s$/, '')] ?? 0);
}
