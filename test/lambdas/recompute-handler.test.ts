import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServeConfigurationError } from '../../lambdas/http/serve-environment.js';
import { athenaSourceRelations } from '../../lambdas/recompute/athena-relations.js';
import { recomputeDependenciesFromEnvironment } from '../../lambdas/recompute/recompute-environment.js';
import {
  createRecomputeHandler,
  type RecomputeDependencies,
  RecomputeError,
  viewNameOf,
} from '../../lambdas/recompute.js';
import {
  batchSource,
  collectDefinitions,
  entity,
  featureView,
  kinesisSource,
  validateFeatureRepo,
} from '../../lib/index.js';
import type { MaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import type { ViewFreshness } from '../../lib/services/freshness.js';
import { servingCatalog } from '../../lib/services/serving-catalog.js';
import { athenaSourceRelation } from '../../lib/stores/athena-source.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import type { OfflineEngine, ParquetTarget, ResultRow } from '../../lib/stores/offline-engine.js';
import type { OnlineItem, OnlineStore } from '../../lib/stores/online-store.js';
import { listPublishedPartitions } from '../../lib/stores/partition-publisher.js';
import { BATCH_PART_ROWS } from '../../lib/stores/raw-landing.js';
import { assertValidTrinoSql } from '../support/trino-sql.js';

const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const transactions = batchSource({
  name: 'transactions',
  path: 's3://bucket/transactions/',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});
const live = kinesisSource({
  name: 'live_transactions',
  streamName: 'transactions',
  timestampField: 'ts',
  schema: transactions.schema,
  batchSource: transactions,
});
const aggregations = [{ column: 'amount', functions: ['sum'], windows: ['7d'] }] as const;
/** Stream-fed, online and offline, strict validation. */
const streamed = featureView({
  name: 'user_spend',
  entities: [user],
  source: live,
  aggregations,
  schedule: 'rate(1 hour)',
  validation: { policy: 'strict' },
});
/** Batch-fed, online and offline, warnings only. */
const batch = featureView({ name: 'user_spend_batch', entities: [user], source: transactions, aggregations });
const offlineOnly = featureView({
  name: 'user_spend_offline',
  entities: [user],
  source: transactions,
  aggregations,
  online: false,
});
const onlineOnly = featureView({
  name: 'user_spend_online',
  entities: [user],
  source: transactions,
  aggregations,
  offline: false,
});
const catalog = servingCatalog(
  repoFromRegistry(
    toRegistryObjects(
      validateFeatureRepo(
        collectDefinitions([user, transactions, live, streamed, batch, offlineOnly, onlineOnly]),
      ),
    ),
  ),
);
const version = (name: string) => catalog.views.get(name)?.version ?? '';

const NOW = new Date('2024-05-02T10:00:00.000Z');
const HOUR_MS = 3_600_000;

/**
 * An engine standing in for Athena. UNLOAD writes one extension-less file into each of `days` (the days
 * the source has events on); the summary query answers one row per staged day, with an infinity in the
 * days of `infinityDays` (a check that always fails); materialization queries yield no rows.
 */
class FakeAthena implements OfflineEngine {
  readonly dialect = 'athena' as const;
  readonly unloads: { sql: string; target: ParquetTarget }[] = [];
  readonly streamed: string[] = [];
  failUnload: Error | undefined;

  constructor(
    private readonly store: FileSystemObjectStore,
    private readonly days: readonly string[],
    private readonly infinityDays: readonly string[] = [],
  ) {}

  async writeParquet(sql: string, target: ParquetTarget): Promise<{ rows: number }> {
    if (this.failUnload) throw this.failUnload;
    this.unloads.push({ sql, target });
    const prefix = target.location.slice(this.store.root.length + 1);
    for (const dt of this.days) await this.store.put(`${prefix}dt=${dt}/20240502_000000_00001_abcde`, 'x');
    return { rows: this.days.length * 10 };
  }

  async query(sql: string): Promise<ResultRow[]> {
    assertValidTrinoSql(sql);
    const days = (await this.store.list('_staging/')).map((key) => /dt=([\d-]+)\//.exec(key)?.[1] ?? '');
    return [...new Set(days)].map((dt) => ({
      __group: dt,
      __rows: 10,
      amount_sum_7d__present: 10,
      amount_sum_7d__inf: this.infinityDays.includes(dt) ? 1 : 0,
    }));
  }

  async *stream(sql: string): AsyncIterable<ResultRow[]> {
    assertValidTrinoSql(sql);
    this.streamed.push(sql);
    yield* [];
  }

  async close(): Promise<void> {}
}

class MemoryWatermarks implements MaterializationWatermarks {
  readonly marks = new Map<string, Date>();
  async get(view: string, v: string): Promise<Date | undefined> {
    return this.marks.get(`${view}#${v}`);
  }
  async advance(view: string, v: string, to: Date): Promise<boolean> {
    const current = this.marks.get(`${view}#${v}`);
    if (current && current >= to) return false;
    this.marks.set(`${view}#${v}`, to);
    return true;
  }
}

class CountingOnlineStore implements OnlineStore {
  written = 0;
  async read(): Promise<(OnlineItem | undefined)[]> {
    return [];
  }
  async write(items: readonly OnlineItem[]) {
    this.written += items.length;
    return { written: items.length, skipped: 0 };
  }
  async update() {
    return { updated: 0 };
  }
}

const silent = { error: () => {}, info: () => {}, warn: () => {} };

let dir: string;
let store: FileSystemObjectStore;
let watermarks: MemoryWatermarks;
let published: ViewFreshness[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-recompute-'));
  store = new FileSystemObjectStore({ root: dir });
  watermarks = new MemoryWatermarks();
  published = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function deps(engine: OfflineEngine, overrides: Partial<RecomputeDependencies> = {}): RecomputeDependencies {
  return {
    loadCatalog: async () => ({ catalog }),
    engine,
    offlineStore: store,
    onlineStore: new CountingOnlineStore(),
    watermarks,
    ...athenaSourceRelations('fstore_db'),
    publishFreshness: (freshness) => published.push(freshness),
    logger: silent,
    now: () => NOW,
    ...overrides,
  };
}

describe('createRecomputeHandler', () => {
  it('computes yesterday and today up to now, materializes the batch part of the entities with events in those days (late rows too), and reports', async () => {
    const engine = new FakeAthena(store, ['2024-05-01', '2024-05-02']);
    const previous = new Date(NOW.getTime() - HOUR_MS);
    await watermarks.advance('user_spend', version('user_spend'), previous);

    const summary = await createRecomputeHandler(deps(engine))({ view: 'user_spend' });

    expect(summary).toEqual({
      view: 'user_spend',
      version: version('user_spend'),
      start: '2024-05-01T00:00:00.000Z',
      end: '2024-05-02T10:00:00.000Z',
      compute: {
        status: 'done',
        jobId: expect.stringMatching(/^user_spend-[0-9a-f]{12}$/),
        rows: 20,
        published: ['2024-05-01', '2024-05-02'],
        refused: [],
        warnings: [],
      },
      materialize: {
        status: 'done',
        // The start of the recomputed days, earlier than the watermark: rows landed late reach online.
        from: '2024-05-01T00:00:00.000Z',
        items: 0,
        written: 0,
        unchanged: 0,
      },
      freshnessSeconds: 0,
      drift: null,
    });
    // One UNLOAD over [yesterday 00:00, now) reading the source's Glue table.
    expect(engine.unloads).toHaveLength(1);
    const unload = engine.unloads[0]?.sql ?? '';
    expect(unload).toContain("TIMESTAMP '2024-05-01 00:00:00.000'");
    expect(unload).toContain("TIMESTAMP '2024-05-02 10:00:00.000'");
    expect(unload).toContain('"fstore_db"."raw_transactions"');
    expect(
      await listPublishedPartitions(store, `features/user_spend/version=${version('user_spend')}/`),
    ).toEqual([
      `features/user_spend/version=${version('user_spend')}/dt=2024-05-01/`,
      `features/user_spend/version=${version('user_spend')}/dt=2024-05-02/`,
    ]);
    // Materialization reads the batch part: the stream's landed records left out.
    expect(engine.streamed).toHaveLength(1);
    expect(engine.streamed[0]).toContain(BATCH_PART_ROWS);
    expect(await watermarks.get('user_spend', version('user_spend'))).toEqual(NOW);
    expect(published).toEqual([
      { view: 'user_spend', version: version('user_spend'), basis: 'online', through: NOW, seconds: 0 },
    ]);
  });

  it('reads a batch-fed view whole, and materializes a view never materialized from the beginning', async () => {
    const engine = new FakeAthena(store, ['2024-05-02']);
    const summary = await createRecomputeHandler(deps(engine))({ view: 'user_spend_batch' });
    expect(summary.materialize).toEqual({ status: 'done', from: null, items: 0, written: 0, unchanged: 0 });
    expect(engine.streamed[0]).not.toContain(BATCH_PART_ROWS);
    expect(engine.streamed[0]).toContain('"fstore_db"."raw_transactions"');
  });

  it('computes FSTORE_RECOMPUTE_DAYS days, today included', async () => {
    const engine = new FakeAthena(store, []);
    const summary = await createRecomputeHandler(deps(engine, { recomputeDays: 3 }))({ view: 'user_spend' });
    expect(summary.start).toBe('2024-04-30T00:00:00.000Z');
    expect(engine.unloads[0]?.sql).toContain("TIMESTAMP '2024-04-30 00:00:00.000'");
    const oneDay = await createRecomputeHandler(deps(new FakeAthena(store, []), { recomputeDays: 1 }))({
      view: 'user_spend',
    });
    expect(oneDay.start).toBe('2024-05-02T00:00:00.000Z');
  });

  it('skips compute at midnight with one day: the range is empty', async () => {
    const midnight = new Date('2024-05-02T00:00:00.000Z');
    const engine = new FakeAthena(store, []);
    const summary = await createRecomputeHandler(deps(engine, { recomputeDays: 1, now: () => midnight }))({
      view: 'user_spend',
    });
    expect(summary.compute).toEqual({ status: 'skipped', reason: 'the range is empty' });
    expect(engine.unloads).toEqual([]);
    expect(summary.materialize.status).toBe('done');
  });

  it('reports days strict validation refused, refuses to materialize, and shows the view getting stale', async () => {
    const engine = new FakeAthena(store, ['2024-05-01', '2024-05-02'], ['2024-05-02']);
    const previous = new Date(NOW.getTime() - 3 * HOUR_MS);
    await watermarks.advance('user_spend', version('user_spend'), previous);
    const warnings: string[] = [];

    const summary = await createRecomputeHandler(
      deps(engine, { logger: { ...silent, warn: (line: string) => warnings.push(line) } }),
    )({ view: 'user_spend' });

    expect(summary.compute).toMatchObject({
      status: 'done',
      published: ['2024-05-01'],
      refused: [{ dt: '2024-05-02', failedFeatures: ['amount_sum_7d'] }],
      warnings: [],
    });
    expect(summary.materialize).toEqual({
      status: 'refused',
      reason:
        'its newest partition (dt=2024-05-02) failed strict validation (amount_sum_7d); fix the data or the checks, run fstore compute again, then materialize',
    });
    expect(engine.streamed).toEqual([]);
    expect(await watermarks.get('user_spend', version('user_spend'))).toEqual(previous);
    expect(summary.freshnessSeconds).toBe(3 * 3600);
    expect(published.map((f) => f.seconds)).toEqual([3 * 3600]);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '')).toMatchObject({
      level: 'WARN',
      message: 'recompute finished',
      view: 'user_spend',
    });
  });

  it('publishes days with failed checks under the warn policy and reports them', async () => {
    const engine = new FakeAthena(store, ['2024-05-02'], ['2024-05-02']);
    const summary = await createRecomputeHandler(deps(engine))({ view: 'user_spend_batch' });
    expect(summary.compute).toMatchObject({
      status: 'done',
      published: ['2024-05-02'],
      refused: [],
      warnings: [{ dt: '2024-05-02', failedFeatures: ['amount_sum_7d'] }],
    });
    expect(summary.materialize.status).toBe('done');
  });

  it('publishes freshness after a failure, then rethrows, and leaves the watermark', async () => {
    const engine = new FakeAthena(store, ['2024-05-02']);
    const failure = new Error('Athena: query failed');
    engine.failUnload = failure;
    const previous = new Date(NOW.getTime() - 2 * HOUR_MS);
    await watermarks.advance('user_spend', version('user_spend'), previous);
    const errors: string[] = [];

    await expect(
      createRecomputeHandler(
        deps(engine, { logger: { ...silent, error: (line: string) => errors.push(line) } }),
      )({
        view: 'user_spend',
      }),
    ).rejects.toBe(failure);

    expect(published).toEqual([
      {
        view: 'user_spend',
        version: version('user_spend'),
        basis: 'online',
        through: previous,
        seconds: 7200,
      },
    ]);
    expect(await watermarks.get('user_spend', version('user_spend'))).toEqual(previous);
    expect(await store.list('_staging/')).toEqual([]);
    expect(JSON.parse(errors[0] ?? '')).toEqual({
      level: 'ERROR',
      message: 'recompute failed',
      view: 'user_spend',
      version: version('user_spend'),
      start: '2024-05-01T00:00:00.000Z',
      end: '2024-05-02T10:00:00.000Z',
      error: { name: 'Error', message: 'Athena: query failed' },
    });
  });

  it('publishes no freshness for a view never materialized whose run failed', async () => {
    const engine = new FakeAthena(store, []);
    engine.failUnload = new Error('boom');
    await expect(createRecomputeHandler(deps(engine))({ view: 'user_spend' })).rejects.toThrow('boom');
    expect(published).toEqual([]);
  });

  it('a failing freshness read is logged, not thrown, after a successful run', async () => {
    const errors: string[] = [];
    // The run's own read of the watermark works; the one after it, for the freshness, fails.
    let reads = 0;
    const failing: MaterializationWatermarks = {
      get: async () => {
        if (++reads > 1) throw new Error('throttled');
        return undefined;
      },
      advance: async () => true,
    };
    const summary = await createRecomputeHandler(
      deps(new FakeAthena(store, []), {
        watermarks: failing,
        logger: { ...silent, error: (line: string) => errors.push(line) },
      }),
    )({ view: 'user_spend_online' });
    expect(summary.freshnessSeconds).toBeNull();
    expect(JSON.parse(errors[0] ?? '')).toEqual({
      level: 'ERROR',
      message: 'freshness not published',
      view: 'user_spend_online',
      error: { name: 'Error', message: 'throttled' },
    });
  });

  it('only computes an offline-only view, and measures it by its newest published partition', async () => {
    const engine = new FakeAthena(store, ['2024-05-01', '2024-05-02']);
    const summary = await createRecomputeHandler(deps(engine))({ view: 'user_spend_offline' });
    expect(summary.materialize).toEqual({ status: 'skipped', reason: 'the view has online: false' });
    expect(engine.streamed).toEqual([]);
    expect(summary.compute).toMatchObject({ status: 'done', published: ['2024-05-01', '2024-05-02'] });
    // The newest partition is today's, which ends after now: fresh.
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ view: 'user_spend_offline', basis: 'offline', seconds: 0 });
  });

  it('only materializes an online-only view', async () => {
    const engine = new FakeAthena(store, ['2024-05-02']);
    const summary = await createRecomputeHandler(deps(engine))({ view: 'user_spend_online' });
    expect(summary.compute).toEqual({ status: 'skipped', reason: 'the view has offline: false' });
    expect(engine.unloads).toEqual([]);
    expect(summary.materialize.status).toBe('done');
  });

  it('refuses an unknown view with the closest name, and nothing applied, before any work', async () => {
    const engine = new FakeAthena(store, ['2024-05-02']);
    await expect(createRecomputeHandler(deps(engine))({ view: 'user_spnd' })).rejects.toThrow(
      new RecomputeError(
        'there is no feature view "user_spnd" in the applied registry; did you mean "user_spend"? (apply the definitions, then deploy the stack again so its schedules match them)',
      ),
    );
    await expect(
      createRecomputeHandler(deps(engine, { loadCatalog: async () => undefined }))({ view: 'user_spend' }),
    ).rejects.toThrow(
      new RecomputeError(
        'no feature definitions have been applied to this project yet, so feature view "user_spend" cannot be recomputed; run `fstore apply`',
      ),
    );
    expect(engine.unloads).toEqual([]);
    expect(published).toEqual([]);
  });

  it('refuses an event without a view name, saying what the input should be', () => {
    const message = (shown: string) =>
      `the event ${shown} names no feature view; the recompute Lambda takes {"view": "<feature view name>"}, the input the stack's EventBridge rules send`;
    expect(() => viewNameOf({ detail: {} })).toThrow(new RecomputeError(message('{"detail":{}}')));
    expect(() => viewNameOf({ view: '' })).toThrow(new RecomputeError(message('{"view":""}')));
    expect(() => viewNameOf(null)).toThrow(new RecomputeError(message('null')));
    expect(() => viewNameOf(undefined)).toThrow(new RecomputeError(message('undefined')));
    expect(viewNameOf({ view: 'user_spend' })).toBe('user_spend');
  });

  it('refuses a recompute day count that is not a whole number of at least 1', () => {
    expect(() => createRecomputeHandler(deps(new FakeAthena(store, []), { recomputeDays: 0 }))).toThrow(
      new RecomputeError('recomputeDays is 0; give a whole number of days, at least 1'),
    );
  });
});

