import { describe, expect, it } from 'vitest';
import * as exampleRepo from '../../examples/transactions/features.js';
import {
  type AggregationFunction,
  add,
  batchSource,
  collectDefinitions,
  DefinitionValidationError,
  div,
  type Expression,
  entity,
  type FeatureViewDefinition,
  FstoreError,
  feature,
  featureService,
  featureView,
  formatDefinitionIssue,
  gt,
  inspectFeatureRepo,
  kinesisSource,
  lit,
  log,
  mul,
  type NormalizedAggregation,
  onDemandFeatureView,
  validateFeatureRepo,
} from '../../lib/index.js';

// A small valid repo; each test swaps in one broken definition.
const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const TRANSACTIONS_SPEC = {
  name: 'transactions',
  path: 'data/transactions.csv',
  timestampField: 'transaction_date',
  schema: {
    user_id: 'int64',
    transaction_date: 'timestamp',
    amount: 'float64',
    category: 'string',
    items: 'int64',
    is_online: 'bool',
  },
} as const;
const transactions = batchSource(TRANSACTIONS_SPEC);
const STREAM_SPEC = {
  name: 'live_transactions',
  streamName: 'transactions',
  timestampField: 'transaction_date',
  schema: TRANSACTIONS_SPEC.schema,
  batchSource: transactions,
} as const;
const userStats = featureView({
  name: 'user_stats',
  entities: [user],
  source: transactions,
  aggregations: [{ column: 'amount', functions: ['sum', 'mean'], windows: ['7d', '30d'] }],
  derived: (f) => ({ weekly_to_monthly: div(f.amount_sum_7d, f.amount_sum_30d) }),
});
const amountRatios = onDemandFeatureView({
  name: 'amount_ratios',
  request: { amount: 'float64' },
  features: (request) => ({ amount_to_mean: div(request.amount, userStats.features.amount_mean_30d) }),
});
const fraudModel = featureService({
  name: 'fraud_model',
  features: [userStats, amountRatios.features.amount_to_mean],
});
const VALID_REPO = [user, transactions, userStats, amountRatios, fraudModel];

/** A one-aggregation view over `amount`, to break one aggregation setting at a time. */
function spendView(aggregation: Partial<NormalizedAggregation>): FeatureViewDefinition {
  const base = featureView({ name: 'spend', entities: [user], source: transactions });
  return {
    ...base,
    aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'], hop: undefined, ...aggregation }],
  };
}

/** An on-demand view with no request fields whose one feature is the given tree. */
function onDemandView(name: string, featureName: string, expression: Expression) {
  return onDemandFeatureView({ name, request: {}, features: () => ({ [featureName]: expression }) });
}

const IDENTIFIER_RULE =
  'is not a safe identifier (lower-case letters, digits and _, not starting with a digit)';
const VALUE_TYPES = 'int64, float64, string, bool, timestamp or float32[N]';
const FUNCTIONS = 'sum, count, mean, min, max, stddev, variance, last';

/** Runs validation and gives back the DefinitionValidationError it throws; fails the test when nothing is thrown. */
function validationErrorOf(definitions: readonly unknown[]): DefinitionValidationError {
  try {
    validateFeatureRepo(collectDefinitions(definitions));
  } catch (error) {
    if (error instanceof DefinitionValidationError) return error;
    throw error;
  }
  throw new Error('expected validateFeatureRepo to throw a DefinitionValidationError');
}

function messageOf(definitions: readonly unknown[]): string {
  return validationErrorOf(definitions).message;
}

describe('validateFeatureRepo on a valid repo', () => {
  it('finds no issues', () => {
    // Act
    const { issues } = inspectFeatureRepo(collectDefinitions(VALID_REPO));

    // Assert
    expect(issues).toEqual([]);
  });

  it('returns the repo and every feature with its type, in declaration order', () => {
    // Arrange
    const repo = collectDefinitions(VALID_REPO);

    // Act
    const validated = validateFeatureRepo(repo);

    // Assert
    expect(validated.repo).toBe(repo);
    const typesOf = (view: string) => (validated.features.get(view) ?? []).map((f) => [f.name, f.dtype]);
    expect(typesOf('user_stats')).toEqual([
      ['amount_sum_7d', 'float64'],
      ['amount_sum_30d', 'float64'],
      ['amount_mean_7d', 'float64'],
      ['amount_mean_30d', 'float64'],
      ['weekly_to_monthly', 'float64'],
    ]);
    expect(typesOf('amount_ratios')).toEqual([['amount_to_mean', 'float64']]);
  });

  it('resolves the default hop of each window', () => {
    // Act
    const validated = validateFeatureRepo(collectDefinitions(VALID_REPO));

    // Assert
    const origins = (validated.features.get('user_stats') ?? []).map((f) => f.origin);
    expect(origins[0]).toEqual({
      kind: 'aggregation',
      column: 'amount',
      function: 'sum',
      window: '7d',
      windowMs: 604_800_000,
      hopMs: 3_600_000,
    });
    expect(origins[1]).toMatchObject({ window: '30d', windowMs: 2_592_000_000, hopMs: 86_400_000 });
  });

  it('types derived features that build on other derived features, in any order', () => {
    // Arrange
    const chained = featureView({
      name: 'chained',
      entities: [user],
      source: transactions,
      aggregations: [{ column: 'items', functions: ['sum'], windows: ['7d'] }],
      derived: (f) => ({
        quadrupled: mul(feature('doubled'), 2),
        doubled: mul(f.items_sum_7d, 2),
        is_big: gt(feature('quadrupled'), 100),
      }),
    });

    // Act
    const validated = validateFeatureRepo(collectDefinitions([user, transactions, chained]));

    // Assert
    const types = Object.fromEntries((validated.features.get('chained') ?? []).map((f) => [f.name, f.dtype]));
    expect(types).toEqual({ items_sum_7d: 'int64', quadrupled: 'int64', doubled: 'int64', is_big: 'bool' });
  });

  it.each([
    { label: 'a hop that divides every window', aggregation: { windows: ['7d', '30d'], hop: '1h' } },
    { label: 'a hop equal to the window', aggregation: { windows: ['7d'], hop: '7d' } },
    { label: 'a 13 hour window with its default hop', aggregation: { windows: ['13h'] } },
    { label: 'a 10 minute window with its default hop', aggregation: { windows: ['10m'] } },
  ])('accepts $label', ({ aggregation }) => {
    // Act
    const { issues } = inspectFeatureRepo(collectDefinitions([user, transactions, spendView(aggregation)]));

    // Assert
    expect(issues).toEqual([]);
  });

  it('lets an entity, a source, a view and a service share one name', () => {
    // Arrange
    const thing = entity({ name: 'thing', joinKeys: { user_id: 'int64' } });
    const thingSource = batchSource({ ...TRANSACTIONS_SPEC, name: 'thing' });
    const thingView = featureView({
      name: 'thing',
      entities: [thing],
      source: thingSource,
      fields: { amount: 'float64' },
    });
    const thingService = featureService({ name: 'thing', features: [thingView] });

    // Act
    const { issues } = inspectFeatureRepo(collectDefinitions([thing, thingSource, thingView, thingService]));

    // Assert
    expect(issues).toEqual([]);
  });
});

