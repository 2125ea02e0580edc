import { assertAggregatesInRange } from '../compute/online-aggregator.js';
import { expiryAfterLastEvent } from '../compute/online-state.js';
import {
  type OnlineStateSqlOptions,
  onlineStateSourceRowsSql,
  onlineStateSql,
  viewStateFromRow,
} from '../compute/online-state-sql.js';
import { dialectFor } from '../compute/sql-dialect.js';
import { AggregateOverflowError } from '../compute/tile-moments.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import { FstoreError } from '../errors.js';
import type { MaterializationWatermarks } from '../registry/materialization-watermarks.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OfflineEngine, ResultRow } from '../stores/offline-engine.js';
import { featureVersionPrefix } from '../stores/offline-layout.js';
import { encodeEntityKey, type JoinKeyValue } from '../stores/online-entity-key.js';
import type { OnlineItem, OnlineStore } from '../stores/online-store.js';
import { readJsonBeside } from '../stores/partition-publisher.js';
import { LATEST_VALIDATION, type LatestValidation } from './compute-features.js';
import type { ServedView, ServingCatalog } from './serving-catalog.js';

export interface MaterializeOptions {
  readonly engine: OfflineEngine;
  /** The offline object store, where computed partitions record their validation. */
  readonly offlineStore: ObjectStore;
  readonly onlineStore: OnlineStore;
  readonly catalog: ServingCatalog;
  /** The relation each view's source is read from (as for compute). */
  /**
   * The relation of a view's batch part: its source, less the landed rows a stream-fed view's stream part
   * holds (see `BATCH_PART_ROWS`); the offline platform's `batchPartRelation`. A source with no landed
   * stream records can pass its plain relation.
   */
  readonly sourceRelation: (view: FeatureViewDefinition) => string;
  /** Views to materialize. @default every view with `online: true` */
  readonly views?: readonly string[];
  /** Entities with a source row at or after this time are written. @default all entities */
  readonly start?: Date;
  /** The states are as of this time: events before it, latest-value rows at or before it. */
  readonly end: Date;
  /** Rows taken from the engine at a time; only this many states are held in memory. @default 2000 */
  readonly chunkRows?: number;
  /**
   * How many parts each view's entities are split into by a hash of their join keys, computed and
   * written one after another: the engine holds about 1/buckets of the view's source rows at a time,
   * and reads the source once per bucket.
   * @default 1 on Athena (each bucket is one more scan, billed by the bytes read; Athena's memory is not
   * this process's); on DuckDB one bucket per 25,000 source rows the states are computed from, at most
   * 64, which keeps DuckDB's share of memory near 100 MB up to 1,600,000 rows (a count of the rows is
   * read first, a scan of their key and time columns)
   */
  readonly buckets?: number;
  readonly onProgress?: (progress: MaterializeProgress) => void;
}

export interface MaterializeProgress {
  readonly view: string;
  readonly items: number;
  readonly written: number;
  readonly skipped: number;
}

export interface MaterializedView {
  readonly view: string;
  readonly version: string;
  /** Entities with rows from this time on were written; undefined: all entities. */
  readonly start?: Date;
  /** States computed (entities with rows in the range). */
  readonly items: number;
  readonly written: number;
  /** Items the online store already held as new or newer (a replay or an older backfill). */
  readonly skipped: number;
  /** Why the view was not materialized, when it was not. */
  readonly refused?: string;
}

export interface MaterializeResult {
  readonly start: Date | undefined;
  readonly end: Date;
  readonly views: readonly MaterializedView[];
}

/** A view that cannot be materialized as asked: unknown, not online, a reversed range, bad buckets. */
export class MaterializeError extends FstoreError {
  override readonly name = 'MaterializeError';
}

/**
 * Writes each view's online state as of `end` for every entity with rows in [start, end]: its hop tiles,
 * recent values, first/last event times and latest row, computed by the offline engine and streamed
 * in chunks, one bucket of entities after another (`buckets`). Each write is kept only if newer than
 * what the online store holds, so an older backfill never overwrites a newer value and running the same
 * materialization twice changes nothing. A view whose newest computed partition failed strict
 * validation is refused and left as it was.
 */
