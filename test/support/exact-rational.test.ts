import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  exactAggregates,
  floorToHop,
  integerSqrt,
  Rational,
  valuesInWindow,
  windowCovers,
  windowStartMs,
} from './exact-rational.js';

/**
 * The exact reference of the precision tests, checked on cases worked out by hand and against IEEE 754
 * arithmetic, which is correctly rounded: the rounded exact result of a + b must be the double a + b.
 */
const r = (num: bigint | number, den: bigint | number = 1) => Rational.of(num, den);
const TWO_55 = 2n ** 55n;
/** Doubles over the whole finite range, as bits decide them. */
const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
/** Results whose exact value is normal or 0 round once in toNumber (subnormals are not needed here). */
const normalOrZero = (value: number) => value === 0 || Math.abs(value) >= 2 ** -1022;

describe('Rational.fromNumber', () => {
  it.each([
    [0.1, r(3602879701896397n, TWO_55)],
    [0.2, r(3602879701896397n, 2n ** 54n)],
    [-0.5, r(-1, 2)],
    [3, r(3)],
    [2 ** 60, r(2n ** 60n)],
    [1e12 + 0.1, r(8192000000000819n, 8192n)],
    [1e12 + 0.4, r(8192000000003277n, 8192n)],
    [Number.MIN_VALUE, r(1n, 2n ** 1074n)],
    [Number.MAX_VALUE, r((2n ** 53n - 1n) * 2n ** 971n)],
    [-0, r(0)],
  ])('reads the double %d as exactly %s, from its bits', (value, expected) => {
    expect(Rational.fromNumber(value).equals(expected)).toBe(true);
  });

  it('refuses NaN and infinities', () => {
    expect(() => Rational.fromNumber(Number.NaN)).toThrow('not a finite double');
    expect(() => Rational.fromNumber(Number.POSITIVE_INFINITY)).toThrow('not a finite double');
  });
});

describe('Rational arithmetic', () => {
  it('adds, subtracts, multiplies and divides fractions exactly, in lowest terms', () => {
    expect(r(1, 3).add(r(1, 6)).equals(r(1, 2))).toBe(true);
    expect(r(1, 3).sub(r(1, 2)).equals(r(-1, 6))).toBe(true);
    expect(r(-2, 3).mul(r(9, 4)).equals(r(-3, 2))).toBe(true);
    expect(r(2, 3).div(r(-4, 9)).equals(r(-3, 2))).toBe(true);
    expect(r(6, -4).toString()).toBe('-3/2');
    expect(() => r(1).div(r(0))).toThrow('division by the fraction 0');
    expect(() => r(1, 0)).toThrow('denominator 0');
  });

  it('knows that 0.1 + 0.2 is not 0.3 and that 0.1 + 0.2 - 0.3 is 2^-55 exactly', () => {
    const sum = Rational.fromNumber(0.1).add(Rational.fromNumber(0.2));
    expect(sum.equals(r(10808639105689191n, TWO_55))).toBe(true);
    expect(sum.compare(Rational.fromNumber(0.3))).toBe(1);
    expect(sum.sub(Rational.fromNumber(0.3)).equals(r(1n, TWO_55))).toBe(true);
  });

  it('orders fractions with compare', () => {
    expect(r(1, 3).compare(r(333_333, 1_000_000))).toBe(1);
    expect(r(-1, 3).compare(r(-1, 3))).toBe(0);
    expect(r(-1, 2).compare(r(1, 1_000_000))).toBe(-1);
    expect([r(-2).sign(), r(0).sign(), r(1, 9).sign()]).toEqual([-1, 0, 1]);
  });
});

