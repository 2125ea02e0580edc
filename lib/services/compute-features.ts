import { randomBytes } from 'node:crypto';
import { PARTITION_COLUMN, perEventFeaturesSql } from '../compute/feature-queries.js';
import { dialectFor } from '../compute/sql-dialect.js';
import { quoteIdentifier, stringLiteral } from '../compute/sql-literals.js';
import { featureSummarySql, readFeatureSummaries } from '../compute/validation-sql.js';
import type { ViewComputation } from '../compute/view-features-sql.js';
import { FstoreError } from '../errors.js';
import { splitIntoPartitionBatches } from '../stores/athena-partition-batches.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OfflineEngine } from '../stores/offline-engine.js';
import { featurePartitionPrefix, featureVersionPrefix, formatDt } from '../stores/offline-layout.js';
import {
  discardStaging,
  publishPartition,
  readJsonBeside,
  stagingPrefix,
  writeJsonBeside,
} from '../stores/partition-publisher.js';
import { evaluatePartition, type PartitionValidation } from './partition-validation.js';

export interface ComputeFeaturesOptions {
  readonly engine: OfflineEngine;
  readonly store: ObjectStore;
  readonly computation: ViewComputation;
  /** The applied version of the view; partitions are written under it. */
  readonly version: string;
  /** First instant included. */
  readonly start: Date;
  /** First instant excluded. */
  readonly end: Date;
  /** @default a new random id */
  readonly jobId?: string;
  /** Called as partitions are written, validated and published. */
  readonly onProgress?: (progress: ComputeProgress) => void;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Day partitions published at the same time. @default 8 */
  readonly publishConcurrency?: number;
}

export interface ComputeProgress {
  readonly stage: 'compute' | 'validate' | 'publish';
  readonly partitionsDone: number;
  readonly partitionsTotal: number;
  readonly rows: number;
}

export interface ComputedPartition {
  readonly dt: string;
  readonly rows: number;
  /** False when strict validation refused it; the previous generation (if any) stays. */
  readonly published: boolean;
  readonly validation: PartitionValidation;
}

export interface ComputeFeaturesResult {
  readonly view: string;
  readonly version: string;
  readonly jobId: string;
  readonly rows: number;
  readonly partitions: readonly ComputedPartition[];
}

/** The time range given to compute is empty or reversed. */
export class InvalidTimeRangeError extends FstoreError {
  override readonly name = 'InvalidTimeRangeError';
}

const DAY_MS = 86_400_000;

/**
 * Computes a view's feature rows for the events in [start, end), one row per event, into one Parquet
 * partition per UTC day under `features/<view>/version=<v>/dt=<day>/`. Rows are written to staging,
 * each day is validated, and only then published (atomically, see partition-publisher.ts). A day that
 * fails strict validation is not published; a job that fails publishes nothing more and leaves no
 * staging behind.
 */
