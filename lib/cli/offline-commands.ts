import { type Command, InvalidArgumentError } from 'commander';
import { closestName } from '../definitions/closest-name.js';
import type { FeatureRepoConfig } from '../definitions/config.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import { FstoreError } from '../errors.js';
import { toRegistryObjects } from '../registry/registry-objects.js';
import { repoFromRegistry } from '../registry/repo-from-registry.js';
import { type LoadedFeatureRepo, loadFeatureRepo, loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import { type CompactionResult, compactRaw } from '../services/compact-raw.js';
import { computeFeatures } from '../services/compute-features.js';
import { getHistoricalFeatures } from '../services/get-historical-features.js';
import { validatePublished } from '../services/validate-published.js';
import { batchSourceOf } from '../stores/duckdb-source.js';
import { withOfflinePlatform } from './offline-platform.js';
import { withRegistry } from './open-registry.js';
import { instant } from './option-parsers.js';
import { formatCount, ProgressLine } from './progress.js';
import { formatCell, textTable } from './text-table.js';

/** How offline commands print: results to stdout, progress to stderr. */
export interface OfflineCommandOutput {
  print(text: string): void;
  printJson(value: unknown): void;
  progress(text: string): void;
  repoDir(): string;
}

function parseDay(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(new Date(`${value}T00:00:00Z`).getTime())) {
    throw new InvalidArgumentError('expected a day written 2024-01-31');
  }
  return value;
}

interface AppliedView {
  readonly view: FeatureViewDefinition;
  readonly features: readonly ResolvedFeature[];
  readonly version: string;
}

/**
 * The view as defined in the repo, which must be what the registry has applied: data is written under
 * the applied version, so computing an unapplied edit would file new values under an old version.
 */
async function appliedView(repo: LoadedFeatureRepo, name: string): Promise<AppliedView> {
  const view = repo.validated.repo.featureViews.find((candidate) => candidate.name === name);
  if (!view) {
    const names = repo.validated.repo.featureViews.map((candidate) => candidate.name);
    const suggestion = closestName(name, names);
    throw new FstoreError(
      `there is no feature view "${name}"${suggestion ? `; did you mean "${suggestion}"?` : `; the views are ${names.join(', ')}`}`,
    );
  }
  const applied = await withRegistry(
    repo.config,
    repo.dir,
    async (registry) => (await registry.current())?.objects,
  );
  const appliedObject = applied?.find((object) => object.kind === 'feature_view' && object.name === name);
  if (!appliedObject)
    throw new FstoreError(`feature view "${name}" is not applied yet; run fstore apply first`);
  const current = toRegistryObjects(repo.validated).find((o) => o.kind === 'feature_view' && o.name === name);
  if (current && current.version !== appliedObject.version) {
    throw new FstoreError(
      `feature view "${name}" changed since the last apply (applied version ${appliedObject.version}, definitions now ${current.version}); run fstore apply first`,
    );
  }
  return { view, features: repo.validated.features.get(name) ?? [], version: appliedObject.version };
}

/**
 * The batch sources of the applied definitions (a Kinesis source's events land under its batch source),
 * by name; only the one named when `name` is given.
 */
async function appliedBatchSources(
  output: OfflineCommandOutput,
  name: string | undefined,
): Promise<{ config: FeatureRepoConfig; sources: BatchSourceDefinition[] }> {
  const dir = output.repoDir();
  const config = await loadFeatureRepoConfig(dir);
  const revision = await withRegistry(config, dir, (registry) => registry.current());
  if (!revision) throw new FstoreError('nothing is applied yet; run fstore apply first');
  const byName = new Map<string, BatchSourceDefinition>();
  for (const source of repoFromRegistry(revision.objects).validated.repo.sources) {
    const batch = batchSourceOf(source);
    byName.set(batch.name, batch);
  }
  const all = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (name === undefined) return { config, sources: all };
  const named = byName.get(name);
  if (!named) {
    const names = all.map((source) => source.name);
    const suggestion = closestName(name, names);
    throw new FstoreError(
      `there is no batch source "${name}"${suggestion ? `; did you mean "${suggestion}"?` : `; the batch sources are ${names.join(', ')}`}`,
    );
  }
  return { config, sources: [named] };
}

