import { type NormalizedMetadata, normalizeMetadata, type ProductMetadata } from './metadata.js';
import type { JoinKeyType } from './value-type.js';

/** The thing features describe (a user, a merchant), identified by one or more join keys. */
export interface EntitySpec<Name extends string, Keys extends Record<string, JoinKeyType>>
  extends ProductMetadata {
  /** Unique among entities, a safe identifier such as `user`. */
  readonly name: Name;
  /** The columns that identify one instance, with their types: `{ user_id: 'int64' }`. */
  readonly joinKeys: Keys;
}

export interface EntityDefinition<
  Name extends string = string,
  Keys extends Record<string, JoinKeyType> = Record<string, JoinKeyType>,
> extends NormalizedMetadata {
  readonly kind: 'entity';
  readonly name: Name;
  readonly joinKeys: Keys;
}

/**
 * Declares an entity.
 * @example
 * export const user = entity({ name: 'user', joinKeys: { user_id: 'int64' }, owner: 'risk@example.com' });
 */
export function entity<const Name extends string, const Keys extends Record<string, JoinKeyType>>(
  spec: EntitySpec<Name, Keys>,
): EntityDefinition<Name, Keys> {
  return { kind: 'entity', name: spec.name, joinKeys: { ...spec.joinKeys }, ...normalizeMetadata(spec) };
}
