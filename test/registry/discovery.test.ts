import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { type DiscoveryFilter, findObjects } from '../../lib/registry/discovery.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';

const catalog = toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))));
const names = (filter: DiscoveryFilter) => findObjects(catalog, filter).map((object) => object.name);

describe('findObjects', () => {
  it.each<[DiscoveryFilter, string[]]>([
    [{ kind: 'feature_service' }, ['fraud_model_v1']],
    [{ entity: 'merchant' }, ['fraud_model_v1', 'merchant_transaction_stats', 'merchant']],
    [{ entity: 'user', kind: 'on_demand_feature_view' }, ['transaction_amount_ratios']],
    [{ tag: 'pii' }, ['transactions', 'live_transactions']],
    [{ tag: 'pii=true' }, []],
    [{ owner: 'PAYMENTS-DATA@example.com' }, ['transactions', 'live_transactions']],
    [{ search: 'last_3' }, ['fraud_model_v1', 'user_transaction_stats']],
  ])('finds %j', (filter, expected) => {
    expect(names(filter).sort()).toEqual([...expected].sort());
  });

  it('matches a tag value that itself holds "="', () => {
    const tagged = (value: string): RegistryObject => ({
      ...(catalog[0] as RegistryObject),
      tags: { k: value },
    });

    expect(findObjects([tagged('a=b')], { tag: 'k=a=b' })).toHaveLength(1);
    expect(findObjects([tagged('a')], { tag: 'k=a=b' })).toHaveLength(0);
  });
});
