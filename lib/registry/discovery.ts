import type { DefinitionKind, RegistryObject } from './registry-object.js';

/** Filters for finding objects in the catalog; all given filters must match. */
export interface DiscoveryFilter {
  readonly kind?: DefinitionKind;
  /** Case-insensitive text found in the name, description, a tag or a feature name. */
  readonly search?: string;
  /** `key` (any value) or `key=value`. */
  readonly tag?: string;
  readonly owner?: string;
  /** Views of this entity (and services that use such views). */
  readonly entity?: string;
}

/** The objects matching a filter, sorted by kind then name. */
export function findObjects(
  objects: readonly RegistryObject[],
  filter: DiscoveryFilter = {},
): RegistryObject[] {
  const byName = new Map(objects.map((object) => [object.name, object]));
  return objects
    .filter((object) => filter.kind === undefined || object.kind === filter.kind)
    .filter(
      (object) => filter.owner === undefined || object.owner.toLowerCase() === filter.owner.toLowerCase(),
    )
    .filter((object) => filter.tag === undefined || hasTag(object, filter.tag))
    .filter((object) => filter.search === undefined || mentions(object, filter.search.toLowerCase()))
    .filter((object) => filter.entity === undefined || entitiesOf(object, byName).has(filter.entity))
    .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind < b.kind ? -1 : 1));
}

function hasTag(object: RegistryObject, tag: string): boolean {
  const separator = tag.indexOf('=');
  if (separator === -1) return tag in object.tags;
  const key = tag.slice(0, separator);
  return key in object.tags && object.tags[key] === tag.slice(separator + 1);
}

function mentions(object: RegistryObject, text: string): boolean {
  const haystack = [
    object.name,
    object.description,
    ...Object.entries(object.tags).flat(),
    ...(object.features ?? []).map((feature) => feature.name),
    ...(object.kind === 'feature_service' ? (object.definition.features as string[]) : []),
  ];
  return haystack.some((item) => item.toLowerCase().includes(text));
}

/** The entities an object is about: a view's own, an on-demand view's or a service's through the views they read. */
export function entitiesOf(object: RegistryObject, byName: ReadonlyMap<string, RegistryObject>): Set<string> {
  const found = new Set<string>();
  const visit = (current: RegistryObject, seen: Set<string>): void => {
    if (seen.has(current.name)) return;
    seen.add(current.name);
    if (current.kind === 'entity') found.add(current.name);
    if (current.kind === 'feature_view') {
      for (const entity of current.definition.entities as string[]) found.add(entity);
    }
    for (const upstream of upstreamViews(current)) {
      const view = byName.get(upstream);
      if (view) visit(view, seen);
    }
  };
  visit(object, new Set());
  return found;
}

/** Names of the views an on-demand view or a service reads. */
export function upstreamViews(object: RegistryObject): string[] {
  if (object.kind === 'feature_service') {
    return [
      ...new Set((object.definition.features as string[]).map((reference) => reference.split(':')[0] ?? '')),
    ];
  }
  if (object.kind === 'on_demand_feature_view') {
    const views = new Set<string>();
    const visit = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      if (record.op === 'feature' && typeof record.view === 'string') views.add(record.view);
      for (const value of Object.values(record)) visit(value);
    };
    visit(object.definition.expressions);
    return [...views];
  }
  return [];
}