export async function materialize(options: MaterializeOptions): Promise<MaterializeResult> {
  const { start, end } = options;
  checkBuckets(options.buckets);
  if (start && !(start.getTime() <= end.getTime())) {
    throw new MaterializeError(
      `the range ${start.toISOString()} .. ${end.toISOString()} is reversed; give a start at or before the end`,
    );
  }
  const views = selectViews(options.catalog, options.views);
  const results: MaterializedView[] = [];
  for (const view of views) results.push(await materializeView(options, view, start));
  return { start, end, views: results };
}

export interface MaterializeIncrementalOptions extends Omit<MaterializeOptions, 'start'> {
  readonly watermarks: MaterializationWatermarks;
  /**
   * Also take the entities with events since this time when it is earlier than the watermark: rows that
   * arrived after the last run but are dated before it (a late batch export) then reach the online store.
   * The recompute job passes the start of the days it recomputed. @default only the watermark
   */
  readonly since?: Date;
}

/**
 * Materializes each view from where the last run of its version stopped (its watermark) up to `end`,
 * then moves the watermark to `end`. A version never materialized starts from the beginning.
 */
export async function materializeIncremental(
  options: MaterializeIncrementalOptions,
): Promise<MaterializeResult> {
  checkBuckets(options.buckets);
  const views = selectViews(options.catalog, options.views);
  const results: MaterializedView[] = [];
  for (const view of views) {
    const name = view.definition.name;
    const watermark = await options.watermarks.get(name, view.version);
    if (watermark && watermark.getTime() >= options.end.getTime()) {
      results.push({ view: name, version: view.version, start: watermark, items: 0, written: 0, skipped: 0 });
      continue;
    }
    const from =
      watermark && options.since && options.since.getTime() < watermark.getTime() ? options.since : watermark;
    const result = await materializeView(options, view, from);
    results.push(result);
    if (result.refused === undefined) await options.watermarks.advance(name, view.version, options.end);
  }
  return { start: undefined, end: options.end, views: results };
}

function selectViews(catalog: ServingCatalog, names: readonly string[] | undefined): ServedView[] {
  if (!names || names.length === 0) {
    return [...catalog.views.values()].filter((view) => view.definition.online);
  }
  return names.map((name) => {
    const view = catalog.views.get(name);
    if (!view) {
      const known = [...catalog.views.keys()];
      throw new MaterializeError(
        `there is no feature view "${name}" in the applied registry; known views: ${known.join(', ') || 'none (run fstore apply)'}`,
      );
    }
    if (!view.definition.online) {
      throw new MaterializeError(
        `feature view "${name}" has online: false; set online: true and apply to serve it`,
      );
    }
    return view;
  });
}

