/**
 * The data of a feature report: per feature view, what it is (description, owner, version), how fresh
 * it is, whether its latest partition passed validation, and per feature the distribution of its
 * values, its null rate, its latest validation checks and its drift between the training set and the
 * values served online now. Plain JSON (no Dates, no bigints), so it can be written to a file, embedded
 * in a page (`renderReportHtml` in lib/cli/report-html.ts) or compared in a test.
 *
 * Where each part comes from:
 * - definitions, versions and each feature's computation: the validated repo (or applied registry);
 * - histograms and null rates: the view version's published partitions in the offline store (only the
 *   files their manifests list), read with DuckDB; for views with none (on-demand views, views not
 *   computed yet) the training set's values;
 * - validation: `_validation.json` beside each published partition and the version's
 *   `_latest-validation.json` (which also records a newest day that strict validation refused);
 * - drift: the training set's values (expected) against the online response's (actual), see drift.ts;
 * - freshness: given by the caller (`viewFreshness` in freshness.ts).
 */
import { numberLiteral, quoteIdentifier as q, stringLiteral } from '../compute/sql-literals.js';
import { closestName } from '../definitions/closest-name.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { OnDemandFeatureViewDefinition } from '../definitions/on-demand-feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';
import { toRegistryObjects } from '../registry/registry-objects.js';
import type { AppliedRepo } from '../registry/repo-from-registry.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OfflineEngine } from '../stores/offline-engine.js';
import { featurePartitionPrefix, featureVersionPrefix, parsePartitionKey } from '../stores/offline-layout.js';
import {
  listPublishedPartitions,
  readJsonBeside,
  readPartitionFiles,
} from '../stores/partition-publisher.js';
import { LATEST_VALIDATION, type LatestValidation } from './compute-features.js';
import {
  DEFAULT_PSI_EPSILON,
  DEFAULT_TOP_CATEGORIES,
  type DriftOptions,
  type DriftResult,
  featureDrift,
  formatInstant,
  formatNumber,
  listLength,
  PSI_MODERATE,
  PSI_SIGNIFICANT,
  toCategory,
  toEpochMs,
  toNumber,
  valueKind,
} from './drift.js';
import type { ViewFreshness } from './freshness.js';
import type { OnlineFeaturesResponse } from './get-online-features.js';
import type { CheckResult, PartitionValidation } from './partition-validation.js';
import { resolveRequestedFeatures } from './requested-features.js';
import type { ServingCatalog } from './serving-catalog.js';

/** The layout of FeatureReport; a change that breaks readers bumps it. */
export const FEATURE_REPORT_FORMAT = 1;
/** Equal-width bins of a numeric histogram. */
export const DEFAULT_HISTOGRAM_BINS = 20;

/** The whole report. */
export interface FeatureReport {
  readonly formatVersion: typeof FEATURE_REPORT_FORMAT;
  readonly title: string;
  /** ISO 8601 UTC: the `now` the report was built for. */
  readonly generatedAt: string;
  /** The training set the drift is measured from; null when none was given. */
  readonly training: { readonly rows: number; readonly source: string } | null;
  /** The online response the drift is measured to; null when none was given. */
  readonly online: { readonly rows: number; readonly features: number } | null;
  /** The thresholds the drift levels use. */
  readonly psi: { readonly moderate: number; readonly significant: number; readonly epsilon: number };
  readonly views: ViewReport[];
}

export interface ViewReport {
  readonly name: string;
  readonly kind: 'feature_view' | 'on_demand_feature_view';
  readonly description: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The version whose partitions were read; null when unknown. */
  readonly version: string | null;
  readonly entities: string[];
  readonly joinKeys: string[];
  /** The source the view reads; null for on-demand views. */
  readonly source: string | null;
  readonly ttl: string | null;
  /** Materialized online / computed offline (both false for on-demand views, which store nothing). */
  readonly online: boolean;
  readonly offline: boolean;
  readonly freshness: FreshnessReport | null;
  /** The published partitions read; null when none were looked for (no store, or an on-demand view). */
  readonly partitions: PartitionsReport | null;
  /** The newest validation result; null when there is none. */
  readonly validation: ViewValidationReport | null;
  readonly features: FeatureEntry[];
  /** Things the reader should know: files that could not be read, parts skipped. */
  readonly notes: string[];
}

export interface FreshnessReport {
  /** `online`: through the materialization watermark; `offline`: through the newest partition. */
  readonly basis: 'online' | 'offline';
  /** ISO 8601 UTC: the view's data takes every event before this instant into account. */
  readonly through: string;
  /** Seconds from `through` to the freshness' now. */
  readonly seconds: number;
}

