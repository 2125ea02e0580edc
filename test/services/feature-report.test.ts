import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import {
  batchSource,
  collectDefinitions,
  div,
  entity,
  featureView,
  onDemandFeatureView,
  type ValidatedFeatureRepo,
  validateFeatureRepo,
} from '../../lib/index.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { computeFeatures } from '../../lib/services/compute-features.js';
import {
  buildFeatureReport,
  type FeatureEntry,
  FeatureReportError,
  type FeatureReportOptions,
  type ViewReport,
} from '../../lib/services/feature-report.js';
import type { OnlineFeaturesResponse } from '../../lib/services/get-online-features.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import {
  listPublishedPartitions,
  readPartitionFiles,
  writeJsonBeside,
} from '../../lib/stores/partition-publisher.js';

const NOW = new Date('2024-01-05T00:00:00.000Z');

const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const events = batchSource({
  name: 'events',
  path: 'events.csv',
  timestampField: 'ts',
  schema: {
    user_id: 'int64',
    ts: 'timestamp',
    amount: 'float64',
    category: 'string',
    flag: 'bool',
    signup: 'timestamp',
  },
});
const spend = featureView({
  name: 'spend',
  entities: [user],
  source: events,
  fields: { category: 'string', flag: 'bool', signup: 'timestamp' },
  aggregations: [{ column: 'amount', functions: ['sum', 'count', 'mean'], windows: ['2d'] }],
  lastK: [{ column: 'amount', k: 2 }],
  daysSinceLastEvent: 'days_since_last',
  derived: (f) => ({ mean_to_sum: div(f.amount_mean_2d, f.amount_sum_2d) }),
  description: 'What a user spends, over two days.',
  owner: 'risk@example.com',
  tags: { domain: 'payments' },
  ttl: '30d',
  validation: { policy: 'warn', features: { amount_sum_2d: { min: 0 } } },
});
const ratios = onDemandFeatureView({
  name: 'ratios',
  request: { amount: 'float64' },
  features: (request) => ({ amount_to_mean: div(request.amount, spend.features.amount_mean_2d) }),
  description: 'Amount against the two-day mean.',
  owner: 'risk@example.com',
});
const validated: ValidatedFeatureRepo = validateFeatureRepo(
  collectDefinitions([user, events, spend, ratios]),
);
const VERSION = toRegistryObjects(validated).find((object) => object.name === 'spend')?.version ?? '';

