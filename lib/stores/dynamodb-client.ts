import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Credentials for a local endpoint, which checks their shape but not their value. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * A DynamoDB client for AWS (region and credentials from the default chain unless given) or, with an
 * endpoint, for the local DynamoDB.
 */
export function createDynamoDBClient(options: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  if (options.endpoint) {
    return new DynamoDBClient({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
  }
  return new DynamoDBClient(options.region ? { region: options.region } : {});
}
