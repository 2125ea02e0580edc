import { isScalarType, type ValueType } from '../definitions/value-type.js';
import { FstoreError } from '../errors.js';
import type { ResultRow } from '../stores/offline-engine.js';
import {
  type HopLayout,
  type OnlineScalar,
  type OnlineStateLayout,
  oldestUsefulTileOf,
  type TileStats,
  type ViewState,
} from './online-state.js';
import type { SqlDialect } from './sql-dialect.js';
import { quoteIdentifier as q, timestampLiteral } from './sql-literals.js';
import type { ViewComputation } from './view-features-sql.js';
import { tileOfSql } from './window-kernel.js';

export interface OnlineStateSqlOptions {
  /**
   * Only entities with a source row in [changedFrom, through]: an incremental materialization, whose
   * other entities' states have not changed. Their states are still computed from their whole history.
   * @default every entity with a row at or before `through`
   */
  readonly changedFrom?: Date;
  /**
   * Only the entities whose join keys hash to bucket `index` of `count` (0-based). Running the query for
   * every index in turn yields every entity exactly once, while the engine holds about 1/count of the
   * rows at a time. @default every entity (one bucket)
   */
  readonly bucket?: { readonly count: number; readonly index: number };
}

/** A state row the engine returned that does not read as a state (a missing key or event time). */
export class OnlineStateRowError extends FstoreError {
  override readonly name = 'OnlineStateRowError';
}

/** State SQL that cannot be compiled as asked: a bucket outside its count, a column without a type. */
export class OnlineStateSqlError extends FstoreError {
  override readonly name = 'OnlineStateSqlError';
}

const TS = '"__ts"';
const CREATED = '"__created"';
const LATEST_RANK = '"__latest_rank"';

/** Output column names, shared by the SQL and the row decoder. */
const out = {
  eventTs: '__event_ts',
  firstTs: '__first_ts',
  lastTs: '__last_ts',
  tiles: (hop: number) => `__tiles_${hop}`,
  recentValues: (index: number) => `__recent_${index}_v`,
  recentTimes: (index: number) => `__recent_${index}_ts`,
  latestTs: '__latest_ts',
  field: (index: number) => `__field_${index}`,
};

type StatKind = 'n' | 'd' | 'm2' | 'min' | 'max';

/** Which stats a tile keeps for a column: shifted moments for numbers (tile-moments.ts), min/max for values with an order. */
function statKinds(numeric: boolean, type: ValueType | undefined): StatKind[] {
  const kinds: StatKind[] = ['n'];
  if (numeric) kinds.push('d', 'm2');
  // Vectors have no min/max feature (validation refuses them), so their tiles keep only counts.
  if (type === undefined || isScalarType(type)) kinds.push('min', 'max');
  return kinds;
}

/** A field of a hop's tile rows: one stat of one of the hop's columns. */
interface TileField {
  /** The field's name in the row: `c<j>_<kind>` for the hop's j-th column (lower case, as Trino names row fields). */
  readonly name: string;
  /** The source column. */
  readonly column: string;
  readonly kind: StatKind;
}

/** The tile index field, first in every tile row. */
const TILE_INDEX = 't';
const statField = (column: number, kind: StatKind): string => `c${column}_${kind}`;

/** The stat fields of a hop's tile rows, in their order after the tile index. */
function tileFields(hop: HopLayout, types: OnlineStateLayout['columnTypes']): TileField[] {
  return hop.columns.flatMap(({ column, numeric }, j) =>
    statKinds(numeric, types[column]).map((kind) => ({ name: statField(j, kind), column, kind })),
  );
}

