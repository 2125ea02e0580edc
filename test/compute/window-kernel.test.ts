import { describe, expect, it } from 'vitest';
import {
  aggregationWindow,
  oldestUsefulTile,
  tileOf,
  windowLookbackMs,
  windowStart,
  windowTiles,
} from '../../lib/compute/window-kernel.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 10); // a whole day, so every hop below divides it

describe('the window kernel', () => {
  it.each([
    // [read time, window, hop, expected start, expected first tile offset, last tile]
    ['on a hop boundary the window is exactly W', T0, 7 * DAY, DAY, T0 - 7 * DAY],
    ['1 ms after a boundary it spans W plus 1 ms', T0 + 1, 7 * DAY, DAY, T0 - 7 * DAY],
    ['1 ms before a boundary it spans W plus H minus 1 ms', T0 - 1, 7 * DAY, DAY, T0 - 8 * DAY],
    ['hourly hop mid-hour', T0 + 90 * MINUTE, 2 * HOUR, HOUR, T0 - HOUR],
    ['five-minute hop', T0 + 7 * MINUTE, HOUR, 5 * MINUTE, T0 + 5 * MINUTE - HOUR],
    ['before 1970 floors towards minus infinity', -1, DAY, HOUR, -HOUR - DAY],
    ['at the epoch', 0, DAY, HOUR, -DAY],
  ])('%s', (_case, t, windowMs, hopMs, start) => {
    const window = { windowMs, hopMs };
    expect(windowStart(t, window)).toBe(start);
    const { first, last } = windowTiles(t, window);
    expect(first * hopMs).toBe(start);
    expect(last).toBe(Math.floor(t / hopMs));
    expect(last - first).toBe(windowMs / hopMs);
  });

  it.each([
    [0, HOUR, 0],
    [HOUR - 1, HOUR, 0],
    [HOUR, HOUR, 1],
    [-1, HOUR, -1],
    [-HOUR, HOUR, -1],
    [-HOUR - 1, HOUR, -2],
  ])('puts time %i into tile floor(ts / %i) = %i', (ts, hopMs, tile) => {
    expect(tileOf(ts, hopMs)).toBe(tile);
  });

  it('keeps the tiles a read at or after throughTs can reach, and no older', () => {
    // A 7-day window read at throughTs = T0 + 5 h starts at T0 - 7 d: tile T0/DAY - 7.
    expect(oldestUsefulTile(DAY, 7 * DAY, T0 + 5 * HOUR)).toBe(T0 / DAY - 7);
    expect(oldestUsefulTile(DAY, 7 * DAY, T0 + 5 * HOUR) * DAY).toBe(
      windowStart(T0 + 5 * HOUR, { windowMs: 7 * DAY, hopMs: DAY }),
    );
  });

  it('says events up to W + H before a read can count', () => {
    expect(windowLookbackMs({ windowMs: 7 * DAY, hopMs: DAY })).toBe(8 * DAY);
  });

  it.each([
    [undefined, DAY],
    [7 * DAY, undefined],
    [7 * DAY, 0],
    [7 * DAY, -DAY],
    [7 * DAY, 5 * DAY],
    [0, DAY],
  ])('refuses window %s with hop %s rather than guessing a default', (windowMs, hopMs) => {
    expect(() =>
      aggregationWindow(
        { kind: 'aggregation', column: 'amount', function: 'sum', window: '7d', windowMs, hopMs },
        'amount_sum_7d',
      ),
    ).toThrow(
      `feature "amount_sum_7d" has window "7d" (${String(windowMs)} ms) and hop ${String(hopMs)} ms, which is not a valid window; validate the feature repo (fstore plan) and fix the window or hop it names`,
    );
  });
});
