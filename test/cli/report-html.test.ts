import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartJsSource,
  escapeHtml,
  formatAge,
  jsonForScript,
  REPORT_DATA_ID,
  renderReportHtml,
  reportCharts,
} from '../../lib/cli/report-html.js';
import {
  batchSource,
  collectDefinitions,
  div,
  entity,
  featureView,
  onDemandFeatureView,
  validateFeatureRepo,
} from '../../lib/index.js';
import { buildFeatureReport, type FeatureReport } from '../../lib/services/feature-report.js';
import type { OnlineFeaturesResponse } from '../../lib/services/get-online-features.js';

const HOSTILE = '</script><script>alert(1)</script><!-- & "quoted" \u2028';
const NOW = new Date('2024-03-01T12:00:00.000Z');

/** A report over hand-built inputs, with a hostile description, owner, tag and check detail. */
async function fixtureReport(): Promise<FeatureReport> {
  const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
  const events = batchSource({
    name: 'events',
    path: 'events.csv',
    timestampField: 'ts',
    schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64', category: 'string' },
  });
  const spend = featureView({
    name: 'spend',
    entities: [user],
    source: events,
    fields: { category: 'string' },
    aggregations: [{ column: 'amount', functions: ['sum', 'count'], windows: ['7d'] }],
    lastK: [{ column: 'amount', k: 3 }],
    description: HOSTILE,
    owner: '<b>owner</b>@example.com',
    tags: { note: '"><img src=x onerror=alert(2)>' },
  });
  const ratios = onDemandFeatureView({
    name: 'ratios',
    request: { amount: 'float64' },
    features: (request) => ({ amount_to_sum: div(request.amount, spend.features.amount_sum_7d) }),
  });
  const validated = validateFeatureRepo(collectDefinitions([user, events, spend, ratios]));
  const categories = ['food', 'travel', 'shopping', HOSTILE];
  const training = Array.from({ length: 200 }, (_, i) => ({
    user_id: i,
    amount_sum_7d: (i * 37) % 500,
    amount_count_7d: i % 9,
    category: i % 17 === 0 ? null : categories[i % 4],
    amount_last_3: Array.from({ length: i % 4 }, (_, k) => k),
    amount_to_sum: i % 5 === 0 ? null : (i % 13) / 10,
  }));
  const shifted = training.map((row, i) => ({
    ...row,
    amount_sum_7d: ((i * 37) % 500) * 1.4,
    category: categories[i % 3],
  }));
  const columns = [
    'user_id',
    'amount_sum_7d',
    'amount_count_7d',
    'category',
    'amount_last_3',
    'amount_to_sum',
  ];
  const online: OnlineFeaturesResponse = {
    metadata: { feature_names: columns },
    results: columns.map((column) => {
      const values = shifted.map((row) => (row as Record<string, unknown>)[column]);
      return {
        values,
        statuses: values.map((value) => (value === null ? 'NULL_VALUE' : 'PRESENT')),
        event_timestamps: values.map(() => NOW.toISOString()),
      };
    }),
  };
  const report = await buildFeatureReport({
    definitions: validated,
    training,
    online,
    now: NOW,
    title: 'Report <for> "tests"',
    freshness: {
      spend: {
        view: 'spend',
        version: 'v',
        basis: 'online',
        through: new Date('2024-03-01T09:00:00Z'),
        seconds: 10_800,
      },
    },
  });
  // Validation and partitions as a published view would have them (covered by feature-report.test.ts).
  const [view, ...rest] = report.views;
  if (!view) throw new Error('no view');
  return {
    ...report,
    views: [
      {
        ...view,
        partitions: { count: 2, firstDt: '2024-02-28', lastDt: '2024-02-29', rows: 200 },
        validation: {
          dt: '2024-02-29',
          policy: 'warn',
          passed: false,
          published: true,
          validatedAt: '2024-03-01T00:00:00.000Z',
          rows: 100,
          partitionsChecked: 2,
          partitionsFailed: 1,
          failedDays: ['2024-02-29'],
        },
        features: view.features.map((feature) => ({
          ...feature,
          validation: {
            passed: feature.name !== 'amount_sum_7d',
            nullRate: 0,
            checks: [
              { check: 'no_infinity', passed: true, detail: '0 infinite values' },
              ...(feature.name === 'amount_sum_7d'
                ? [{ check: 'allowed_values', passed: false, detail: `3 values outside ["${HOSTILE}"]` }]
                : []),
            ],
            summary: { rows: 100 },
          },
        })),
      },
      ...rest,
    ],
  };
}

let report: FeatureReport;
let html: string;
beforeAll(async () => {
  report = await fixtureReport();
  html = renderReportHtml(report);
});

function embeddedData(page: string): unknown {
  const match = new RegExp(
    `<script type="application/json" id="${REPORT_DATA_ID}">([\\s\\S]*?)</script>`,
  ).exec(page);
  if (!match) throw new Error('no embedded data');
  return JSON.parse(match[1] as string);
}