/** Registers `compute`, `get-historical`, `validate` and `compact`. */
export function registerOfflineCommands(program: Command, output: OfflineCommandOutput): void {
  program
    .command('compute')
    .description('compute a feature view over a time range into day partitions of the offline store')
    .requiredOption('--view <name>', 'feature view to compute')
    .requiredOption('--start <time>', 'first instant included (2024-01-01 or an ISO time)', instant)
    .requiredOption('--end <time>', 'first instant excluded', instant)
    .option('--json', 'print the result as JSON')
    .action(async (options: { view: string; start: Date; end: Date; json?: boolean }) => {
      const repo = await loadFeatureRepo(output.repoDir());
      const { view, features, version } = await appliedView(repo, options.view);
      await withOfflinePlatform(repo.config, repo.dir, async (platform) => {
        const progress = new ProgressLine(output.progress);
        const started = performance.now();
        await platform.checkSource(view);
        const result = await computeFeatures({
          engine: platform.engine,
          store: platform.store,
          computation: { view, features, sourceRelation: platform.sourceRelation(view) },
          version,
          start: options.start,
          end: options.end,
          onProgress: (p) => {
            const seconds = (performance.now() - started) / 1000;
            const stage =
              p.stage === 'compute'
                ? `computing: ${formatCount(p.rows)} rows`
                : `${p.stage === 'validate' ? 'validating' : 'publishing'}: ${p.partitionsDone}/${p.partitionsTotal} partitions`;
            progress.update(
              `${view.name} ${stage} (${formatCount(p.rows / Math.max(seconds, 0.001))} rows/s)`,
            );
          },
        });
        progress.done();
        const seconds = (performance.now() - started) / 1000;
        const refused = result.partitions.filter((p) => !p.published);
        const failed = result.partitions.filter((p) => !p.validation.passed);
        if (options.json) output.printJson({ ...result, seconds });
        else {
          for (const partition of failed) {
            const checks = partition.validation.features
              .flatMap((f) =>
                f.checks.filter((c) => !c.passed).map((c) => `${f.feature} ${c.check}: ${c.detail}`),
              )
              .join('; ');
            output.print(`${partition.published ? 'warning' : 'refused'} ${partition.dt}: ${checks}`);
          }
          output.print(
            `computed ${view.name} version ${version}: ${formatCount(result.rows)} rows in ${result.partitions.length} partitions (${result.partitions.length - refused.length} published, ${refused.length} refused by strict validation) in ${seconds.toFixed(1)} s, ${formatCount(result.rows / Math.max(seconds, 0.001))} rows/s`,
          );
        }
        if (refused.length > 0) process.exitCode = 1;
      });
    });

  program
    .command('get-historical')
    .description('build a point-in-time-correct training set for a spine of entity rows and times')
    .requiredOption('--spine <file>', 'CSV or Parquet with join keys, a timestamp and any other columns')
    .option('--features <list>', 'comma-separated view:feature references (view:* for all of a view)')
    .option('--service <name>', 'a feature service instead of --features')
    .requiredOption('--out <file>', 'Parquet file to write')
    .option('--full-feature-names', 'name features view__feature')
    .option(
      '--timestamp-column <name>',
      "the spine column holding each row's time (default: event_timestamp or the only timestamp column)",
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        spine: string;
        features?: string;
        service?: string;
        out: string;
        fullFeatureNames?: boolean;
        timestampColumn?: string;
        json?: boolean;
      }) => {
        if ((options.features === undefined) === (options.service === undefined)) {
          throw new FstoreError('give --features or --service (one of them)');
        }
        const repo = await loadFeatureRepo(output.repoDir());
        await withOfflinePlatform(repo.config, repo.dir, async (platform) => {
          const started = performance.now();
          if (!platform.duckdb) {
            throw new FstoreError(
              'get-historical runs on the local engine; with provider aws, run it with provider local against a copy of the sources',
            );
          }
          // Views often share a source: check each source once.
          const checked = new Set<string>();
          for (const view of repo.validated.repo.featureViews) {
            const source = batchSourceOf(view.source);
            if (checked.has(source.name)) continue;
            checked.add(source.name);
            await platform.checkSource(view);
          }
          const result = await getHistoricalFeatures({
            engine: platform.duckdb,
            repo: repo.validated,
            sourceRelation: (view) => platform.sourceRelation(view),
            spine: options.spine,
            ...(options.features !== undefined
              ? { features: options.features.split(',').map((reference) => reference.trim()) }
              : {}),
            ...(options.service !== undefined ? { service: options.service } : {}),
            fullFeatureNames: options.fullFeatureNames ?? false,
            ...(options.timestampColumn !== undefined ? { timestampColumn: options.timestampColumn } : {}),
            out: options.out,
          });
          const seconds = (performance.now() - started) / 1000;
          if (options.json) output.printJson({ ...result, seconds });
          else {
            output.print(
              textTable(
                result.columns,
                result.preview.map((row) => result.columns.map((c) => formatCell(row[c]))),
              ),
            );
            output.print(
              `wrote ${formatCount(result.rows)} rows x ${result.columns.length} columns to ${result.out} in ${seconds.toFixed(1)} s`,
            );
          }
        });
      },
    );

  program
    .command('validate')
    .description("run a view's data checks on its published partitions and store the results beside them")
    .requiredOption('--view <name>', 'feature view to validate')
    .option('--start <day>', 'first day (2024-01-31)', parseDay)
    .option('--end <day>', 'last day, inclusive', parseDay)
    .option('--json', 'print the results as JSON')
    .action(async (options: { view: string; start?: string; end?: string; json?: boolean }) => {
      const repo = await loadFeatureRepo(output.repoDir());
      const { view, features, version } = await appliedView(repo, options.view);
      await withOfflinePlatform(repo.config, repo.dir, async (platform) => {
        const progress = new ProgressLine(output.progress);
        const partitionRelation = platform.partitionRelation;
        const results = await validatePublished({
          engine: platform.engine,
          store: platform.store,
          view,
          features,
          version,
          ...(options.start ? { fromDt: options.start } : {}),
          ...(options.end ? { toDt: options.end } : {}),
          ...(partitionRelation
            ? { partitionRelation: (dt: string) => partitionRelation(view.name, version, dt) }
            : {}),
          onProgress: (done, total) =>
            progress.update(`validating ${view.name}: ${done}/${total} partitions`),
        });
        progress.done();
        const failed = results.filter((r) => !r.passed);
        if (options.json) output.printJson(results);
        else {
          output.print(summaryTable(results));
          output.print(
            `validated ${results.length} partitions of ${view.name} version ${version}: ${results.length - failed.length} passed, ${failed.length} failed (policy ${view.validation.policy})`,
          );
        }
        if (failed.length > 0 && view.validation.policy === 'strict') process.exitCode = 1;
      });
    });

  program
    .command('compact')
    .description(
      "merge the small files streams and pushes land in each day of a source's raw area, one row per record",
    )
    .option('--source <name>', 'only this batch source (default: every batch source applied)')
    .option('--dt <day>', 'only this day partition (2024-01-31)', parseDay)
    .option('--json', 'print the results as JSON')
    .action(async (options: { source?: string; dt?: string; json?: boolean }) => {
      const { config, sources } = await appliedBatchSources(output, options.source);
      const started = performance.now();
      const partitions: (CompactionResult & { source: string })[] = [];
      await withOfflinePlatform(config, output.repoDir(), async (platform) => {
        const progress = new ProgressLine(output.progress);
        for (const source of sources) {
          await compactRaw({
            store: platform.store,
            source,
            ...(options.dt ? { dts: [options.dt] } : {}),
            onPartition: (result) => {
              partitions.push({ source: source.name, ...result });
              progress.update(`compacting: ${partitions.length} partitions (${source.name} dt=${result.dt})`);
            },
          });
        }
        progress.done();
      });
      const seconds = (performance.now() - started) / 1000;
      if (options.json) {
        output.printJson({ partitions, seconds });
        return;
      }
      const count = (n: number, what: string) => `${formatCount(n)} ${what}${n === 1 ? '' : 's'}`;
      for (const p of partitions) {
        const left =
          p.filesLeft > 0 ? `; ${count(p.filesLeft, 'file')} without record ids left as they are` : '';
        output.print(
          p.file
            ? `${p.source} dt=${p.dt}: ${count(p.filesIn, 'file')}, ${count(p.rowsIn, 'row')} -> 1 file, ${count(p.rowsOut, 'row')} (${p.file})${left}`
            : `${p.source} dt=${p.dt}: nothing to do (${count(p.filesIn, 'file')}, ${count(p.rowsIn, 'row')})${left}`,
        );
      }
      const compacted = partitions.filter((p) => p.file !== undefined);
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      output.print(
        `compacted ${compacted.length} of ${count(partitions.length, 'partition')} of ${count(sources.length, 'source')}: ${count(sum(compacted.map((p) => p.filesIn)), 'file')}, ${count(sum(compacted.map((p) => p.rowsIn)), 'row')} -> ${count(compacted.length, 'file')}, ${count(sum(compacted.map((p) => p.rowsOut)), 'row')} in ${seconds.toFixed(1)} s`,
      );
    });
}

