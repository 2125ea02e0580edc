/**
 * The feature report as ONE self-contained HTML file: it opens from disk with no network at all.
 * Chart.js (its UMD bundle) is inlined, the report data is embedded as JSON in a
 * `<script type="application/json">`, and a small inline script draws every chart with Chart.js from
 * that data. Text (descriptions, owners, check details) is escaped into the markup; the JSON is escaped
 * so no string in it can close its script element. A Content-Security-Policy allows only the page's own
 * inline scripts (by hash) and no fetches of any kind.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatNumber } from '../services/drift.js';
import type { FeatureEntry, FeatureReport, ViewReport } from '../services/feature-report.js';

/** The id of the `<script type="application/json">` holding `{ report, charts }`. */
export const REPORT_DATA_ID = 'fstore-report-data';

/** One chart the page draws: a histogram or a drift chart of one feature, on the canvas with id `canvas`. */
export interface ReportChart {
  readonly canvas: string;
  readonly kind: 'histogram' | 'drift';
  /** Index into `report.views`, and into that view's `features`. */
  readonly view: number;
  readonly feature: number;
}

export interface RenderReportOptions {
  /** The Chart.js UMD bundle's code. @default read from the installed chart.js (`chartJsSource()`) */
  readonly chartJs?: string;
}

let chartJsCache: string | undefined;

/**
 * The installed Chart.js UMD bundle (`chart.js/dist/chart.umd.js`), found through Node's resolution from
 * this file, so it works from `lib/` and `dist/lib/`, and with chart.js hoisted above the package.
 * chart.js exports only its entry points, so the bundle is found beside its CommonJS entry.
 */
export function chartJsSource(): string {
  if (chartJsCache === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js'); // .../chart.js/dist/chart.cjs
    chartJsCache = readFileSync(join(dirname(entry), 'chart.umd.js'), 'utf8');
  }
  return chartJsCache;
}

/** The charts a report gets, in page order: per feature its histogram, then its drift, when it has data. */
export function reportCharts(report: FeatureReport): ReportChart[] {
  const charts: ReportChart[] = [];
  report.views.forEach((view, viewIndex) => {
    view.features.forEach((feature, featureIndex) => {
      if (feature.histogram && feature.histogram.bins.length > 0) {
        charts.push({
          canvas: `chart-${charts.length}`,
          kind: 'histogram',
          view: viewIndex,
          feature: featureIndex,
        });
      }
      if (feature.drift && feature.drift.bins.length > 0) {
        charts.push({
          canvas: `chart-${charts.length}`,
          kind: 'drift',
          view: viewIndex,
          feature: featureIndex,
        });
      }
    });
  });
  return charts;
}

/**
 * The report as one HTML page that opens offline (see the top of this file).
 * @example await writeFile('report.html', renderReportHtml(await buildFeatureReport({ ... })));
 */