describe('renderReportHtml', () => {
  it('inlines the Chart.js UMD bundle, without its source map comment', () => {
    const bundle = chartJsSource();
    expect(bundle).toMatch(/^\/\*!\n \* Chart\.js v4\.6\.1/);
    expect(html).toContain(' * Chart.js v4.6.1');
    const body = bundle.replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, '');
    expect(html).toContain(body.slice(-2000));
    expect(html).not.toContain('sourceMappingURL');
    expect(html.length).toBeGreaterThan(bundle.length);
  });

  it('finds Chart.js beside the chart.js entry point, as Node resolves it', () => {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    expect(existsSync(join(entry, '..', 'chart.umd.js'))).toBe(true);
  });

  it('embeds the report data as JSON that parses back to the report', () => {
    expect(embeddedData(html)).toEqual(JSON.parse(JSON.stringify({ report, charts: reportCharts(report) })));
  });

  it('escapes hostile strings: in the markup as entities, in the JSON so they cannot end the script', () => {
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>owner');
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<title>Report &lt;for&gt; &quot;tests&quot;</title>');
    const data = embeddedData(html) as { report: FeatureReport };
    expect(data.report.views[0]?.description).toBe(HOSTILE);
    // Nothing between the data's opening tag and its end can read as markup.
    const start = html.indexOf(`id="${REPORT_DATA_ID}">`);
    const json = html.slice(start, html.indexOf('</script>', start));
    expect(json).not.toMatch(/<!--|<\/|\u2028/);
  });

  it('draws one canvas per chart: a histogram per feature with values, a drift chart per compared feature', () => {
    const charts = reportCharts(report);
    const spend = report.views[0];
    const withHistogram = report.views
      .flatMap((view) => view.features)
      .filter((f) => f.histogram?.bins.length);
    const withDrift = report.views.flatMap((view) => view.features).filter((f) => f.drift?.bins.length);
    expect(withDrift.map((f) => f.name)).toEqual([
      'category',
      'amount_sum_7d',
      'amount_count_7d',
      'amount_last_3',
      'amount_to_sum',
    ]);
    expect(charts).toHaveLength(withHistogram.length + withDrift.length);
    expect(html.match(/<canvas\b/g)).toHaveLength(charts.length);
    for (const chart of charts) expect(html).toContain(`<canvas id="${chart.canvas}"`);
    expect(spend?.features.find((f) => f.name === 'amount_sum_7d')?.drift?.level).not.toBe('stable');
  });

  it('loads nothing from the network: no http(s) src or href, no external resources, a CSP allowing none', () => {
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<(?:link|img|iframe|object|embed)\b/i);
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-/,
    );
  });

  it('has a table of contents linking every view and feature, and the drift summary', () => {
    const anchors = [...html.matchAll(/<a href="#([^"]+)">/g)].map((match) => match[1]);
    const ids = new Set([...html.matchAll(/\bid="([^"]+)"/g)].map((match) => match[1]));
    for (const anchor of anchors) expect(ids.has(anchor), anchor).toBe(true);
    expect(html).toContain('<nav class="toc"');
    expect(html).toContain('href="#drift-summary"');
    const features = report.views.reduce((sum, view) => sum + view.features.length, 0);
    expect(new Set(anchors.filter((anchor) => anchor?.startsWith('feature-'))).size).toBe(features);
  });

  it('shows freshness, validation and PSI readings as text', () => {
    expect(html).toContain(
      'materialized online through 2024-03-01T09:00:00.000Z, <strong>3.0 h</strong> old',
    );
    expect(html).toContain('<span class="badge fail">validation failed</span>');
    expect(html).toContain('1 failed (2024-02-29)');
    expect(html).toMatch(/PSI \d\.\d{3}/);
  });
});

describe('helpers', () => {
  it('escapes HTML and script JSON', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const tricky = { s: '</script><!-- \u2028 & >' };
    expect(jsonForScript(tricky)).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(jsonForScript(tricky))).toEqual(tricky);
  });

  it('formats ages', () => {
    expect([5, 600, 10_800, 3 * 86_400].map(formatAge)).toEqual(['5 s', '10 min', '3.0 h', '3.0 days']);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const playwright = await import('playwright-core').catch(() => undefined);

describe.skipIf(!existsSync(CHROMIUM) || !playwright)('the report in headless Chromium', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fstore-report-html-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('draws every chart with Chart.js, offline, with no page error, dialog or blocked script', async () => {
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const browser = await playwright?.chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 120_000,
    });
    if (!browser) throw new Error('no browser');
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      });
      page.on('dialog', (dialog) => {
        errors.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.on('request', (request) => {
        if (request.url() !== pathToFileURL(file).href) requests.push(request.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 120_000 });
      // Page code as text: the tests compile without the DOM's types.
      await page.waitForFunction("document.body.hasAttribute('data-charts-drawn')", undefined, {
        timeout: 60_000,
      });
      const drawn = await page.evaluate(`(() => {
        const instances = Object.values(window.Chart.instances);
        return {
          instances: instances.length,
          canvases: document.querySelectorAll('canvas').length,
          attribute: document.body.getAttribute('data-charts-drawn'),
          sized: instances.filter((instance) => instance.canvas.width > 0 && instance.canvas.height > 0).length,
        };
      })()`);
      const charts = reportCharts(report).length;
      expect(drawn).toEqual({
        instances: charts,
        canvases: charts,
        attribute: String(charts),
        sized: charts,
      });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const screenshot = join(dir, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: false });
      expect((await stat(screenshot)).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
