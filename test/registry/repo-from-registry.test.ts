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

  it('gives a Kinesis source applied before allowed lateness and partition keys existed their defaults', () => {
    const objects = toRegistryObjects(
      validateFeatureRepo(collectDefinitions(Object.values(transactions))),
    ).map((object) => {
      if (object.kind !== 'kinesis_source') return object;
      const { allowedLateness: _, partitionKey: __, ...older } = object.definition as Record<string, unknown>;
      return { ...object, definition: older };
    });

    const source = repoFromRegistry(objects as never).validated.repo.sources.find(
      (candidate) => candidate.name === 'live_transactions',
    );

    expect(source).toMatchObject({ allowedLateness: '1h', partitionKey: undefined });
  });

  it('versions a view reading a Kinesis source as the same view reading its batch source', () => {
    const byStream = toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))));
    const byBatch = toRegistryObjects(
      validateFeatureRepo(
        collectDefinitions([
          ...Object.values(transactions).filter((d) => d !== transactions.userTransactionStats),
          { ...transactions.userTransactionStats, source: transactions.transactions },
        ]),
      ),
    );
    const version = (objects: typeof byStream) =>
      objects.find((object) => object.name === 'user_transaction_stats')?.version;

    expect(version(byStream)).toBe(version(byBatch));
  });
});