describe('validateFeatureRepo on the transactions example', () => {
  const repo = collectDefinitions(Object.values(exampleRepo));

  it('finds no issues', () => {
    // Act
    const { issues } = inspectFeatureRepo(repo);

    // Assert
    expect(issues.map(formatDefinitionIssue)).toEqual([]);
  });

  it.each([
    { view: 'user_transaction_stats', name: 'amount_mean_7d', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'amount_count_30d', dtype: 'int64' },
    { view: 'user_transaction_stats', name: 'amount_sum_14d', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'amount_stddev_30d', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'last_3_amounts', dtype: 'list<float64>' },
    { view: 'user_transaction_stats', name: 'days_since_first_transaction', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'days_since_last_transaction', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'weekly_to_monthly_amount_ratio', dtype: 'float64' },
    { view: 'user_transaction_stats', name: 'weekly_to_monthly_txn_ratio', dtype: 'float64' },
    { view: 'merchant_transaction_stats', name: 'amount_count_1d', dtype: 'int64' },
    { view: 'category_transaction_stats', name: 'amount_mean_7d', dtype: 'float64' },
    { view: 'transaction_amount_ratios', name: 'amount_to_30d_mean_ratio', dtype: 'float64' },
  ])('resolves $view:$name as $dtype', ({ view, name, dtype }) => {
    // Act
    const validated = validateFeatureRepo(repo);

    // Assert
    const resolved = validated.features.get(view)?.find((f) => f.name === name);
    expect(resolved?.dtype).toBe(dtype);
  });

  it('collects every definition the example exports', () => {
    // Assert
    expect(repo.entities.map((e) => e.name)).toEqual(['user', 'merchant', 'category']);
    expect(repo.sources.map((s) => s.name)).toEqual(['transactions', 'live_transactions']);
    expect(repo.featureViews.map((v) => v.name)).toEqual([
      'user_transaction_stats',
      'merchant_transaction_stats',
      'category_transaction_stats',
    ]);
    expect(repo.onDemandFeatureViews.map((v) => v.name)).toEqual(['transaction_amount_ratios']);
    expect(repo.featureServices.map((s) => s.name)).toEqual(['fraud_model_v1']);
  });

  it('gives user_transaction_stats 12 aggregations, one last-k, two recency and two derived features', () => {
    // Act
    const validated = validateFeatureRepo(repo);

    // Assert
    const kinds = (validated.features.get('user_transaction_stats') ?? []).map((f) => f.origin.kind);
    expect(kinds.filter((kind) => kind === 'aggregation')).toHaveLength(12);
    expect(kinds.slice(12)).toEqual([
      'last_k',
      'days_since_first_event',
      'days_since_last_event',
      'derived',
      'derived',
    ]);
  });
});

describe('DefinitionValidationError', () => {
  it('is an FstoreError named DefinitionValidationError whose message is the one issue', () => {
    // Arrange
    const broken = { ...userStats, ttl: '0d' };

    // Act
    const error = validationErrorOf([user, transactions, broken, amountRatios, fraudModel]);

    // Assert
    expect(error).toBeInstanceOf(FstoreError);
    expect(error.name).toBe('DefinitionValidationError');
    expect(error.issues).toEqual([
      {
        objectKind: 'feature_view',
        objectName: 'user_stats',
        field: 'ttl',
        problem: '"0d" is not a positive duration',
        fix: 'Write a whole number and a unit (s, m, h, d), e.g. "90d", or leave ttl out for no limit',
      },
    ]);
    expect(error.message).toBe(
      'feature_view "user_stats", ttl: "0d" is not a positive duration. ' +
        'Write a whole number and a unit (s, m, h, d), e.g. "90d", or leave ttl out for no limit.',
    );
  });

  it.each([
    { fix: 'Use int64 or string', line: 'entity "user", joinKeys: has no join keys. Use int64 or string.' },
    {
      fix: 'Did you mean "amount"?',
      line: 'entity "user", joinKeys: has no join keys. Did you mean "amount"?',
    },
    {
      fix: 'Write it as s3://bucket/.',
      line: 'entity "user", joinKeys: has no join keys. Write it as s3://bucket/.',
    },
  ])('formats an issue whose fix is "$fix" with one closing mark', ({ fix, line }) => {
    // Arrange
    const issue = {
      objectKind: 'entity',
      objectName: 'user',
      field: 'joinKeys',
      problem: 'has no join keys',
      fix,
    };

    // Act
    const formatted = formatDefinitionIssue(issue);

    // Assert
    expect(formatted).toBe(line);
  });

  it('is what validateFeatureRepo throws', () => {
    // Arrange
    const repo = collectDefinitions([user, transactions, { ...userStats, schedule: 'hourly' }]);

    // Act
    const validate = () => validateFeatureRepo(repo);

    // Assert
    expect(validate).toThrow(DefinitionValidationError);
    expect(validate).toThrow(
      'feature_view "user_stats", schedule: "hourly" is not an EventBridge schedule. ' +
        'Write rate(1 hour), rate(15 minutes) or cron(0 3 * * ? *).',
    );
  });

  it('lists every problem of a repo in one error', () => {
    // Arrange
    const badEntity = entity({ name: 'user', joinKeys: { user_id: 'float64' as 'int64' } });
    const badView = featureView({
      name: 'User Stats',
      entities: [badEntity],
      source: transactions,
      aggregations: [{ column: 'amount', functions: ['sum'], windows: ['0d'] }],
      lastK: [{ column: 'amount', k: 0 }],
      ttl: '1.5h',
    });
    const badService = featureService({ name: 'fraud_model', features: ['user_stats:amount_sum_0d'] });

    // Act
    const error = validationErrorOf([badEntity, transactions, badView, badService]);

    // Assert
    expect(error.message).toBe(
      [
        '7 problems in the definitions:',
        `  - feature_view "User Stats", name: "User Stats" ${IDENTIFIER_RULE}. Rename it to "user_stats".`,
        '  - entity "user", joinKeys.user_id: type "float64" cannot be a join key. Use int64 or string.',
        '  - feature_view "User Stats", entities[0]: join key "user_id" is float64 in entity "user" but int64 in source "transactions". Make the two types agree.',
        '  - feature_view "User Stats", aggregations[0].windows[0]: window "0d" is not positive. Use a positive duration such as "7d".',
        '  - feature_view "User Stats", lastK[0].k: k = 0 is out of range. Use a whole number from 1 to 100.',
        '  - feature_view "User Stats", ttl: "1.5h" is not a positive duration. Write a whole number and a unit (s, m, h, d), e.g. "90d", or leave ttl out for no limit.',
        '  - feature_service "fraud_model", features[0]: unknown view "user_stats". Did you mean "User Stats"? Otherwise export "user_stats" from a definitions file.',
      ].join('\n'),
    );
    expect(error.issues).toHaveLength(7);
  });
});

