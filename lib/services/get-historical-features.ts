import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import {
  type HistoricalOnDemandRequest,
  type HistoricalViewRequest,
  historicalFeaturesSql,
} from '../compute/feature-queries.js';
import { DUCKDB_DIALECT } from '../compute/sql-dialect.js';
import { quoteIdentifier as q, stringLiteral, timestampLiteral } from '../compute/sql-literals.js';
import { expressionReferences } from '../definitions/expression.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';
import type { DuckDBEngine } from '../stores/duckdb-engine.js';
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
  const spineColumns = await loadSpine(engine, options.spine);
  const timestampColumn = await chooseTimestampColumn(engine, spineColumns, options);

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

/** The requested features as (view, feature) pairs, whole views expanded; unknown names are reported together. */
/** Loads the spine into a table with `__row`, the input order; returns its columns. */
async function loadSpine(engine: DuckDBEngine, spine: string | readonly SpineRow[]): Promise<string[]> {
  if (typeof spine === 'string') {
    const path = resolve(spine);
    if (!existsSync(path)) throw new SpineError(`spine file ${path} does not exist`);
    const extension = extname(path).toLowerCase();
    const reader =
      extension === '.csv'
        ? `read_csv(${stringLiteral(path)}, header = true)`
        : extension === '.parquet'
          ? `read_parquet(${stringLiteral(path)})`
          : undefined;
    if (!reader)
      throw new SpineError(`spine file ${path} is neither .csv nor .parquet; convert it to one of them`);
    // A table keeps insertion order in its rowid, which becomes the output order.
    await engine.run(`CREATE OR REPLACE TEMP TABLE "__spine_input" AS SELECT * FROM ${reader}`);
  } else {
    await loadSpineRows(engine, spine);
  }
  const columns = (await engine.query('DESCRIBE SELECT * FROM "__spine_input"')).map((row) =>
    String(row.column_name),
  );
  if (columns.includes('__row'))
    throw new SpineError('the spine has a column named __row, which fstore reserves; rename it');
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE ${q(SPINE)} AS SELECT *, rowid AS "__row" FROM "__spine_input"`,
  );
  return columns;
}

async function loadSpineRows(engine: DuckDBEngine, rows: readonly SpineRow[]): Promise<void> {
  if (rows.length === 0) throw new SpineError('the spine has no rows');
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const types = columns.map((column) => {
    const values = rows.map((row) => row[column]).filter((value) => value !== null && value !== undefined);
    if (values.every((value) => value instanceof Date)) return 'TIMESTAMP';
    if (values.every((value) => typeof value === 'boolean')) return 'BOOLEAN';
    if (values.every((value) => typeof value === 'number' && Number.isInteger(value))) return 'BIGINT';
    if (values.every((value) => typeof value === 'number')) return 'DOUBLE';
    return 'VARCHAR';
  });
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE "__spine_input" (${columns.map((column, index) => `${q(column)} ${types[index]}`).join(', ')})`,
  );
  for (let start = 0; start < rows.length; start += 1000) {
    const values = rows
      .slice(start, start + 1000)
      .map((row) => `(${columns.map((column) => literalOf(row[column] ?? null)).join(', ')})`)
      .join(', ');
    await engine.run(`INSERT INTO "__spine_input" VALUES ${values}`);
  }
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

async function chooseTimestampColumn(
  engine: DuckDBEngine,
  columns: readonly string[],
  options: HistoricalFeaturesOptions,
): Promise<string> {
  if (options.timestampColumn !== undefined) {
    if (!columns.includes(options.timestampColumn)) {
      throw new SpineError(
        `the spine has no timestamp column "${options.timestampColumn}"; its columns are ${columns.join(', ')}`,
      );
    }
    return options.timestampColumn;
  }
  if (columns.includes('event_timestamp')) return 'event_timestamp';
  const described = await engine.query(`DESCRIBE SELECT * FROM ${q(SPINE)}`);
  const timestamps = described
    .filter((row) => /^(TIMESTAMP|DATE)/.test(String(row.column_type)) && row.column_name !== '__row')
    .map((row) => String(row.column_name));
  if (timestamps.length === 1 && timestamps[0]) return timestamps[0];
  throw new SpineError(
    timestamps.length === 0
      ? `the spine has no timestamp column; add an event_timestamp column or name one with --timestamp-column (columns: ${columns.join(', ')})`
      : `the spine has several timestamp columns (${timestamps.join(', ')}); name the one to join on with --timestamp-column`,
  );
}
