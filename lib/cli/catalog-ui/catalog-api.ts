import type { LoadedCatalog } from '../../../lambdas/http/serve-dependencies.js';
import type { DefinitionKind } from '../../definitions/feature-repo.js';
import type { FeatureType } from '../../definitions/value-type.js';
import { type DiscoveryFilter, entitiesOf, findObjects } from '../../registry/discovery.js';
import type { MaterializationWatermarks } from '../../registry/materialization-watermarks.js';
import type { Registry, VersionHistoryEntry } from '../../registry/registry.js';
import type { RegistryObject } from '../../registry/registry-object.js';
import { LATEST_VALIDATION, type LatestValidation } from '../../services/compute-features.js';
import { viewFreshness } from '../../services/freshness.js';
import type { PartitionValidation } from '../../services/partition-validation.js';
import type { ObjectStore } from '../../stores/object-store.js';
import { featureVersionPrefix, parsePartitionKey } from '../../stores/offline-layout.js';
import { listPublishedPartitions, readJsonBeside } from '../../stores/partition-publisher.js';
import { lineageOf } from '../format-catalog.js';

/** What the catalog is built from; `fstore serve` passes its own registry, stores and catalog cache. */
export interface CatalogApiDependencies {
  readonly project: string;
  /** The applied definitions (the server's cached catalog); undefined before the first apply. */
  readonly loadCatalog: () => Promise<LoadedCatalog | undefined>;
  /** Where each object's version history comes from. */
  readonly registry: Pick<Registry, 'changeLog' | 'versionHistory'>;
  /** Where online views' materialization watermarks are (the registry's table). */
  readonly watermarks: MaterializationWatermarks;
  /** The offline store, for validation results and the freshness of offline-only views. */
  readonly offlineStore?: ObjectStore;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Which objects to list: the filters of `fstore list` and `GET /registry/feature-views`. */
export type CatalogFilter = DiscoveryFilter;

/** `GET /ui/api/catalog`: the applied objects matching a filter, each with everything the catalog page shows. */
export interface CatalogJson {
  readonly project: string;
  readonly registry_revision: number;
  /** ISO 8601 UTC: when freshness and validation were read. */
  readonly generated_at: string;
  /** The filter applied, as given (empty values left out). */
  readonly filter: CatalogFilter;
  /** Applied objects in all, before filtering. */
  readonly total: number;
  /** Every owner, entity and tag (`key=value`) of the applied objects, for search suggestions. */
  readonly facets: {
    readonly owners: readonly string[];
    readonly entities: readonly string[];
    readonly tags: readonly string[];
  };
  /** Sorted by kind, then name (as `fstore list`). */
  readonly objects: readonly CatalogObject[];
}

export interface CatalogObject {
  readonly kind: DefinitionKind;
  readonly name: string;
  /** The applied version. */
  readonly version: string;
  readonly description: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The entities the object is about (a service's through the views it reads). */
  readonly entities: readonly string[];
  /**
   * Views: their features; services: the features they list (`view:feature`), typed from their views.
   * Empty for other kinds.
   */
  readonly features: readonly CatalogFeature[];
  /** Sources: their columns; entities: their join keys. Empty for other kinds. */
  readonly columns: readonly { readonly name: string; readonly dtype: string }[];
  /** The other settings `fstore describe` prints (source, ttl, schedule, online, ...), as text. */
  readonly settings: Readonly<Record<string, string>>;
  /** Direct neighbours, as `fstore describe` finds them; the page walks them for the whole chain. */
  readonly lineage: {
    readonly upstream: readonly CatalogLink[];
    readonly downstream: readonly CatalogLink[];
  };
  /** Oldest first, as `fstore describe` prints it. */
  readonly version_history: readonly CatalogVersion[];
  /** Feature views only (null for other kinds). */
  readonly freshness: CatalogFreshness | null;
  /** Feature views only (null for other kinds): the applied version's newest published partition. */
  readonly validation: CatalogValidation | null;
}

export interface CatalogFeature {
  readonly name: string;
  /** Unknown (null) only for a service feature whose view is gone. */
  readonly dtype: FeatureType | null;
  readonly computation: string;
}

/** Another object in the lineage; `label` is how `fstore describe` writes it (`source live_transactions`). */
export interface CatalogLink {
  /** Null when no applied object matches (never for a consistent registry). */
  readonly kind: DefinitionKind | null;
  readonly name: string;
  readonly label: string;
}

export interface CatalogVersion {
  readonly version: string;
  readonly revision: number;
  readonly applied_at: string;
  readonly applied_by: string;
  readonly action: VersionHistoryEntry['action'];
  readonly breaking: boolean;
}

export interface CatalogFreshness {
  /**
   * `fresh`: there is an end the data is computed up to; `never`: an online view never materialized, or
   * an offline-only view with no recent partition; `not_tracked`: neither online nor offline, or offline
   * with no store to look in; `error`: it could not be read (see `summary`).
   */
  readonly state: 'fresh' | 'never' | 'not_tracked' | 'error';
  /** `online`: the version's materialization watermark; `offline`: its newest published day. */
  readonly basis: 'online' | 'offline' | null;
  /** ISO 8601 UTC: the data takes every event before this instant into account. */
  readonly through: string | null;
  /** Seconds from `through` to `generated_at`. */
  readonly seconds: number | null;
  readonly summary: string;
}

export interface CatalogValidation {
  /**
   * `passed` / `failed`: the checks of the newest published partition; `not_validated`: that partition has
   * no `_validation.json`; `no_data`: nothing published for this version; `unavailable`: no offline store;
   * `error`: the results could not be read (see `summary`).
   */
  readonly state: 'passed' | 'failed' | 'not_validated' | 'no_data' | 'unavailable' | 'error';
  readonly version: string;
  /** Published day partitions of this version. */
  readonly partitions: number;
  /** The newest published day (`YYYY-MM-DD`). */
  readonly dt: string | null;
  readonly rows: number | null;
  readonly policy: 'strict' | 'warn' | null;
  readonly validated_at: string | null;
  readonly features_checked: number;
  readonly failed_checks: readonly CatalogFailedCheck[];
  /** A newer day that strict validation refused to publish, when the newest compute was refused. */
  readonly newest_refused: {
    readonly dt: string;
    readonly validated_at: string;
    readonly failed_checks: readonly CatalogFailedCheck[];
  } | null;
  readonly summary: string;
}

export interface CatalogFailedCheck {
  readonly feature: string;
  readonly check: string;
  readonly detail: string;
}

/**
 * The catalog as `GET /ui/api/catalog` answers it, read on request: the applied objects (from the server's
 * catalog cache) matching `filter`, with their lineage and version history from the registry, and for each
 * feature view its freshness (materialization watermark, or newest partition for offline-only views) and
 * the validation of its newest published partition. Undefined before the first apply.
 */
export async function buildCatalog(
  deps: CatalogApiDependencies,
  filter: CatalogFilter = {},
): Promise<CatalogJson | undefined> {
  const loaded = await deps.loadCatalog();
  if (loaded === undefined) return undefined;
  const now = (deps.now ?? (() => new Date()))();
  const all = loaded.objects;
  const byName = new Map(all.map((object) => [object.name, object]));
  const registry = readingChangeLogOnce(deps.registry);
  const objects = await Promise.all(
    findObjects(all, filter).map(async (object): Promise<CatalogObject> => {
      const [history, status] = await Promise.all([
        registry.versionHistory(object.kind, object.name),
        object.kind === 'feature_view' ? viewStatus(deps, loaded, object, now) : undefined,
      ]);
      const { upstream, downstream } = lineageOf(object, all);
      return {
        kind: object.kind,
        name: object.name,
        version: object.version,
        description: object.description,
        owner: object.owner,
        tags: object.tags,
        entities: [...entitiesOf(object, byName)].filter((name) => name !== object.name),
        features: featuresOf(object, byName),
        columns: columnsOf(object),
        settings: settingsOf(object),
        lineage: {
          upstream: upstream.map((label) => linkFor(label, all)),
          downstream: downstream.map((label) => linkFor(label, all)),
        },
        version_history: history.map((entry) => ({
          version: entry.version,
          revision: entry.revision,
          applied_at: entry.appliedAt,
          applied_by: entry.appliedBy,
          action: entry.action,
          breaking: entry.breaking,
        })),
        freshness: status?.freshness ?? null,
        validation: status?.validation ?? null,
      };
    }),
  );
  return {
    project: deps.project,
    registry_revision: loaded.revision,
    generated_at: now.toISOString(),
    filter,
    total: all.length,
    facets: facetsOf(all, byName),
    objects,
  };
}

/** The registry as one request sees it: its change log read once, however many histories are asked for. */
function readingChangeLogOnce(
  registry: Pick<Registry, 'changeLog' | 'versionHistory'>,
): Pick<Registry, 'changeLog' | 'versionHistory'> {
  let log: ReturnType<Registry['changeLog']> | undefined;
  // versionHistory reads the log through `this.changeLog()`, which this object answers from memory.
  const view = Object.create(registry) as Pick<Registry, 'changeLog' | 'versionHistory'>;
  view.changeLog = () => {
    log ??= registry.changeLog();
    return log;
  };
  return view;
}

function featuresOf(object: RegistryObject, byName: ReadonlyMap<string, RegistryObject>): CatalogFeature[] {
  if (object.features) {
    return object.features.map(({ name, dtype, computation }) => ({ name, dtype, computation }));
  }
  if (object.kind !== 'feature_service') return [];
  return (object.definition.features as string[]).map((reference) => {
    const [view = '', feature = ''] = reference.split(':');
    const found = byName.get(view)?.features?.find((candidate) => candidate.name === feature);
    return { name: reference, dtype: found?.dtype ?? null, computation: found?.computation ?? '' };
  });
}

function columnsOf(object: RegistryObject): { name: string; dtype: string }[] {
  const columns =
    object.kind === 'entity'
      ? object.definition.joinKeys
      : object.kind === 'batch_source' || object.kind === 'kinesis_source'
        ? object.definition.schema
        : undefined;
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns)) return [];
  return Object.entries(columns).map(([name, dtype]) => ({ name, dtype: String(dtype) }));
}

