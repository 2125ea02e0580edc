import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { Registry } from '../../lib/registry/registry.js';
import { ensureRegistryTable } from '../../lib/registry/registry-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';
import { validSmallRepo } from '../support/small-repo.js';

let dynamo: DynamoDBFixture;
const TABLE = 'fstore_registry';

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  await ensureRegistryTable(dynamo.client, TABLE);
});
afterAll(() => dynamo.close());

/** A registry as a separate process would open it: its own client to the same table. */
function registryFor(project: string): Registry {
  return new Registry({
    store: new DynamoDBRegistryStore({ client: dynamo.newClient(), tableName: TABLE }),
    project,
  });
}

describe('Registry on DynamoDB (dynalite)', () => {
  it('stores an apply as revision 1 and reads back exactly what it planned', async () => {
    const registry = registryFor('roundtrip');

    const result = await registry.apply(validSmallRepo(), { appliedBy: 'test' });
    const current = await registry.current();

    expect(result.revision).toBe(1);
    expect(current?.revision).toBe(1);
    expect(current?.objects).toEqual(result.objects);
    expect(current?.appliedBy).toBe('test');
  });

  it('writes nothing when the definitions already match', async () => {
    const registry = registryFor('idempotent');
    await registry.apply(validSmallRepo());

    const again = await registry.apply(validSmallRepo());

    expect(again).toMatchObject({ revision: 1, changes: [] });
    expect(await registry.changeLog()).toHaveLength(1);
  });

  it('keeps each version of a view in its history', async () => {
    const registry = registryFor('history');
    await registry.apply(validSmallRepo());
    await registry.apply(validSmallRepo({ description: 'metadata only' }));
    await registry.apply(validSmallRepo({ windows: ['7d', '28d'] }));

    const history = await registry.versionHistory('feature_view', 'user_spend');

    expect(history.map((entry) => [entry.revision, entry.action, entry.breaking])).toEqual([
      [1, 'add', false],
      [3, 'change', true],
    ]);
    expect(history[0]?.version).not.toBe(history[1]?.version);
  });

  it('loses no update when ten applies race: every one lands as its own revision, in some order', async () => {
    const windows = ['11d', '12d', '13d', '14d', '15d', '16d', '17d', '18d', '19d', '20d'] as const;
    const results = await Promise.all(
      windows.map((window, index) =>
        registryFor('race').apply(validSmallRepo({ windows: ['7d', window] }), {
          appliedBy: `apply-${index}`,
        }),
      ),
    );

    const revisions = results.map((result) => result.revision).sort((a, b) => a - b);
    expect(revisions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(results.some((result) => result.retries > 0)).toBe(true);

    const log = await registryFor('race').changeLog();
    expect(log.map((entry) => entry.revision)).toEqual(revisions);
    expect(new Set(log.map((entry) => entry.appliedBy)).size).toBe(10);

    // The newest revision is one apply's state, complete: its view has that apply's window.
    const current = await registryFor('race').current();
    const winner = results.find((result) => result.revision === 10);
    expect(current?.objects).toEqual(winner?.objects);
    const features = current?.objects.find((o) => o.kind === 'feature_view')?.features?.map((f) => f.name);
    expect(features).toHaveLength(5);
  });

  it('keeps projects apart in one table', async () => {
    await registryFor('project_a').apply(validSmallRepo());

    expect(await registryFor('project_b').current()).toBeUndefined();
  });
});
