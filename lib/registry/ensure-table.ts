import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { FstoreError } from '../errors.js';

/** How often and how many times `ensureTable` asks whether a new table is active: 5 s in all. */
const POLL_INTERVAL_MS = 50;
const MAX_POLLS = 100;

/** A table `ensureTable` created, or found, that did not become active in time. */
export class TableNotActiveError extends FstoreError {
  override readonly name = 'TableNotActiveError';
}

/**
 * Creates a table with fstore's key schema (string partition key `pk`, string sort key `sk`, billed on
 * demand) unless it exists, and waits until it is active. Safe to call every time a process starts, and
 * from several processes at once: the loser of a create race sees `ResourceInUseException` and waits too.
 * For the local DynamoDB; in AWS the CDK stack creates the tables.
 * @example await ensureTable(client, 'fstore_online');
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new TableNotActiveError(
    `DynamoDB table "${tableName}" did not become active within ${(POLL_INTERVAL_MS * MAX_POLLS) / 1000} s; check its status (aws dynamodb describe-table) and try again`,
  );
}
