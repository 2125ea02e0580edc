import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchSource } from '../../lib/index.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { checkLocalSource, duckdbSourceRelation, SourceDataError } from '../../lib/stores/duckdb-source.js';
import { NOT_TIMES, TIME_FIX, TIME_FORMS } from '../support/time-forms.js';

let dir: string;
let engine: DuckDBEngine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-source-time-'));
  engine = await DuckDBEngine.create({ threads: 2 });
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function csvSource(name: string, path: string, format: 'csv' | 'parquet' = 'csv') {
  return batchSource({ name, path, format, timestampField: 'ts', schema: { id: 'int64', ts: 'timestamp' } });
}

function parquetSource(name: string, path: string) {
  return csvSource(name, path, 'parquet');
}

/** Every row's id and its `ts` as epoch milliseconds, and the column's type, as the relation gives them. */
async function readTimes(
  relation: string,
  column = 'ts',
): Promise<{ types: string[]; ms: [number, number][] }> {
  const rows = await engine.query(
    `SELECT "id", epoch_ms("${column}") AS "ms", typeof("${column}") AS "type" FROM ${relation} ORDER BY "id"`,
  );
  return {
    types: [...new Set(rows.map((row) => String(row.type)))],
    ms: rows.map((row) => [Number(row.id), Number(row.ms)]),
  };
}

const expected = TIME_FORMS.map((form, index): [number, number] => [index, form.ms]);

describe('a CSV source', () => {
  it('reads every form of the time table as the instant it names, at millisecond precision', async () => {
    const path = join(dir, 'forms.csv');
    await writeFile(
      path,
      `id,ts\n${TIME_FORMS.map((form, index) => `${index},"${form.text}"`).join('\n')}\n`,
    );
    const source = csvSource('forms', path);

    await checkLocalSource(engine, source, dir);
    const read = await readTimes(duckdbSourceRelation(source, dir));

    expect(read.types).toEqual(['TIMESTAMP']);
    expect(read.ms).toEqual(expected);
  });

  it('reads an offset row as its instant, not as the wall clock it shows (the reported bug)', async () => {
    const path = join(dir, 'bug.csv');
    await writeFile(path, 'id,ts\n1,2024-02-03T00:00:00+02:00\n2,2024-02-03T00:00:00\n');

    const read = await readTimes(duckdbSourceRelation(csvSource('bug', path), dir));

    expect(read.ms).toEqual([
      [1, Date.UTC(2024, 1, 2, 22)],
      [2, Date.UTC(2024, 1, 3)],
    ]);
  });

  it('reads every CSV file of a folder source by the same rule', async () => {
    const folder = join(dir, 'folder');
    await mkdir(join(folder, 'dt=2024-02-02'), { recursive: true });
    await writeFile(join(folder, 'dt=2024-02-02', 'a.csv'), 'id,ts\n1,2024-02-03T00:00:00+02:00\n');
    await writeFile(join(folder, 'b.csv'), 'id,ts\n2,2024-02-02T23:00:00-01:00\n');

    const read = await readTimes(duckdbSourceRelation(csvSource('folder', folder), dir));

    expect(read.ms).toEqual([
      [1, Date.UTC(2024, 1, 2, 22)],
      [2, Date.UTC(2024, 1, 3, 0)],
    ]);
  });

  it.each(NOT_TIMES)(
    'is refused before a job when a time is written as $form, naming the file, line and fix',
    async ({ text }) => {
      const path = join(dir, 'bad.csv');
      await writeFile(path, `id,ts\n1,2024-02-03T00:00:00Z\n2,2024-02-03T00:00:00Z\n3,"${text}"\n`);

      const check = checkLocalSource(engine, csvSource('bad', path), dir);

      await expect(check).rejects.toThrow(SourceDataError);
      await expect(check).rejects.toThrow(
        `source "bad": column "ts" in ${path} line 4 has "${text}", which is not a time; write ${TIME_FIX}`,
      );
    },
  );

  it('names the file of a folder source that holds a value that is not a time, and its line', async () => {
    const folder = join(dir, 'bad-folder');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a.csv'), 'id,ts\n1,2024-02-03T00:00:00Z\n');
    await writeFile(join(folder, 'b.csv'), 'id,ts\n2,2024-02-03T00:00:00Z\n3,2024-02-03T00:00:00Z\n4,noon\n');

    await expect(checkLocalSource(engine, csvSource('bad_folder', folder), dir)).rejects.toThrow(
      `source "bad_folder": column "ts" in ${join(folder, 'b.csv')} line 4 has "noon", which is not a time; write ${TIME_FIX}`,
    );
  });

  it('stops a job reading a value that is not a time with one error naming the source, column, file and fix', async () => {
    const path = join(dir, 'late-bad.csv');
    await writeFile(path, 'id,ts\n1,2024-02-03T00:00:00Z\n2,2024-02-30T00:00:00Z\n');

    await expect(readTimes(duckdbSourceRelation(csvSource('late_bad', path), dir))).rejects.toThrow(
      `DuckDB failed: Invalid Input Error: source "late_bad": column "ts" in ${path} has "2024-02-30T00:00:00Z", which is not a time; write ${TIME_FIX}`,
    );
  });

  it('keeps an empty time as null', async () => {
    const path = join(dir, 'empty.csv');
    await writeFile(path, 'id,ts\n1,\n2,2024-02-03\n');

    const rows = await engine.query(
      `SELECT "id", epoch_ms("ts") AS "ms" FROM ${duckdbSourceRelation(csvSource('empty', path), dir)} ORDER BY "id"`,
    );

    expect(rows).toEqual([
      { id: 1, ms: null },
      { id: 2, ms: Date.UTC(2024, 1, 3) },
    ]);
  });
});

