import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { FstoreError } from '../errors.js';
import { assertObjectKey, assertObjectPrefix, InvalidObjectKeyError } from './object-key.js';
import { ObjectNotFoundError, type ObjectStore } from './object-store.js';

/** S3's longest key, in bytes (keys here are ASCII, so characters). */
export const MAX_S3_KEY_LENGTH = 1024;

/** DeleteObjects takes at most this many keys per request. */
export const MAX_KEYS_PER_DELETE = 1000;

/** Bucket naming rules, as S3 checks them (3-63 lower-case letters, digits, dots and hyphens). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface S3ObjectStoreOptions {
  /** The bucket holding the objects. */
  readonly bucket: string;
  /** Key prefix every object lives under, e.g. `fstore/transactions`. @default '' (the bucket's top) */
  readonly prefix?: string;
  /** @default a new S3Client with region and credentials from the SDK's default chains */
  readonly client?: S3Client;
}

/** The bucket name is not one S3 accepts. */
export class InvalidBucketNameError extends FstoreError {
  override readonly name = 'InvalidBucketNameError';
  constructor(readonly bucket: string) {
    super(
      `"${bucket}" is not a valid S3 bucket name; use 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit (the bucket from the stack outputs)`,
    );
  }
}

/** S3 accepted a DeleteObjects request but refused some of its keys. */
export class S3DeleteObjectsError extends FstoreError {
  override readonly name = 'S3DeleteObjectsError';
  constructor(
    readonly failures: readonly { readonly key: string; readonly code: string; readonly message: string }[],
    bucket: string,
  ) {
    const shown = failures
      .slice(0, 3)
      .map((f) => `"${f.key}" (${f.code}: ${f.message})`)
      .join(', ');
    const more = failures.length > 3 ? ` and ${failures.length - 3} more` : '';
    super(
      `could not delete ${failures.length} object(s) in bucket ${bucket}: ${shown}${more}; check that the role may s3:DeleteObject there, then retry`,
    );
  }
}

/**
 * Objects in an S3 bucket under a prefix. `put` is one PutObject, which S3 makes atomic and (since
 * December 2020) strongly consistent for the reads and listings that follow. Lists follow every
 * continuation token; deletes go in batches of 1,000.
 *
 * @example
 * const store = new S3ObjectStore({ bucket: 'fstore-data-123', prefix: 'transactions' });
 * await store.list('features/user_stats/'); // every key, all pages
 */
export class S3ObjectStore implements ObjectStore {
  readonly root: string;
  private readonly bucket: string;
  private readonly client: S3Client;
  /** '' or the prefix with a trailing '/'. */
  private readonly keyPrefix: string;

  constructor(options: S3ObjectStoreOptions) {
    if (!BUCKET_NAME.test(options.bucket)) throw new InvalidBucketNameError(options.bucket);
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    assertObjectPrefix(prefix);
    this.bucket = options.bucket;
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.root = prefix === '' ? `s3://${options.bucket}` : `s3://${options.bucket}/${prefix}`;
    this.client = options.client ?? new S3Client({});
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    // An explicit length lets the SDK send the body in one piece (it cannot tell the length of '').
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.s3Key(key),
        Body: bytes,
        ContentLength: bytes.byteLength,
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }),
      );
      return (await output.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
  }

  /** Keys S3 holds that are not valid object keys (folder markers ending in `/`, ...) are skipped. */
  async list(prefix: string): Promise<string[]> {
    assertObjectPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const output: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.keyPrefix}${prefix}`,
          ContinuationToken: token,
        }),
      );
      for (const object of output.Contents ?? []) {
        const key = object.Key?.slice(this.keyPrefix.length);
        if (key !== undefined && isValidKey(key)) keys.push(key);
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    const s3Keys = keys.map((key) => this.s3Key(key));
    for (let start = 0; start < s3Keys.length; start += MAX_KEYS_PER_DELETE) {
      const batch = s3Keys.slice(start, start + MAX_KEYS_PER_DELETE);
      const output = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (output.Errors && output.Errors.length > 0) {
        throw new S3DeleteObjectsError(
          output.Errors.map((e) => ({
            key: e.Key ?? '',
            code: e.Code ?? 'Unknown',
            message: e.Message ?? '',
          })),
          this.bucket,
        );
      }
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.s3Key(fromKey);
    const to = this.s3Key(toKey);
    try {
      // Keys hold only URL-safe characters (see object-key.ts), so the source needs no encoding.
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${from}` }),
      );
    } catch (error) {
      if (isNoSuchKey(error)) throw new ObjectNotFoundError(fromKey, this.root, { cause: error });
      throw error;
    }
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    await this.copy(fromKey, toKey);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.s3Key(fromKey) }));
  }

  localPath(keyOrPrefix: string): undefined {
    assertObjectPrefix(keyOrPrefix);
    return undefined;
  }

  uri(keyOrPrefix: string): string {
    assertObjectPrefix(keyOrPrefix);
    return `s3://${this.bucket}/${this.keyPrefix}${keyOrPrefix}`;
  }

  private s3Key(key: string): string {
    assertObjectKey(key);
    const s3Key = `${this.keyPrefix}${key}`;
    if (s3Key.length > MAX_S3_KEY_LENGTH) {
      throw new InvalidObjectKeyError(
        key,
        `is ${s3Key.length} characters long with the store's prefix, over S3's ${MAX_S3_KEY_LENGTH}-byte limit`,
      );
    }
    return s3Key;
  }
}

function isValidKey(key: string): boolean {
  try {
    assertObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

function isNoSuchKey(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}