let dir: string;
let engine: DuckDBEngine;
let store: FileSystemObjectStore;
/** Every published row of the view, as the report's partitions hold them. */
let publishedRows: Record<string, unknown>[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-report-'));
  engine = await DuckDBEngine.create({ threads: 1 });
  store = new FileSystemObjectStore({ root: join(dir, 'offline') });
  await writeFile(
    join(dir, 'events.csv'),
    [
      'user_id,ts,amount,category,flag,signup',
      '1,2024-01-01T10:00:00Z,10,food,true,2023-06-01T00:00:00Z',
      '1,2024-01-01T11:00:00Z,20,food,true,2023-06-01T00:00:00Z',
      '2,2024-01-01T12:00:00Z,7.5,travel,false,2023-09-15T00:00:00Z',
      '2,2024-01-02T09:00:00Z,-5,travel,,2023-09-15T00:00:00Z',
      '3,2024-01-02T10:00:00Z,100,,false,',
      '1,2024-01-03T08:00:00Z,30,shopping,true,2023-06-01T00:00:00Z',
      '3,2024-01-03T09:00:00Z,0.25,food,true,2023-12-24T00:00:00Z',
      '2,2024-01-03T23:00:00Z,12,travel,false,2023-09-15T00:00:00Z',
    ].join('\n'),
  );
  await computeFeatures({
    engine,
    store,
    computation: {
      view: spend,
      features: validated.features.get('spend') ?? [],
      sourceRelation: duckdbSourceRelation(events, dir),
    },
    version: VERSION,
    start: new Date('2024-01-01T00:00:00Z'),
    end: new Date('2024-01-04T00:00:00Z'),
    clock: () => NOW,
  });
  const prefixes = await listPublishedPartitions(store, `features/spend/version=${VERSION}/`);
  const files = (await Promise.all(prefixes.map((prefix) => readPartitionFiles(store, prefix))))
    .flat()
    .map((key) => stringLiteral(store.localPath(key) ?? ''));
  publishedRows = await engine.query(
    `SELECT * FROM read_parquet([${files.join(', ')}]) ORDER BY event_timestamp`,
  );
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function viewOf(report: { views: ViewReport[] }, name: string): ViewReport {
  const view = report.views.find((v) => v.name === name);
  if (!view) throw new Error(`no view ${name}`);
  return view;
}

function featureOf(view: ViewReport, name: string): FeatureEntry {
  const feature = view.features.find((f) => f.name === name);
  if (!feature) throw new Error(`no feature ${name}`);
  return feature;
}

/** An online response holding, per feature, the given column-major values (statuses PRESENT, NULL_VALUE for null). */
function onlineResponse(columns: Record<string, unknown[]>): OnlineFeaturesResponse {
  const names = Object.keys(columns);
  return {
    metadata: { feature_names: names },
    results: names.map((name) => {
      const values = columns[name] ?? [];
      return {
        values,
        statuses: values.map((value) => (value === null ? 'NULL_VALUE' : 'PRESENT')),
        event_timestamps: values.map(() => NOW.toISOString()),
      };
    }),
  };
}

describe('buildFeatureReport over published partitions', () => {
  const base = (): FeatureReportOptions => ({
    definitions: validated,
    offlineStore: store,
    engine,
    now: NOW,
  });

  it('describes each view: metadata, version, partitions read, freshness given, newest validation', async () => {
    const report = await buildFeatureReport({
      ...base(),
      freshness: {
        spend: {
          view: 'spend',
          version: VERSION,
          basis: 'online',
          through: new Date('2024-01-04T00:00:00Z'),
          seconds: 86_400,
        },
      },
    });

    expect(report.formatVersion).toBe(1);
    expect(report.generatedAt).toBe(NOW.toISOString());
    expect(report.views.map((view) => [view.name, view.kind])).toEqual([
      ['spend', 'feature_view'],
      ['ratios', 'on_demand_feature_view'],
    ]);
    const view = viewOf(report, 'spend');
    expect(view).toMatchObject({
      description: 'What a user spends, over two days.',
      owner: 'risk@example.com',
      tags: { domain: 'payments' },
      version: VERSION,
      entities: ['user'],
      joinKeys: ['user_id'],
      source: 'events',
      ttl: '30d',
      online: true,
      offline: true,
      freshness: { basis: 'online', through: '2024-01-04T00:00:00.000Z', seconds: 86_400 },
      partitions: { count: 3, firstDt: '2024-01-01', lastDt: '2024-01-03', rows: 8 },
    });
    expect(view.validation).toMatchObject({
      dt: '2024-01-03',
      policy: 'warn',
      published: true,
      validatedAt: NOW.toISOString(),
      rows: 3,
      partitionsChecked: 3,
    });
    const sums = featureOf(view, 'amount_sum_2d');
    expect(sums.computation).toBe('sum(amount) over 2d, hop 1h');
    expect(sums.validation?.checks.map((check) => check.check)).toEqual(['no_infinity', 'min']);
    expect(viewOf(report, 'ratios').validation).toBeNull();
    expect(viewOf(report, 'ratios').freshness).toBeNull();
  });

  it('reports the newest validation failure, and the failed days', async () => {
    const report = await buildFeatureReport(base());
    const view = viewOf(report, 'spend');
    const failedDays = publishedRows
      .filter((row) => typeof row.amount_sum_2d === 'number' && row.amount_sum_2d < 0)
      .map((row) => (row.event_timestamp as Date).toISOString().slice(0, 10));
    expect(failedDays.length).toBeGreaterThan(0);
    expect(view.validation?.failedDays).toEqual([...new Set(failedDays)].sort().reverse());
    expect(view.validation?.partitionsFailed).toBe(new Set(failedDays).size);
  });

  it('bins numbers into 20 equal-width bins (one per integer for narrow integer ranges) and counts nulls', async () => {
    const report = await buildFeatureReport(base());
    const view = viewOf(report, 'spend');

    const counts = featureOf(view, 'amount_count_2d');
    const values = publishedRows.map((row) => row.amount_count_2d as number);
    const low = Math.min(...values);
    const high = Math.max(...values);
    expect(counts.histogram?.kind).toBe('numeric');
    expect(counts.histogram?.source).toBe('offline');
    expect(counts.histogram?.bins.map((bin) => bin.label)).toEqual(
      Array.from({ length: high - low + 1 }, (_, i) => String(low + i)),
    );
    expect(counts.histogram?.bins.map((bin) => bin.count)).toEqual(
      Array.from({ length: high - low + 1 }, (_, i) => values.filter((v) => v === low + i).length),
    );
    expect(counts.nullRate).toBe(0);

    const means = featureOf(view, 'amount_mean_2d');
    const present = publishedRows.map((row) => row.amount_mean_2d).filter((v) => v !== null);
    expect(means.histogram?.bins).toHaveLength(20);
    expect(means.histogram?.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(present.length);
    expect(means.nullRate).toBeCloseTo((8 - present.length) / 8, 12);
    expect(means.histogram?.bins[0]?.lower).toBe(Math.min(...(present as number[])));
    expect(means.histogram?.bins[19]?.upper).toBe(Math.max(...(present as number[])));
    expect(means.histogram?.bins[19]?.label).toMatch(/\]$/);

    const last2 = featureOf(view, 'amount_last_2');
    expect(last2.histogram).toMatchObject({ measure: 'length', kind: 'numeric' });
    expect(last2.notes[0]).toMatch(/length/);

    const signup = featureOf(view, 'signup');
    expect(signup.histogram?.unit).toBe('epoch_ms');
    expect(signup.histogram?.bins[0]?.label).toMatch(/^\[2023-06-01T00:00:00Z, /);
  });

  it('bins strings and booleans by value', async () => {
    const report = await buildFeatureReport(base());
    const view = viewOf(report, 'spend');
    const category = featureOf(view, 'category');
    expect(category.histogram?.kind).toBe('categorical');
    const expected = new Map<string, number>();
    for (const row of publishedRows) {
      if (row.category !== null)
        expected.set(String(row.category), (expected.get(String(row.category)) ?? 0) + 1);
    }
    expect(new Map(category.histogram?.bins.map((bin) => [bin.label, bin.count]))).toEqual(expected);
    expect(category.histogram?.nulls).toBe(publishedRows.filter((row) => row.category === null).length);
    const flag = featureOf(view, 'flag');
    expect(flag.histogram?.bins.map((bin) => bin.label).sort()).toEqual(['false', 'true']);
  });

  it('gives the same histograms from the partitions (SQL) as from the same rows in memory', async () => {
    const offline = await buildFeatureReport(base());
    const inMemory = await buildFeatureReport({
      ...base(),
      training: publishedRows,
      histogramFrom: 'training',
    });
    const features = viewOf(offline, 'spend').features;
    expect(features.length).toBeGreaterThan(8);
    for (const feature of features) {
      const other = featureOf(viewOf(inMemory, 'spend'), feature.name);
      expect(other.histogram?.source, feature.name).toBe('training');
      expect({ ...other.histogram, source: 'offline' }, feature.name).toEqual(feature.histogram);
      expect(other.nullRate, feature.name).toBe(feature.nullRate);
    }
  });

  it('reads the training set from a Parquet file as from rows', async () => {
    const path = join(dir, 'training.parquet');
    const files = (await listPublishedPartitions(store, `features/spend/version=${VERSION}/`)).length;
    expect(files).toBe(3);
    await engine.run(
      `COPY (SELECT * FROM read_parquet(${stringLiteral(`${store.localPath(`features/spend/version=${VERSION}/`)}/*/*.parquet`)}) ORDER BY event_timestamp) TO ${stringLiteral(path)} (FORMAT PARQUET)`,
    );
    const fromFile = await buildFeatureReport({ ...base(), training: path, histogramFrom: 'training' });
    const fromRows = await buildFeatureReport({
      ...base(),
      training: publishedRows,
      histogramFrom: 'training',
    });
    expect(fromFile.training).toEqual({ rows: 8, source: path });
    expect(fromFile.views).toEqual(fromRows.views);
  });

  it('takes the version-wide latest validation when it is newer, even for a day strict validation refused', async () => {
    const refused = {
      view: 'spend',
      version: VERSION,
      dt: '2024-01-04',
      rows: 2,
      policy: 'strict',
      passed: false,
      validatedAt: '2024-01-05T00:00:00.000Z',
      features: [],
      published: false,
      jobId: 'job-x',
    };
    const prefix = `features/spend/version=${VERSION}/`;
    await writeJsonBeside(store, prefix, 'latest-validation', refused);
    try {
      const report = await buildFeatureReport(base());
      expect(viewOf(report, 'spend').validation).toMatchObject({
        dt: '2024-01-04',
        passed: false,
        published: false,
        policy: 'strict',
        partitionsChecked: 3,
      });
      const bounded = await buildFeatureReport({ ...base(), toDt: '2024-01-02' });
      expect(viewOf(bounded, 'spend').validation?.dt).toBe('2024-01-02');
      expect(viewOf(bounded, 'spend').partitions).toMatchObject({ count: 2, lastDt: '2024-01-02' });
    } finally {
      await store.delete([`${prefix}_latest-validation.json`]);
    }
  });

  it('notes a validation file it cannot read and carries on', async () => {
    const key = `features/spend/version=${VERSION}/dt=2024-01-02/_validation.json`;
    const original = await store.get(key);
    await store.put(key, '{not json');
    try {
      const report = await buildFeatureReport(base());
      const view = viewOf(report, 'spend');
      expect(view.notes.join('\n')).toMatch(/could not read .*dt=2024-01-02\/_validation\.json/);
      expect(view.validation?.partitionsChecked).toBe(2);
    } finally {
      await store.put(key, original ?? '');
    }
  });
});

describe('buildFeatureReport drift', () => {
  const training = [
    { user_id: 1, amount: 10, amount_sum_2d: 10, category: 'food', amount_last_2: [10], amount_to_mean: 1 },
    {
      user_id: 2,
      amount: 20,
      amount_sum_2d: 20,
      category: 'food',
      amount_last_2: [20, 5],
      amount_to_mean: 2,
    },
    {
      user_id: 3,
      amount: 30,
      amount_sum_2d: 30,
      category: 'travel',
      amount_last_2: [],
      amount_to_mean: null,
    },
    {
      user_id: 4,
      amount: 40,
      amount_sum_2d: 40,
      category: 'travel',
      amount_last_2: [1, 2],
      amount_to_mean: 4,
    },
  ];

  it('compares training values with the online values of the same features', async () => {
    const online = onlineResponse({
      user_id: [1, 2, 3, 4],
      amount_sum_2d: [40, 30, 20, 10], // the same values: PSI 0
      category: ['food', 'food', 'food', 'food'], // 50/50 -> 100/0
      amount_last_2: [[1], [2, 3], [], [4, 5]], // same lengths
      amount_to_mean: [1, 2, null, 4],
    });
    const report = await buildFeatureReport({ definitions: validated, training, online, now: NOW });

    expect(report.training).toEqual({ rows: 4, source: 'rows' });
    expect(report.online).toEqual({ rows: 4, features: 5 });
    const view = viewOf(report, 'spend');
    expect(view.partitions).toBeNull();
    const sums = featureOf(view, 'amount_sum_2d');
    expect(sums.drift).toMatchObject({
      psi: 0,
      level: 'stable',
      method: 'deciles',
      trainingColumn: 'amount_sum_2d',
      onlineColumn: 'amount_sum_2d',
      onlineStatuses: { PRESENT: 4 },
    });
    expect(sums.histogram?.source).toBe('training');

    const category = featureOf(view, 'category').drift;
    // food 0.5 -> 1, travel 0.5 -> 0 (counted as 1e-4)
    const byHand = (1 - 0.5) * Math.log(1 / 0.5) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5);
    expect(category?.psi).toBeCloseTo(byHand, 12);
    expect(category?.level).toBe('significant');
    expect(featureOf(view, 'amount_last_2').drift).toMatchObject({ method: 'list_length', psi: 0 });
    // Not in the online response: no drift.
    expect(featureOf(view, 'amount_mean_2d').drift).toBeNull();

    const onDemand = featureOf(viewOf(report, 'ratios'), 'amount_to_mean');
    expect(onDemand.drift).toMatchObject({ psi: 0, onlineStatuses: { PRESENT: 3, NULL_VALUE: 1 } });
    expect(onDemand.nullRate).toBe(0.25);
    expect(onDemand.histogram?.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(3);
  });

  it('matches full feature names (view__feature) on both sides', async () => {
    const full = training.map((row) => ({ user_id: row.user_id, spend__amount_sum_2d: row.amount_sum_2d }));
    const report = await buildFeatureReport({
      definitions: validated,
      training: full,
      online: onlineResponse({ user_id: [1, 2, 3, 4], spend__amount_sum_2d: [5, 5, 5, 5] }),
      now: NOW,
    });
    const drift = featureOf(viewOf(report, 'spend'), 'amount_sum_2d').drift;
    expect(drift?.trainingColumn).toBe('spend__amount_sum_2d');
    expect(drift?.psi).toBeGreaterThan(0);
  });

  it('takes a short name only for the view it was asked from', async () => {
    const repo = validateFeatureRepo(
      collectDefinitions([
        user,
        events,
        featureView({ name: 'a', entities: [user], source: events, fields: { category: 'string' } }),
        featureView({ name: 'b', entities: [user], source: events, fields: { category: 'string' } }),
      ]),
    );
    const rows = [{ user_id: 1, category: 'x' }];
    const online = onlineResponse({ user_id: [1], category: ['x'] });
    const guessed = await buildFeatureReport({ definitions: repo, training: rows, online, now: NOW });
    // Two views have a feature "category": without the request, neither claims the column.
    expect(guessed.views.map((view) => featureOf(view, 'category').drift)).toEqual([null, null]);
    const told = await buildFeatureReport({
      definitions: repo,
      training: rows,
      online,
      features: ['b:category'],
      now: NOW,
    });
    expect(told.views.map((view) => featureOf(view, 'category').drift?.psi ?? null)).toEqual([null, 0]);
  });

  it('is plain JSON', async () => {
    const report = await buildFeatureReport({
      definitions: validated,
      offlineStore: store,
      engine,
      training: publishedRows,
      online: onlineResponse({ user_id: [1], amount_sum_2d: [1] }),
      now: NOW,
    });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('buildFeatureReport inputs', () => {
  it('reports only the views asked for, in that order, and names a misspelt one', async () => {
    const report = await buildFeatureReport({ definitions: validated, views: ['ratios', 'spend'], now: NOW });
    expect(report.views.map((view) => view.name)).toEqual(['ratios', 'spend']);
    await expect(buildFeatureReport({ definitions: validated, views: ['spedn'], now: NOW })).rejects.toThrow(
      FeatureReportError,
    );
    await expect(buildFeatureReport({ definitions: validated, views: ['spedn'], now: NOW })).rejects.toThrow(
      /did you mean "spend"/,
    );
  });

  it('takes versions from an applied repo, or given by view', async () => {
    const applied = { validated, versions: new Map([['feature_view/spend', 'applied1']]) };
    expect(viewOf(await buildFeatureReport({ definitions: applied, now: NOW }), 'spend').version).toBe(
      'applied1',
    );
    const given = await buildFeatureReport({
      definitions: validated,
      versions: { spend: 'given2' },
      now: NOW,
    });
    expect(viewOf(given, 'spend').version).toBe('given2');
    expect(viewOf(await buildFeatureReport({ definitions: validated, now: NOW }), 'spend').version).toBe(
      VERSION,
    );
  });

  it('needs an engine to read a training file', async () => {
    await expect(
      buildFeatureReport({ definitions: validated, training: '/tmp/x.parquet', now: NOW }),
    ).rejects.toThrow(/needs an engine to read the training set file/);
  });
});
