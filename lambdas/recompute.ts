import { closestName } from '../lib/definitions/closest-name.js';
import type { FeatureViewDefinition } from '../lib/definitions/feature-view.js';
import { FstoreError } from '../lib/errors.js';
import type { MaterializationWatermarks } from '../lib/registry/materialization-watermarks.js';
import { type ComputeFeaturesResult, computeFeatures } from '../lib/services/compute-features.js';
import type { DriftResult } from '../lib/services/drift.js';
import { type ViewFreshness, viewFreshness } from '../lib/services/freshness.js';
import { type MaterializedView, materializeIncremental } from '../lib/services/materialize.js';
import type { ServedView, ServingCatalog } from '../lib/services/serving-catalog.js';
import { viewDrift } from '../lib/services/view-drift.js';
import type { ObjectStore } from '../lib/stores/object-store.js';
import type { OfflineEngine } from '../lib/stores/offline-engine.js';
import type { OnlineStore } from '../lib/stores/online-store.js';
import { recomputeDependenciesFromEnvironment } from './recompute/recompute-environment.js';

/** What the EventBridge rule of a view sends: `{"view": "<feature view name>"}`. */
export interface RecomputeEvent {
  readonly view: string;
}

export interface RecomputeDependencies {
  /** The applied definitions; undefined before the first apply. */
  readonly loadCatalog: () => Promise<{ readonly catalog: ServingCatalog } | undefined>;
  /** The offline engine (Athena in AWS). */
  readonly engine: OfflineEngine;
  /** The offline store: where day partitions are published and validation results are kept. */
  readonly offlineStore: ObjectStore;
  readonly onlineStore: OnlineStore;
  /** How far each view version is materialized (the registry's table). */
  readonly watermarks: MaterializationWatermarks;
  /** The relation compute reads a view's source from. */
  readonly sourceRelation: (view: FeatureViewDefinition) => string;
  /** The relation materialization reads a view's batch part from (see `MaterializeOptions.sourceRelation`). */
  readonly batchPartRelation: (view: FeatureViewDefinition) => string;
  /** Publishes a view's freshness (a metric); called after every run that found the view, failed or not. */
  readonly publishFreshness: (freshness: ViewFreshness) => void;
  /** The relation of one published day of a view version, for drift against online. */
  readonly partitionRelation?: (view: string, version: string, dt: string) => string;
  /** Publishes a view's drift per feature (metrics); without it, or without `partitionRelation`, no drift is measured. */
  readonly publishDrift?: (view: string, drift: ReadonlyMap<string, DriftResult>) => void;
  /**
   * How many UTC days are computed again, today included: 2 computes yesterday and today, so events that
   * arrived late for yesterday are picked up. @default 2
   */
  readonly recomputeDays?: number;
  /** Where progress and failures are reported, one JSON line each. @default console */
  readonly logger?: Pick<Console, 'error' | 'info' | 'warn'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A partition strict or warning validation found fault with, and the features that failed. */
export interface ValidationFinding {
  readonly dt: string;
  readonly failedFeatures: readonly string[];
}

export type ComputeSummary =
  | {
      readonly status: 'done';
      readonly jobId: string;
      readonly rows: number;
      /** Days published. */
      readonly published: readonly string[];
      /** Days strict validation refused: not published, the previous generation stays. */
      readonly refused: readonly ValidationFinding[];
      /** Days published although checks failed (policy `warn`). */
      readonly warnings: readonly ValidationFinding[];
    }
  | { readonly status: 'skipped'; readonly reason: string };

export type MaterializeSummary =
  | {
      readonly status: 'done';
      /** Entities with rows from this instant on were written (the previous watermark); null: all of them. */
      readonly from: string | null;
      readonly items: number;
      readonly written: number;
      /** Items the online store already held as new or newer. */
      readonly unchanged: number;
    }
  | { readonly status: 'refused'; readonly reason: string }
  | { readonly status: 'skipped'; readonly reason: string };

/** What one run did; the Lambda's return value, also logged. */
export interface RecomputeSummary {
  readonly view: string;
  readonly version: string;
  /** The range computed: [start, end), ISO 8601 UTC. */
  readonly start: string;
  readonly end: string;
  readonly compute: ComputeSummary;
  readonly materialize: MaterializeSummary;
  /** The view's freshness after the run (see `viewFreshness`); null when it has none. */
  readonly freshnessSeconds: number | null;
  /**
   * PSI per feature between the newest published day and the values online now (see `viewDrift`); null
   * when not measured (no new day, an offline- or online-only view, or no publisher).
   */
  readonly drift: Readonly<Record<string, number | null>> | null;
}

export type RecomputeHandler = (event: RecomputeEvent) => Promise<RecomputeSummary>;

/** The recompute Lambda cannot run as asked: a malformed event, nothing applied, an unknown view. */
export class RecomputeError extends FstoreError {
  override readonly name = 'RecomputeError';
}

const DAY_MS = 86_400_000;

/**
 * The scheduled batch job of one feature view, run by its EventBridge rule with `{"view": "<name>"}`:
 * 1. loads the applied definitions from the registry;
 * 2. computes the view's feature rows for the last `recomputeDays` UTC days up to now (`computeFeatures`,
 *    views with `offline: true`): each day is validated and published, a day strict validation refuses is
 *    reported in the summary, not thrown;
 * 3. materializes the view online from its watermark up to the same instant (`materializeIncremental`,
 *    views with `online: true`), reading the batch part of a stream-fed view; a view whose newest partition
 *    failed strict validation is refused and reported;
 * 4. publishes the view's freshness, also when a step threw (the watermark did not move, so the metric
 *    shows it getting stale), then rethrows, so the function's error alarm fires.
 * An event without a view name, nothing applied or an unknown view throws `RecomputeError`.
 * @example
 * const handler = createRecomputeHandler(recomputeDependenciesFromEnvironment());
 * const summary = await handler({ view: 'user_transaction_stats' });
 */
export function createRecomputeHandler(deps: RecomputeDependencies): RecomputeHandler {
  const logger = deps.logger ?? console;
  const now = deps.now ?? (() => new Date());
  const recomputeDays = deps.recomputeDays ?? 2;
  if (!(Number.isSafeInteger(recomputeDays) && recomputeDays >= 1)) {
    throw new RecomputeError(`recomputeDays is ${recomputeDays}; give a whole number of days, at least 1`);
  }

  const publishFreshness = async (view: ServedView, at: Date): Promise<number | null> => {
    try {
      const freshness = await viewFreshness({
        view,
        watermarks: deps.watermarks,
        offlineStore: deps.offlineStore,
        now: at,
      });
      if (freshness === undefined) return null;
      deps.publishFreshness(freshness);
      return freshness.seconds;
    } catch (error) {
      // The run's own outcome matters more; a missing data point shows as stale on the freshness alarm.
      logger.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'freshness not published',
          view: view.definition.name,
          error: describeError(error),
        }),
      );
      return null;
    }
  };

  return async (event) => {
    const name = viewNameOf(event);
    const loaded = await deps.loadCatalog();
    if (loaded === undefined) {
      throw new RecomputeError(
        `no feature definitions have been applied to this project yet, so feature view "${name}" cannot be recomputed; run \`fstore apply\``,
      );
    }
    const view = servedView(loaded.catalog, name);
    const { definition, version } = view;
    const end = now();
    const start = new Date(Math.floor(end.getTime() / DAY_MS) * DAY_MS - (recomputeDays - 1) * DAY_MS);
    let compute: ComputeSummary;
    let materialize: MaterializeSummary;
    try {
      compute = await runCompute(deps, view, start, end);
      materialize = await runMaterialize(deps, loaded.catalog, view, start, end);
    } catch (error) {
      await publishFreshness(view, now());
      logger.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'recompute failed',
          view: name,
          version,
          start: start.toISOString(),
          end: end.toISOString(),
          error: describeError(error),
        }),
      );
      throw error;
    }
    const summary: RecomputeSummary = {
      view: definition.name,
      version,
      start: start.toISOString(),
      end: end.toISOString(),
      compute,
      materialize,
      freshnessSeconds: await publishFreshness(view, now()),
      drift: await measureDrift(deps, loaded.catalog, view, compute, logger),
    };
    const troubled =
      (compute.status === 'done' && (compute.refused.length > 0 || compute.warnings.length > 0)) ||
      materialize.status === 'refused';
    const line = { level: troubled ? 'WARN' : 'INFO', message: 'recompute finished', ...summary };
    if (troubled) logger.warn(JSON.stringify(line));
    else logger.info(JSON.stringify(line));
    return summary;
  };
}

