import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchSource } from '../../lib/index.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { checkLocalSource, duckdbSourceRelation, SourceDataError } from '../../lib/stores/duckdb-source.js';

let dir: string;
let engine: DuckDBEngine;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-source-'));
  engine = await DuckDBEngine.create({ threads: 1 });
  await writeFile(join(dir, 'good.csv'), 'user_id,ts,amount\n1,2024-01-01T00:00:00Z,2.5\n');
  await writeFile(join(dir, 'text_amount.csv'), 'user_id,ts,amount\n1,2024-01-01T00:00:00Z,lots\n');
  await engine.run(
    `COPY (SELECT 1::INTEGER AS user_id, TIMESTAMP '2024-01-01' AS ts, 'x' AS amount) TO '${join(dir, 'typed.parquet')}' (FORMAT PARQUET)`,
  );
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

const source = (path: string) =>
  batchSource({
    name: 'events',
    path,
    timestampField: 'ts',
    schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
  });

describe('checkLocalSource', () => {
  it('accepts data that matches the schema, and reads it with the declared types', async () => {
    await expect(checkLocalSource(engine, source('good.csv'), dir)).resolves.toBeUndefined();
    const rows = await engine.query(`SELECT * FROM ${duckdbSourceRelation(source('good.csv'), dir)}`);
    expect(rows).toEqual([{ user_id: 1, ts: new Date('2024-01-01T00:00:00Z'), amount: 2.5 }]);
  });

  it.each([
    [
      'missing.csv',
      `source "events": ${'DIR'}/missing.csv does not exist; create it or fix the source's path`,
    ],
    [
      'typed.parquet',
      `source "events": column "amount" in ${'DIR'}/typed.parquet is VARCHAR, but the schema declares float64; fix the data or the schema`,
    ],
  ])('names the file, the column and the expected type for %s', async (file, message) => {
    const error = await checkLocalSource(engine, source(file), dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceDataError);
    expect((error as Error).message).toBe(message.replace('DIR', dir));
  });

  it('reports a value that does not parse as its declared type, naming the file', async () => {
    const error = await checkLocalSource(engine, source('text_amount.csv'), dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceDataError);
    expect((error as Error).message).toBe(
      `source "events": ${join(dir, 'text_amount.csv')} has values that do not fit the declared schema: DuckDB failed: Conversion Error: CSV Error on Line: 2`,
    );
  });

  it('names a missing column and lists the ones there are', async () => {
    await writeFile(join(dir, 'no_amount.csv'), 'user_id,ts\n1,2024-01-01T00:00:00Z\n');

    await expect(checkLocalSource(engine, source('no_amount.csv'), dir)).rejects.toThrow(
      `source "events": ${join(dir, 'no_amount.csv')} has no column "amount" (expected float64); its columns are user_id, ts`,
    );
  });

  it('refuses an S3 path on the local provider, saying what to do', () => {
    expect(() => duckdbSourceRelation(source('s3://bucket/events/'), dir)).toThrow(
      'source "events" is on S3 (s3://bucket/events/); the local provider reads local files only: copy the data locally or use provider \'aws\'',
    );
  });
});
