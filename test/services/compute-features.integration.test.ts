import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  type FeatureValidationSpec,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { computeFeatures, InvalidTimeRangeError } from '../../lib/services/compute-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import {
  listPublishedPartitions,
  readJsonBeside,
  readPartitionFiles,
} from '../../lib/stores/partition-publisher.js';
import { faultyObjectStore } from '../support/faulty-object-store.js';

let dir: string;
let engine: DuckDBEngine;
let store: FileSystemObjectStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-compute-'));
  engine = await DuckDBEngine.create({ threads: 1 });
  store = new FileSystemObjectStore({ root: join(dir, 'offline') });
  await writeFile(
    join(dir, 'events.csv'),
    [
      'user_id,ts,amount',
      '1,2024-01-01T10:00:00Z,10',
      '1,2024-01-01T11:00:00Z,20',
      '2,2024-01-02T09:00:00Z,-5',
      '1,2024-01-03T08:00:00Z,30',
      '1,2024-01-05T08:00:00Z,40',
    ].join('\n'),
  );
});
afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function computation(validation?: FeatureValidationSpec) {
  const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
  const events = batchSource({
    name: 'events',
    path: 'events.csv',
    timestampField: 'ts',
    schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
  });
  const view = featureView({
    name: 'spend',
    entities: [user],
    source: events,
    aggregations: [{ column: 'amount', functions: ['sum', 'count'], windows: ['2d'] }],
    ...(validation ? { validation } : {}),
  });
  const validated = validateFeatureRepo(collectDefinitions([user, events, view]));
  return {
    view,
    features: validated.features.get('spend') ?? [],
    sourceRelation: duckdbSourceRelation(events, dir),
  };
}

const range = { start: new Date('2024-01-01T00:00:00Z'), end: new Date('2024-01-04T00:00:00Z') };

async function publishedRows(dt: string): Promise<Record<string, unknown>[]> {
  const files = (await readPartitionFiles(store, `features/spend/version=v1/dt=${dt}/`)).map((key) =>
    stringLiteral(store.localPath(key) ?? ''),
  );
  if (files.length === 0) return [];
  return engine.query(`SELECT * FROM read_parquet([${files.join(', ')}]) ORDER BY event_timestamp`);
}

