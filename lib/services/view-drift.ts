import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OfflineEngine } from '../stores/offline-engine.js';
import type { OnlineStore } from '../stores/online-store.js';
import { type DriftResult, featureDrift } from './drift.js';
import { FSTORE_METRICS_NAMESPACE } from './freshness.js';
import { getOnlineFeatures } from './get-online-features.js';
import type { ServedView, ServingCatalog } from './serving-catalog.js';

/** The metric each feature's drift is published as (dimensions: service, view, feature). */
export const FEATURE_DRIFT_METRIC = 'FeatureDriftPsi';

export interface ViewDriftOptions {
  readonly engine: OfflineEngine;
  readonly catalog: ServingCatalog;
  readonly view: ServedView;
  /** The relation of one published day of the view version (the offline rows to compare against). */
  readonly partitionRelation: string;
  readonly onlineStore: OnlineStore;
  /** Rows of the day compared. @default 1000 */
  readonly sampleRows?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Training-serving skew of a view, feature by feature: the Population Stability Index between the values
 * of its newest published day (what a model trained on recent data sees) and what the online store
 * serves now for the same entities: up to `sampleRows` rows of the day (one per event), each against the
 * value its entity has online now. Features that cannot be compared (vectors) are left out.
 */
export async function viewDrift(options: ViewDriftOptions): Promise<Map<string, DriftResult>> {
  const { view } = options;
  const keys = [...view.joinKeys.keys()];
  const rows = await options.engine.query(
    `SELECT * FROM ${options.partitionRelation} LIMIT ${Math.max(1, Math.floor(options.sampleRows ?? 1_000))}`,
  );
  const drift = new Map<string, DriftResult>();
  if (rows.length === 0) return drift;
  const entities = Object.fromEntries(
    keys.map((key) => [key, rows.map((row) => normalize(row[key]))]),
  ) as Record<string, (string | number)[]>;
  const online = await getOnlineFeatures({
    catalog: options.catalog,
    store: options.onlineStore,
    ...(options.now ? { now: options.now } : {}),
    limits: { maxEntityRows: rows.length, maxFeatures: Math.max(500, view.features.length) },
    request: { features: [`${view.definition.name}:*`], entities },
  });
  for (const feature of view.features) {
    const column = online.metadata.feature_names.indexOf(feature.name);
    if (column < 0) continue;
    const result = featureDrift(
      feature.dtype,
      rows.map((row) => normalize(row[feature.name])),
      online.results[column]?.values ?? [],
    );
    if (result) drift.set(feature.name, result);
  }
  return drift;
}

/** Engines return bigints for int64 and Dates for timestamps; the comparison wants plain numbers. */
function normalize(value: unknown): string | number {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  return value as string | number;
}

/**
 * Publishes drift as CloudWatch metrics through Powertools Metrics (EMF on stdout, as for freshness):
 * `FeatureDriftPsi` per feature, dimensions `service` (the project), `view`, `feature`.
 */
export class DriftMetrics {
  private readonly metrics: Metrics;

  constructor(options: { readonly project: string; readonly metrics?: Metrics }) {
    this.metrics =
      options.metrics ?? new Metrics({ namespace: FSTORE_METRICS_NAMESPACE, serviceName: options.project });
  }

  publish(view: string, drift: ReadonlyMap<string, DriftResult>): void {
    for (const [feature, result] of drift) {
      if (result.psi === null) continue;
      this.metrics.addDimensions({ view, feature });
      this.metrics.addMetric(FEATURE_DRIFT_METRIC, MetricUnit.NoUnit, result.psi);
      this.metrics.publishStoredMetrics();
    }
  }
}
