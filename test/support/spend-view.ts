import {
  batchSource,
  collectDefinitions,
  div,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';

/**
 * A view that uses every kind of feature (all aggregation functions over two hops and a long window,
 * last-k, days since first/last event, a latest-value field with a created time and a TTL, a derived
 * ratio), read by the property tests of the offline SQL, the online state and the aggregator.
 */
export const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
export const events = batchSource({
  name: 'events',
  path: 'events.parquet',
  timestampField: 'ts',
  createdTimestampField: 'created',
  schema: { user_id: 'int64', ts: 'timestamp', created: 'timestamp', amount: 'float64', items: 'int64' },
});
export const view = featureView({
  name: 'spend',
  entities: [user],
  source: events,
  fields: { items: 'int64' },
  aggregations: [
    {
      column: 'amount',
      functions: ['sum', 'count', 'mean', 'stddev', 'variance', 'min', 'max', 'last'],
      windows: ['15m', '1h'],
    },
    { column: 'items', functions: ['sum', 'max'], windows: ['30m'], hop: '10m' },
    { column: 'amount', functions: ['mean'], windows: ['13h'] },
  ],
  lastK: [{ column: 'amount', k: 3 }],
  daysSinceFirstEvent: 'days_since_first',
  daysSinceLastEvent: 'days_since_last',
  derived: (f) => ({ share: div(f.amount_sum_15m, f.amount_sum_1h) }),
  ttl: '45m',
});
const validated = validateFeatureRepo(collectDefinitions([user, events, view]));
export const features = validated.features.get('spend') ?? [];
