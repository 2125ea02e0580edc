import type { Expression, FeatureExpression, RequestFieldExpression } from './expression.js';
import { referenceMap } from './feature-view.js';
import { type NormalizedMetadata, normalizeMetadata, type ProductMetadata } from './metadata.js';
import type { ValueType } from './value-type.js';

export interface OnDemandFeatureViewSpec<
  Name extends string,
  Request extends Readonly<Record<string, ValueType>>,
  Outputs extends Readonly<Record<string, Expression>>,
> extends ProductMetadata {
  /** Unique among feature views and on-demand views, a safe identifier. */
  readonly name: Name;
  /** Fields the online request carries (and the training spine holds as columns): `{ amount: 'float64' }`. */
  readonly request: Request;
  /**
   * The features, as expressions over request fields and other views' features.
   * @example features: (request) => ({ amount_to_mean: div(request.amount, userStats.features.amount_mean_30d) })
   */
  readonly features: (request: { readonly [K in keyof Request]: RequestFieldExpression }) => Outputs;
}

export interface OnDemandFeatureViewDefinition<Name extends string = string, Features extends string = string>
  extends NormalizedMetadata {
  readonly kind: 'on_demand_feature_view';
  readonly name: Name;
  readonly request: Readonly<Record<string, ValueType>>;
  readonly expressions: Readonly<Record<string, Expression>>;
  readonly features: { readonly [N in Features]: FeatureExpression };
}

/**
 * Declares features computed at request time from request fields and stored features.
 * @example
 * export const amountRatios = onDemandFeatureView({
 *   name: 'amount_ratios', request: { amount: 'float64' },
 *   features: (request) => ({ amount_to_30d_mean_ratio: div(request.amount, userStats.features.amount_mean_30d) }),
 * });
 */
export function onDemandFeatureView<
  const Name extends string,
  const Request extends Readonly<Record<string, ValueType>>,
  const Outputs extends Readonly<Record<string, Expression>>,
>(
  spec: OnDemandFeatureViewSpec<Name, Request, Outputs>,
): OnDemandFeatureViewDefinition<Name, keyof Outputs & string> {
  // Any field name gives a reference, so reading an undeclared field is reported at validation, not a crash here.
  const requestReferences = new Proxy(
    {},
    {
      get: (_, property) =>
        typeof property === 'string'
          ? ({ op: 'request', name: property } satisfies RequestFieldExpression)
          : undefined,
    },
  );
  const expressions = { ...spec.features(requestReferences as never) };
  return {
    kind: 'on_demand_feature_view',
    name: spec.name,
    request: { ...spec.request },
    expressions,
    features: referenceMap(Object.keys(expressions), spec.name) as never,
    ...normalizeMetadata(spec),
  };
}
