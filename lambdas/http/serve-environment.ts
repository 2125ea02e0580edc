import { FstoreError } from '../../lib/errors.js';
import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { Registry } from '../../lib/registry/registry.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { S3ObjectStore } from '../../lib/stores/s3-object-store.js';
import { appliedCatalog } from './applied-catalog.js';
import { registryCatalogLoader } from './catalog-cache.js';
import type { ServeDependencies } from './serve-dependencies.js';

/** A Lambda's environment lacks a setting it needs, or holds one it cannot use. */
export class ServeConfigurationError extends FstoreError {
  override readonly name = 'ServeConfigurationError';
}

/**
 * The serving Lambda's dependencies from its environment, with one DynamoDB client shared by the registry
 * and the online store:
 * - `FSTORE_PROJECT`: the registry project to serve (required);
 * - `FSTORE_ONLINE_TABLE`: the online table (required);
 * - `FSTORE_REGISTRY_TABLE`: the registry table, by default the online table (their keys never collide);
 * - `FSTORE_MAX_ENTITY_ROWS`, `FSTORE_MAX_FEATURES`, `FSTORE_MAX_BODY_BYTES`: request limits (defaults
 *   1000, 500, 1 MiB);
 * - `AWS_REGION`: set by Lambda itself.
 * - `FSTORE_BUCKET`: the offline store's bucket, where offline pushes land under `raw/`; without it
 *   `"to": "offline"` answers 501 `OFFLINE_PUSH_UNAVAILABLE` (from `pushEvents`).
 */
export function serveDependenciesFromEnvironment(env: NodeJS.ProcessEnv = process.env): ServeDependencies {
  const project = requiredSetting(env, 'FSTORE_PROJECT', 'the registry project to serve', 'serving');
  const onlineTable = requiredSetting(env, 'FSTORE_ONLINE_TABLE', 'the DynamoDB online table', 'serving');
  const registryTable = env.FSTORE_REGISTRY_TABLE || onlineTable;
  const client = createDynamoDBClient(env.AWS_REGION ? { region: env.AWS_REGION } : {});
  const registry = new Registry({
    store: new DynamoDBRegistryStore({ client, tableName: registryTable }),
    project,
  });
  const loadCatalog = registryCatalogLoader(registry);
  const store = new DynamoDBOnlineStore({ client, tableName: onlineTable });
  const offlineStore = env.FSTORE_BUCKET ? new S3ObjectStore({ bucket: env.FSTORE_BUCKET }) : undefined;
  return {
    loadCatalog,
    store,
    limits: {
      ...positiveSetting(env, 'FSTORE_MAX_ENTITY_ROWS', 'maxEntityRows'),
      ...positiveSetting(env, 'FSTORE_MAX_FEATURES', 'maxFeatures'),
      ...positiveSetting(env, 'FSTORE_MAX_BODY_BYTES', 'maxBodyBytes'),
    },
    push: async (request) => {
      const { catalog } = await appliedCatalog(loadCatalog);
      return pushEvents({ catalog, onlineStore: store, ...(offlineStore ? { offlineStore } : {}), request });
    },
  };
}

/** `{ [key]: n }` from a whole-number setting of at least 1, `{}` when it is not set. */
export function positiveSetting<K extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  key: K,
): Partial<Record<K, number>> {
  const value = env[name];
  if (value === undefined || value === '') return {};
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new ServeConfigurationError(
      `environment variable ${name} is "${value}"; set it to a whole number of at least 1`,
    );
  }
  return { [key]: parsed } as Partial<Record<K, number>>;
}

/** A setting the `lambda` (serving, ingest, ...) cannot run without. */
export function requiredSetting(env: NodeJS.ProcessEnv, name: string, what: string, lambda: string): string {
  const value = env[name];
  if (!value) {
    throw new ServeConfigurationError(
      `environment variable ${name} (${what}) is not set; set it on the ${lambda} Lambda (the CDK stack does)`,
    );
  }
  return value;
}
