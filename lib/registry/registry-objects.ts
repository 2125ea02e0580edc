import { formatDuration } from '../definitions/duration.js';
import type { EntityDefinition } from '../definitions/entity.js';
import { type Expression, expressionReferences, formatExpression } from '../definitions/expression.js';
import type { FeatureServiceDefinition } from '../definitions/feature-service.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { OnDemandFeatureViewDefinition } from '../definitions/on-demand-feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { SourceDefinition } from '../definitions/sources.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { contentHash } from './canonical-json.js';
import type { JsonValue, RegistryFeature, RegistryObject } from './registry-object.js';

/**
 * Turns a validated repo into the objects the registry stores, each with its version. Versions hash only
 * what changes values: a description, owner, tag, TTL, schedule or online flag edit keeps the version, so
 * stored data stays valid; a window, column, source location or expression edit makes a new one.
 */
export function toRegistryObjects(validated: ValidatedFeatureRepo): RegistryObject[] {
  const { repo, features } = validated;
  const sourceIdentity = new Map(repo.sources.map((source) => [source.name, sourceValueIdentity(source)]));
  const objects: RegistryObject[] = [];

  for (const entity of repo.entities) {
    objects.push(
      withMetadata(entity, contentHash({ joinKeys: entity.joinKeys }), {
        joinKeys: { ...entity.joinKeys },
      }),
    );
  }
  for (const source of repo.sources) {
    objects.push(
      withMetadata(source, contentHash(sourceIdentity.get(source.name)), sourceDefinitionJson(source)),
    );
  }

  const signatures = new Map<string, string>();
  for (const view of repo.featureViews) {
    const viewFeatures = registryFeaturesOfView(view, features.get(view.name) ?? [], sourceIdentity);
    for (const feature of viewFeatures) signatures.set(`${view.name}:${feature.name}`, feature.signature);
    objects.push({
      ...withMetadata(view, hashFeatures(viewFeatures), featureViewDefinitionJson(view)),
      features: viewFeatures,
    });
  }
  for (const view of onDemandInDependencyOrder(repo.onDemandFeatureViews)) {
    const viewFeatures = (features.get(view.name) ?? []).map((feature): RegistryFeature => {
      const expression = view.expressions[feature.name] as Expression;
      const upstream = expressionReferences(expression).features.map((ref) =>
        signatures.get(`${ref.view}:${ref.name}`),
      );
      return {
        name: feature.name,
        dtype: feature.dtype ?? 'float64',
        computation: formatExpression(expression),
        signature: contentHash({ dtype: feature.dtype, expression, request: view.request, upstream }),
      };
    });
    for (const feature of viewFeatures) signatures.set(`${view.name}:${feature.name}`, feature.signature);
    objects.push({
      ...withMetadata(view, hashFeatures(viewFeatures), {
        request: { ...view.request },
        expressions: Object.fromEntries(
          Object.entries(view.expressions).map(([name, expression]) => [name, toJson(expression)]),
        ),
      }),
      features: viewFeatures,
    });
  }
  for (const service of repo.featureServices) {
    const entries = expandServiceFeatures(service, features);
    objects.push(
      withMetadata(
        service,
        contentHash(
          entries.map((entry) => ({ ...entry, signature: signatures.get(`${entry.view}:${entry.feature}`) })),
        ),
        { features: entries.map((entry) => `${entry.view}:${entry.feature}`) },
      ),
    );
  }
  return objects;
}

function withMetadata(
  definition: {
    kind: RegistryObject['kind'];
    name: string;
    description: string;
    owner: string;
    tags: Readonly<Record<string, string>>;
  },
  version: string,
  body: { [key: string]: JsonValue },
): RegistryObject {
  return {
    kind: definition.kind,
    name: definition.name,
    version,
    description: definition.description,
    owner: definition.owner,
    tags: { ...definition.tags },
    definition: body,
  };
}

/** What about a source determines the values computed from it (its description does not). */
function sourceValueIdentity(source: SourceDefinition): { [key: string]: JsonValue } {
  if (source.kind === 'batch_source') {
    return {
      kind: source.kind,
      path: source.path,
      format: source.format,
      timestampField: source.timestampField,
      createdTimestampField: source.createdTimestampField ?? null,
    };
  }
  // Values are computed from the batch source's data, where the stream lands every event it accepts
  // (the raw area), so reading a view from the stream instead of its batch source keeps its version.
  return sourceValueIdentity(source.batchSource);
}

function sourceDefinitionJson(source: SourceDefinition): { [key: string]: JsonValue } {
  const common = { schema: { ...source.schema }, timestampField: source.timestampField };
  if (source.kind === 'batch_source') {
    return {
      ...common,
      path: source.path,
      format: source.format,
      createdTimestampField: source.createdTimestampField ?? null,
    };
  }
  return {
    ...common,
    streamName: source.streamName,
    batchSource: source.batchSource.name,
    allowedLateness: source.allowedLateness,
    partitionKey: source.partitionKey ?? null,
  };
}