/** Per feature over the partitions validated: worst null rate, mean of means, overall min and max, failures. */
function summaryTable(results: Awaited<ReturnType<typeof validatePublished>>): string {
  const byFeature = new Map<
    string,
    { nullRate: number; means: number[]; min: unknown; max: unknown; failed: number }
  >();
  for (const result of results) {
    for (const feature of result.features) {
      const entry = byFeature.get(feature.feature) ?? {
        nullRate: 0,
        means: [],
        min: null,
        max: null,
        failed: 0,
      };
      entry.nullRate = Math.max(entry.nullRate, feature.nullRate);
      if (feature.summary.mean !== null) entry.means.push(feature.summary.mean);
      if (
        feature.summary.min !== null &&
        (entry.min === null || (feature.summary.min as number) < (entry.min as number))
      ) {
        entry.min = feature.summary.min;
      }
      if (
        feature.summary.max !== null &&
        (entry.max === null || (feature.summary.max as number) > (entry.max as number))
      ) {
        entry.max = feature.summary.max;
      }
      if (!feature.passed) entry.failed++;
      byFeature.set(feature.feature, entry);
    }
  }
  return textTable(
    ['FEATURE', 'MAX NULL RATE', 'MEAN', 'MIN', 'MAX', 'FAILED PARTITIONS'],
    [...byFeature].map(([name, entry]) => [
      name,
      entry.nullRate.toFixed(4),
      entry.means.length > 0 ? formatCell(entry.means.reduce((a, b) => a + b, 0) / entry.means.length) : '-',
      formatCell(entry.min),
      formatCell(entry.max),
      String(entry.failed),
    ]),
  );
}
