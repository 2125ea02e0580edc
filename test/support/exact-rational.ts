/**
 * Exact rational arithmetic over BigInt, and the exact window aggregates of DESIGN.md section 3 built on
 * it: the reference the precision tests hold every path to (issue 13). Nothing here rounds except
 * `toNumber` (correctly rounded, ties to even) and `sqrt` (to a chosen number of bits, far beyond float64).
 */

const ZERO = 0n;
const ONE = 1n;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < ZERO ? -a : a;
  let y = b < ZERO ? -b : b;
  while (y !== ZERO) [x, y] = [y, x % y];
  return x;
}

function bitLength(value: bigint): number {
  return value === ZERO ? 0 : (value < ZERO ? -value : value).toString(2).length;
}

/** floor(sqrt(value)) for value >= 0, by Newton's method on integers. */
export function integerSqrt(value: bigint): bigint {
  if (value < ZERO) throw new RangeError(`integerSqrt of a negative number: ${value}`);
  if (value < 2n) return value;
  // Start above the root: 2^ceil(bits / 2) > sqrt(value).
  let x = ONE << BigInt(Math.ceil(bitLength(value) / 2));
  for (;;) {
    const next = (x + value / x) >> ONE;
    if (next >= x) return x;
    x = next;
  }
}

/** A fraction num/den in lowest terms with den > 0. Immutable. */
export class Rational {
  readonly num: bigint;
  readonly den: bigint;

  private constructor(num: bigint, den: bigint) {
    this.num = num;
    this.den = den;
  }

