import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBMaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';
import { ensureRegistryTable } from '../../lib/registry/registry-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

describe('DynamoDBMaterializationWatermarks on dynalite', () => {
  let fixture: DynamoDBFixture;
  beforeAll(async () => {
    fixture = await startDynamoDBFixture();
    await ensureRegistryTable(fixture.client, 'fstore_registry');
  });
  afterAll(() => fixture.close());

  it('keeps the latest time whatever order two jobs finish in, per view version', async () => {
    const watermarks = new DynamoDBMaterializationWatermarks({
      client: fixture.client,
      tableName: 'fstore_registry',
      project: 'fraud',
    });

    expect(await watermarks.get('user_stats', 'v1')).toBeUndefined();
    expect(await watermarks.advance('user_stats', 'v1', new Date(9_000))).toBe(true);
    expect(await watermarks.advance('user_stats', 'v1', new Date(8_000))).toBe(false);
    expect(await watermarks.advance('user_stats', 'v2', new Date(1_000))).toBe(true);

    expect(await watermarks.get('user_stats', 'v1')).toEqual(new Date(9_000));
    expect(await watermarks.get('user_stats', 'v2')).toEqual(new Date(1_000));
  });
});
