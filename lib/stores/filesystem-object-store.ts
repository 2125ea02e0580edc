import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rmdir,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { assertObjectKey, assertObjectPrefix } from './object-key.js';
import { ObjectNotFoundError, type ObjectStore } from './object-store.js';

export interface FileSystemObjectStoreOptions {
  /** The folder holding the objects; a relative path is resolved against the working directory. */
  readonly root: string;
}

/**
 * Temporary files start with this; keys cannot start a segment with `.`, so a leftover temp file from
 * a crash never shows up as an object.
 */
const TEMP_PREFIX = '.fstore-tmp-';

/**
 * Objects as files under a local folder, in the same layout as S3 (`raw/<source>/dt=.../`), so DuckDB
 * reads them in place through `localPath`. Writes go to a temporary file in the target folder and are
 * renamed over the key, which POSIX makes atomic: readers see the old file or the new one. Folders left
 * empty by `delete` and `move` are removed, as S3 has no folders to leave behind.
 *
 * One difference from S3 remains: a key cannot be both an object and a folder (`a` and `a/b`).
 *
 * @example
 * const store = new FileSystemObjectStore({ root: '.fstore/offline' });
 */
export class FileSystemObjectStore implements ObjectStore {
  readonly root: string;

  constructor(options: FileSystemObjectStoreOptions) {
    this.root = resolve(options.root);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const path = this.pathOf(key);
    await this.writeAtomically(path, (temp) => writeFile(temp, body));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    try {
      const bytes = await readFile(path);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertObjectPrefix(prefix);
    const keys: string[] = [];
    await this.walk('', prefix, keys);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    for (const path of paths) {
      try {
        await unlink(path);
      } catch (error) {
        if (isMissing(error) || (await isFolder(path))) continue; // macOS refuses to unlink a folder with EPERM
        throw error;
      }
      await this.removeEmptyFolders(dirname(path));
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    await this.assertFile(fromKey, from);
    await this.writeAtomically(to, async (temp) => {
      try {
        await copyFile(from, temp);
      } catch (error) {
        if (isMissing(error)) throw new ObjectNotFoundError(fromKey, this.root, { cause: error });
        throw error;
      }
    });
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    await this.assertFile(fromKey, from);
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(fromKey, this.root, { cause: error });
      throw error;
    }
    await this.removeEmptyFolders(dirname(from));
  }

  localPath(keyOrPrefix: string): string {
    assertObjectPrefix(keyOrPrefix);
    return keyOrPrefix === '' ? this.root : join(this.root, keyOrPrefix);
  }

  uri(keyOrPrefix: string): string {
    return this.localPath(keyOrPrefix);
  }

  private pathOf(key: string): string {
    assertObjectKey(key);
    return join(this.root, key);
  }

  /** A folder is only read when some key under it could start with `prefix`. */
  private async walk(folderKey: string, prefix: string, keys: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(folderKey === '' ? this.root : join(this.root, folderKey), {
        withFileTypes: true,
      });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const key = `${folderKey}${entry.name}`;
      if (entry.isDirectory()) {
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) await this.walk(folder, prefix, keys);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        keys.push(key);
      }
    }
  }

  private async assertFile(key: string, path: string): Promise<void> {
    try {
      if ((await lstat(path)).isFile()) return;
    } catch (error) {
      if (!isMissing(error)) throw error;
      throw new ObjectNotFoundError(key, this.root, { cause: error });
    }
    throw new ObjectNotFoundError(key, this.root);
  }

  /**
   * Writes through a temporary file in the target's folder, then renames it over the target. The
   * folder is created again once if a concurrent `delete` removed it in between.
   */
  private async writeAtomically(path: string, write: (temp: string) => Promise<void>): Promise<void> {
    const temp = join(dirname(path), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    for (let attempt = 1; ; attempt++) {
      await mkdir(dirname(path), { recursive: true });
      try {
        await write(temp);
        await rename(temp, path);
        return;
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        if (attempt === 1 && isMissing(error) && !(error instanceof ObjectNotFoundError)) continue;
        throw error;
      }
    }
  }

  private async removeEmptyFolders(folder: string): Promise<void> {
    let current = folder;
    while (current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
      current = dirname(current);
    }
  }
}

/** No object there: no file, or a folder or file where the path expects the other. */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

async function isFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}
