import type { FeatureType } from '../definitions/value-type.js';
import type { SqlDialectName } from '../stores/offline-engine.js';

/**
 * What differs between DuckDB and Athena (Trino) in the SQL the compiler writes. Everything else
 * (window frames, CASE, COALESCE, array_agg with ORDER BY, VALUES lists, `CAST(ROW(...) AS ROW(name
 * type, ...))`) is written once for both.
 * Times travel through the queries as whole milliseconds since the epoch (BIGINT), so window
 * arithmetic is integer arithmetic and identical in both engines.
 */
export interface SqlDialect {
  readonly name: SqlDialectName;
  /** Milliseconds since the epoch of a TIMESTAMP expression, truncated, as BIGINT. */
  epochMs(timestampSql: string): string;
  /** floor(a / b) for BIGINT a and a positive BIGINT constant b, as BIGINT; exact for negative a too. */
  floorDiv(numeratorSql: string, denominator: number): string;
  /** `YYYY-MM-DD` of a TIMESTAMP expression (UTC), for `dt` partitions. */
  dateString(timestampSql: string): string;
  /** An empty array of the given list type (`list<float64>`). */
  emptyArray(listType: FeatureType): string;
  /** The SQL type name for a feature type. */
  sqlType(type: FeatureType): string;
  /** Natural logarithm. */
  ln(sql: string): string;
  /** True when a DOUBLE is +/- infinity or NaN (an overflowed sum, or a NaN in the source). */
  isNonFinite(sql: string): string;
  /**
   * Whether RANGE frame offsets may differ per row. DuckDB's may, so a sawtooth window is one frame;
   * Trino's must be constant, so windows are assembled from hop tiles.
   */
  readonly variableRangeFrames: boolean;
  /** An array in reverse order. */
  reverseArray(sql: string): string;
  /**
   * A bucket number in [0, count) computed from a hash of the given non-null key expressions (BIGINT or
   * VARCHAR), the same for the same keys in every query, so filtering by each bucket in turn reads every
   * entity exactly once.
   */
  bucketOf(keySqls: readonly string[], count: number): string;
}

const DUCKDB_TYPES: Record<string, string> = {
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

const TRINO_TYPES: Record<string, string> = {
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP(3)',
};

function elementOf(type: FeatureType): FeatureType {
  const list = /^list<(.+)>$/.exec(type);
  return (list?.[1] ?? type) as FeatureType;
}

export const DUCKDB_DIALECT: SqlDialect = {
  name: 'duckdb',
  epochMs: (sql) => `epoch_ms(${sql})`,
  floorDiv: (sql, denominator) => `CAST(floor(${sql} / ${denominator}) AS BIGINT)`,
  dateString: (sql) => `strftime(${sql}, '%Y-%m-%d')`,
  emptyArray: (type) => `CAST([] AS ${duckdbType(type)})`,
  sqlType: duckdbType,
  ln: (sql) => `ln(${sql})`,
  isNonFinite: (sql) => `NOT isfinite(${sql})`,
  variableRangeFrames: true,
  reverseArray: (sql) => `list_reverse(${sql})`,
  // hash() takes any number of arguments and returns a UBIGINT, so the remainder is never negative.
  bucketOf: (keys, count) => `hash(${keys.join(', ')}) % ${count}`,
};

function duckdbType(type: FeatureType): string {
  if (type.startsWith('list<')) return `${duckdbType(elementOf(type))}[]`;
  if (type.startsWith('float32[')) return 'FLOAT[]';
  return DUCKDB_TYPES[type] ?? 'VARCHAR';
}

export const ATHENA_DIALECT: SqlDialect = {
  name: 'athena',
  epochMs: (sql) => `date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00.000', ${sql})`,
  floorDiv: (sql, denominator) => `CAST(floor(CAST(${sql} AS DOUBLE) / ${denominator}) AS BIGINT)`,
  dateString: (sql) => `date_format(${sql}, '%Y-%m-%d')`,
  // Typed by coalesce's other argument; a bare ARRAY[] is array(unknown), which coerces to any array.
  emptyArray: () => 'ARRAY[]',
  sqlType: trinoType,
  ln: (sql) => `ln(${sql})`,
  isNonFinite: (sql) => `NOT is_finite(${sql})`,
  variableRangeFrames: false,
  reverseArray: (sql) => `reverse(${sql})`,
  bucketOf: (keys, count) => {
    // Trino hashes bytes: the keys as text, joined by a separator (a collision only unbalances buckets).
    // from_big_endian_64 gives a signed BIGINT and % keeps the dividend's sign, hence the second % (abs
    // would overflow on the smallest BIGINT).
    const text = keys.map((key) => `CAST(${key} AS VARCHAR)`).join(` || '|' || `);
    return `((from_big_endian_64(xxhash64(to_utf8(${text}))) % ${count}) + ${count}) % ${count}`;
  },
};

function trinoType(type: FeatureType): string {
  if (type.startsWith('list<')) return `ARRAY(${trinoType(elementOf(type))})`;
  if (type.startsWith('float32[')) return 'ARRAY(REAL)';
  return TRINO_TYPES[type] ?? 'VARCHAR';
}

export function dialectFor(name: SqlDialectName): SqlDialect {
  return name === 'duckdb' ? DUCKDB_DIALECT : ATHENA_DIALECT;
}
