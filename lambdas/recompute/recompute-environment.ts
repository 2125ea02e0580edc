import { quoteIdentifier, stringLiteral } from '../../lib/compute/sql-literals.js';
import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { DynamoDBMaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';
import { Registry } from '../../lib/registry/registry.js';
import { FreshnessMetrics } from '../../lib/services/freshness-metrics.js';
import { DriftMetrics } from '../../lib/services/view-drift.js';
import { AthenaEngine } from '../../lib/stores/athena-engine.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { featureTableName } from '../../lib/stores/glue-table-names.js';
import { S3ObjectStore } from '../../lib/stores/s3-object-store.js';
import { registryCatalogLoader } from '../http/catalog-cache.js';
import { positiveSetting, requiredSetting } from '../http/serve-environment.js';
import type { RecomputeDependencies } from '../recompute.js';
import { athenaSourceRelations } from './athena-relations.js';

/** The longest one Athena query may run inside the recompute Lambda (15 minutes at most). */
const ATHENA_QUERY_TIMEOUT_MS = 12 * 60 * 1000;

/**
 * The recompute Lambda's dependencies from its environment, every setting checked before any client is
 * made:
 * - `FSTORE_PROJECT`: the registry project (required); also the freshness metric's `service` dimension;
 * - `FSTORE_ONLINE_TABLE`: the DynamoDB online table (required);
 * - `FSTORE_REGISTRY_TABLE`: the registry table, which also holds the materialization watermarks
 *   (default: the online table, as for serve and ingest);
 * - `FSTORE_BUCKET`: the offline store's bucket (required);
 * - `FSTORE_GLUE_DATABASE`: the Glue database holding the `raw_<source>` tables (required);
 * - `FSTORE_ATHENA_WORKGROUP`: the Athena workgroup queries run in; it must set the query result location
 *   (required);
 * - `FSTORE_RECOMPUTE_DAYS`: UTC days computed again on each run, today included (default 2);
 * - `AWS_REGION`: set by Lambda itself.
 * The registry is read again on every run (a new `fstore apply` is used at once), and reused when its
 * revision did not change.
 */
export function recomputeDependenciesFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): RecomputeDependencies {
  const lambda = 'recompute';
  const project = requiredSetting(env, 'FSTORE_PROJECT', 'the registry project', lambda);
  const onlineTable = requiredSetting(env, 'FSTORE_ONLINE_TABLE', 'the DynamoDB online table', lambda);
  const bucket = requiredSetting(env, 'FSTORE_BUCKET', 'the offline store bucket', lambda);
  const database = requiredSetting(
    env,
    'FSTORE_GLUE_DATABASE',
    'the Glue database of the offline store',
    lambda,
  );
  const workGroup = requiredSetting(env, 'FSTORE_ATHENA_WORKGROUP', 'the Athena workgroup', lambda);
  const days = positiveSetting(env, 'FSTORE_RECOMPUTE_DAYS', 'recomputeDays');
  const registryTable = env.FSTORE_REGISTRY_TABLE || onlineTable;
  const region = env.AWS_REGION ? { region: env.AWS_REGION } : {};

  const client = createDynamoDBClient(region);
  const registry = new Registry({
    store: new DynamoDBRegistryStore({ client, tableName: registryTable }),
    project,
  });
  const metrics = new FreshnessMetrics({ project });
  const driftMetrics = new DriftMetrics({ project });
  return {
    loadCatalog: registryCatalogLoader(registry, { refreshMs: 0 }),
    // Each query is cancelled before the Lambda's 15-minute limit, so none runs on in Athena unwatched.
    engine: new AthenaEngine({ database, workGroup, timeoutMs: ATHENA_QUERY_TIMEOUT_MS }),
    offlineStore: new S3ObjectStore({ bucket }),
    onlineStore: new DynamoDBOnlineStore({ client, tableName: onlineTable }),
    watermarks: new DynamoDBMaterializationWatermarks({ client, tableName: registryTable, project }),
    ...athenaSourceRelations(database),
    publishFreshness: (freshness) => metrics.publish(freshness),
    // A day of a view version through its Glue table (the stack's `features_<view>_<version>`).
    partitionRelation: (view, version, dt) =>
      `(SELECT * FROM ${quoteIdentifier(database)}.${quoteIdentifier(featureTableName(view, version))} WHERE "dt" = ${stringLiteral(dt)}) AS partition_rows`,
    publishDrift: (view, drift) => driftMetrics.publish(view, drift),
    ...days,
  };
}
