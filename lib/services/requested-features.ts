import { closestName } from '../definitions/closest-name.js';
import { parseFeatureReference } from '../definitions/feature-service.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';

/**
 * Requested features that do not exist. `subject` says what was unknown: a feature service, a view (some
 * reference names a view that does not exist), or only features of existing views.
 */
export class UnknownFeatureError extends FstoreError {
  override readonly name = 'UnknownFeatureError';
  constructor(
    message: string,
    readonly subject: 'feature_service' | 'feature_view' | 'feature' = 'feature',
  ) {
    super(message);
  }
}

/**
 * The features a request names, as (view, feature) pairs in request order: either `view:feature`
 * references (`view:*` for a whole view) or a feature service's list. Unknown names are listed together,
 * each with the closest existing name, so one error fixes them all.
 */
export function resolveRequestedFeatures(
  repo: ValidatedFeatureRepo,
  options: { readonly features?: readonly string[] | undefined; readonly service?: string | undefined },
): { view: string; feature: string }[] {
  if ((options.features === undefined) === (options.service === undefined)) {
    throw new UnknownFeatureError(
      'give either features (view:feature, ...) or a feature service, not both or neither',
    );
  }
  let references: { view: string; feature: string }[];
  if (options.service !== undefined) {
    const service = repo.repo.featureServices.find((s) => s.name === options.service);
    if (!service) {
      const suggestion = closestName(
        options.service,
        repo.repo.featureServices.map((s) => s.name),
      );
      throw new UnknownFeatureError(
        `there is no feature service "${options.service}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
        'feature_service',
      );
    }
    references = [...service.features];
  } else {
    references = (options.features ?? []).map(parseFeatureReference);
  }
  const expanded = references.flatMap((reference) =>
    reference.feature === '*'
      ? (repo.features.get(reference.view) ?? []).map((f) => ({ view: reference.view, feature: f.name }))
      : [reference],
  );
  if (expanded.length === 0)
    throw new UnknownFeatureError('no features requested; name at least one view:feature');
  const all = [...repo.features.entries()].flatMap(([view, features]) =>
    features.map((f) => `${view}:${f.name}`),
  );
  const unknown = expanded.filter(({ view, feature }) => !all.includes(`${view}:${feature}`));
  if (unknown.length > 0) {
    const described = unknown.map(({ view, feature }) => {
      const name = `${view}:${feature}`;
      const suggestion = closestName(name, all);
      return suggestion ? `${name} (did you mean ${suggestion}?)` : name;
    });
    const unknownView = unknown.some(({ view }) => !repo.features.has(view));
    throw new UnknownFeatureError(
      `unknown features: ${described.join(', ')}`,
      unknownView ? 'feature_view' : 'feature',
    );
  }
  return expanded;
}

/** Feature names requested from more than one view, with those views: two columns of one name without full names. */
export function featureNameCollisions(
  requested: readonly { readonly view: string; readonly feature: string }[],
): [name: string, views: string[]][] {
  const viewsByName = new Map<string, string[]>();
  for (const { view, feature } of requested)
    viewsByName.set(feature, [...(viewsByName.get(feature) ?? []), view]);
  return [...viewsByName].filter(([, views]) => views.length > 1);
}

/** Features of one name from several views were asked for without full names. */
export class FeatureNameCollisionError extends FstoreError {
  override readonly name = 'FeatureNameCollisionError';
}

/** A feature reference with Feast's optional version: `view:feature`, `view@latest:feature`, `view@v2:feature`. */
export interface VersionedReference {
  /** `view:feature`, the reference without its version. */
  readonly reference: string;
  readonly view: string;
  /**
   * What follows `@`: undefined for none or `latest` (the applied version), else the text as given
   * (`v2`, `V2`, `version2`, or a version id).
   */
  readonly version: string | undefined;
}

/**
 * Splits off the version of a reference, as Feast's `_parse_feature_ref` does (`sdk/python/feast/utils.py`
 * lines 66-103): the view part ends at the first `:`, and its version follows the first `@`; an empty
 * version or `latest` (any case) is the applied one.
 * @example versionedReference('user_stats@v2:amount_sum_7d') // { reference: 'user_stats:amount_sum_7d', view: 'user_stats', version: 'v2' }
 */
export function versionedReference(text: string): VersionedReference {
  const colon = text.indexOf(':');
  const viewPart = colon < 0 ? '' : text.slice(0, colon);
  const at = viewPart.indexOf('@');
  if (at < 0) return { reference: text, view: viewPart, version: undefined };
  const view = viewPart.slice(0, at);
  const version = viewPart.slice(at + 1);
  return {
    reference: `${view}${text.slice(colon)}`,
    view,
    version: version === '' || version.toLowerCase() === 'latest' ? undefined : version,
  };
}

/** The number of a Feast version tag: `v2`, `V2` or `version2` -> 2 (Feast's formats); undefined for others. */
export function versionNumber(tag: string): number | undefined {
  const match = /^(?:v|version)(\d{1,9})$/i.exec(tag);
  return match ? Number(match[1]) : undefined;
}
