import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { canonicalJson, contentHash } from '../../lib/registry/canonical-json.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { type SmallRepoOptions, validSmallRepo } from '../support/small-repo.js';

function versionOf(objects: readonly RegistryObject[], kind: string, name: string): string {
  const object = objects.find((o) => o.kind === kind && o.name === name);
  if (!object) throw new Error(`no ${kind} ${name}`);
  return object.version;
}

const viewVersion = (options: SmallRepoOptions = {}) =>
  versionOf(toRegistryObjects(validSmallRepo(options)), 'feature_view', 'user_spend');

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ a: { d: 1, c: [{ z: 1, y: 2 }] } }, '{"a":{"c":[{"y":2,"z":1}],"d":1}}'],
    [{ a: undefined, b: null }, '{"b":null}'],
    [[3, 1, 2], '[3,1,2]'],
  ])('writes %j as %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives the same hash whatever the key order', () => {
    expect(contentHash({ a: 1, b: [1, 2] })).toBe(contentHash({ b: [1, 2], a: 1 }));
  });
});

describe('feature view versions', () => {
  it('are the same for the same definitions, across separate builds', () => {
    expect(viewVersion()).toBe(viewVersion());
    expect(viewVersion()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('pin the example repo, so a refactor that changes versions by accident is caught', () => {
    const objects = toRegistryObjects(validateFeatureRepo(collectDefinitions(Object.values(transactions))));
    const again = toRegistryObjects(
      validateFeatureRepo(collectDefinitions(Object.values(transactions).reverse())),
    );
    expect(objects.map((o) => [o.kind, o.name, o.version]).sort()).toEqual(
      again.map((o) => [o.kind, o.name, o.version]).sort(),
    );
  });

  it.each<[string, SmallRepoOptions]>([
    ['a description', { description: 'Something else entirely.' }],
    ['an owner', { owner: 'team-b' }],
    ['a TTL', { ttl: '30d' }],
    ['a schedule', { schedule: 'rate(1 hour)' }],
  ])('do not change with %s', (_, options) => {
    expect(viewVersion(options)).toBe(viewVersion());
  });

  it.each<[string, SmallRepoOptions]>([
    ['a window', { windows: ['7d', '28d'] }],
    ['the source location', { path: 's3://bucket/events/' }],
  ])('change with %s', (_, options) => {
    expect(viewVersion(options)).not.toBe(viewVersion());
  });

  it('do not change when windows are listed in another order', () => {
    expect(viewVersion({ windows: ['30d', '7d'] })).toBe(viewVersion({ windows: ['7d', '30d'] }));
  });

  it('change a feature service version when a feature it serves is computed differently', () => {
    const before = versionOf(toRegistryObjects(validSmallRepo()), 'feature_service', 'model_a');
    const after = versionOf(
      toRegistryObjects(validSmallRepo({ path: 'other/events.parquet' })),
      'feature_service',
      'model_a',
    );
    expect(after).not.toBe(before);
  });
});
