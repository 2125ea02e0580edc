import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/program.js';
import { DEFAULT_SERVE_OPTIONS, type RunningServe, startServe } from '../../lib/cli/serve-command.js';
import { editFile, newTempRoot } from './run-fstore.js';

// The feature catalog page of `fstore serve`, driven in headless Chromium: the real server runs in this
// process on an applied (twice), computed and materialized example repo. Debian's chromium only: this test
// never downloads a browser, and fails (rather than skips) without one.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const USER_STATS = 'user_transaction_stats';
const USER_STATS_DESCRIPTION =
  "A user's spending over the last 7, 14 and 30 days, their latest amounts and how recent they are.";
/** Where the screenshot goes; kept after the test (the repo's temp folder is removed). */
const OUTPUT_DIR = process.env.FSTORE_TEST_OUTPUT_DIR ?? join(tmpdir(), 'fstore-test-output');
const DATA_END = '2024-01-10';

let tempRoot: string;
let repo: string;
let serve: RunningServe | undefined;

async function fstore(...args: string[]): Promise<void> {
  let err = '';
  const code = await runCli(['--repo', repo, ...args], {
    out: () => {},
    err: (text) => {
      err += text;
    },
  });
  if (code !== 0) throw new Error(`fstore ${args.join(' ')} exited ${code}: ${err}`);
}

beforeAll(async () => {
  tempRoot = await newTempRoot();
  repo = join(tempRoot, 'repo');
  if ((await runCli(['init', repo, '--rows', '200'], { out: () => {}, err: () => {} })) !== 0) {
    throw new Error('fstore init failed');
  }
  await fstore('apply');
  // A second version of the view, so the history has two rows.
  await editFile(
    join(repo, 'features.ts'),
    "windows: ['7d', '14d', '30d'] }",
    "windows: ['7d', '14d', '30d', '60d'] }",
  );
  await fstore('apply');
  await fstore('compute', '--view', USER_STATS, '--start', '2024-01-01', '--end', DATA_END);
  await fstore('materialize-incremental', '--views', USER_STATS, '--end', DATA_END);
  serve = await startServe(repo, { ...DEFAULT_SERVE_OPTIONS, port: 0, refreshMs: 0 }, () => {});
}, 300_000);

afterAll(async () => {
  await serve?.close();
  if (tempRoot) await rm(tempRoot, { recursive: true, force: true });
});

/** The `data-name`s of the result items, in order. */
async function resultNames(page: Page): Promise<(string | null)[]> {
  const items = await page.locator('#results li.result').all();
  return Promise.all(items.map((item) => item.getAttribute('data-name')));
}

/** Waits until the results list shows exactly `expected` (in order) after a finished search. */
async function expectResults(page: Page, expected: readonly string[]): Promise<void> {
  await expect
    .poll(
      async () => ((await page.getAttribute('body', 'data-state')) === 'results' ? resultNames(page) : []),
      { timeout: 60_000, interval: 50 },
    )
    .toEqual(expected);
}

/** The cells of a table's body rows, as text. */
async function tableCells(page: Page, rowsSelector: string): Promise<string[][]> {
  const rows = await page.locator(rowsSelector).all();
  return Promise.all(rows.map((row) => row.locator('td').allTextContents()));
}

/** Waits until the detail shows the object called `name`. */
async function expectDetailOf(page: Page, name: string): Promise<void> {
  await expect
    .poll(
      async () =>
        (await page.getAttribute('body', 'data-state')) === 'detail'
          ? page.textContent('#detail-name')
          : undefined,
      { timeout: 60_000, interval: 50 },
    )
    .toBe(name);
}

