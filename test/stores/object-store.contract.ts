import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { InvalidObjectKeyError } from '../../lib/stores/object-key.js';
import { ObjectNotFoundError, type ObjectStore } from '../../lib/stores/object-store.js';
import { featurePartitionPrefix, featureVersionPrefix } from '../../lib/stores/offline-layout.js';
import {
  discardStaging,
  InvalidPublishRequestError,
  listPublishedPartitions,
  MANIFEST_NAME,
  PartitionMetadataError,
  PartitionPublishError,
  publishPartition,
  readJsonBeside,
  readPartitionFiles,
  readPartitionManifest,
  stagingPrefix,
  writeJsonBeside,
} from '../../lib/stores/partition-publisher.js';
import { type Fault, faultyObjectStore, InjectedFault } from '../support/faulty-object-store.js';

/** Makes a new, empty store that no other test sees. */
export type NewObjectStore = () => Promise<ObjectStore>;

const PARTITION = featurePartitionPrefix('user_stats', 'a1b2', '2024-01-31');
const decode = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

/** Writes a job's output as a job would: one file per body under its staging folder. */
async function stage(store: ObjectStore, jobId: string, bodies: readonly string[]): Promise<string[]> {
  const keys = bodies.map((_, i) => `${stagingPrefix(jobId)}dt=2024-01-31/data_${i}.parquet`);
  for (const [i, key] of keys.entries()) await store.put(key, bodies[i] ?? '');
  return keys;
}

async function readPartition(store: ObjectStore, prefix = PARTITION): Promise<(string | undefined)[]> {
  const files = await readPartitionFiles(store, prefix);
  return Promise.all(files.map(async (key) => decode(await store.get(key))));
}

/** Keys that name something outside the root, or that no backend could hold the same way. */
const HOSTILE_KEYS = [
  '',
  '/etc/passwd',
  '../outside',
  'a/../../outside',
  'a//b',
  'a/',
  'a\\b',
  '..\\outside',
  './a',
  'a/./b',
  '.hidden',
  'C:/windows',
  'a/b c',
  'a/%2e%2e/b',
  'a/\u0000b',
  'a/é',
];

/** Prefixes that would list or point outside the root. */
const HOSTILE_PREFIXES = ['../', '..', '/etc/', 'a//', 'a/../../', 'a\\'];

/**
 * The behaviour every ObjectStore shares, and partition publishing on top of it. Each implementation's
 * test file calls this with a way to make fresh stores.
 */
