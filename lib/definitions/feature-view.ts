import type { Duration } from './duration.js';
import type { EntityDefinition } from './entity.js';
import type { Expression, FeatureExpression } from './expression.js';
import { type NormalizedMetadata, normalizeMetadata, type ProductMetadata } from './metadata.js';
import type { Schema, SourceDefinition } from './sources.js';
import type { ValueType } from './value-type.js';

/** Functions a time-window aggregation can apply (DESIGN.md section 3 gives each one's empty-window value). */
export const AGGREGATION_FUNCTIONS = [
  'sum',
  'count',
  'mean',
  'min',
  'max',
  'stddev',
  'variance',
  'last',
] as const;
export type AggregationFunction = (typeof AGGREGATION_FUNCTIONS)[number];

/**
 * Aggregations of one column over time windows. Each (function, window) pair is a feature named
 * `<column>_<function>_<window>`, e.g. `amount_mean_7d`. Windows are spans of time, never row counts.
 */
export interface WindowAggregationSpec<
  Column extends string = string,
  Fn extends AggregationFunction = AggregationFunction,
  Window extends Duration = Duration,
> {
  /** The source column aggregated. */
  readonly column: Column;
  readonly functions: readonly Fn[];
  readonly windows: readonly Window[];
  /** How far the old edge of each window moves at a time; must divide every window. @default by window size: 1d from 12d, 1h from 12h, else 5m */
  readonly hop?: Duration;
}

/** The k most recent values of a column before the read time, newest first. */
export interface LastKSpec<
  Column extends string = string,
  K extends number = number,
  Name extends string = string,
> {
  readonly column: Column;
  /** How many values, 1 to 100. */
  readonly k: K;
  /** @default `<column>_last_<k>` */
  readonly name?: Name;
}

type AggregationFeatureNames<A> = A extends readonly (infer Item)[]
  ? Item extends WindowAggregationSpec<infer C, infer F, infer W>
    ? `${C}_${F}_${W}`
    : never
  : never;

type LastKFeatureNames<L> = L extends readonly (infer Item)[]
  ? Item extends { readonly name: infer N extends string }
    ? N
    : Item extends LastKSpec<infer C, infer K>
      ? `${C}_last_${K}`
      : never
  : never;

/** References to a view's features by name, handed to `derived` so an editor completes the names. */
export type FeatureReferences<Names extends string> = { readonly [N in Names]: FeatureExpression };

export interface FeatureViewSpec<
  Name extends string,
  S extends Schema,
  Fields extends Readonly<Record<string, ValueType>>,
  Aggregations extends readonly WindowAggregationSpec<keyof S & string>[],
  LastK extends readonly LastKSpec<keyof S & string>[],
  FirstName extends string,
  LastName extends string,
  Derived extends Readonly<Record<string, Expression>>,
> extends ProductMetadata {
  /** Unique among feature views and on-demand views, a safe identifier. */
  readonly name: Name;
  /** Whom the features describe; their join keys must be columns of the source. */
  readonly entities: readonly EntityDefinition[];
  readonly source: SourceDefinition & { readonly schema: S };
  /** Source columns served as their latest value as of the read time (within the TTL): `{ credit_score: 'float64' }`. @default {} */
  readonly fields?: Fields;
  /** Time-window aggregations. @default [] */
  readonly aggregations?: Aggregations;
  /** Last-k value lists. @default [] */
  readonly lastK?: LastK;
  /** Name of a feature holding the days since the entity's first event before the read time. @default none */
  readonly daysSinceFirstEvent?: FirstName;
  /** Name of a feature holding the days since the entity's latest event before the read time. @default none */
  readonly daysSinceLastEvent?: LastName;
  /**
   * Features computed from this view's other features.
   * @example derived: (f) => ({ weekly_to_monthly_ratio: div(f.amount_sum_7d, f.amount_sum_30d) })
   */
  readonly derived?: (
    features: FeatureReferences<
      | (keyof Fields & string)
      | AggregationFeatureNames<Aggregations>
      | LastKFeatureNames<LastK>
      | FirstName
      | LastName
    >,
  ) => Derived;
  /** Values older than this at read time are not served as present (online `OUTSIDE_MAX_AGE`, offline null). @default no limit */
  readonly ttl?: Duration;
  /** Materialize to and serve from the online store. @default true */
  readonly online?: boolean;
  /** Compute into the offline store for training and batch use. @default true */
  readonly offline?: boolean;
  /** EventBridge schedule for batch recomputation: `rate(1 hour)` or `cron(0 3 * * ? *)`. @default none (on demand only) */
  readonly schedule?: string;
  /** Checks each computed partition must pass, and what a failure stops. @default no checks, policy 'warn' */
  readonly validation?: FeatureValidationSpec;
}

/** Declarative data checks on one feature's values in a partition. */
export interface FeatureCheck {
  /** Largest share of null values allowed, 0 to 1. */
  readonly maxNullRate?: number;
  /** Smallest value allowed (numeric features). */
  readonly min?: number;
  /** Largest value allowed (numeric features). */
  readonly max?: number;
  /** The only values allowed. */
  readonly allowedValues?: readonly (string | number | boolean)[];
  /** Fail when every non-null value is the same. */
  readonly notConstant?: boolean;
}

/**
 * What validation checks and what a failure stops. Every partition also gets the article's summary:
 * row count, null rate, infinities, mean, standard deviation, min and max of each feature.
 */
export interface FeatureValidationSpec {
  /** `strict`: a failing partition is neither published nor materialized; `warn`: published and reported. @default 'warn' */
  readonly policy?: 'strict' | 'warn';
  /** Checks by feature name. @default {} */
  readonly features?: Readonly<Record<string, FeatureCheck>>;
}