describe('the feature catalog page (GET /ui) in headless Chromium', () => {
  it('searches by text, tag, owner and entity, opens a view and shows its description, owner, history, schema, lineage, freshness and validation', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: this test drives Debian's chromium (never a downloaded browser). Install it with: sudo apt-get update && sudo apt-get install -y chromium`,
      );
    }
    const url = serve?.url ?? '';
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 120_000 });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
      page.on('request', (request) => {
        if (!request.url().startsWith(url)) problems.push(`request outside the server: ${request.url()}`);
      });

      await page.goto(`${url}/ui`);
      await page.waitForSelector('body[data-state="results"]', { timeout: 60_000 });
      expect(await page.locator('#results li.result').count()).toBe(10);
      expect(await page.textContent('#meta')).toMatch(/^project transactions · registry revision 2 · read /);

      await page.fill('#search', 'ratio');
      await expectResults(page, ['fraud_model_v1', USER_STATS, 'transaction_amount_ratios']);
      expect(page.url()).toContain('#/?search=ratio');
      expect(await page.textContent(`#results li[data-name="${USER_STATS}"] .matched`)).toBe(
        'matching features: weekly_to_monthly_amount_ratio weekly_to_monthly_txn_ratio',
      );

      await mkdir(OUTPUT_DIR, { recursive: true });
      const searchShot = join(OUTPUT_DIR, 'catalog-ui-search.png');
      await page.screenshot({ path: searchShot, fullPage: true });
      console.log(`catalog search screenshot: ${searchShot}`);

      await page.click('#clear');
      await page.fill('#tag', 'model=fraud');
      await expectResults(page, [
        'fraud_model_v1',
        'category_transaction_stats',
        'merchant_transaction_stats',
        USER_STATS,
        'transaction_amount_ratios',
      ]);

      await page.click('#clear');
      await page.fill('#owner', 'payments-data@example.com');
      await expectResults(page, ['transactions', 'live_transactions']);

      await page.click('#clear');
      await page.fill('#entity', 'merchant');
      await expectResults(page, ['merchant', 'fraud_model_v1', 'merchant_transaction_stats']);

      await page.fill('#entity', 'user');
      await page.fill('#tag', 'model=fraud');
      await page.fill('#owner', 'risk-ml@example.com');
      await page.selectOption('#kind', 'feature_view');
      await expectResults(page, [USER_STATS]);
      expect(await page.textContent('#status')).toBe('1 of 10 objects match');

      await page.click(`#results li[data-name="${USER_STATS}"] a.object-link`);
      await expectDetailOf(page, USER_STATS);
      expect(page.url()).toContain(`#/object/feature_view/${USER_STATS}`);
      expect(await page.textContent('#detail-name')).toBe(USER_STATS);
      expect(await page.textContent('#detail-kind')).toBe('feature view');
      expect(await page.textContent('#detail-description')).toBe(USER_STATS_DESCRIPTION);
      expect(await page.textContent('#detail-owner')).toBe('risk-ml@example.com');
      expect(await page.textContent('#detail-entities')).toBe('user');
      expect(await page.textContent('#detail-tags')).toBe('domain=paymentsmodel=fraud');
      expect(await page.textContent('#setting-source')).toBe('live_transactions');

      // Version history: newest first, the applied version marked.
      const history = await tableCells(page, '#history-table tbody tr');
      const version = (await page.textContent('#detail-version')) ?? '';
      expect(version).toMatch(/^[0-9a-f]{16}$/);
      expect(history).toEqual([
        ['2', `${version} applied`, 'change', expect.stringMatching(/^\d{4}-/), expect.any(String)],
        [
          '1',
          expect.stringMatching(/^[0-9a-f]{16}$/),
          'add',
          expect.stringMatching(/^\d{4}-/),
          expect.any(String),
        ],
      ]);

      // Schema: every feature with its type and computation.
      const schema = await tableCells(page, '#schema-table tbody tr');
      expect(schema).toContainEqual(['amount_mean_7d', 'float64', 'mean(amount) over 7d, hop 1h']);
      expect(schema).toContainEqual(['amount_count_60d', 'int64', 'count(amount) over 60d, hop 1d']);
      expect(schema.map((row) => row[0])).toContain('weekly_to_monthly_amount_ratio');
      expect(schema.length).toBe(21);

      // Lineage: the batch source and the stream feed the view; an on-demand view and the service use it.
      const nodes = await page.locator('#lineage-chain .node').all();
      const chain = await Promise.all(
        nodes.map(
          async (node) => `${await node.getAttribute('data-kind')} ${await node.getAttribute('data-name')}`,
        ),
      );
      expect(chain).toEqual([
        'batch_source transactions',
        'kinesis_source live_transactions',
        `feature_view ${USER_STATS}`,
        'on_demand_feature_view transaction_amount_ratios',
        'feature_service fraud_model_v1',
      ]);

      // Freshness from the watermark materialize-incremental moved; validation of the newest partition.
      expect(await page.textContent('#freshness-summary')).toMatch(
        new RegExp(`^online state materialized through ${DATA_END}T00:00:00.000Z \\(\\d+ d ago\\)$`),
      );
      expect(await page.textContent('#freshness-through')).toBe(`${DATA_END}T00:00:00.000Z`);
      expect(await page.getAttribute('#detail-validation [data-state]', 'data-state')).toBe('passed');
      expect(await page.textContent('#detail-validation .badge')).toBe('passed');
      expect(await page.textContent('#validation-summary')).toMatch(
        /^passed on 2024-01-09 \(\d+ rows, 21 features, warn policy\)$/,
      );
      expect(await page.textContent('#validation-dt')).toBe('2024-01-09');

      const screenshot = join(OUTPUT_DIR, `catalog-ui-${USER_STATS}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`catalog page screenshot: ${screenshot}`);
      expect(existsSync(screenshot)).toBe(true);

      // The lineage links lead on; Back comes back.
      await page.click('#lineage-chain .node[data-name="fraud_model_v1"] a');
      await expectDetailOf(page, 'fraud_model_v1');
      expect(await page.textContent('#detail-kind')).toBe('feature service');
      await page.goBack();
      await expectDetailOf(page, USER_STATS);

      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 300_000);
});
