import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { computeFeatures } from '../../lib/services/compute-features.js';
import { AthenaQueryError } from '../../lib/stores/athena-errors.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { OfflineEngine, ParquetTarget, ResultRow } from '../../lib/stores/offline-engine.js';
import { listPublishedPartitions } from '../../lib/stores/partition-publisher.js';
import { assertValidTrinoSql } from '../support/trino-sql.js';

/**
 * An engine standing in for Athena: it records each UNLOAD and, like Athena, writes one extension-less
 * file per day of the statement's range into `dt=` folders. Its summary query answers one row per day.
 */
class UnloadRecorder implements OfflineEngine {
  readonly dialect = 'athena' as const;
  readonly unloads: { sql: string; target: ParquetTarget }[] = [];
  constructor(
    private readonly store: FileSystemObjectStore,
    /** The UNLOAD (counting from 1) that ends as Athena reports a FAILED or CANCELLED query, after writing part of its files. */
    private readonly failing?: { readonly unload: number; readonly error: Error },
  ) {}

  async writeParquet(sql: string, target: ParquetTarget): Promise<{ rows: number }> {
    this.unloads.push({ sql, target });
    const failing = this.failing?.unload === this.unloads.length ? this.failing.error : undefined;
    const [start = '', end = ''] =
      [...sql.matchAll(/>= TIMESTAMP '([^']+)' AND "ts" < TIMESTAMP '([^']+)'/g)][0]?.slice(1) ?? [];
    const prefix = target.location.slice(this.store.root.length + 1);
    let rows = 0;
    for (let t = Date.parse(`${start}Z`); t < Date.parse(`${end}Z`); t += 86_400_000) {
      await this.store.put(
        `${prefix}dt=${new Date(t).toISOString().slice(0, 10)}/20240101_000000_00001_abcde`,
        'x',
      );
      rows++;
      // A query that dies mid-way leaves some of its files behind, as Athena's UNLOAD can.
      if (failing && rows === 10) throw failing;
    }
    return { rows };
  }

  async query(sql: string): Promise<ResultRow[]> {
    assertValidTrinoSql(sql);
    const days = (await this.store.list('_staging/')).map((key) => /dt=([\d-]+)\//.exec(key)?.[1] ?? '');
    return [...new Set(days)].map((dt) => ({ __group: dt, __rows: 1, amount_sum_7d__present: 1 }));
  }

  // biome-ignore lint/correctness/useYield: the fake never streams
  async *stream(): AsyncIterable<ResultRow[]> {
    throw new Error('not used');
  }

  async close(): Promise<void> {}
}

/** A view over an S3 source: the sum of amounts over 7 days, per user. */
function spendView() {
  const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
  const events = batchSource({
    name: 'events',
    path: 's3://bucket/events/',
    timestampField: 'ts',
    schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
  });
  const view = featureView({
    name: 'spend',
    entities: [user],
    source: events,
    aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
  });
  const validated = validateFeatureRepo(collectDefinitions([user, events, view]));
  return { view, features: validated.features.get('spend') ?? [] };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-athena-compute-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('computeFeatures on Athena', () => {
  it('unloads at most 100 days per statement and publishes every day', async () => {
    const store = new FileSystemObjectStore({ root: dir });
    const engine = new UnloadRecorder(store);
    const { view, features } = spendView();

    const result = await computeFeatures({
      engine,
      store,
      computation: {
        view,
        features,
        sourceRelation: '"db"."raw_events"',
      },
      version: 'v1',
      start: new Date('2024-01-01T00:00:00Z'),
      end: new Date('2024-09-07T00:00:00Z'),
      jobId: 'athena-job',
    });

    expect(engine.unloads.map((u) => u.target)).toEqual([
      { location: `${dir}/_staging/athena-job/batch-0/`, partitionBy: 'dt' },
      { location: `${dir}/_staging/athena-job/batch-1/`, partitionBy: 'dt' },
      { location: `${dir}/_staging/athena-job/batch-2/`, partitionBy: 'dt' },
    ]);
    for (const unload of engine.unloads) assertValidTrinoSql(unload.sql);
    expect(result.partitions).toHaveLength(250);
    expect(await listPublishedPartitions(store, 'features/spend/version=v1/')).toHaveLength(250);
    expect(await store.list('_staging/')).toEqual([]);
  });

  it.each([
    ['FAILED', 'HIVE_BAD_DATA: Malformed Parquet file'],
    ['CANCELLED', 'Query cancelled by user'],
  ] as const)(
    'publishes no partition, not even the days of earlier statements, when an UNLOAD ends %s',
    async (state, reason) => {
      const store = new FileSystemObjectStore({ root: dir });
      const failure = new AthenaQueryError({ queryId: 'q-2', state, reason });
      const engine = new UnloadRecorder(store, { unload: 2, error: failure });
      const { view, features } = spendView();

      const error = await computeFeatures({
        engine,
        store,
        computation: {
          view,
          features,
          sourceRelation: '"db"."raw_events"',
        },
        version: 'v1',
        start: new Date('2024-01-01T00:00:00Z'),
        end: new Date('2024-09-07T00:00:00Z'),
        jobId: 'athena-job',
      }).catch((e: unknown) => e);

      expect(error).toBe(failure);
      expect(engine.unloads).toHaveLength(2);
      expect(await listPublishedPartitions(store, 'features/spend/version=v1/')).toEqual([]);
      expect(await store.list('_staging/')).toEqual([]);
      expect(await store.list('features/')).toEqual([]);
    },
  );
});
