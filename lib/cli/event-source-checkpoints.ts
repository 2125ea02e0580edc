import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FstoreError } from '../errors.js';

/**
 * Where a local event source mapping keeps, per shard, the sequence number of the last record it is done
 * with (delivered successfully, or handed to the on-failure destination). After a restart it reads each
 * shard again just after that record.
 */
export interface CheckpointStore {
  /** The checkpoint of the shard, or undefined when it has none (read it from the starting position). */
  load(shardId: string): Promise<string | undefined> | string | undefined;
  /** Called after each batch, before the shard is polled again. */
  save(shardId: string, sequenceNumber: string): Promise<void> | void;
}

/** Checkpoints held in memory only: a restart of the process reads from the starting position again. */
export function memoryCheckpoints(initial: Record<string, string> = {}): CheckpointStore & {
  readonly entries: () => Record<string, string>;
} {
  const checkpoints = new Map(Object.entries(initial));
  return {
    load: (shardId) => checkpoints.get(shardId),
    save: (shardId, sequenceNumber) => {
      checkpoints.set(shardId, sequenceNumber);
    },
    entries: () => Object.fromEntries(checkpoints),
  };
}

/**
 * Checkpoints in one JSON file, `{ "<shardId>": "<sequenceNumber>", ... }`, for one stream. The file is
 * read once, on the first load; each save replaces it whole by writing a temporary file next to it and
 * renaming it over the old one, so a crash leaves either the old or the new file, never half of one.
 * Saves are serialized; saves that arrive while a write runs are folded into the next write. The file is
 * not fsynced: it survives the process dying, not necessarily the machine losing power (which only
 * means redelivery from an older checkpoint, not a lost record).
 */
export function fileCheckpoints(path: string): CheckpointStore {
  let checkpoints: Map<string, string> | undefined;
  let loading: Promise<Map<string, string>> | undefined;
  let writing: Promise<void> | undefined;
  let dirty = false;

  async function read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new FstoreError(
        `checkpoint file ${path} is not JSON (${(error as Error).message}); delete it to read the stream from its starting position again`,
        { cause: error },
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new FstoreError(
        `checkpoint file ${path} must hold an object of shard id -> sequence number; delete it to read the stream from its starting position again`,
      );
    }
    const entries = Object.entries(parsed).filter((entry): entry is [string, string] => {
      return typeof entry[1] === 'string' && /^\d+$/.test(entry[1]);
    });
    return new Map(entries);
  }

  async function ensureLoaded(): Promise<Map<string, string>> {
    if (checkpoints) return checkpoints;
    loading ??= read().then((map) => {
      checkpoints = map;
      return map;
    });
    try {
      return await loading;
    } catch (error) {
      loading = undefined;
      throw error;
    }
  }

  async function writeAtomically(text: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, text, 'utf8');
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async function flush(map: Map<string, string>): Promise<void> {
    dirty = true;
    while (writing) await writing.catch(() => undefined);
    if (!dirty) return; // a write that started after our change already carried it
    dirty = false;
    const text = `${JSON.stringify(Object.fromEntries(map), null, 2)}\n`;
    writing = writeAtomically(text);
    try {
      await writing;
    } catch (error) {
      dirty = true;
      throw error;
    } finally {
      writing = undefined;
    }
  }

  return {
    load: async (shardId) => (await ensureLoaded()).get(shardId),
    save: async (shardId, sequenceNumber) => {
      const map = await ensureLoaded();
      map.set(shardId, sequenceNumber);
      await flush(map);
    },
  };
}
