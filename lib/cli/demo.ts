import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findObjects } from '../registry/discovery.js';
import { loadFeatureRepo } from '../repo/load-feature-repo.js';
import { formatObjectDescription, formatObjectList } from './format-catalog.js';
import { formatApplyResult, formatPlan } from './format-plan.js';
import { initFeatureRepo } from './init-feature-repo.js';
import { withRegistry } from './open-registry.js';

export interface DemoOptions {
  /** @default a new folder under the system temp folder */
  readonly dir?: string;
  readonly print: (text: string) => void;
}

/**
 * The guided tour on the embedded default. It grows with the platform; today it covers what exists:
 * create the example repo, plan, apply, apply again (nothing changes), list and describe.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { print } = options;
  const timings: [string, number][] = [];
  const stage = async <T>(title: string, work: () => Promise<T>): Promise<T> => {
    print(`\n== ${title}`);
    const started = performance.now();
    const result = await work();
    timings.push([title, performance.now() - started]);
    return result;
  };

  const dir = options.dir ?? join(await mkdtemp(join(tmpdir(), 'fstore-demo-')), 'transactions');
  const init = await stage('init: the transactions example', () => initFeatureRepo(dir));
  print(`Feature repo in ${init.dir} with ${init.rows} generated transactions.`);

  const repo = await stage('load and validate the definitions', () => loadFeatureRepo(init.dir));
  const { featureViews, onDemandFeatureViews, featureServices } = repo.validated.repo;
  print(
    `${count(featureViews.length, 'feature view')}, ${count(onDemandFeatureViews.length, 'on-demand view')} and ${count(featureServices.length, 'feature service')}; all valid.`,
  );

  await withRegistry(repo.config, repo.dir, async (registry) => {
    const plan = await stage('plan', () => registry.plan(repo.validated));
    print(formatPlan(plan));
    const applied = await stage('apply', () => registry.apply(repo.validated));
    print(formatApplyResult(applied));
    const again = await stage('apply again (idempotent)', () => registry.apply(repo.validated));
    print(formatApplyResult(again));
    const current = await stage('list the catalog', async () => (await registry.current())?.objects ?? []);
    print(formatObjectList(findObjects(current, { kind: 'feature_view' })));
    print(`\nSearch by tag model=fraud:\n${formatObjectList(findObjects(current, { tag: 'model=fraud' }))}`);
    const history = await stage('describe user_transaction_stats', () =>
      registry.versionHistory('feature_view', 'user_transaction_stats'),
    );
    const view = current.find((o) => o.kind === 'feature_view' && o.name === 'user_transaction_stats');
    if (view) print(formatObjectDescription(view, current, history));
  });

  print('\n== summary');
  for (const [title, ms] of timings) print(`  ${title.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms`);
  print(`Demo repo left in ${init.dir}; try: npx fstore --repo ${init.dir} describe fraud_model_v1`);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
