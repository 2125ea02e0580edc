import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../registry/ensure-table.js';

/** The attribute holding an online item's expiry (epoch seconds), which DynamoDB TTL deletes by. */
export const ONLINE_TTL_ATTRIBUTE = 'expires_at';

/** The online table's name in the local DynamoDB (dynalite). */
export const LOCAL_ONLINE_TABLE = 'fstore_online';

/**
 * Creates the online table (string `pk` and `sk`, on demand) if it does not exist and waits until it is
 * active. For the local DynamoDB: dynalite has no UpdateTimeToLive, so TTL on `expires_at` is left to the
 * CDK stack, which creates the table in AWS.
 * @example await ensureOnlineTable(client, LOCAL_ONLINE_TABLE);
 */
export async function ensureOnlineTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await ensureTable(client, tableName);
}
