/**
 * Publishing a partition atomically: a reader never sees a half-written partition, and a failed job
 * leaves none.
 *
 * A partition (`features/<view>/version=<v>/dt=<day>/` or `raw/<source>/dt=<day>/`) is exactly what
 * its manifest, `<partition>/_manifest.json`, lists: the job id, the data file names, the row count
 * and when it was published. Readers take the files from the manifest (`readPartitionFiles`), never
 * from a folder listing. A job publishes in four steps:
 *
 * 1. Stage. The job writes its output under `_staging/<jobId>/`, outside every partition.
 * 2. Move in. `publishPartition` moves each staged file into the partition under a name no other job
 *    uses, `part-<jobId>-<n>.parquet` (a rename on the filesystem, copy + delete on S3). The live
 *    manifest does not list these files, so readers still see the previous generation, untouched.
 * 3. Flip. The new manifest is written last, in one step: one PutObject on S3, which is atomic and
 *    strongly consistent; on the filesystem a write to a temporary file renamed over `_manifest.json`,
 *    which POSIX makes atomic. Before it, readers get the old generation; after it, the new one.
 * 4. Sweep. Only then are the partition's data files that the new manifest does not list deleted:
 *    the previous generation and any left by a job that died during step 2.
 *
 * A job that fails before the flip publishes nothing: it leaves its staging objects, which
 * `discardStaging(store, jobId)` removes, and `publishPartition` deletes the files it had already moved
 * in. (A crash that prevents that cleanup leaves files no manifest lists, which readers ignore and the
 * next publish sweeps.) When the manifest write itself reports an error, the manifest is read back: if it is the
 * new one, the write did land and publishing completes; otherwise the old manifest still stands.
 * A failed sweep does not undo a publish; the files left over are reported and swept next time.
 *
 * Rules that keep this true:
 * - One job at a time publishes a given partition: schedule at most one job per view version and day.
 *   (Two racing publishers could each sweep the other's files; nothing here locks.)
 * - Files whose names start with `_` are metadata, never data: the manifest, and JSON written beside
 *   the partition with `writeJsonBeside` (validation results). Hive-style readers (Athena, Spark) treat such names as hidden too.
 * - A reader that resolved the manifest just before a republish may find those files gone when it
 *   opens them: it fails loudly rather than mixing generations, and a retry reads the new one.
 * - An engine that reads a partition's folder rather than its manifest (a Glue table over the prefix)
 *   can, between flip and sweep or after a crash mid-publish, see files no manifest lists. Give such
 *   engines the manifest's files (e.g. Athena's `"$path"` column or a symlink-manifest table).
 */
import { FstoreError } from '../errors.js';
import { assertObjectKey, assertObjectPrefix } from './object-key.js';
import type { ObjectStore } from './object-store.js';

/** The manifest's name inside a partition. */
export const MANIFEST_NAME = '_manifest.json';

/** Where jobs stage output before publishing; one folder per job. */
export const STAGING_ROOT = '_staging/';

/** The manifest layout this code writes and reads. */
export const MANIFEST_FORMAT_VERSION = 1;

/** Job ids go into file names, so they keep to a safe alphabet. */
const JOB_ID = /^[A-Za-z0-9_-]{1,100}$/;
/** Names for JSON written beside a partition: `_<name>.json`. */
const BESIDE_NAME = /^[a-z0-9][a-z0-9_-]{0,99}$/;
/** Digits in a published file's number, so names sort in the job's order. */
const FILE_NUMBER_DIGITS = 5;

/** A partition's single source of truth, stored as `<partition>/_manifest.json`. */
export interface PartitionManifest {
  readonly formatVersion: typeof MANIFEST_FORMAT_VERSION;
  /** The job that published this generation. */
  readonly jobId: string;
  /** The data files, as names inside the partition, in the job's order. */
  readonly files: readonly string[];
  /** Rows in the data files, when the job counted them. */
  readonly rowCount?: number;
  /** ISO 8601 UTC. */
  readonly publishedAt: string;
}

