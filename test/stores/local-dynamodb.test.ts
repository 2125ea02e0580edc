import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureRegistryTable } from '../../lib/registry/registry-table.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { LocalStoreBusyError, startLocalDynamoDB } from '../../lib/stores/local-dynamodb.js';

let dir: string;
beforeEach(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  dir = await mkdtemp(join(tmpdir(), 'fstore-local-dynamodb-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function tableNames(endpoint: string): Promise<string[]> {
  const client = createDynamoDBClient({ endpoint });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

describe('startLocalDynamoDB', () => {
  it('keeps tables on disk across restarts when given a path', async () => {
    const first = await startLocalDynamoDB({ path: dir });
    const client = createDynamoDBClient({ endpoint: first.endpoint });
    await ensureRegistryTable(client, 'fstore_registry');
    client.destroy();
    await first.close();

    const second = await startLocalDynamoDB({ path: dir });
    try {
      expect(await tableNames(second.endpoint)).toEqual(['fstore_registry']);
    } finally {
      await second.close();
    }
  });

  it('refuses a folder another server holds, with a message instead of a crash', async () => {
    const holder = await startLocalDynamoDB({ path: dir });
    try {
      await tableNames(holder.endpoint); // dynalite opens its LevelDB on the first request

      const error = await startLocalDynamoDB({ path: dir }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LocalStoreBusyError);
      expect((error as Error).message).toBe(
        `the local store in ${dir} is in use by another fstore process (for example fstore serve); stop it or wait for it to finish`,
      );
    } finally {
      await holder.close();
    }
  });

  it('starts an empty in-memory server without a path', async () => {
    const server = await startLocalDynamoDB();
    try {
      expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await tableNames(server.endpoint)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