export function renderReportHtml(report: FeatureReport, options: RenderReportOptions = {}): string {
  const charts = reportCharts(report);
  const canvasOf = new Map(
    charts.map((chart) => [`${chart.view}/${chart.feature}/${chart.kind}`, chart.canvas]),
  );
  const chartJs = scriptSafe(stripSourceMap(options.chartJs ?? chartJsSource()));
  const data = jsonForScript({ report, charts });
  const policy = [
    "default-src 'none'",
    `script-src ${[chartJs, DRAW_SCRIPT].map((script) => `'sha256-${sha256(script)}'`).join(' ')}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const body = [
    header(report),
    tableOfContents(report),
    '<main>',
    driftSummary(report),
    ...report.views.map((view, index) => viewSection(view, index, canvasOf)),
    '</main>',
    `<footer>Made by fstore. Charts drawn with Chart.js, inlined in this file; it loads nothing from the network.</footer>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(policy)}">
<meta name="generator" content="fstore">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script type="application/json" id="${REPORT_DATA_ID}">${data}</script>
<script>${chartJs}</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------------
// Markup

function header(report: FeatureReport): string {
  const facts = [
    `Generated ${escapeHtml(report.generatedAt)}`,
    report.training
      ? `training set: ${report.training.rows} rows (${escapeHtml(report.training.source)})`
      : 'no training set',
    report.online
      ? `online values: ${report.online.rows} rows, ${report.online.features} columns`
      : 'no online values',
  ];
  return `<header>
<h1>${escapeHtml(report.title)}</h1>
<p class="facts">${facts.join(' &middot; ')}</p>
<p class="legend">Drift is the Population Stability Index (PSI) of each feature between the training set (expected) and the values served online now (actual):
<span class="badge stable">stable</span> below ${report.psi.moderate},
<span class="badge moderate">moderate</span> ${report.psi.moderate} to ${report.psi.significant},
<span class="badge significant">significant</span> above ${report.psi.significant}.</p>
</header>`;
}

function tableOfContents(report: FeatureReport): string {
  const items = report.views.map((view, index) => {
    const features = view.features
      .map(
        (feature, featureIndex) =>
          `<li><a href="#${featureId(index, featureIndex)}">${escapeHtml(feature.name)}</a>${
            feature.drift ? ` ${levelBadge(feature.drift.level)}` : ''
          }</li>`,
      )
      .join('');
    return `<li><a href="#${viewId(index)}">${escapeHtml(view.name)}</a> ${validationBadge(view)}<ol>${features}</ol></li>`;
  });
  return `<nav class="toc" aria-label="Contents">
<h2>Contents</h2>
<ol>
<li><a href="#drift-summary">Drift summary</a></li>
${items.join('\n')}
</ol>
</nav>`;
}

function driftSummary(report: FeatureReport): string {
  const rows = report.views
    .flatMap((view, viewIndex) =>
      view.features.map((feature, featureIndex) => ({ view, feature, viewIndex, featureIndex })),
    )
    .filter(({ feature }) => feature.drift)
    .sort((a, b) => (b.feature.drift?.psi ?? -1) - (a.feature.drift?.psi ?? -1));
  const table =
    rows.length === 0
      ? '<p class="muted">No feature is in both the training set and the online values, so there is no drift to show.</p>'
      : `<table>
<thead><tr><th>Feature</th><th>Compared as</th><th class="num">PSI</th><th>Level</th><th>Reading</th></tr></thead>
<tbody>
${rows
  .map(
    ({ view, feature, viewIndex, featureIndex }) =>
      `<tr><td><a href="#${featureId(viewIndex, featureIndex)}">${escapeHtml(view.name)}:${escapeHtml(feature.name)}</a></td><td>${escapeHtml(feature.drift?.method ?? '')}</td><td class="num">${formatPsi(feature.drift?.psi ?? null)}</td><td>${levelBadge(feature.drift?.level ?? 'no_data')}</td><td>${escapeHtml(feature.drift?.interpretation ?? '')}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`;
  return `<section id="drift-summary" class="summary">
<h2>Drift summary</h2>
${table}
</section>`;
}

function viewSection(view: ViewReport, index: number, canvasOf: ReadonlyMap<string, string>): string {
  const tags = Object.entries(view.tags)
    .map(([key, value]) => `<code>${escapeHtml(key)}=${escapeHtml(value)}</code>`)
    .join(' ');
  const facts: [string, string][] = [
    ['Kind', view.kind === 'feature_view' ? 'feature view' : 'on-demand feature view'],
    ['Owner', view.owner ? escapeHtml(view.owner) : '<span class="muted">none</span>'],
    [
      'Version',
      view.version ? `<code>${escapeHtml(view.version)}</code>` : '<span class="muted">unknown</span>',
    ],
    ...(view.entities.length > 0
      ? [
          [
            'Entities',
            `${view.entities.map(escapeHtml).join(', ')} (keys ${view.joinKeys.map((key) => `<code>${escapeHtml(key)}</code>`).join(', ')})`,
          ] as [string, string],
        ]
      : []),
    ...(view.source ? [['Source', escapeHtml(view.source)] as [string, string]] : []),
    ...(view.kind === 'feature_view'
      ? [
          ['TTL', view.ttl ? escapeHtml(view.ttl) : 'none'] as [string, string],
          [
            'Stored',
            [view.online ? 'online' : '', view.offline ? 'offline' : ''].filter(Boolean).join(' and ') ||
              'nowhere',
          ] as [string, string],
        ]
      : []),
    ...(tags ? [['Tags', tags] as [string, string]] : []),
    ['Freshness', freshnessText(view)],
    ...(view.partitions ? [['Offline partitions', partitionsText(view)] as [string, string]] : []),
  ];
  const notes =
    view.notes.length > 0
      ? `<ul class="notes">${view.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`
      : '';
  return `<section id="${viewId(index)}" class="view">
<h2>${escapeHtml(view.name)} ${validationBadge(view)}</h2>
${view.description ? `<p class="description">${escapeHtml(view.description)}</p>` : ''}
<dl class="facts">${facts.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>
${notes}
${validationTable(view)}
<h3>Features</h3>
${view.features.map((feature, featureIndex) => featureArticle(feature, index, featureIndex, canvasOf)).join('\n')}
</section>`;
}

function validationTable(view: ViewReport): string {
  if (view.kind !== 'feature_view') return '';
  const validation = view.validation;
  if (!validation) {
    return '<h3>Validation</h3><p class="muted">No validation result: no partition of this version has been computed (or read).</p>';
  }
  const published =
    validation.published === false ? ' It was <strong>not published</strong> (strict policy).' : '';
  const history = `${validation.partitionsChecked} partitions checked, ${validation.partitionsFailed} failed${
    validation.failedDays.length > 0 ? ` (${validation.failedDays.map(escapeHtml).join(', ')})` : ''
  }.`;
  const rows = view.features
    .filter((feature) => feature.validation)
    .map((feature) => {
      const result = feature.validation;
      if (!result) return '';
      const checks = result.checks
        .map(
          (check) =>
            `<li class="${check.passed ? 'pass' : 'fail'}">${check.passed ? '&#10003;' : '&#10007;'} <code>${escapeHtml(check.check)}</code> ${escapeHtml(check.detail)}</li>`,
        )
        .join('');
      return `<tr><td>${escapeHtml(feature.name)}</td><td>${resultBadge(result.passed)}</td><td class="num">${percent(result.nullRate)}</td><td><ul class="checks">${checks}</ul></td></tr>`;
    });
  return `<h3>Validation</h3>
<p>Newest result: day <strong>${escapeHtml(validation.dt)}</strong>, ${validation.rows} rows, policy ${escapeHtml(validation.policy)}, ${resultBadge(validation.passed)}, validated ${escapeHtml(validation.validatedAt)}.${published} ${history}</p>
<table class="validation">
<thead><tr><th>Feature</th><th>Result</th><th class="num">Null rate that day</th><th>Checks</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

function featureArticle(
  feature: FeatureEntry,
  viewIndex: number,
  featureIndex: number,
  canvasOf: ReadonlyMap<string, string>,
): string {
  const histogramCanvas = canvasOf.get(`${viewIndex}/${featureIndex}/histogram`);
  const driftCanvas = canvasOf.get(`${viewIndex}/${featureIndex}/drift`);
  const histogram = feature.histogram;
  const drift = feature.drift;
  const facts: [string, string][] = [
    ['Type', feature.dtype ? `<code>${escapeHtml(feature.dtype)}</code>` : 'unknown'],
    [
      'Null rate',
      feature.nullRate === null ? '<span class="muted">no data</span>' : percent(feature.nullRate),
    ],
    ...(histogram
      ? [
          [
            'Values from',
            `${histogram.source === 'offline' ? 'offline partitions' : 'training set'}, ${histogram.rows} rows${
              histogram.infinities > 0 ? `, ${histogram.infinities} infinite` : ''
            }`,
          ] as [string, string],
        ]
      : []),
    [
      'Drift',
      drift
        ? `PSI ${formatPsi(drift.psi)} ${levelBadge(drift.level)} <span class="muted">(${drift.expectedCount} training, ${drift.actualCount} online values${statusesText(drift.onlineStatuses)})</span>`
        : '<span class="muted">not compared (the feature is missing from the training set or the online values)</span>',
    ],
  ];
  const figures = [
    histogramCanvas && histogram
      ? figure(
          histogramCanvas,
          `Histogram of ${feature.name}${histogram.measure === 'length' ? ' (list length)' : ''}: ${histogram.bins.length} bins over ${histogram.rows - histogram.nulls} values`,
          `Distribution${histogram.measure === 'length' ? ' of the list length' : ''} (${histogram.source === 'offline' ? 'offline partitions' : 'training set'})`,
        )
      : '',
    driftCanvas && drift
      ? figure(
          driftCanvas,
          `Drift of ${feature.name}: shares of training and online values per bin; ${drift.interpretation}`,
          escapeHtml(drift.interpretation),
        )
      : '',
  ].filter(Boolean);
  const notes =
    feature.notes.length > 0 ? `<p class="muted">${feature.notes.map(escapeHtml).join(' ')}</p>` : '';
  return `<article id="${featureId(viewIndex, featureIndex)}" class="feature">
<h4>${escapeHtml(feature.name)}${drift ? ` ${levelBadge(drift.level)}` : ''}</h4>
${feature.computation ? `<p class="computation"><code>${escapeHtml(feature.computation)}</code></p>` : ''}
<dl class="facts">${facts.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>
${notes}
${figures.length > 0 ? `<div class="charts">${figures.join('\n')}</div>` : '<p class="muted">No values to chart.</p>'}
</article>`;
}

function figure(canvas: string, label: string, caption: string): string {
  return `<figure><div class="chart-box"><canvas id="${canvas}" role="img" aria-label="${escapeHtml(label)}">${escapeHtml(label)}</canvas></div><figcaption>${caption}</figcaption></figure>`;
}

function freshnessText(view: ViewReport): string {
  const freshness = view.freshness;
  if (!freshness) {
    return view.kind === 'feature_view'
      ? '<span class="muted">unknown (never materialized, or not measured)</span>'
      : '<span class="muted">computed at request time</span>';
  }
  const what = freshness.basis === 'online' ? 'materialized online through' : 'offline partitions through';
  return `${what} ${escapeHtml(freshness.through)}, <strong>${escapeHtml(formatAge(freshness.seconds))}</strong> old`;
}

function partitionsText(view: ViewReport): string {
  const partitions = view.partitions;
  if (!partitions || partitions.count === 0) return '<span class="muted">none published</span>';
  return `${partitions.count} days, ${escapeHtml(partitions.firstDt ?? '')} to ${escapeHtml(partitions.lastDt ?? '')}, ${partitions.rows} rows`;
}

function statusesText(statuses: Readonly<Record<string, number>>): string {
  const entries = Object.entries(statuses).filter(([status]) => status !== 'PRESENT');
  return entries.length === 0
    ? ''
    : `; ${entries.map(([status, count]) => `${count} ${escapeHtml(status)}`).join(', ')}`;
}

function validationBadge(view: ViewReport): string {
  if (!view.validation) return '';
  return view.validation.passed
    ? '<span class="badge pass">validation passed</span>'
    : '<span class="badge fail">validation failed</span>';
}

function resultBadge(passed: boolean): string {
  return passed ? '<span class="badge pass">passed</span>' : '<span class="badge fail">failed</span>';
}

function levelBadge(level: string): string {
  const text = level === 'no_data' ? 'no data' : level;
  return `<span class="badge ${escapeHtml(level)}">${escapeHtml(text)}</span>`;
}

function viewId(index: number): string {
  return `view-${index}`;
}

function featureId(viewIndex: number, featureIndex: number): string {
  return `feature-${viewIndex}-${featureIndex}`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.001 ? 3 : 1)}%`;
}

function formatPsi(psi: number | null): string {
  if (psi === null) return '-';
  return psi === 0 || psi >= 0.001 ? psi.toFixed(3) : formatNumber(psi);
}

/** `45 s`, `12 min`, `3.2 h`, `4.1 days`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * JSON that cannot end its `<script>` element or open a comment there: `<`, `>` and `&` are written as
 * `\u003c`, `\u003e`, `\u0026` (the same string to JSON.parse), and the line separators JavaScript once
 * refused inside strings as `\u2028`, `\u2029`.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/**
 * Library code made safe to inline: no `</script` (which would end the element) and no `<!--` (which
 * changes how the HTML parser reads script content). Both become escapes meaning the same inside strings
 * and regular expressions, the only places they occur in a bundle (the installed one holds neither).
 */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replaceAll('<!--', '<\\!--');
}

/** The bundle's `//# sourceMappingURL=` comment would make dev tools look for a file that is not there. */
function stripSourceMap(code: string): string {
  return code.replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, '\n');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

const STYLE = `
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #2f6db5;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff8c5; --bad: #cf222e; --bad-bg: #ffebe9; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 1.5rem 2rem 3rem; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.8rem; margin: 0 0 .3rem; }
h2 { font-size: 1.4rem; margin: 2.2rem 0 .6rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
h4 { font-size: 1.02rem; margin: 0 0 .3rem; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: .88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--panel);
  padding: .05em .35em; border-radius: 4px; }
.facts { color: var(--muted); }
.legend { font-size: .92rem; color: var(--muted); }
.muted { color: var(--muted); }
.description { font-size: 1.02rem; max-width: 75ch; }
.toc { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1.2rem; margin: 1.2rem 0; }
.toc h2 { border: 0; margin: .2rem 0 .4rem; font-size: 1.1rem; }
.toc ol { margin: .2rem 0; padding-left: 1.3rem; }
.toc ol ol { columns: 3 16rem; font-size: .9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .6rem 0; color: var(--fg); }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.checks, ul.notes { margin: 0; padding-left: 1.1rem; }
ul.checks { list-style: none; padding: 0; }
li.pass { color: var(--fg); }
li.fail { color: var(--bad); }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; line-height: 1.5; padding: 0 .5em;
  border-radius: 999px; vertical-align: middle; border: 1px solid transparent; }
.badge.stable, .badge.pass { color: var(--ok); background: var(--ok-bg); border-color: #aceebb; }
.badge.moderate { color: var(--warn); background: var(--warn-bg); border-color: #eed888; }
.badge.significant, .badge.fail { color: var(--bad); background: var(--bad-bg); border-color: #ffcecb; }
.badge.no_data { color: var(--muted); background: var(--panel); border-color: var(--line); }
article.feature { border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1.1rem; margin: 1rem 0; }
.computation { margin: 0 0 .4rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem; }
figure { margin: 0; }
.chart-box { position: relative; height: 260px; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted); }
@media print { .toc { break-after: page; } article.feature { break-inside: avoid; } }
`;

/**
 * Draws every chart from the embedded data. Plain ES2017 kept as text, so no build step (or coverage
 * instrumentation) can change what the browser runs; its hash is in the page's CSP.
 */
const DRAW_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById(${JSON.stringify(REPORT_DATA_ID)}).textContent);
  var report = data.report;
  var BAR = 'rgba(47, 109, 181, 0.75)';
  var EXPECTED = 'rgba(110, 119, 129, 0.65)';
  var ACTUAL = { stable: 'rgba(26, 127, 55, 0.75)', moderate: 'rgba(191, 135, 0, 0.8)', significant: 'rgba(207, 34, 46, 0.75)', no_data: 'rgba(110, 119, 129, 0.4)' };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#1f2328';
  function pct(share) { return (share * 100).toFixed(1) + '%'; }
  function histogramConfig(feature) {
    var h = feature.histogram;
    var numeric = h.kind === 'numeric';
    return {
      type: 'bar',
      data: {
        labels: h.bins.map(function (bin) { return bin.label; }),
        datasets: [{
          label: 'rows',
          data: h.bins.map(function (bin) { return bin.count; }),
          backgroundColor: BAR,
          borderColor: '#ffffff',
          borderWidth: numeric ? 1 : 0,
          barPercentage: numeric ? 1 : 0.8,
          categoryPercentage: numeric ? 1 : 0.8
        }]
      },
      options: {
        plugins: {
          legend: { display: false },
          title: { display: true, text: feature.name + (h.measure === 'length' ? ' (length)' : '') + ': ' + (h.rows - h.nulls) + ' values, ' + h.nulls + ' null' },
          tooltip: { callbacks: { label: function (item) { return item.raw + ' rows (' + pct(item.raw / Math.max(1, h.rows)) + ')'; } } }
        },
        scales: {
          x: { ticks: { maxRotation: 60, autoSkip: true }, grid: { display: false } },
          y: { beginAtZero: true, title: { display: true, text: 'rows' } }
        }
      }
    };
  }
  function driftConfig(feature) {
    var d = feature.drift;
    var psi = d.psi === null ? '-' : d.psi.toFixed(3);
    return {
      type: 'bar',
      data: {
        labels: d.bins.map(function (bin) { return bin.label; }),
        datasets: [
          { label: 'training (expected)', data: d.bins.map(function (bin) { return bin.expectedShare * 100; }), backgroundColor: EXPECTED, counts: d.bins.map(function (bin) { return bin.expected; }) },
          { label: 'online (actual)', data: d.bins.map(function (bin) { return bin.actualShare * 100; }), backgroundColor: ACTUAL[d.level] || ACTUAL.no_data, counts: d.bins.map(function (bin) { return bin.actual; }) }
        ]
      },
      options: {
        plugins: {
          title: { display: true, text: 'PSI ' + psi + ' (' + d.level.replace('_', ' ') + ')' },
          tooltip: { callbacks: { label: function (item) { return item.dataset.label + ': ' + item.raw.toFixed(1) + '% (' + item.dataset.counts[item.dataIndex] + ')'; } } }
        },
        scales: {
          x: { ticks: { maxRotation: 60, autoSkip: true }, grid: { display: false } },
          y: { beginAtZero: true, title: { display: true, text: 'share of values (%)' } }
        }
      }
    };
  }
  var drawn = 0;
  data.charts.forEach(function (spec) {
    var canvas = document.getElementById(spec.canvas);
    var feature = report.views[spec.view].features[spec.feature];
    if (!canvas || !feature) return;
    new Chart(canvas, spec.kind === 'histogram' ? histogramConfig(feature) : driftConfig(feature));
    drawn += 1;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;
