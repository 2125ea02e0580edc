import { type OnlineStateLayout, onlineStateLayout } from '../compute/online-state.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import type { JoinKeyType } from '../definitions/value-type.js';
import type { RevisionSummary } from '../registry/registry-store.js';
import type { AppliedRepo } from '../registry/repo-from-registry.js';
import { encodeEntityKey, type JoinKeyValue } from '../stores/online-entity-key.js';

/** A feature view as the online path needs it: its definition, features, version, state layout, join keys. */
export interface ServedView {
  readonly definition: FeatureViewDefinition;
  readonly features: readonly ResolvedFeature[];
  readonly version: string;
  readonly layout: OnlineStateLayout;
  /** Join key -> type, over the view's entities, in declaration order. */
  readonly joinKeys: ReadonlyMap<string, JoinKeyType>;
  /**
   * Whether the view reads a Kinesis source: its online state then has a stream part (the events the
   * stream folds in) beside the batch part materialization writes, and reads merge the two.
   */
  readonly streamFed: boolean;
}

/** The applied definitions prepared once for serving and materializing (layouts are derived once, not per request). */
export interface ServingCatalog {
  readonly validated: ValidatedFeatureRepo;
  readonly views: ReadonlyMap<string, ServedView>;
  /**
   * Each view's versions in the order they were applied, oldest first: index N is Feast's `vN` (Feast
   * numbers a view's first version v0 and each change after it v1, v2, ...). Without it each view has
   * one version, v0, its applied one.
   */
  readonly versionHistories?: ReadonlyMap<string, readonly string[]>;
}

/**
 * `applied` prepared for serving; `versionHistories` (from `viewVersionHistories`) numbers the views'
 * versions for versioned references (`view@v2:feature`).
 */
export function servingCatalog(
  applied: AppliedRepo,
  versionHistories?: ReadonlyMap<string, readonly string[]>,
): ServingCatalog {
  const views = new Map<string, ServedView>();
  for (const definition of applied.validated.repo.featureViews) {
    const features = applied.validated.features.get(definition.name) ?? [];
    views.set(definition.name, {
      definition,
      features,
      version: applied.versions.get(`feature_view/${definition.name}`) ?? '',
      layout: onlineStateLayout(definition, features),
      joinKeys: new Map(
        definition.entities.flatMap((entity) => Object.entries(entity.joinKeys) as [string, JoinKeyType][]),
      ),
      streamFed: definition.source.kind === 'kinesis_source',
    });
  }
  return { validated: applied.validated, views, ...(versionHistories ? { versionHistories } : {}) };
}

/**
 * Each feature view's (and on-demand view's) versions from the registry's change log, oldest first: one entry per apply that
 * added the view or changed its version (as `Registry.versionHistory` counts them), so a definition
 * changed back to an earlier one gets a new number, as in Feast.
 */
export function viewVersionHistories(changeLog: readonly RevisionSummary[]): Map<string, string[]> {
  const histories = new Map<string, string[]>();
  for (const summary of changeLog) {
    for (const change of summary.changes) {
      const view = change.kind === 'feature_view' || change.kind === 'on_demand_feature_view';
      if (!view || change.action === 'remove') continue;
      if (!change.toVersion || change.fromVersion === change.toVersion) continue;
      histories.set(change.name, [...(histories.get(change.name) ?? []), change.toVersion]);
    }
  }
  return histories;
}

/** A view's versions, oldest first: its history, or its applied version alone when there is none. */
export function versionsOf(catalog: ServingCatalog, view: ServedView): readonly string[] {
  const history = catalog.versionHistories?.get(view.definition.name);
  return history && history.length > 0 ? history : [view.version];
}

/** The encoded entity key of a row's values (join key values present) for a view: its online items' `pk`. */
export function viewEntityKey(view: ServedView, values: Readonly<Record<string, unknown>>): string {
  const keys: Record<string, JoinKeyValue> = {};
  for (const name of view.joinKeys.keys()) keys[name] = values[name] as JoinKeyValue;
  return encodeEntityKey(keys);
}
