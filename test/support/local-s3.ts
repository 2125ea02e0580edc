import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** An s3rver for one test file, serving one bucket from a temporary folder, and a client for it. */
export interface S3Fixture {
  readonly bucket: string;
  readonly endpoint: string;
  readonly client: S3Client;
  close(): Promise<void>;
}

export async function startS3Fixture(bucket = 'fstore-test'): Promise<S3Fixture> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  allowSingleDes();
  const directory = await mkdtemp(join(tmpdir(), 'fstore-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    // s3rver knows one account, S3RVER, and does not check version 4 signatures.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    bucket,
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node 17+) no
 * longer offers, so every second page fails with InternalError (jamhall/s3rver#818). Triple DES with
 * the key repeated three times computes the same cipher (encrypt, decrypt, encrypt with one key), so
 * s3rver's `des` calls are routed to it. Other ciphers are untouched.
 */
function allowSingleDes(): void {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto') & {
    fstoreSingleDes?: true;
  };
  if (crypto.fstoreSingleDes) return;
  const { createCipheriv, createDecipheriv } = crypto;
  const tripled = (algorithm: string, key: unknown): [string, Buffer] | undefined =>
    algorithm.toLowerCase() === 'des' && Buffer.isBuffer(key) && key.length === 8
      ? ['des-ede3-cbc', Buffer.concat([key, key, key])]
      : undefined;
  crypto.createCipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: never) => {
    const des = tripled(algorithm, key);
    return des ? createCipheriv(des[0], des[1], iv) : createCipheriv(algorithm, key, iv, options);
  }) as typeof crypto.createCipheriv;
  crypto.createDecipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: never) => {
    const des = tripled(algorithm, key);
    return des ? createDecipheriv(des[0], des[1], iv) : createDecipheriv(algorithm, key, iv, options);
  }) as typeof crypto.createDecipheriv;
  crypto.fstoreSingleDes = true;
}