/**
 * The online state of every entity of a view as of `through`, one row per entity, computed by the
 * offline engine for materialization. The state follows DESIGN.md section 3 exactly as the streaming
 * fold builds it (`stateFromEvents` in online-fold.ts): tiles, recent values and first/last times from
 * the rows before `through`; the event time and the latest-value row from the rows at or before it.
 *
 * The source is read once: each row is annotated by window functions (its hop tiles' stats, its rank
 * among the entity's recent values and among its rows for latest-value fields), then one GROUP BY per
 * entity gathers the annotated rows with `array_agg(...) FILTER (WHERE ...)`, which DuckDB and Trino both
 * accept. Each hop's tiles come back as one array of rows `(t, c0_n, c0_s, ...)`, gathered in no order
 * (ordered aggregates sort per group and do not spill: 7x slower and 1.8 GB over a million entities);
 * recent values, whose order matters, keep their ORDER BY. Times come out as epoch milliseconds (BIGINT),
 * and so do the values of timestamp columns, so the state holds numbers only.
 *
 * With `bucket`, only the entities of one hash bucket are read, so a caller can bound the engine's memory
 * by running the buckets one after another.
 *
 * @example
 * const sql = onlineStateSql(computation, onlineStateLayout(view, features), new Date(), ATHENA_DIALECT);
 * for await (const rows of engine.stream(sql)) rows.map((row) => viewStateFromRow(row, layout, through, keys));
 */
