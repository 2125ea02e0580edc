import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import {
  getHistoricalFeatures,
  SpineError,
  type SpineRow,
} from '../../lib/services/get-historical-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { EPOCH_MS_FORMS, NOT_TIMES, TIME_FIX, TIME_FORMS } from '../support/time-forms.js';

const repo = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
let dir: string;
let engine: DuckDBEngine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-spine-times-'));
  engine = await DuckDBEngine.create({ threads: 2 });
  await mkdir(join(dir, 'data'));
  await writeFile(
    join(dir, 'data', 'transactions.csv'),
    'user_id,transaction_date,amount,category,merchant_id\n7,2024-02-01T00:00:00Z,10,food,1\n',
  );
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

/** The training set's `id` and time column as epoch milliseconds, in spine order. */
async function spineTimes(
  spine: string | readonly SpineRow[],
  timestampColumn?: string,
): Promise<[number, number][]> {
  const out = join(dir, 'train.parquet');
  await getHistoricalFeatures({
    engine,
    repo,
    sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir),
    spine,
    features: ['user_transaction_stats:amount_count_7d'],
    out,
    ...(timestampColumn ? { timestampColumn } : {}),
  });
  const column = timestampColumn ?? 'event_timestamp';
  const rows = await engine.query(
    `SELECT "id", epoch_ms("${column}") AS "ms" FROM read_parquet(${stringLiteral(out)})`,
  );
  return rows.map((row) => [Number(row.id), Number(row.ms)]);
}

const expected = TIME_FORMS.map((form, index): [number, number] => [index, form.ms]);

describe('a CSV spine', () => {
  it('reads every form of the time table as the instant it names', async () => {
    const path = join(dir, 'spine.csv');
    await writeFile(
      path,
      `id,user_id,event_timestamp\n${TIME_FORMS.map((form, index) => `${index},7,"${form.text}"`).join('\n')}\n`,
    );

    expect(await spineTimes(path)).toEqual(expected);
  });

  it('honours an offset that appears only after the rows DuckDB samples to guess column types', async () => {
    const path = join(dir, 'late-offset.csv');
    const rows = Array.from({ length: 30_000 }, (_, index) => `${index},7,2024-02-03T00:00:00`);
    rows.push('30000,7,2024-02-03T00:00:00+02:00');
    await writeFile(path, `id,user_id,event_timestamp\n${rows.join('\n')}\n`);

    const times = await spineTimes(path);

    expect(times).toHaveLength(30_001);
    expect(times[0]).toEqual([0, Date.UTC(2024, 1, 3)]);
    expect(times[30_000]).toEqual([30_000, Date.UTC(2024, 1, 2, 22)]);
  });

  it('finds its only timestamp column by type and reads it by the same rule', async () => {
    const path = join(dir, 'named.csv');
    await writeFile(path, 'id,user_id,at\n1,7,2024-02-03T00:00:00+02:00\n2,7,2024-02-03T00:00:00-02:00\n');

    expect(await spineTimes(path, 'at')).toEqual([
      [1, Date.UTC(2024, 1, 2, 22)],
      [2, Date.UTC(2024, 1, 3, 2)],
    ]);
  });

  it.each(NOT_TIMES)(
    'is refused when a time is written as $form, naming the column, file, line and fix',
    async ({ text }) => {
      const path = join(dir, 'bad-spine.csv');
      await writeFile(path, `id,user_id,event_timestamp\n1,7,2024-02-03T00:00:00Z\n2,7,"${text}"\n`);

      const run = spineTimes(path);

      await expect(run).rejects.toThrow(SpineError);
      await expect(run).rejects.toThrow(
        `the spine's column "event_timestamp" in ${path} line 3 has "${text}", which is not a time; write ${TIME_FIX}`,
      );
    },
  );
});