describe('validateFeatureRepo on duplicate names', () => {
  it('reports two feature views with one name', () => {
    // Arrange
    const twin = featureView({
      name: 'user_stats',
      entities: [user],
      source: transactions,
      fields: { amount: 'float64' },
    });

    // Act
    const message = messageOf([user, transactions, userStats, twin]);

    // Assert
    expect(message).toBe(
      'feature_view "user_stats", name: another view is also named "user_stats". Give each view a unique name.',
    );
  });

  it('reports a feature view and an on-demand view with one name, and nothing the clash causes', () => {
    // Arrange
    const twin = onDemandFeatureView({
      name: 'user_stats',
      request: { amount: 'float64' },
      features: (request) => ({ amount_to_mean: div(request.amount, userStats.features.amount_mean_30d) }),
    });

    // Act
    const message = messageOf([user, transactions, userStats, twin]);

    // Assert
    expect(message).toBe(
      'on_demand_feature_view "user_stats", name: another view is also named "user_stats". Give each view a unique name.',
    );
  });

  it('reports two entities with one name, and not the views that use either', () => {
    // Arrange
    const twin = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
    const twinView = featureView({
      name: 'twin_stats',
      entities: [twin],
      source: transactions,
      fields: { items: 'int64' },
    });

    // Act
    const message = messageOf([user, twin, transactions, userStats, twinView]);

    // Assert
    expect(message).toBe(
      'entity "user", name: another entity is also named "user". Give each entity a unique name.',
    );
  });

  it('reports a batch source and a Kinesis source with one name', () => {
    // Arrange
    const twin = kinesisSource({ ...STREAM_SPEC, name: 'transactions' });

    // Act
    const message = messageOf([user, transactions, twin, userStats]);

    // Assert
    expect(message).toBe(
      'kinesis_source "transactions", name: another source is also named "transactions". Give each source a unique name.',
    );
  });

  it('reports two feature services with one name', () => {
    // Arrange
    const twin = featureService({ name: 'fraud_model', features: [userStats.features.amount_sum_7d] });

    // Act
    const message = messageOf([...VALID_REPO, twin]);

    // Assert
    expect(message).toBe(
      'feature_service "fraud_model", name: another feature service is also named "fraud_model". ' +
        'Give each feature service a unique name.',
    );
  });
});

describe('validateFeatureRepo on unsafe identifiers', () => {
  it.each([
    {
      label: 'a feature view name with a space',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'User Stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
        }),
      ],
      message: `feature_view "User Stats", name: "User Stats" ${IDENTIFIER_RULE}. Rename it to "user_stats".`,
    },
    {
      label: 'a schema column with a capital',
      definitions: () => [
        batchSource({ ...TRANSACTIONS_SPEC, schema: { ...TRANSACTIONS_SPEC.schema, Amount: 'float64' } }),
      ],
      message: `batch_source "transactions", schema.Amount: "Amount" ${IDENTIFIER_RULE}. Rename it to "amount".`,
    },
    {
      label: 'an entity name with a capital',
      definitions: () => [entity({ name: 'User', joinKeys: { user_id: 'int64' } })],
      message: `entity "User", name: "User" ${IDENTIFIER_RULE}. Rename it to "user".`,
    },
    {
      label: 'a camel-case join key',
      definitions: () => [entity({ name: 'user', joinKeys: { userId: 'int64' } })],
      message: `entity "user", joinKeys.userId: "userId" ${IDENTIFIER_RULE}. Rename it to "user_id".`,
    },
    {
      label: 'a source name that is SQL',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, name: "1' OR '1'='1" })],
      message: `batch_source "1' OR '1'='1", name: "1' OR '1'='1" ${IDENTIFIER_RULE}. Rename it to "_1_or_1_1".`,
    },
    {
      label: 'a field name with a semicolon',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { 'a;drop': 'string' },
        }),
      ],
      message: `feature_view "user_stats", fields.a;drop: "a;drop" ${IDENTIFIER_RULE}. Rename it to "a_drop".`,
    },
    {
      label: 'a last-k name with a space',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          lastK: [{ column: 'amount', k: 3, name: 'Last 3' }],
        }),
      ],
      message: `feature_view "user_stats", lastK[0].name: "Last 3" ${IDENTIFIER_RULE}. Rename it to "last_3".`,
    },
    {
      label: 'a days-since feature name starting with a digit',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          daysSinceFirstEvent: '1st_seen',
        }),
      ],
      message: `feature_view "user_stats", daysSinceFirstEvent: "1st_seen" ${IDENTIFIER_RULE}. Rename it to "_1st_seen".`,
    },
    {
      label: 'a derived feature name with a capital',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          derived: (f) => ({ Doubled: mul(f.amount, 2) }),
        }),
      ],
      message: `feature_view "user_stats", derived.Doubled: "Doubled" ${IDENTIFIER_RULE}. Rename it to "doubled".`,
    },
    {
      label: 'a request field with a capital',
      definitions: () => [
        onDemandFeatureView({
          name: 'ratios',
          request: { Amount: 'float64' },
          features: (request) => ({ doubled: mul(request.Amount, 2) }),
        }),
      ],
      message: `on_demand_feature_view "ratios", request.Amount: "Amount" ${IDENTIFIER_RULE}. Rename it to "amount".`,
    },
    {
      label: 'an on-demand feature name in unicode',
      definitions: () => [onDemandView('ratios', 'ratio_é', lit(1))],
      message: `on_demand_feature_view "ratios", features.ratio_é: "ratio_é" ${IDENTIFIER_RULE}. Rename it to "ratio".`,
    },
    {
      label: 'a feature service name with a hyphen',
      definitions: () => [
        ...VALID_REPO.slice(0, 4),
        featureService({ name: 'fraud-model', features: [userStats] }),
      ],
      message: `feature_service "fraud-model", name: "fraud-model" ${IDENTIFIER_RULE}. Rename it to "fraud_model".`,
    },
  ])('reports $label', ({ definitions, message }) => {
    // Act
    const thrown = messageOf(definitions());

    // Assert
    expect(thrown).toBe(message);
  });
});