  static of(num: bigint | number, den: bigint | number = ONE): Rational {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === ZERO) throw new RangeError('a fraction with denominator 0');
    if (d < ZERO) {
      n = -n;
      d = -d;
    }
    const g = gcd(n, d);
    return g === ONE || g === ZERO ? new Rational(n, d) : new Rational(n / g, d / g);
  }

  static readonly ZERO = Rational.of(0);
  static readonly ONE = Rational.of(1);

  /**
   * The exact value of a finite double: its bits read as sign, exponent and 52-bit fraction, so
   * `fromNumber(0.1)` is 3602879701896397 / 2^55, not 1/10.
   */
  static fromNumber(value: number): Rational {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite double: ${value}`);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    const bits = view.getBigUint64(0);
    const negative = bits >> 63n === ONE;
    const exponentBits = Number((bits >> 52n) & 0x7ffn);
    const fraction = bits & ((ONE << 52n) - ONE);
    // Subnormals: fraction * 2^-1074; normals: (2^52 + fraction) * 2^(exponent - 1075).
    const mantissa = exponentBits === 0 ? fraction : fraction | (ONE << 52n);
    const exponent = exponentBits === 0 ? -1074 : exponentBits - 1075;
    const signed = negative ? -mantissa : mantissa;
    return exponent >= 0
      ? Rational.of(signed << BigInt(exponent), ONE)
      : Rational.of(signed, ONE << BigInt(-exponent));
  }

  add(other: Rational): Rational {
    return Rational.of(this.num * other.den + other.num * this.den, this.den * other.den);
  }

  sub(other: Rational): Rational {
    return Rational.of(this.num * other.den - other.num * this.den, this.den * other.den);
  }

  mul(other: Rational): Rational {
    return Rational.of(this.num * other.num, this.den * other.den);
  }

  div(other: Rational): Rational {
    if (other.num === ZERO) throw new RangeError('division by the fraction 0');
    return Rational.of(this.num * other.den, this.den * other.num);
  }

  neg(): Rational {
    return new Rational(-this.num, this.den);
  }

  abs(): Rational {
    return this.num < ZERO ? this.neg() : this;
  }

  /** -1, 0 or 1. */
  sign(): number {
    return this.num === ZERO ? 0 : this.num < ZERO ? -1 : 1;
  }

  isZero(): boolean {
    return this.num === ZERO;
  }

  /** Negative, zero or positive as this is less than, equal to or greater than `other`. */
  compare(other: Rational): number {
    const left = this.num * other.den;
    const right = other.num * this.den;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  equals(other: Rational): boolean {
    return this.num === other.num && this.den === other.den;
  }

  /**
   * The double nearest to this value, ties to even (as IEEE 754 arithmetic rounds). The quotient is
   * taken to at least 66 bits with a sticky bit for any remainder, then Number(bigint), which rounds to
   * nearest-even, does the one rounding; scaling by a power of two after it is exact in the normal range.
   */
  toNumber(): number {
    if (this.num === ZERO) return 0;
    const negative = this.num < ZERO;
    const magnitude = negative ? -this.num : this.num;
    // shift such that floor(magnitude * 2^shift / den) has at least 66 bits.
    const shift = 66 - (bitLength(magnitude) - bitLength(this.den));
    const scaledNum = shift >= 0 ? magnitude << BigInt(shift) : magnitude;
    const scaledDen = shift >= 0 ? this.den : this.den << BigInt(-shift);
    let quotient = scaledNum / scaledDen;
    let exponent = -shift;
    if (quotient * scaledDen !== scaledNum) {
      quotient = (quotient << ONE) | ONE;
      exponent -= 1;
    }
    let result = Number(quotient);
    // result * 2^exponent in steps that stay within double range.
    while (exponent > 0) {
      const step = Math.min(exponent, 1000);
      result *= 2 ** step;
      exponent -= step;
    }
    while (exponent < 0) {
      const step = Math.min(-exponent, 1000);
      result *= 2 ** -step;
      exponent += step;
    }
    return negative ? -result : result;
  }

  /**
   * sqrt(this) to `bits` significant bits (relative error below 2^(1 - bits)), rounded down: the square
   * root of num * den * 4^k, an integer sqrt, over den * 2^k.
   */
  sqrt(bits = 96): Rational {
    if (this.num < ZERO) throw new RangeError(`sqrt of a negative fraction: ${this.toString()}`);
    if (this.num === ZERO) return Rational.ZERO;
    const product = this.num * this.den;
    // The root of product * 4^k has about (bitLength(product) + 2k) / 2 bits: make that at least `bits`.
    const k = Math.max(0, bits - Math.floor(bitLength(product) / 2) + 1);
    const root = integerSqrt(product << BigInt(2 * k));
    return Rational.of(root, this.den << BigInt(k));
  }

  toString(): string {
    return this.den === ONE ? String(this.num) : `${this.num}/${this.den}`;
  }

  /** Decimal digits for messages: `digits` significant digits, truncated. */
  toDecimal(digits = 25): string {
    if (this.num === ZERO) return '0';
    const negative = this.num < ZERO;
    const magnitude = negative ? -this.num : this.num;
    // 10^exponent <= |this| < 10^(exponent + 1)
    let exponent = magnitude.toString().length - this.den.toString().length;
    const at = (e: number) =>
      e >= 0 ? magnitude >= this.den * 10n ** BigInt(e) : magnitude * 10n ** BigInt(-e) >= this.den;
    while (!at(exponent)) exponent--;
    while (at(exponent + 1)) exponent++;
    const scale = digits - 1 - exponent;
    const scaled =
      scale >= 0
        ? (magnitude * 10n ** BigInt(scale)) / this.den
        : magnitude / (this.den * 10n ** BigInt(-scale));
    const text = scaled.toString();
    return `${negative ? '-' : ''}${text[0]}.${text.slice(1)}e${exponent >= 0 ? '+' : ''}${exponent}`;
  }
}

/** The exact aggregates of one window's values (DESIGN.md section 3). */
export interface ExactAggregates {
  readonly count: number;
  /** 0 over an empty window. */
  readonly sum: Rational;
  /** Sum of |x|: the scale a sum's rounding errors grow with. 0 over an empty window. */
  readonly sumAbs: Rational;
  readonly mean: Rational | null;
  /** Sample variance (n - 1), null below two values. */
  readonly variance: Rational | null;
  /** sqrt of the exact variance to 96 bits (about 29 significant digits), null below two values. */
  readonly stddev: Rational | null;
  readonly min: number | null;
  readonly max: number | null;
}

/** Exact count, sum, mean, sample variance and stddev, min and max of a set of doubles. */
export function exactAggregates(values: readonly number[]): ExactAggregates {
  const n = values.length;
  const exact = values.map((value) => Rational.fromNumber(value));
  const sum = exact.reduce((a, b) => a.add(b), Rational.ZERO);
  const sumAbs = exact.reduce((a, b) => a.add(b.abs()), Rational.ZERO);
  const mean = n > 0 ? sum.div(Rational.of(n)) : null;
  let variance: Rational | null = null;
  if (n >= 2 && mean) {
    const squares = exact.reduce((acc, x) => {
      const d = x.sub(mean);
      return acc.add(d.mul(d));
    }, Rational.ZERO);
    variance = squares.div(Rational.of(n - 1));
  }
  return {
    count: n,
    sum,
    sumAbs,
    mean,
    variance,
    stddev: variance ? variance.sqrt(96) : null,
    min: n > 0 ? Math.min(...values) : null,
    max: n > 0 ? Math.max(...values) : null,
  };
}

/** floor(t, H): the start of t's hop, in integer arithmetic (t and H whole milliseconds). */
export function floorToHop(t: number, hopMs: number): number {
  if (!Number.isSafeInteger(t) || !Number.isSafeInteger(hopMs) || hopMs <= 0) {
    throw new RangeError(`floorToHop needs whole milliseconds and a positive hop, got ${t}, ${hopMs}`);
  }
  return t - (((t % hopMs) + hopMs) % hopMs);
}

/** The oldest event time a window W with hop H read at t covers: floor(t, H) - W. */
export function windowStartMs(t: number, windowMs: number, hopMs: number): number {
  return floorToHop(t, hopMs) - windowMs;
}

/** Whether a window W with hop H read at t covers an event at ts: floor(t, H) - W <= ts < t. */
export function windowCovers(t: number, windowMs: number, hopMs: number, ts: number): boolean {
  return ts >= windowStartMs(t, windowMs, hopMs) && ts < t;
}

/** The values of the events a window W with hop H read at t covers. */
export function valuesInWindow(
  events: readonly { readonly ts: number; readonly value: number }[],
  t: number,
  windowMs: number,
  hopMs: number,
): number[] {
  return events.filter((event) => windowCovers(t, windowMs, hopMs, event.ts)).map((event) => event.value);
}