export interface PartitionsReport {
  readonly count: number;
  /** `YYYY-MM-DD`; null when there are none. */
  readonly firstDt: string | null;
  readonly lastDt: string | null;
  /** Rows in the partitions read (the histograms' population). */
  readonly rows: number;
}

export interface ViewValidationReport {
  /** The day partition validated (the newest one). */
  readonly dt: string;
  readonly policy: 'strict' | 'warn';
  readonly passed: boolean;
  /** False when strict validation refused the day (the previous generation, if any, is served); null when unknown. */
  readonly published: boolean | null;
  /** ISO 8601 UTC. */
  readonly validatedAt: string;
  readonly rows: number;
  /** Over the published partitions read: how many carry a result, and how many of those failed. */
  readonly partitionsChecked: number;
  readonly partitionsFailed: number;
  /** Days whose result failed, newest first (at most 20). */
  readonly failedDays: string[];
}

export interface FeatureEntry {
  readonly name: string;
  /** Null while the definition leaves it unknown. */
  readonly dtype: string | null;
  /** How the value is computed, e.g. `mean(amount) over 7d, hop 1h`. */
  readonly computation: string;
  readonly histogram: FeatureHistogram | null;
  /** Nulls over rows in the histogram's population; null when there is no histogram. */
  readonly nullRate: number | null;
  /** This feature in the view's newest validation result. */
  readonly validation: FeatureValidationEntry | null;
  /** Training set (expected) against online values (actual); null when either lacks the feature. */
  readonly drift: FeatureDrift | null;
  readonly notes: string[];
}

export interface FeatureValidationEntry {
  readonly passed: boolean;
  readonly nullRate: number;
  readonly checks: CheckResult[];
  /** The partition summary: rows, nulls, infinities, mean, stddev, min, max (as the validator stored it). */
  readonly summary: Readonly<Record<string, unknown>>;
}

export interface FeatureDrift extends DriftResult {
  /** The training set column and the online feature name compared. */
  readonly trainingColumn: string;
  readonly onlineColumn: string;
  /** How many online values had each status (`PRESENT`, `NOT_FOUND`, ...). */
  readonly onlineStatuses: Readonly<Record<string, number>>;
}

export interface FeatureHistogram {
  /** Whose values: the published partitions (`offline`) or the training set. */
  readonly source: 'offline' | 'training';
  /** `numeric`: equal-width bins; `categorical`: the most frequent values and `(other)`. */
  readonly kind: 'numeric' | 'categorical';
  /** `length` for last-k lists (their length is binned), else `value`. */
  readonly measure: 'value' | 'length';
  /** `epoch_ms` for timestamps (bin edges are epoch milliseconds). */
  readonly unit: 'epoch_ms' | null;
  readonly rows: number;
  readonly nulls: number;
  /** Infinite values, which no bin holds. */
  readonly infinities: number;
  readonly bins: HistogramBin[];
}

export interface HistogramBin {
  /** `[0, 5)`, `[95, 100]`, an integer, a category or `(other)`. */
  readonly label: string;
  /** Numeric bins: `[lower, upper)`, the last one closed. */
  readonly lower?: number;
  readonly upper?: number;
  /** Categorical bins: the value (absent for `(other)`). */
  readonly value?: string;
  readonly count: number;
}

type Definitions = ValidatedFeatureRepo | AppliedRepo | ServingCatalog;
type TrainingRow = Readonly<Record<string, unknown>>;