describe('validateFeatureRepo on references', () => {
  it.each([
    {
      label: 'an entity that is not exported',
      definitions: () => [transactions, userStats],
      message:
        'feature_view "user_stats", entities[0]: unknown entity "user". ' +
        'Export "user" from a definitions file listed in fstore.config.ts.',
    },
    {
      label: 'an entity that is not exported, next to one with a close name',
      definitions: () => [entity({ name: 'users', joinKeys: { user_id: 'int64' } }), transactions, userStats],
      message:
        'feature_view "user_stats", entities[0]: unknown entity "user". ' +
        'Did you mean "users"? Otherwise export "user" from a definitions file.',
    },
    {
      label: 'a source that is not exported',
      definitions: () => [user, userStats],
      message:
        'feature_view "user_stats", source: unknown source "transactions". ' +
        'Export "transactions" from a definitions file listed in fstore.config.ts.',
    },
    {
      label: 'a feature of a service that the view lacks, with a close name',
      definitions: () => [
        ...VALID_REPO.slice(0, 4),
        featureService({ name: 'fraud_model', features: ['user_stats:amount_mean_7'] }),
      ],
      message:
        'feature_service "fraud_model", features[0]: view "user_stats" has no feature "amount_mean_7". ' +
        'Did you mean "user_stats:amount_mean_7d"?',
    },
    {
      label: 'a feature of a service that the view lacks, with no close name',
      definitions: () => [
        ...VALID_REPO.slice(0, 4),
        featureService({ name: 'fraud_model', features: ['user_stats:velocity'] }),
      ],
      message:
        'feature_service "fraud_model", features[0]: view "user_stats" has no feature "velocity". ' +
        'Use one of: amount_sum_7d, amount_sum_30d, amount_mean_7d, amount_mean_30d, weekly_to_monthly.',
    },
    {
      label: 'a view of a service that does not exist, with a close name',
      definitions: () => [
        ...VALID_REPO.slice(0, 4),
        featureService({ name: 'fraud_model', features: ['user_stat:amount_mean_7d'] }),
      ],
      message:
        'feature_service "fraud_model", features[0]: unknown view "user_stat". ' +
        'Did you mean "user_stats"? Otherwise export "user_stat" from a definitions file.',
    },
    {
      label: 'a whole view in a service that is not exported',
      definitions: () => [user, transactions, featureService({ name: 'fraud_model', features: [userStats] })],
      message:
        'feature_service "fraud_model", features[0]: unknown view "user_stats". ' +
        'Export "user_stats" from a definitions file listed in fstore.config.ts.',
    },
    {
      label: 'a feature listed twice in a service',
      definitions: () => [
        ...VALID_REPO.slice(0, 4),
        featureService({
          name: 'fraud_model',
          features: [userStats.features.amount_sum_7d, 'user_stats:amount_sum_7d'],
        }),
      ],
      message:
        'feature_service "fraud_model", features[1]: "user_stats:amount_sum_7d" is listed twice. List each feature once.',
    },
    {
      label: 'a service with no features',
      definitions: () => [featureService({ name: 'fraud_model', features: [] })],
      message:
        'feature_service "fraud_model", features: lists no features. List features or whole views the model uses.',
    },
    {
      label: 'an on-demand view reading a feature its view lacks',
      definitions: () => [
        user,
        transactions,
        userStats,
        onDemandView(
          'ratios',
          'ratio',
          div(1, { op: 'feature', view: 'user_stats', name: 'amount_mean_90d' }),
        ),
      ],
      message:
        'on_demand_feature_view "ratios", features.ratio: view "user_stats" has no feature "amount_mean_90d". ' +
        'Did you mean "user_stats:amount_mean_30d"?',
    },
    {
      label: 'an on-demand view reading a view that does not exist',
      definitions: () => [
        onDemandView('ratios', 'ratio', div(1, { op: 'feature', view: 'ghost', name: 'x' })),
      ],
      message:
        'on_demand_feature_view "ratios", features.ratio: unknown view "ghost". ' +
        'Export the view from a definitions file.',
    },
    {
      label: 'an on-demand view reading an undeclared request field',
      definitions: () => [
        onDemandFeatureView({
          name: 'ratios',
          request: { amount: 'float64' },
          features: () => ({ doubled: mul({ op: 'request', name: 'amt' }, 2) }),
        }),
      ],
      message:
        'on_demand_feature_view "ratios", features.doubled: unknown request field "amt". Declare the field in request.',
    },
    {
      label: 'a derived feature reading a sibling that does not exist',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          derived: (f) => ({ ratio: div(f.amount, feature('amount_sum_90d')) }),
        }),
      ],
      message:
        'feature_view "user_stats", derived.ratio: unknown feature "amount_sum_90d". ' +
        "Reference a feature of this view as f.<name> or feature('<name>').",
    },
    {
      label: 'a derived feature reading a request field',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          derived: (f) => ({ ratio: div({ op: 'request', name: 'amount' }, f.amount) }),
        }),
      ],
      message:
        'feature_view "user_stats", derived.ratio: reads request field "amount", which only on-demand views receive. ' +
        'Use an on-demand feature view to combine views or request fields.',
    },
    {
      label: "a derived feature reading another view's feature",
      definitions: () => [
        user,
        transactions,
        userStats,
        featureView({
          name: 'other_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          derived: (f) => ({ ratio: div(f.amount, userStats.features.amount_mean_30d) }),
        }),
      ],
      message:
        'feature_view "other_stats", derived.ratio: reads user_stats:amount_mean_30d of another view. ' +
        'Use an on-demand feature view to combine views or request fields.',
    },
  ])('reports $label', ({ definitions, message }) => {
    // Act
    const thrown = messageOf(definitions());

    // Assert
    expect(thrown).toBe(message);
  });

  it("accepts a derived feature naming its own view's feature in full", () => {
    // Arrange
    const selfNamed = featureView({
      name: 'self_named',
      entities: [user],
      source: transactions,
      fields: { amount: 'float64' },
      derived: () => ({ doubled: mul({ op: 'feature', view: 'self_named', name: 'amount' }, 2) }),
    });

    // Act
    const validated = validateFeatureRepo(collectDefinitions([user, transactions, selfNamed]));

    // Assert
    expect(validated.features.get('self_named')?.find((f) => f.name === 'doubled')?.dtype).toBe('float64');
  });

  it('reports a broken derived feature once, not again in the on-demand view that reads it', () => {
    // Arrange
    const broken = featureView({
      name: 'user_stats',
      entities: [user],
      source: transactions,
      fields: { category: 'string' },
      derived: (f) => ({ bad: log(f.category) }),
    });
    const reader = onDemandView('ratios', 'ratio', div(1, broken.features.bad));

    // Act
    const error = validationErrorOf([user, transactions, broken, reader]);

    // Assert
    expect(error.issues.map(formatDefinitionIssue)).toEqual([
      'feature_view "user_stats", derived.bad: log(category) needs a number but gets string. ' +
        'Give each operation operands of the types it takes.',
    ]);
  });
});

