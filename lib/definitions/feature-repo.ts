import type { EntityDefinition } from './entity.js';
import type { FeatureServiceDefinition } from './feature-service.js';
import type { FeatureViewDefinition } from './feature-view.js';
import type { OnDemandFeatureViewDefinition } from './on-demand-feature-view.js';
import type { SourceDefinition } from './sources.js';

/** All definitions of one feature repo, as its definition files export them. */
export interface FeatureRepo {
  readonly entities: readonly EntityDefinition[];
  readonly sources: readonly SourceDefinition[];
  readonly featureViews: readonly FeatureViewDefinition[];
  readonly onDemandFeatureViews: readonly OnDemandFeatureViewDefinition[];
  readonly featureServices: readonly FeatureServiceDefinition[];
}

export type Definition = FeatureRepo[keyof FeatureRepo][number];

/** Every kind of definition, in dependency order: what a kind refers to comes before it. */
export const DEFINITION_KINDS = [
  'entity',
  'batch_source',
  'kinesis_source',
  'feature_view',
  'on_demand_feature_view',
  'feature_service',
] as const;
export type DefinitionKind = (typeof DEFINITION_KINDS)[number];

export function isDefinition(value: unknown): value is Definition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (DEFINITION_KINDS as readonly unknown[]).includes((value as { kind?: unknown }).kind) &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

/**
 * Gathers the definitions among exported values (arrays of definitions count too). The same object
 * exported twice counts once; two distinct objects with one name are kept, for validation to report.
 */
export function collectDefinitions(exported: Iterable<unknown>): FeatureRepo {
  const seen = new Set<Definition>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isDefinition(value)) seen.add(value);
  };
  for (const value of exported) visit(value);
  const all = [...seen];
  return {
    entities: all.filter((d): d is EntityDefinition => d.kind === 'entity'),
    sources: all.filter(
      (d): d is SourceDefinition => d.kind === 'batch_source' || d.kind === 'kinesis_source',
    ),
    featureViews: all.filter((d): d is FeatureViewDefinition => d.kind === 'feature_view'),
    onDemandFeatureViews: all.filter(
      (d): d is OnDemandFeatureViewDefinition => d.kind === 'on_demand_feature_view',
    ),
    featureServices: all.filter((d): d is FeatureServiceDefinition => d.kind === 'feature_service'),
  };
}

export const EMPTY_FEATURE_REPO: FeatureRepo = {
  entities: [],
  sources: [],
  featureViews: [],
  onDemandFeatureViews: [],
  featureServices: [],
};
