import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  categoricalDrift,
  DEFAULT_PSI_EPSILON,
  featureDrift,
  interpretPsi,
  numericDrift,
  populationStabilityIndex,
  quantileCuts,
} from '../../lib/services/drift.js';

const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('quantileCuts', () => {
  it('cuts 1..10 at its deciles, by nearest rank', () => {
    expect(quantileCuts(oneToTen, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(quantileCuts([...oneToTen].reverse(), 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 20 values: the 10% decile is the 2nd smallest, the 90% the 18th.
    expect(
      quantileCuts(
        Array.from({ length: 20 }, (_, i) => i * 10),
        10,
      ),
    ).toEqual([10, 30, 50, 70, 90, 110, 130, 150, 170]);
    // 5 values: ranks ceil(0.5), ceil(1), ... = 1, 1, 2, 2, 3, 3, 4, 4, 5.
    expect(quantileCuts([5, 4, 3, 2, 1], 10)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps each cut once when deciles coincide, and none for an empty sample', () => {
    expect(quantileCuts([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 10)).toEqual([0]);
    expect(quantileCuts([7, 7, 7], 10)).toEqual([7]);
    expect(quantileCuts([], 10)).toEqual([]);
  });
});

describe('populationStabilityIndex', () => {
  it('is 0.3 ln 1.6 + 0.3 ln 2.5 for 50/50 against 80/20 (two bins, by hand)', () => {
    // (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5) = 0.3 * 0.470004 + 0.3 * 0.916291
    expect(populationStabilityIndex([0.5, 0.5], [0.8, 0.2])).toBeCloseTo(0.4158883, 6);
  });

  it('counts an empty share as epsilon', () => {
    const expected = (0.5 - 1e-4) * Math.log(0.5 / 1e-4) + (0.5 - 1) * Math.log(0.5 / 1);
    expect(populationStabilityIndex([0, 1], [0.5, 0.5])).toBeCloseTo(expected, 12);
    expect(populationStabilityIndex([0, 1], [0, 1])).toBe(0);
  });

  it('refuses shares that do not pair up', () => {
    expect(() => populationStabilityIndex([1], [0.5, 0.5])).toThrow(/one actual share per expected share/);
  });
});

describe('interpretPsi', () => {
  it('reads PSI by the rule of thumb: < 0.1 stable, 0.1 to 0.25 moderate, above significant', () => {
    expect(interpretPsi(0).level).toBe('stable');
    expect(interpretPsi(0.0999).level).toBe('stable');
    expect(interpretPsi(0.1).level).toBe('moderate');
    expect(interpretPsi(0.25).level).toBe('moderate');
    expect(interpretPsi(0.2501).level).toBe('significant');
    expect(interpretPsi(null).level).toBe('no_data');
    expect(interpretPsi(0.42).interpretation).toMatch(/^PSI 0\.420 > 0\.25: a significant shift/);
  });
});

describe('numericDrift', () => {
  it('is 0 for identical samples, with one value per decile bin', () => {
    const drift = numericDrift(oneToTen, [...oneToTen].reverse());
    expect(drift.psi).toBe(0);
    expect(drift.level).toBe('stable');
    expect(drift.method).toBe('deciles');
    expect(drift.bins.map((bin) => bin.expected)).toEqual(new Array(10).fill(1));
    expect(drift.bins.map((bin) => bin.label)).toEqual([
      '<= 1',
      '(1, 2]',
      '(2, 3]',
      '(3, 4]',
      '(4, 5]',
      '(5, 6]',
      '(6, 7]',
      '(7, 8]',
      '(8, 9]',
      '> 9',
    ]);
    expect(drift.bins[0]).toMatchObject({ kind: 'range', lower: null });
    expect(drift.bins[9]).toMatchObject({ kind: 'range', upper: null });
  });

  it('computes the PSI of a sample piled into the end bins by hand', () => {
    const drift = numericDrift(oneToTen, [1, 1, 1, 1, 1, 10, 10, 10, 10, 10]);
    // Expected: 0.1 in each of 10 bins. Actual: 0.5 in the first and last, 0 (-> 1e-4) in the 8 others.
    const byHand = 2 * (0.5 - 0.1) * Math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expect(drift.psi).toBeCloseTo(byHand, 12);
    expect(drift.psi).toBeCloseTo(6.8082, 3);
    expect(drift.level).toBe('significant');
    expect(drift.bins.map((bin) => bin.actualShare)).toEqual([0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]);
  });

  it('puts values outside the expected range into the end bins', () => {
    const drift = numericDrift(oneToTen, [-1000, 1000, 1000]);
    expect(drift.bins[0]?.actual).toBe(1);
    expect(drift.bins[9]?.actual).toBe(2);
    expect(drift.bins.reduce((sum, bin) => sum + bin.actual, 0)).toBe(3);
  });

  it('gives nulls (and NaN) a bin of their own (PSI 0.5 ln 2, by hand)', () => {
    // Cuts of [1, 2]: 1 (10% to 50%) and 2, so 1 is in the first bin and 2 in the second.
    // Expected shares: first 1/4, last 1/4, null 1/2. Actual: first 1/4, last 1/2, null 1/4.
    const drift = numericDrift([1, 2, null, Number.NaN], [1, 2, 2, null]);
    const nullBin = drift.bins.at(-1);
    expect(nullBin).toMatchObject({ kind: 'null', label: '(null)', expected: 2, actual: 1 });
    expect(drift.psi).toBeCloseTo(0.5 * Math.log(2), 12);
  });

  it('leaves the null bin out when neither sample has nulls', () => {
    expect(numericDrift([1, 2, 3], [1, 2, 3]).bins.some((bin) => bin.kind === 'null')).toBe(false);
  });

  it('gives a value filling several deciles its own bin (many zero counts)', () => {
    const expected = [...new Array(50).fill(0), ...Array.from({ length: 50 }, (_, i) => i + 1)];
    const drift = numericDrift(expected, expected);
    expect(drift.bins[0]).toMatchObject({ label: '<= 0', expected: 50 });
    // 100 sorted values: the 10%-50% deciles are all 0, then 10, 20, 30, 40.
    expect(drift.bins.map((bin) => bin.label)).toEqual([
      '<= 0',
      '(0, 10]',
      '(10, 20]',
      '(20, 30]',
      '(30, 40]',
      '> 40',
    ]);
  });

  it('has no PSI when a sample is empty', () => {
    const drift = numericDrift([1, 2, 3], []);
    expect(drift.psi).toBeNull();
    expect(drift.level).toBe('no_data');
    expect(drift.interpretation).toBe('no values to compare (3 expected, 0 actual)');
  });

  it('bins the whole range as one when the expected sample has no values', () => {
    const drift = numericDrift([null, null], [1, null]);
    expect(drift.bins.map((bin) => bin.label)).toEqual(['all values', '(null)']);
    // expected 0 | 1, actual 0.5 | 0.5
    const byHand = (0.5 - 1e-4) * Math.log(0.5 / 1e-4) + (0.5 - 1) * Math.log(0.5);
    expect(drift.psi).toBeCloseTo(byHand, 12);
  });
});

describe('categoricalDrift', () => {
  it('is 0.4159 for true/false 50/50 against 80/20 (by hand)', () => {
    const expected = [...new Array(5).fill('true'), ...new Array(5).fill('false')];
    const actual = [...new Array(8).fill('true'), ...new Array(2).fill('false')];
    const drift = categoricalDrift(expected, actual);
    expect(drift.bins.map((bin) => [bin.label, bin.expectedShare, bin.actualShare])).toEqual([
      ['false', 0.5, 0.2],
      ['true', 0.5, 0.8],
    ]);
    expect(drift.psi).toBeCloseTo(0.4158883, 6);
    expect(drift.level).toBe('significant');
  });

  it('keeps the 20 most frequent expected values and sends the rest, and new values, to (other)', () => {
    const expected = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, '0')}`).flatMap(
      (value, i) => new Array(30 - i).fill(value),
    );
    const drift = categoricalDrift(expected, ['c00', 'c24', 'brand-new', null]);
    const labels = drift.bins.map((bin) => bin.label);
    expect(labels).toHaveLength(22);
    expect(labels.slice(0, 2)).toEqual(['c00', 'c01']);
    expect(labels.slice(-2)).toEqual(['(other)', '(null)']);
    expect(drift.bins.at(-2)).toMatchObject({ kind: 'other', expected: 10 + 9 + 8 + 7 + 6, actual: 2 });
    expect(drift.bins.at(-1)).toMatchObject({ kind: 'null', expected: 0, actual: 1 });
  });

  it('is 0 for the same values in another order', () => {
    expect(categoricalDrift(['a', 'b', 'b', null], [null, 'b', 'a', 'b']).psi).toBe(0);
  });
});

describe('featureDrift', () => {
  it('compares last-k lists by their length', () => {
    const drift = featureDrift('list<float64>', [[1], [1, 2], [], null], [[5], [6, 7], [], null]);
    expect(drift?.method).toBe('list_length');
    expect(drift?.psi).toBe(0);
  });

  it('compares timestamps as instants, whether Dates or ISO strings', () => {
    const dates = [new Date('2024-01-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z'), null];
    const drift = featureDrift(
      'timestamp',
      dates,
      dates.map((date) => date?.toISOString() ?? null),
    );
    expect(drift?.psi).toBe(0);
    expect(drift?.bins.map((bin) => bin.label)).toEqual([
      '<= 2024-01-01T00:00:00Z',
      '(2024-01-01T00:00:00Z, 2024-02-01T00:00:00Z]',
      '> 2024-02-01T00:00:00Z',
      '(null)',
    ]);
  });

  it('compares booleans and strings as categories and numbers given as strings of digits as numbers', () => {
    expect(featureDrift('bool', [true, false], [true, false])?.bins.map((bin) => bin.label)).toEqual([
      'false',
      'true',
    ]);
    expect(featureDrift('int64', [1n, 2n], ['1', '2'])?.psi).toBe(0);
  });

  it('skips vectors', () => {
    expect(featureDrift('float32[4]', [[1, 2, 3, 4]], [[1, 2, 3, 4]])).toBeUndefined();
  });
});

describe('PSI properties', () => {
  const numberOrNull = fc.oneof(
    { weight: 5, arbitrary: fc.double({ noNaN: true, min: -1e6, max: 1e6 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  );

  it('is >= 0 for any two numeric samples, and 0 for a sample against itself shuffled', () => {
    fc.assert(
      fc.property(
        fc.array(numberOrNull, { maxLength: 60 }),
        fc.array(numberOrNull, { maxLength: 60 }),
        (expected, actual) => {
          const drift = numericDrift(expected, actual);
          if (expected.length > 0 && actual.length > 0) expect(drift.psi).toBeGreaterThanOrEqual(0);
          for (const bin of drift.bins) expect(bin.contribution).toBeGreaterThanOrEqual(0);
          if (expected.length > 0) expect(numericDrift(expected, [...expected].reverse()).psi).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is >= 0 for any two categorical samples, and 0 for a sample against itself', () => {
    const category = fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { nil: null });
    fc.assert(
      fc.property(
        fc.array(category, { minLength: 1, maxLength: 40 }),
        fc.array(category, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 6 }),
        (expected, actual, topCategories) => {
          expect(categoricalDrift(expected, actual, { topCategories }).psi).toBeGreaterThanOrEqual(0);
          expect(categoricalDrift(expected, [...expected].reverse(), { topCategories }).psi).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is >= 0 for any paired shares', () => {
    const share = fc.double({ noNaN: true, min: 0, max: 1 });
    fc.assert(
      fc.property(fc.array(fc.tuple(share, share), { minLength: 1, maxLength: 30 }), (pairs) => {
        const psi = populationStabilityIndex(
          pairs.map(([e]) => e),
          pairs.map(([, a]) => a),
          DEFAULT_PSI_EPSILON,
        );
        expect(psi).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
