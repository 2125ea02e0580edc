import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidObjectKeyError } from '../../lib/stores/object-key.js';
import { ObjectNotFoundError } from '../../lib/stores/object-store.js';
import {
  InvalidBucketNameError,
  S3DeleteObjectsError,
  S3ObjectStore,
} from '../../lib/stores/s3-object-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const s3 = mockClient(S3Client);
const store = new S3ObjectStore({
  bucket: 'fstore-data',
  prefix: 'shop',
  client: new S3Client({ region: 'us-east-1' }),
});

beforeEach(() => s3.reset());

describe('S3ObjectStore requests', () => {
  it('puts an object under the store prefix, with its length', async () => {
    s3.on(PutObjectCommand).resolves({});

    await store.put('features/v/version=1/dt=2024-01-31/_manifest.json', '{"a":1}');

    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input?.Bucket).toBe('fstore-data');
    expect(input?.Key).toBe('shop/features/v/version=1/dt=2024-01-31/_manifest.json');
    expect(input?.ContentLength).toBe(7);
    expect(new TextDecoder().decode(input?.Body as Uint8Array)).toBe('{"a":1}');
  });

  it('lists every page, passing each continuation token back, and strips the store prefix', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        Contents: [{ Key: 'shop/raw/tx/b.json' }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 'page-2' })
      .resolves({ Contents: [{ Key: 'shop/raw/tx/a.json' }], IsTruncated: false });

    const keys = await store.list('raw/tx/');

    expect(keys).toEqual(['raw/tx/a.json', 'raw/tx/b.json']);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'fstore-data', Prefix: 'shop/raw/tx/', ContinuationToken: undefined },
      { Bucket: 'fstore-data', Prefix: 'shop/raw/tx/', ContinuationToken: 'page-2' },
    ]);
  });

  it('reads an object as bytes', async () => {
    // The SDK's streaming body, reduced to the one method the store calls.
    const body = { transformToByteArray: async () => new TextEncoder().encode('hello') };
    s3.on(GetObjectCommand, { Bucket: 'fstore-data', Key: 'shop/a.json' }).resolves({ Body: body as never });

    expect(new TextDecoder().decode(await store.get('a.json'))).toBe('hello');
  });

  it('reads NoSuchKey as no object', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));

    expect(await store.get('a.json')).toBeUndefined();
  });

  it('passes errors other than a missing key through', async () => {
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    await expect(store.get('a.json')).rejects.toThrow('Access Denied');
  });

  it('deletes in batches of 1,000 keys, quietly', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const keys = Array.from({ length: 1001 }, (_, i) => `k/${i}.json`);

    await store.delete(keys);

    const inputs = s3.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]?.Bucket).toBe('fstore-data');
    expect(inputs[0]?.Delete?.Quiet).toBe(true);
    expect(inputs[0]?.Delete?.Objects).toHaveLength(1000);
    expect(inputs[0]?.Delete?.Objects?.[0]).toEqual({ Key: 'shop/k/0.json' });
    expect(inputs[1]?.Delete?.Objects).toEqual([{ Key: 'shop/k/1000.json' }]);
  });

  it('sends no request to delete no keys', async () => {
    await store.delete([]);

    expect(s3.calls()).toHaveLength(0);
  });

  it('throws, naming the keys, when S3 refuses to delete some of them', async () => {
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: 'shop/k/a.json', Code: 'AccessDenied', Message: 'Access Denied' }],
    });

    const error = await store.delete(['k/a.json']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(S3DeleteObjectsError);
    expect((error as Error).message).toBe(
      'could not delete 1 object(s) in bucket fstore-data: "shop/k/a.json" (AccessDenied: Access Denied); check that the role may s3:DeleteObject there, then retry',
    );
  });

  it('copies with the source as bucket/key, and moves by copying then deleting the source', async () => {
    s3.on(CopyObjectCommand).resolves({});
    s3.on(DeleteObjectCommand).resolves({});

    await store.move('_staging/job1/dt=2024-01-31/data_0.parquet', 'features/v/part-job1-00000.parquet');

    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'fstore-data',
      Key: 'shop/features/v/part-job1-00000.parquet',
      CopySource: 'fstore-data/shop/_staging/job1/dt=2024-01-31/data_0.parquet',
    });
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'fstore-data',
      Key: 'shop/_staging/job1/dt=2024-01-31/data_0.parquet',
    });
  });

  it('keeps the source when the copy of a move fails', async () => {
    s3.on(CopyObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));

    await expect(store.move('a.parquet', 'b.parquet')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('refuses a key that would pass S3 key length limit with the prefix', async () => {
    const long = Array.from({ length: 5 }, () => 'x'.repeat(250)).join('/');

    await expect(store.put(long, '')).rejects.toBeInstanceOf(InvalidObjectKeyError);
    expect(s3.calls()).toHaveLength(0);
  });

  it.each(['', 'A-Bucket', 'ab', 'bucket_name', '-bucket'])('refuses %j as a bucket name', (bucket) => {
    expect(() => new S3ObjectStore({ bucket })).toThrow(InvalidBucketNameError);
  });

  it('lists the whole bucket with an empty prefix when the store has none', async () => {
    const top = new S3ObjectStore({ bucket: 'fstore-data', client: new S3Client({ region: 'us-east-1' }) });
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'a.json' }] });

    expect(top.root).toBe('s3://fstore-data');
    expect(await top.list('')).toEqual(['a.json']);
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Prefix).toBe('');
  });
});
