/**
 * States with each tile's M2 rounded to 12 significant digits. Welford's update rounds differently when
 * the same events arrive in differently cut batches (a redelivery after a failure), so two runs over the
 * same events agree on M2 to the last few bits, not bit for bit; every other field must match exactly.
 */
export function withRoundedMoments<T>(states: T): T {
  return JSON.parse(
    JSON.stringify(states, (key, value) =>
      key === 'm2' && typeof value === 'number' ? Number(value.toPrecision(12)) : value,
    ),
  ) as T;
}