describe('a Parquet spine', () => {
  it('reads every form of the time table written as text as the instant it names', async () => {
    const path = join(dir, 'spine-text.parquet');
    const values = TIME_FORMS.map((form, index) => `(${index}, 7, ${stringLiteral(form.text)})`).join(', ');
    await engine.run(
      `COPY (SELECT * FROM (VALUES ${values}) AS t("id", "user_id", "event_timestamp")) TO ${stringLiteral(path)} (FORMAT PARQUET)`,
    );

    expect(await spineTimes(path)).toEqual(expected);
  });

  it.each([
    ['TIMESTAMP_NS', (nanos: bigint) => `make_timestamp_ns(${nanos})`],
    ['TIMESTAMP', (nanos: bigint) => `make_timestamp(${nanos / 1000n})`],
    ['TIMESTAMP WITH TIME ZONE', (nanos: bigint) => `CAST(make_timestamp(${nanos / 1000n}) AS TIMESTAMPTZ)`],
  ])(
    'reads a %s column of the time table as the instants, digits beyond milliseconds cut off',
    async (_type, sql) => {
      const path = join(dir, 'spine-stored.parquet');
      const values = TIME_FORMS.map((form, index) => {
        const nanos = BigInt(form.ms) * 1_000_000n + BigInt(form.subMsNanos ?? 0);
        // Floor division for the microsecond columns (BigInt division truncates toward zero).
        const floored = nanos < 0n && nanos % 1000n !== 0n ? nanos - 1000n : nanos;
        return `(${index}, 7, ${sql(floored)})`;
      });
      await engine.run(
        `COPY (SELECT * FROM (VALUES ${values.join(', ')}) AS t("id", "user_id", "event_timestamp")) TO ${stringLiteral(path)} (FORMAT PARQUET)`,
      );

      expect(await spineTimes(path)).toEqual(expected);
    },
  );

  it('names the row of a text time that is not a time', async () => {
    const path = join(dir, 'bad-spine.parquet');
    await engine.run(
      `COPY (SELECT * FROM (VALUES (1, 7, '2024-02-03'), (2, 7, 'noon')) AS t("id", "user_id", "event_timestamp")) TO ${stringLiteral(path)} (FORMAT PARQUET)`,
    );

    await expect(spineTimes(path)).rejects.toThrow(
      `the spine's column "event_timestamp" in ${path} row 2 has "noon", which is not a time; write ${TIME_FIX}`,
    );
  });

  it('refuses a timestamp column that holds numbers, saying how to store times', async () => {
    const path = join(dir, 'number-spine.parquet');
    await engine.run(
      `COPY (SELECT 1 AS "id", 7 AS "user_id", 1706918400000 AS "event_timestamp") TO ${stringLiteral(path)} (FORMAT PARQUET)`,
    );

    await expect(spineTimes(path)).rejects.toThrow(
      `the spine's timestamp column "event_timestamp" in ${path} is BIGINT, not a time; store times as Parquet timestamps or as ${TIME_FIX}`,
    );
  });
});

describe('a spine of rows', () => {
  it('reads every form of the time table given as text as the instant it names', async () => {
    const rows = TIME_FORMS.map((form, index) => ({ id: index, user_id: 7, event_timestamp: form.text }));

    expect(await spineTimes(rows)).toEqual(expected);
  });

  it('reads epoch milliseconds and Dates as those instants', async () => {
    const rows: SpineRow[] = [
      ...EPOCH_MS_FORMS.map((form, index) => ({ id: index, user_id: 7, event_timestamp: form.value })),
      { id: 2, user_id: 7, event_timestamp: new Date(Date.UTC(2024, 1, 2, 22)) },
    ];

    expect(await spineTimes(rows)).toEqual([
      ...EPOCH_MS_FORMS.map((form, index): [number, number] => [index, form.ms]),
      [2, Date.UTC(2024, 1, 2, 22)],
    ]);
  });

  it.each(NOT_TIMES)(
    'is refused when a time is written as $form, naming the row and the fix',
    async ({ text }) => {
      const rows = [
        { id: 0, user_id: 7, event_timestamp: '2024-02-03' },
        { id: 1, user_id: 7, event_timestamp: text },
      ];

      await expect(spineTimes(rows)).rejects.toThrow(
        `the spine's column "event_timestamp" in spine[1] is ${JSON.stringify(text)}, which is not a time; give a Date, epoch milliseconds or ${TIME_FIX}`,
      );
    },
  );
});