describe('Rational.toNumber', () => {
  it('rounds to nearest with ties to even', () => {
    expect(r(1, 3).toNumber()).toBe(1 / 3);
    // 0.1 + 0.2 exactly is the midpoint of two doubles; even is 0.30000000000000004.
    expect(Rational.fromNumber(0.1).add(Rational.fromNumber(0.2)).toNumber()).toBe(0.30000000000000004);
    expect(r(2n ** 53n + 1n).toNumber()).toBe(2 ** 53);
    expect(r(2n ** 53n + 3n).toNumber()).toBe(2 ** 53 + 4);
    // Just above the midpoint rounds up.
    expect(r((2n ** 53n + 1n) * 2n ** 60n + 1n, 2n ** 60n).toNumber()).toBe(2 ** 53 + 2);
    expect(r(-7, 2).toNumber()).toBe(-3.5);
    expect(r(1n, 10n ** 30n).toNumber()).toBe(1e-30);
    expect(r(10n ** 300n).toNumber()).toBe(1e300);
  });

  it('gives back every double it was made from', () => {
    fc.assert(
      fc.property(anyDouble, (value) => {
        expect(Rational.fromNumber(value).toNumber()).toBe(value === 0 ? 0 : value);
      }),
      { numRuns: 2000, seed: 1301 },
    );
  });

  it('rounds exact sums, differences, products and quotients of doubles as IEEE 754 does', () => {
    fc.assert(
      fc.property(anyDouble, anyDouble, (a, b) => {
        const x = Rational.fromNumber(a);
        const y = Rational.fromNumber(b);
        const cases: [string, number, () => Rational][] = [
          ['+', a + b, () => x.add(y)],
          ['-', a - b, () => x.sub(y)],
          ['*', a * b, () => x.mul(y)],
          ['/', a / b, () => x.div(y)],
        ];
        for (const [op, float, exact] of cases) {
          if (!Number.isFinite(float) || !normalOrZero(float) || (op === '/' && b === 0)) continue;
          const rounded = exact().toNumber();
          if (rounded !== float && !(rounded === 0 && float === 0)) {
            throw new Error(`${a} ${op} ${b}: IEEE gives ${float}, the rounded exact value ${rounded}`);
          }
        }
      }),
      { numRuns: 3000, seed: 1302 },
    );
  });
});

describe('square roots', () => {
  it.each([
    [0n, 0n],
    [1n, 1n],
    [3n, 1n],
    [4n, 2n],
    [99n, 9n],
    [10n ** 40n, 10n ** 20n],
    [10n ** 40n - 1n, 10n ** 20n - 1n],
  ])('integerSqrt(%s) is %s', (value, root) => {
    expect(integerSqrt(value)).toBe(root);
  });

  it('integerSqrt is the floor of the square root of random big integers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 300n }), (value) => {
        const root = integerSqrt(value);
        expect(root * root <= value && value < (root + 1n) * (root + 1n)).toBe(true);
      }),
      { numRuns: 500, seed: 1303 },
    );
  });

  it('gives sqrt(2) to more than 25 significant digits', () => {
    expect(r(2).sqrt().toDecimal(28)).toBe('1.414213562373095048801688724e+0');
    expect(r(2, 100).sqrt().toDecimal(28)).toBe('1.414213562373095048801688724e-1');
    expect(() => r(-1).sqrt()).toThrow('sqrt of a negative fraction');
  });

  it('gives a root within 2^-95 relative below the exact one, which rounds as Math.sqrt does', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), (value) => {
        const x = Rational.fromNumber(value);
        const root = x.sqrt(96);
        const above = root.mul(r(2n ** 95n + 1n, 2n ** 95n));
        expect(root.mul(root).compare(x)).toBeLessThanOrEqual(0);
        expect(above.mul(above).compare(x)).toBe(1);
        if (normalOrZero(value)) expect(root.toNumber()).toBe(Math.sqrt(value));
      }),
      { numRuns: 1000, seed: 1304 },
    );
  });
});

