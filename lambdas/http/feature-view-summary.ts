import { closestName } from '../../lib/definitions/closest-name.js';
import type { FeatureType } from '../../lib/definitions/value-type.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import { ApiError } from './api-error.js';

/** A feature view as the `/registry/feature-views` routes describe it. */
export interface FeatureViewSummary {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Entity names; their join keys are what `entities` in `get-online-features` must hold. */
  readonly entities: readonly string[];
  /** Whether `get-online-features` serves the view. */
  readonly online: boolean;
  readonly features: readonly {
    readonly name: string;
    readonly dtype: FeatureType;
    /** How the value is computed, e.g. `mean(amount) over 7d, hop 1h`. */
    readonly computation: string;
  }[];
}

/** The summary of a registry object of kind `feature_view`. */
export function featureViewSummary(object: RegistryObject): FeatureViewSummary {
  const entities = object.definition.entities;
  return {
    name: object.name,
    version: object.version,
    description: object.description,
    owner: object.owner,
    tags: object.tags,
    entities: Array.isArray(entities) ? entities.filter((entity) => typeof entity === 'string') : [],
    online: object.definition.online !== false,
    features: (object.features ?? []).map(({ name, dtype, computation }) => ({ name, dtype, computation })),
  };
}

/** The feature view called `name`, or 404 `NOT_FOUND` suggesting the closest name. */
export function featureViewNamed(objects: readonly RegistryObject[], name: string): RegistryObject {
  const views = objects.filter((object) => object.kind === 'feature_view');
  const view = views.find((object) => object.name === name);
  if (view !== undefined) return view;
  const suggestion = closestName(
    name,
    views.map((object) => object.name),
  );
  throw new ApiError(
    404,
    'NOT_FOUND',
    `there is no feature view "${name}"; ${suggestion ? `did you mean "${suggestion}"?` : 'list them with GET /registry/feature-views'}`,
  );
}