describe('athenaSourceRelations', () => {
  it('leaves the landed stream records out of the batch part of a stream-fed view only', () => {
    const relations = athenaSourceRelations('fstore_db');
    expect(relations.sourceRelation(streamed)).toBe(athenaSourceRelation(transactions, 'fstore_db'));
    expect(relations.batchPartRelation(streamed)).toBe(
      athenaSourceRelation(transactions, 'fstore_db', BATCH_PART_ROWS),
    );
    expect(relations.batchPartRelation(batch)).toBe(athenaSourceRelation(transactions, 'fstore_db'));
    assertValidTrinoSql(`SELECT * FROM ${relations.batchPartRelation(streamed)}`);
  });
});

describe('recomputeDependenciesFromEnvironment', () => {
  const complete = {
    FSTORE_PROJECT: 'fraud',
    FSTORE_ONLINE_TABLE: 'online',
    FSTORE_REGISTRY_TABLE: 'registry',
    FSTORE_BUCKET: 'fraud-offline',
    FSTORE_GLUE_DATABASE: 'fraud_db',
    FSTORE_ATHENA_WORKGROUP: 'fraud',
    AWS_REGION: 'eu-west-1',
  };
  const without = (name: keyof typeof complete) => {
    const env: Record<string, string> = { ...complete };
    delete env[name];
    return env;
  };

  it.each([
    ['FSTORE_PROJECT', 'the registry project'],
    ['FSTORE_ONLINE_TABLE', 'the DynamoDB online table'],
    ['FSTORE_BUCKET', 'the offline store bucket'],
    ['FSTORE_GLUE_DATABASE', 'the Glue database of the offline store'],
    ['FSTORE_ATHENA_WORKGROUP', 'the Athena workgroup'],
  ] as const)('refuses an environment without %s, naming it', (name, what) => {
    expect(() => recomputeDependenciesFromEnvironment(without(name))).toThrow(
      new ServeConfigurationError(
        `environment variable ${name} (${what}) is not set; set it on the recompute Lambda (the CDK stack does)`,
      ),
    );
  });

  it.each(['0', '-1', '1.5', 'two'])('refuses FSTORE_RECOMPUTE_DAYS=%s', (value) => {
    expect(() => recomputeDependenciesFromEnvironment({ ...complete, FSTORE_RECOMPUTE_DAYS: value })).toThrow(
      new ServeConfigurationError(
        `environment variable FSTORE_RECOMPUTE_DAYS is "${value}"; set it to a whole number of at least 1`,
      ),
    );
  });

  it('builds Athena relations over the Glue database and takes the recompute days', () => {
    const built = recomputeDependenciesFromEnvironment({ ...complete, FSTORE_RECOMPUTE_DAYS: '3' });
    expect(built.recomputeDays).toBe(3);
    expect(built.engine.dialect).toBe('athena');
    expect(built.offlineStore.root).toBe('s3://fraud-offline');
    expect(built.sourceRelation(batch)).toBe(athenaSourceRelation(transactions, 'fraud_db'));
    expect(built.batchPartRelation(streamed)).toBe(
      athenaSourceRelation(transactions, 'fraud_db', BATCH_PART_ROWS),
    );
    expect(recomputeDependenciesFromEnvironment(complete).recomputeDays).toBeUndefined();
  });
});
