import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../../lib/compute/sql-literals.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import type { MaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { computeFeatures } from '../../lib/services/compute-features.js';
import { getOnlineFeatures } from '../../lib/services/get-online-features.js';
import {
  MaterializeError,
  type MaterializeProgress,
  materialize,
  materializeIncremental,
} from '../../lib/services/materialize.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { OfflineEngine } from '../../lib/stores/offline-engine.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { createTable } from '../support/duckdb-fixture.js';
import { teachDuckDBTrinoNames } from '../support/historical-harness.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const scores = batchSource({
  name: 'scores',
  path: 'scores.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', score: 'float64' },
});
const latestScore = featureView({
  name: 'latest_score',
  entities: [user],
  source: scores,
  fields: { score: 'float64' },
  aggregations: [{ column: 'score', functions: ['count'], windows: ['1d'] }],
  ttl: '2h',
  validation: { policy: 'strict', features: { score: { max: 100 } } },
});
const validated = validateFeatureRepo(collectDefinitions([user, scores, latestScore]));
const catalog = servingCatalog(repoFromRegistry(toRegistryObjects(validated)));
const view = catalog.views.get('latest_score');
const at = (iso: string) => new Date(iso);

let dir: string;
let engine: DuckDBEngine;
let dynamo: DynamoDBFixture;
let store: DynamoDBOnlineStore;
let offlineStore: FileSystemObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-materialize-'));
  engine = await DuckDBEngine.create({ threads: 1 });
  await createTable(engine, 'scores', { user_id: 'BIGINT', ts: 'TIMESTAMP', score: 'DOUBLE' }, [
    { user_id: 1, ts: at('2024-01-01T10:00:00Z'), score: 10 },
    { user_id: 2, ts: at('2024-01-01T11:00:00Z'), score: 20 },
    { user_id: 1, ts: at('2024-01-02T09:00:00Z'), score: 15 },
    { user_id: 3, ts: at('2024-01-03T09:00:00Z'), score: 999 },
  ]);
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, 'fstore_online');
  store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online' });
  offlineStore = new FileSystemObjectStore({ root: join(dir, 'offline') });
});
afterAll(async () => {
  await engine.close();
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

const common = () => ({
  engine,
  offlineStore,
  onlineStore: store,
  catalog,
  sourceRelation: () => quoteIdentifier('scores'),
});

function readScores(now: string) {
  return getOnlineFeatures({
    catalog,
    store,
    now: () => Date.parse(now),
    request: {
      features: ['latest_score:score', 'latest_score:score_count_1d'],
      entities: { user_id: [1, 2] },
    },
  });
}

/** Watermarks in memory, for the service alone. */
function memoryWatermarks(): MaterializationWatermarks & { readonly marks: Map<string, Date> } {
  const marks = new Map<string, Date>();
  return {
    marks,
    get: async (name, version) => marks.get(`${name}#${version}`),
    advance: async (name, version, to) => {
      const current = marks.get(`${name}#${version}`);
      if (current && current >= to) return false;
      marks.set(`${name}#${version}`, to);
      return true;
    },
  };
}

describe('materialize', () => {
  it('writes only the entities with rows since start, each with its whole history', async () => {
    const result = await materialize({
      ...common(),
      start: at('2024-01-02T00:00:00Z'),
      end: at('2024-01-02T10:00:00Z'),
    });

    expect(result.views[0]).toMatchObject({ view: 'latest_score', items: 1, written: 1, skipped: 0 });
    const read = await readScores('2024-01-02T10:00:00Z');
    expect(read.results[1]?.values).toEqual([15, null]);
    expect(read.results[1]?.statuses).toEqual(['PRESENT', 'NOT_FOUND']);
    expect(read.results[2]?.values).toEqual([2, 0]);
  });

  it('serves a latest value older than the TTL as OUTSIDE_MAX_AGE, judged at read time', async () => {
    await materialize({ ...common(), end: at('2024-01-02T12:00:00Z') });

    const fresh = await readScores('2024-01-02T11:00:00Z');
    const stale = await readScores('2024-01-02T11:00:00.001Z');

    expect(fresh.results[1]?.statuses).toEqual(['PRESENT', 'OUTSIDE_MAX_AGE']);
    expect(stale.results[1]?.statuses).toEqual(['OUTSIDE_MAX_AGE', 'OUTSIDE_MAX_AGE']);
    expect(stale.results[1]?.values).toEqual([null, null]);
    expect(stale.results[1]?.event_timestamps).toEqual([
      '2024-01-02T09:00:00.000Z',
      '2024-01-01T11:00:00.000Z',
    ]);
  });

  it('refuses a view whose newest computed partition failed strict validation, and leaves the online store as it was', async () => {
    const version = view?.version ?? '';
    const computed = await computeFeatures({
      engine,
      store: offlineStore,
      computation: {
        view: latestScore,
        features: view?.features ?? [],
        sourceRelation: quoteIdentifier('scores'),
      },
      version,
      start: at('2024-01-01T00:00:00Z'),
      end: at('2024-01-04T00:00:00Z'),
    });
    expect(computed.partitions.map((p) => p.published)).toEqual([true, true, false]);
    const before = await readScores('2024-01-02T12:00:00Z');

    const result = await materialize({ ...common(), end: at('2024-01-04T00:00:00Z') });

    expect(result.views[0]?.refused).toBe(
      'its newest partition (dt=2024-01-03) failed strict validation (score); fix the data or the checks, run fstore compute again, then materialize',
    );
    expect(result.views[0]?.written).toBe(0);
    expect(await readScores('2024-01-02T12:00:00Z')).toEqual(before);
  });
});

describe('materializeIncremental', () => {
  it('starts from the watermark of the view version and moves it to the end', async () => {
    const watermarks = memoryWatermarks();
    const scoreCopy = featureView({
      name: 'score_copy',
      entities: [user],
      source: scores,
      fields: { score: 'float64' },
    });
    const unvalidated = servingCatalog(
      repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions([user, scores, scoreCopy])))),
    );
    const run = (end: string) =>
      materializeIncremental({ ...common(), catalog: unvalidated, watermarks, end: at(end) });

    const first = await run('2024-01-01T12:00:00Z');
    const second = await run('2024-01-02T12:00:00Z');
    const again = await run('2024-01-02T12:00:00Z');

    expect(first.views[0]).toMatchObject({ items: 2, written: 2 });
    expect(first.views[0]?.start).toBeUndefined();
    expect(second.views[0]).toMatchObject({ start: at('2024-01-01T12:00:00Z'), items: 1, written: 1 });
    expect(again.views[0]).toMatchObject({ items: 0, written: 0 });
    expect([...watermarks.marks.values()]).toEqual([at('2024-01-02T12:00:00Z')]);

    // Rows dated before the watermark that arrived late are picked up when asked to look back: every
    // entity with rows since then is computed again (and written, its state now being as of a later end).
    const lookBack = await materializeIncremental({
      ...common(),
      catalog: unvalidated,
      watermarks,
      end: at('2024-01-02T13:00:00Z'),
      since: at('2024-01-01T00:00:00Z'),
    });
    expect(lookBack.views[0]).toMatchObject({ start: at('2024-01-01T00:00:00Z'), items: 2, written: 2 });
  });
});