describe('computeFeatures', () => {
  it('publishes one partition per day of the range holding events, one row per event, features as of each event', async () => {
    const result = await computeFeatures({
      engine,
      store,
      computation: computation(),
      version: 'v1',
      ...range,
    });

    expect(result.partitions.map((p) => [p.dt, p.rows, p.published])).toEqual([
      ['2024-01-01', 2, true],
      ['2024-01-02', 1, true],
      ['2024-01-03', 1, true],
    ]);
    expect(result.rows).toBe(4);
    const day1 = await publishedRows('2024-01-01');
    expect(day1.map((row) => [row.user_id, row.amount_sum_2d, row.amount_count_2d])).toEqual([
      [1, 0, 0],
      [1, 10, 1],
    ]);
    const day3 = await publishedRows('2024-01-03');
    expect(day3.map((row) => [row.user_id, row.amount_sum_2d, row.amount_count_2d])).toEqual([[1, 30, 2]]);
  });

  it('stores the validation result beside each partition and leaves no staging behind', async () => {
    await computeFeatures({
      engine,
      store,
      computation: computation(),
      version: 'v1',
      ...range,
      jobId: 'job1',
    });

    const validation = (await readJsonBeside(
      store,
      'features/spend/version=v1/dt=2024-01-02/',
      'validation',
    )) as {
      rows: number;
      passed: boolean;
      features: { feature: string; nullRate: number }[];
    };
    expect(validation.rows).toBe(1);
    expect(validation.passed).toBe(true);
    expect(validation.features.map((f) => f.feature)).toEqual(['amount_sum_2d', 'amount_count_2d']);
    expect(await store.list('_staging/')).toEqual([]);
  });

  it('refuses to publish a day that fails strict validation and keeps the generation already there', async () => {
    await computeFeatures({ engine, store, computation: computation(), version: 'v1', ...range });
    const before = await readFile(
      store.localPath('features/spend/version=v1/dt=2024-01-02/_manifest.json') ?? '',
    );

    const strict = computation({ policy: 'strict', features: { amount_sum_2d: { max: 15 } } });
    const result = await computeFeatures({ engine, store, computation: strict, version: 'v1', ...range });

    expect(result.partitions.map((p) => [p.dt, p.published])).toEqual([
      ['2024-01-01', true],
      ['2024-01-02', true],
      ['2024-01-03', false],
    ]);
    const refused = result.partitions[2]?.validation.features[0]?.checks.find((c) => c.check === 'max');
    expect(refused).toEqual({ check: 'max', passed: false, detail: 'largest value 30 (at most 15)' });
    const day3 = await publishedRows('2024-01-03');
    expect(day3).toHaveLength(1);
    expect(
      await readFile(store.localPath('features/spend/version=v1/dt=2024-01-02/_manifest.json') ?? ''),
    ).not.toEqual(before);
  });

  it('publishes a day that fails under the warn policy, and reports it', async () => {
    const warn = computation({ policy: 'warn', features: { amount_sum_2d: { max: 15 } } });

    const result = await computeFeatures({ engine, store, computation: warn, version: 'v1', ...range });

    expect(result.partitions.map((p) => [p.dt, p.published, p.validation.passed])).toEqual([
      ['2024-01-01', true, true],
      ['2024-01-02', true, true],
      ['2024-01-03', true, false],
    ]);
  });

  it('refuses a job whose window sum leaves float64 range, naming view, feature, entity and day, and publishes nothing', async () => {
    await writeFile(
      join(dir, 'events.csv'),
      [
        'user_id,ts,amount',
        '1,2024-01-01T10:00:00Z,5',
        '3,2024-01-02T10:00:00Z,1.5e308',
        '3,2024-01-02T11:00:00Z,1.5e308',
        '3,2024-01-02T12:00:00Z,1',
      ].join('\n'),
    );

    await expect(
      computeFeatures({ engine, store, computation: computation(), version: 'v1', ...range, jobId: 'huge' }),
    ).rejects.toThrow(
      `feature view "spend", feature "amount_sum_2d", entity user_id=3, day 2024-01-02: the window's sum or sum of squares of column "amount" is beyond float64's range (about ±1.8e308), so nothing was published; scale the column down in the source (for example to thousands) or aggregate a smaller window`,
    );
    expect(await store.list('')).toEqual([]);
  });

  it('publishes nothing and cleans its staging when the query fails', async () => {
    const broken = { ...computation(), sourceRelation: "read_csv('/nonexistent/events.csv')" };

    await expect(
      computeFeatures({ engine, store, computation: broken, version: 'v1', ...range, jobId: 'broken' }),
    ).rejects.toThrow(/DuckDB failed/);
    expect(await store.list('')).toEqual([]);
  });

  it('stops on a storage failure while publishing: every day is either whole or as it was, and staging is cleaned', async () => {
    await computeFeatures({ engine, store, computation: computation(), version: 'v1', ...range });
    const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
    const rowsBefore = await Promise.all(days.map(publishedRows));
    const failing = faultyObjectStore(store, { operation: 'move', onCall: 2 });

    const error = await computeFeatures({
      engine,
      store: failing,
      computation: computation(),
      version: 'v1',
      ...range,
    }).catch((e: unknown) => e);

    expect(String(error)).toMatch(
      /^PartitionPublishError: could not move job "spend-[0-9a-f]+"'s files into .*, so nothing was published and the partition is unchanged/,
    );
    expect(await listPublishedPartitions(store, 'features/spend/version=v1/')).toHaveLength(3);
    for (const [index, dt] of days.entries()) {
      expect(await readPartitionFiles(store, `features/spend/version=v1/dt=${dt}/`)).toHaveLength(1);
      expect(await publishedRows(dt)).toEqual(rowsBefore[index]);
    }
    expect(await store.list('_staging/')).toEqual([]);
  });

  it('refuses an empty range', async () => {
    await expect(
      computeFeatures({
        engine,
        store,
        computation: computation(),
        version: 'v1',
        start: range.end,
        end: range.start,
      }),
    ).rejects.toThrow(InvalidTimeRangeError);
  });
});
