import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findObjects } from '../registry/discovery.js';
import { loadFeatureRepo } from '../repo/load-feature-repo.js';
import {
  computeEveryView,
  type DemoOutput,
  trainingSet,
  validationTable,
  writeLabels,
} from './demo-offline.js';
import { writeReport } from './demo-report.js';
import { onlineTour } from './demo-stream.js';
import { formatObjectDescription, formatObjectList } from './format-catalog.js';
import { formatApplyResult, formatPlan } from './format-plan.js';
import { initFeatureRepo } from './init-feature-repo.js';
import { withOfflinePlatform } from './offline-platform.js';
import { withOnlinePlatform } from './online-platform.js';
import { formatCount } from './progress.js';

export interface DemoOptions {
  /** @default a new folder under the system temp folder */
  readonly dir?: string;
  /** Transactions to generate. @default 100_000 */
  readonly rows?: number;
  readonly print: (text: string) => void;
  /** Progress lines (stderr). @default none */
  readonly progress?: (text: string) => void;
}

const DAY_MS = 86_400_000;
/** The generated history spans the year before the demo runs, so features as of now have values. */
const HISTORY_DAYS = 365;
const USERS = 99;

/**
 * The guided tour on the embedded default, end to end: create the example repo with a year of generated
 * transactions up to now, validate, plan and apply it, describe a view, compute every view into the
 * offline store (each day validated), materialize every view online, start the local API and stream,
 * read features over HTTP, stream a burst of events and read them again, build a point-in-time training
 * set from a labels file, write report.html (histograms, validation, freshness, drift), then print the
 * time of each stage. Nothing is left running.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const output: DemoOutput = { print: options.print, progress: options.progress ?? (() => {}) };
  const { print } = output;
  const timings: [string, number][] = [];
  const stage = async <T>(title: string, work: () => Promise<T>): Promise<T> => {
    print(`\n== ${title}`);
    const started = performance.now();
    const result = await work();
    timings.push([title, performance.now() - started]);
    return result;
  };

  const rows = options.rows ?? 100_000;
  const end = new Date();
  const start = new Date(Math.floor(end.getTime() / DAY_MS) * DAY_MS - HISTORY_DAYS * DAY_MS);
  const dir = options.dir ?? join(await mkdtemp(join(tmpdir(), 'fstore-demo-')), 'transactions');
  const init = await stage('init: the transactions example', () =>
    initFeatureRepo(dir, {
      rows,
      users: USERS,
      start,
      intervalMs: Math.floor((end.getTime() - start.getTime()) / rows),
    }),
  );
  print(
    `Feature repo in ${init.dir} with ${formatCount(init.rows)} generated transactions from ${start.toISOString().slice(0, 10)} to now.`,
  );

  const repo = await stage('load and validate the definitions', () => loadFeatureRepo(init.dir));
  const { featureViews, onDemandFeatureViews, featureServices } = repo.validated.repo;
  print(
    `${count(featureViews.length, 'feature view')}, ${count(onDemandFeatureViews.length, 'on-demand view')} and ${count(featureServices.length, 'feature service')}; all valid.`,
  );

  await withOnlinePlatform(repo.config, repo.dir, async (online) => {
    const { registry } = online;
    const plan = await stage('plan', () => registry.plan(repo.validated));
    print(formatPlan(plan));
    const applied = await stage('apply', () => registry.apply(repo.validated));
    print(formatApplyResult(applied));
    const current = (await registry.current())?.objects ?? [];
    print(
      `\nFeature views tagged model=fraud:\n${formatObjectList(findObjects(current, { tag: 'model=fraud' }))}`,
    );
    const history = await registry.versionHistory('feature_view', 'user_transaction_stats');
    const described = current.find((o) => o.kind === 'feature_view' && o.name === 'user_transaction_stats');
    if (described) print(`\n${formatObjectDescription(described, current, history)}`);
    const versions = new Map(
      current.filter((o) => o.kind === 'feature_view').map((o) => [o.name, o.version] as const),
    );
    const catalog = await online.catalog();

    await withOfflinePlatform(repo.config, repo.dir, async (offline) => {
      const computed = await computeEveryView(repo, offline, versions, { start, end }, stage, output);
      await stage('validation summary', async () => {
        for (const result of computed) print(validationTable(result));
      });
      await onlineTour(catalog, online, offline, stage, output);
      const labels = await writeLabels(repo.dir, end, USERS);
      print(`\nLabels to train on: ${labels}`);
      const training = await trainingSet(repo, offline, labels, stage, output);
      await writeReport(repo.dir, labels, training.out, catalog, online, offline, stage, output);
    });
  });

  print('\n== summary');
  let total = 0;
  for (const [title, ms] of timings) {
    total += ms;
    print(`  ${title.padEnd(60)} ${ms.toFixed(0).padStart(7)} ms`);
  }
  print(`  ${'total'.padEnd(60)} ${total.toFixed(0).padStart(7)} ms`);
  print(`Demo repo left in ${init.dir}; try: npx fstore --repo ${init.dir} describe fraud_model_v1`);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
