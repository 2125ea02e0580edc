import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { ClassicLevel } from 'classic-level';
import dynalite from 'dynalite';
import { FstoreError } from '../errors.js';

/** A DynamoDB-compatible server (dynalite) running in this process. */
export interface LocalDynamoDB {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** The local DynamoDB's folder is held by another process (LevelDB allows one at a time). */
export class LocalStoreBusyError extends FstoreError {
  override readonly name = 'LocalStoreBusyError';
}

/**
 * Starts dynalite on a free loopback port. With `path`, tables persist on disk there (LevelDB);
 * without it they live in memory. Tables are created and deleted instantly, unlike DynamoDB's default
 * delays that dynalite imitates, because nothing local waits on provisioning.
 */
export async function startLocalDynamoDB(options: { path?: string } = {}): Promise<LocalDynamoDB> {
  if (options.path) {
    await mkdir(options.path, { recursive: true });
    await assertNotLocked(options.path);
  }
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
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

/**
 * dynalite opens its LevelDB lazily and crashes the process when another process holds the lock, so
 * the lock is probed first, to fail with a message instead.
 */
async function assertNotLocked(path: string): Promise<void> {
  const probe = new ClassicLevel(path);
  try {
    await probe.open();
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'LEVEL_LOCKED') {
      throw new LocalStoreBusyError(
        `the local store in ${path} is in use by another fstore process (for example fstore serve); stop it or wait for it to finish`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await probe.close();
  }
}
