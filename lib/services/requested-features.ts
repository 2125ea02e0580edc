import { closestName } from '../definitions/closest-name.js';
import { parseFeatureReference } from '../definitions/feature-service.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';

/** Requested features that do not exist. */
export class UnknownFeatureError extends FstoreError {
  override readonly name = 'UnknownFeatureError';
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
    throw new UnknownFeatureError(`unknown features: ${described.join(', ')}`);
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
