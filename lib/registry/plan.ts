import { DEFINITION_KINDS } from '../definitions/feature-repo.js';
import { canonicalJson } from './canonical-json.js';
import { type DefinitionKind, objectKey, type RegistryObject } from './registry-object.js';

export type ChangeAction = 'add' | 'change' | 'remove';

/** One object's change between the stored registry and the repo. */
export interface PlannedChange {
  readonly kind: DefinitionKind;
  readonly name: string;
  readonly action: ChangeAction;
  /**
   * True when something that exists now would change meaning or disappear: a removed object or
   * feature, a feature computed differently, a changed join key or source location. Adding features
   * and editing metadata are not breaking.
   */
  readonly breaking: boolean;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  /** Top-level settings that differ, e.g. `description`, `aggregations`, `ttl`. */
  readonly changedSettings: readonly string[];
  /** Human-readable details: which features were added, removed or redefined. */
  readonly details: readonly string[];
}

/** What applying `next` over `current` would change, object by object, in a stable order. */
export function planChanges(
  current: readonly RegistryObject[],
  next: readonly RegistryObject[],
): PlannedChange[] {
  const before = new Map(current.map((object) => [objectKey(object), object]));
  const after = new Map(next.map((object) => [objectKey(object), object]));
  const changes: PlannedChange[] = [];
  for (const [key, object] of after) {
    const previous = before.get(key);
    if (!previous) {
      changes.push({
        kind: object.kind,
        name: object.name,
        action: 'add',
        breaking: false,
        fromVersion: null,
        toVersion: object.version,
        changedSettings: [],
        details: [],
      });
    } else if (canonicalJson(previous) !== canonicalJson(object)) {
      changes.push(describeChange(previous, object));
    }
  }
  for (const [key, object] of before) {
    if (!after.has(key)) {
      changes.push({
        kind: object.kind,
        name: object.name,
        action: 'remove',
        breaking: true,
        fromVersion: object.version,
        toVersion: null,
        changedSettings: [],
        details: [`${object.kind} "${object.name}" and everything stored under it stops being served`],
      });
    }
  }
  return changes.sort(
    (a, b) =>
      DEFINITION_KINDS.indexOf(a.kind) - DEFINITION_KINDS.indexOf(b.kind) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

function describeChange(previous: RegistryObject, next: RegistryObject): PlannedChange {
  const settings = new Set([...Object.keys(previous.definition), ...Object.keys(next.definition)]);
  const changedSettings = [...settings].filter(
    (setting) => canonicalJson(previous.definition[setting]) !== canonicalJson(next.definition[setting]),
  );
  for (const metadata of ['description', 'owner', 'tags'] as const) {
    if (canonicalJson(previous[metadata]) !== canonicalJson(next[metadata])) changedSettings.push(metadata);
  }
  const details: string[] = [];
  let breaking = false;
  if (previous.features || next.features) {
    const oldFeatures = new Map((previous.features ?? []).map((f) => [f.name, f]));
    const newFeatures = new Map((next.features ?? []).map((f) => [f.name, f]));
    for (const [name, feature] of newFeatures) {
      const old = oldFeatures.get(name);
      if (!old) details.push(`feature ${name} added (${feature.dtype})`);
      else if (old.dtype !== feature.dtype) {
        details.push(`feature ${name} changes type ${old.dtype} -> ${feature.dtype}`);
        breaking = true;
      } else if (old.signature !== feature.signature) {
        details.push(
          old.computation === feature.computation
            ? `feature ${name} reads different input (its source, a column type or a join key changed)`
            : `feature ${name} is computed differently: ${old.computation} -> ${feature.computation}`,
        );
        breaking = true;
      }
    }
    for (const name of oldFeatures.keys()) {
      if (!newFeatures.has(name)) {
        details.push(`feature ${name} removed`);
        breaking = true;
      }
    }
  } else if (previous.version !== next.version) {
    breaking = breaksExistingUse(previous, next, details);
  }
  return {
    kind: next.kind,
    name: next.name,
    action: 'change',
    breaking,
    fromVersion: previous.version,
    toVersion: next.version,
    changedSettings,
    details,
  };
}

/** Objects without features (entities, sources, services): what makes their version change breaking. */
function breaksExistingUse(previous: RegistryObject, next: RegistryObject, details: string[]): boolean {
  if (next.kind === 'feature_service') {
    const before = new Set(previous.definition.features as string[]);
    const after = new Set(next.definition.features as string[]);
    const removed = [...before].filter((feature) => !after.has(feature));
    const added = [...after].filter((feature) => !before.has(feature));
    for (const feature of added) details.push(`feature ${feature} added`);
    for (const feature of removed) details.push(`feature ${feature} removed`);
    if (removed.length === 0 && added.length === 0)
      details.push('a feature it serves is computed differently');
    return removed.length > 0 || added.length === 0;
  }
  if (next.kind === 'entity') {
    details.push(
      `join keys ${canonicalJson(previous.definition.joinKeys)} -> ${canonicalJson(next.definition.joinKeys)}`,
    );
    return true;
  }
  details.push('the data behind it moves or is read differently');
  return true;
}
