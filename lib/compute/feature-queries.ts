import type { Expression } from '../definitions/expression.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import { expressionSql } from './expression-sql.js';
import type { SqlDialect } from './sql-dialect.js';
import { quoteIdentifier as q, timestampLiteral } from './sql-literals.js';
import { type ViewComputation, viewFeaturesSql } from './view-features-sql.js';
import { aggregationWindow, windowLookbackMs } from './window-kernel.js';

/** Name of the time column in computed feature rows and of the partition column. */
export const EVENT_TIMESTAMP = 'event_timestamp';
export const PARTITION_COLUMN = 'dt';

function joinKeysOf(computation: ViewComputation): string[] {
  return computation.view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
}

/** How far back events can matter to a point: the longest window plus its hop; unbounded for history features. */
export function lookbackMs(features: readonly ResolvedFeature[]): number | undefined {
  let longest = 0;
  for (const feature of features) {
    const origin = feature.origin;
    if (origin.kind === 'aggregation')
      longest = Math.max(longest, windowLookbackMs(aggregationWindow(origin, feature.name)));
    else if (origin.kind !== 'derived') return undefined;
  }
  return longest;
}

/**
 * Feature rows for every event of a view's source with time in [start, end): the features as of
 * that event's time (so an event never sees itself), the event's keys and time, and its `dt`.
 */
export function perEventFeaturesSql(
  computation: ViewComputation,
  range: { start: Date; end: Date },
  dialect: SqlDialect,
): string {
  const keys = joinKeysOf(computation);
  const lookback = lookbackMs(computation.features);
  const view = viewFeaturesSql(computation, dialect, {
    points: { eventsFromSql: timestampLiteral(range.start), eventsBeforeSql: timestampLiteral(range.end) },
    prefix: 'v',
    eventsBeforeSql: timestampLiteral(range.end),
    ...(lookback === undefined
      ? {}
      : { eventsFromSql: timestampLiteral(new Date(range.start.getTime() - lookback)) }),
  });
  const featureColumns = computation.features.map((feature) => `f.${q(feature.name)}`);
  return `WITH ${view.ctes.join(',\n')}\nSELECT ${keys.map((key) => `p.${q(key)}`).join(', ')}, p."__event_ts" AS ${q(EVENT_TIMESTAMP)}, ${featureColumns.join(', ')}, ${dialect.dateString('p."__event_ts"')} AS ${q(PARTITION_COLUMN)} FROM "v_points" AS p JOIN ${view.resultCte} AS f ON f."__point" = p."__point" ORDER BY p."__event_ts", p."__point"`;
}

/**
 * One row per entity seen before `asOf`: its features as of `asOf`, for materializing the online store.
 * Entities whose only events are older than every window still get a row (counts of 0, latest fields).
 */
export function latestFeaturesSql(computation: ViewComputation, asOf: Date, dialect: SqlDialect): string {
  const keys = joinKeysOf(computation);
  const ts = q(computation.view.source.timestampField);
  const asOfSql = timestampLiteral(asOf);
  const points = `"__points" AS (SELECT ${keys.map(q).join(', ')}, ${dialect.epochMs(asOfSql)} AS "__ts", ROW_NUMBER() OVER (ORDER BY ${keys.map(q).join(', ')}) AS "__point" FROM (SELECT DISTINCT ${keys.map(q).join(', ')} FROM ${computation.sourceRelation} WHERE ${ts} <= ${asOfSql}${keys.map((key) => ` AND ${q(key)} IS NOT NULL`).join('')}) AS entities)`;
  const view = viewFeaturesSql(computation, dialect, {
    points: '__points',
    prefix: 'v',
    // Latest-value fields include rows at exactly asOf; times compare at millisecond precision.
    eventsBeforeSql: timestampLiteral(new Date(asOf.getTime() + 1)),
  });
  const featureColumns = computation.features.map((feature) => `f.${q(feature.name)}`);
  return `WITH ${[points, ...view.ctes].join(',\n')}\nSELECT ${keys.map((key) => `p.${q(key)}`).join(', ')}, ${asOfSql} AS ${q(EVENT_TIMESTAMP)}, ${featureColumns.join(', ')} FROM "__points" AS p JOIN ${view.resultCte} AS f ON f."__point" = p."__point" ORDER BY p."__point"`;
}