function featureViewDefinitionJson(view: FeatureViewDefinition): { [key: string]: JsonValue } {
  return {
    entities: view.entities.map((entity) => entity.name),
    source: view.source.name,
    fields: { ...view.fields },
    aggregations: view.aggregations.map((a) => ({
      column: a.column,
      functions: [...a.functions],
      windows: [...a.windows],
      hop: a.hop ?? null,
    })),
    lastK: view.lastK.map((item) => ({ column: item.column, k: item.k, name: item.name })),
    daysSinceFirstEvent: view.daysSinceFirstEvent ?? null,
    daysSinceLastEvent: view.daysSinceLastEvent ?? null,
    derived: Object.fromEntries(
      Object.entries(view.derived).map(([name, expression]) => [name, toJson(expression)]),
    ),
    ttl: view.ttl ?? null,
    online: view.online,
    offline: view.offline,
    schedule: view.schedule ?? null,
    validation: toJson(view.validation ?? { policy: 'warn', features: {} }),
  };
}

function registryFeaturesOfView(
  view: FeatureViewDefinition,
  resolved: readonly ResolvedFeature[],
  sourceIdentity: ReadonlyMap<string, { [key: string]: JsonValue } | undefined>,
): RegistryFeature[] {
  const schema = view.source.schema as Record<string, string>;
  const context = {
    entities: view.entities.map((entity: EntityDefinition) => ({
      name: entity.name,
      joinKeys: entity.joinKeys,
    })),
    source: sourceIdentity.get(view.source.name) ?? null,
  };
  const signatures = new Map<string, string>();
  const signatureOf = (feature: ResolvedFeature): string => {
    const known = signatures.get(feature.name);
    if (known) return known;
    const origin = feature.origin;
    let inputs: JsonValue;
    if (origin.kind === 'derived') {
      // A derived feature means something else when any feature it reads does.
      const upstream = expressionReferences(origin.expression).features.map((ref) => {
        const sibling = resolved.find((candidate) => candidate.name === ref.name);
        return sibling ? signatureOf(sibling) : null;
      });
      inputs = { expression: toJson(origin.expression), upstream };
    } else {
      const column = 'column' in origin ? origin.column : undefined;
      inputs = { ...context, origin: toJson(origin), columnType: column ? (schema[column] ?? null) : null };
    }
    const signature = contentHash({ name: feature.name, dtype: feature.dtype, inputs });
    signatures.set(feature.name, signature);
    return signature;
  };
  return resolved.map((feature) => ({
    name: feature.name,
    dtype: feature.dtype ?? 'float64',
    computation: describeComputation(feature),
    signature: signatureOf(feature),
  }));
}

/** A view's version: its features' signatures, sorted by name so declaration order does not matter. */
function hashFeatures(features: readonly RegistryFeature[]): string {
  return contentHash(
    [...features]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((feature) => [feature.name, feature.signature]),
  );
}

function describeComputation(feature: ResolvedFeature): string {
  const origin = feature.origin;
  switch (origin.kind) {
    case 'field':
      return `latest ${origin.column}`;
    case 'aggregation': {
      const hop = origin.hopMs === undefined ? '' : `, hop ${formatDuration(origin.hopMs)}`;
      return `${origin.function}(${origin.column}) over ${origin.window}${hop}`;
    }
    case 'last_k':
      return `last ${origin.k} of ${origin.column}, newest first`;
    case 'days_since_first_event':
      return 'days since first event';
    case 'days_since_last_event':
      return 'days since latest event';
    case 'derived':
      return formatExpression(origin.expression);
  }
}

/** On-demand views may read one another; upstream views come first so their signatures are known. */
function onDemandInDependencyOrder(
  views: readonly OnDemandFeatureViewDefinition[],
): OnDemandFeatureViewDefinition[] {
  const byName = new Map(views.map((view) => [view.name, view]));
  const ordered: OnDemandFeatureViewDefinition[] = [];
  const placed = new Set<string>();
  const place = (view: OnDemandFeatureViewDefinition): void => {
    if (placed.has(view.name)) return;
    placed.add(view.name);
    for (const expression of Object.values(view.expressions)) {
      for (const ref of expressionReferences(expression).features) {
        const upstream = ref.view ? byName.get(ref.view) : undefined;
        if (upstream) place(upstream);
      }
    }
    ordered.push(view);
  };
  views.forEach(place);
  return ordered;
}

/** A service's features with whole-view selections spelled out, so the stored list is explicit. */
function expandServiceFeatures(
  service: FeatureServiceDefinition,
  features: ReadonlyMap<string, readonly ResolvedFeature[]>,
): { view: string; feature: string }[] {
  return service.features.flatMap((entry) =>
    entry.feature === '*'
      ? (features.get(entry.view) ?? []).map((feature) => ({ view: entry.view, feature: feature.name }))
      : [{ view: entry.view, feature: entry.feature }],
  );
}

function toJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
