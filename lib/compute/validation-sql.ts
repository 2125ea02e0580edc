import type { FeatureCheck } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { SqlDialect } from './sql-dialect.js';
import { numberLiteral, quoteIdentifier as q, stringLiteral } from './sql-literals.js';

/** Statistics of one feature in one partition, as the summary query returns them. */
export interface FeatureSummary {
  readonly feature: string;
  readonly rows: number;
  readonly nulls: number;
  readonly infinities: number;
  readonly mean: number | null;
  readonly stddev: number | null;
  readonly min: unknown;
  readonly max: unknown;
  /** Non-null values outside `allowedValues`, when the feature has that check. */
  readonly disallowed: number;
}

const isNumeric = (feature: ResolvedFeature) => feature.dtype === 'int64' || feature.dtype === 'float64';
const isScalar = (feature: ResolvedFeature) =>
  feature.dtype !== undefined && !feature.dtype.startsWith('list<') && !feature.dtype.startsWith('float32[');

function column(feature: ResolvedFeature, stat: string): string {
  return q(`${feature.name}__${stat}`);
}

/**
 * One aggregate query over a partition's rows giving, for every feature, what the article's validator
 * reported (row count, null rate, infinities, mean, standard deviation, min, max) plus what the
 * declared checks need (values outside an allowed list).
 */
export function featureSummarySql(
  relation: string,
  features: readonly ResolvedFeature[],
  checks: Readonly<Record<string, FeatureCheck>>,
  dialect: SqlDialect,
  options: { groupBy?: string } = {},
): string {
  const parts = [...(options.groupBy ? [`${q(options.groupBy)} AS "__group"`] : []), 'COUNT(*) AS "__rows"'];
  for (const feature of features) {
    const value = q(feature.name);
    parts.push(`COUNT(${value}) AS ${column(feature, 'present')}`);
    if (isNumeric(feature)) {
      const asDouble = `CAST(${value} AS DOUBLE)`;
      const finite = `CASE WHEN NOT ${dialect.isNonFinite(asDouble)} THEN ${asDouble} END`;
      parts.push(
        `SUM(CASE WHEN ${dialect.isNonFinite(asDouble)} THEN 1 ELSE 0 END) AS ${column(feature, 'inf')}`,
        `AVG(${finite}) AS ${column(feature, 'mean')}`,
        `STDDEV_SAMP(${finite}) AS ${column(feature, 'stddev')}`,
      );
    }
    if (isScalar(feature)) {
      parts.push(`MIN(${value}) AS ${column(feature, 'min')}`, `MAX(${value}) AS ${column(feature, 'max')}`);
    }
    const allowed = checks[feature.name]?.allowedValues;
    if (allowed && allowed.length > 0 && isScalar(feature)) {
      const list = allowed
        .map((item) =>
          typeof item === 'number'
            ? numberLiteral(item)
            : typeof item === 'boolean'
              ? String(item).toUpperCase()
              : stringLiteral(item),
        )
        .join(', ');
      parts.push(
        `SUM(CASE WHEN ${value} IS NOT NULL AND ${value} NOT IN (${list}) THEN 1 ELSE 0 END) AS ${column(feature, 'disallowed')}`,
      );
    }
  }
  const grouping = options.groupBy ? ` GROUP BY ${q(options.groupBy)}` : '';
  return `SELECT ${parts.join(', ')} FROM ${relation}${grouping}`;
}

/** Reads the summary query's single row back into one summary per feature. */
export function readFeatureSummaries(
  row: Record<string, unknown>,
  features: readonly ResolvedFeature[],
): FeatureSummary[] {
  const rows = Number(row.__rows ?? 0);
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return features.map((feature) => ({
    feature: feature.name,
    rows,
    nulls: rows - Number(row[`${feature.name}__present`] ?? 0),
    infinities: Number(row[`${feature.name}__inf`] ?? 0),
    mean: number(row[`${feature.name}__mean`]),
    stddev: number(row[`${feature.name}__stddev`]),
    min: row[`${feature.name}__min`] ?? null,
    max: row[`${feature.name}__max`] ?? null,
    disallowed: Number(row[`${feature.name}__disallowed`] ?? 0),
  }));
}