export function onlineStateSql(
  computation: ViewComputation,
  layout: OnlineStateLayout,
  through: Date,
  dialect: SqlDialect,
  options: OnlineStateSqlOptions = {},
): string {
  const { view, sourceRelation } = computation;
  const keys = view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
  const keyList = keys.map(q).join(', ');
  const throughMs = through.getTime();
  const timestampColumn = q(view.source.timestampField);
  const createdColumn =
    view.source.kind === 'batch_source' && view.source.createdTimestampField
      ? q(view.source.createdTimestampField)
      : undefined;
  const types = layout.columnTypes;

  const columns = [
    ...new Set([
      ...layout.hops.flatMap((hop) => hop.columns.map((c) => c.column)),
      ...layout.recent.map((r) => r.column),
      ...layout.fields,
    ]),
  ];
  const aliases = new Map(columns.map((column, index) => [column, q(`__c${index}`)]));
  const alias = (column: string): string => aliases.get(column) ?? q(column);
  // Timestamp values leave as epoch ms; they are compared and ordered as timestamps before that.
  const stored = (sql: string, column: string): string =>
    types[column] === 'timestamp' ? dialect.epochMs(sql) : sql;
  const storedType = (column: string): string => {
    const type = types[column];
    if (type === undefined) {
      throw new OnlineStateSqlError(
        `column "${column}" of feature view "${view.name}" has no type in its source's schema; add it to the schema`,
      );
    }
    return type === 'timestamp' ? 'BIGINT' : dialect.sqlType(type);
  };
  const before = `${TS} < ${throughMs}`;
  // Athena's result text of an array leaves strings unquoted (`[a, 007]` reads back as ['a', 7]), so
  // lists of strings travel as JSON there, which the Athena engine parses exactly.
  const list = (sql: string, column: string): string =>
    dialect.name === 'athena' && types[column] === 'string' ? `CAST(${sql} AS JSON)` : sql;

  const conditions = sourceConditions(computation, layout, through, dialect, options);
  const tileOf = (i: number) => q(`__tile_${i}`);
  const tileShift = (i: number, column: string) => q(`__shift_${i}_${columns.indexOf(column)}`);
  const eventsCte = `"__events" AS (SELECT ${keyList}, ${dialect.epochMs(timestampColumn)} AS ${TS}${
    createdColumn ? `, ${dialect.epochMs(createdColumn)} AS ${CREATED}` : ''
  }${columns.map((column) => `, ${q(column)} AS ${alias(column)}`).join('')}${layout.hops
    .map((hop, i) => `, ${tileOfSql(dialect.epochMs(timestampColumn), hop.hopMs, dialect)} AS ${tileOf(i)}`)
    .join('')} FROM ${sourceRelation} WHERE ${conditions.join(' AND ')})`;

  // Per-row annotations: every window below partitions the one scan of the source.
  const annotations: string[] = [];
  const aggregates: string[] = [`MAX(${TS}) AS ${q(out.eventTs)}`];
  if (layout.recency) {
    aggregates.push(
      `MIN(CASE WHEN ${before} THEN ${TS} END) AS ${q(out.firstTs)}`,
      `MAX(CASE WHEN ${before} THEN ${TS} END) AS ${q(out.lastTs)}`,
    );
  }

  layout.hops.forEach((hop, i) => {
    const tile = tileOf(i);
    const inTile = `OVER (PARTITION BY ${keyList}, ${tile})`;
    const representative = q(`__tile_rank_${i}`);
    annotations.push(
      `ROW_NUMBER() OVER (PARTITION BY ${keyList}, ${tile} ORDER BY ${TS}) AS ${representative}`,
    );
    // The tile's first row stands for it; it is before `through` exactly when the tile holds a row that is.
    const kept = `${representative} = 1 AND ${before} AND ${tile} >= ${oldestUsefulTileOf(hop, throughMs)}`;
    const fields = tileFields(hop, types);
    const fieldType = ({ column, kind }: TileField): string => {
      if (kind === 'n') return 'BIGINT';
      // Shifted sums keep the column's type (DuckDB would widen BIGINT sums to HUGEINT).
      if (kind === 'd') return types[column] === 'int64' ? 'BIGINT' : 'DOUBLE';
      if (kind === 'm2') return 'DOUBLE';
      return storedType(column);
    };
    for (const field of fields) {
      const { column } = field;
      const value = `CASE WHEN ${before} THEN ${alias(column)} END`;
      // Deviations from the tile's minimum (computed in "__shifted"): near the data's spread, not its
      // magnitude, so the engine's sums and variances of them lose nothing to cancellation.
      const shifted = `(${value} - ${tileShift(i, column)})`;
      const statSql: Record<StatKind, string> = {
        n: `COUNT(${value}) ${inTile}`,
        d: `CAST(SUM(${shifted}) ${inTile} AS ${fieldType(field)})`,
        m2: `(VAR_POP(CAST(${shifted} AS DOUBLE)) ${inTile} * COUNT(${value}) ${inTile})`,
        min: stored(`MIN(${value}) ${inTile}`, column),
        max: stored(`MAX(${value}) ${inTile}`, column),
      };
      annotations.push(`${statSql[field.kind]} AS ${q(`__t${i}_${field.name}`)}`);
    }
    const tileRow = `CAST(ROW(${[tile, ...fields.map((f) => q(`__t${i}_${f.name}`))].join(', ')}) AS ROW(${[
      `${TILE_INDEX} BIGINT`,
      ...fields.map((f) => `${f.name} ${fieldType(f)}`),
    ].join(', ')}))`;
    const gathered = `array_agg(${tileRow}) FILTER (WHERE ${kept})`;
    // Athena's result text of a row leaves strings unquoted (as for arrays, see `list` above), so tiles
    // holding string stats travel as JSON; numbers, booleans and nulls read back exactly from the text.
    const asJson = dialect.name === 'athena' && fields.some((f) => fieldType(f) === 'VARCHAR');
    aggregates.push(`${asJson ? `CAST(${gathered} AS JSON)` : gathered} AS ${q(out.tiles(i))}`);
  });

  layout.recent.forEach(({ column, keep }, j) => {
    const c = alias(column);
    const eligible = `${before} AND ${c} IS NOT NULL`;
    const rank = q(`__recent_rank_${j}`);
    // Ties in time: the larger value counts as the newer one (DESIGN.md section 3, last/last-k).
    const newestFirst = `${TS} DESC, ${c} DESC`;
    annotations.push(
      `ROW_NUMBER() OVER (PARTITION BY ${keyList}, CASE WHEN ${eligible} THEN 1 ELSE 0 END ORDER BY ${newestFirst}) AS ${rank}`,
    );
    const filter = `FILTER (WHERE ${eligible} AND ${rank} <= ${keep})`;
    aggregates.push(
      `${list(`array_agg(${stored(c, column)} ORDER BY ${newestFirst}) ${filter}`, column)} AS ${q(out.recentValues(j))}`,
      `array_agg(${TS} ORDER BY ${newestFirst}) ${filter} AS ${q(out.recentTimes(j))}`,
    );
  });

  if (layout.fields.length > 0) {
    // The reverse of view-features-sql's ascending (time, created, values) NULLS FIRST: rank 1 is the latest.
    const order = [TS, ...(createdColumn ? [CREATED] : []), ...layout.fields.map(alias)].map(
      (c) => `${c} DESC NULLS LAST`,
    );
    annotations.push(
      `ROW_NUMBER() OVER (PARTITION BY ${keyList} ORDER BY ${order.join(', ')}) AS ${LATEST_RANK}`,
    );
    // The latest row has the greatest time by construction.
    aggregates.push(`MAX(${TS}) AS ${q(out.latestTs)}`);
    layout.fields.forEach((field, j) => {
      aggregates.push(
        `arbitrary(${stored(alias(field), field)}) FILTER (WHERE ${LATEST_RANK} = 1) AS ${q(out.field(j))}`,
      );
    });
  }

  const shifts = layout.hops.flatMap((hop, i) =>
    hop.columns
      .filter(({ numeric }) => numeric)
      .map(
        ({ column }) =>
          `MIN(CASE WHEN ${before} THEN ${alias(column)} END) OVER (PARTITION BY ${keyList}, ${tileOf(i)}) AS ${tileShift(i, column)}`,
      ),
  );
  const shiftedCte = `"__shifted" AS (SELECT *${shifts.map((s) => `, ${s}`).join('')} FROM "__events")`;
  const annotatedCte = `"__annotated" AS (SELECT *${annotations.map((a) => `, ${a}`).join('')} FROM "__shifted")`;
  const having = options.changedFrom ? ` HAVING MAX(${TS}) >= ${options.changedFrom.getTime()}` : '';
  return `WITH ${eventsCte},\n${shiftedCte},\n${annotatedCte}\nSELECT ${keyList}, ${aggregates.join(', ')} FROM "__annotated" GROUP BY ${keyList}${having}`;
}

