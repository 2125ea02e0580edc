import type { AddressInfo } from 'node:net';
import kinesalite from 'kinesalite';

/** A Kinesis-compatible server (kinesalite) running in this process. */
export interface LocalKinesis {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts kinesalite in memory on a free loopback port. Streams are created and deleted at once, unlike
 * the delays kinesalite imitates by default, because nothing local waits on provisioning.
 */
export async function startLocalKinesis(): Promise<LocalKinesis> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
