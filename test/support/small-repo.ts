import {
  batchSource,
  collectDefinitions,
  type Duration,
  div,
  entity,
  type FeatureRepo,
  featureService,
  featureView,
  type ValidatedFeatureRepo,
  validateFeatureRepo,
} from '../../lib/index.js';

/** Knobs for a small valid repo, so a test can change exactly one thing and see what follows. */
export interface SmallRepoOptions {
  readonly windows?: readonly Duration[];
  readonly description?: string;
  readonly owner?: string;
  readonly ttl?: Duration;
  readonly schedule?: string;
  readonly path?: string;
  readonly extraView?: string;
  readonly withService?: boolean;
}

/** A user entity, an events source and a `user_spend` view (sum and count windows, a derived ratio). */
export function smallRepo(options: SmallRepoOptions = {}): FeatureRepo {
  const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
  const events = batchSource({
    name: 'events',
    path: options.path ?? 'data/events.parquet',
    timestampField: 'ts',
    schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
  });
  const spend = featureView({
    name: 'user_spend',
    entities: [user],
    source: events,
    aggregations: [
      { column: 'amount', functions: ['sum', 'count'], windows: options.windows ?? ['7d', '30d'] },
    ],
    derived: (f) => ({ ratio: div(f.amount_count_7d, f.amount_sum_7d) }),
    description: options.description ?? 'What a user spends.',
    owner: options.owner ?? 'team-a',
    tags: { domain: 'payments' },
    ...(options.ttl ? { ttl: options.ttl } : {}),
    ...(options.schedule ? { schedule: options.schedule } : {}),
  });
  const extra = options.extraView
    ? [
        featureView({
          name: options.extraView,
          entities: [user],
          source: events,
          fields: { amount: 'float64' },
        }),
      ]
    : [];
  const service =
    options.withService === false
      ? []
      : [featureService({ name: 'model_a', features: [spend.features.amount_sum_7d, spend.features.ratio] })];
  return collectDefinitions([user, events, spend, ...extra, ...service]);
}

export function validSmallRepo(options: SmallRepoOptions = {}): ValidatedFeatureRepo {
  return validateFeatureRepo(smallRepo(options));
}