describe('materialize in buckets', () => {
  // 41 users on both sides of zero, each with two rows, read within the view's 2h TTL.
  const ids = Array.from({ length: 41 }, (_, k) => k - 20);
  const end = at('2024-01-05T12:00:00Z');
  let bucketsOffline: FileSystemObjectStore;
  beforeAll(async () => {
    await createTable(
      engine,
      'many_scores',
      { user_id: 'BIGINT', ts: 'TIMESTAMP', score: 'DOUBLE' },
      ids.flatMap((id, k) => [
        { user_id: id, ts: at('2024-01-05T09:00:00Z'), score: k },
        { user_id: id, ts: at(`2024-01-05T10:${String(k).padStart(2, '0')}:00Z`), score: 100 - k },
      ]),
    );
    // A store of its own without computed partitions, so strict validation refuses nothing.
    bucketsOffline = new FileSystemObjectStore({ root: join(dir, 'offline-buckets') });
  });

  /** The engine, seen as `dialect`, recording each statement it is given. */
  function recordingEngine(dialect: 'duckdb' | 'athena'): { engine: OfflineEngine; calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      engine: {
        dialect,
        query: (sql) => {
          calls.push(`query: ${sql}`);
          return engine.query(sql);
        },
        stream: (sql, chunkRows) => {
          calls.push(`stream: ${sql}`);
          return engine.stream(sql, chunkRows);
        },
        writeParquet: (sql, target) => engine.writeParquet(sql, target),
        close: async () => undefined,
      },
    };
  }

  async function run(table: string, options: { engine?: OfflineEngine; buckets?: number }) {
    await ensureOnlineTable(dynamo.client, table);
    const onlineStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: table });
    const progress: MaterializeProgress[] = [];
    const result = await materialize({
      ...common(),
      offlineStore: bucketsOffline,
      onlineStore,
      sourceRelation: () => quoteIdentifier('many_scores'),
      end,
      chunkRows: 7,
      onProgress: (p) => progress.push(p),
      ...options,
    });
    const read = await getOnlineFeatures({
      catalog,
      store: onlineStore,
      now: () => Date.parse('2024-01-05T11:30:00Z'),
      request: {
        features: ['latest_score:score', 'latest_score:score_count_1d'],
        entities: { user_id: ids },
      },
    });
    return { result: result.views[0], progress, read };
  }

  it('writes and serves the same items in 3 buckets as in 1, with the same counts', async () => {
    const one = await run('fstore_online_one_bucket', { buckets: 1 });
    const three = await run('fstore_online_three_buckets', { buckets: 3 });

    expect(one.result).toMatchObject({ items: 41, written: 41, skipped: 0 });
    expect(three.result).toEqual(one.result);
    expect(three.progress.at(-1)).toEqual({ view: 'latest_score', items: 41, written: 41, skipped: 0 });
    expect(three.read).toEqual(one.read);
    expect(one.read.results.map((column) => column.values)).toEqual([
      ids,
      ids.map((_, k) => 100 - k),
      ids.map(() => 2),
    ]);
  });

  it('on DuckDB counts the source rows to choose the buckets; on Athena runs one bucket, or as many as asked, without counting', async () => {
    await teachDuckDBTrinoNames(engine);
    const duckdb = recordingEngine('duckdb');
    const athena = recordingEngine('athena');
    const athenaInThree = recordingEngine('athena');

    const byDefault = await run('fstore_online_default_buckets', { engine: duckdb.engine });
    const onAthena = await run('fstore_online_athena', { engine: athena.engine });
    const onAthenaInThree = await run('fstore_online_athena_three', {
      engine: athenaInThree.engine,
      buckets: 3,
    });

    // 82 rows: far below a bucket's worth.
    expect(duckdb.calls.map((call) => call.split(':')[0])).toEqual(['query', 'stream']);
    expect(duckdb.calls[0]).toContain('SELECT count(*) AS "rows" FROM "many_scores"');
    expect(athena.calls.map((call) => call.split(':')[0])).toEqual(['stream']);
    expect(athena.calls[0]).not.toContain('xxhash64(');
    expect(athenaInThree.calls.map((call) => call.split(':')[0])).toEqual(['stream', 'stream', 'stream']);
    expect(athenaInThree.calls.every((call) => call.includes('xxhash64('))).toBe(true);
    for (const other of [onAthena, onAthenaInThree]) {
      expect(other.result).toEqual(byDefault.result);
      expect(other.read).toEqual(byDefault.read);
    }
  });

  it('refuses a bucket count that is not a whole number of at least 1', async () => {
    for (const buckets of [0, -1, 1.5, Number.NaN]) {
      await expect(materialize({ ...common(), end, buckets })).rejects.toThrow(
        new MaterializeError(`buckets must be a whole number of at least 1, got ${buckets}`),
      );
    }
  });
});