describe('validateFeatureRepo on dependency cycles', () => {
  it('reports a cycle between two on-demand views once', () => {
    // Arrange
    const a = onDemandView('a', 'x', { op: 'feature', view: 'b', name: 'y' });
    const b = onDemandView('b', 'y', { op: 'feature', view: 'a', name: 'x' });

    // Act
    const message = messageOf([a, b]);

    // Assert
    expect(message).toBe(
      'on_demand_feature_view "a", features.x: dependency cycle a:x -> b:y -> a:x. ' +
        'Break the cycle so no feature depends on itself.',
    );
  });

  it('reports a cycle through three on-demand views with every step', () => {
    // Arrange
    const a = onDemandView('a', 'x', add({ op: 'feature', view: 'b', name: 'y' }, 1));
    const b = onDemandView('b', 'y', add({ op: 'feature', view: 'c', name: 'z' }, 1));
    const c = onDemandView('c', 'z', add({ op: 'feature', view: 'a', name: 'x' }, 1));

    // Act
    const message = messageOf([a, b, c]);

    // Assert
    expect(message).toBe(
      'on_demand_feature_view "a", features.x: dependency cycle a:x -> b:y -> c:z -> a:x. ' +
        'Break the cycle so no feature depends on itself.',
    );
  });

  it('reports an on-demand feature that reads itself', () => {
    // Arrange
    const a = onDemandView('a', 'x', mul({ op: 'feature', view: 'a', name: 'x' }, 2));

    // Act
    const message = messageOf([a]);

    // Assert
    expect(message).toBe(
      'on_demand_feature_view "a", features.x: dependency cycle a:x -> a:x. Break the cycle so no feature depends on itself.',
    );
  });

  it('reports a cycle between derived features of one view once', () => {
    // Arrange
    const cyclic = featureView({
      name: 'cyclic',
      entities: [user],
      source: transactions,
      fields: { amount: 'float64' },
      derived: () => ({ p: add(feature('q'), 1), q: add(feature('p'), 1) }),
    });

    // Act
    const message = messageOf([user, transactions, cyclic]);

    // Assert
    expect(message).toBe(
      'feature_view "cyclic", derived.p: dependency cycle cyclic:p -> cyclic:q -> cyclic:p. ' +
        'Break the cycle so no feature depends on itself.',
    );
  });

  it('reports a derived feature that reads itself', () => {
    // Arrange
    const cyclic = featureView({
      name: 'cyclic',
      entities: [user],
      source: transactions,
      fields: { amount: 'float64' },
      derived: (f) => ({ p: add(feature('p'), f.amount) }),
    });

    // Act
    const message = messageOf([user, transactions, cyclic]);

    // Assert
    expect(message).toBe(
      'feature_view "cyclic", derived.p: dependency cycle cyclic:p -> cyclic:p. Break the cycle so no feature depends on itself.',
    );
  });
});

interface AggregationCase {
  readonly label: string;
  readonly aggregation: Partial<NormalizedAggregation>;
  readonly message: string;
}

