import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import {
  type HistoricalOnDemandRequest,
  type HistoricalViewRequest,
  historicalFeaturesSql,
} from '../compute/feature-queries.js';
import { parseEventTime, TIME_FORMS } from '../compute/source-values.js';
import { DUCKDB_DIALECT } from '../compute/sql-dialect.js';
import { quoteIdentifier as q, stringLiteral, timestampLiteral } from '../compute/sql-literals.js';
import { expressionReferences } from '../definitions/expression.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';
import type { DuckDBEngine } from '../stores/duckdb-engine.js';
import { storedTimeSql, textTimeSql } from '../stores/duckdb-time.js';
import {
  FeatureNameCollisionError,
  featureNameCollisions,
  resolveRequestedFeatures,
  UnknownFeatureError,
} from './requested-features.js';

export { UnknownFeatureError };

/** A spine that cannot be joined: missing file, timestamp column or join key. */
export class SpineError extends FstoreError {
  override readonly name = 'SpineError';
}

export type SpineRow = Record<string, string | number | boolean | Date | null>;

export interface HistoricalFeaturesOptions {
  readonly engine: DuckDBEngine;
  readonly repo: ValidatedFeatureRepo;
  /** The SQL relation each feature view's source is read from. */
  readonly sourceRelation: (view: FeatureViewDefinition) => string;
  /** A CSV or Parquet file, or rows. */
  readonly spine: string | readonly SpineRow[];
  /** `view:feature` references; give this or `service`. */
  readonly features?: readonly string[];
  /** A feature service's name; give this or `features`. */
  readonly service?: string;
  /** Name features `view__feature`. @default false */
  readonly fullFeatureNames?: boolean;
  /** The spine's time column. @default `event_timestamp`, else the spine's only timestamp column */
  readonly timestampColumn?: string;
  /** Parquet file to write the training set to. */
  readonly out: string;
  /** Rows returned for a look. @default 10 */
  readonly previewRows?: number;
}

export interface HistoricalFeaturesResult {
  readonly out: string;
  readonly rows: number;
  readonly columns: readonly string[];
  readonly preview: readonly Record<string, unknown>[];
}

const SPINE = '__spine';

/**
 * Builds a point-in-time-correct training set (DESIGN.md section 3): one output row per spine row, in
 * spine order, every spine column kept, each feature as of that row's time, null where nothing matches.
 * Features are computed from the sources at each row's time, so no value from after that time leaks in.
 */
export async function getHistoricalFeatures(
  options: HistoricalFeaturesOptions,
): Promise<HistoricalFeaturesResult> {
  const { engine, repo } = options;
  const requested = resolveRequestedFeatures(repo, options);
  const collisions = options.fullFeatureNames ? [] : featureNameCollisions(requested);
  if (collisions.length > 0) {
    throw new FeatureNameCollisionError(
      `feature names collide: ${collisions.map(([name, views]) => `${name} (${views.join(', ')})`).join('; ')}; ask for full feature names (--full-feature-names) to name them view__feature`,
    );
  }
  const { columns: spineColumns, timestampColumn } = await loadSpine(engine, options.spine, options);

  const byView = new Map<string, Set<string>>();
  for (const { view, feature } of requested) byView.set(view, (byView.get(view) ?? new Set()).add(feature));
  const viewRequests: HistoricalViewRequest[] = [];
  const onDemandRequests: HistoricalOnDemandRequest[] = [];
  const neededViews = new Set<string>();
  for (const [viewName, names] of byView) {
    const onDemand = repo.repo.onDemandFeatureViews.find((v) => v.name === viewName);
    if (!onDemand) {
      neededViews.add(viewName);
      continue;
    }
    for (const name of names) {
      const expression = onDemand.expressions[name];
      if (!expression) continue;
      const references = expressionReferences(expression);
      for (const field of references.requestFields) {
        if (!spineColumns.includes(field)) {
          throw new SpineError(
            `on-demand feature ${viewName}:${name} needs request field "${field}", which the spine lacks; add a "${field}" column to the spine`,
          );
        }
      }
      for (const reference of references.features) if (reference.view) neededViews.add(reference.view);
    }
    onDemandRequests.push({ name: viewName, expressions: onDemand.expressions, features: [...names] });
  }
  for (const viewName of neededViews) {
    const view = repo.repo.featureViews.find((v) => v.name === viewName);
    if (!view) {
      throw new UnknownFeatureError(
        `on-demand features read view "${viewName}", which is not a feature view`,
      );
    }
    for (const entity of view.entities) {
      for (const key of Object.keys(entity.joinKeys)) {
        if (!spineColumns.includes(key)) {
          throw new SpineError(
            `the spine has no join key column "${key}" (entity "${entity.name}", needed by view "${view.name}"); its columns are ${spineColumns.join(', ')}`,
          );
        }
      }
    }
    viewRequests.push({
      computation: {
        view,
        features: repo.features.get(view.name) ?? [],
        sourceRelation: options.sourceRelation(view),
      },
      features: [...(byView.get(view.name) ?? [])],
    });
  }

  const sql = historicalFeaturesSql(
    {
      spineRelation: q(SPINE),
      spineColumns,
      timestampColumn,
      views: viewRequests,
      onDemand: onDemandRequests,
      fullFeatureNames: options.fullFeatureNames ?? false,
    },
    DUCKDB_DIALECT,
  );
  const out = resolve(options.out);
  const written = await engine.writeParquet(sql, { location: out, singleFile: true });
  const preview = await engine.query(
    `SELECT * FROM read_parquet(${stringLiteral(out)}) LIMIT ${Math.max(0, Math.floor(options.previewRows ?? 10))}`,
  );
  const described = await engine.query(`DESCRIBE SELECT * FROM read_parquet(${stringLiteral(out)})`);
  return { out, rows: written.rows, columns: described.map((row) => String(row.column_name)), preview };
}

