import { defaultHop, parseDuration } from './duration.js';
import type { Expression } from './expression.js';
import {
  type AggregationFunction,
  aggregationFeatureName,
  type FeatureViewDefinition,
} from './feature-view.js';
import type { FeatureType, ValueType } from './value-type.js';

/** How a feature of a view gets its value. */
export type FeatureOrigin =
  | { readonly kind: 'field'; readonly column: string }
  | {
      readonly kind: 'aggregation';
      readonly column: string;
      readonly function: AggregationFunction;
      readonly window: string;
      /** Window length and hop in milliseconds; undefined when the written duration is invalid. */
      readonly windowMs: number | undefined;
      readonly hopMs: number | undefined;
    }
  | { readonly kind: 'last_k'; readonly column: string; readonly k: number }
  | { readonly kind: 'days_since_first_event' }
  | { readonly kind: 'days_since_last_event' }
  | { readonly kind: 'derived'; readonly expression: Expression };

export interface ResolvedFeature {
  readonly name: string;
  /** Undefined while the definition is invalid (unknown column, wrong type). */
  readonly dtype: FeatureType | undefined;
  readonly origin: FeatureOrigin;
}

/** The type an aggregation of a column of `columnType` produces, or undefined when it does not apply. */
export function aggregationResultType(
  fn: AggregationFunction,
  columnType: ValueType,
): FeatureType | undefined {
  switch (fn) {
    case 'count':
      return 'int64';
    case 'sum':
      return columnType === 'int64' || columnType === 'float64' ? columnType : undefined;
    case 'mean':
    case 'stddev':
    case 'variance':
      return columnType === 'int64' || columnType === 'float64' ? 'float64' : undefined;
    case 'min':
    case 'max':
      return ['int64', 'float64', 'timestamp', 'string'].includes(columnType) ? columnType : undefined;
    case 'last':
      return columnType;
  }
}

/** The hop a window uses: the aggregation's own when set, else the default for its length. */
export function resolveHop(windowMs: number, hop: string | undefined): number | undefined {
  return hop === undefined ? defaultHop(windowMs) : parseDuration(hop);
}

/**
 * Every feature a view produces, in declaration order: fields, aggregations, last-k, days since
 * first/last event, then derived. Derived types are filled in by validation, which can type expressions.
 */
export function baseFeaturesOf(view: FeatureViewDefinition): ResolvedFeature[] {
  const schema = view.source.schema as Record<string, ValueType | undefined>;
  const features: ResolvedFeature[] = [];
  for (const [name, dtype] of Object.entries(view.fields)) {
    features.push({ name, dtype, origin: { kind: 'field', column: name } });
  }
  for (const aggregation of view.aggregations) {
    const columnType = schema[aggregation.column];
    for (const fn of aggregation.functions) {
      for (const window of aggregation.windows) {
        const windowMs = parseDuration(window);
        features.push({
          name: aggregationFeatureName(aggregation.column, fn, window),
          dtype: columnType === undefined ? undefined : aggregationResultType(fn, columnType),
          origin: {
            kind: 'aggregation',
            column: aggregation.column,
            function: fn,
            window,
            windowMs,
            hopMs: windowMs === undefined ? undefined : resolveHop(windowMs, aggregation.hop),
          },
        });
      }
    }
  }
  for (const item of view.lastK) {
    const columnType = schema[item.column];
    features.push({
      name: item.name,
      dtype: columnType === undefined ? undefined : `list<${columnType}>`,
      origin: { kind: 'last_k', column: item.column, k: item.k },
    });
  }
  if (view.daysSinceFirstEvent !== undefined) {
    features.push({
      name: view.daysSinceFirstEvent,
      dtype: 'float64',
      origin: { kind: 'days_since_first_event' },
    });
  }
  if (view.daysSinceLastEvent !== undefined) {
    features.push({
      name: view.daysSinceLastEvent,
      dtype: 'float64',
      origin: { kind: 'days_since_last_event' },
    });
  }
  return features;
}