/** Drift of the newest published day against online now, published; failures are logged, not thrown. */
async function measureDrift(
  deps: RecomputeDependencies,
  catalog: ServingCatalog,
  view: ServedView,
  compute: ComputeSummary,
  logger: Pick<Console, 'error'>,
): Promise<Readonly<Record<string, number | null>> | null> {
  const newest = compute.status === 'done' ? compute.published.at(-1) : undefined;
  if (!newest || !view.definition.online || !deps.partitionRelation || !deps.publishDrift) return null;
  try {
    const drift = await viewDrift({
      engine: deps.engine,
      catalog,
      view,
      partitionRelation: deps.partitionRelation(view.definition.name, view.version, newest),
      onlineStore: deps.onlineStore,
      ...(deps.now ? { now: () => (deps.now as () => Date)().getTime() } : {}),
    });
    deps.publishDrift(view.definition.name, drift);
    return Object.fromEntries([...drift].map(([feature, result]) => [feature, result.psi]));
  } catch (error) {
    logger.error(
      JSON.stringify({
        level: 'ERROR',
        message: 'drift not measured',
        view: view.definition.name,
        error: describeError(error),
      }),
    );
    return null;
  }
}

async function runCompute(
  deps: RecomputeDependencies,
  view: ServedView,
  start: Date,
  end: Date,
): Promise<ComputeSummary> {
  if (!view.definition.offline) {
    return { status: 'skipped', reason: 'the view has offline: false' };
  }
  // At midnight with recomputeDays 1 the range is empty: nothing of today exists yet.
  if (start.getTime() >= end.getTime()) return { status: 'skipped', reason: 'the range is empty' };
  const result = await computeFeatures({
    engine: deps.engine,
    store: deps.offlineStore,
    computation: {
      view: view.definition,
      features: view.features,
      sourceRelation: deps.sourceRelation(view.definition),
    },
    version: view.version,
    start,
    end,
    ...(deps.now === undefined ? {} : { clock: deps.now }),
  });
  return computeSummary(result);
}