/** How a spine's types look before its times are read: DuckDB's column types by name, in order. */
type SpineTypes = ReadonlyMap<string, string>;

const TIME_TYPE = /^(TIMESTAMP|DATE)/;

/**
 * Loads the spine into a table with `__row`, the input order, and its times read by the one rule for
 * times (DESIGN.md section 3, as `parseEventTime`): the timestamp column and every other column typed as
 * a timestamp become UTC instants at millisecond precision, so an offset is honoured. CSV times are read
 * as text and parsed (DuckDB's type detection would drop an offset from a column it typed TIMESTAMP);
 * Parquet times are read as stored, text ones parsed; rows take Dates, text and epoch milliseconds.
 * Returns the columns and the timestamp column.
 */
async function loadSpine(
  engine: DuckDBEngine,
  spine: string | readonly SpineRow[],
  options: HistoricalFeaturesOptions,
): Promise<{ columns: string[]; timestampColumn: string }> {
  if (typeof spine !== 'string') return loadSpineRows(engine, spine, options);
  const path = resolve(spine);
  if (!existsSync(path)) throw new SpineError(`spine file ${path} does not exist`);
  const extension = extname(path).toLowerCase();
  if (extension !== '.csv' && extension !== '.parquet')
    throw new SpineError(`spine file ${path} is neither .csv nor .parquet; convert it to one of them`);
  const csv = extension === '.csv';
  const sniffed = csv
    ? `read_csv(${stringLiteral(path)}, header = true)`
    : `read_parquet(${stringLiteral(path)})`;
  const types: SpineTypes = new Map(
    (await engine.query(`DESCRIBE SELECT * FROM ${sniffed}`)).map((row) => [
      String(row.column_name),
      String(row.column_type),
    ]),
  );
  const columns = [...types.keys()];
  checkReservedColumn(columns);
  const timestampColumn = chooseTimestampColumn(types, options);
  const timeColumns = columns.filter(
    (column) => column === timestampColumn || /^TIMESTAMP/.test(types.get(column) ?? ''),
  );
  const reader = csv
    ? `read_csv(${stringLiteral(path)}, header = true, types = {${timeColumns.map((column) => `${stringLiteral(column)}: 'VARCHAR'`).join(', ')}})`
    : sniffed;
  // A table keeps insertion order in its rowid, which becomes the output order.
  await engine.run(`CREATE OR REPLACE TEMP TABLE "__spine_input" AS SELECT * FROM ${reader}`);
  const replaced: string[] = [];
  for (const column of timeColumns) {
    const type = csv ? 'VARCHAR' : (types.get(column) ?? '');
    if (type === 'VARCHAR') {
      await checkSpineTimes(engine, column, (rowid) =>
        csv ? `${path} line ${rowid + 2}` : `${path} row ${rowid + 1}`,
      );
      replaced.push(`${textTimeSql(q(column))} AS ${q(column)}`);
    } else if (TIME_TYPE.test(type)) {
      replaced.push(`${storedTimeSql(q(column))} AS ${q(column)}`);
    } else {
      throw new SpineError(
        `the spine's timestamp column "${column}" in ${path} is ${type}, not a time; store times as Parquet timestamps or as ${TIME_FORMS}`,
      );
    }
  }
  const select = replaced.length > 0 ? `* REPLACE (${replaced.join(', ')})` : '*';
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE ${q(SPINE)} AS SELECT ${select}, rowid AS "__row" FROM "__spine_input"`,
  );
  return { columns, timestampColumn };
}

function checkReservedColumn(columns: readonly string[]): void {
  if (columns.includes('__row'))
    throw new SpineError('the spine has a column named __row, which fstore reserves; rename it');
}

/** Reports the first text value of a loaded spine column that is not a time, placed by `where(rowid)`. */
async function checkSpineTimes(
  engine: DuckDBEngine,
  column: string,
  where: (rowid: number) => string,
): Promise<void> {
  const [bad] = await engine.query(
    `SELECT rowid AS "rowid", ${q(column)} AS "value" FROM "__spine_input" WHERE ${q(column)} IS NOT NULL AND ${textTimeSql(q(column))} IS NULL ORDER BY rowid LIMIT 1`,
  );
  if (bad) {
    throw new SpineError(
      `the spine's column "${column}" in ${where(Number(bad.rowid))} has "${String(bad.value)}", which is not a time; write ${TIME_FORMS}`,
    );
  }
}