/**
 * Counts the source rows `onlineStateSql` reads with the same options: what the engine holds while it
 * computes the states, so a caller can choose how many buckets to split them into. One column, `rows`.
 */
export function onlineStateSourceRowsSql(
  computation: ViewComputation,
  layout: OnlineStateLayout,
  through: Date,
  dialect: SqlDialect,
  options: OnlineStateSqlOptions = {},
): string {
  const conditions = sourceConditions(computation, layout, through, dialect, options);
  return `SELECT count(*) AS "rows" FROM ${computation.sourceRelation} WHERE ${conditions.join(' AND ')}`;
}

/** The conditions on source rows of `onlineStateSql`: keys, time range, bucket. */
function sourceConditions(
  { view }: ViewComputation,
  layout: OnlineStateLayout,
  through: Date,
  dialect: SqlDialect,
  { changedFrom, bucket }: OnlineStateSqlOptions,
): string[] {
  if (
    bucket &&
    !(
      Number.isInteger(bucket.count) &&
      bucket.count >= 1 &&
      Number.isInteger(bucket.index) &&
      bucket.index >= 0 &&
      bucket.index < bucket.count
    )
  ) {
    throw new OnlineStateSqlError(
      `bucket ${bucket.index} of ${bucket.count} does not exist; give a whole count of at least 1 and an index from 0 to count - 1`,
    );
  }
  const keys = view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
  const throughMs = through.getTime();
  const timestampColumn = q(view.source.timestampField);
  // With nothing but tiles, rows older than every useful tile and than `changedFrom` change no state
  // of a changed entity (its event time is at or after `changedFrom`), so they need not be read.
  const onlyTiles = !layout.recency && layout.recent.length === 0 && layout.fields.length === 0;
  const lowerBoundMs =
    onlyTiles && changedFrom
      ? Math.min(
          changedFrom.getTime(),
          ...layout.hops.map((hop) => oldestUsefulTileOf(hop, throughMs) * hop.hopMs),
        )
      : undefined;
  return [
    ...keys.map((key) => `${q(key)} IS NOT NULL`),
    `${timestampColumn} IS NOT NULL`,
    // Times count at millisecond precision: a row 0.5 ms after `through` is at `through`.
    `${timestampColumn} < ${timestampLiteral(new Date(throughMs + 1))}`,
    ...(lowerBoundMs === undefined
      ? []
      : [`${timestampColumn} >= ${timestampLiteral(new Date(lowerBoundMs))}`]),
    // Keys are not null here (the conditions above), which the hash needs to put every entity somewhere.
    ...(bucket && bucket.count > 1
      ? [`${dialect.bucketOf(keys.map(q), bucket.count)} = ${bucket.index}`]
      : []),
  ];
}

