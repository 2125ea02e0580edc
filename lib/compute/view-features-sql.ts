import { parseDuration } from '../definitions/duration.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { FeatureType, ValueType } from '../definitions/value-type.js';
import { expressionSql } from './expression-sql.js';
import type { SqlDialect } from './sql-dialect.js';
import { quoteIdentifier as q } from './sql-literals.js';
import { aggregationWindow, tileOfSql, tilesPerWindow, windowStartSql } from './window-kernel.js';

/** A feature view to compute, with its resolved features and the SQL relation its source is read from. */
export interface ViewComputation {
  readonly view: FeatureViewDefinition;
  /** The view's features with their types, as validation resolved them. */
  readonly features: readonly ResolvedFeature[];
  /** A relation the FROM clause can name: `read_parquet('...')`, `"db"."table"`, a CTE name. */
  readonly sourceRelation: string;
}

/** CTEs computing a view's features at query points, and the CTE holding the result. */
export interface ViewFeaturesSql {
  readonly ctes: readonly string[];
  /** CTE with `__point` and one column per feature, named as the feature. */
  readonly resultCte: string;
}

export interface ViewFeaturesOptions {
  /**
   * Where the query points come from. A CTE name: a relation with the view's join keys, `__ts` (epoch
   * milliseconds, BIGINT) and `__point` (a BIGINT that identifies the point); features are computed as
   * of each point's `__ts`. Or the source's own events in [startSql, endSql): then the events are the
   * points (no second copy of them), and the CTE `<prefix>_points` holds them with `__event_ts`.
   */
  readonly points: string | { readonly eventsFromSql: string; readonly eventsBeforeSql: string };
  /** Prefix for this view's CTE names, unique within the query. */
  readonly prefix: string;
  /** Only source rows before this SQL timestamp expression are read (events at later times cannot count). */
  readonly eventsBeforeSql?: string;
  /** Only source rows at or after this SQL timestamp expression are read, when no feature needs older ones. */
  readonly eventsFromSql?: string;
}

const DAY_MS = 86_400_000;

/** Keeps the internal columns apart from user columns, which are validated not to start with `__`. */
const TS = '"__ts"';
const POINT = '"__point"';
const IS_EVENT = '"__is_event"';
const TILE = '"__tile"';

interface Aggregated {
  readonly feature: ResolvedFeature;
  readonly column: string;
  readonly fn: string;
  readonly windowMs: number;
  readonly hopMs: number;
}

/**
 * The SQL for a view's features as of arbitrary query points, following DESIGN.md section 3:
 *
 * - a window W with hop H read at t covers events with floor(t, H) - W <= ts < t. Events are grouped
 *   into hop tiles; the complete tiles [floor(t,H) - W, floor(t,H)) are summed by a RANGE frame over
 *   tile numbers, and the events of t's own tile before t by a RANGE frame over milliseconds that
 *   stops one millisecond before t, so the event at exactly t never counts;
 * - last-k and `last` come from numbering each entity's events by (time, value) and joining the k
 *   numbers just below the count of events before t: equi-joins, no per-row scans;
 * - latest-value fields take the row with the greatest time <= t (ties: greatest created time, then
 *   values), found the same way, and are null outside the TTL;
 * - derived features are expressions over the others, compiled by `expressionSql`.
 */
