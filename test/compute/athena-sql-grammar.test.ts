import { describe, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import {
  historicalFeaturesSql,
  latestFeaturesSql,
  perEventFeaturesSql,
} from '../../lib/compute/feature-queries.js';
import { ATHENA_DIALECT } from '../../lib/compute/sql-dialect.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { assertValidTrinoSql } from '../support/trino-sql.js';

const validated = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
const computations = validated.repo.featureViews.map((view) => ({
  view,
  features: validated.features.get(view.name) ?? [],
  sourceRelation: '"fstore_db"."source_transactions"',
}));
const range = { start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-02-02T00:00:00Z') };

describe('every query the Athena dialect writes for the example repo parses as Trino SQL', () => {
  it.each(computations.map((c) => [c.view.name, c] as const))(
    'per-event features of %s',
    (_, computation) => {
      assertValidTrinoSql(perEventFeaturesSql(computation, range, ATHENA_DIALECT));
    },
  );

  it.each(computations.map((c) => [c.view.name, c] as const))('latest features of %s', (_, computation) => {
    assertValidTrinoSql(latestFeaturesSql(computation, range.end, ATHENA_DIALECT));
  });

  it('the point-in-time join of the fraud model service, with its on-demand feature', () => {
    const odfv = validated.repo.onDemandFeatureViews[0];
    assertValidTrinoSql(
      historicalFeaturesSql(
        {
          spineRelation: '"spine"',
          spineColumns: ['user_id', 'merchant_id', 'category', 'transaction_date', 'amount', 'label'],
          timestampColumn: 'transaction_date',
          views: computations.map((computation) => ({
            computation,
            features: computation.features.map((f) => f.name),
          })),
          onDemand: odfv
            ? [{ name: odfv.name, expressions: odfv.expressions, features: Object.keys(odfv.expressions) }]
            : [],
          fullFeatureNames: true,
        },
        ATHENA_DIALECT,
      ),
    );
  });
});