export function objectStoreContract(implementation: string, newStore: NewObjectStore): void {
  describe(`${implementation}: objects`, () => {
    it('returns the bytes it was given, for binary and text bodies', async () => {
      const store = await newStore();
      const binary = new Uint8Array([0, 1, 2, 255]);

      await store.put('raw/tx/dt=2024-01-31/a.bin', binary);
      await store.put('raw/tx/dt=2024-01-31/b.json', '{"amount":3}');

      expect(await store.get('raw/tx/dt=2024-01-31/a.bin')).toEqual(binary);
      expect(decode(await store.get('raw/tx/dt=2024-01-31/b.json'))).toBe('{"amount":3}');
    });

    it('returns undefined for a key with no object, including a folder of other keys', async () => {
      const store = await newStore();
      await store.put('raw/tx/a.json', '1');

      expect(await store.get('raw/tx/missing.json')).toBeUndefined();
      expect(await store.get('raw/tx')).toBeUndefined();
    });

    it('replaces an object written twice under one key', async () => {
      const store = await newStore();

      await store.put('k.json', 'first');
      await store.put('k.json', 'second');

      expect(decode(await store.get('k.json'))).toBe('second');
      expect(await store.list('')).toEqual(['k.json']);
    });

    it('lists every key that starts with a prefix, sorted, and nothing else', async () => {
      const store = await newStore();
      const keys = [
        'raw/tx/dt=2024-01-02/b.json',
        'raw/tx/dt=2024-01-01/a.json',
        'raw/txn/x.json',
        'features/v/y.json',
        'raw/tx/dt=2024-02-01/deep/c.json',
      ];
      for (const key of keys) await store.put(key, key);

      expect(await store.list('raw/tx/')).toEqual([
        'raw/tx/dt=2024-01-01/a.json',
        'raw/tx/dt=2024-01-02/b.json',
        'raw/tx/dt=2024-02-01/deep/c.json',
      ]);
      expect(await store.list('raw/tx/dt=2024-01-0')).toEqual([
        'raw/tx/dt=2024-01-01/a.json',
        'raw/tx/dt=2024-01-02/b.json',
      ]);
      expect(await store.list('raw/tx')).toHaveLength(4);
      expect(await store.list('')).toEqual([...keys].sort());
      expect(await store.list('nothing/')).toEqual([]);
    });

    it('deletes the given keys and skips keys that hold no object', async () => {
      const store = await newStore();
      await store.put('p/a.json', 'a');
      await store.put('p/b.json', 'b');
      await store.put('p/sub/c.json', 'c');

      await store.delete(['p/a.json', 'p/sub/c.json', 'p/never-written.json']);

      expect(await store.list('')).toEqual(['p/b.json']);
      expect(await store.get('p/a.json')).toBeUndefined();
    });

    it('deletes nothing when given no keys', async () => {
      const store = await newStore();
      await store.put('p/a.json', 'a');

      await store.delete([]);

      expect(await store.list('')).toEqual(['p/a.json']);
    });

    it('copies an object and keeps the source', async () => {
      const store = await newStore();
      await store.put('from/dt=2024-01-31/a.parquet', 'data');

      await store.copy('from/dt=2024-01-31/a.parquet', 'to/dt=2024-01-31/a.parquet');

      expect(decode(await store.get('to/dt=2024-01-31/a.parquet'))).toBe('data');
      expect(decode(await store.get('from/dt=2024-01-31/a.parquet'))).toBe('data');
    });

    it('moves an object, replacing the target and leaving nothing at the source', async () => {
      const store = await newStore();
      await store.put('from/a.parquet', 'new');
      await store.put('to/a.parquet', 'old');

      await store.move('from/a.parquet', 'to/a.parquet');

      expect(decode(await store.get('to/a.parquet'))).toBe('new');
      expect(await store.list('')).toEqual(['to/a.parquet']);
    });

    it.each(['copy', 'move'] as const)(
      'throws ObjectNotFoundError when asked to %s a key with no object',
      async (operation) => {
        const store = await newStore();

        const error = await store[operation]('missing/a.parquet', 'to/a.parquet').catch((e: unknown) => e);

        expect(error).toBeInstanceOf(ObjectNotFoundError);
        expect((error as Error).message).toBe(
          `there is no object "missing/a.parquet" in ${store.root}; check the key (list the store to see what it holds)`,
        );
        expect(await store.list('')).toEqual([]);
      },
    );

    it.each(HOSTILE_KEYS)('rejects the key %j in every operation before touching storage', async (key) => {
      const store = await newStore();
      await store.put('ok.json', 'ok');

      const attempts = [
        store.put(key, 'x'),
        store.get(key),
        store.delete([key]),
        store.copy(key, 'copy.json'),
        store.copy('ok.json', key),
        store.move(key, 'moved.json'),
        store.move('ok.json', key),
      ];

      for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect(await store.list('')).toEqual(['ok.json']);
    });

    it.each(HOSTILE_PREFIXES)('rejects the prefix %j in list, localPath and uri', async (prefix) => {
      const store = await newStore();

      await expect(store.list(prefix)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect(() => store.localPath(prefix)).toThrow(InvalidObjectKeyError);
      expect(() => store.uri(prefix)).toThrow(InvalidObjectKeyError);
    });

    it('says what was wrong with a key and how to write one', async () => {
      const store = await newStore();

      const error = await store.get('features/../../secrets').catch((e: unknown) => e);

      expect((error as Error).message).toBe(
        `object key "features/../../secrets" has a ".." segment, which escapes the root; use a relative path of segments made of letters, digits, '.', '_', '-' and '=' separated by single '/', e.g. "features/user_stats/version=1/dt=2024-01-31/part-0.parquet"`,
      );
    });

    it('locates every key under its root, and a local path, when it has one, holds the object', async () => {
      const store = await newStore();
      await store.put('raw/tx/dt=2024-01-31/a.json', 'body');

      const uri = store.uri('raw/tx/dt=2024-01-31/a.json');
      const path = store.localPath('raw/tx/dt=2024-01-31/a.json');

      expect(uri.startsWith(store.root)).toBe(true);
      expect(uri.endsWith('raw/tx/dt=2024-01-31/a.json')).toBe(true);
      if (path !== undefined) expect(await readFile(path, 'utf8')).toBe('body');
    });
  });

  describe(`${implementation}: publishing partitions`, () => {
    it('publishes staged files as a partition that readers see through its manifest', async () => {
      const store = await newStore();
      const files = await stage(store, 'job1', ['one', 'two']);

      const result = await publishPartition(store, {
        prefix: PARTITION,
        files,
        jobId: 'job1',
        rowCount: 2,
        publishedAt: new Date('2024-02-01T01:00:00Z'),
      });

      expect(result.manifest).toEqual({
        formatVersion: 1,
        jobId: 'job1',
        files: ['part-job1-00000.parquet', 'part-job1-00001.parquet'],
        rowCount: 2,
        publishedAt: '2024-02-01T01:00:00.000Z',
      });
      expect(await readPartitionManifest(store, PARTITION)).toEqual(result.manifest);
      expect(await readPartitionFiles(store, PARTITION)).toEqual([
        `${PARTITION}part-job1-00000.parquet`,
        `${PARTITION}part-job1-00001.parquet`,
      ]);
      expect(await readPartition(store)).toEqual(['one', 'two']);
      expect(await store.list(stagingPrefix('job1'))).toEqual([]);
    });

    it('reads no files and no manifest from a partition that was never published', async () => {
      const store = await newStore();
      await store.put(`${PARTITION}part-stray-00000.parquet`, 'not published');

      expect(await readPartitionFiles(store, PARTITION)).toEqual([]);
      expect(await readPartitionManifest(store, PARTITION)).toBeUndefined();
      expect(await listPublishedPartitions(store, '')).toEqual([]);
    });

    it('publishes a partition with no files, which is present but empty', async () => {
      const store = await newStore();

      await publishPartition(store, { prefix: PARTITION, files: [], jobId: 'job1', rowCount: 0 });

      expect(await readPartitionFiles(store, PARTITION)).toEqual([]);
      expect(await listPublishedPartitions(store, '')).toEqual([PARTITION]);
    });

    it('replaces the previous generation on republish: its files are gone and readers see only the new ones', async () => {
      const store = await newStore();
      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['old-1', 'old-2']),
        jobId: 'job1',
      });

      const result = await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job2', ['new-1']),
        jobId: 'job2',
      });

      expect(result.replacedJobId).toBe('job1');
      expect(result.removed).toEqual([
        `${PARTITION}part-job1-00000.parquet`,
        `${PARTITION}part-job1-00001.parquet`,
      ]);
      expect(result.leftOver).toEqual([]);
      expect(await readPartition(store)).toEqual(['new-1']);
      expect(await store.list(PARTITION)).toEqual([
        `${PARTITION}${MANIFEST_NAME}`,
        `${PARTITION}part-job2-00000.parquet`,
      ]);
    });

    const faults: [string, Fault][] = [
      ['moving the first file', { operation: 'move', onCall: 1 }],
      ['moving the second file, after the first moved in', { operation: 'move', onCall: 2 }],
      ['writing the manifest', { operation: 'put', onCall: 1 }],
    ];

    it.each(faults)(
      'keeps the published generation whole and readable when a job fails %s',
      async (_, fault) => {
        const store = await newStore();
        await publishPartition(store, {
          prefix: PARTITION,
          files: await stage(store, 'job1', ['old']),
          jobId: 'job1',
        });
        const before = await store.list(PARTITION);
        const files = await stage(store, 'job2', ['new-1', 'new-2']);

        const error = await publishPartition(faultyObjectStore(store, fault), {
          prefix: PARTITION,
          files,
          jobId: 'job2',
        }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(PartitionPublishError);
        expect((error as Error).cause).toBeInstanceOf(InjectedFault);
        expect((await readPartitionManifest(store, PARTITION))?.jobId).toBe('job1');
        expect(await readPartition(store)).toEqual(['old']);
        expect(await store.list(PARTITION)).toEqual(before);
      },
    );

    it.each(faults)('leaves no partition at all when a first job fails %s', async (_, fault) => {
      const store = await newStore();
      const files = await stage(store, 'job1', ['new-1', 'new-2']);

      await expect(
        publishPartition(faultyObjectStore(store, fault), { prefix: PARTITION, files, jobId: 'job1' }),
      ).rejects.toBeInstanceOf(PartitionPublishError);

      expect(await store.list(PARTITION)).toEqual([]);
      expect(await listPublishedPartitions(store, '')).toEqual([]);
    });

    it('says that nothing was published when the manifest cannot be written', async () => {
      const store = await newStore();
      const files = await stage(store, 'job1', ['new']);

      const error = await publishPartition(faultyObjectStore(store, { operation: 'put', onCall: 1 }), {
        prefix: PARTITION,
        files,
        jobId: 'job1',
      }).catch((e: unknown) => e);

      expect((error as Error).message).toBe(
        `could not write the manifest of ${store.uri(PARTITION)}, so nothing was published and the partition is unchanged; fix the cause and run the job again`,
      );
    });

    it('completes the publish when the manifest write reports an error but did land', async () => {
      const store = await newStore();
      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['old']),
        jobId: 'job1',
      });
      const files = await stage(store, 'job2', ['new']);

      const result = await publishPartition(
        faultyObjectStore(store, { operation: 'put', onCall: 1, landed: true }),
        {
          prefix: PARTITION,
          files,
          jobId: 'job2',
        },
      );

      expect(result.manifest.jobId).toBe('job2');
      expect(await readPartition(store)).toEqual(['new']);
      expect(await store.list(PARTITION)).toEqual([
        `${PARTITION}${MANIFEST_NAME}`,
        `${PARTITION}part-job2-00000.parquet`,
      ]);
    });

    it('reports files the sweep could not delete without undoing the publish', async () => {
      const store = await newStore();
      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['old']),
        jobId: 'job1',
      });
      const files = await stage(store, 'job2', ['new']);

      const result = await publishPartition(faultyObjectStore(store, { operation: 'delete', onCall: 1 }), {
        prefix: PARTITION,
        files,
        jobId: 'job2',
      });

      expect(result.leftOver).toEqual([`${PARTITION}part-job1-00000.parquet`]);
      expect(await readPartition(store)).toEqual(['new']);
    });

    it('sweeps data files a crashed job left in the partition, and keeps files beside it', async () => {
      const store = await newStore();
      await store.put(`${PARTITION}part-crashed-00000.parquet`, 'orphan');
      await writeJsonBeside(store, PARTITION, 'validation', { ok: true });

      const result = await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['new']),
        jobId: 'job1',
      });

      expect(result.removed).toEqual([`${PARTITION}part-crashed-00000.parquet`]);
      expect(await store.list(PARTITION)).toEqual([
        `${PARTITION}${MANIFEST_NAME}`,
        `${PARTITION}_validation.json`,
        `${PARTITION}part-job1-00000.parquet`,
      ]);
    });

    it("discards a job's staging objects and no other job's", async () => {
      const store = await newStore();
      await stage(store, 'job1', ['a', 'b']);
      const other = await stage(store, 'job10', ['c']);

      const discarded = await discardStaging(store, 'job1');

      expect(discarded).toBe(2);
      expect(await store.list('_staging/')).toEqual(other);
      expect(await discardStaging(store, 'job1')).toBe(0);
    });

    it('lists the published partitions under a view version, by their manifests', async () => {
      const store = await newStore();
      const version = featureVersionPrefix('user_stats', 'a1b2');
      for (const [i, day] of ['2024-01-31', '2024-01-30'].entries()) {
        await publishPartition(store, {
          prefix: featurePartitionPrefix('user_stats', 'a1b2', day),
          files: await stage(store, `job${i}`, ['x']),
          jobId: `job${i}`,
        });
      }
      await store.put(
        `${featurePartitionPrefix('user_stats', 'a1b2', '2024-01-29')}part-x-00000.parquet`,
        'x',
      );
      await store.put(`${featurePartitionPrefix('user_stats', 'other', '2024-01-31')}${MANIFEST_NAME}`, '{}');

      expect(await listPublishedPartitions(store, version)).toEqual([
        `${version}dt=2024-01-30/`,
        `${version}dt=2024-01-31/`,
      ]);
    });

    it('refuses to publish files the job did not stage', async () => {
      const store = await newStore();
      await store.put('raw/tx/dt=2024-01-31/a.parquet', 'raw');

      const error = await publishPartition(store, {
        prefix: PARTITION,
        files: ['raw/tx/dt=2024-01-31/a.parquet'],
        jobId: 'job1',
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidPublishRequestError);
      expect((error as Error).message).toBe(
        '"raw/tx/dt=2024-01-31/a.parquet" is not staged by this job; publish only files written under _staging/job1/',
      );
      expect(await store.list('')).toEqual(['raw/tx/dt=2024-01-31/a.parquet']);
    });

    it.each(['', 'job 1', 'job/1', '../job', 'x'.repeat(101)])('refuses the job id %j', async (jobId) => {
      const store = await newStore();

      await expect(publishPartition(store, { prefix: PARTITION, files: [], jobId })).rejects.toBeInstanceOf(
        InvalidPublishRequestError,
      );
      await expect(discardStaging(store, jobId)).rejects.toBeInstanceOf(InvalidPublishRequestError);
    });

    it.each(['', 'features/user_stats', '_staging/job1/', '../'])(
      'refuses to publish to %j',
      async (prefix) => {
        const store = await newStore();

        await expect(publishPartition(store, { prefix, files: [], jobId: 'job1' })).rejects.toThrow();
        expect(await store.list('')).toEqual([]);
      },
    );

    it('refuses to publish twice under one job id, which would reuse its file names', async () => {
      const store = await newStore();
      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['a']),
        jobId: 'job1',
      });
      const again = await stage(store, 'job1', ['b']);

      const error = await publishPartition(store, { prefix: PARTITION, files: again, jobId: 'job1' }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(PartitionPublishError);
      expect((error as Error).message).toBe(
        `job "job1" already published ${store.uri(PARTITION)}; publish a new generation under a new job id`,
      );
      expect(await readPartition(store)).toEqual(['a']);
    });

    it('stores JSON beside a partition without making it part of the data', async () => {
      const store = await newStore();
      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['a']),
        jobId: 'job1',
      });

      const key = await writeJsonBeside(store, PARTITION, 'validation', { passed: 3, failed: 0 });

      expect(key).toBe(`${PARTITION}_validation.json`);
      expect(await readJsonBeside(store, PARTITION, 'validation')).toEqual({ passed: 3, failed: 0 });
      expect(await readJsonBeside(store, PARTITION, 'profile')).toBeUndefined();
      expect(await readPartitionFiles(store, PARTITION)).toEqual([`${PARTITION}part-job1-00000.parquet`]);
      expect(await listPublishedPartitions(store, '')).toEqual([PARTITION]);
    });

    it.each(['manifest', 'Validation', '../x', ''])(
      'refuses %j as the name of a file beside a partition',
      async (name) => {
        const store = await newStore();

        await expect(writeJsonBeside(store, PARTITION, name, {})).rejects.toBeInstanceOf(
          InvalidPublishRequestError,
        );
        expect(await store.list('')).toEqual([]);
      },
    );

    it('stops at a manifest it cannot read instead of guessing the files', async () => {
      const store = await newStore();
      await store.put(`${PARTITION}${MANIFEST_NAME}`, JSON.stringify({ formatVersion: 1, jobId: 'job1' }));

      const error = await readPartitionFiles(store, PARTITION).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PartitionMetadataError);
      expect((error as Error).message).toBe(
        `the manifest ${store.uri(`${PARTITION}${MANIFEST_NAME}`)} has no publishedAt; publish the partition again (its data files are left as they are)`,
      );
    });

    it('republishes over a manifest it cannot read', async () => {
      const store = await newStore();
      await store.put(`${PARTITION}${MANIFEST_NAME}`, 'not json');

      await publishPartition(store, {
        prefix: PARTITION,
        files: await stage(store, 'job1', ['a']),
        jobId: 'job1',
      });

      expect(await readPartition(store)).toEqual(['a']);
    });
  });
}
