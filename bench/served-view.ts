/**
 * The served view bench:serving and bench:load read: 10,000 entities with ~20 events each over the 30
 * days before END, two numbers aggregated over four windows with five functions and ten latest-value
 * fields (50 features in one view), materialized into a dynalite; and the HTTP API server over it.
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchSource, collectDefinitions, entity, featureView, validateFeatureRepo } from 'fstore';
import { createServeHandler } from '../lambdas/serve.js';
import { type LocalApiServer, startLocalApiServer } from '../lib/cli/local-api-server.js';
import { stringLiteral } from '../lib/compute/sql-literals.js';
import { toRegistryObjects } from '../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../lib/registry/repo-from-registry.js';
import { materialize } from '../lib/services/materialize.js';
import { servingCatalog } from '../lib/services/serving-catalog.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { createDynamoDBClient } from '../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../lib/stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { ensureOnlineTable } from '../lib/stores/online-table.js';
import { secondsSince } from './measure.js';

export const ENTITIES = 10_000;
/** Events per entity on average, over the 30 days before END. */
export const EVENTS_PER_ENTITY = 20;
export const TABLE = 'fstore_online';
export const END = new Date('2024-01-31T00:00:00Z');
/** Requests are served as of an hour after the materialization, so windows and TTL hold data. */
export const READ_TIME_MS = END.getTime() + 3_600_000;
const SPAN_MS = 30 * 86_400_000;
export const VIEW_FEATURES = 50;

/** The benched repo: the view reading `sourceFile`, its catalog as applied, and its 50 feature references. */
export function benchRepo(sourceFile: string) {
  const latest = Array.from({ length: 10 }, (_, k) => `f${String(k + 1).padStart(2, '0')}`);
  const thing = entity({ name: 'thing', joinKeys: { entity_id: 'int64' } });
  const events = batchSource({
    name: 'events',
    path: sourceFile,
    format: 'parquet',
    timestampField: 'ts',
    schema: {
      entity_id: 'int64',
      ts: 'timestamp',
      amount: 'float64',
      qty: 'float64',
      ...Object.fromEntries(latest.map((name) => [name, 'float64' as const])),
    },
  });
  const windows = ['1h', '1d', '7d', '30d'] as const;
  const functions = ['sum', 'count', 'mean', 'min', 'max'] as const;
  const view = featureView({
    name: 'thing_features',
    entities: [thing],
    source: events,
    fields: Object.fromEntries(latest.map((name) => [name, 'float64' as const])),
    aggregations: [
      { column: 'amount', functions, windows },
      { column: 'qty', functions, windows },
    ],
    ttl: '90d',
  });
  const validated = validateFeatureRepo(collectDefinitions([thing, events, view]));
  const objects = toRegistryObjects(validated);
  const catalog = servingCatalog(repoFromRegistry(objects));
  const served = catalog.views.get(view.name);
  if (!served) throw new Error(`no view ${view.name}`);
  const featureNames = served.features.map((feature) => `${view.name}:${feature.name}`);
  if (featureNames.length !== VIEW_FEATURES) {
    throw new Error(`the view has ${featureNames.length} features, not ${VIEW_FEATURES}`);
  }
  return { latest, view, objects, catalog, served, featureNames };
}

/**
 * Generates the events as Parquet under `work` and materializes them into the dynalite at `endpoint`;
 * returns the repo (see `benchRepo`) and the source file the server child is given.
 */
export async function prepareServedView(work: string, endpoint: string, log: (line: string) => void) {
  const sourceFile = join(work, 'events.parquet');
  const rows = ENTITIES * EVENTS_PER_ENTITY;
  const repo = benchRepo(sourceFile);
  const engine = await DuckDBEngine.create();
  const client: DynamoDBClient = createDynamoDBClient({ endpoint });
  try {
    let started = process.hrtime.bigint();
    await engine.run(`COPY (
        SELECT CAST(hash(i) % ${ENTITIES} + 1 AS BIGINT) AS entity_id,
          make_timestamp((${END.getTime() - SPAN_MS} + CAST(hash(i + ${rows}) % ${SPAN_MS} AS BIGINT)) * 1000) AS ts,
          CAST(hash(i * 3 + 1) % 100000 AS DOUBLE) / 100 AS amount,
          CAST(hash(i * 3 + 2) % 10 + 1 AS DOUBLE) AS qty,
          ${repo.latest.map((name, k) => `CAST(hash(i * 17 + ${k}) % 1000000 AS DOUBLE) / 1000 AS ${name}`).join(', ')}
        FROM range(${rows}) AS t(i)
      ) TO ${stringLiteral(sourceFile)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    log(`generated ${rows} events over ${ENTITIES} entities in ${secondsSince(started)} s`);
    await ensureOnlineTable(client, TABLE);
    started = process.hrtime.bigint();
    const result = await materialize({
      engine,
      offlineStore: new FileSystemObjectStore({ root: join(work, 'offline') }),
      onlineStore: new DynamoDBOnlineStore({ client, tableName: TABLE }),
      catalog: repo.catalog,
      sourceRelation: (definition) => duckdbSourceRelation(batchSourceOf(definition.source), work),
      end: END,
    });
    log(`materialized ${result.views[0]?.written} entities in ${secondsSince(started)} s`);
  } finally {
    client.destroy();
    await engine.close();
  }
  return { ...repo, sourceFile };
}

/**
 * The HTTP API (`startLocalApiServer` + `createServeHandler`) over the dynalite at `endpoint`, answering as
 * of READ_TIME_MS; `batchGets()` counts its client's BatchGetItem calls (a middleware, retries included).
 */
export async function startBenchServer(
  endpoint: string,
  sourceFile: string,
): Promise<{ server: LocalApiServer; batchGets: () => number; close: () => Promise<void> }> {
  const { objects, catalog } = benchRepo(sourceFile);
  const client = createDynamoDBClient({ endpoint });
  let batchGets = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') batchGets++;
      return next(args);
    },
    { step: 'initialize', name: 'countBatchGetItem' },
  );
  const loaded = { catalog, objects, revision: 1 };
  const server = await startLocalApiServer({
    handler: createServeHandler({
      loadCatalog: async () => loaded,
      store: new DynamoDBOnlineStore({ client, tableName: TABLE }),
      now: () => READ_TIME_MS,
    }),
    port: 0,
  });
  return {
    server,
    batchGets: () => batchGets,
    close: async () => {
      await server.close();
      client.destroy();
    },
  };
}

/** mulberry32, so every run asks for the same entities. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` distinct entity ids in 1..ENTITIES. */
export function distinctEntities(random: () => number, count: number): number[] {
  const ids = new Set<number>();
  while (ids.size < count) ids.add(1 + Math.floor(random() * ENTITIES));
  return [...ids];
}
