import { OnlineRequestError } from './online-request-error.js';
import { versionNumber } from './requested-features.js';
import { type ServingCatalog, versionsOf } from './serving-catalog.js';

/**
 * The tag a reference to `view` at `version` (`v2`, `version2`, a version id) is answered under: `v2` as
 * Feast writes it, or the version id as given. The version must be the one the online store holds for the
 * view: its applied version, the one materialization, pushes and streams write (items are keyed by view
 * and version, `OnlineItemKey`), and the only one whose definition the server has loaded. Any other version, or one the view never had, is 404
 * `UNKNOWN_VERSION` naming the versions the view has had and the one served.
 */
export function servedVersionTag(catalog: ServingCatalog, view: string, version: string): string | undefined {
  // An unknown view is reported with every other unknown name by resolveRequestedFeatures.
  if (!catalog.validated.features.has(view)) return undefined;
  const applied = appliedVersion(catalog, view);
  const history = versionHistory(catalog, view, applied);
  const number = versionNumber(version);
  const asked = number === undefined ? version : history[number];
  if (asked === applied) return number === undefined ? version : `v${number}`;
  const versions = history.map((id, index) => `v${index} (${id}${id === applied ? ', applied' : ''})`);
  const appliedNumber = history.lastIndexOf(applied);
  const what = !history.includes(asked ?? '')
    ? `has no version ${version}`
    : `is not served at ${version}${number === undefined ? '' : ` (${asked})`}`;
  throw new OnlineRequestError(
    'UNKNOWN_VERSION',
    `feature view "${view}" ${what}: the online store holds its applied version v${appliedNumber} (${applied}), which "${view}@latest" and "${view}@v${appliedNumber}" read; its versions are ${versions.join(', ')}. To serve another version, apply its definition and materialize it`,
  );
}

/** The version a view (stored or on-demand) is applied at. */
export function appliedVersion(catalog: ServingCatalog, view: string): string {
  const served = catalog.views.get(view);
  if (served) return served.version;
  return catalog.versionHistories?.get(view)?.at(-1) ?? '';
}

/** A view's versions, oldest first, ending with the applied one. */
export function versionHistory(catalog: ServingCatalog, view: string, applied: string): readonly string[] {
  const served = catalog.views.get(view);
  if (served) return versionsOf(catalog, served);
  const history = catalog.versionHistories?.get(view);
  return history && history.length > 0 ? history : [applied];
}