async function materializeView(
  options: MaterializeOptions,
  view: ServedView,
  start: Date | undefined,
): Promise<MaterializedView> {
  const name = view.definition.name;
  const range = start ? { start } : {};
  const refusal = await strictValidationRefusal(options.offlineStore, name, view.version);
  if (refusal)
    return { view: name, version: view.version, items: 0, written: 0, skipped: 0, refused: refusal };

  const computation = {
    view: view.definition,
    features: view.features,
    sourceRelation: options.sourceRelation(view.definition),
  };
  const dialect = dialectFor(options.engine.dialect);
  const sqlOptions: OnlineStateSqlOptions = start ? { changedFrom: start } : {};
  const buckets =
    options.buckets ??
    (options.engine.dialect === 'duckdb'
      ? bucketsFor(
          await options.engine.query(
            onlineStateSourceRowsSql(computation, view.layout, options.end, dialect, sqlOptions),
          ),
        )
      : 1);
  const chunkRows = options.chunkRows ?? 2_000;
  // The buckets' rows, one bucket after another; each bucket's query starts when the previous one ends.
  async function* stateRows(): AsyncIterable<ResultRow[]> {
    for (let index = 0; index < buckets; index++) {
      const sql = onlineStateSql(computation, view.layout, options.end, dialect, {
        ...sqlOptions,
        bucket: { count: buckets, index },
      });
      yield* options.engine.stream(sql, chunkRows);
    }
  }
  const keyColumns = [...view.joinKeys.keys()];
  const expiry = expiryAfterLastEvent(view.layout);
  let items = 0;
  let written = 0;
  let skipped = 0;
  // One chunk is written while the engine produces the next: reading and writing overlap, memory stays
  // bounded by two chunks.
  let pending: Promise<void> | undefined;
  // A failed write is held until the loop looks at it, so it never goes unhandled while the engine reads.
  let failure: { error: unknown } | undefined;
  for await (const rows of stateRows()) {
    const chunk: OnlineItem[] = rows.map((row) => {
      const { keys, state } = viewStateFromRow(row, view.layout, options.end, keyColumns);
      const entityKey = encodeEntityKey(keys as Record<string, JoinKeyValue>);
      try {
        assertAggregatesInRange(view.features, view.layout, state);
      } catch (error) {
        if (!(error instanceof AggregateOverflowError)) throw error;
        throw new MaterializeError(`feature view "${name}", entity ${entityKey}: ${error.message}`, {
          cause: error,
        });
      }
      return {
        entityKey,
        view: name,
        version: view.version,
        state,
        ...(expiry === undefined ? {} : { expiresAtMs: state.eventTs + expiry }),
      };
    });
    items += chunk.length;
    await pending;
    if (failure) throw failure.error;
    pending = options.onlineStore.write(chunk).then(
      (result) => {
        written += result.written;
        skipped += result.skipped;
        options.onProgress?.({ view: name, items, written, skipped });
      },
      (error: unknown) => {
        failure = { error };
      },
    );
  }
  await pending;
  if (failure) throw failure.error;
  return { view: name, version: view.version, ...range, items, written, skipped };
}

/**
 * Source rows per bucket by default on DuckDB. Its window and GROUP BY operators hold a bucket's rows
 * (windows do not spill; `memory_limit` makes the query fail instead), about 0.6 KB a row plus some
 * 60 MB of scan buffers. Measured on bench:materialize's 1,000,000 one-row entities, the state query
 * alone raised the process's RSS by 640 MB in 1 bucket, 170 MB in 10 and 90 MB in 32, each extra
 * bucket adding some 30 ms (one more scan of the Parquet source); the whole bench peaked at 364 MB with
 * 10 buckets and 305-309 MB with 32-40, the rest being V8's heap and what the process held before.
 */
const DUCKDB_ROWS_PER_BUCKET = 25_000;
/**
 * Each bucket reads the whole source again: past this many, a larger source gets larger buckets (more
 * memory) rather than more scans, which stay a small part of the time next to writing the items. Pass
 * `buckets` to choose otherwise.
 */
const DUCKDB_MAX_BUCKETS = 64;

/** The default bucket count on DuckDB from the count of source rows (`onlineStateSourceRowsSql`). */
function bucketsFor(rows: readonly ResultRow[]): number {
  const count = Number(rows[0]?.rows ?? 0);
  return Math.min(DUCKDB_MAX_BUCKETS, Math.max(1, Math.ceil(count / DUCKDB_ROWS_PER_BUCKET)));
}

function checkBuckets(buckets: number | undefined): void {
  if (buckets !== undefined && !(Number.isInteger(buckets) && buckets >= 1)) {
    throw new MaterializeError(`buckets must be a whole number of at least 1, got ${buckets}`);
  }
}

async function strictValidationRefusal(
  store: ObjectStore,
  view: string,
  version: string,
): Promise<string | undefined> {
  const latest = (await readJsonBeside(store, featureVersionPrefix(view, version), LATEST_VALIDATION)) as
    | LatestValidation
    | undefined;
  if (latest?.policy !== 'strict' || latest.passed) return undefined;
  const failed = latest.features.filter((feature) => !feature.passed).map((feature) => feature.feature);
  return `its newest partition (dt=${latest.dt}) failed strict validation (${failed.join(', ')}); fix the data or the checks, run fstore compute again, then materialize`;
}
