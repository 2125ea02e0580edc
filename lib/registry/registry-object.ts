import type { DefinitionKind } from '../definitions/feature-repo.js';
import type { FeatureType } from '../definitions/value-type.js';

export type { DefinitionKind } from '../definitions/feature-repo.js';

/** Plain JSON, as stored in the registry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One feature as the registry records it: its type and how it is computed, in a form fit for the catalog. */
export interface RegistryFeature {
  readonly name: string;
  readonly dtype: FeatureType;
  /** What gives the feature its value, e.g. `mean(amount) over 7d, hop 1h` or `safe_div(a, b)`. */
  readonly computation: string;
  /**
   * A hash of everything that determines this feature's values. A feature whose signature changes
   * means something else now: the change is breaking for anyone who trained on it.
   */
  readonly signature: string;
}

/** A definition as stored: references to other objects by name, plus its version and (for views) its features. */
export interface RegistryObject {
  readonly kind: DefinitionKind;
  readonly name: string;
  /** Content hash of what changes the object's values; unchanged by descriptions, owners, tags, TTL or schedule. */
  readonly version: string;
  readonly description: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The full definition as JSON, for describe and for rebuilding services from the registry. */
  readonly definition: { readonly [key: string]: JsonValue };
  /** Views only: their features in declaration order. */
  readonly features?: readonly RegistryFeature[];
}

/** `kind/name`, the identity of an object in the registry. */
export function objectKey(object: { kind: string; name: string }): string {
  return `${object.kind}/${object.name}`;
}