export interface FeatureReportOptions {
  /**
   * The definitions: a validated repo, the applied registry (`repoFromRegistry`) or a serving catalog.
   * Versions come from the last two; for a validated repo, from `versions` or else each view's content
   * hash, which is the version `apply` records for those definitions.
   */
  readonly definitions: Definitions;
  /** View name -> version, overriding the versions of `definitions`. */
  readonly versions?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** Views to report (feature views and on-demand views), in this order. @default every view, feature views first */
  readonly views?: readonly string[];
  /** The offline store holding published partitions; without it there is no validation and histograms come from the training set. */
  readonly offlineStore?: ObjectStore;
  /** DuckDB (the local engine): reads the partitions and a training set given as a Parquet path. */
  readonly engine?: OfflineEngine;
  /** Only partitions from this day (`YYYY-MM-DD`, inclusive). @default the first published */
  readonly fromDt?: string;
  /** Only partitions up to this day (`YYYY-MM-DD`, inclusive). @default the last published */
  readonly toDt?: string;
  /** The training set: rows (as `getHistoricalFeatures` writes them) or a Parquet file read with `engine`. */
  readonly training?: string | readonly TrainingRow[];
  /** `getOnlineFeatures`' response for the training set's entities (column-major, join keys first). */
  readonly online?: OnlineFeaturesResponse;
  /**
   * The features both were asked for (`view:feature`, `view:*`), or the feature service: says which view
   * a short feature name (no `view__` prefix) belongs to. @default a short name belongs to the one view
   * having a feature of that name (names several views share, join keys and request fields are skipped)
   */
  readonly features?: readonly string[];
  readonly featureService?: string;
  /** Freshness by view name (`viewFreshness`); views without one show none. */
  readonly freshness?:
    | ReadonlyMap<string, ViewFreshness | undefined>
    | Readonly<Record<string, ViewFreshness | undefined>>;
  readonly now: Date;
  /** @default 'Feature report' */
  readonly title?: string;
  /** Histograms from the published partitions when a view has any (`offline`), or always from the training set. @default 'offline' */
  readonly histogramFrom?: 'offline' | 'training';
  /** @default DEFAULT_HISTOGRAM_BINS */
  readonly histogramBins?: number;
  readonly drift?: DriftOptions;
}

/** The report cannot be built as asked (an unknown view, a training file without an engine). */
export class FeatureReportError extends FstoreError {
  override readonly name = 'FeatureReportError';
}

/**
 * Builds the report's data (see the top of this file). Reads published partitions and their validation
 * results; writes nothing.
 * @example
 * const report = await buildFeatureReport({
 *   definitions: applied, offlineStore: store, engine, training: rows, online: response,
 *   freshness: { user_transaction_stats: await viewFreshness({ ... }) }, now: new Date(),
 * });
 * await writeFile('report.html', renderReportHtml(report));
 */
export async function buildFeatureReport(options: FeatureReportOptions): Promise<FeatureReport> {
  const { validated, versions } = definitionsOf(options);
  const training = await loadTraining(options);
  const names = new ColumnNames(validated, options, training, options.online);
  const registryFeatures = new Map(
    toRegistryObjects(validated)
      .filter((object) => object.features)
      .map((object) => [object.name, new Map((object.features ?? []).map((f) => [f.name, f.computation]))]),
  );
  const views: ViewReport[] = [];
  for (const name of selectedViews(validated, options.views)) {
    const featureView = validated.repo.featureViews.find((view) => view.name === name);
    const onDemand = validated.repo.onDemandFeatureViews.find((view) => view.name === name);
    const context: ViewContext = {
      options,
      features: validated.features.get(name) ?? [],
      computations: registryFeatures.get(name) ?? new Map(),
      version: versions.get(name) ?? null,
      training,
      names,
    };
    views.push(
      featureView ? await featureViewReport(featureView, context) : onDemandReport(onDemand, name, context),
    );
  }
  return {
    formatVersion: FEATURE_REPORT_FORMAT,
    title: options.title ?? 'Feature report',
    generatedAt: options.now.toISOString(),
    training: training ? { rows: training.rows.length, source: training.source } : null,
    online: options.online
      ? {
          rows: options.online.results[0]?.values.length ?? 0,
          features: options.online.metadata.feature_names.length,
        }
      : null,
    psi: {
      moderate: PSI_MODERATE,
      significant: PSI_SIGNIFICANT,
      epsilon: options.drift?.epsilon ?? DEFAULT_PSI_EPSILON,
    },
    views,
  };
}

interface Training {
  readonly source: string;
  readonly rows: readonly TrainingRow[];
  readonly columns: ReadonlySet<string>;
}

interface ViewContext {
  readonly options: FeatureReportOptions;
  readonly features: readonly ResolvedFeature[];
  readonly computations: ReadonlyMap<string, string>;
  readonly version: string | null;
  readonly training: Training | undefined;
  readonly names: ColumnNames;
}