/** A view's features requested in a point-in-time join. */
export interface HistoricalViewRequest {
  readonly computation: ViewComputation;
  /** Features to output; the view's other features are computed too (on-demand features may read them) but not output. */
  readonly features: readonly string[];
}

/** An on-demand view's features requested in a point-in-time join. */
export interface HistoricalOnDemandRequest {
  readonly name: string;
  readonly expressions: Readonly<Record<string, Expression>>;
  readonly features: readonly string[];
}

export interface HistoricalFeaturesSpec {
  /** A relation with the spine's columns and `__row` (BIGINT, input order). */
  readonly spineRelation: string;
  /** Every column of the spine, in order; all are kept in the output. */
  readonly spineColumns: readonly string[];
  /** The spine column holding each row's time. */
  readonly timestampColumn: string;
  readonly views: readonly HistoricalViewRequest[];
  readonly onDemand: readonly HistoricalOnDemandRequest[];
  /** Output names `view__feature` instead of `feature`. */
  readonly fullFeatureNames: boolean;
}

/** The output column name of a feature. */
export function outputFeatureName(view: string, feature: string, fullFeatureNames: boolean): string {
  return fullFeatureNames ? `${view}__${feature}` : feature;
}

/**
 * The point-in-time join: one output row per spine row, in spine order, every spine column kept,
 * each feature as of that row's time by the rules of DESIGN.md section 3; no match gives null.
 */
export function historicalFeaturesSql(spec: HistoricalFeaturesSpec, dialect: SqlDialect): string {
  const ctes: string[] = [];
  const joins: string[] = [];
  const selected: string[] = spec.spineColumns.map((column) => `s.${q(column)}`);
  const featureColumn = new Map<string, string>();
  spec.views.forEach((request, index) => {
    const keys = joinKeysOf(request.computation);
    const pointsCte = `__points_${index}`;
    ctes.push(
      `${q(pointsCte)} AS (SELECT ${keyCasts(request.computation, dialect).join(', ')}, ${dialect.epochMs(`CAST(${q(spec.timestampColumn)} AS ${dialect.sqlType('timestamp')})`)} AS "__ts", "__row" AS "__point" FROM ${spec.spineRelation} WHERE ${q(spec.timestampColumn)} IS NOT NULL${keys.map((key) => ` AND ${q(key)} IS NOT NULL`).join('')})`,
    );
    const view = viewFeaturesSql(request.computation, dialect, { points: pointsCte, prefix: `v${index}` });
    ctes.push(...view.ctes);
    const joinAlias = `f${index}`;
    joins.push(`LEFT JOIN ${view.resultCte} AS ${joinAlias} ON ${joinAlias}."__point" = s."__row"`);
    for (const feature of request.computation.features) {
      featureColumn.set(
        `${request.computation.view.name}:${feature.name}`,
        `${joinAlias}.${q(feature.name)}`,
      );
    }
    for (const name of request.features) {
      selected.push(
        `${joinAlias}.${q(name)} AS ${q(outputFeatureName(request.computation.view.name, name, spec.fullFeatureNames))}`,
      );
    }
  });
  for (const request of spec.onDemand) {
    for (const name of request.features) {
      const expression = request.expressions[name];
      if (!expression) continue;
      const sql = expressionSql(
        expression,
        {
          feature: (reference) => featureColumn.get(`${reference.view}:${reference.name}`) ?? 'NULL',
          requestField: (field) => `s.${q(field)}`,
        },
        dialect,
      );
      selected.push(`${sql} AS ${q(outputFeatureName(request.name, name, spec.fullFeatureNames))}`);
    }
  }
  const withClause = ctes.length > 0 ? `WITH ${ctes.join(',\n')}\n` : '';
  return `${withClause}SELECT ${selected.join(', ')} FROM ${spec.spineRelation} AS s ${joins.join(' ')} ORDER BY s."__row"`;
}

/** Spine keys cast to the entity's join key types, so a spine read from CSV joins like the source. */
function keyCasts(computation: ViewComputation, dialect: SqlDialect): string[] {
  return computation.view.entities.flatMap((entity) =>
    Object.entries(entity.joinKeys).map(
      ([key, type]) => `CAST(${q(key)} AS ${dialect.sqlType(type)}) AS ${q(key)}`,
    ),
  );
}