describe('validateFeatureRepo on windows and hops', () => {
  it.each<AggregationCase>([
    {
      label: 'a zero window',
      aggregation: { windows: ['0d'] },
      message:
        'feature_view "spend", aggregations[0].windows[0]: window "0d" is not positive. Use a positive duration such as "7d".',
    },
    {
      label: 'a window that is not a duration',
      aggregation: { windows: ['7d', 'week'] },
      message:
        'feature_view "spend", aggregations[0].windows[1]: window "week" is not a duration. ' +
        'Write a whole number and a unit (s, m, h, d), e.g. "7d".',
    },
    {
      label: 'a fractional window',
      aggregation: { windows: ['1.5h'] },
      message:
        'feature_view "spend", aggregations[0].windows[0]: window "1.5h" is not a duration. ' +
        'Write a whole number and a unit (s, m, h, d), e.g. "7d".',
    },
    {
      label: 'no windows',
      aggregation: { windows: [] },
      message:
        'feature_view "spend", aggregations[0].windows: is empty. List at least one window, e.g. ["7d", "30d"].',
    },
    {
      label: 'a hop that does not divide the window',
      aggregation: { windows: ['7d'], hop: '5h' },
      message:
        'feature_view "spend", aggregations[0].hop: hop "5h" does not divide window "7d". ' +
        'Choose a hop that divides every window, such as "1d".',
    },
    {
      label: 'a hop longer than the window',
      aggregation: { windows: ['1d'], hop: '2d' },
      message:
        'feature_view "spend", aggregations[0].hop: hop "2d" does not divide window "1d". ' +
        'Choose a hop that divides every window, such as "1d".',
    },
    {
      label: 'a zero hop',
      aggregation: { hop: '0h' },
      message:
        'feature_view "spend", aggregations[0].hop: "0h" is not a positive duration. ' +
        'Write a whole number and a unit (s, m, h, d) that divides every window, e.g. "1h".',
    },
    {
      label: 'a hop that is not a duration',
      aggregation: { hop: 'hourly' },
      message:
        'feature_view "spend", aggregations[0].hop: "hourly" is not a positive duration. ' +
        'Write a whole number and a unit (s, m, h, d) that divides every window, e.g. "1h".',
    },
    {
      label: 'a window the default 5 minute hop does not divide',
      aggregation: { windows: ['7m'] },
      message:
        'feature_view "spend", aggregations[0].windows[0]: the default hop 5m does not divide window "7m". ' +
        'Set hop to a duration that divides it, such as "1m".',
    },
    {
      label: 'a window the default 1 hour hop does not divide',
      aggregation: { windows: ['750m'] },
      message:
        'feature_view "spend", aggregations[0].windows[0]: the default hop 1h does not divide window "750m". ' +
        'Set hop to a duration that divides it, such as "5m".',
    },
    {
      label: 'a window shorter than the default hop',
      aggregation: { windows: ['90s'] },
      message:
        'feature_view "spend", aggregations[0].windows[0]: the default hop 5m does not divide window "90s". ' +
        'Set hop to a duration that divides it, such as "30s".',
    },
    {
      label: 'no functions',
      aggregation: { functions: [] },
      message: `feature_view "spend", aggregations[0].functions: is empty. Use some of ${FUNCTIONS}.`,
    },
    {
      label: 'a misspelt function',
      aggregation: { functions: ['means' as AggregationFunction] },
      message:
        'feature_view "spend", aggregations[0].functions[0]: unknown function "means". ' +
        `Did you mean "mean"? The functions are ${FUNCTIONS}.`,
    },
    {
      label: 'an unknown function with no close name',
      aggregation: { functions: ['sum', 'percentile' as AggregationFunction] },
      message: `feature_view "spend", aggregations[0].functions[1]: unknown function "percentile". Use one of ${FUNCTIONS}.`,
    },
  ])('reports $label', ({ aggregation, message }) => {
    // Arrange
    const view = { ...spendView(aggregation), daysSinceLastEvent: 'days_since_last' };

    // Act
    const thrown = messageOf([user, transactions, view]);

    // Assert
    expect(thrown).toBe(message);
  });
});

describe('validateFeatureRepo on types', () => {
  it.each<AggregationCase>([
    {
      label: 'a mean over a string column',
      aggregation: { column: 'category', functions: ['count', 'mean'] },
      message:
        'feature_view "spend", aggregations[0].functions[1]: mean needs a numeric column but "category" is string. ' +
        'Aggregate a numeric column, or use count or last.',
    },
    {
      label: 'a sum over a timestamp column',
      aggregation: { column: 'transaction_date' },
      message:
        'feature_view "spend", aggregations[0].functions[0]: sum needs a numeric column but "transaction_date" is timestamp. ' +
        'Aggregate a numeric column, or use count or last.',
    },
    {
      label: 'a max over a bool column',
      aggregation: { column: 'is_online', functions: ['max'] },
      message:
        'feature_view "spend", aggregations[0].functions[0]: max needs a numeric, timestamp or string column but "is_online" is bool. ' +
        'Aggregate a numeric, timestamp or string column, or use count or last.',
    },
    {
      label: 'an aggregation of a column the source lacks',
      aggregation: { column: 'amout' },
      message:
        'feature_view "spend", aggregations[0].column: "amout" is not a column of source "transactions". Did you mean "amount"?',
    },
  ])('reports $label', ({ aggregation, message }) => {
    // Act
    const thrown = messageOf([user, transactions, spendView(aggregation)]);

    // Assert
    expect(thrown).toBe(message);
  });

  it.each([
    {
      label: 'a join key whose type differs between entity and source',
      definitions: () => {
        const stringUser = entity({ name: 'user', joinKeys: { user_id: 'string' } });
        return [
          stringUser,
          transactions,
          featureView({
            name: 'user_stats',
            entities: [stringUser],
            source: transactions,
            fields: { amount: 'float64' },
          }),
        ];
      },
      message:
        'feature_view "user_stats", entities[0]: join key "user_id" is string in entity "user" but int64 in source "transactions". ' +
        'Make the two types agree.',
    },
    {
      label: 'a join key the source lacks',
      definitions: () => {
        const merchant = entity({ name: 'merchant', joinKeys: { merchant_id: 'int64' } });
        return [
          merchant,
          transactions,
          featureView({
            name: 'merchant_stats',
            entities: [merchant],
            source: transactions,
            fields: { amount: 'float64' },
          }),
        ];
      },
      message:
        'feature_view "merchant_stats", entities[0]: join key "merchant_id" of entity "merchant" is not a column of source "transactions". ' +
        'Add "merchant_id" to the source\'s schema.',
    },
    {
      label: 'a field declared float64 that the source has as int64',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { items: 'float64' },
        }),
      ],
      message:
        'feature_view "user_stats", fields.items: declared float64 but source "transactions" has int64. Make the two types agree.',
    },
    {
      label: 'a field the source lacks',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amout: 'float64' },
        }),
      ],
      message:
        'feature_view "user_stats", fields.amout: "amout" is not a column of source "transactions". Did you mean "amount"?',
    },
    {
      label: 'a field of an unknown type',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float' as 'float64' },
        }),
      ],
      message: `feature_view "user_stats", fields.amount: type "float" is not a known type. Use one of ${VALUE_TYPES}.`,
    },
    {
      label: 'a last-k over a column the source lacks',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          lastK: [{ column: 'merchant_id' as 'amount', k: 3 }],
        }),
      ],
      message:
        'feature_view "user_stats", lastK[0].column: "merchant_id" is not a column of source "transactions". ' +
        'Use one of: user_id, transaction_date, amount, category, items, is_online.',
    },
    {
      label: 'a derived feature dividing a string',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { category: 'string' },
          derived: (f) => ({ bad: div(f.category, 2) }),
        }),
      ],
      message:
        'feature_view "user_stats", derived.bad: safe_div(category, 2) needs numbers but gets string and int64. ' +
        'Give each operation operands of the types it takes.',
    },
    {
      label: 'a derived feature comparing a string with a number',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { category: 'string' },
          derived: (f) => ({ bad: gt(f.category, 0) }),
        }),
      ],
      message:
        'feature_view "user_stats", derived.bad: (category > 0) compares string with int64. ' +
        'Give each operation operands of the types it takes.',
    },
    {
      label: 'a derived feature that is always null',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          derived: () => ({ nothing: lit(null) }),
        }),
      ],
      message:
        'feature_view "user_stats", derived.nothing: the expression is always null. Give it a feature, request field or value.',
    },
    {
      label: 'an on-demand feature taking the log of a string request field',
      definitions: () => [
        onDemandFeatureView({
          name: 'ratios',
          request: { channel: 'string' },
          features: (request) => ({ bad: log(request.channel) }),
        }),
      ],
      message:
        'on_demand_feature_view "ratios", features.bad: log(request.channel) needs a number but gets string. ' +
        'Give each operation operands of the types it takes.',
    },
    {
      label: 'a request field of an unknown type',
      definitions: () => [
        onDemandFeatureView({
          name: 'ratios',
          request: { amount: 'decimal' as 'float64' },
          features: () => ({ one: lit(1) }),
        }),
      ],
      message: `on_demand_feature_view "ratios", request.amount: type "decimal" is not a known type. Use one of ${VALUE_TYPES}.`,
    },
  ])('reports $label', ({ definitions, message }) => {
    // Act
    const thrown = messageOf(definitions());

    // Assert
    expect(thrown).toBe(message);
  });
});

