import type { FeatureRepoConfig } from '../definitions/config.js';
import { FstoreError } from '../errors.js';
import { DynamoDBMaterializationWatermarks } from '../registry/materialization-watermarks.js';
import type { Registry } from '../registry/registry.js';
import { repoFromRegistry } from '../registry/repo-from-registry.js';
import { type ServingCatalog, servingCatalog } from '../services/serving-catalog.js';
import { DynamoDBOnlineStore } from '../stores/dynamodb-online-store.js';
import type { DynamoDBConnection } from './dynamodb-connection.js';
import { openRegistry } from './open-registry.js';

/** The online side as a provider runs it: the registry, the online store and the watermarks, on one connection. */
export interface OnlinePlatform {
  readonly registry: Registry;
  readonly connection: DynamoDBConnection;
  readonly onlineStore: DynamoDBOnlineStore;
  readonly watermarks: DynamoDBMaterializationWatermarks;
  /** The applied definitions, prepared for serving; fails when nothing is applied yet. */
  catalog(): Promise<ServingCatalog>;
}

/** Runs `work` with the online platform open, and closes it afterwards whatever happens. */
export async function withOnlinePlatform<T>(
  config: FeatureRepoConfig,
  repoDir: string,
  work: (platform: OnlinePlatform) => Promise<T>,
): Promise<T> {
  const opened = await openRegistry(config, repoDir);
  const { connection, registry } = opened;
  try {
    return await work({
      registry,
      connection,
      onlineStore: new DynamoDBOnlineStore({ client: connection.client, tableName: connection.onlineTable }),
      watermarks: new DynamoDBMaterializationWatermarks({
        client: connection.client,
        tableName: connection.registryTable,
        project: config.project,
      }),
      catalog: async () => {
        const revision = await registry.current();
        if (!revision) throw new FstoreError('nothing is applied yet; run fstore apply first');
        return servingCatalog(repoFromRegistry(revision.objects));
      },
    });
  } finally {
    await opened.close();
  }
}