export function viewFeaturesSql(
  computation: ViewComputation,
  dialect: SqlDialect,
  options: ViewFeaturesOptions,
): ViewFeaturesSql {
  const { view, features, sourceRelation } = computation;
  const { prefix } = options;
  const pointsCte = typeof options.points === 'string' ? options.points : `${prefix}_points`;
  const eventsArePoints = typeof options.points === 'string' ? undefined : options.points;
  const schema = view.source.schema as Record<string, ValueType>;
  const keys = view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
  const keyList = keys.map(q).join(', ');
  const timestampColumn = q(view.source.timestampField);
  const createdColumn =
    view.source.kind === 'batch_source' && view.source.createdTimestampField
      ? q(view.source.createdTimestampField)
      : undefined;
  const name = (suffix: string) => q(`${prefix}_${suffix}`);
  const ctes: string[] = [];

  const aggregated: Aggregated[] = [];
  const lastK: { feature: ResolvedFeature; column: string; k: number }[] = [];
  const fields: { feature: ResolvedFeature; column: string }[] = [];
  let needsRecency = false;
  for (const feature of features) {
    const origin = feature.origin;
    if (origin.kind === 'aggregation') {
      aggregated.push({
        feature,
        column: origin.column,
        fn: origin.function,
        ...aggregationWindow(origin, feature.name),
      });
    } else if (origin.kind === 'last_k') lastK.push({ feature, column: origin.column, k: origin.k });
    else if (origin.kind === 'field') fields.push({ feature, column: origin.column });
    else if (origin.kind === 'days_since_first_event' || origin.kind === 'days_since_last_event')
      needsRecency = true;
  }

  const eventColumns = [
    ...new Set([
      ...aggregated.map((a) => a.column),
      ...lastK.map((l) => l.column),
      ...fields.map((f) => f.column),
    ]),
  ];
  const columnAlias = new Map(eventColumns.map((column, index) => [column, `c${index}`]));
  const alias = (column: string) => q(columnAlias.get(column) ?? column);
  const conditions = [
    ...keys.map((key) => `${q(key)} IS NOT NULL`),
    `${timestampColumn} IS NOT NULL`,
    ...(options.eventsBeforeSql ? [`${timestampColumn} < ${options.eventsBeforeSql}`] : []),
    ...(options.eventsFromSql ? [`${timestampColumn} >= ${options.eventsFromSql}`] : []),
  ];

  // Source rows, with time in epoch milliseconds and columns under short internal aliases.
  const eventPoint = eventsArePoints
    ? `, CASE WHEN ${timestampColumn} >= ${eventsArePoints.eventsFromSql} AND ${timestampColumn} < ${eventsArePoints.eventsBeforeSql} THEN ROW_NUMBER() OVER () END AS ${POINT}, ${timestampColumn} AS "__event_ts"`
    : '';
  ctes.push(
    `${name('events')} AS (SELECT ${keyList}, ${dialect.epochMs(timestampColumn)} AS ${TS}${eventPoint}${
      createdColumn ? `, ${dialect.epochMs(createdColumn)} AS "__created"` : ''
    }${eventColumns.map((column) => `, ${q(column)} AS ${alias(column)}`).join('')} FROM ${sourceRelation} WHERE ${conditions.join(' AND ')})`,
  );
  // Events and points in one stream per entity; points carry no values, so they never count.
  const nullColumns = eventColumns
    .map((column) => `, CAST(NULL AS ${dialect.sqlType(schema[column] ?? 'string')}) AS ${alias(column)}`)
    .join('');
  const eventAliases = eventColumns.map((column) => `, ${alias(column)}`).join('');
  if (eventsArePoints) {
    // The events are the points: one stream, half the rows to sort and frame.
    ctes.push(
      `${name('stream')} AS (SELECT ${keyList}, ${TS}, 1 AS ${IS_EVENT}, ${POINT}${eventAliases} FROM ${name('events')})`,
    );
    ctes.push(
      `${q(pointsCte)} AS (SELECT ${keyList}, ${TS}, ${POINT}, "__event_ts" FROM ${name('events')} WHERE ${POINT} IS NOT NULL)`,
    );
  } else {
    ctes.push(
      `${name('stream')} AS (SELECT ${keyList}, ${TS}, 1 AS ${IS_EVENT}, CAST(NULL AS BIGINT) AS ${POINT}${eventAliases} FROM ${name('events')} UNION ALL SELECT ${keyList}, ${TS}, 0 AS ${IS_EVENT}, ${POINT}${nullColumns} FROM ${q(pointsCte)})`,
    );
  }

  const joins: string[] = [];
  const featureSql = new Map<string, string>();
  const partitionByKeys = keys.map(q).join(', ');

  // Counting events before each point: the basis of last-k, `last` and recency.
  let beforeCte: string | undefined;
  const beforeColumns = new Set<string>();
  const ensureBefore = (): string => {
    if (beforeCte) return beforeCte;
    beforeCte = name('before');
    joins.push(`LEFT JOIN ${beforeCte} AS b ON b.${POINT} = pt.${POINT}`);
    return beforeCte;
  };
  const rankedCtes = new Map<string, string>();
  const ranked = (column: string): string => {
    const existing = rankedCtes.get(column);
    if (existing) return existing;
    const cte = name(`ranked_${columnAlias.get(column)}`);
    const c = alias(column);
    ctes.push(
      `${cte} AS (SELECT ${keyList}, ${TS}, ${c}, ROW_NUMBER() OVER (PARTITION BY ${partitionByKeys} ORDER BY ${TS}, ${c}) AS "__rn" FROM ${name('events')} WHERE ${c} IS NOT NULL)`,
    );
    rankedCtes.set(column, cte);
    ensureBefore();
    beforeColumns.add(column);
    return cte;
  };
  let latestJoins = 0;
  function latestValueJoin(column: string, offset: number): { alias: string } {
    const cte = ranked(column);
    const joinAlias = `l${latestJoins++}`;
    joins.push(
      `LEFT JOIN ${cte} AS ${joinAlias} ON ${keys.map((key) => `${joinAlias}.${q(key)} = pt.${q(key)}`).join(' AND ')} AND ${joinAlias}."__rn" = b.${q(`${columnAlias.get(column)}_before`)} - ${offset}`,
    );
    return { alias: joinAlias };
  }

  // 'last' is the latest value before t, if it lies inside the window: a rank join in every dialect.
  for (const item of aggregated.filter((a) => a.fn === 'last')) {
    const windowStart = windowStartSql(`pt.${TS}`, item, dialect);
    const latest = latestValueJoin(item.column, 0);
    featureSql.set(
      item.feature.name,
      `(CASE WHEN ${latest.alias}.${TS} >= ${windowStart} THEN ${latest.alias}.${alias(item.column)} END)`,
    );
  }

  const slidingColumns: string[] = [];
  const frames = new Map<string, string>();
  if (dialect.variableRangeFrames) {
    // One window per window feature: a RANGE frame whose start, floor(t, H) - W, is computed per row.
    const frameOf = (item: Aggregated): string => {
      const id = `w${item.windowMs}_${item.hopMs}`;
      if (!frames.has(id)) {
        const reach = `(${TS} - ${windowStartSql(TS, item, dialect)})`;
        frames.set(
          id,
          `${q(id)} AS (PARTITION BY ${partitionByKeys} ORDER BY ${TS} RANGE BETWEEN ${reach} PRECEDING AND 1 PRECEDING)`,
        );
      }
      return q(id);
    };
    // DuckDB's variance and standard deviation keep (count, mean, M2) per frame segment and merge them
    // pairwise, the algorithm of tile-moments.ts; sums and means of doubles are compensated (fsum,
    // favg). Integer sums are exact.
    const isFloat = (column: string) => schema[column] === 'float64';
    const native: Record<string, (c: string, column: string) => string> = {
      count: (c) => `COUNT(${c})`,
      sum: (c, column) => (isFloat(column) ? `fsum(${c})` : `SUM(${c})`),
      mean: (c, column) => (isFloat(column) ? `favg(${c})` : `AVG(${c})`),
      variance: (c) => `VAR_SAMP(${c})`,
      stddev: (c) => `STDDEV_SAMP(${c})`,
      min: (c) => `MIN(${c})`,
      max: (c) => `MAX(${c})`,
    };
    const windowed = aggregated.filter((a) => a.fn !== 'last');
    if (windowed.length > 0) {
      // Computed in the same pass as the counts before each point (one sort per entity), below.
      ensureBefore();
      windowed.forEach((item, index) => {
        const fn = native[item.fn] ?? native.count;
        slidingColumns.push(
          `${fn?.(alias(item.column), item.column)} OVER ${frameOf(item)} AS ${q(`a${index}`)}`,
        );
        const value = `b.${q(`a${index}`)}`;
        featureSql.set(item.feature.name, item.fn === 'sum' ? `coalesce(${value}, 0)` : value);
      });
    }
  }

  // Window aggregations where frames need constant offsets (Trino): per hop, the window's complete tiles
  // [tile(t) - W/H, tile(t)) by a RANGE frame over tile numbers, and t's own tile before t by a RANGE
  // frame over milliseconds that stops one millisecond before t. Each part's (count, mean, M2) comes
  // from the engine's own stable aggregates, and the two merge by Chan's pairwise formula.
  const hops = dialect.variableRangeFrames ? [] : [...new Set(aggregated.map((a) => a.hopMs))];
  hops.forEach((hopMs, hopIndex) => {
    const atHop = aggregated.filter((a) => a.hopMs === hopMs && a.fn !== 'last');
    if (atHop.length === 0) return;
    const columns = [...new Set(atHop.map((a) => a.column))];
    const windows = [...new Set(atHop.map((a) => a.windowMs))];
    const numeric = (column: string) => schema[column] === 'int64' || schema[column] === 'float64';
    const kindsOf = (column: string) =>
      numeric(column) ? ['n', 's', 'mean', 'var', 'min', 'max'] : ['n', 'min', 'max'];
    const partStat = (column: string, kind: string, part: string) =>
      q(`${columnAlias.get(column)}_${kind}_${part}`);
    const statSql = (kind: string, c: string, frame: string): string => {
      const aggregate: Record<string, string> = {
        n: `COUNT(${c})`,
        s: `SUM(${c})`,
        mean: `AVG(CAST(${c} AS DOUBLE))`,
        var: `VAR_POP(CAST(${c} AS DOUBLE))`,
        min: `MIN(${c})`,
        max: `MAX(${c})`,
      };
      return `${aggregate[kind]} ${frame}`;
    };
    const partialFrame = `OVER (PARTITION BY ${partitionByKeys}, ${TILE} ORDER BY ${TS} RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)`;
    const partStats = columns.flatMap((column) => {
      const c = alias(column);
      const partial = kindsOf(column).map(
        (kind) => `${statSql(kind, c, partialFrame)} AS ${partStat(column, kind, 'p')}`,
      );
      const complete = windows.flatMap((windowMs) => {
        const frame = `OVER (PARTITION BY ${partitionByKeys} ORDER BY ${TILE} RANGE BETWEEN ${tilesPerWindow({ windowMs, hopMs })} PRECEDING AND 1 PRECEDING)`;
        return kindsOf(column).map(
          (kind) => `${statSql(kind, c, frame)} AS ${partStat(column, kind, `w${windowMs}`)}`,
        );
      });
      return [...partial, ...complete];
    });
    const partsAll = name(`parts_all_${hopIndex}`);
    ctes.push(
      `${partsAll} AS (SELECT ${POINT}, ${partStats.join(', ')} FROM (SELECT *, ${tileOfSql(TS, hopMs, dialect)} AS ${TILE} FROM ${name('stream')}) AS tiled)`,
    );
    // One window's value of each statistic: the complete tiles' part merged with the partial tile's.
    const merged = columns.flatMap((column) =>
      windows.flatMap((windowMs) => {
        const part = (kind: string, which: string) => partStat(column, kind, which);
        const w = `w${windowMs}`;
        const n1 = `coalesce(${part('n', w)}, 0)`;
        const n2 = `coalesce(${part('n', 'p')}, 0)`;
        const n = `(${n1} + ${n2})`;
        const stats = [
          `${n} AS ${partStat(column, 'n', `m${windowMs}`)}`,
          `${smaller(part('min', w), part('min', 'p'))} AS ${partStat(column, 'min', `m${windowMs}`)}`,
          `${larger(part('max', w), part('max', 'p'))} AS ${partStat(column, 'max', `m${windowMs}`)}`,
        ];
        if (numeric(column)) {
          const delta = `(${part('mean', 'p')} - ${part('mean', w)})`;
          stats.push(
            `(coalesce(${part('s', w)}, 0) + coalesce(${part('s', 'p')}, 0)) AS ${partStat(column, 's', `m${windowMs}`)}`,
            `(CASE WHEN ${n2} = 0 THEN ${part('mean', w)} WHEN ${n1} = 0 THEN ${part('mean', 'p')} ELSE ${part('mean', w)} + ${delta} * CAST(${n2} AS DOUBLE) / ${n} END) AS ${partStat(column, 'mean', `m${windowMs}`)}`,
            `(coalesce(${part('var', w)} * ${n1}, 0) + coalesce(${part('var', 'p')} * ${n2}, 0) + (CASE WHEN ${n1} > 0 AND ${n2} > 0 THEN ${delta} * ${delta} * (CAST(${n1} AS DOUBLE) * ${n2} / ${n}) ELSE 0 END)) AS ${partStat(column, 'm2', `m${windowMs}`)}`,
          );
        }
        return stats;
      }),
    );
    const moments = name(`moments_${hopIndex}`);
    ctes.push(
      `${moments} AS (SELECT ${POINT}, ${merged.join(', ')} FROM ${partsAll} WHERE ${POINT} IS NOT NULL)`,
    );
    const m = `m${hopIndex}`;
    joins.push(`LEFT JOIN ${moments} AS ${m} ON ${m}.${POINT} = pt.${POINT}`);
    for (const item of atHop) {
      const stat = (kind: string) => `${m}.${partStat(item.column, kind, `m${item.windowMs}`)}`;
      const variance = `(CASE WHEN ${stat('n')} > 1 THEN greatest(${stat('m2')} / (${stat('n')} - 1), 0) END)`;
      const sql: Record<string, string> = {
        count: stat('n'),
        sum: stat('s'),
        mean: `(CASE WHEN ${stat('n')} > 0 THEN ${stat('mean')} END)`,
        variance,
        stddev: `sqrt(${variance})`,
        min: stat('min'),
        max: stat('max'),
      };
      featureSql.set(item.feature.name, sql[item.fn] ?? 'NULL');
    }
  });

  // Last-k: along each entity's values in (time, value) order, the k values ending at each one, as a
  // list; a point takes the list ending at the last value before it (one equi-join), newest first.
  const lastKCtes: string[] = [];
  for (const item of lastK) {
    const cte = ranked(item.column);
    const lists = name(`last_${item.feature.name}`);
    const c = alias(item.column);
    lastKCtes.push(
      `${lists} AS (SELECT ${keyList}, "__rn", array_agg(${c}) OVER (PARTITION BY ${partitionByKeys} ORDER BY "__rn" ROWS BETWEEN ${item.k - 1} PRECEDING AND CURRENT ROW) AS "__values" FROM ${cte})`,
    );
    const listAlias = `k${lastKCtes.length}`;
    joins.push(
      `LEFT JOIN ${lists} AS ${listAlias} ON ${keys.map((key) => `${listAlias}.${q(key)} = pt.${q(key)}`).join(' AND ')} AND ${listAlias}."__rn" = b.${q(`${columnAlias.get(item.column)}_before`)}`,
    );
    featureSql.set(
      item.feature.name,
      `coalesce(${dialect.reverseArray(`${listAlias}."__values"`)}, ${dialect.emptyArray(item.feature.dtype ?? 'list<float64>')})`,
    );
  }
  if (needsRecency) ensureBefore();
  for (const feature of features) {
    if (feature.origin.kind === 'days_since_first_event') {
      featureSql.set(feature.name, `(CAST(pt.${TS} - b."__first_ts" AS DOUBLE) / ${DAY_MS})`);
    } else if (feature.origin.kind === 'days_since_last_event') {
      featureSql.set(feature.name, `(CAST(pt.${TS} - b."__last_ts" AS DOUBLE) / ${DAY_MS})`);
    }
  }

  // Latest-value fields: the row with the greatest (time, created time, values) at or before t.
  if (fields.length > 0) {
    const fieldColumns = fields.map((f) => alias(f.column));
    const order = [TS, ...(createdColumn ? ['"__created"'] : []), ...fieldColumns].map(
      (c) => `${c} NULLS FIRST`,
    );
    const rows = name('rows');
    ctes.push(
      `${rows} AS (SELECT ${keyList}, ${TS}, ${fieldColumns.join(', ')}, ROW_NUMBER() OVER (PARTITION BY ${partitionByKeys} ORDER BY ${order.join(', ')}) AS "__rn" FROM ${name('events')})`,
    );
    const atOrBefore = name('at_or_before');
    ctes.push(
      `${atOrBefore} AS (SELECT ${POINT}, ${keyList}, SUM(${IS_EVENT}) OVER (PARTITION BY ${partitionByKeys} ORDER BY ${TS} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "__rows" FROM ${name('stream')})`,
    );
    joins.push(`LEFT JOIN ${atOrBefore} AS ab ON ab.${POINT} = pt.${POINT}`);
    joins.push(
      `LEFT JOIN ${rows} AS fr ON ${keys.map((key) => `fr.${q(key)} = pt.${q(key)}`).join(' AND ')} AND fr."__rn" = ab."__rows"`,
    );
    const ttlMs = view.ttl ? parseDuration(view.ttl) : undefined;
    for (const field of fields) {
      const value = `fr.${alias(field.column)}`;
      featureSql.set(
        field.feature.name,
        ttlMs ? `(CASE WHEN fr.${TS} >= pt.${TS} - ${ttlMs} THEN ${value} END)` : value,
      );
    }
  }

  if (beforeCte) {
    const frame = `OVER (PARTITION BY ${partitionByKeys} ORDER BY ${TS} RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)`;
    const counts = [...beforeColumns].map(
      (column) => `COUNT(${alias(column)}) ${frame} AS ${q(`${columnAlias.get(column)}_before`)}`,
    );
    const recency = needsRecency
      ? [
          `MIN(CASE WHEN ${IS_EVENT} = 1 THEN ${TS} END) ${frame} AS "__first_ts"`,
          `MAX(CASE WHEN ${IS_EVENT} = 1 THEN ${TS} END) ${frame} AS "__last_ts"`,
        ]
      : [];
    const beforeAll = name('before_all');
    const windowClause = frames.size > 0 ? ` WINDOW ${[...frames.values()].join(', ')}` : '';
    ctes.push(
      `${beforeAll} AS (SELECT ${keyList}, ${POINT}, ${[...slidingColumns, ...counts, ...recency].join(', ')} FROM ${name('stream')}${windowClause})`,
    );
    ctes.push(`${beforeCte} AS (SELECT * FROM ${beforeAll} WHERE ${POINT} IS NOT NULL)`);
  }
  ctes.push(...lastKCtes);

  // Derived features inline their inputs, so each is one expression over the columns above.
  const derivedSql = (featureName: string): string => {
    const known = featureSql.get(featureName);
    if (known) return known;
    const feature = features.find((f) => f.name === featureName);
    if (feature?.origin.kind !== 'derived') return 'NULL';
    const sql = expressionSql(
      feature.origin.expression,
      {
        feature: (reference) => derivedSql(reference.name),
        requestField: () => 'NULL',
      },
      dialect,
    );
    featureSql.set(featureName, sql);
    return sql;
  };
  const selected = features.map(
    (feature) => `${castTo(derivedSql(feature.name), feature.dtype, dialect)} AS ${q(feature.name)}`,
  );
  const result = name('features');
  ctes.push(
    `${result} AS (SELECT pt.${POINT}, ${selected.join(', ')} FROM ${q(pointsCte)} AS pt ${joins.join(' ')})`,
  );
  return { ctes, resultCte: result };
}

/** Casts a feature to its declared type, so both engines produce the same column types. */
function castTo(sql: string, type: FeatureType | undefined, dialect: SqlDialect): string {
  if (!type || type.startsWith('list<') || type.startsWith('float32[')) return sql;
  return `CAST(${sql} AS ${dialect.sqlType(type)})`;
}

/** The smaller of two nullable values, null only when both are (Trino's least() is null if either is). */
function smaller(a: string, b: string): string {
  return `(CASE WHEN ${a} IS NULL THEN ${b} WHEN ${b} IS NULL THEN ${a} WHEN ${a} <= ${b} THEN ${a} ELSE ${b} END)`;
}

function larger(a: string, b: string): string {
  return `(CASE WHEN ${a} IS NULL THEN ${b} WHEN ${b} IS NULL THEN ${a} WHEN ${a} >= ${b} THEN ${a} ELSE ${b} END)`;
}
