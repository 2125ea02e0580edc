import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import type { LoadedCatalog } from '../../lambdas/http/serve-dependencies.js';
import { createServeHandler } from '../../lambdas/serve.js';
import { type LocalApiServer, startLocalApiServer } from '../../lib/cli/local-api-server.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { DynamoDBRegistryStore } from '../../lib/registry/dynamodb-registry-store.js';
import { Registry } from '../../lib/registry/registry.js';
import { ensureRegistryTable } from '../../lib/registry/registry-table.js';
import { pushEvents } from '../../lib/services/push-events.js';
import { createDynamoDBClient } from '../../lib/stores/dynamodb-client.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { ensureOnlineTable } from '../../lib/stores/online-table.js';
import { fixtureItems, NOW } from '../lambdas/serving-fixture.js';

/**
 * The local API (`startLocalApiServer` + `createServeHandler`, as `fstore serve` runs them) over a dynalite
 * that is stopped while the server keeps running, then started again on the same port over the same
 * LevelDB folder. While it is down, reads and pushes answer 503 ONLINE_STORE_UNAVAILABLE (never a 500, a
 * crash, or a NOT_FOUND for an entity that is stored); once it is back, the same requests answer 200 with
 * the values stored before, without restarting the server.
 */
const TABLE_ONLINE = 'fstore_online';
const TABLE_REGISTRY = 'fstore_registry';

interface Dynalite {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * dynalite over `path` on `port` (0: any free one), with tables created at once, in a child process of its
 * own: stopping it is a kill, as a store going down is, and whatever dynalite does with requests cut off
 * mid-read stays in that process rather than in the test's.
 */
async function startDynalite(path: string, port: number): Promise<Dynalite> {
  const script = `const dynalite = require(${JSON.stringify(createRequire(import.meta.url).resolve('dynalite'))});
const server = dynalite({ path: process.argv[1], createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', script, path, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line'),
    exited.then(() => {
      throw new Error('dynalite did not start');
    }),
  ])) as [string];
  return {
    port: Number(line),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

let dir: string;
let dynamo: Dynalite;
let client: DynamoDBClient;
let api: LocalApiServer;
let reloadErrors = 0;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  dir = await mkdtemp(join(tmpdir(), 'fstore-online-down-'));
  dynamo = await startDynalite(join(dir, 'dynamodb'), 0);
  client = createDynamoDBClient({ endpoint: `http://127.0.0.1:${dynamo.port}` });
  await ensureRegistryTable(client, TABLE_REGISTRY);
  await ensureOnlineTable(client, TABLE_ONLINE);
  const registry = new Registry({
    store: new DynamoDBRegistryStore({ client, tableName: TABLE_REGISTRY }),
    project: 'outage',
  });
  await registry.apply(validateFeatureRepo(collectDefinitions(Object.values(transactions))));
  // The registry is read again on every request, so its outage is exercised too: the cached catalog is served.
  const loadCatalog = registryCatalogLoader(registry, {
    refreshMs: 0,
    onReloadError: () => {
      reloadErrors += 1;
    },
  });
  const loaded = (await loadCatalog()) as LoadedCatalog;
  const store = new DynamoDBOnlineStore({ client, tableName: TABLE_ONLINE, baseDelayMs: 1 });
  await store.write(fixtureItems(loaded.catalog));
  api = await startLocalApiServer({
    handler: createServeHandler({
      loadCatalog,
      store,
      push: async (request) => {
        const current = (await loadCatalog()) as LoadedCatalog;
        return pushEvents({ catalog: current.catalog, onlineStore: store, request });
      },
      now: () => NOW,
    }),
    port: 0,
  });
});