export interface PublishPartitionRequest {
  /** The partition, ending in `/`, e.g. `featurePartitionPrefix('user_stats', 'a1b2', '2024-01-31')`. */
  readonly prefix: string;
  /** The job's data files for this partition, as keys under `stagingPrefix(jobId)`, in order. */
  readonly files: readonly string[];
  /** Identifies the job; its files are named after it. Letters, digits, `_` and `-`. */
  readonly jobId: string;
  /** Rows in `files`, recorded in the manifest. @default not recorded */
  readonly rowCount?: number;
  /** @default now */
  readonly publishedAt?: Date;
}

export interface PublishedPartition {
  /** The manifest now in place. */
  readonly manifest: PartitionManifest;
  /** The job whose generation this one replaced. @default undefined (the partition was new) */
  readonly replacedJobId?: string;
  /** Data files the sweep deleted (the previous generation, and any orphans). */
  readonly removed: readonly string[];
  /** Data files the sweep could not delete; readers ignore them and the next publish retries. */
  readonly leftOver: readonly string[];
}

/** Publishing failed; the partition still holds its previous generation (or nothing, if it was new). */
export class PartitionPublishError extends FstoreError {
  override readonly name = 'PartitionPublishError';
}

/**
 * A manifest (or JSON beside a partition) that cannot be read; readers stop rather than guess which
 * files are current.
 */
export class PartitionMetadataError extends FstoreError {
  override readonly name = 'PartitionMetadataError';
}

/** Input to the publisher or staging helpers that could not be right. */
export class InvalidPublishRequestError extends FstoreError {
  override readonly name = 'InvalidPublishRequestError';
}

/**
 * Where a job writes its output before publishing: `_staging/<jobId>/`.
 * @example store.localPath(stagingPrefix(jobId)) // the folder DuckDB writes Parquet into
 */
export function stagingPrefix(jobId: string): string {
  assertJobId(jobId);
  return `${STAGING_ROOT}${jobId}/`;
}

/**
 * Makes staged files the partition's current generation, atomically (see the top of this file).
 * Throws PartitionPublishError when it fails, with the partition as it was.
 * @example
 * const files = await store.list(stagingPrefix(jobId));
 * await publishPartition(store, { prefix: featurePartitionPrefix('user_stats', version, day), files, jobId });
 * await discardStaging(store, jobId);
 */
export async function publishPartition(
  store: ObjectStore,
  request: PublishPartitionRequest,
): Promise<PublishedPartition> {
  const { prefix, jobId } = request;
  assertPartitionPrefix(prefix);
  const staging = stagingPrefix(jobId);
  assertStagedFiles(request.files, staging);
  if (request.rowCount !== undefined && !(Number.isSafeInteger(request.rowCount) && request.rowCount >= 0)) {
    throw new InvalidPublishRequestError(
      `rowCount ${request.rowCount} is not a count; pass the number of rows written, or leave it out`,
    );
  }

  const previous = await readPartitionManifest(store, prefix).catch((error: unknown) => {
    if (error instanceof PartitionMetadataError) return undefined; // replaced by this publish
    throw error;
  });
  if (previous?.jobId === jobId) {
    throw new PartitionPublishError(
      `job "${jobId}" already published ${store.uri(prefix)}; publish a new generation under a new job id`,
    );
  }

  const names = request.files.map((file, index) => publishedName(jobId, index, file));
  const moved: string[] = [];
  try {
    for (const [index, file] of request.files.entries()) {
      const target = `${prefix}${names[index]}`;
      moved.push(target); // before the move: a move that fails half-way (copied, not deleted) is undone too
      await store.move(file, target);
    }
  } catch (error) {
    await store.delete(moved).catch(() => undefined); // unlisted files: harmless if this fails too
    throw new PartitionPublishError(
      `could not move job "${jobId}"'s files into ${store.uri(prefix)}, so nothing was published and the partition is unchanged; fix the cause and run the job again`,
      { cause: error },
    );
  }

  const manifest: PartitionManifest = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    jobId,
    files: names,
    ...(request.rowCount === undefined ? {} : { rowCount: request.rowCount }),
    publishedAt: (request.publishedAt ?? new Date()).toISOString(),
  };
  try {
    await store.put(`${prefix}${MANIFEST_NAME}`, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    if (!(await manifestLanded(store, prefix, jobId))) {
      await store.delete(moved).catch(() => undefined);
      throw new PartitionPublishError(
        `could not write the manifest of ${store.uri(prefix)}, so nothing was published and the partition is unchanged; fix the cause and run the job again`,
        { cause: error },
      );
    }
  }

  const { removed, leftOver } = await sweep(store, prefix, new Set(names));
  return {
    manifest,
    ...(previous ? { replacedJobId: previous.jobId } : {}),
    removed,
    leftOver,
  };
}

