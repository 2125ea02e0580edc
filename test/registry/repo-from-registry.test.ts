import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { RegistrySnapshotError, repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { events, features as spendFeatures, user, view } from '../support/spend-view.js';

describe('repoFromRegistry', () => {
  it.each([
    ['the transactions example', validateFeatureRepo(collectDefinitions(Object.values(transactions)))],
    ['a view with every kind of feature', validateFeatureRepo(collectDefinitions([user, events, view]))],
  ])('rebuilds %s into definitions with the same objects and versions', (_, validated) => {
    const objects = toRegistryObjects(validated);

    const applied = repoFromRegistry(objects);

    expect(toRegistryObjects(applied.validated)).toEqual(objects);
    expect(applied.versions.size).toBe(objects.length);
  });

  it('resolves the same features, derived expressions included', () => {
    const applied = repoFromRegistry(
      toRegistryObjects(validateFeatureRepo(collectDefinitions([user, events, view]))),
    );

    expect(applied.validated.features.get('spend')).toEqual(spendFeatures);
  });

  it('refuses a snapshot whose view names a source it does not hold, saying which', () => {
    const objects = toRegistryObjects(validateFeatureRepo(collectDefinitions([user, events, view]))).filter(
      (object) => object.kind !== 'batch_source',
    );

    expect(() => repoFromRegistry(objects)).toThrow(
      new RegistrySnapshotError(
        'feature view "spend" names source "events", which the registry does not hold',
      ),
    );
  });
});
