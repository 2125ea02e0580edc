import { describe, expect, it } from 'vitest';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureService,
  featureView,
  scheduleIntervalMs,
  validateFeatureRepo,
} from '../../lib/index.js';

const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const events = batchSource({
  name: 'events',
  path: 'events.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});
const spend = featureView({
  name: 'spend',
  entities: [user],
  source: events,
  aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
});

const validate = (definitions: unknown[]) => () => validateFeatureRepo(collectDefinitions(definitions));

describe('reference checks', () => {
  it('asks for view:feature when a service lists a bare feature name', () => {
    const service = featureService({ name: 'model', features: ['amount_sum_7d' as `${string}:${string}`] });

    expect(validate([user, events, spend, service])).toThrow(
      'feature_service "model", features[0]: "amount_sum_7d" is not a feature reference. ' +
        'Write it as "view:feature", or use view.features.<name> or a whole view.',
    );
  });

  it('tells a second declaration of an exported entity from a missing one', () => {
    const copy = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
    const view = featureView({
      name: 'copy_spend',
      entities: [copy],
      source: events,
      fields: { amount: 'float64' },
    });

    expect(validate([user, events, view])).toThrow(
      'feature_view "copy_spend", entities[0]: uses an entity "user" that is not the one exported. ' +
        'Import the exported entity instead of declaring a second "user".',
    );
  });
});

describe('hop checks', () => {
  it('reports a hop that divides none of several windows once, suggesting one that divides them all', () => {
    const view = featureView({
      name: 'odd_hops',
      entities: [user],
      source: events,
      aggregations: [{ column: 'amount', functions: ['sum'], windows: ['2h', '3h'], hop: '50m' }],
    });

    expect(validate([user, events, view])).toThrow(
      'feature_view "odd_hops", aggregations[0].hop: hop "50m" does not divide windows "2h", "3h". ' +
        'Choose a hop that divides every window, such as "1h".',
    );
  });
});

describe('scheduleIntervalMs', () => {
  it.each([
    ['rate(1 hours)', undefined],
    ['rate(15 minutes)', 900_000],
    ['cron(0 3 * * ? *)', undefined],
  ])('gives %s an interval of %s ms', (schedule, expected) => {
    expect(scheduleIntervalMs(schedule)).toBe(expected);
  });
});

describe('validation rule checks', () => {
  const withRules = (validation: Parameters<typeof featureView>[0]['validation']) =>
    featureView({
      name: 'checked',
      entities: [user],
      source: events,
      aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
      lastK: [{ column: 'amount', k: 2 }],
      validation,
    });

  it.each([
    [
      { features: { amount_sum_7: { maxNullRate: 0.1 } } },
      'feature_view "checked", validation.features.amount_sum_7: the view has no feature "amount_sum_7". Did you mean "amount_sum_7d"?',
    ],
    [
      { features: { amount_sum_7d: { maxNullRate: 1.5 } } },
      'feature_view "checked", validation.features.amount_sum_7d.maxNullRate: 1.5 is not a rate. Use a number from 0 to 1.',
    ],
    [
      { features: { amount_sum_7d: { min: 10, max: 1 } } },
      'feature_view "checked", validation.features.amount_sum_7d: min 10 is greater than max 1. Swap them or fix one.',
    ],
    [
      { features: { amount_last_2: { min: 0 } } },
      'feature_view "checked", validation.features.amount_last_2.min: feature "amount_last_2" is list<float64>, which has no numeric bounds. Bound a numeric feature, or use allowedValues.',
    ],
    [
      { policy: 'loud' as never },
      'feature_view "checked", validation.policy: "loud" is not a policy. Use \'strict\' or \'warn\'.',
    ],
  ])('rejects %j', (validation, message) => {
    expect(validate([user, events, withRules(validation)])).toThrow(message);
  });

  it('accepts rules on existing features and stores them with the definition', () => {
    const view = withRules({
      policy: 'strict',
      features: { amount_sum_7d: { min: 0, maxNullRate: 0, notConstant: true } },
    });

    expect(validate([user, events, view])).not.toThrow();
    expect(view.validation).toEqual({
      policy: 'strict',
      features: { amount_sum_7d: { min: 0, maxNullRate: 0, notConstant: true } },
    });
  });
});
