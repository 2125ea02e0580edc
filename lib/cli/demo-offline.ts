import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { loadFeatureRepo } from '../repo/load-feature-repo.js';
import { type ComputeFeaturesResult, computeFeatures } from '../services/compute-features.js';
import { getHistoricalFeatures, type HistoricalFeaturesResult } from '../services/get-historical-features.js';
import type { OfflinePlatform } from './offline-platform.js';
import { formatCount, ProgressLine } from './progress.js';
import { formatCell, textTable } from './text-table.js';

type Repo = Awaited<ReturnType<typeof loadFeatureRepo>>;
export type Stage = <T>(title: string, work: () => Promise<T>) => Promise<T>;

export interface DemoOutput {
  readonly print: (text: string) => void;
  /** Where progress lines go (stderr). */
  readonly progress: (text: string) => void;
}

const threeDecimals = (n: number) => n.toFixed(3);

/**
 * Computes every view over the whole history into day partitions (each validated and published), with a
 * progress line, then prints per view the partitions that passed and the newest day's summary table.
 */
export async function computeEveryView(
  repo: Repo,
  platform: OfflinePlatform,
  versions: ReadonlyMap<string, string>,
  range: { readonly start: Date; readonly end: Date },
  stage: Stage,
  output: DemoOutput,
): Promise<ComputeFeaturesResult[]> {
  const results: ComputeFeaturesResult[] = [];
  for (const view of repo.validated.repo.featureViews) {
    const features = repo.validated.features.get(view.name) ?? [];
    const progress = new ProgressLine(output.progress);
    const result = await stage(`compute ${view.name} into the offline store`, async () => {
      await platform.checkSource(view);
      return computeFeatures({
        engine: platform.engine,
        store: platform.store,
        computation: { view, features, sourceRelation: platform.sourceRelation(view) },
        version: versions.get(view.name) ?? '',
        start: range.start,
        end: range.end,
        onProgress: (p) =>
          progress.update(
            `${view.name}: ${p.stage} ${bar(p.partitionsDone, p.partitionsTotal)} ${p.partitionsDone}/${p.partitionsTotal} days, ${formatCount(p.rows)} rows`,
          ),
      });
    });
    progress.done();
    results.push(result);
    const failed = result.partitions.filter((partition) => !partition.validation.passed).length;
    output.print(
      `${view.name}: ${formatCount(result.rows)} feature rows in ${result.partitions.length} day partitions; validation: ${result.partitions.length - failed} passed, ${failed} failed.`,
    );
  }
  return results;
}

/** The validation summary of the newest day of a view: null rate and statistics per numeric feature. */
export function validationTable(result: ComputeFeaturesResult): string {
  const newest = result.partitions[result.partitions.length - 1];
  if (!newest) return `${result.view}: no partitions`;
  return `Validation of ${result.view}, ${newest.dt} (${newest.validation.passed ? 'passed' : 'FAILED'}):\n${textTable(
    ['FEATURE', 'ROWS', 'NULL RATE', 'MEAN', 'STDDEV', 'MIN', 'MAX', 'CHECKS'],
    newest.validation.features
      .filter((feature) => feature.summary.mean !== null || feature.nullRate === 1)
      .map((feature) => [
        feature.feature,
        String(newest.rows),
        feature.nullRate.toFixed(3),
        formatCell(feature.summary.mean, threeDecimals),
        formatCell(feature.summary.stddev, threeDecimals),
        formatCell(feature.summary.min, threeDecimals),
        formatCell(feature.summary.max, threeDecimals),
        feature.passed ? 'passed' : 'FAILED',
      ]),
  )}`;
}

/**
 * A labels file as a model team would have: one row per past transaction to score (user, merchant,
 * category, amount, when, and whether it was fraud), spread over the last 60 days of the history, with a
 * deterministic label. Written as CSV; returns its path.
 */
export async function writeLabels(dir: string, end: Date, users: number, rows = 2_000): Promise<string> {
  const path = join(dir, 'labels.csv');
  const lines = ['user_id,merchant_id,category,amount,event_timestamp,label'];
  const categories = ['food', 'transport', 'entertainment', 'shopping'];
  for (let index = 0; index < rows; index++) {
    const at = new Date(end.getTime() - ((index * 2_591_597) % (60 * 86_400_000)));
    const amount = ((index * 7_919) % 40_000) / 100;
    lines.push(
      `${1 + ((index * 31) % users)},${1 + (index % 50)},${categories[index % 4]},${amount},${at.toISOString()},${amount > 300 && index % 3 === 0 ? 1 : 0}`,
    );
  }
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** The point-in-time training set of `fraud_model_v1` for the labels file; prints its first rows. */
export async function trainingSet(
  repo: Repo,
  platform: OfflinePlatform,
  labels: string,
  stage: Stage,
  output: DemoOutput,
): Promise<HistoricalFeaturesResult> {
  const training = await stage('point-in-time training set for fraud_model_v1 from labels.csv', async () => {
    if (!platform.duckdb) throw new Error('the demo runs on the local engine');
    return getHistoricalFeatures({
      engine: platform.duckdb,
      repo: repo.validated,
      sourceRelation: (view) => platform.sourceRelation(view),
      spine: labels,
      service: 'fraud_model_v1',
      // The service takes features of one name from several views: full names keep them apart.
      fullFeatureNames: true,
      out: join(repo.dir, 'training_set.parquet'),
      previewRows: 5,
    });
  });
  const shown = [
    'user_id',
    'event_timestamp',
    'label',
    'user_transaction_stats__amount_mean_7d',
    'user_transaction_stats__amount_count_30d',
    'user_transaction_stats__last_3_amounts',
    'merchant_transaction_stats__amount_mean_7d',
    'transaction_amount_ratios__amount_to_30d_mean_ratio',
  ];
  output.print(
    textTable(
      shown.map((column) =>
        column
          .replace(/^user_transaction_stats__|^transaction_amount_ratios__/, '')
          .replace('merchant_transaction_stats__', 'merchant:'),
      ),
      training.preview.map((row) => shown.map((column) => formatCell(row[column], threeDecimals))),
    ),
  );
  output.print(
    `${formatCount(training.rows)} rows x ${training.columns.length} columns written to ${training.out}`,
  );
  return training;
}

/** `[#####.....]` for a share done. */
export function bar(done: number, total: number, width = 20): string {
  const filled = total <= 0 ? width : Math.round((Math.min(done, total) / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