async function featureViewReport(view: FeatureViewDefinition, context: ViewContext): Promise<ViewReport> {
  const { options, version } = context;
  const notes: string[] = [];
  const offline =
    version !== null && options.offlineStore ? await readOffline(view, version, context) : undefined;
  if (offline) notes.push(...offline.notes);
  const features: FeatureEntry[] = [];
  // One query at a time: the engine's one connection runs statements in turn.
  for (const feature of context.features)
    features.push(await featureEntry(view.name, feature, context, offline));
  const joinKeys = [...new Set(view.entities.flatMap((entity) => Object.keys(entity.joinKeys)))];
  return {
    name: view.name,
    kind: 'feature_view',
    description: view.description,
    owner: view.owner,
    tags: { ...view.tags },
    version,
    entities: view.entities.map((entity) => entity.name),
    joinKeys,
    source: view.source.name,
    ttl: view.ttl ?? null,
    online: view.online,
    offline: view.offline,
    freshness: freshnessOf(options.freshness, view.name),
    partitions: offline?.partitions ?? null,
    validation: offline?.validation ?? null,
    features,
    notes,
  };
}

function onDemandReport(
  view: OnDemandFeatureViewDefinition | undefined,
  name: string,
  context: ViewContext,
): ViewReport {
  const features = context.features.map((feature) => {
    const histogram = trainingHistogram(name, feature, context);
    return {
      name: feature.name,
      dtype: feature.dtype ?? null,
      computation: context.computations.get(feature.name) ?? '',
      histogram,
      nullRate: nullRateOf(histogram),
      validation: null,
      drift: driftOf(name, feature, context),
      notes: featureNotes(feature),
    } satisfies FeatureEntry;
  });
  return {
    name,
    kind: 'on_demand_feature_view',
    description: view?.description ?? '',
    owner: view?.owner ?? '',
    tags: { ...(view?.tags ?? {}) },
    version: context.version,
    entities: [],
    joinKeys: [],
    source: null,
    ttl: null,
    online: false,
    offline: false,
    freshness: freshnessOf(context.options.freshness, name),
    partitions: null,
    validation: null,
    features,
    notes: ['computed at request time from request fields and stored features; nothing is stored'],
  };
}

async function featureEntry(
  viewName: string,
  feature: ResolvedFeature,
  context: ViewContext,
  offline: OfflineData | undefined,
): Promise<FeatureEntry> {
  const fromOffline =
    context.options.histogramFrom !== 'training' && offline !== undefined && offline.partitions.count > 0;
  const histogram = fromOffline
    ? await offlineHistogram(feature, offline, context)
    : trainingHistogram(viewName, feature, context);
  const validated = offline?.latest?.features.find((entry) => entry.feature === feature.name);
  return {
    name: feature.name,
    dtype: feature.dtype ?? null,
    computation: context.computations.get(feature.name) ?? '',
    histogram,
    nullRate: nullRateOf(histogram),
    validation: validated
      ? {
          passed: validated.passed,
          nullRate: validated.nullRate,
          checks: [...validated.checks],
          summary: { ...validated.summary },
        }
      : null,
    drift: driftOf(viewName, feature, context),
    notes: featureNotes(feature),
  };
}

function featureNotes(feature: ResolvedFeature): string[] {
  switch (valueKind(feature.dtype)) {
    case 'list':
      return ['a list: its histogram and drift are of its length (how many recent values it holds)'];
    case 'vector':
      return ['a vector: no histogram and no drift (there is no one-dimensional distribution to bin)'];
    default:
      return [];
  }
}

function nullRateOf(histogram: FeatureHistogram | null): number | null {
  return histogram && histogram.rows > 0 ? histogram.nulls / histogram.rows : null;
}

function driftOf(viewName: string, feature: ResolvedFeature, context: ViewContext): FeatureDrift | null {
  const { training, names } = context;
  const online = context.options.online;
  if (!training || !online) return null;
  const trainingColumn = names.training(viewName, feature.name);
  const onlineColumn = names.online(viewName, feature.name);
  if (trainingColumn === undefined || onlineColumn === undefined) return null;
  const column = online.results[onlineColumn.index];
  if (!column) return null;
  const drift = featureDrift(
    feature.dtype,
    training.rows.map((row) => row[trainingColumn]),
    column.values,
    context.options.drift,
  );
  if (!drift) return null;
  const onlineStatuses: Record<string, number> = {};
  for (const status of column.statuses) onlineStatuses[status] = (onlineStatuses[status] ?? 0) + 1;
  return { ...drift, trainingColumn, onlineColumn: onlineColumn.name, onlineStatuses };
}

/** Which training column and online result hold a view's feature. */
class ColumnNames {
  private readonly requested: ReadonlySet<string> | undefined;
  /** Short names that belong to exactly one view, and are no join key or request field. */
  private readonly unambiguous = new Map<string, string>();
  private readonly onlineIndex: ReadonlyMap<string, number>;

