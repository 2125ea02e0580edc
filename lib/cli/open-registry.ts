import { join, resolve } from 'node:path';
import { type FeatureRepoConfig, LOCAL_REGISTRY_TABLE } from '../definitions/config.js';
import { DynamoDBRegistryStore } from '../registry/dynamodb-registry-store.js';
import { Registry } from '../registry/registry.js';
import { ensureRegistryTable } from '../registry/registry-table.js';
import { createDynamoDBClient } from '../stores/dynamodb-client.js';
import { startLocalDynamoDB } from '../stores/local-dynamodb.js';

/** A registry ready to use, and how to let go of what it opened. */
export interface OpenRegistry {
  readonly registry: Registry;
  close(): Promise<void>;
}

/**
 * Opens the project's registry where its provider keeps it: for `local`, a DynamoDB (dynalite)
 * persisted under the repo's data folder, started in this process; for `aws`, the configured table.
 */
export async function openRegistry(config: FeatureRepoConfig, repoDir: string): Promise<OpenRegistry> {
  if (config.provider === 'aws' && config.aws) {
    const client = createDynamoDBClient(config.aws.region ? { region: config.aws.region } : {});
    const store = new DynamoDBRegistryStore({
      client,
      tableName: config.aws.registryTable ?? config.aws.onlineTable,
    });
    return {
      registry: new Registry({ store, project: config.project }),
      close: async () => client.destroy(),
    };
  }
  const local = await startLocalDynamoDB({ path: join(resolve(repoDir, config.local.dataDir), 'dynamodb') });
  const client = createDynamoDBClient({ endpoint: local.endpoint });
  try {
    await ensureRegistryTable(client, LOCAL_REGISTRY_TABLE);
  } catch (error) {
    client.destroy();
    await local.close();
    throw error;
  }
  const store = new DynamoDBRegistryStore({ client, tableName: LOCAL_REGISTRY_TABLE });
  return {
    registry: new Registry({ store, project: config.project }),
    close: async () => {
      client.destroy();
      await local.close();
    },
  };
}

/** Runs `work` with the project's registry open, and closes it afterwards whatever happens. */
export async function withRegistry<T>(
  config: FeatureRepoConfig,
  repoDir: string,
  work: (registry: Registry) => Promise<T>,
): Promise<T> {
  const opened = await openRegistry(config, repoDir);
  try {
    return await work(opened.registry);
  } finally {
    await opened.close();
  }
}
