import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { batchSource } from '../../lib/index.js';
import { compactRaw, compactRawPartition, RawCompactionError } from '../../lib/services/compact-raw.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { ObjectStore } from '../../lib/stores/object-store.js';
import { landRawRows, type RawRow, rawParquet } from '../../lib/stores/raw-landing.js';

let dir: string;
let engine: DuckDBEngine;
let store: FileSystemObjectStore;

beforeAll(async () => {
  engine = await DuckDBEngine.create({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-compact-'));
  store = new FileSystemObjectStore({ root: join(dir, 'offline') });
  return () => rm(dir, { recursive: true, force: true });
});

const events = batchSource({
  name: 'events',
  path: 'events.csv',
  timestampField: 'ts',
  schema: {
    user_id: 'int64',
    ts: 'timestamp',
    amount: 'float64',
    ok: 'bool',
    category: 'string',
    embedding: 'float32[2]',
  },
});

const DAY = '2024-01-02';
const PREFIX = `raw/events/dt=${DAY}/`;

function row(id: string | null, user: number, iso: string, amount: number | null): RawRow {
  const ts = Date.parse(iso);
  return {
    ts,
    recordId: id as string,
    values: { user_id: user, ts, amount, ok: amount !== null, category: `c${user}`, embedding: '[0.5,1]' },
  };
}

const batchA = [
  row('s:1', 1, '2024-01-02T10:00:00.123Z', 10),
  row('s:2', 2, '2024-01-02T11:00:00.000Z', null),
  row('s:3', 1, '2024-01-02T12:00:00.000Z', 30),
];
const batchB = [
  row('s:2', 2, '2024-01-02T11:00:00.000Z', null),
  row('s:3', 1, '2024-01-02T12:00:00.000Z', 30),
  row('s:4', 3, '2024-01-02T13:00:00.000Z', 40),
];

async function readRows(keys: readonly string[]): Promise<Record<string, unknown>[]> {
  const files = keys.map((key) => stringLiteral(store.localPath(key)));
  return engine.query(
    `SELECT * FROM read_parquet([${files.join(', ')}], union_by_name = true, hive_partitioning = false) ORDER BY ts, _record_id`,
  );
}

/** A store whose list() lands one more file right after listing, as a stream batch arriving meanwhile. */
function landingDuringList(inner: ObjectStore, key: string, body: Uint8Array): ObjectStore {
  return Object.assign(Object.create(inner) as ObjectStore, {
    list: async (prefix: string) => {
      const keys = await inner.list(prefix);
      await inner.put(key, body);
      return keys;
    },
  });
}

describe('compactRawPartition', () => {
  it('merges the files of a day into one, one row per record id, typed as declared, and deletes the inputs', async () => {
    await landRawRows(store, events, batchA, 'shard-0-1-3');
    await landRawRows(store, events, batchB, 'shard-0-2-4');
    const before = await readRows(await store.list(PREFIX));

    const result = await compactRawPartition({ store, source: events, dt: DAY, now: () => new Date(1234) });

    expect(result).toEqual({
      dt: DAY,
      filesIn: 2,
      rowsIn: 6,
      rowsOut: 4,
      filesLeft: 0,
      file: expect.stringMatching(
        /^raw\/events\/dt=2024-01-02\/compacted-1234-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$/,
      ),
    });
    expect(await store.list(PREFIX)).toEqual([result.file]);
    const after = await readRows([result.file ?? '']);
    const unique = before.filter(
      (r, index) => before.findIndex((other) => other._record_id === r._record_id) === index,
    );
    expect(after).toEqual(unique);
    expect(after.map((r) => r._record_id)).toEqual(['s:1', 's:2', 's:3', 's:4']);
    expect(after[0]).toEqual({
      user_id: 1,
      ts: new Date('2024-01-02T10:00:00.123Z'),
      amount: 10,
      ok: true,
      category: 'c1',
      embedding: '[0.5,1]',
      _record_id: 's:1',
    });
    const types = await engine.query(
      `DESCRIBE SELECT * FROM read_parquet(${stringLiteral(store.localPath(result.file ?? ''))}, hive_partitioning = false)`,
    );
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
      ['user_id', 'BIGINT'],
      ['ts', 'TIMESTAMP'],
      ['amount', 'DOUBLE'],
      ['ok', 'BOOLEAN'],
      ['category', 'VARCHAR'],
      ['embedding', 'VARCHAR'],
      ['_record_id', 'VARCHAR'],
    ]);
  });

  it('does nothing the second time, and nothing for a day without files', async () => {
    await landRawRows(store, events, batchA, 'a');
    await landRawRows(store, events, batchB, 'b');
    const first = await compactRawPartition({ store, source: events, dt: DAY });

    const second = await compactRawPartition({ store, source: events, dt: DAY });
    const empty = await compactRawPartition({ store, source: events, dt: '2024-01-09' });

    expect(second).toEqual({ dt: DAY, filesIn: 1, rowsIn: 4, rowsOut: 4, filesLeft: 0 });
    expect(await store.list(PREFIX)).toEqual([first.file]);
    expect(empty).toEqual({ dt: '2024-01-09', filesIn: 0, rowsIn: 0, rowsOut: 0, filesLeft: 0 });
  });

  it('rewrites a single file that holds one record twice', async () => {
    await landRawRows(store, events, [...batchA, ...batchB], 'bisected');

    const result = await compactRawPartition({ store, source: events, dt: DAY });

    expect([result.filesIn, result.rowsIn, result.rowsOut]).toEqual([1, 6, 4]);
    expect(await store.list(PREFIX)).toEqual([result.file]);
  });

  it('leaves files holding rows without a record id as they are, so each of their rows keeps counting once', async () => {
    await landRawRows(store, events, batchA, 'a');
    await landRawRows(store, events, batchB, 'b');
    await landRawRows(store, events, [row(null, 5, '2024-01-02T14:00:00Z', 1)], 'null-ids');
    const batchFile = `${PREFIX}batch-data.parquet`;
    await engine.run(
      `COPY (SELECT 6::BIGINT AS user_id, TIMESTAMP '2024-01-02 15:00:00' AS ts, 2.0 AS amount FROM range(2)) TO ${stringLiteral(store.localPath(batchFile))} (FORMAT PARQUET)`,
    );

    const result = await compactRawPartition({ store, source: events, dt: DAY });

    expect([result.filesIn, result.rowsOut, result.filesLeft]).toEqual([2, 4, 2]);
    expect(await store.list(PREFIX)).toEqual(
      [batchFile, result.file, `${PREFIX}null-ids.parquet`].sort((a, b) =>
        String(a).localeCompare(String(b)),
      ),
    );
    const users = (await readRows(await store.list(PREFIX))).map((r) => r.user_id);
    expect(users.filter((user) => user === 5)).toHaveLength(1);
    expect(users.filter((user) => user === 6)).toHaveLength(2);
  });

  it('keeps a file landed after the listing', async () => {
    await landRawRows(store, events, batchA, 'a');
    await landRawRows(store, events, batchB, 'b');
    const late = `${PREFIX}late.parquet`;
    const lateRows = [
      row('s:3', 1, '2024-01-02T12:00:00.000Z', 30),
      row('s:5', 4, '2024-01-02T16:00:00Z', 5),
    ];

    const result = await compactRawPartition({
      store: landingDuringList(store, late, rawParquet(events, lateRows)),
      source: events,
      dt: DAY,
    });

    expect(result.filesIn).toBe(2);
    expect(await store.list(PREFIX)).toEqual([result.file, late]);
    const next = await compactRawPartition({ store, source: events, dt: DAY });
    expect([next.filesIn, next.rowsIn, next.rowsOut]).toEqual([2, 6, 5]);
  });

  it('refuses a file that is not Parquet, naming it, and changes nothing', async () => {
    await landRawRows(store, events, batchA, 'a');
    await landRawRows(store, events, batchB, 'b');
    await store.put(`${PREFIX}broken.parquet`, 'not parquet at all');
    const before = await store.list('');

    const error = await compactRawPartition({ store, source: events, dt: DAY }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RawCompactionError);
    expect((error as Error).message).toMatch(
      /^raw file raw\/events\/dt=2024-01-02\/broken\.parquet cannot be read as Parquet \(.+\); move it out of the raw area or delete it, then compact again$/,
    );
    expect(await store.list('')).toEqual(before);
  });

  it('refuses to merge a file with columns the source does not declare, or values of another type', async () => {
    await landRawRows(store, events, batchA, 'a');
    const extra = parquetWriteBuffer({
      columnData: [
        { name: 'user_id', data: [1n], type: 'INT64' },
        { name: 'colour', data: ['red'], type: 'STRING' },
        { name: '_record_id', data: ['x:1'], type: 'STRING' },
      ],
    });
    await store.put(`${PREFIX}extra.parquet`, new Uint8Array(extra));

    await expect(compactRawPartition({ store, source: events, dt: DAY })).rejects.toThrow(
      'raw file raw/events/dt=2024-01-02/extra.parquet has columns source "events" does not declare: colour; compaction would drop them, so declare them in the source or move the file out of the raw area',
    );

    const textAmount = parquetWriteBuffer({
      columnData: [
        { name: 'amount', data: ['lots'], type: 'STRING' },
        { name: '_record_id', data: ['x:2'], type: 'STRING' },
      ],
    });
    await store.put(`${PREFIX}extra.parquet`, new Uint8Array(textAmount));
    await expect(compactRawPartition({ store, source: events, dt: DAY })).rejects.toThrow(
      'raw file raw/events/dt=2024-01-02/extra.parquet, row 0, column "amount" is "lots" (string), which does not fit its declared type float64',
    );
    expect(await store.list(PREFIX)).toEqual([`${PREFIX}a.parquet`, `${PREFIX}extra.parquet`]);
  });
});

describe('compactRaw', () => {
  it('compacts every day partition of the source, or only the days asked for', async () => {
    const nextDay = batchB.map((r) => ({
      ...r,
      ts: r.ts + 86_400_000,
      values: { ...r.values, ts: r.ts + 86_400_000 },
    }));
    await landRawRows(store, events, [...batchA, ...nextDay], 'a');
    await landRawRows(store, events, [...batchB, ...nextDay], 'b');

    const only = await compactRaw({ store, source: events, dts: ['2024-01-03'] });
    const all = await compactRaw({ store, source: events });

    expect(only.map((r) => [r.dt, r.filesIn, r.rowsOut, r.file !== undefined])).toEqual([
      ['2024-01-03', 2, 3, true],
    ]);
    expect(all.map((r) => [r.dt, r.filesIn, r.rowsOut, r.file !== undefined])).toEqual([
      ['2024-01-02', 2, 4, true],
      ['2024-01-03', 1, 3, false],
    ]);
  });
});