  constructor(
    validated: ValidatedFeatureRepo,
    options: FeatureReportOptions,
    private readonly trainingSet: Training | undefined,
    online: OnlineFeaturesResponse | undefined,
  ) {
    this.requested =
      options.features !== undefined || options.featureService !== undefined
        ? new Set(
            resolveRequestedFeatures(validated, {
              features: options.features,
              service: options.featureService,
            }).map(({ view, feature }) => `${view}:${feature}`),
          )
        : undefined;
    const reserved = new Set([
      ...validated.repo.entities.flatMap((entity) => Object.keys(entity.joinKeys)),
      ...validated.repo.onDemandFeatureViews.flatMap((view) => Object.keys(view.request)),
    ]);
    const owners = new Map<string, string[]>();
    for (const [view, features] of validated.features) {
      for (const feature of features) owners.set(feature.name, [...(owners.get(feature.name) ?? []), view]);
    }
    for (const [feature, views] of owners) {
      if (views.length === 1 && !reserved.has(feature)) this.unambiguous.set(feature, views[0] as string);
    }
    const index = new Map<string, number>();
    online?.metadata.feature_names.forEach((name, position) => {
      if (!index.has(name)) index.set(name, position);
    });
    this.onlineIndex = index;
  }

  training(view: string, feature: string): string | undefined {
    return this.pick(view, feature, (name) => this.trainingSet?.columns.has(name) === true);
  }

  online(view: string, feature: string): { name: string; index: number } | undefined {
    const name = this.pick(view, feature, (candidate) => this.onlineIndex.has(candidate));
    return name === undefined ? undefined : { name, index: this.onlineIndex.get(name) as number };
  }