describe('validateFeatureRepo on entities and sources', () => {
  const stream = kinesisSource(STREAM_SPEC);

  it('accepts a Kinesis source whose columns its batch source holds', () => {
    // Act
    const { issues } = inspectFeatureRepo(collectDefinitions([transactions, stream]));

    // Assert
    expect(issues).toEqual([]);
  });

  it.each([
    {
      label: 'an entity with no join keys',
      definitions: () => [entity({ name: 'user', joinKeys: {} })],
      message:
        'entity "user", joinKeys: has no join keys. Declare at least one, e.g. { user_id: \'int64\' }.',
    },
    {
      label: 'a join key of a type that cannot be a key',
      definitions: () => [entity({ name: 'user', joinKeys: { user_id: 'float64' as 'int64' } })],
      message: 'entity "user", joinKeys.user_id: type "float64" cannot be a join key. Use int64 or string.',
    },
    {
      label: 'a timestamp field that is not a timestamp',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, timestampField: 'amount' })],
      message:
        'batch_source "transactions", timestampField: column "amount" has type float64, not timestamp. ' +
        'Point timestampField at a timestamp column, or declare "amount" as timestamp.',
    },
    {
      label: 'a timestamp field the schema lacks',
      definitions: () => [{ ...transactions, timestampField: 'event_time' }],
      message:
        'batch_source "transactions", timestampField: "event_time" is not a column of the schema. ' +
        'Add "event_time" to the schema as timestamp, or name one of its timestamp columns: ' +
        'transaction_date.',
    },
    {
      label: 'a created timestamp field that is not a timestamp',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, createdTimestampField: 'items' })],
      message:
        'batch_source "transactions", createdTimestampField: column "items" has type int64, not timestamp. ' +
        'Point createdTimestampField at a timestamp column, or declare "items" as timestamp.',
    },
    {
      label: 'a column of an unknown type',
      definitions: () => [
        batchSource({
          ...TRANSACTIONS_SPEC,
          schema: { ...TRANSACTIONS_SPEC.schema, amount: 'double' as 'float64' },
        }),
      ],
      message: `batch_source "transactions", schema.amount: type "double" is not a known type. Use one of ${VALUE_TYPES}.`,
    },
    {
      label: 'an empty path',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, path: ' ' })],
      message:
        'batch_source "transactions", path: is empty. Give a local file or folder, or an s3://bucket/prefix/ URI.',
    },
    {
      label: 'an S3 path with an invalid bucket',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, path: 's3://Bad_Bucket/transactions/' })],
      message:
        'batch_source "transactions", path: "s3://Bad_Bucket/transactions/" does not name a valid S3 bucket. ' +
        'Write it as s3://bucket-name/prefix/.',
    },
    {
      label: 'an unsupported format',
      definitions: () => [batchSource({ ...TRANSACTIONS_SPEC, format: 'json' as 'csv' })],
      message: 'batch_source "transactions", format: "json" is not a supported format. Use parquet or csv.',
    },
    {
      label: 'a Kinesis column its batch source lacks',
      definitions: () => [
        transactions,
        kinesisSource({ ...STREAM_SPEC, schema: { ...TRANSACTIONS_SPEC.schema, channel: 'string' } }),
      ],
      message:
        'kinesis_source "live_transactions", schema.channel: is not a column of batch source "transactions". ' +
        "Add it to the batch source's schema so backfills see it, or remove it from the stream's schema.",
    },
    {
      label: 'a Kinesis column whose type differs from its batch source',
      definitions: () => [
        transactions,
        kinesisSource({ ...STREAM_SPEC, schema: { ...TRANSACTIONS_SPEC.schema, amount: 'string' } }),
      ],
      message:
        'kinesis_source "live_transactions", schema.amount: has type string but batch source "transactions" has float64. ' +
        'Make the two types agree.',
    },
    {
      label: 'a Kinesis stream name with a space',
      definitions: () => [transactions, kinesisSource({ ...STREAM_SPEC, streamName: 'live transactions' })],
      message:
        'kinesis_source "live_transactions", streamName: "live transactions" is not a valid Kinesis stream name. ' +
        'Use 1 to 128 letters, digits, _, . or -.',
    },
    {
      label: 'a Kinesis source with an allowed lateness that is not a duration',
      definitions: () => [transactions, kinesisSource({ ...STREAM_SPEC, allowedLateness: 'an hour' })],
      message:
        'kinesis_source "live_transactions", allowedLateness: "an hour" is not a positive duration. ' +
        'Write a whole number and a unit (s, m, h, d), e.g. "1h", or leave it out for 1h.',
    },
    {
      label: 'a Kinesis source whose partition key is not a field',
      definitions: () => [
        transactions,
        kinesisSource({ ...STREAM_SPEC, partitionKey: 'customer_id' as 'user_id' }),
      ],
      message:
        'kinesis_source "live_transactions", partitionKey: "customer_id" is not a field of the schema. ' +
        `Name a field of the schema (${Object.keys(TRANSACTIONS_SPEC.schema).join(', ')}), usually an entity's join key.`,
    },
    {
      label: 'a Kinesis source whose batch source is not exported',
      definitions: () => [stream],
      message:
        'kinesis_source "live_transactions", batchSource: unknown source "transactions". ' +
        'Export "transactions" from a definitions file listed in fstore.config.ts.',
    },
    {
      label: 'a Kinesis source backed by another Kinesis source',
      definitions: () => [
        transactions,
        stream,
        { ...stream, name: 'relayed', batchSource: stream as unknown as typeof transactions },
      ],
      message:
        'kinesis_source "relayed", batchSource: is not a batch source. ' +
        'Name the batch source that holds the same events, so backfills and training see them.',
    },
  ])('reports $label', ({ definitions, message }) => {
    // Act
    const thrown = messageOf(definitions());

    // Assert
    expect(thrown).toBe(message);
  });
});

