import { type OnlineStateLayout, onlineStateLayout } from '../compute/online-state.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import type { JoinKeyType } from '../definitions/value-type.js';
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
}

export function servingCatalog(applied: AppliedRepo): ServingCatalog {
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
  return { validated: applied.validated, views };
}

/** The encoded entity key of a row's values (join key values present) for a view: its online items' `pk`. */
export function viewEntityKey(view: ServedView, values: Readonly<Record<string, unknown>>): string {
  const keys: Record<string, JoinKeyValue> = {};
  for (const name of view.joinKeys.keys()) keys[name] = values[name] as JoinKeyValue;
  return encodeEntityKey(keys);
}