/**
 * A partition's manifest; undefined when nothing is published there. Throws PartitionMetadataError
 * when the manifest is not one this code wrote.
 */
export async function readPartitionManifest(
  store: ObjectStore,
  prefix: string,
): Promise<PartitionManifest | undefined> {
  assertPartitionPrefix(prefix);
  const key = `${prefix}${MANIFEST_NAME}`;
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  return parseManifest(new TextDecoder().decode(bytes), store.uri(key));
}

/**
 * The keys of a partition's current data files, from its manifest; `[]` when nothing is published.
 * @example
 * const paths = (await readPartitionFiles(store, prefix)).map((key) => store.localPath(key));
 */
export async function readPartitionFiles(store: ObjectStore, prefix: string): Promise<string[]> {
  const manifest = await readPartitionManifest(store, prefix);
  return manifest ? manifest.files.map((name) => `${prefix}${name}`) : [];
}

/**
 * Every published partition under a prefix (a view version, a source, or the whole store), as
 * partition prefixes ending in `/`, sorted. A partition counts once its manifest exists.
 * @example await listPublishedPartitions(store, featureVersionPrefix('user_stats', version))
 * // ['features/user_stats/version=a1b2/dt=2024-01-30/', 'features/user_stats/version=a1b2/dt=2024-01-31/']
 */
export async function listPublishedPartitions(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys = await store.list(prefix);
  return keys
    .filter((key) => key.endsWith(`/${MANIFEST_NAME}`) && !key.startsWith(STAGING_ROOT))
    .map((key) => key.slice(0, -MANIFEST_NAME.length));
}

/** Deletes a job's staging objects; returns how many there were. Safe to call when there are none. */
export async function discardStaging(store: ObjectStore, jobId: string): Promise<number> {
  const keys = await store.list(stagingPrefix(jobId));
  await store.delete(keys);
  return keys.length;
}

/**
 * Stores a JSON document beside a partition, as `<partition>/_<name>.json` (e.g. validation results).
 * The leading `_` keeps it out of the data: readers, Athena and the sweep all skip it. Returns the key.
 * @example await writeJsonBeside(store, prefix, 'validation', report) // '<prefix>_validation.json'
 */
export async function writeJsonBeside(
  store: ObjectStore,
  prefix: string,
  name: string,
  value: unknown,
): Promise<string> {
  const key = besideKey(prefix, name);
  await store.put(key, `${JSON.stringify(value, null, 2)}\n`);
  return key;
}

/** Reads what `writeJsonBeside` stored; undefined when there is none. */
export async function readJsonBeside(store: ObjectStore, prefix: string, name: string): Promise<unknown> {
  const key = besideKey(prefix, name);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (error) {
    throw new PartitionMetadataError(
      `${store.uri(key)} is not valid JSON; write it again with writeJsonBeside`,
      { cause: error },
    );
  }
}

function besideKey(prefix: string, name: string): string {
  assertPartitionPrefix(prefix);
  if (!BESIDE_NAME.test(name) || name === MANIFEST_NAME.slice(1, -'.json'.length)) {
    throw new InvalidPublishRequestError(
      `"${name}" cannot name a file beside a partition; use lower-case letters, digits, '_' and '-' (and not "manifest", which is reserved), e.g. "validation"`,
    );
  }
  return `${prefix}_${name}.json`;
}