afterAll(async () => {
  await api?.close();
  client?.destroy();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const READ = {
  features: [
    'user_transaction_stats:amount_sum_7d',
    'user_transaction_stats:last_3_amounts',
    'merchant_transaction_stats:amount_count_1d',
    'category_transaction_stats:amount_count_7d',
  ],
  // User 7 has nothing stored: NOT_FOUND is its right answer, and the only one in the reply.
  entities: { user_id: [42, 7], merchant_id: [7, 7], category: ['food', 'food'] },
};
/** What the fixture holds, read at NOW. */
const STORED_VALUES = [
  [42, 7],
  [7, 7],
  ['food', 'food'],
  [30, 0],
  [[10, 20, 30], null],
  [1, 1],
  [1, 1],
];

/**
 * A reply's JSON; an error body, Feast's error detail as a JSON string (`feastErrorBody`), as the
 * `{"error": {"code", "message"}}` it carries.
 */
function carriedJson(text: string): unknown {
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'string') return json;
  const detail = JSON.parse(json) as { module: string; error: unknown };
  if (detail.module !== 'feast.errors') throw new Error(`not Feast's error detail: ${text.slice(0, 200)}`);
  return { error: detail.error };
}

async function call(
  path: string,
  body?: unknown,
): Promise<{ status: number; contentType: string | null; json: unknown }> {
  const response = await fetch(`${api.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = carriedJson(text);
  } catch {
    throw new Error(
      `${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  return { status: response.status, contentType: response.headers.get('content-type'), json };
}

function valuesOf(json: unknown): unknown[] {
  return (json as { results: { values: unknown[] }[] }).results.map((column) => column.values);
}

function statusesOf(json: unknown): string[][] {
  return (json as { results: { statuses: string[] }[] }).results.map((column) => column.statuses);
}

const UNAVAILABLE = {
  error: {
    code: 'ONLINE_STORE_UNAVAILABLE',
    message: expect.stringMatching(
      new RegExp(`^the online store \\(DynamoDB table "${TABLE_ONLINE}"\\) cannot be reached: `),
    ),
  },
};

describe('the local API while its DynamoDB is down', () => {
  it('answers 503 ONLINE_STORE_UNAVAILABLE while down and the stored values once back, without a restart', async () => {
    const up = await call('/get-online-features', READ);
    expect(up.status).toBe(200);
    expect(valuesOf(up.json)).toEqual(STORED_VALUES);
    expect(statusesOf(up.json)[3]).toEqual(['PRESENT', 'NOT_FOUND']);
    const port = dynamo.port;

    await dynamo.close();
    const started = Date.now();
    const down = await call('/get-online-features', READ);
    const downMs = Date.now() - started;
    const downRepeated = await Promise.all(
      Array.from({ length: 8 }, () => call('/get-online-features', READ)),
    );
    const pushDown = await call('/push', {
      push_source_name: 'transactions',
      df: {
        user_id: [42],
        merchant_id: [7],
        amount: [1000],
        category: ['food'],
        transaction_date: [new Date(NOW - 3_600_000).toISOString()],
      },
    });
    const healthDown = await call('/health');
    const viewsDown = await call('/registry/feature-views/user_transaction_stats');

    dynamo = await startDynalite(join(dir, 'dynamodb'), port);
    const back = await call('/get-online-features', READ);

    expect(down).toEqual({ status: 503, contentType: 'application/json', json: UNAVAILABLE });
    // The SDK's own retries plus the store's are bounded: the caller hears of the outage rather than
    // hanging (a hang limit only; a slow, busy machine takes several times longer than a fast one).
    expect(downMs).toBeLessThan(120_000);
    for (const reply of downRepeated) expect(reply).toMatchObject({ status: 503, json: UNAVAILABLE });
    expect(pushDown).toMatchObject({ status: 503, json: UNAVAILABLE });
    // Routes that read no online item go on answering from the cached catalog.
    expect(healthDown).toEqual({
      status: 200,
      contentType: 'application/json',
      json: { status: 'ok', registry_revision: 1 },
    });
    expect(viewsDown).toMatchObject({ status: 200, json: { name: 'user_transaction_stats' } });
    expect(reloadErrors).toBeGreaterThan(0);
    // Back on the same port and folder: the same answer as before the outage, the refused push not in it.
    expect(back.status).toBe(200);
    expect(back.json).toEqual(up.json);
  });

  it('answers every request of a burst during which DynamoDB stops and starts again with 200 and the stored values, or 503', async () => {
    const port = dynamo.port;
    const replies: { status: number; json: unknown }[] = [];
    let stop = false;
    let downReplies = 0;
    const worker = async () => {
      while (!stop) {
        const reply = await call('/get-online-features', READ);
        replies.push(reply);
        if (reply.status === 503) downReplies += 1;
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    await new Promise((resolve) => setTimeout(resolve, 100));
    await dynamo.close();
    for (const deadline = Date.now() + 120_000; downReplies < 4 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    dynamo = await startDynalite(join(dir, 'dynamodb'), port);
    const upAgainAt = replies.length;
    for (const deadline = Date.now() + 120_000; replies.length < upAgainAt + 40 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop = true;
    await Promise.all(workers);

    expect(downReplies).toBeGreaterThanOrEqual(4);
    expect(replies.filter((reply) => reply.status === 200).length).toBeGreaterThan(40);
    for (const reply of replies) {
      if (reply.status === 200) {
        expect(valuesOf(reply.json)).toEqual(STORED_VALUES);
        expect(statusesOf(reply.json)[3]).toEqual(['PRESENT', 'NOT_FOUND']);
      } else {
        expect(reply).toMatchObject({ status: 503, json: UNAVAILABLE });
      }
    }
    // Once back, everything answers 200 again (a request sent just before the restart may still be 503).
    expect(replies.slice(-20).every((reply) => reply.status === 200)).toBe(true);
  });
});
