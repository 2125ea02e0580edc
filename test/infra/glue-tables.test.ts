import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  parseFeatureRepoConfig,
  validateFeatureRepo,
} from '../../lib/index.js';
import { deployedRepo } from '../../lib/infra/deployed-repo.js';
import { featureViewColumns, glueType, rawSourceColumns } from '../../lib/infra/glue-tables.js';
import { computeFeatures } from '../../lib/services/compute-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { readPartitionFiles } from '../../lib/stores/partition-publisher.js';
import { rawParquet } from '../../lib/stores/raw-landing.js';

describe('glueType', () => {
  it('maps every value type to the Hive type of the Parquet written for it', () => {
    expect(
      (['int64', 'float64', 'string', 'bool', 'timestamp', 'float32[128]'] as const).map(glueType),
    ).toEqual(['bigint', 'double', 'string', 'boolean', 'timestamp', 'array<float>']);
    expect(glueType('list<string>')).toBe('array<string>');
    expect(glueType('list<float32[4]>')).toBe('array<array<float>>');
  });
});

/** A column DuckDB reads from a Parquet file, written as the Hive type Glue declares for it. */
function hiveTypeOf(duckdbType: string): string {
  if (duckdbType.endsWith('[]')) return `array<${hiveTypeOf(duckdbType.slice(0, -2))}>`;
  const types: Record<string, string> = {
    BIGINT: 'bigint',
    DOUBLE: 'double',
    FLOAT: 'float',
    VARCHAR: 'string',
    BOOLEAN: 'boolean',
    TIMESTAMP: 'timestamp',
  };
  const hive = types[duckdbType];
  if (!hive) throw new Error(`the Parquet holds a ${duckdbType} column, which no Glue column type reads`);
  return hive;
}

/**
 * Computes views with DuckDB and lands raw rows exactly as fstore does, then reads the Parquet schema
 * back: the Glue tables must declare the same columns, in the same order, with the types Athena needs.
 */
describe('Glue columns match the Parquet fstore writes', () => {
  let dir: string;
  let engine: DuckDBEngine;
  let store: FileSystemObjectStore;

  const country = entity({ name: 'country', joinKeys: { country: 'string' } });
  const logins = batchSource({
    name: 'logins',
    path: 'data/logins.csv',
    timestampField: 'ts',
    schema: { user_id: 'int64', country: 'string', ts: 'timestamp', approved: 'bool', channel: 'string' },
  });
  const loginStats = featureView({
    name: 'login_stats',
    entities: [transactions.user, country],
    source: logins,
    fields: { approved: 'bool', channel: 'string' },
    aggregations: [{ column: 'ts', functions: ['max', 'count'], windows: ['1d'] }],
    lastK: [{ column: 'channel', k: 2 }],
  });
  const definitions = [...Object.values(transactions), country, logins, loginStats];
  const validated = validateFeatureRepo(collectDefinitions(definitions));
  const repo = deployedRepo(parseFeatureRepoConfig({ project: 'transactions' }), validated);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fstore-glue-'));
    await mkdir(join(dir, 'data'));
    await writeFile(
      join(dir, 'data', 'transactions.csv'),
      [
        'user_id,transaction_date,amount,category,merchant_id',
        '1,2024-01-01T10:00:00Z,10.5,food,7',
        '1,2024-01-02T11:00:00Z,20,travel,8',
        '2,2024-01-02T12:00:00Z,5,food,7',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'data', 'logins.csv'),
      [
        'user_id,country,ts,approved,channel',
        '1,FR,2024-01-01T10:00:00Z,true,web',
        '1,FR,2024-01-01T11:00:00Z,false,app',
      ].join('\n'),
    );
    engine = await DuckDBEngine.create({ threads: 1 });
    store = new FileSystemObjectStore({ root: join(dir, 'offline') });
  });
  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function parquetColumns(path: string): Promise<{ name: string; type: string }[]> {
    const rows = await engine.query(
      `DESCRIBE SELECT * FROM read_parquet(${stringLiteral(path)}, hive_partitioning = false)`,
    );
    return rows.map((row) => ({ name: String(row.column_name), type: hiveTypeOf(String(row.column_type)) }));
  }

  it.each(repo.views.map((view) => view.name))('features of %s', async (name) => {
    const view = repo.views.find((candidate) => candidate.name === name);
    const definition = validated.repo.featureViews.find((candidate) => candidate.name === name);
    if (!view || !definition) throw new Error(`no view ${name}`);
    const source =
      definition.source.kind === 'batch_source' ? definition.source : definition.source.batchSource;
    await computeFeatures({
      engine,
      store,
      computation: {
        view: definition,
        features: validated.features.get(name) ?? [],
        sourceRelation: duckdbSourceRelation(source, dir),
      },
      version: view.version,
      start: new Date('2024-01-01T00:00:00Z'),
      end: new Date('2024-01-03T00:00:00Z'),
    });
    const [file] = await readPartitionFiles(store, `features/${name}/version=${view.version}/dt=2024-01-01/`);
    expect(file).toBeDefined();

    expect(await parquetColumns(store.localPath(file ?? '') ?? '')).toEqual(featureViewColumns(view));
  });

  it('raw rows landed from streams and pushes', async () => {
    const path = join(dir, 'landed.parquet');
    const values = {
      user_id: 1,
      transaction_date: Date.UTC(2024, 0, 1),
      amount: 2.5,
      category: 'food',
      merchant_id: 7,
    };
    await writeFile(
      path,
      rawParquet(transactions.transactions, [{ ts: Date.UTC(2024, 0, 1), recordId: 'shard-0:1', values }]),
    );
    const source = repo.sources.find((candidate) => candidate.name === 'transactions');
    if (!source) throw new Error('no transactions source');

    expect(await parquetColumns(path)).toEqual(rawSourceColumns(source));
  });
});
