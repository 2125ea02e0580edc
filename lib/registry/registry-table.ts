import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from './ensure-table.js';

/**
 * Creates the registry table (string `pk` and `sk`, on demand) if it does not exist and waits until it
 * is active. Used for the local DynamoDB; in AWS the CDK stack creates the table.
 */
export async function ensureRegistryTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await ensureTable(client, tableName);
}