/** The definition's settings as `fstore describe` lists them: structure (features, entities) left out. */
function settingsOf(object: RegistryObject): Record<string, string> {
  const shownElsewhere = [
    'derived',
    'expressions',
    'aggregations',
    'lastK',
    'features',
    'entities',
    'schema',
    'joinKeys',
  ];
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(object.definition)) {
    if (shownElsewhere.includes(key)) continue;
    if (value === null || (typeof value === 'object' && Object.keys(value).length === 0)) continue;
    settings[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return settings;
}

/** What kinds each way `lineageOf` words a neighbour may be. */
const LINK_KINDS: Readonly<Record<string, readonly DefinitionKind[]>> = {
  source: ['batch_source', 'kinesis_source'],
  'batch source': ['batch_source'],
  view: ['feature_view', 'on_demand_feature_view'],
};

/** A `lineageOf` entry (`source live_transactions`, `feature service fraud_model_v1`) as a link. */
function linkFor(label: string, all: readonly RegistryObject[]): CatalogLink {
  const cut = label.lastIndexOf(' ');
  const wording = label.slice(0, cut);
  const name = label.slice(cut + 1);
  const kinds = LINK_KINDS[wording] ?? [wording.replaceAll(' ', '_')];
  const object = all.find((candidate) => candidate.name === name && kinds.includes(candidate.kind));
  return { kind: object?.kind ?? null, name, label };
}

function facetsOf(all: readonly RegistryObject[], byName: ReadonlyMap<string, RegistryObject>) {
  const sorted = (values: Iterable<string>) => [...new Set(values)].filter((v) => v !== '').sort();
  return {
    owners: sorted(all.map((object) => object.owner)),
    entities: sorted(all.flatMap((object) => [...entitiesOf(object, byName)])),
    tags: sorted(all.flatMap((object) => Object.entries(object.tags).map(([k, v]) => `${k}=${v}`))),
  };
}

async function viewStatus(
  deps: CatalogApiDependencies,
  loaded: LoadedCatalog,
  object: RegistryObject,
  now: Date,
): Promise<{ freshness: CatalogFreshness; validation: CatalogValidation }> {
  const [freshness, validation] = await Promise.all([
    freshnessOf(deps, loaded, object, now),
    validationOf(deps.offlineStore, object.name, object.version),
  ]);
  return { freshness, validation };
}

async function freshnessOf(
  deps: CatalogApiDependencies,
  loaded: LoadedCatalog,
  object: RegistryObject,
  now: Date,
): Promise<CatalogFreshness> {
  const served = loaded.catalog.views.get(object.name);
  const online = object.definition.online !== false;
  const offline = object.definition.offline !== false;
  const none = (state: CatalogFreshness['state'], summary: string): CatalogFreshness => ({
    state,
    basis: online ? 'online' : offline && deps.offlineStore ? 'offline' : null,
    through: null,
    seconds: null,
    summary,
  });
  if (served === undefined) return none('error', 'the applied view could not be prepared for serving');
  if (!online && !(offline && deps.offlineStore)) {
    return none(
      'not_tracked',
      offline
        ? 'offline only, and this server has no offline store to look in'
        : 'neither online nor offline',
    );
  }
  try {
    const found = await viewFreshness({
      view: served,
      watermarks: deps.watermarks,
      ...(deps.offlineStore ? { offlineStore: deps.offlineStore } : {}),
      now,
    });
    if (found === undefined) {
      return none(
        'never',
        online
          ? 'never materialized online (run fstore materialize-incremental)'
          : 'no partition published in the last 7 days',
      );
    }
    const what = found.basis === 'online' ? 'online state materialized' : 'newest published day';
    return {
      state: 'fresh',
      basis: found.basis,
      through: found.through.toISOString(),
      seconds: found.seconds,
      summary: `${what} through ${found.through.toISOString()} (${formatAge(found.seconds)} ago)`,
    };
  } catch (error) {
    return none('error', `could not read the freshness: ${(error as Error).message}`);
  }
}

async function validationOf(
  store: ObjectStore | undefined,
  view: string,
  version: string,
): Promise<CatalogValidation> {
  const base = {
    version,
    partitions: 0,
    dt: null,
    rows: null,
    policy: null,
    validated_at: null,
    features_checked: 0,
    failed_checks: [],
    newest_refused: null,
  };
  if (store === undefined) {
    return {
      ...base,
      state: 'unavailable',
      summary: 'this server has no offline store to read results from',
    };
  }
  try {
    const versionPrefix = featureVersionPrefix(view, version);
    const [published, latest] = await Promise.all([
      listPublishedPartitions(store, versionPrefix),
      readJsonBeside(store, versionPrefix, LATEST_VALIDATION) as Promise<LatestValidation | undefined>,
    ]);
    const newestPrefix = published.sort().at(-1);
    const dt = newestPrefix === undefined ? null : (parsePartitionKey(newestPrefix)?.dt ?? null);
    const refused =
      latest !== undefined && !latest.published && (dt === null || latest.dt > dt)
        ? { dt: latest.dt, validated_at: latest.validatedAt, failed_checks: failedChecks(latest) }
        : null;
    const refusedNote = refused ? `; strict validation refused the newer day ${refused.dt}` : '';
    if (newestPrefix === undefined || dt === null) {
      return {
        ...base,
        state: 'no_data',
        newest_refused: refused,
        summary: `nothing published for version ${version} yet (run fstore compute)${refusedNote}`,
      };
    }
    const result = (await readJsonBeside(store, newestPrefix, 'validation')) as
      | PartitionValidation
      | undefined;
    if (result === undefined) {
      return {
        ...base,
        state: 'not_validated',
        partitions: published.length,
        dt,
        newest_refused: refused,
        summary: `the newest partition (${dt}) has no validation results (run fstore validate)${refusedNote}`,
      };
    }
    const failed = failedChecks(result);
    return {
      state: result.passed ? 'passed' : 'failed',
      version,
      partitions: published.length,
      dt,
      rows: result.rows,
      policy: result.policy,
      validated_at: result.validatedAt,
      features_checked: result.features.length,
      failed_checks: failed,
      newest_refused: refused,
      summary: `${result.passed ? 'passed' : `failed ${failed.length} check${failed.length === 1 ? '' : 's'}`} on ${dt} (${result.rows} rows, ${result.features.length} features, ${result.policy} policy)${refusedNote}`,
    };
  } catch (error) {
    return {
      ...base,
      state: 'error',
      summary: `could not read validation results: ${(error as Error).message}`,
    };
  }
}

function failedChecks(result: PartitionValidation): CatalogFailedCheck[] {
  return result.features.flatMap((feature) =>
    feature.checks
      .filter((check) => !check.passed)
      .map((check) => ({ feature: feature.feature, check: check.check, detail: check.detail })),
  );
}

/** `45 s`, `12 min`, `3 h`, `4 d`: the largest whole unit. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}
