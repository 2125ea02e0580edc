import { dialectFor } from '../compute/sql-dialect.js';
import { stringLiteral } from '../compute/sql-literals.js';
import { featureSummarySql, readFeatureSummaries } from '../compute/validation-sql.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import type { ResolvedFeature } from '../definitions/resolved-features.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OfflineEngine } from '../stores/offline-engine.js';
import { featurePartitionPrefix, featureVersionPrefix, parsePartitionKey } from '../stores/offline-layout.js';
import {
  listPublishedPartitions,
  readPartitionFiles,
  writeJsonBeside,
} from '../stores/partition-publisher.js';
import { evaluatePartition, type PartitionValidation } from './partition-validation.js';

export interface ValidatePublishedOptions {
  readonly engine: OfflineEngine;
  readonly store: ObjectStore;
  readonly view: FeatureViewDefinition;
  readonly features: readonly ResolvedFeature[];
  readonly version: string;
  /** Only days from this one (`YYYY-MM-DD`, inclusive). @default the first published */
  readonly fromDt?: string;
  /** Only days up to this one (`YYYY-MM-DD`, inclusive). @default the last published */
  readonly toDt?: string;
  /**
   * The relation holding one published day, for engines that cannot read the files directly (Athena reads
   * the view version's Glue table). @default read_parquet of the manifest's files (local stores)
   */
  readonly partitionRelation?: (dt: string) => string;
  readonly onProgress?: (done: number, total: number) => void;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/**
 * Runs a view's checks again on partitions already published (after a rule changed, or on a schedule),
 * and stores each result beside its partition as `_validation.json`. Reads only the files each
 * partition's manifest lists.
 */
export async function validatePublished(options: ValidatePublishedOptions): Promise<PartitionValidation[]> {
  const { engine, store, view, version } = options;
  const dialect = dialectFor(engine.dialect);
  const clock = options.clock ?? (() => new Date());
  const partitions = (await listPublishedPartitions(store, featureVersionPrefix(view.name, version)))
    .map((prefix) => parsePartitionKey(prefix))
    .filter((partition) => partition?.kind === 'features')
    .map((partition) => partition?.dt ?? '')
    .filter((dt) => (!options.fromDt || dt >= options.fromDt) && (!options.toDt || dt <= options.toDt))
    .sort();
  const results: PartitionValidation[] = [];
  for (const [index, dt] of partitions.entries()) {
    const prefix = featurePartitionPrefix(view.name, version, dt);
    const relation = options.partitionRelation
      ? options.partitionRelation(dt)
      : await localPartitionRelation(store, prefix);
    const [row] = await engine.query(
      featureSummarySql(relation, options.features, view.validation.features, dialect),
    );
    const validation = evaluatePartition(
      { view: view.name, version, dt },
      readFeatureSummaries(row ?? {}, options.features),
      view.validation,
      clock(),
    );
    await writeJsonBeside(store, prefix, 'validation', validation);
    results.push(validation);
    options.onProgress?.(index + 1, partitions.length);
  }
  return results;
}

async function localPartitionRelation(store: ObjectStore, prefix: string): Promise<string> {
  const files = (await readPartitionFiles(store, prefix)).map(
    (key) => store.localPath(key) ?? store.uri(key),
  );
  return `read_parquet([${files.map(stringLiteral).join(', ')}])`;
}