/**
 * Loads spine rows. Timestamp column values are Dates, text in the one grammar of times or epoch
 * milliseconds (as a push takes them); other columns are typed by their values (all Dates: TIMESTAMP).
 */
async function loadSpineRows(
  engine: DuckDBEngine,
  rows: readonly SpineRow[],
  options: HistoricalFeaturesOptions,
): Promise<{ columns: string[]; timestampColumn: string }> {
  if (rows.length === 0) throw new SpineError('the spine has no rows');
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  checkReservedColumn(columns);
  const types: SpineTypes = new Map(
    columns.map((column) => {
      const values = rows.map((row) => row[column]).filter((value) => value !== null && value !== undefined);
      if (values.every((value) => value instanceof Date)) return [column, 'TIMESTAMP'];
      if (values.every((value) => typeof value === 'boolean')) return [column, 'BOOLEAN'];
      if (values.every((value) => typeof value === 'number' && Number.isInteger(value)))
        return [column, 'BIGINT'];
      if (values.every((value) => typeof value === 'number')) return [column, 'DOUBLE'];
      return [column, 'VARCHAR'];
    }),
  );
  const timestampColumn = chooseTimestampColumn(types, options);
  const typeOf = (column: string) =>
    column === timestampColumn ? 'TIMESTAMP' : (types.get(column) ?? 'VARCHAR');
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE "__spine_input" (${columns.map((column) => `${q(column)} ${typeOf(column)}`).join(', ')})`,
  );
  for (let start = 0; start < rows.length; start += 1000) {
    const values = rows
      .slice(start, start + 1000)
      .map(
        (row, offset) =>
          `(${columns
            .map((column) =>
              column === timestampColumn
                ? spineTimeLiteral(column, start + offset, row[column] ?? null)
                : literalOf(row[column] ?? null),
            )
            .join(', ')})`,
      )
      .join(', ');
    await engine.run(`INSERT INTO "__spine_input" VALUES ${values}`);
  }
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE ${q(SPINE)} AS SELECT *, rowid AS "__row" FROM "__spine_input"`,
  );
  return { columns, timestampColumn };
}

/** A row spine's time as a SQL TIMESTAMP: a Date, text read by `parseEventTime`, or epoch milliseconds. */
function spineTimeLiteral(column: string, index: number, value: SpineRow[string]): string {
  if (value === null) return 'NULL';
  const ms = value instanceof Date ? value.getTime() : parseEventTime(value);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new SpineError(
      `the spine's column "${column}" in spine[${index}] is ${value instanceof Date ? 'an invalid Date' : JSON.stringify(value)}, which is not a time; give a Date, epoch milliseconds or ${TIME_FORMS}`,
    );
  }
  return timestampLiteral(new Date(ms));
}

function literalOf(value: string | number | boolean | Date | null): string {
  if (value === null) return 'NULL';
  if (value instanceof Date) return timestampLiteral(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'NULL';
    return Number.isInteger(value) ? String(value) : value.toExponential();
  }
  return stringLiteral(value);
}

/** The spine's time column: the one named, else `event_timestamp`, else its only column typed as a time. */
function chooseTimestampColumn(types: SpineTypes, options: HistoricalFeaturesOptions): string {
  const columns = [...types.keys()];
  if (options.timestampColumn !== undefined) {
    if (!columns.includes(options.timestampColumn)) {
      throw new SpineError(
        `the spine has no timestamp column "${options.timestampColumn}"; its columns are ${columns.join(', ')}`,
      );
    }
    return options.timestampColumn;
  }
  if (columns.includes('event_timestamp')) return 'event_timestamp';
  const timestamps = columns.filter((column) => TIME_TYPE.test(types.get(column) ?? ''));
  if (timestamps.length === 1 && timestamps[0]) return timestamps[0];
  throw new SpineError(
    timestamps.length === 0
      ? `the spine has no timestamp column; add an event_timestamp column or name one with --timestamp-column (columns: ${columns.join(', ')})`
      : `the spine has several timestamp columns (${timestamps.join(', ')}); name the one to join on with --timestamp-column`,
  );
}