describe('a Parquet source', () => {
  /** Each form's instant stored in one Parquet column per DuckDB time type, exactly as the text names it. */
  async function writeStoredForms(path: string): Promise<void> {
    const rows = TIME_FORMS.map((form, index) => {
      const nanos = BigInt(form.ms) * 1_000_000n + BigInt(form.subMsNanos ?? 0);
      const micros = BigInt(form.ms) * 1000n + BigInt(Math.floor((form.subMsNanos ?? 0) / 1000));
      // A TIMESTAMP_MS holds whole milliseconds; DuckDB's cast to it would round the finer ones.
      return `(${index}, make_timestamp_ns(${nanos}), make_timestamp(${micros}), CAST(make_timestamp(${micros}) AS TIMESTAMPTZ), CAST(make_timestamp(${form.ms * 1000}) AS TIMESTAMP_MS))`;
    });
    await engine.run(
      `COPY (SELECT * FROM (VALUES ${rows.join(', ')}) AS t("id", "ns", "us", "tz", "ms")) TO '${path}' (FORMAT PARQUET)`,
    );
  }

  it.each([
    ['ns', 'TIMESTAMP_NS'],
    ['us', 'TIMESTAMP'],
    ['tz', 'TIMESTAMP WITH TIME ZONE'],
    ['ms', 'TIMESTAMP (milliseconds)'],
  ])(
    'reads a %s column (%s) of the time table as the instants, digits beyond milliseconds cut off',
    async (column) => {
      const path = join(dir, `stored-${column}.parquet`);
      await writeStoredForms(path);
      const source = batchSource({
        name: `stored_${column}`,
        path,
        timestampField: column,
        schema: { id: 'int64', [column]: 'timestamp' },
      });

      await checkLocalSource(engine, source, dir);
      const read = await readTimes(duckdbSourceRelation(source, dir), column);

      expect(read.types).toEqual(['TIMESTAMP']);
      expect(read.ms).toEqual(expected);
    },
  );

  it('reads a DATE column as midnight UTC', async () => {
    const path = join(dir, 'dates.parquet');
    await engine.run(`COPY (SELECT 1 AS "id", DATE '2024-02-03' AS "ts") TO '${path}' (FORMAT PARQUET)`);

    const read = await readTimes(duckdbSourceRelation(parquetSource('dates', path), dir));

    expect(read.ms).toEqual([[1, Date.UTC(2024, 1, 3)]]);
  });

  it('refuses a timestamp column stored as text, as Athena would', async () => {
    const path = join(dir, 'text-times.parquet');
    await engine.run(`COPY (SELECT 1 AS "id", '2024-02-03' AS "ts") TO '${path}' (FORMAT PARQUET)`);

    await expect(checkLocalSource(engine, parquetSource('text_times', path), dir)).rejects.toThrow(
      `source "text_times": column "ts" in ${path} is VARCHAR, but the schema declares timestamp; fix the data or the schema`,
    );
  });
});
