import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Credentials for a local endpoint, which checks their shape but not their value. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * A Kinesis client for AWS (region and credentials from the default chain unless given) or, with an
 * endpoint, for the local Kinesis. Local clients speak HTTP/1.1 (`NodeHttpHandler`): kinesalite does not
 * speak HTTP/2, which the SDK would otherwise try for Kinesis.
 */
export function createKinesisClient(options: { endpoint?: string; region?: string } = {}): KinesisClient {
  if (options.endpoint) {
    return new KinesisClient({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
    });
  }
  return new KinesisClient(options.region ? { region: options.region } : {});
}
