import type { FeatureRepoConfig } from '../definitions/config.js';
import { DynamoDBRegistryStore } from '../registry/dynamodb-registry-store.js';
import { Registry } from '../registry/registry.js';
import { connectDynamoDB, type DynamoDBConnection } from './dynamodb-connection.js';

/** A registry ready to use, and how to let go of what it opened. */
export interface OpenRegistry {
  readonly registry: Registry;
  /** The DynamoDB connection it uses (the online store shares it). */
  readonly connection: DynamoDBConnection;
  close(): Promise<void>;
}

/**
 * Opens the project's registry where its provider keeps it: for `local`, a DynamoDB (dynalite)
 * persisted under the repo's data folder (the one `fstore serve` hosts, when it runs); for `aws`, the
 * configured table.
 */
export async function openRegistry(config: FeatureRepoConfig, repoDir: string): Promise<OpenRegistry> {
  const connection = await connectDynamoDB(config, repoDir);
  const store = new DynamoDBRegistryStore({ client: connection.client, tableName: connection.registryTable });
  return {
    registry: new Registry({ store, project: config.project }),
    connection,
    close: () => connection.close(),
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
