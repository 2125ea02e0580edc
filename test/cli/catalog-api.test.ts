import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogJson, CatalogObject } from '../../lib/cli/catalog-ui/catalog-api.js';
import { withCatalogUi } from '../../lib/cli/catalog-ui/catalog-routes.js';
import { runCli } from '../../lib/cli/program.js';
import { DEFAULT_SERVE_OPTIONS, type RunningServe, startServe } from '../../lib/cli/serve-command.js';
import { editFile, newTempRoot } from './run-fstore.js';

// The catalog JSON of `fstore serve` (GET /ui/api/catalog), read over HTTP from the real server started in
// this process on an applied example repo; the commands that change what it shows (apply, compute,
// materialize-incremental) run in process too, through the served DynamoDB, as they would beside `fstore serve`.

const USER_STATS = 'user_transaction_stats';
/** The example's generated transactions (200 rows, one an hour) fall on 2024-01-01 .. 2024-01-09. */
const DATA_END = '2024-01-10';

let tempRoot: string;
let repo: string;
let serve: RunningServe;

/** Runs an fstore command in this process; fails the test with what it printed when it fails. */
async function fstore(...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(['--repo', repo, ...args], {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  });
  if (code !== 0) throw new Error(`fstore ${args.join(' ')} exited ${code}: ${err}`);
  return out;
}

