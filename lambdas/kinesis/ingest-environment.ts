import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { Registry } from '../../lib/registry/registry.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { S3ObjectStore } from '../../lib/stores/s3-object-store.js';
import { registryCatalogLoader } from '../http/catalog-cache.js';
import { positiveSetting, requiredSetting } from '../http/serve-environment.js';
import type { IngestDependencies } from '../ingest.js';

/**
 * The ingest Lambda's dependencies from its environment:
 * - `FSTORE_PROJECT`, `FSTORE_ONLINE_TABLE`, `FSTORE_REGISTRY_TABLE` (default: the online table), as for serve;
 * - `FSTORE_BUCKET`: the offline store's bucket, for raw landing and the quarantine (required);
 * - `FSTORE_MAX_RECORD_BYTES`: records larger than this are quarantined (default 1 MiB).
 */
export function ingestDependenciesFromEnvironment(env: NodeJS.ProcessEnv = process.env): IngestDependencies {
  const project = requiredSetting(env, 'FSTORE_PROJECT', 'the registry project', 'ingest');
  const onlineTable = requiredSetting(env, 'FSTORE_ONLINE_TABLE', 'the DynamoDB online table', 'ingest');
  const bucket = requiredSetting(env, 'FSTORE_BUCKET', 'the offline store bucket', 'ingest');
  const client = createDynamoDBClient(env.AWS_REGION ? { region: env.AWS_REGION } : {});
  const registry = new Registry({
    store: new DynamoDBRegistryStore({ client, tableName: env.FSTORE_REGISTRY_TABLE || onlineTable }),
    project,
  });
  return {
    loadCatalog: registryCatalogLoader(registry),
    onlineStore: new DynamoDBOnlineStore({ client, tableName: onlineTable }),
    offlineStore: new S3ObjectStore({ bucket }),
    ...positiveSetting(env, 'FSTORE_MAX_RECORD_BYTES', 'maxRecordBytes'),
  };
}
