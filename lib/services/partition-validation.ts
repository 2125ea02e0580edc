import type { FeatureSummary } from '../compute/validation-sql.js';
import type { FeatureCheck, NormalizedValidation } from '../definitions/feature-view.js';

/** One check on one feature in one partition. */
export interface CheckResult {
  /** `no_infinity`, `max_null_rate`, `min`, `max`, `allowed_values` or `not_constant`. */
  readonly check: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface FeatureValidation {
  readonly feature: string;
  readonly passed: boolean;
  readonly nullRate: number;
  readonly summary: FeatureSummary;
  readonly checks: readonly CheckResult[];
}

/** What validation found in one partition; stored beside it as `_validation.json`. */
export interface PartitionValidation {
  readonly view: string;
  readonly version: string;
  readonly dt: string;
  readonly rows: number;
  readonly policy: 'strict' | 'warn';
  readonly passed: boolean;
  /** ISO 8601 UTC. */
  readonly validatedAt: string;
  readonly features: readonly FeatureValidation[];
}

/**
 * Applies a view's declared checks to a partition's summaries. Every numeric feature is also checked
 * for infinities, the article's "no infinity" rule; the rest of the article's checks (presence, null
 * rate, mean/std/min/max) are reported for every feature and fail only where a rule is declared.
 */
export function evaluatePartition(
  identity: { view: string; version: string; dt: string },
  summaries: readonly FeatureSummary[],
  validation: NormalizedValidation,
  validatedAt: Date,
): PartitionValidation {
  const features = summaries.map((summary) =>
    evaluateFeature(summary, validation.features[summary.feature] ?? {}),
  );
  return {
    ...identity,
    rows: summaries[0]?.rows ?? 0,
    policy: validation.policy,
    passed: features.every((feature) => feature.passed),
    validatedAt: validatedAt.toISOString(),
    features,
  };
}

function evaluateFeature(summary: FeatureSummary, rule: FeatureCheck): FeatureValidation {
  const nullRate = summary.rows === 0 ? 0 : summary.nulls / summary.rows;
  const checks: CheckResult[] = [
    {
      check: 'no_infinity',
      passed: summary.infinities === 0,
      detail: `${summary.infinities} infinite values`,
    },
  ];
  if (rule.maxNullRate !== undefined) {
    checks.push({
      check: 'max_null_rate',
      passed: nullRate <= rule.maxNullRate,
      detail: `null rate ${round(nullRate)} (at most ${rule.maxNullRate})`,
    });
  }
  if (rule.min !== undefined) {
    const min = summary.min as number | null;
    checks.push({
      check: 'min',
      passed: min === null || min >= rule.min,
      detail: `smallest value ${min === null ? 'none' : round(min)} (at least ${rule.min})`,
    });
  }
  if (rule.max !== undefined) {
    const max = summary.max as number | null;
    checks.push({
      check: 'max',
      passed: max === null || max <= rule.max,
      detail: `largest value ${max === null ? 'none' : round(max)} (at most ${rule.max})`,
    });
  }
  if (rule.allowedValues !== undefined) {
    checks.push({
      check: 'allowed_values',
      passed: summary.disallowed === 0,
      detail: `${summary.disallowed} values outside ${JSON.stringify(rule.allowedValues)}`,
    });
  }
  if (rule.notConstant) {
    const varied = summary.min !== null && summary.max !== null && !sameValue(summary.min, summary.max);
    checks.push({
      check: 'not_constant',
      passed: varied,
      detail: varied ? 'values vary' : `every value is ${JSON.stringify(summary.min)}`,
    });
  }
  return { feature: summary.feature, passed: checks.every((c) => c.passed), nullRate, summary, checks };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