export async function computeFeatures(options: ComputeFeaturesOptions): Promise<ComputeFeaturesResult> {
  const { engine, store, computation, version, start, end } = options;
  if (!(start.getTime() < end.getTime())) {
    throw new InvalidTimeRangeError(
      `the range ${start.toISOString()} .. ${end.toISOString()} is empty; give a start before the end`,
    );
  }
  const clock = options.clock ?? (() => new Date());
  const report = options.onProgress ?? (() => {});
  const jobId = options.jobId ?? `${computation.view.name}-${randomBytes(6).toString('hex')}`;
  const dialect = dialectFor(engine.dialect);
  const staging = stagingPrefix(jobId);
  try {
    // Athena writes at most 100 partitions per UNLOAD: larger ranges go in batches of 100 days.
    const ranges = engine.dialect === 'athena' ? dayBatches(start, end) : [{ start, end }];
    let rows = 0;
    for (const [index, range] of ranges.entries()) {
      const written = await engine.writeParquet(perEventFeaturesSql(computation, range, dialect), {
        location: store.uri(`${staging}batch-${index}/`),
        partitionBy: PARTITION_COLUMN,
      });
      rows += written.rows;
      report({ stage: 'compute', partitionsDone: 0, partitionsTotal: 0, rows });
    }

    const staged = groupByDay(await store.list(staging));
    const days = [...staged.keys()].sort();
    report({ stage: 'validate', partitionsDone: 0, partitionsTotal: days.length, rows });
    // DuckDB reads the staged files again cheaply, and must: its summary's STDDEV_SAMP fails outright on
    // values that large. Athena's summary counts them, and only then is the query read again.
    if (engine.dialect === 'duckdb') await refuseOverflowedAggregates(options, dialect, staging, days);
    const summaries = await summarize(options, dialect, staging, days);
    if (engine.dialect !== 'duckdb' && summariesHoldNonFinite(computation, summaries)) {
      await refuseOverflowedAggregates(options, dialect, staging, days);
    }

    // Days are independent partitions: publish several at once (S3 costs a few round trips per day).
    let done = 0;
    const partitions = await mapWithConcurrency(days, options.publishConcurrency ?? 8, async (dt) => {
      const summaryRow = summaries.get(dt) ?? { __rows: 0 };
      const validation = evaluatePartition(
        { view: computation.view.name, version, dt },
        readFeatureSummaries(summaryRow, computation.features),
        computation.view.validation,
        clock(),
      );
      const refused = validation.policy === 'strict' && !validation.passed;
      const prefix = featurePartitionPrefix(computation.view.name, version, dt);
      if (!refused) {
        await publishPartition(store, {
          prefix,
          files: staged.get(dt) ?? [],
          jobId,
          rowCount: validation.rows,
        });
        await writeJsonBeside(store, prefix, 'validation', validation);
      }
      report({ stage: 'publish', partitionsDone: ++done, partitionsTotal: days.length, rows });
      return { dt, rows: validation.rows, published: !refused, validation } satisfies ComputedPartition;
    });
    await recordLatestValidation(store, computation.view.name, version, jobId, partitions);
    return { view: computation.view.name, version, jobId, rows, partitions };
  } finally {
    await discardStaging(store, jobId);
  }
}

/** What `materialize` checks before it pushes a view online: the newest day's validation, whichever job wrote it. */
export interface LatestValidation extends PartitionValidation {
  readonly published: boolean;
  readonly jobId: string;
}

export const LATEST_VALIDATION = 'latest-validation';

/** Records the newest day's validation beside the version, unless a newer day is already recorded. */
async function recordLatestValidation(
  store: ObjectStore,
  view: string,
  version: string,
  jobId: string,
  partitions: readonly ComputedPartition[],
): Promise<void> {
  const newest = partitions.at(-1);
  if (!newest) return;
  const prefix = featureVersionPrefix(view, version);
  const recorded = (await readJsonBeside(store, prefix, LATEST_VALIDATION)) as LatestValidation | undefined;
  if (recorded && recorded.dt > newest.dt) return;
  const latest: LatestValidation = { ...newest.validation, published: newest.published, jobId };
  await writeJsonBeside(store, prefix, LATEST_VALIDATION, latest);
}

/** Summary statistics of every staged day in one query, read from the staged files when they are local. */
async function summarize(
  options: ComputeFeaturesOptions,
  dialect: ReturnType<typeof dialectFor>,
  staging: string,
  days: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  const { engine, computation } = options;
  if (days.length === 0) return new Map();
  const sql = featureSummarySql(
    stagedRelation(options, dialect, staging),
    computation.features,
    computation.view.validation.features,
    dialect,
    {
      groupBy: PARTITION_COLUMN,
    },
  );
  const rows = await engine.query(sql);
  return new Map(rows.map((row) => [normalizeDt(row.__group), row]));
}

/** The staged feature rows. DuckDB reads the staged files; Athena has no table over staging, so it reads the query itself. */
function stagedRelation(
  options: ComputeFeaturesOptions,
  dialect: ReturnType<typeof dialectFor>,
  staging: string,
): string {
  const local = options.engine.dialect === 'duckdb' ? options.store.localPath(staging) : undefined;
  return local
    ? `read_parquet(${stringLiteral(`${local.replace(/\/$/, '')}/**/*.parquet`)}, hive_partitioning = true)`
    : `(${perEventFeaturesSql(options.computation, { start: options.start, end: options.end }, dialect)}) AS computed`;
}

/** A window sum, mean or spread came out beyond float64's range: nothing of the job is published. */
export class AggregateOverflowComputeError extends FstoreError {
  override readonly name = 'AggregateOverflowComputeError';
}