/**
 * Reads one row of `onlineStateSql` into the entity's join keys and its `ViewState`. Accepts what the
 * engines return: BIGINT as number or bigint, timestamps as Date, arrays as arrays or JSON text, a
 * missing array as null.
 */
export function viewStateFromRow(
  row: ResultRow,
  layout: OnlineStateLayout,
  through: Date,
  keyColumns: readonly string[],
): { keys: Record<string, number | bigint | string>; state: ViewState } {
  const keys: Record<string, number | bigint | string> = {};
  for (const key of keyColumns) {
    const value = row[key];
    if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'string') {
      throw new OnlineStateRowError(
        `online state row has no value for join key "${key}" (got ${String(value)}); select the view's join keys in the state query`,
      );
    }
    keys[key] = value;
  }
  const eventTs = epochMsOf(row[out.eventTs]);
  if (eventTs === undefined) {
    throw new OnlineStateRowError(
      `online state row for ${JSON.stringify(keys, bigintAsString)} has no ${out.eventTs}; rows come from onlineStateSql`,
    );
  }

  const tiles: Record<string, Record<string, Record<string, TileStats>>> = {};
  layout.hops.forEach((hop, i) => {
    const atHop: Record<string, Record<string, TileStats>> = {};
    const names = [TILE_INDEX, ...tileFields(hop, layout.columnTypes).map((field) => field.name)];
    const position = new Map(names.map((name, k) => [name, k]));
    // Tile rows come in no particular order; each names its tile.
    for (const tileRow of arrayOf(row[out.tiles(i)])) {
      const values = tileRowValues(tileRow, names);
      const index = numberOf(values[0]);
      if (index === undefined) continue;
      const stats: Record<string, TileStats> = {};
      hop.columns.forEach(({ column, numeric }, j) => {
        const stat = (kind: StatKind): unknown => values[position.get(statField(j, kind)) ?? -1];
        const n = numberOf(stat('n')) ?? 0;
        if (n === 0) return;
        const ordered = (value: unknown): OnlineScalar | null =>
          scalarOf(numeric ? (nonFiniteOf(value) ?? value) : value);
        const min = ordered(stat('min'));
        const max = ordered(stat('max'));
        stats[column] = {
          n,
          ...(numeric
            ? {
                d: numberOf(nonFiniteOf(stat('d')) ?? stat('d')) ?? 0,
                m2: numberOf(nonFiniteOf(stat('m2')) ?? stat('m2')) ?? 0,
              }
            : {}),
          ...(min === null ? {} : { min }),
          ...(max === null ? {} : { max }),
        };
      });
      if (Object.keys(stats).length > 0) atHop[String(index)] = stats;
    }
    tiles[String(hop.hopMs)] = atHop;
  });

  const recent: Record<string, [number, OnlineScalar][]> = {};
  layout.recent.forEach(({ column }, j) => {
    const values = arrayOf(row[out.recentValues(j)]);
    const times = arrayOf(row[out.recentTimes(j)]);
    recent[column] = values.flatMap((value, k): [number, OnlineScalar][] => {
      const scalar = scalarOf(value);
      const ts = epochMsOf(times[k]);
      return scalar === null || ts === undefined ? [] : [[ts, scalar]];
    });
  });

  const firstTs = layout.recency ? epochMsOf(row[out.firstTs]) : undefined;
  const lastTs = layout.recency ? epochMsOf(row[out.lastTs]) : undefined;
  const latestTs = layout.fields.length > 0 ? epochMsOf(row[out.latestTs]) : undefined;
  return {
    keys,
    state: {
      eventTs,
      throughTs: through.getTime(),
      ...(firstTs === undefined ? {} : { firstTs }),
      ...(lastTs === undefined ? {} : { lastTs }),
      ...(latestTs === undefined
        ? {}
        : {
            latest: {
              ts: latestTs,
              values: Object.fromEntries(
                layout.fields.map((field, j) => [field, scalarOf(row[out.field(j)])]),
              ),
            },
          }),
      tiles,
      recent,
    },
  };
}

