import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { objectStoreContract } from './object-store.contract.js';

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

async function newFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'fstore-fs-store-'));
  folders.push(folder);
  return folder;
}

/** The root lies one level down, so a key that escaped it would show up in the folder above. */
objectStoreContract('FileSystemObjectStore', async () => {
  const folder = await newFolder();
  return new FileSystemObjectStore({ root: join(folder, 'root') });
});

describe('FileSystemObjectStore', () => {
  it('resolves a relative root against the working directory', () => {
    const store = new FileSystemObjectStore({ root: '.fstore/offline' });

    expect(store.root).toBe(join(process.cwd(), '.fstore/offline'));
  });

  it('gives DuckDB the path of a key or of a folder under its root', async () => {
    const folder = await newFolder();
    const store = new FileSystemObjectStore({ root: folder });

    expect(store.localPath('raw/tx/dt=2024-01-31/a.parquet')).toBe(
      join(folder, 'raw/tx/dt=2024-01-31/a.parquet'),
    );
    expect(store.localPath('_staging/job1/')).toBe(`${join(folder, '_staging/job1')}/`);
    expect(store.localPath('')).toBe(folder);
    expect(store.uri('raw/tx/')).toBe(store.localPath('raw/tx/'));
  });

  it('removes the folders that deleting and moving leave empty, but not its root', async () => {
    const folder = await newFolder();
    const store = new FileSystemObjectStore({ root: folder });
    await store.put('_staging/job1/dt=2024-01-31/a.parquet', 'a');
    await store.put('raw/tx/dt=2024-01-31/b.json', 'b');

    await store.move('_staging/job1/dt=2024-01-31/a.parquet', 'features/v/a.parquet');
    await store.delete(['raw/tx/dt=2024-01-31/b.json']);

    expect(await readdir(folder)).toEqual(['features']);
  });

  it('leaves no temporary files behind after writes', async () => {
    const folder = await newFolder();
    const store = new FileSystemObjectStore({ root: folder });

    await store.put('p/a.json', '1');
    await store.put('p/a.json', '2');
    await store.copy('p/a.json', 'p/b.json');

    expect((await readdir(join(folder, 'p'))).sort()).toEqual(['a.json', 'b.json']);
  });

  it('does not list a temporary file a crashed write left behind', async () => {
    const folder = await newFolder();
    const store = new FileSystemObjectStore({ root: folder });
    await store.put('p/a.json', '1');
    await writeFile(join(folder, 'p/.fstore-tmp-0123456789abcdef'), 'half');

    expect(await store.list('')).toEqual(['p/a.json']);
  });

  it('writes nothing outside its root when given hostile keys', async () => {
    const folder = await newFolder();
    const store = new FileSystemObjectStore({ root: join(folder, 'root') });

    await Promise.allSettled(
      ['../outside', 'a/../../outside', '/tmp/outside'].map((key) => store.put(key, 'x')),
    );

    expect(await readdir(folder)).toEqual([]);
    expect(relative(folder, store.root)).toBe('root');
  });
});
