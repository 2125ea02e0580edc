import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { computeFeatures } from '../../lib/services/compute-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { readPartitionFiles } from '../../lib/stores/partition-publisher.js';
import { landRawRows, type RawRow } from '../../lib/stores/raw-landing.js';

let dir: string;
let offlineRoot: string;
let engine: DuckDBEngine;
let store: FileSystemObjectStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-source-raw-'));
  offlineRoot = join(dir, '.fstore', 'offline');
  engine = await DuckDBEngine.create({ threads: 1 });
  store = new FileSystemObjectStore({ root: offlineRoot });
  await writeFile(
    join(dir, 'events.csv'),
    ['user_id,ts,amount', '1,2024-01-01T10:00:00Z,10', '2,2024-01-02T09:00:00Z,-5'].join('\n'),
  );
});
afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

const events = batchSource({
  name: 'events',
  path: 'events.csv',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});

const at = (iso: string) => Date.parse(iso);

function row(id: string | null, user: number, iso: string, amount: number | null): RawRow {
  return { ts: at(iso), recordId: id as string, values: { user_id: user, ts: at(iso), amount } };
}

/** Two landed batches sharing records s:2 and s:3, as a redelivery or a bisected retry lands them. */
async function landTwoOverlappingBatches(): Promise<void> {
  await landRawRows(
    store,
    events,
    [
      row('s:1', 1, '2024-01-01T12:00:00.123Z', 20),
      row('s:2', 1, '2024-01-02T10:00:00.000Z', 30),
      row('s:3', 2, '2024-01-02T11:00:00.000Z', null),
    ],
    'shard-0-1-3',
  );
  await landRawRows(
    store,
    events,
    [
      row('s:2', 1, '2024-01-02T10:00:00.000Z', 30),
      row('s:3', 2, '2024-01-02T11:00:00.000Z', null),
      row('s:4', 1, '2024-01-03T08:00:00.000Z', 40),
    ],
    'shard-0-2-4',
  );
}

async function rowsOf(relation: string): Promise<unknown[][]> {
  const rows = await engine.query(`SELECT * FROM ${relation} ORDER BY ts, user_id`);
  return rows.map((r) => [r.user_id, (r.ts as Date).toISOString(), r.amount]);
}

describe('duckdbSourceRelation with the raw area', () => {
  it('reads the declared path alone, with the same text as before, while no Parquet file has landed', async () => {
    await mkdir(join(offlineRoot, 'raw', 'events', 'dt=2024-01-01'), { recursive: true });
    await writeFile(join(offlineRoot, 'raw', 'events', 'dt=2024-01-01', 'notes.txt'), 'not data');

    expect(duckdbSourceRelation(events, dir, offlineRoot)).toBe(duckdbSourceRelation(events, dir));
    expect(duckdbSourceRelation(events, dir, join(dir, 'nowhere'))).toBe(duckdbSourceRelation(events, dir));
  });

  it('adds the landed rows, one per record id, typed as declared, to the declared rows', async () => {
    await landTwoOverlappingBatches();

    const relation = duckdbSourceRelation(events, dir, offlineRoot);

    expect(relation).toMatch(/^\(SELECT .* UNION ALL SELECT .* QUALIFY .*\) AS source_rows$/);
    expect(await rowsOf(relation)).toEqual([
      [1, '2024-01-01T10:00:00.000Z', 10],
      [1, '2024-01-01T12:00:00.123Z', 20],
      [2, '2024-01-02T09:00:00.000Z', -5],
      [1, '2024-01-02T10:00:00.000Z', 30],
      [2, '2024-01-02T11:00:00.000Z', null],
      [1, '2024-01-03T08:00:00.000Z', 40],
    ]);
    const types = await engine.query(`DESCRIBE SELECT * FROM ${relation}`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
      ['user_id', 'BIGINT'],
      ['ts', 'TIMESTAMP'],
      ['amount', 'DOUBLE'],
    ]);
  });

  it('gives landed timestamps that compare equal to the same instants read from the CSV', async () => {
    await landRawRows(store, events, [row('s:9', 7, '2024-01-01T10:00:00.000Z', 1)], 'same-instant');

    const relation = duckdbSourceRelation(events, dir, offlineRoot);
    const [counted] = await engine.query(
      `SELECT count(*) AS n, count(DISTINCT ts) AS instants FROM ${relation} WHERE ts = TIMESTAMP '2024-01-01 10:00:00'`,
    );

    expect(counted).toEqual({ n: 2, instants: 1 });
  });

  it('sees files landed after an earlier call', async () => {
    const before = duckdbSourceRelation(events, dir, offlineRoot);
    await landTwoOverlappingBatches();

    const after = duckdbSourceRelation(events, dir, offlineRoot);

    expect(await rowsOf(before)).toHaveLength(2);
    expect(await rowsOf(after)).toHaveLength(6);
  });

  it('keeps every landed row without a record id, even identical ones', async () => {
    const file = join(offlineRoot, 'raw', 'events', 'dt=2024-01-04', 'no-ids.parquet');
    await mkdir(join(file, '..'), { recursive: true });
    await engine.run(
      `COPY (SELECT 3::BIGINT AS user_id, TIMESTAMP '2024-01-04 00:00:00' AS ts, 1.5 AS amount FROM range(2)) TO ${stringLiteral(file)} (FORMAT PARQUET)`,
    );
    await landRawRows(store, events, [row(null, 3, '2024-01-04T00:00:00Z', 1.5)], 'null-id');
    await landRawRows(store, events, [row('s:5', 3, '2024-01-04T00:00:00Z', 1.5)], 'with-id');

    const rows = await rowsOf(duckdbSourceRelation(events, dir, offlineRoot));

    expect(rows.filter(([user]) => user === 3)).toHaveLength(4);
  });

  it('reads a declared path inside the raw area once, as declared', async () => {
    await landTwoOverlappingBatches();
    const inside = { ...events, path: join(offlineRoot, 'raw', 'events'), format: 'parquet' as const };

    const relation = duckdbSourceRelation(inside, dir, offlineRoot);

    expect(relation).toBe(duckdbSourceRelation(inside, dir));
  });

  it('counts each landed event once in a computed feature view', async () => {
    await landTwoOverlappingBatches();
    const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
    const view = featureView({
      name: 'spend',
      entities: [user],
      source: events,
      aggregations: [{ column: 'amount', functions: ['sum', 'count'], windows: ['2d'] }],
    });
    const validated = validateFeatureRepo(collectDefinitions([user, events, view]));

    const result = await computeFeatures({
      engine,
      store,
      computation: {
        view,
        features: validated.features.get('spend') ?? [],
        sourceRelation: duckdbSourceRelation(events, dir, offlineRoot),
      },
      version: 'v1',
      start: new Date('2024-01-01T00:00:00Z'),
      end: new Date('2024-01-05T00:00:00Z'),
    });

    expect(result.partitions.map((p) => [p.dt, p.rows])).toEqual([
      ['2024-01-01', 2],
      ['2024-01-02', 3],
      ['2024-01-03', 1],
    ]);
    const files = (await readPartitionFiles(store, 'features/spend/version=v1/dt=2024-01-03/')).map((key) =>
      stringLiteral(store.localPath(key)),
    );
    const [day3] = await engine.query(`SELECT * FROM read_parquet([${files.join(', ')}])`);
    // As of 2024-01-03T08:00 for user 1: 10 (01-01 10:00), 20 (01-01 12:00) and 30 once (01-02 10:00).
    expect([day3?.amount_sum_2d, day3?.amount_count_2d]).toEqual([60, 3]);
  });
});
