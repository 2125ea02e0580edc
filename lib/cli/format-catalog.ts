import { entitiesOf, upstreamViews } from '../registry/discovery.js';
import type { VersionHistoryEntry } from '../registry/registry.js';
import type { RegistryObject } from '../registry/registry-object.js';
import { textTable, truncate } from './text-table.js';

/** One line per object: what `fstore list` prints. */
export function formatObjectList(objects: readonly RegistryObject[]): string {
  if (objects.length === 0) return 'No objects match.';
  return textTable(
    ['KIND', 'NAME', 'VERSION', 'FEATURES', 'OWNER', 'DESCRIPTION'],
    objects.map((object) => [
      object.kind,
      object.name,
      object.version,
      object.features ? String(object.features.length) : '-',
      object.owner || '-',
      truncate(object.description, 60),
    ]),
  );
}

/** Where an object's data comes from and who uses it: source -> view -> services. */
export function lineageOf(
  object: RegistryObject,
  all: readonly RegistryObject[],
): { upstream: string[]; downstream: string[] } {
  const upstream: string[] = [];
  if (object.kind === 'feature_view') upstream.push(`source ${String(object.definition.source)}`);
  if (object.kind === 'kinesis_source')
    upstream.push(`batch source ${String(object.definition.batchSource)}`);
  for (const view of upstreamViews(object)) upstream.push(`view ${view}`);
  const downstream = all
    .filter((other) => {
      if (other.name === object.name && other.kind === object.kind) return false;
      if (object.kind === 'feature_view' || object.kind === 'on_demand_feature_view') {
        return upstreamViews(other).includes(object.name);
      }
      if (object.kind === 'batch_source' || object.kind === 'kinesis_source') {
        return other.definition.source === object.name || other.definition.batchSource === object.name;
      }
      if (object.kind === 'entity') {
        return other.kind === 'feature_view' && (other.definition.entities as string[]).includes(object.name);
      }
      return false;
    })
    .map((other) => `${other.kind.replaceAll('_', ' ')} ${other.name}`);
  return { upstream, downstream };
}

/** Everything about one object: what `fstore describe` prints. */
export function formatObjectDescription(
  object: RegistryObject,
  all: readonly RegistryObject[],
  history: readonly VersionHistoryEntry[],
): string {
  const byName = new Map(all.map((other) => [other.name, other]));
  const lines = [
    `${object.kind} ${object.name}`,
    `  version:     ${object.version}`,
    `  description: ${object.description || '-'}`,
    `  owner:       ${object.owner || '-'}`,
    `  tags:        ${
      Object.entries(object.tags)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ') || '-'
    }`,
  ];
  const entities = [...entitiesOf(object, byName)].filter((name) => name !== object.name);
  if (entities.length > 0) lines.push(`  entities:    ${entities.join(', ')}`);
  for (const [key, value] of Object.entries(object.definition)) {
    if (['derived', 'expressions', 'aggregations', 'lastK', 'features', 'entities'].includes(key)) continue;
    if (value === null || (typeof value === 'object' && Object.keys(value).length === 0)) continue;
    lines.push(`  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  if (object.features) {
    lines.push('', 'Features:');
    lines.push(
      indent(
        textTable(
          ['NAME', 'TYPE', 'COMPUTED AS'],
          object.features.map((f) => [f.name, f.dtype, f.computation]),
        ),
      ),
    );
  } else if (object.kind === 'feature_service') {
    lines.push('', 'Features:', ...(object.definition.features as string[]).map((feature) => `  ${feature}`));
  }
  const { upstream, downstream } = lineageOf(object, all);
  lines.push('', 'Lineage:');
  lines.push(`  reads from: ${upstream.join(', ') || '-'}`);
  lines.push(`  used by:    ${downstream.join(', ') || '-'}`);
  lines.push('', 'Version history:');
  lines.push(
    indent(
      textTable(
        ['REVISION', 'VERSION', 'CHANGE', 'APPLIED AT', 'APPLIED BY'],
        history.map((entry) => [
          String(entry.revision),
          entry.version,
          `${entry.action}${entry.breaking ? ' (breaking)' : ''}`,
          entry.appliedAt,
          entry.appliedBy,
        ]),
      ),
    ),
  );
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