/** `part-<jobId>-<n><extension of the staged file>`, e.g. `part-job42-00000.parquet`. */
function publishedName(jobId: string, index: number, stagedKey: string): string {
  const base = stagedKey.slice(stagedKey.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  const extension = dot > 0 ? base.slice(dot) : '';
  return `part-${jobId}-${String(index).padStart(FILE_NUMBER_DIGITS, '0')}${extension}`;
}

/** After a failed manifest write: did the write land anyway (a timeout after S3 stored it)? */
async function manifestLanded(store: ObjectStore, prefix: string, jobId: string): Promise<boolean> {
  try {
    return (await readPartitionManifest(store, prefix))?.jobId === jobId;
  } catch {
    // Unknown: keep the moved files, since a manifest that landed needs them; unlisted, they are harmless.
    return false;
  }
}

async function sweep(
  store: ObjectStore,
  prefix: string,
  keep: ReadonlySet<string>,
): Promise<{ removed: string[]; leftOver: string[] }> {
  let stale: string[] = [];
  try {
    stale = (await store.list(prefix)).filter((key) => {
      const name = key.slice(prefix.length);
      return !name.includes('/') && !name.startsWith('_') && !keep.has(name);
    });
    await store.delete(stale);
    return { removed: stale, leftOver: [] };
  } catch {
    return { removed: [], leftOver: stale };
  }
}

function parseManifest(text: string, where: string): PartitionManifest {
  const fix = 'publish the partition again (its data files are left as they are)';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PartitionMetadataError(`the manifest ${where} is not valid JSON; ${fix}`, { cause: error });
  }
  const manifest = raw as Partial<PartitionManifest> | null;
  const problem =
    manifest === null || typeof manifest !== 'object'
      ? 'is not a JSON object'
      : manifest.formatVersion !== MANIFEST_FORMAT_VERSION
        ? `has formatVersion ${JSON.stringify(manifest.formatVersion)}, not ${MANIFEST_FORMAT_VERSION} (written by another fstore version?)`
        : typeof manifest.jobId !== 'string' || !JOB_ID.test(manifest.jobId)
          ? 'has no valid jobId'
          : typeof manifest.publishedAt !== 'string'
            ? 'has no publishedAt'
            : !Array.isArray(manifest.files) || !manifest.files.every(isDataFileName)
              ? 'has a files list that is not data file names inside the partition'
              : manifest.rowCount !== undefined && !Number.isSafeInteger(manifest.rowCount)
                ? 'has a rowCount that is not a whole number'
                : undefined;
  if (problem !== undefined) throw new PartitionMetadataError(`the manifest ${where} ${problem}; ${fix}`);
  return manifest as PartitionManifest;
}

function isDataFileName(name: unknown): boolean {
  if (typeof name !== 'string' || name.includes('/') || name.startsWith('_')) return false;
  try {
    assertObjectKey(name);
    return true;
  } catch {
    return false;
  }
}

function assertJobId(jobId: string): void {
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) {
    throw new InvalidPublishRequestError(
      `job id "${String(jobId)}" cannot name files; use 1 to 100 letters, digits, '_' and '-', e.g. "compute-user_stats-20240131T0100Z"`,
    );
  }
}

function assertPartitionPrefix(prefix: string): void {
  assertObjectPrefix(prefix);
  if (prefix === '' || !prefix.endsWith('/') || prefix.startsWith(STAGING_ROOT)) {
    throw new InvalidPublishRequestError(
      `"${prefix}" is not a partition; pass its folder, ending in "/" and outside ${STAGING_ROOT}, e.g. "features/user_stats/version=a1b2/dt=2024-01-31/"`,
    );
  }
}

function assertStagedFiles(files: readonly string[], staging: string): void {
  const seen = new Set<string>();
  for (const file of files) {
    assertObjectKey(file);
    if (!file.startsWith(staging)) {
      throw new InvalidPublishRequestError(
        `"${file}" is not staged by this job; publish only files written under ${staging}`,
      );
    }
    if (seen.has(file)) {
      throw new InvalidPublishRequestError(`"${file}" is listed twice; list each staged file once`);
    }
    seen.add(file);
  }
}
