import { closestName } from '../definitions/closest-name.js';
import { OnlineRequestError } from './online-request-error.js';
import type { ServingCatalog } from './serving-catalog.js';
import { servedVersionTag } from './view-versions.js';

/**
 * The views a materialize request (Feast's `feature_views` and `version`) runs for: the named ones, or
 * every online view. An unknown view is `UNKNOWN_FEATURE_VIEW` with the closest name, one not served
 * online `NOT_SERVED_ONLINE`; a `version` must be the applied one (`latest`, its `vN` or its id), the
 * only version materialization writes, else `UNKNOWN_VERSION` names the view's versions.
 * @example materializeTargets(catalog, ['user_stats'], 'latest') // ['user_stats']
 */
export function materializeTargets(
  catalog: ServingCatalog,
  views: readonly string[] | undefined,
  version: string | undefined,
): string[] {
  if (views === undefined) {
    return [...catalog.views.values()]
      .filter((view) => view.definition.online)
      .map((view) => view.definition.name);
  }
  const names = [...new Set(views)];
  for (const name of names) {
    const view = catalog.views.get(name);
    if (!view) {
      const suggestion = closestName(name, catalog.views.keys());
      throw new OnlineRequestError(
        'UNKNOWN_FEATURE_VIEW',
        `there is no feature view "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      );
    }
    if (!view.definition.online) {
      throw new OnlineRequestError(
        'NOT_SERVED_ONLINE',
        `feature view "${name}" is not served online (online: false), so there is nothing to materialize; set online: true and apply`,
      );
    }
    if (version !== undefined && version.toLowerCase() !== 'latest') servedVersionTag(catalog, name, version);
  }
  return names;
}