const OVERFLOWING_FUNCTIONS = new Set(['sum', 'mean', 'variance', 'stddev']);

function overflowingAggregates(computation: ViewComputation) {
  return computation.features.filter(
    (feature) => feature.origin.kind === 'aggregation' && OVERFLOWING_FUNCTIONS.has(feature.origin.function),
  );
}

function summariesHoldNonFinite(
  computation: ViewComputation,
  summaries: ReadonlyMap<string, Record<string, unknown>>,
): boolean {
  const aggregates = overflowingAggregates(computation);
  return [...summaries.values()].some((row) =>
    readFeatureSummaries(row, aggregates).some((summary) => summary.infinities > 0),
  );
}

/**
 * Refuses the job when a window aggregate is not finite in any staged day (its sum or sum of squares
 * overflowed), naming the view, the feature and an entity where it happens, before anything is published.
 */
async function refuseOverflowedAggregates(
  options: ComputeFeaturesOptions,
  dialect: ReturnType<typeof dialectFor>,
  staging: string,
  days: readonly string[],
): Promise<void> {
  const { computation } = options;
  const aggregates = overflowingAggregates(computation);
  if (days.length === 0 || aggregates.length === 0) return;
  const keys = computation.view.entities.flatMap((entity) => Object.keys(entity.joinKeys));
  const nonFinite = (name: string) => dialect.isNonFinite(`CAST(${quoteIdentifier(name)} AS DOUBLE)`);
  const overflowed = aggregates
    .map((feature, index) => `WHEN ${nonFinite(feature.name)} THEN ${index}`)
    .join(' ');
  const [row] = await options.engine.query(
    `SELECT ${keys.map(quoteIdentifier).join(', ')}, ${quoteIdentifier(PARTITION_COLUMN)} AS "__day", CASE ${overflowed} END AS "__feature" FROM ${stagedRelation(options, dialect, staging)} WHERE ${aggregates.map((feature) => nonFinite(feature.name)).join(' OR ')} ORDER BY "__day" LIMIT 1`,
  );
  const feature = row ? aggregates[Number(row.__feature)] : undefined;
  if (!row || !feature) return;
  const column = feature.origin.kind === 'aggregation' ? feature.origin.column : '';
  const entity = keys.map((key) => `${key}=${String(row[key])}`).join(', ');
  throw new AggregateOverflowComputeError(
    `feature view "${computation.view.name}", feature "${feature.name}", entity ${entity}, day ${normalizeDt(row.__day)}: the window's sum or sum of squares of column "${column}" is beyond float64's range (about ±1.8e308), so nothing was published; scale the column down in the source (for example to thousands) or aggregate a smaller window`,
  );
}

function normalizeDt(value: unknown): string {
  return value instanceof Date ? formatDt(value) : String(value);
}

/**
 * Staged data files by the `dt=` folder they were written into. Athena's UNLOAD names its files without
 * an extension, so every file counts except metadata (`_...`) and hidden files (`....`).
 */
function groupByDay(keys: readonly string[]): Map<string, string[]> {
  const byDay = new Map<string, string[]>();
  for (const key of keys) {
    const match = /\/dt=(\d{4}-\d{2}-\d{2})\/[^/_.][^/]*$/.exec(key);
    if (!match?.[1]) continue;
    byDay.set(match[1], [...(byDay.get(match[1]) ?? []), key]);
  }
  return byDay;
}

/** [start, end) cut into ranges of at most 100 UTC days. */
function dayBatches(start: Date, end: Date): { start: Date; end: Date }[] {
  const days: string[] = [];
  for (let t = Math.floor(start.getTime() / DAY_MS) * DAY_MS; t < end.getTime(); t += DAY_MS) {
    days.push(formatDt(new Date(t)));
  }
  return splitIntoPartitionBatches(days).map((batch) => {
    const first = new Date(`${batch[0]}T00:00:00.000Z`);
    const last = new Date(new Date(`${batch[batch.length - 1]}T00:00:00.000Z`).getTime() + DAY_MS);
    return {
      start: first < start ? start : first,
      end: last > end ? end : last,
    };
  });
}

/**
 * Runs `work` over `items` with at most `limit` in flight; results keep the items' order. After a
 * failure no new item starts, and the ones in flight finish before the first error is thrown, so the
 * caller's cleanup never races a publish still running.
 */
async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
