import { FstoreError } from '../errors.js';

/**
 * The offline store's files: raw events and feature partitions as objects under one root.
 * Implementations: FileSystemObjectStore (local folder) and S3ObjectStore (bucket + prefix).
 *
 * Keys are `/`-separated paths relative to the root (see `assertObjectKey`); every method rejects a key
 * that could escape the root with InvalidObjectKeyError before touching storage. `put` is atomic in both
 * implementations: a reader gets the old body or the new one, never part of one. That one guarantee is
 * what partition publishing builds on (see partition-publisher.ts).
 *
 * @example
 * const store = new FileSystemObjectStore({ root: '/data/offline' });
 * await store.put('raw/transactions/dt=2024-01-31/events.json', '{"amount": 3}');
 * const keys = await store.list('raw/transactions/'); // ['raw/transactions/dt=2024-01-31/events.json']
 */
export interface ObjectStore {
  /** Where the store lives: an absolute local folder path, or `s3://bucket/prefix`. */
  readonly root: string;
  /** Writes an object whole, replacing any object under that key. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** An object's bytes; undefined when there is no object under that key. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Every key that starts with `prefix` (a plain string prefix, as in S3: `raw/tx/dt=2024-01` matches
   * `raw/tx/dt=2024-01-31/...`), sorted; all pages. `''` lists the whole store.
   */
  list(prefix: string): Promise<string[]>;
  /** Deletes objects; keys with no object are skipped. */
  delete(keys: readonly string[]): Promise<void>;
  /** Copies an object; throws ObjectNotFoundError when the source does not exist. */
  copy(fromKey: string, toKey: string): Promise<void>;
  /**
   * Moves an object: a rename on the filesystem (cheap for large files), copy then delete on S3.
   * Throws ObjectNotFoundError when the source does not exist.
   */
  move(fromKey: string, toKey: string): Promise<void>;
  /**
   * The filesystem path of a key or prefix, for engines that read and write local files (DuckDB);
   * undefined when the store is not on the local filesystem.
   */
  localPath(keyOrPrefix: string): string | undefined;
  /** A key or prefix as a location an engine understands: a local path or `s3://bucket/prefix/key`. */
  uri(keyOrPrefix: string): string;
}

/** The object a copy or move starts from does not exist. */
export class ObjectNotFoundError extends FstoreError {
  override readonly name = 'ObjectNotFoundError';
  constructor(
    readonly key: string,
    readonly root: string,
    options?: ErrorOptions,
  ) {
    super(
      `there is no object "${key}" in ${root}; check the key (list the store to see what it holds)`,
      options,
    );
  }
}