  private pick(view: string, feature: string, has: (name: string) => boolean): string | undefined {
    const full = `${view}__${feature}`;
    if (has(full)) return full;
    if (!has(feature)) return undefined;
    const belongs = this.requested
      ? this.requested.has(`${view}:${feature}`)
      : this.unambiguous.get(feature) === view;
    return belongs ? feature : undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Histograms

interface NumericBins {
  readonly min: number;
  readonly width: number;
  readonly count: number;
  /** One bin per integer value. */
  readonly integral: boolean;
}

/** Equal-width bins over [min, max]; one per integer when an integer range is narrower than `bins`. */
function numericBins(min: number, max: number, integral: boolean, bins: number): NumericBins {
  if (min === max) return { min, width: 1, count: 1, integral };
  if (integral && max - min + 1 <= bins) return { min, width: 1, count: max - min + 1, integral: true };
  return { min, width: (max - min) / bins, count: bins, integral: false };
}

/** The bin of a finite value: the same arithmetic as the SQL in `numericBinSql`. */
function numericBinOf(spec: NumericBins, value: number): number {
  return Math.min(spec.count - 1, Math.max(0, Math.floor((value - spec.min) / spec.width)));
}

function numericHistogramBins(
  spec: NumericBins,
  max: number,
  counts: readonly number[],
  format: (value: number) => string,
): HistogramBin[] {
  return counts.map((count, index) => {
    const lower = spec.min + index * spec.width;
    const last = index === spec.count - 1;
    const upper = last ? max : spec.min + (index + 1) * spec.width;
    const label =
      spec.count === 1 && spec.min === max
        ? format(lower)
        : spec.integral && spec.width === 1
          ? format(lower)
          : `[${format(lower)}, ${format(upper)}${last ? ']' : ')'}`;
    return { label, lower, upper, count };
  });
}

/** A histogram of the training set's values of a feature; null when the training set lacks it. */
function trainingHistogram(
  viewName: string,
  feature: ResolvedFeature,
  context: ViewContext,
): FeatureHistogram | null {
  const { training } = context;
  const column = training ? context.names.training(viewName, feature.name) : undefined;
  if (!training || column === undefined) return null;
  const values = training.rows.map((row) => row[column]);
  const bins = context.options.histogramBins ?? DEFAULT_HISTOGRAM_BINS;
  const kind = valueKind(feature.dtype);
  if (kind === 'vector') return null;
  if (kind === 'category') {
    const categories = values.map(toCategory);
    const counts = new Map<string, number>();
    for (const value of categories) if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
    const present = categories.length - categories.filter((value) => value === null).length;
    const top = [...counts.entries()]
      .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, DEFAULT_TOP_CATEGORIES)
      .map(([value, count]) => ({ value, count }));
    return categoricalHistogram('training', values.length, values.length - present, present, top);
  }
  const numbers = values.map(kind === 'timestamp' ? toEpochMs : kind === 'list' ? listLength : toNumber);
  const finite = numbers.filter((value): value is number => value !== null && Number.isFinite(value));
  const nulls = numbers.filter((value) => value === null).length;
  const infinities = numbers.length - nulls - finite.length;
  const base = {
    source: 'training' as const,
    kind: 'numeric' as const,
    measure: kind === 'list' ? ('length' as const) : ('value' as const),
    unit: kind === 'timestamp' ? ('epoch_ms' as const) : null,
    rows: values.length,
    nulls,
    infinities,
  };
  if (finite.length === 0) return { ...base, bins: [] };
  const min = finite.reduce((a, b) => Math.min(a, b));
  const max = finite.reduce((a, b) => Math.max(a, b));
  const spec = numericBins(min, max, feature.dtype === 'int64' || kind === 'list', bins);
  const counts = new Array<number>(spec.count).fill(0);
  for (const value of finite) {
    const bin = numericBinOf(spec, value);
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return { ...base, bins: numericHistogramBins(spec, max, counts, formatterOf(kind)) };
}

function categoricalHistogram(
  source: FeatureHistogram['source'],
  rows: number,
  nulls: number,
  present: number,
  top: readonly { value: string; count: number }[],
): FeatureHistogram {
  const bins: HistogramBin[] = top.map(({ value, count }) => ({ label: value, value, count }));
  const other = present - top.reduce((sum, bin) => sum + bin.count, 0);
  if (other > 0) bins.push({ label: '(other)', count: other });
  return { source, kind: 'categorical', measure: 'value', unit: null, rows, nulls, infinities: 0, bins };
}

function formatterOf(kind: ReturnType<typeof valueKind>): (value: number) => string {
  return kind === 'timestamp' ? formatInstant : formatNumber;
}

// ---------------------------------------------------------------------------------------------------
// Offline partitions

interface OfflineData {
  readonly relation: string | undefined;
  readonly partitions: PartitionsReport;
  readonly validation: ViewValidationReport | null;
  readonly latest: PartitionValidation | undefined;
  readonly notes: string[];
  /** Per feature: rows, non-null values, and for numeric measures finite min, max and infinities. */
  readonly stats: ReadonlyMap<string, ColumnStats>;
}

interface ColumnStats {
  readonly rows: number;
  readonly present: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly infinities: number;
}

async function readOffline(
  view: FeatureViewDefinition,
  version: string,
  context: ViewContext,
): Promise<OfflineData> {
  const { options } = context;
  const store = options.offlineStore as ObjectStore;
  const notes: string[] = [];
  const days = (await listPublishedPartitions(store, featureVersionPrefix(view.name, version)))
    .map((prefix) => parsePartitionKey(prefix))
    .filter((partition) => partition?.kind === 'features')
    .map((partition) => partition?.dt ?? '')
    .filter((dt) => (!options.fromDt || dt >= options.fromDt) && (!options.toDt || dt <= options.toDt))
    .sort();

  const files: string[] = [];
  const results: PartitionValidation[] = [];
  for (const dt of days) {
    const prefix = featurePartitionPrefix(view.name, version, dt);
    for (const key of await readPartitionFiles(store, prefix))
      files.push(store.localPath(key) ?? store.uri(key));
    const result = await readValidation(store, prefix, 'validation', notes);
    if (result) results.push(result);
  }
  const recorded = (await readValidation(
    store,
    featureVersionPrefix(view.name, version),
    LATEST_VALIDATION,
    notes,
  )) as LatestValidation | undefined;
  const inRange = (dt: string) =>
    (!options.fromDt || dt >= options.fromDt) && (!options.toDt || dt <= options.toDt);
  const newest = [...results, ...(recorded && inRange(recorded.dt) ? [recorded] : [])].sort(
    (a, b) => compare(a.dt, b.dt) || compare(a.validatedAt, b.validatedAt),
  );
  const latest = newest.at(-1);
  const failed = results.filter((result) => !result.passed).map((result) => result.dt);
  const validation: ViewValidationReport | null = latest
    ? {
        dt: latest.dt,
        policy: latest.policy,
        passed: latest.passed,
        published:
          'published' in latest && typeof latest.published === 'boolean'
            ? latest.published
            : days.includes(latest.dt)
              ? true
              : null,
        validatedAt: latest.validatedAt,
        rows: latest.rows,
        partitionsChecked: results.length,
        partitionsFailed: failed.length,
        failedDays: failed.reverse().slice(0, 20),
      }
    : null;

  let relation: string | undefined;
  let stats = new Map<string, ColumnStats>();
  let rows = 0;
  if (files.length > 0) {
    const engine = duckdbOf(options, 'read the published partitions');
    relation = `read_parquet([${files.map(stringLiteral).join(', ')}])`;
    ({ rows, stats } = await columnStats(engine, relation, context.features));
  }
  return {
    relation,
    partitions: { count: days.length, firstDt: days[0] ?? null, lastDt: days.at(-1) ?? null, rows },
    validation,
    latest,
    notes,
    stats,
  };
}

async function readValidation(
  store: ObjectStore,
  prefix: string,
  name: string,
  notes: string[],
): Promise<PartitionValidation | undefined> {
  try {
    const value = (await readJsonBeside(store, prefix, name)) as PartitionValidation | undefined;
    if (value === undefined) return undefined;
    if (
      typeof value !== 'object' ||
      value === null ||
      !Array.isArray(value.features) ||
      typeof value.dt !== 'string'
    ) {
      notes.push(`${store.uri(`${prefix}_${name}.json`)} is not a validation result; it was left out`);
      return undefined;
    }
    return value;
  } catch (error) {
    notes.push(`could not read ${store.uri(`${prefix}_${name}.json`)}: ${(error as Error).message}`);
    return undefined;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The SQL value a numeric histogram bins: the number itself, epoch milliseconds, or a list's length; NaN as null. */
function numericSql(feature: ResolvedFeature): string {
  const column = q(feature.name);
  const kind = valueKind(feature.dtype);
  const value =
    kind === 'timestamp'
      ? `CAST(epoch_ms(${column}) AS DOUBLE)`
      : kind === 'list'
        ? `CAST(len(${column}) AS DOUBLE)`
        : `CAST(${column} AS DOUBLE)`;
  return `(CASE WHEN isnan(${value}) THEN NULL ELSE ${value} END)`;
}

function isNumericMeasure(feature: ResolvedFeature): boolean {
  const kind = valueKind(feature.dtype);
  return kind === 'number' || kind === 'timestamp' || kind === 'list';
}

async function columnStats(
  engine: OfflineEngine,
  relation: string,
  features: readonly ResolvedFeature[],
): Promise<{ rows: number; stats: Map<string, ColumnStats> }> {
  const parts = ['COUNT(*) AS "__rows"'];
  features.forEach((feature, index) => {
    if (valueKind(feature.dtype) === 'vector') return;
    if (isNumericMeasure(feature)) {
      const value = numericSql(feature);
      parts.push(
        `COUNT(${value}) AS "p${index}"`,
        `MIN(CASE WHEN isfinite(${value}) THEN ${value} END) AS "min${index}"`,
        `MAX(CASE WHEN isfinite(${value}) THEN ${value} END) AS "max${index}"`,
        `COUNT(CASE WHEN isinf(${value}) THEN 1 END) AS "inf${index}"`,
      );
    } else {
      parts.push(`COUNT(${q(feature.name)}) AS "p${index}"`);
    }
  });
  const [row = {}] = await engine.query(`SELECT ${parts.join(', ')} FROM ${relation}`);
  const rows = Number(row.__rows ?? 0);
  const stats = new Map<string, ColumnStats>();
  features.forEach((feature, index) => {
    if (!(`p${index}` in row)) return;
    const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
    stats.set(feature.name, {
      rows,
      present: Number(row[`p${index}`] ?? 0),
      min: number(row[`min${index}`]),
      max: number(row[`max${index}`]),
      infinities: Number(row[`inf${index}`] ?? 0),
    });
  });
  return { rows, stats };
}

async function offlineHistogram(
  feature: ResolvedFeature,
  offline: OfflineData,
  context: ViewContext,
): Promise<FeatureHistogram | null> {
  const stats = offline.stats.get(feature.name);
  if (!stats || offline.relation === undefined) return null;
  const engine = duckdbOf(context.options, 'read the published partitions');
  const kind = valueKind(feature.dtype);
  if (kind === 'category') {
    const top = await engine.query(
      `SELECT CAST(${q(feature.name)} AS VARCHAR) AS "value", COUNT(*) AS "count" FROM ${offline.relation} WHERE ${q(feature.name)} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT ${DEFAULT_TOP_CATEGORIES}`,
    );
    return categoricalHistogram(
      'offline',
      stats.rows,
      stats.rows - stats.present,
      stats.present,
      top.map((row) => ({ value: String(row.value), count: Number(row.count) })),
    );
  }
  const base = {
    source: 'offline' as const,
    kind: 'numeric' as const,
    measure: kind === 'list' ? ('length' as const) : ('value' as const),
    unit: kind === 'timestamp' ? ('epoch_ms' as const) : null,
    rows: stats.rows,
    nulls: stats.rows - stats.present,
    infinities: stats.infinities,
  };
  if (stats.min === null || stats.max === null) return { ...base, bins: [] };
  const spec = numericBins(
    stats.min,
    stats.max,
    feature.dtype === 'int64' || kind === 'list',
    context.options.histogramBins ?? DEFAULT_HISTOGRAM_BINS,
  );
  const value = numericSql(feature);
  const bin = `CAST(LEAST(${spec.count - 1}, GREATEST(0, FLOOR((${value} - ${numberLiteral(spec.min)}) / ${numberLiteral(spec.width)}))) AS INTEGER)`;
  const rows = await engine.query(
    `SELECT ${bin} AS "bin", COUNT(*) AS "count" FROM ${offline.relation} WHERE isfinite(${value}) GROUP BY 1`,
  );
  const counts = new Array<number>(spec.count).fill(0);
  for (const row of rows) counts[Number(row.bin)] = Number(row.count);
  return { ...base, bins: numericHistogramBins(spec, stats.max, counts, formatterOf(kind)) };
}

// ---------------------------------------------------------------------------------------------------
// Inputs

function definitionsOf(options: FeatureReportOptions): {
  validated: ValidatedFeatureRepo;
  versions: Map<string, string>;
} {
  const definitions = options.definitions;
  const validated = 'validated' in definitions ? definitions.validated : definitions;
  const versions = new Map<string, string>();
  for (const object of toRegistryObjects(validated)) {
    if (object.kind === 'feature_view' || object.kind === 'on_demand_feature_view') {
      versions.set(object.name, object.version);
    }
  }
  if ('views' in definitions) {
    for (const [name, view] of definitions.views) if (view.version) versions.set(name, view.version);
  } else if ('versions' in definitions) {
    for (const [key, version] of definitions.versions) {
      const [kind, name] = key.split('/');
      if ((kind === 'feature_view' || kind === 'on_demand_feature_view') && name) versions.set(name, version);
    }
  }
  const given = options.versions;
  if (given) {
    const entries = given instanceof Map ? [...given.entries()] : Object.entries(given);
    for (const [name, version] of entries) versions.set(name, version);
  }
  return { validated, versions };
}

function selectedViews(validated: ValidatedFeatureRepo, asked: readonly string[] | undefined): string[] {
  const all = [
    ...validated.repo.featureViews.map((view) => view.name),
    ...validated.repo.onDemandFeatureViews.map((view) => view.name),
  ];
  if (asked === undefined) return all;
  const unknown = asked.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    const described = unknown.map((name) => {
      const suggestion = closestName(name, all);
      return suggestion ? `"${name}" (did you mean "${suggestion}"?)` : `"${name}"`;
    });
    throw new FeatureReportError(
      `no feature view or on-demand view named ${described.join(', ')}; the views are ${all.join(', ')}`,
    );
  }
  return [...asked];
}

async function loadTraining(options: FeatureReportOptions): Promise<Training | undefined> {
  const training = options.training;
  if (training === undefined) return undefined;
  const rows =
    typeof training === 'string'
      ? await duckdbOf(options, 'read the training set file').query(
          `SELECT * FROM read_parquet(${stringLiteral(training)})`,
        )
      : training;
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  return { source: typeof training === 'string' ? training : 'rows', rows, columns };
}

function duckdbOf(options: FeatureReportOptions, purpose: string): OfflineEngine {
  const engine = options.engine;
  if (!engine) {
    throw new FeatureReportError(`the report needs an engine to ${purpose}; pass engine (a DuckDBEngine)`);
  }
  if (engine.dialect !== 'duckdb') {
    throw new FeatureReportError(
      `the report reads Parquet with DuckDB, not ${engine.dialect}; pass a DuckDBEngine (over a local copy of the partitions)`,
    );
  }
  return engine;
}

function freshnessOf(given: FeatureReportOptions['freshness'], view: string): FreshnessReport | null {
  if (!given) return null;
  const freshness = given instanceof Map ? given.get(view) : (given as Record<string, ViewFreshness>)[view];
  if (!freshness) return null;
  const through =
    freshness.through instanceof Date ? freshness.through.toISOString() : String(freshness.through);
  return { basis: freshness.basis, through, seconds: freshness.seconds };
}
