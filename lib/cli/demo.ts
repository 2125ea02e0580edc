import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findObjects } from '../registry/discovery.js';
import { loadFeatureRepo } from '../repo/load-feature-repo.js';
import { computeFeatures } from '../services/compute-features.js';
import { getHistoricalFeatures } from '../services/get-historical-features.js';
import { getOnlineFeatures } from '../services/get-online-features.js';
import { materialize } from '../services/materialize.js';
import { streamTour } from './demo-stream.js';
import { formatObjectDescription, formatObjectList } from './format-catalog.js';
import { formatApplyResult, formatPlan } from './format-plan.js';
import { initFeatureRepo } from './init-feature-repo.js';
import { withOfflinePlatform } from './offline-platform.js';
import { withOnlinePlatform } from './online-platform.js';
import { withRegistry } from './open-registry.js';
import { formatCell, textTable } from './text-table.js';

export interface DemoOptions {
  /** @default a new folder under the system temp folder */
  readonly dir?: string;
  readonly print: (text: string) => void;
}

/**
 * The guided tour on the embedded default. It grows with the platform; today it covers what exists:
 * create the example repo, plan, apply, apply again (nothing changes), list and describe, then compute
 * a view into the offline store, show its validation summary and build a point-in-time training set,
 * then materialize every view into the online store and read features for a few users, then stream a
 * burst of events through the local Kinesis and read how the features changed.
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
    await offlineTour(repo, view?.version ?? '', stage, print);
  });
  await onlineTour(repo, stage, print);

  print('\n== summary');
  for (const [title, ms] of timings) print(`  ${title.padEnd(55)} ${ms.toFixed(0).padStart(6)} ms`);
  print(`Demo repo left in ${init.dir}; try: npx fstore --repo ${init.dir} describe fraud_model_v1`);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

type Stage = <T>(title: string, work: () => Promise<T>) => Promise<T>;

/** Compute, validate and a training set, on the local offline store. */
async function offlineTour(
  repo: Awaited<ReturnType<typeof loadFeatureRepo>>,
  version: string,
  stage: Stage,
  print: (text: string) => void,
): Promise<void> {
  const view = repo.validated.repo.featureViews.find(
    (candidate) => candidate.name === 'user_transaction_stats',
  );
  if (!view) return;
  const features = repo.validated.features.get(view.name) ?? [];
  await withOfflinePlatform(repo.config, repo.dir, async (platform) => {
    const computed = await stage('compute user_transaction_stats into the offline store', async () => {
      await platform.checkSource(view);
      return computeFeatures({
        engine: platform.engine,
        store: platform.store,
        computation: { view, features, sourceRelation: platform.sourceRelation(view) },
        version,
        start: new Date('2024-01-01T00:00:00Z'),
        end: new Date('2026-01-01T00:00:00Z'),
      });
    });
    const failed = computed.partitions.filter((partition) => !partition.validation.passed).length;
    print(
      `${computed.rows} feature rows in ${computed.partitions.length} day partitions under ${platform.store.uri(`features/${view.name}/version=${version}/`)}; validation: ${computed.partitions.length - failed} passed, ${failed} failed.`,
    );
    const first = computed.partitions[computed.partitions.length - 1];
    if (first) {
      print(`Validation of ${first.dt}:`);
      print(
        textTable(
          ['FEATURE', 'NULL RATE', 'MEAN', 'STDDEV', 'MIN', 'MAX'],
          first.validation.features
            .filter((feature) => feature.summary.mean !== null)
            .map((feature) => [
              feature.feature,
              feature.nullRate.toFixed(3),
              formatCell(feature.summary.mean, threeDecimals),
              formatCell(feature.summary.stddev, threeDecimals),
              formatCell(feature.summary.min, threeDecimals),
              formatCell(feature.summary.max, threeDecimals),
            ]),
        ),
      );
    }
    const spine = [1, 2, 3, 42, 99].map((userId, index) => ({
      user_id: userId,
      merchant_id: 10 + index,
      category: ['food', 'transport', 'shopping', 'entertainment', 'food'][index] ?? 'food',
      amount: [25, 310, 80, 12.5, 999][index] ?? 1,
      event_timestamp: new Date(Date.UTC(2024, 5, 1 + index, 12)),
      label: index % 2,
    }));
    const training = await stage('point-in-time training set for fraud_model_v1', async () => {
      if (!platform.duckdb) throw new Error('the demo runs on the local engine');
      return getHistoricalFeatures({
        engine: platform.duckdb,
        repo: repo.validated,
        sourceRelation: (v) => platform.sourceRelation(v),
        spine,
        service: 'fraud_model_v1',
        out: join(repo.dir, 'training_set.parquet'),
      });
    });
    const shown = [
      'user_id',
      'event_timestamp',
      'label',
      'amount_mean_7d',
      'amount_count_30d',
      'last_3_amounts',
      'amount_to_30d_mean_ratio',
    ];
    print(
      textTable(
        shown,
        training.preview.map((row) => shown.map((column) => formatCell(row[column], threeDecimals))),
      ),
    );
    print(`${training.rows} rows x ${training.columns.length} columns written to ${training.out}`);
  });
}

/** The generated transactions end on 2025-02-20; the online tour serves values as of just after that. */
const ONLINE_AS_OF = new Date('2025-02-21T00:00:00.000Z');

/** Materialize every view into the online store (local dynalite), then read as the HTTP API does. */
async function onlineTour(
  repo: Awaited<ReturnType<typeof loadFeatureRepo>>,
  stage: Stage,
  print: (text: string) => void,
): Promise<void> {
  await withOnlinePlatform(repo.config, repo.dir, (online) =>
    withOfflinePlatform(repo.config, repo.dir, async (offline) => {
      const catalog = await online.catalog();
      const result = await stage('materialize every view into the online store', () =>
        materialize({
          engine: offline.engine,
          offlineStore: offline.store,
          onlineStore: online.onlineStore,
          catalog,
          sourceRelation: offline.batchPartRelation,
          end: ONLINE_AS_OF,
        }),
      );
      for (const view of result.views) {
        print(
          `${view.view}: ${view.items} entities, ${view.written} written (as of ${ONLINE_AS_OF.toISOString()})`,
        );
      }
      const response = await stage('online features for users 1, 2, 3 and 12345 (unknown)', () =>
        getOnlineFeatures({
          catalog,
          store: online.onlineStore,
          now: () => ONLINE_AS_OF.getTime(),
          request: {
            features: [
              'user_transaction_stats:amount_sum_7d',
              'user_transaction_stats:amount_count_30d',
              'user_transaction_stats:last_3_amounts',
              'user_transaction_stats:days_since_last_transaction',
              'transaction_amount_ratios:amount_to_30d_mean_ratio',
            ],
            entities: { user_id: [1, 2, 3, 12345], amount: [25, 310, 80, 12.5] },
          },
        }),
      );
      const names = response.metadata.feature_names;
      print(
        textTable(
          [...names, 'STATUS'],
          (response.results[0]?.values ?? []).map((_, row) => [
            ...names.map((_, column) => formatCell(response.results[column]?.values[row], threeDecimals)),
            response.results[1]?.statuses[row] ?? '',
          ]),
        ),
      );
      print('Same values over HTTP: fstore serve, then POST /get-online-features (see README).');
      await streamTour(catalog, online.onlineStore, offline.store, stage, print);
    }),
  );
}

/** The demo prints fractions with three decimals, which reads well in narrow tables. */
const threeDecimals = (n: number) => n.toFixed(3);