export interface NormalizedValidation {
  readonly policy: 'strict' | 'warn';
  readonly features: Readonly<Record<string, FeatureCheck>>;
}

export interface NormalizedAggregation {
  readonly column: string;
  readonly functions: readonly AggregationFunction[];
  readonly windows: readonly string[];
  readonly hop: string | undefined;
}

export interface NormalizedLastK {
  readonly column: string;
  readonly k: number;
  readonly name: string;
}

export interface FeatureViewDefinition<Name extends string = string, Features extends string = string>
  extends NormalizedMetadata {
  readonly kind: 'feature_view';
  readonly name: Name;
  readonly entities: readonly EntityDefinition[];
  readonly source: SourceDefinition;
  readonly fields: Readonly<Record<string, ValueType>>;
  readonly aggregations: readonly NormalizedAggregation[];
  readonly lastK: readonly NormalizedLastK[];
  readonly daysSinceFirstEvent: string | undefined;
  readonly daysSinceLastEvent: string | undefined;
  readonly derived: Readonly<Record<string, Expression>>;
  readonly ttl: string | undefined;
  readonly online: boolean;
  readonly offline: boolean;
  readonly schedule: string | undefined;
  readonly validation: NormalizedValidation;
  /** References to each feature, for feature services and on-demand views: `view.features.amount_sum_7d`. */
  readonly features: { readonly [N in Features]: FeatureExpression };
}

/** The feature name each (column, function, window) aggregation produces. */
export function aggregationFeatureName(column: string, fn: string, window: string): string {
  return `${column}_${fn}_${window}`;
}

export function lastKFeatureName(spec: { column: string; k: number; name?: string | undefined }): string {
  return spec.name ?? `${spec.column}_last_${spec.k}`;
}

/**
 * A name -> reference map. Names it does not hold still give a reference, so a typo in plain JavaScript
 * (or past a type cast) surfaces at validation as "unknown feature" with a suggestion, not as a crash.
 */
export function referenceMap(names: readonly string[], view?: string): Record<string, FeatureExpression> {
  const known = Object.fromEntries(names.map((name) => [name, reference(name, view)]));
  return new Proxy(known, {
    get: (target, property) =>
      typeof property === 'string' && !(property in target) && property !== 'then' && property !== 'toJSON'
        ? reference(property, view)
        : Reflect.get(target, property),
  });
}

function reference(name: string, view: string | undefined): FeatureExpression {
  return view === undefined ? { op: 'feature', name } : { op: 'feature', view, name };
}

/**
 * Declares a feature view: features of one or more entities computed from one source.
 * @example
 * export const userStats = featureView({
 *   name: 'user_stats', entities: [user], source: transactions,
 *   aggregations: [{ column: 'amount', functions: ['sum', 'mean'], windows: ['7d', '30d'] }],
 *   derived: (f) => ({ spend_ratio: div(f.amount_sum_7d, f.amount_sum_30d) }),
 * });
 */
export function featureView<
  const Name extends string,
  const S extends Schema,
  const Fields extends Readonly<Record<string, ValueType>> = Record<never, ValueType>,
  const Aggregations extends readonly WindowAggregationSpec<keyof S & string>[] = [],
  const LastK extends readonly LastKSpec<keyof S & string>[] = [],
  const FirstName extends string = never,
  const LastName extends string = never,
  const Derived extends Readonly<Record<string, Expression>> = Record<never, Expression>,
>(
  spec: FeatureViewSpec<Name, S, Fields, Aggregations, LastK, FirstName, LastName, Derived>,
): FeatureViewDefinition<
  Name,
  | (keyof Fields & string)
  | AggregationFeatureNames<Aggregations>
  | LastKFeatureNames<LastK>
  | FirstName
  | LastName
  | (keyof Derived & string)
> {
  const aggregations: NormalizedAggregation[] = (spec.aggregations ?? []).map((aggregation) => ({
    column: aggregation.column,
    functions: [...(aggregation.functions ?? [])],
    windows: [...(aggregation.windows ?? [])],
    hop: aggregation.hop,
  }));
  const lastK: NormalizedLastK[] = (spec.lastK ?? []).map((item) => ({
    column: item.column,
    k: item.k,
    name: lastKFeatureName(item),
  }));
  const baseNames = [
    ...Object.keys(spec.fields ?? {}),
    ...aggregations.flatMap((a) =>
      a.functions.flatMap((fn) => a.windows.map((w) => aggregationFeatureName(a.column, fn, w))),
    ),
    ...lastK.map((item) => item.name),
    ...[spec.daysSinceFirstEvent as string | undefined, spec.daysSinceLastEvent as string | undefined].filter(
      (name): name is string => name !== undefined,
    ),
  ];
  // Derived expressions see their siblings as local references, so the stored tree does not repeat the view's name.
  const derived = spec.derived ? { ...spec.derived(referenceMap(baseNames) as never) } : {};
  const allNames = [...baseNames, ...Object.keys(derived)];
  return {
    kind: 'feature_view',
    name: spec.name,
    entities: [...spec.entities],
    source: spec.source,
    fields: { ...(spec.fields ?? {}) },
    aggregations,
    lastK,
    daysSinceFirstEvent: spec.daysSinceFirstEvent,
    daysSinceLastEvent: spec.daysSinceLastEvent,
    derived,
    ttl: spec.ttl,
    online: spec.online ?? true,
    offline: spec.offline ?? true,
    schedule: spec.schedule,
    validation: {
      policy: spec.validation?.policy ?? 'warn',
      features: { ...(spec.validation?.features ?? {}) },
    },
    features: referenceMap(allNames, spec.name) as never,
    ...normalizeMetadata(spec),
  };
}