describe('exactAggregates', () => {
  it('gives count 0, sum 0 and null for the rest over no values', () => {
    const empty = exactAggregates([]);
    expect(empty.count).toBe(0);
    expect(empty.sum.isZero()).toBe(true);
    expect([empty.mean, empty.variance, empty.stddev, empty.min, empty.max]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('gives a null variance and stddev for one value, and the value as sum, mean, min and max', () => {
    const one = exactAggregates([-2.5]);
    expect(one.count).toBe(1);
    expect(one.sum.toNumber()).toBe(-2.5);
    expect(one.mean?.toNumber()).toBe(-2.5);
    expect([one.variance, one.stddev, one.min, one.max]).toEqual([null, null, -2.5, -2.5]);
  });

  it('gives 1, 2, 3, 4 a sum of 10, a mean of 5/2 and a variance of 5/3', () => {
    const small = exactAggregates([4, 1, 3, 2]);
    expect(small.sum.equals(r(10))).toBe(true);
    expect(small.mean?.equals(r(5, 2))).toBe(true);
    expect(small.variance?.equals(r(5, 3))).toBe(true);
    // sqrt(5/3) = 1.29099444873580562839...
    expect(small.stddev?.toDecimal(21)).toBe('1.29099444873580562839e+0');
    expect([small.min, small.max]).toEqual([1, 4]);
  });

  it('gives two values a and b the variance (a - b)^2 / 2', () => {
    const two = exactAggregates([7.25, -0.75]);
    expect(two.variance?.equals(r(32))).toBe(true);
    expect(two.stddev?.toNumber()).toBe(Math.sqrt(32));
  });

  it('gives equal values a variance of exactly 0, even 0.1 three times, where float sums drift', () => {
    const equal = exactAggregates([0.1, 0.1, 0.1]);
    expect(equal.variance?.isZero()).toBe(true);
    expect(equal.stddev?.isZero()).toBe(true);
    expect(equal.mean?.equals(Rational.fromNumber(0.1))).toBe(true);
    expect((0.1 + 0.1 + 0.1) / 3).not.toBe(0.1);
  });

  it('works 1e12+0.1, 1e12+0.2, 1e12+0.4 out by hand from the doubles they are', () => {
    // The doubles are 1e12 + 819/8192, 1e12 + 1638/8192, 1e12 + 3277/8192 (spacing 2^-13 near 1e12).
    // Deviations from the mean, times 3 * 8192: -3277, -820, 4097; their squares sum to 28196538, so the
    // variance is 28196538 / (9 * 2 * 8192^2) = 4699423 / 201326592.
    const values = [1e12 + 0.1, 1e12 + 0.2, 1e12 + 0.4];
    const exact = exactAggregates(values);
    expect(exact.sum.equals(r(3n * 10n ** 12n * 8192n + 5734n, 8192n))).toBe(true);
    expect(exact.mean?.equals(r(3n * 10n ** 12n * 8192n + 5734n, 3n * 8192n))).toBe(true);
    expect(exact.variance?.equals(r(4699423n, 201326592n))).toBe(true);
    // sqrt(4699423 / 201326592) = 0.152781826625502304075948964...; the decimal values would give 0.1527525.
    expect(exact.stddev?.toDecimal(24)).toBe('1.52781826625502304075948e-1');
    expect([exact.min, exact.max]).toEqual([1e12 + 0.1, 1e12 + 0.4]);
  });

  it('sums values of both signs to exactly 0 where they cancel, and keeps sum(|x|) as the scale', () => {
    const exact = exactAggregates([1e-6, -1e-6, 1e12, -1e12]);
    expect(exact.sum.isZero()).toBe(true);
    expect(exact.sumAbs.equals(Rational.fromNumber(1e-6).add(Rational.fromNumber(1e12)).mul(r(2)))).toBe(
      true,
    );
    expect(exact.mean?.isZero()).toBe(true);
  });

  it('agrees with the textbook (n * sum(x^2) - sum(x)^2) / (n(n - 1)) on random doubles', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), { minLength: 2, maxLength: 12 }),
        (values) => {
          const exact = values.map((value) => Rational.fromNumber(value));
          const n = r(values.length);
          const s = exact.reduce((a, b) => a.add(b), Rational.ZERO);
          const ss = exact.reduce((a, b) => a.add(b.mul(b)), Rational.ZERO);
          const textbook = n
            .mul(ss)
            .sub(s.mul(s))
            .div(n.mul(n.sub(Rational.ONE)));
          expect(exactAggregates(values).variance?.equals(textbook)).toBe(true);
        },
      ),
      { numRuns: 150, seed: 1305 },
    );
  });
});

describe('the window rule', () => {
  const MINUTE = 60_000;
  const at = (time: string) => Date.parse(`2024-01-01T${time}Z`);

  it.each([
    // [read at, window, hop, event, covered]
    ['06:07', 15, 5, '05:50', true],
    ['06:07', 15, 5, '05:49:59.999', false],
    ['06:07', 15, 5, '06:06:59.999', true],
    ['06:07', 15, 5, '06:07', false],
    ['06:10', 15, 5, '05:55', true],
    ['06:10', 15, 5, '05:54:59.999', false],
    ['06:09:59.999', 15, 5, '05:50', true],
    ['06:07', 30, 10, '05:30', true],
    ['06:07', 30, 10, '05:29:59.999', false],
  ] as const)('read at %s, a %dm window with a %dm hop covers an event at %s: %s', (t, w, h, ts, covered) => {
    expect(windowCovers(at(t), w * MINUTE, h * MINUTE, at(ts))).toBe(covered);
  });

  it('floors times before 1970 down, not toward zero', () => {
    expect(floorToHop(-1, 5)).toBe(-5);
    expect(floorToHop(-5, 5)).toBe(-5);
    expect(floorToHop(9, 5)).toBe(5);
    expect(windowStartMs(at('06:07'), 15 * MINUTE, 5 * MINUTE)).toBe(at('05:50'));
    expect(() => floorToHop(1.5, 5)).toThrow('whole milliseconds');
  });

  it('picks the values of the events in the window', () => {
    const events = [
      { ts: at('05:49:59.999'), value: 1 },
      { ts: at('05:50'), value: 2 },
      { ts: at('06:06:59.999'), value: 3 },
      { ts: at('06:07'), value: 4 },
    ];
    expect(valuesInWindow(events, at('06:07'), 15 * MINUTE, 5 * MINUTE)).toEqual([2, 3]);
  });
});