describe('validateFeatureRepo on view settings', () => {
  it.each([
    { ttl: '0d', label: 'a zero ttl' },
    { ttl: '1.5h', label: 'a fractional ttl' },
    { ttl: '90 days', label: 'a ttl in words' },
  ])('reports $label', ({ ttl }) => {
    // Act
    const message = messageOf([user, transactions, { ...userStats, ttl }]);

    // Assert
    expect(message).toBe(
      `feature_view "user_stats", ttl: "${ttl}" is not a positive duration. ` +
        'Write a whole number and a unit (s, m, h, d), e.g. "90d", or leave ttl out for no limit.',
    );
  });

  it.each(['rate(1 hours)', 'rate(0 minutes)', 'cron(0 3 * * ?)', '@daily'])(
    'reports the schedule "%s"',
    (schedule) => {
      // Act
      const message = messageOf([user, transactions, { ...userStats, schedule }]);

      // Assert
      expect(message).toBe(
        `feature_view "user_stats", schedule: "${schedule}" is not an EventBridge schedule. ` +
          'Write rate(1 hour), rate(15 minutes) or cron(0 3 * * ? *).',
      );
    },
  );

  it.each([0, -1, 2.5, 101])('reports a last-k with k = %s', (k) => {
    // Arrange
    const view = featureView({
      name: 'user_stats',
      entities: [user],
      source: transactions,
      lastK: [{ column: 'amount', k, name: 'recent_amounts' }],
    });

    // Act
    const message = messageOf([user, transactions, view]);

    // Assert
    expect(message).toBe(
      `feature_view "user_stats", lastK[0].k: k = ${k} is out of range. Use a whole number from 1 to 100.`,
    );
  });

  it.each([1, 100])('accepts a last-k with k = %s', (k) => {
    // Arrange
    const view = featureView({
      name: 'user_stats',
      entities: [user],
      source: transactions,
      lastK: [{ column: 'amount', k }],
    });

    // Act
    const validated = validateFeatureRepo(collectDefinitions([user, transactions, view]));

    // Assert
    expect(validated.features.get('user_stats')).toEqual([
      { name: `amount_last_${k}`, dtype: 'list<float64>', origin: { kind: 'last_k', column: 'amount', k } },
    ]);
  });

  it.each([
    {
      label: 'a feature view with no features',
      definitions: () => [
        user,
        transactions,
        featureView({ name: 'empty', entities: [user], source: transactions }),
      ],
      message:
        'feature_view "empty", features: declares no features. ' +
        'Add fields, aggregations, lastK, daysSinceFirstEvent/daysSinceLastEvent or derived features.',
    },
    {
      label: 'an on-demand view with no features',
      definitions: () => [
        onDemandFeatureView({ name: 'empty', request: { amount: 'float64' }, features: () => ({}) }),
      ],
      message:
        'on_demand_feature_view "empty", features: declares no features. Return at least one expression from features().',
    },
    {
      label: 'a view with no entities',
      definitions: () => [
        transactions,
        featureView({
          name: 'user_stats',
          entities: [],
          source: transactions,
          fields: { amount: 'float64' },
        }),
      ],
      message:
        'feature_view "user_stats", entities: lists no entity. Name at least one entity whose features this view holds.',
    },
    {
      label: 'a view that is neither online nor offline',
      definitions: () => [user, transactions, { ...userStats, online: false, offline: false }],
      message:
        'feature_view "user_stats", online: the view is neither online nor offline. Set online or offline to true.',
    },
    {
      label: 'two features of a view with one name',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { amount: 'float64' },
          lastK: [{ column: 'amount', k: 3, name: 'amount' }],
        }),
      ],
      message:
        'feature_view "user_stats", features: two features are named "amount". ' +
        'Rename one: aggregations are named <column>_<function>_<window>, other names are yours to choose.',
    },
    {
      label: 'a feature named like a join key',
      definitions: () => [
        user,
        transactions,
        featureView({
          name: 'user_stats',
          entities: [user],
          source: transactions,
          fields: { user_id: 'int64' },
        }),
      ],
      message:
        'feature_view "user_stats", features: feature "user_id" has the name of a join key. ' +
        'Rename the feature so rows keep one meaning per column.',
    },
  ])('reports $label', ({ definitions, message }) => {
    // Act
    const thrown = messageOf(definitions());

    // Assert
    expect(thrown).toBe(message);
  });
});
