import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFeatureReport } from '../services/feature-report.js';
import { viewFreshness } from '../services/freshness.js';
import { getOnlineFeatures } from '../services/get-online-features.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import type { DemoOutput, Stage } from './demo-offline.js';
import type { OfflinePlatform } from './offline-platform.js';
import type { OnlinePlatform } from './online-platform.js';
import { renderReportHtml } from './report-html.js';

/**
 * The demo's report: the current online values of the labels' entities (read as the API serves them),
 * each view's freshness, then `report.html` beside the repo: histograms, null rates, validation,
 * freshness and drift (PSI) between the training set and those online values. Returns its path.
 */
export async function writeReport(
  dir: string,
  labels: string,
  trainingSet: string,
  catalog: ServingCatalog,
  online: OnlinePlatform,
  offline: OfflinePlatform,
  stage: Stage,
  output: DemoOutput,
): Promise<string> {
  const path = join(dir, 'report.html');
  await stage('write report.html: histograms, validation, freshness and drift', async () => {
    const rows = (await readFile(labels, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const now = new Date();
    const response = await getOnlineFeatures({
      catalog,
      store: online.onlineStore,
      now: () => now.getTime(),
      // Every label's entity in one read, past the API's per-request limit (an in-process read).
      limits: { maxEntityRows: rows.length, maxFeatures: 500 },
      request: {
        featureService: 'fraud_model_v1',
        fullFeatureNames: true,
        entities: {
          user_id: rows.map((row) => Number(row[0])),
          merchant_id: rows.map((row) => Number(row[1])),
          category: rows.map((row) => row[2] ?? ''),
          amount: rows.map((row) => Number(row[3])),
        },
      },
    });
    const freshness: Record<string, Awaited<ReturnType<typeof viewFreshness>>> = {};
    for (const view of catalog.views.values()) {
      freshness[view.definition.name] = await viewFreshness({
        view,
        watermarks: online.watermarks,
        offlineStore: offline.store,
        now,
      });
    }
    const report = await buildFeatureReport({
      definitions: catalog,
      offlineStore: offline.store,
      ...(offline.duckdb ? { engine: offline.duckdb } : {}),
      training: trainingSet,
      online: response,
      featureService: 'fraud_model_v1',
      freshness,
      now,
      title: 'fstore demo: the transactions example',
    });
    await writeFile(path, renderReportHtml(report));
    const drifted = report.views
      .flatMap((view) => view.features)
      .filter((feature) => feature.drift?.psi !== null && feature.drift?.psi !== undefined)
      .sort((a, b) => (b.drift?.psi ?? 0) - (a.drift?.psi ?? 0))
      .slice(0, 3);
    output.print(
      `Most drift between the training set and online now: ${drifted
        .map(
          (feature) =>
            `${feature.name} PSI ${(feature.drift?.psi ?? 0).toFixed(3)} (${feature.drift?.level})`,
        )
        .join(', ')}.`,
    );
  });
  output.print(`Report: ${path}`);
  return path;
}