function computeSummary(result: ComputeFeaturesResult): ComputeSummary {
  const finding = (partition: ComputeFeaturesResult['partitions'][number]): ValidationFinding => ({
    dt: partition.dt,
    failedFeatures: partition.validation.features
      .filter((feature) => !feature.passed)
      .map((feature) => feature.feature),
  });
  return {
    status: 'done',
    jobId: result.jobId,
    rows: result.rows,
    published: result.partitions.filter((p) => p.published).map((p) => p.dt),
    refused: result.partitions.filter((p) => !p.published).map(finding),
    warnings: result.partitions.filter((p) => p.published && !p.validation.passed).map(finding),
  };
}

async function runMaterialize(
  deps: RecomputeDependencies,
  catalog: ServingCatalog,
  view: ServedView,
  since: Date,
  end: Date,
): Promise<MaterializeSummary> {
  if (!view.definition.online) {
    return { status: 'skipped', reason: 'the view has online: false' };
  }
  const result = await materializeIncremental({
    engine: deps.engine,
    offlineStore: deps.offlineStore,
    onlineStore: deps.onlineStore,
    catalog,
    sourceRelation: deps.batchPartRelation,
    views: [view.definition.name],
    end,
    watermarks: deps.watermarks,
    // Rows dated inside the recomputed days but landed after the last run reach online too.
    since,
  });
  const materialized = result.views[0] as MaterializedView;
  if (materialized.refused !== undefined) return { status: 'refused', reason: materialized.refused };
  return {
    status: 'done',
    from: materialized.start?.toISOString() ?? null,
    items: materialized.items,
    written: materialized.written,
    unchanged: materialized.skipped,
  };
}

/** The view name of an EventBridge rule's input, or a RecomputeError saying what the input should be. */
export function viewNameOf(event: unknown): string {
  const view =
    typeof event === 'object' && event !== null && !Array.isArray(event)
      ? (event as Record<string, unknown>).view
      : undefined;
  if (typeof view !== 'string' || view === '') {
    const shown = JSON.stringify(event) ?? String(event);
    throw new RecomputeError(
      `the event ${shown.length > 200 ? `${shown.slice(0, 200)}...` : shown} names no feature view; the recompute Lambda takes {"view": "<feature view name>"}, the input the stack's EventBridge rules send`,
    );
  }
  return view;
}

function servedView(catalog: ServingCatalog, name: string): ServedView {
  const view = catalog.views.get(name);
  if (view) return view;
  const names = [...catalog.views.keys()];
  const suggestion = closestName(name, names);
  throw new RecomputeError(
    `there is no feature view "${name}" in the applied registry${suggestion ? `; did you mean "${suggestion}"?` : `; the applied views are ${names.join(', ') || 'none'}`} (apply the definitions, then deploy the stack again so its schedules match them)`,
  );
}

function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}

let lambdaHandler: RecomputeHandler | undefined;

/**
 * The Lambda entry point: clients are built from the environment on the first invocation (see
 * `recomputeDependenciesFromEnvironment`) and reused by later ones.
 */
export const handler: RecomputeHandler = (event) => {
  lambdaHandler ??= createRecomputeHandler(recomputeDependenciesFromEnvironment());
  return lambdaHandler(event);
};
