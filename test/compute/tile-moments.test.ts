import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TileStats } from '../../lib/compute/online-state.js';
import { withCurrentTileStats } from '../../lib/compute/online-state.js';
import {
  addValueToTile,
  compensatedSum,
  mergeTileStats,
  WindowMomentsAccumulator,
} from '../../lib/compute/tile-moments.js';

function tileOf(values: readonly number[]): TileStats | undefined {
  let stats: TileStats | undefined;
  for (const value of values) stats = addValueToTile(stats, value, true);
  return stats;
}

function windowOf(tiles: readonly (TileStats | undefined)[]) {
  const accumulator = new WindowMomentsAccumulator();
  for (const tile of tiles) if (tile) accumulator.add(tile);
  return accumulator.result();
}

describe('shifted tile moments', () => {
  it('keeps the sum of deviations from the minimum and M2 exactly for small integers', () => {
    expect(tileOf([5, 2, 8])).toEqual({ n: 3, d: 9, m2: 18, min: 2, max: 8 });
  });

  it('keeps the spread of values near 1e8 that the sum-of-squares formula loses entirely', () => {
    // Values 1e8 + 0.1, + 0.2, + 0.4 as doubles; exact sample variance of the doubles is about 0.0233.
    const values = [1e8 + 0.1, 1e8 + 0.2, 1e8 + 0.4];
    const moments = windowOf([tileOf(values)]);
    const mean = values.reduce((a, b) => a + (b - 1e8), 0) / 3;
    const exact = values.reduce((a, b) => a + (b - 1e8 - mean) ** 2, 0) / 2;
    expect(Math.abs((moments.m2 ?? 0) / 2 - exact) / exact).toBeLessThan(1e-9);
    // What the old formula gave: (ss - s*s/n) / (n - 1) in doubles.
    const s = values.reduce((a, b) => a + b, 0);
    const ss = values.reduce((a, b) => a + b * b, 0);
    expect(Math.abs((ss - (s * s) / 3) / 2 - exact) / exact).toBeGreaterThan(0.1);
  });

  it('gives exactly zero spread for a run of equal values, at any magnitude', () => {
    for (const value of [1e-6, 123.456, -5e6, 1e12]) {
      const moments = windowOf([tileOf([value, value, value]), tileOf([value, value])]);
      expect(moments.m2).toBe(0);
      expect(moments.mean).toBe(value);
    }
  });

  it('merges tiles to the moments of all their values, whichever order they are added in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 30 }),
        (left, right) => {
          const all = tileOf([...left, ...right]);
          const merged = mergeTileStats(tileOf(left), tileOf(right));
          expect(merged?.n).toBe(all?.n);
          expect(merged?.d).toBe(all?.d);
          expect(merged?.min).toBe(all?.min);
          expect(merged?.max).toBe(all?.max);
          expect(Math.abs((merged?.m2 ?? 0) - (all?.m2 ?? 0))).toBeLessThanOrEqual(
            1e-9 * (1 + (all?.m2 ?? 0)),
          );
        },
      ),
      { seed: 13, numRuns: 300 },
    );
  });

  it('sums integers exactly, as the SQL does', () => {
    const moments = windowOf([tileOf([-7, 3]), tileOf([1_000_000_000_001]), tileOf([-2])]);
    expect(moments.sum).toBe(1_000_000_000_001 - 6);
    expect(moments.n).toBe(4);
  });

  it('adds mixed magnitudes with compensation', () => {
    expect(compensatedSum([1e16, 1, -1e16])).toBe(1);
    expect(compensatedSum([0.1, 0.2, 0.3])).toBe(0.6);
  });

  it('counts, and keeps min and max of, values that are not numbers', () => {
    let stats: TileStats | undefined;
    for (const value of ['b', 'a', 'c']) stats = addValueToTile(stats, value, false);
    expect(stats).toEqual({ n: 3, min: 'a', max: 'c' });
  });
});

describe('states stored before shifted moments', () => {
  it('read as shifted moments, so items written by an earlier release still serve numbers', () => {
    const legacy = {
      eventTs: 1,
      throughTs: 2,
      tiles: {
        '60000': {
          '0': { amount: { n: 2, s: 11, ss: 61, min: 5, max: 6 }, city: { n: 1, min: 'x', max: 'x' } },
        },
      },
      recent: {},
    };
    expect(withCurrentTileStats(legacy as never).tiles).toEqual({
      '60000': {
        '0': { amount: { n: 2, d: 1, m2: 0.5, min: 5, max: 6 }, city: { n: 1, min: 'x', max: 'x' } },
      },
    });
  });
});
