import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type FeatureRepoConfig, LOCAL_REGISTRY_TABLE } from '../definitions/config.js';
import { ensureRegistryTable } from '../registry/registry-table.js';
import { createDynamoDBClient } from '../stores/dynamodb-client.js';
import { startLocalDynamoDB } from '../stores/local-dynamodb.js';
import { ensureOnlineTable, LOCAL_ONLINE_TABLE } from '../stores/online-table.js';

/** A DynamoDB client for the project's registry and online tables, and how to let go of it. */
export interface DynamoDBConnection {
  readonly client: DynamoDBClient;
  readonly registryTable: string;
  readonly onlineTable: string;
  /** `aws`; `serve` when the local store is the one a running `fstore serve` hosts; else `in-process`. */
  readonly via: 'aws' | 'serve' | 'in-process';
  /** The local DynamoDB's endpoint; undefined in AWS. */
  readonly endpoint?: string;
  close(): Promise<void>;
}

/** What a running `fstore serve` tells other fstore processes of the same repo, in `<dataDir>/serve.json`. */
export interface ServeAnnouncement {
  readonly pid: number;
  readonly dynamodbEndpoint: string;
  readonly apiUrl: string;
  /** The local Kinesis the server polls, where `fstore ingest` puts records; absent before any stream exists. */
  readonly kinesisEndpoint?: string;
}

export function localStorePath(config: FeatureRepoConfig, repoDir: string): string {
  return join(resolve(repoDir, config.local.dataDir), 'dynamodb');
}

function announcementPath(config: FeatureRepoConfig, repoDir: string): string {
  return join(resolve(repoDir, config.local.dataDir), 'serve.json');
}

export async function announceServe(
  config: FeatureRepoConfig,
  repoDir: string,
  announcement: ServeAnnouncement,
): Promise<() => Promise<void>> {
  const path = announcementPath(config, repoDir);
  await writeFile(path, `${JSON.stringify(announcement, null, 2)}\n`);
  return () => rm(path, { force: true });
}

/**
 * Connects to where the project keeps its DynamoDB tables. AWS: the configured tables. Local: the
 * dynalite that a running `fstore serve` hosts for this repo, when there is one (LevelDB admits one
 * process, so commands must share it); otherwise a dynalite started in this process over the same
 * folder. Local tables are created on first use.
 */
export async function connectDynamoDB(
  config: FeatureRepoConfig,
  repoDir: string,
): Promise<DynamoDBConnection> {
  if (config.provider === 'aws' && config.aws) {
    const client = createDynamoDBClient(config.aws.region ? { region: config.aws.region } : {});
    return {
      client,
      registryTable: config.aws.registryTable ?? config.aws.onlineTable,
      onlineTable: config.aws.onlineTable,
      via: 'aws',
      close: async () => client.destroy(),
    };
  }
  const served = await runningServe(config, repoDir);
  if (served) {
    const client = createDynamoDBClient({ endpoint: served.dynamodbEndpoint });
    return {
      ...(await localTables(client)),
      via: 'serve',
      endpoint: served.dynamodbEndpoint,
      close: async () => client.destroy(),
    };
  }
  const local = await startLocalDynamoDB({ path: localStorePath(config, repoDir) });
  const client = createDynamoDBClient({ endpoint: local.endpoint });
  try {
    return {
      ...(await localTables(client)),
      via: 'in-process',
      endpoint: local.endpoint,
      close: async () => {
        client.destroy();
        await local.close();
      },
    };
  } catch (error) {
    client.destroy();
    await local.close();
    throw error;
  }
}

async function localTables(client: DynamoDBClient) {
  await ensureRegistryTable(client, LOCAL_REGISTRY_TABLE);
  await ensureOnlineTable(client, LOCAL_ONLINE_TABLE);
  return { client, registryTable: LOCAL_REGISTRY_TABLE, onlineTable: LOCAL_ONLINE_TABLE };
}

/** The announcement of a `fstore serve` that is alive and answering; stale announcements are ignored. */
export async function runningServe(
  config: FeatureRepoConfig,
  repoDir: string,
): Promise<ServeAnnouncement | undefined> {
  let announcement: ServeAnnouncement;
  try {
    announcement = JSON.parse(await readFile(announcementPath(config, repoDir), 'utf8')) as ServeAnnouncement;
  } catch {
    return undefined;
  }
  try {
    process.kill(announcement.pid, 0);
  } catch {
    return undefined;
  }
  // A live pid may be another program after a crash and a reboot: ask the endpoint itself.
  const client = createDynamoDBClient({ endpoint: announcement.dynamodbEndpoint });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
    return announcement;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}
