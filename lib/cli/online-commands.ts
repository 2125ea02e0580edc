import { type Command, InvalidArgumentError } from 'commander';
import { FstoreError } from '../errors.js';
import { loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import { getOnlineFeatures, type OnlineFeaturesResponse } from '../services/get-online-features.js';
import {
  type MaterializeProgress,
  type MaterializeResult,
  materialize,
  materializeIncremental,
} from '../services/materialize.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import type { OfflineCommandOutput } from './offline-commands.js';
import { withOfflinePlatform } from './offline-platform.js';
import { withOnlinePlatform } from './online-platform.js';
import { instant } from './option-parsers.js';
import { formatCount, ProgressLine } from './progress.js';
import { formatCell, textTable } from './text-table.js';

function viewList(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected view names separated by commas');
  return names;
}

/** `user_id=1,2,3`: a column of the request and its values, one per entity row. */
function entityColumn(value: string, previous: [string, string[]][] = []): [string, string[]][] {
  const match = /^([^=]+)=(.*)$/.exec(value);
  if (!match?.[1]) throw new InvalidArgumentError('expected name=value,value,... such as user_id=1,2');
  return [...previous, [match[1].trim(), (match[2] ?? '').split(',')]];
}

/** Registers `materialize`, `materialize-incremental` and `get-online`. */
export function registerOnlineCommands(program: Command, output: OfflineCommandOutput): void {
  program
    .command('materialize')
    .description('load feature views into the online store as of --end, for entities with rows since --start')
    .option('--views <names>', 'comma-separated feature views (default: every online view)', viewList)
    .option('--start <time>', 'only entities with rows at or after this time (default: all)', instant)
    .option('--end <time>', 'the time the values are as of (default: now)', instant)
    .option('--json', 'print the result as JSON')
    .action(async (options: { views?: string[]; start?: Date; end?: Date; json?: boolean }) => {
      const result = await runMaterialize(output, options, false);
      report(output, result, options.json);
    });

  program
    .command('materialize-incremental')
    .description('load feature views into the online store from where the last run stopped up to --end')
    .option('--views <names>', 'comma-separated feature views (default: every online view)', viewList)
    .option('--end <time>', 'the time the values are as of (default: now)', instant)
    .option('--json', 'print the result as JSON')
    .action(async (options: { views?: string[]; end?: Date; json?: boolean }) => {
      const result = await runMaterialize(output, options, true);
      report(output, result, options.json);
    });

  program
    .command('get-online')
    .description('read features from the online store, as the HTTP API serves them')
    .option('--features <list>', 'comma-separated view:feature references (view:* for all of a view)')
    .option('--service <name>', 'a feature service instead of --features')
    .requiredOption(
      '--entity <name=values>',
      'a join key (or on-demand request field) and its values, e.g. user_id=1,2; repeat for more',
      entityColumn,
    )
    .option('--full-feature-names', 'name features view__feature')
    .option('--json', 'print the response as the HTTP API returns it')
    .action(
      async (options: {
        features?: string;
        service?: string;
        entity: [string, string[]][];
        fullFeatureNames?: boolean;
        json?: boolean;
      }) => {
        if ((options.features === undefined) === (options.service === undefined)) {
          throw new FstoreError('give --features or --service (one of them)');
        }
        const dir = output.repoDir();
        const config = await loadFeatureRepoConfig(dir);
        const response = await withOnlinePlatform(config, dir, async (platform) => {
          const catalog = await platform.catalog();
          return getOnlineFeatures({
            catalog,
            store: platform.onlineStore,
            request: {
              ...(options.features !== undefined
                ? { features: options.features.split(',').map((reference) => reference.trim()) }
                : { featureService: options.service as string }),
              entities: typedColumns(catalog, options.entity),
              fullFeatureNames: options.fullFeatureNames ?? false,
            },
          });
        });
        if (options.json) output.printJson(response);
        else output.print(onlineTable(response));
      },
    );
}

async function runMaterialize(
  output: OfflineCommandOutput,
  options: { views?: string[]; start?: Date; end?: Date },
  incremental: boolean,
): Promise<MaterializeResult & { seconds: number }> {
  const dir = output.repoDir();
  const config = await loadFeatureRepoConfig(dir);
  const end = options.end ?? new Date();
  const started = performance.now();
  const progress = new ProgressLine(output.progress);
  const onProgress = (p: MaterializeProgress) => {
    const seconds = (performance.now() - started) / 1000;
    progress.update(
      `${p.view}: ${formatCount(p.items)} entities, ${formatCount(p.written)} written, ${formatCount(p.skipped)} unchanged (${formatCount(p.items / Math.max(seconds, 0.001))} items/s)`,
    );
  };
  const result = await withOnlinePlatform(config, dir, (online) =>
    withOfflinePlatform(config, dir, async (offline) => {
      const catalog = await online.catalog();
      const common = {
        engine: offline.engine,
        offlineStore: offline.store,
        onlineStore: online.onlineStore,
        catalog,
        sourceRelation: offline.batchPartRelation,
        ...(options.views ? { views: options.views } : {}),
        end,
        onProgress,
      };
      // Every view to be materialized, each source checked once, so a missing file is named up front.
      const names =
        options.views ??
        [...catalog.views.values()].filter((v) => v.definition.online).map((v) => v.definition.name);
      const checked = new Set<string>();
      for (const name of names) {
        const definition = catalog.views.get(name)?.definition;
        if (!definition || checked.has(definition.source.name)) continue;
        checked.add(definition.source.name);
        await offline.checkSource(definition);
      }
      return incremental
        ? materializeIncremental({ ...common, watermarks: online.watermarks })
        : materialize({ ...common, ...(options.start ? { start: options.start } : {}) });
    }),
  );
  progress.done();
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

function report(
  output: OfflineCommandOutput,
  result: MaterializeResult & { seconds: number },
  json: boolean | undefined,
): void {
  if (json) {
    output.printJson(result);
  } else {
    for (const view of result.views) {
      output.print(
        view.refused
          ? `refused ${view.view}: ${view.refused}`
          : `materialized ${view.view} version ${view.version}${view.start ? ` (entities with rows since ${view.start.toISOString()})` : ''}: ${formatCount(view.items)} entities, ${formatCount(view.written)} written, ${formatCount(view.skipped)} already as new`,
      );
    }
    const items = result.views.reduce((total, view) => total + view.items, 0);
    output.print(
      `as of ${result.end.toISOString()}: ${formatCount(items)} items in ${result.seconds.toFixed(1)} s (${formatCount(items / Math.max(result.seconds, 0.001))} items/s)`,
    );
  }
  if (result.views.some((view) => view.refused)) process.exitCode = 1;
}

/** Command-line values typed like the columns they fill: int64 keys and numeric request fields as numbers. */
function typedColumns(catalog: ServingCatalog, columns: [string, string[]][]): Record<string, unknown[]> {
  const keyTypes = new Map<string, string>();
  for (const view of catalog.views.values()) for (const [key, type] of view.joinKeys) keyTypes.set(key, type);
  const requestTypes = new Map<string, string>();
  for (const view of catalog.validated.repo.onDemandFeatureViews) {
    for (const [field, type] of Object.entries(view.request)) requestTypes.set(field, type);
  }
  return Object.fromEntries(
    columns.map(([name, values]) => {
      const type = keyTypes.get(name) ?? requestTypes.get(name) ?? 'string';
      const numeric = type === 'int64' || type === 'float64';
      return [
        name,
        values.map((value) => {
          if (!numeric || value.trim() === '' || Number.isNaN(Number(value))) return value;
          // int64 keys beyond 2^53 stay strings, which the service reads exactly.
          return type === 'int64' && !Number.isSafeInteger(Number(value)) ? value : Number(value);
        }),
      ];
    }),
  );
}

/** The column-major response as a table with a row per entity; a value not PRESENT shows its status. */
function onlineTable(response: OnlineFeaturesResponse): string {
  const names = response.metadata.feature_names;
  const rows = response.results[0]?.values.length ?? 0;
  const table = Array.from({ length: rows }, (_, row) =>
    names.map((_, column) => {
      const result = response.results[column];
      const status = result?.statuses[row];
      const value = result?.values[row];
      return status === 'PRESENT' || status === 'NULL_VALUE' ? formatCell(value) : (status ?? '');
    }),
  );
  return textTable(names, table);
}
