import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { type LocalDynamoDB, startLocalDynamoDB } from '../../lib/stores/local-dynamodb.js';

/** An in-memory dynalite for one test file, with a client that speaks the real DynamoDB protocol to it. */
export interface DynamoDBFixture {
  readonly server: LocalDynamoDB;
  readonly client: DynamoDBClient;
  /** A further client, as a second process would have. */
  newClient(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynamoDBFixture(): Promise<DynamoDBFixture> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startLocalDynamoDB();
  const clients = [createDynamoDBClient({ endpoint: server.endpoint })];
  return {
    server,
    client: clients[0] as DynamoDBClient,
    newClient: () => {
      const client = createDynamoDBClient({ endpoint: server.endpoint });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) client.destroy();
      await server.close();
    },
  };
}