/** An array column; lists of strings may arrive as JSON text (see `onlineStateSql`). */
function arrayOf(value: unknown): readonly unknown[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed : [];
}

/**
 * One tile row's values in field order (`names`). A row arrives as DuckDB's object, as JSON (Trino casts
 * a row to an object of its fields, Presto-era engines to an array in field order), or as Athena's text
 * `{t=473352, c0_n=2, c0_s=3.5}` when it holds no strings (numbers, booleans and nulls only).
 */
function tileRowValues(value: unknown, names: readonly string[]): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return athenaRowText(value);
  if (typeof value === 'object' && value !== null) {
    const fields = value as Record<string, unknown>;
    return names.map((name) => fields[name]);
  }
  throw new OnlineStateRowError(
    `a tile of an online state row is ${JSON.stringify(value)}, not a row; rows come from onlineStateSql`,
  );
}

/** Athena's text of a row without strings: `{name=value, ...}`, values in field order. */
function athenaRowText(text: string): unknown[] {
  if (!text.startsWith('{') || !text.endsWith('}')) {
    throw new OnlineStateRowError(
      `a tile of an online state row reads ${JSON.stringify(text)}, not a row like {t=1, c0_n=2}; rows come from onlineStateSql`,
    );
  }
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((part) => {
    const value = part.slice(part.indexOf('=') + 1).trim();
    if (value === 'null') return null;
    if (value === 'true' || value === 'false') return value === 'true';
    const number = Number(value);
    if (value === '' || (Number.isNaN(number) && value !== 'NaN')) {
      throw new OnlineStateRowError(
        `a tile of an online state row reads ${JSON.stringify(text)}, whose field ${JSON.stringify(part.trim())} is not a number, boolean or null`,
      );
    }
    return number;
  });
}

/** JSON has no NaN or infinities: an engine casting them to JSON writes "NaN", "Infinity", "-Infinity". */
function nonFiniteOf(value: unknown): number | undefined {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? Number(value) : undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function epochMsOf(value: unknown): number | undefined {
  return value instanceof Date ? value.getTime() : numberOf(value);
}

/**
 * A value as state holds it. Timestamp columns already arrive as epoch ms; a Date is turned into one all
 * the same. Vector fields arrive as arrays and are kept as they are.
 */
function scalarOf(value: unknown): OnlineScalar | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') return Number(value);
  return value as OnlineScalar;
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? String(value) : value;
}