async function catalog(query = ''): Promise<CatalogJson> {
  const response = await fetch(`${serve.url}/ui/api/catalog${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/json');
  return (await response.json()) as CatalogJson;
}

async function object(kind: string, name: string, query = ''): Promise<CatalogObject> {
  const found = (await catalog(query)).objects.find((o) => o.kind === kind && o.name === name);
  if (!found) throw new Error(`${kind} ${name} is not in the catalog`);
  return found;
}

const names = (json: CatalogJson) => json.objects.map((o) => o.name);

beforeAll(async () => {
  tempRoot = await newTempRoot();
  repo = join(tempRoot, 'repo');
  const init = await runCli(['init', repo, '--rows', '200'], { out: () => {}, err: () => {} });
  if (init !== 0) throw new Error('fstore init failed');
  await fstore('apply');
  // Revision 2: a new window gives user_transaction_stats (and the service listing all of it) a new
  // version; a check no day can pass makes merchant_transaction_stats' validation fail (warn policy).
  const features = join(repo, 'features.ts');
  await editFile(features, "windows: ['7d', '14d', '30d'] }", "windows: ['7d', '14d', '30d', '60d'] }");
  await editFile(
    features,
    "ttl: '30d',\n  schedule: 'rate(1 hour)',\n  description: \"A merchant's",
    "ttl: '30d',\n  schedule: 'rate(1 hour)',\n  validation: { features: { amount_count_1d: { max: 0 } } },\n  description: \"A merchant's",
  );
  await fstore('apply');
  serve = await startServe(repo, { ...DEFAULT_SERVE_OPTIONS, port: 0, refreshMs: 0 }, () => {});
}, 300_000);

afterAll(async () => {
  await serve?.close();
  if (tempRoot) await rm(tempRoot, { recursive: true, force: true });
});

describe('GET /ui/api/catalog', () => {
  it('lists every applied object with kind, version, description, owner, tags, entities and typed features', async () => {
    const json = await catalog();

    expect(json.project).toBe('transactions');
    expect(json.registry_revision).toBe(2);
    expect(json.total).toBe(10);
    expect(json.objects.map((o) => `${o.kind} ${o.name}`)).toEqual([
      'batch_source transactions',
      'entity category',
      'entity merchant',
      'entity user',
      'feature_service fraud_model_v1',
      'feature_view category_transaction_stats',
      'feature_view merchant_transaction_stats',
      `feature_view ${USER_STATS}`,
      'kinesis_source live_transactions',
      'on_demand_feature_view transaction_amount_ratios',
    ]);
    expect(json.facets).toEqual({
      owners: ['payments-data@example.com', 'risk-ml@example.com'],
      entities: ['category', 'merchant', 'user'],
      tags: ['domain=payments', 'model=fraud', 'pii=false'],
    });

    const view = json.objects.find((o) => o.name === USER_STATS) as CatalogObject;
    expect(view).toMatchObject({
      kind: 'feature_view',
      version: expect.stringMatching(/^[0-9a-f]{16}$/),
      description:
        "A user's spending over the last 7, 14 and 30 days, their latest amounts and how recent they are.",
      owner: 'risk-ml@example.com',
      tags: { domain: 'payments', model: 'fraud' },
      entities: ['user'],
      columns: [],
      settings: { source: 'live_transactions', ttl: '90d', schedule: 'rate(1 day)', online: 'true' },
    });
    expect(view.features.map((f) => f.name)).toContain('amount_mean_60d');
    expect(view.features.find((f) => f.name === 'amount_mean_7d')).toEqual({
      name: 'amount_mean_7d',
      dtype: 'float64',
      computation: 'mean(amount) over 7d, hop 1h',
    });
    expect(view.features.find((f) => f.name === 'amount_count_30d')?.dtype).toBe('int64');
    expect(view.features.find((f) => f.name === 'weekly_to_monthly_amount_ratio')?.computation).toMatch(
      /amount_sum_7d/,
    );

    const service = json.objects.find((o) => o.name === 'fraud_model_v1') as CatalogObject;
    expect(service.entities).toEqual(['user', 'merchant', 'category']);
    expect(service.features).toContainEqual({
      name: 'merchant_transaction_stats:amount_count_1d',
      dtype: 'int64',
      computation: 'count(amount) over 1d, hop 1h',
    });
    expect(service.freshness).toBeNull();
    expect(service.validation).toBeNull();

    const source = json.objects.find((o) => o.name === 'transactions') as CatalogObject;
    expect(source.columns).toContainEqual({ name: 'transaction_date', dtype: 'timestamp' });
    const user = json.objects.find((o) => o.kind === 'entity' && o.name === 'user') as CatalogObject;
    expect(user.columns).toEqual([{ name: 'user_id', dtype: 'int64' }]);
  });

  it('filters by text, tag, owner, entity and kind as fstore list does, ignoring empty parameters', async () => {
    expect(names(await catalog('?search=ratio'))).toEqual([
      'fraud_model_v1',
      USER_STATS,
      'transaction_amount_ratios',
    ]);
    expect(names(await catalog('?search=RATIO&kind=feature_view'))).toEqual([USER_STATS]);
    expect(names(await catalog(`?tag=${encodeURIComponent('model=fraud')}`))).toEqual([
      'fraud_model_v1',
      'category_transaction_stats',
      'merchant_transaction_stats',
      USER_STATS,
      'transaction_amount_ratios',
    ]);
    expect(names(await catalog('?tag=pii'))).toEqual(['transactions', 'live_transactions']);
    expect(names(await catalog(`?owner=${encodeURIComponent('payments-data@example.com')}`))).toEqual([
      'transactions',
      'live_transactions',
    ]);
    expect(names(await catalog('?entity=merchant'))).toEqual([
      'merchant',
      'fraud_model_v1',
      'merchant_transaction_stats',
    ]);
    const combined = await catalog(`?search=spending&owner=risk-ml%40example.com&entity=user&tag=model`);
    expect(combined.filter).toEqual({
      search: 'spending',
      owner: 'risk-ml@example.com',
      entity: 'user',
      tag: 'model',
    });
    expect(names(combined)).toEqual([USER_STATS]);
    expect(names(await catalog('?search=&tag=&owner=&entity=&kind='))).toHaveLength(10);
    expect(names(await catalog('?search=no-such-thing'))).toEqual([]);
  });

  it('refuses an unknown kind or parameter with 400 INVALID_REQUEST', async () => {
    const badKind = await fetch(`${serve.url}/ui/api/catalog?kind=view`);
    const unknown = await fetch(`${serve.url}/ui/api/catalog?q=ratio`);

    expect(badKind.status).toBe(400);
    expect(await badKind.json()).toEqual({
      error: {
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('kind must be one of entity, batch_source'),
      },
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: 'INVALID_REQUEST',
        message:
          'unknown query parameter "q"; the query parameters are "search", "tag", "owner", "entity", and "kind" here',
      },
    });
  });

  it('gives each object its lineage as fstore describe finds it, with the kinds resolved', async () => {
    const json = await catalog();
    const lineage = (name: string) => json.objects.find((o) => o.name === name)?.lineage;

    expect(lineage(USER_STATS)).toEqual({
      upstream: [{ kind: 'kinesis_source', name: 'live_transactions', label: 'source live_transactions' }],
      downstream: [
        {
          kind: 'on_demand_feature_view',
          name: 'transaction_amount_ratios',
          label: 'on demand feature view transaction_amount_ratios',
        },
        { kind: 'feature_service', name: 'fraud_model_v1', label: 'feature service fraud_model_v1' },
      ],
    });
    expect(lineage('live_transactions')).toEqual({
      upstream: [{ kind: 'batch_source', name: 'transactions', label: 'batch source transactions' }],
      downstream: [
        {
          kind: 'feature_view',
          name: 'merchant_transaction_stats',
          label: 'feature view merchant_transaction_stats',
        },
        { kind: 'feature_view', name: USER_STATS, label: `feature view ${USER_STATS}` },
      ],
    });
    expect(lineage('transaction_amount_ratios')?.upstream).toEqual([
      { kind: 'feature_view', name: USER_STATS, label: `view ${USER_STATS}` },
    ]);
    expect(lineage('fraud_model_v1')?.downstream).toEqual([]);
  });

  it('gives each object its version history, oldest first, ending at the applied version', async () => {
    const view = await object('feature_view', USER_STATS);
    const merchant = await object('feature_view', 'merchant_transaction_stats');

    expect(view.version_history).toEqual([
      {
        version: expect.stringMatching(/^[0-9a-f]{16}$/),
        revision: 1,
        applied_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        applied_by: expect.any(String),
        action: 'add',
        breaking: false,
      },
      expect.objectContaining({ version: view.version, revision: 2, action: 'change', breaking: false }),
    ]);
    expect(view.version_history[0]?.version).not.toBe(view.version);
    // A validation rule is not part of the version: one entry.
    expect(merchant.version_history).toEqual([
      expect.objectContaining({ version: merchant.version, revision: 1, action: 'add' }),
    ]);
  });

  it('shows validation after a compute and freshness after a materialization, per view', async () => {
    const before = await object('feature_view', USER_STATS);
    expect(before.freshness).toEqual({
      state: 'never',
      basis: 'online',
      through: null,
      seconds: null,
      summary: 'never materialized online (run fstore materialize-incremental)',
    });
    expect(before.validation).toMatchObject({
      state: 'no_data',
      version: before.version,
      partitions: 0,
      dt: null,
      summary: `nothing published for version ${before.version} yet (run fstore compute)`,
    });

    await fstore('compute', '--view', USER_STATS, '--start', '2024-01-01', '--end', DATA_END);
    await fstore(
      'compute',
      '--view',
      'merchant_transaction_stats',
      '--start',
      '2024-01-01',
      '--end',
      DATA_END,
    );
    const computed = await object('feature_view', USER_STATS);
    expect(computed.validation).toEqual({
      state: 'passed',
      version: computed.version,
      partitions: 9,
      dt: '2024-01-09',
      rows: expect.any(Number),
      policy: 'warn',
      validated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      features_checked: computed.features.length,
      failed_checks: [],
      newest_refused: null,
      summary: expect.stringMatching(/^passed on 2024-01-09 \(\d+ rows, \d+ features, warn policy\)$/),
    });
    expect((computed.validation?.rows ?? 0) > 0).toBe(true);
    expect(computed.freshness?.state).toBe('never');
    const merchant = await object('feature_view', 'merchant_transaction_stats');
    expect(merchant.validation).toMatchObject({
      state: 'failed',
      dt: '2024-01-09',
      failed_checks: [
        {
          feature: 'amount_count_1d',
          check: 'max',
          detail: expect.stringMatching(/^largest value \d+ \(at most 0\)$/),
        },
      ],
      summary: expect.stringMatching(/^failed 1 check on 2024-01-09/),
    });
    expect((await object('feature_view', 'category_transaction_stats')).validation?.state).toBe('no_data');

    await fstore('materialize-incremental', '--views', USER_STATS, '--end', DATA_END);
    const json = await catalog();
    const materialized = json.objects.find((o) => o.name === USER_STATS) as CatalogObject;
    const seconds = (Date.parse(json.generated_at) - Date.parse(`${DATA_END}T00:00:00.000Z`)) / 1000;
    expect(materialized.freshness).toEqual({
      state: 'fresh',
      basis: 'online',
      through: `${DATA_END}T00:00:00.000Z`,
      seconds,
      summary: expect.stringMatching(
        new RegExp(`^online state materialized through ${DATA_END}T00:00:00.000Z \\(\\d+ d ago\\)$`),
      ),
    });
    const others = json.objects.filter((o) => o.kind === 'feature_view' && o.name !== USER_STATS);
    expect(others.map((o) => o.freshness?.state)).toEqual(['never', 'never']);
  });
});

describe('the catalog routes of fstore serve', () => {
  it('serves the page as one self-contained HTML document with a strict content security policy', async () => {
    const response = await fetch(`${serve.url}/ui`);
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
    expect(policy).toContain("connect-src 'self'");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(?!data:)/);
    expect((await fetch(`${serve.url}/ui/`)).status).toBe(200);
  });

  it('answers 404 under /ui for other paths, 405 for other methods, and leaves the API as it was', async () => {
    const missing = await fetch(`${serve.url}/ui/api/nothing`);
    const posted = await fetch(`${serve.url}/ui/api/catalog`, { method: 'POST', body: '{}' });
    const health = await fetch(`${serve.url}/health`);
    const views = await fetch(`${serve.url}/registry/feature-views?search=ratio`);

    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET');
    expect(await health.json()).toEqual({ status: 'ok', registry_revision: 2 });
    expect(
      ((await views.json()) as { feature_views: { name: string }[] }).feature_views.map((v) => v.name),
    ).toEqual([USER_STATS]);
  });

  it('answers 503 NOT_APPLIED before the first apply', async () => {
    const handler = withCatalogUi(async () => ({ statusCode: 418, body: '' }), {
      project: 'empty',
      loadCatalog: async () => undefined,
      registry: { changeLog: async () => [], versionHistory: async () => [] },
      watermarks: { get: async () => undefined, advance: async () => false },
    });
    const event = (path: string) =>
      ({ path, httpMethod: 'GET', queryStringParameters: null }) as APIGatewayProxyEvent;
    const context = { awsRequestId: 'test' } as Context;

    const reply = await handler(event('/ui/api/catalog'), context);
    expect(reply.statusCode).toBe(503);
    expect(JSON.parse(reply.body)).toEqual({
      error: { code: 'NOT_APPLIED', message: expect.stringContaining('run `fstore apply`') },
    });
    expect((await handler(event('/ui'), context)).statusCode).toBe(200);
    expect((await handler(event('/health'), context)).statusCode).toBe(418);
    expect((await handler(event('/uix'), context)).statusCode).toBe(418);
  });
});