describe('materialize with sums beyond float64 range', () => {
  const sums = featureView({
    name: 'score_sums',
    entities: [user],
    source: scores,
    aggregations: [{ column: 'score', functions: ['sum', 'mean'], windows: ['1d'] }],
  });
  const sumsCatalog = servingCatalog(
    repoFromRegistry(toRegistryObjects(validateFeatureRepo(collectDefinitions([user, scores, sums])))),
  );

  it('refuses the view, naming the view, the feature and the entity, and writes nothing', async () => {
    await createTable(engine, 'huge_scores', { user_id: 'BIGINT', ts: 'TIMESTAMP', score: 'DOUBLE' }, [
      { user_id: 7, ts: at('2024-01-05T09:00:00Z'), score: 1.5e308 },
      { user_id: 7, ts: at('2024-01-05T10:00:00Z'), score: 1.5e308 },
    ]);
    await ensureOnlineTable(dynamo.client, 'fstore_online_huge');
    const onlineStore = new DynamoDBOnlineStore({ client: dynamo.client, tableName: 'fstore_online_huge' });

    const run = materialize({
      ...common(),
      catalog: sumsCatalog,
      offlineStore: new FileSystemObjectStore({ root: join(dir, 'offline-huge') }),
      onlineStore,
      sourceRelation: () => quoteIdentifier('huge_scores'),
      end: at('2024-01-05T12:00:00Z'),
    });

    await expect(run).rejects.toThrow(MaterializeError);
    await expect(run).rejects.toThrow(
      /^feature view "score_sums", entity .*7.*: feature "score_sum_1d" \(over column "score"\) is beyond float64's range/,
    );
    const read = await getOnlineFeatures({
      catalog: sumsCatalog,
      store: onlineStore,
      now: () => Date.parse('2024-01-05T12:00:00Z'),
      request: { features: ['score_sums:score_mean_1d'], entities: { user_id: [7] } },
    });
    expect(read.results[1]?.statuses).toEqual(['NOT_FOUND']);
  });
});
