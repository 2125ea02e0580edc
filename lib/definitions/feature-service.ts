import type { FeatureExpression } from './expression.js';
import type { FeatureViewDefinition } from './feature-view.js';
import { type NormalizedMetadata, normalizeMetadata, type ProductMetadata } from './metadata.js';
import type { OnDemandFeatureViewDefinition } from './on-demand-feature-view.js';

/** One feature (`view.features.x` or `'view:feature'`), or a whole view meaning all of its features. */
export type FeatureSelection =
  | FeatureExpression
  | FeatureViewDefinition
  | OnDemandFeatureViewDefinition
  | `${string}:${string}`;

export interface FeatureServiceSpec<Name extends string> extends ProductMetadata {
  /** Unique among feature services, a safe identifier. */
  readonly name: Name;
  readonly features: readonly FeatureSelection[];
}

/** A feature reference as stored: `feature` is `*` for all features of the view. */
export interface FeatureServiceEntry {
  readonly view: string;
  readonly feature: string;
}

export interface FeatureServiceDefinition<Name extends string = string> extends NormalizedMetadata {
  readonly kind: 'feature_service';
  readonly name: Name;
  readonly features: readonly FeatureServiceEntry[];
}

/** `view:feature` into its two parts; a string without exactly one colon gives an empty view name. */
export function parseFeatureReference(reference: string): FeatureServiceEntry {
  const parts = reference.split(':');
  return parts.length === 2
    ? { view: parts[0] ?? '', feature: parts[1] ?? '' }
    : { view: '', feature: reference };
}

function toEntry(selection: FeatureSelection): FeatureServiceEntry {
  if (typeof selection === 'string') return parseFeatureReference(selection);
  if (selection === null || typeof selection !== 'object') return { view: '', feature: String(selection) };
  if ('kind' in selection) return { view: selection.name, feature: '*' };
  return { view: selection.view ?? '', feature: selection.name };
}

/**
 * Declares the features one model uses, so training and serving ask for the same list by one name.
 * @example
 * export const fraudModel = featureService({ name: 'fraud_model_v1', features: [userStats, amountRatios.features.amount_to_30d_mean_ratio] });
 */
export function featureService<const Name extends string>(
  spec: FeatureServiceSpec<Name>,
): FeatureServiceDefinition<Name> {
  return {
    kind: 'feature_service',
    name: spec.name,
    features: (spec.features ?? []).map(toEntry),
    ...normalizeMetadata(spec),
  };
}
