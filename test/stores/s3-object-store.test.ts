import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/stores/s3-object-store.js';
import { type S3Fixture, startS3Fixture } from '../support/local-s3.js';
import { objectStoreContract } from './object-store.contract.js';

let s3: S3Fixture;
let stores = 0;
beforeAll(async () => {
  s3 = await startS3Fixture();
});
afterAll(() => s3?.close());

/** Every store gets its own prefix in the one bucket, so tests never see each other's objects. */
function newStore(): S3ObjectStore {
  stores += 1;
  return new S3ObjectStore({ bucket: s3.bucket, prefix: `tests/store-${stores}`, client: s3.client });
}

objectStoreContract('S3ObjectStore', async () => newStore());

describe('S3ObjectStore against s3rver', () => {
  it('follows continuation tokens to list more keys than one page holds', async () => {
    const store = newStore();
    const keys = Array.from(
      { length: 1050 },
      (_, i) => `raw/tx/dt=2024-01-31/e-${String(i).padStart(4, '0')}.json`,
    );
    await Promise.all(keys.map((key) => store.put(key, '')));

    const listed = await store.list('raw/tx/');
    await store.delete(keys);

    expect(listed).toEqual(keys);
    expect(await store.list('')).toEqual([]);
  });

  it('names its root and locations as s3:// URIs and has no local paths', () => {
    const store = new S3ObjectStore({ bucket: s3.bucket, prefix: '/team/fstore/', client: s3.client });

    expect(store.root).toBe(`s3://${s3.bucket}/team/fstore`);
    expect(store.uri('features/v/')).toBe(`s3://${s3.bucket}/team/fstore/features/v/`);
    expect(store.localPath('features/v/a.parquet')).toBeUndefined();
  });

  it('skips objects in its prefix whose keys it could not address, such as folder markers', async () => {
    const store = newStore();
    await store.put('raw/tx/a.json', 'a');
    const prefix = store.root.slice(`s3://${s3.bucket}/`.length);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/raw/tx/`, Body: '' }));
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/raw/tx/b c.json`, Body: '' }),
    );

    expect(await store.list('raw/')).toEqual(['raw/tx/a.json']);
  });
});
