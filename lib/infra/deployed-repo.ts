import type { FeatureRepoConfig } from '../definitions/config.js';
import type { ValidatedFeatureRepo } from '../definitions/validate-feature-repo.js';
import type { FeatureType, ValueType } from '../definitions/value-type.js';
import { FstoreError } from '../errors.js';
import { toRegistryObjects } from '../registry/registry-objects.js';

/** A batch source as the stack needs it: a Glue table `raw_<name>` over `raw/<name>/`. */
export interface DeployedSource {
  readonly name: string;
  readonly schema: Readonly<Record<string, ValueType>>;
}

/** One feature view version as the stack needs it: its Glue table, its schedule, whether it is served. */
export interface DeployedView {
  readonly name: string;
  /** The applied version: the view's Glue table is `features_<name>_<version>`. */
  readonly version: string;
  /** Join keys and their types, first in the view's partitions. */
  readonly joinKeys: Readonly<Record<string, ValueType>>;
  /** Every feature and its type, in the order the view declares them. */
  readonly features: readonly { readonly name: string; readonly dtype: FeatureType }[];
  /** EventBridge schedule expression for batch recomputation; undefined for none. */
  readonly schedule: string | undefined;
  readonly online: boolean;
  readonly offline: boolean;
  /** The Kinesis stream feeding the view, when it reads a Kinesis source. */
  readonly streamName: string | undefined;
}

/** What the CDK stack is built from: the feature repo's definitions as they would be applied. */
export interface DeployedRepo {
  readonly project: string;
  /** Every batch source, the batch sources of Kinesis sources included. */
  readonly sources: readonly DeployedSource[];
  readonly views: readonly DeployedView[];
  /** Distinct Kinesis stream names of the repo's Kinesis sources. */
  readonly streams: readonly string[];
}

/**
 * The deployment model of a validated repo: the same versions `fstore apply` stores, so the Glue tables
 * the stack creates are the ones compute writes and Athena reads.
 */
export function deployedRepo(config: FeatureRepoConfig, validated: ValidatedFeatureRepo): DeployedRepo {
  const objects = toRegistryObjects(validated);
  const { repo } = validated;
  const sources = new Map<string, DeployedSource>();
  for (const source of repo.sources) {
    const batch = source.kind === 'batch_source' ? source : source.batchSource;
    sources.set(batch.name, { name: batch.name, schema: batch.schema as Record<string, ValueType> });
  }
  const views = repo.featureViews.map((view): DeployedView => {
    const object = objects.find(
      (candidate) => candidate.kind === 'feature_view' && candidate.name === view.name,
    );
    // Every validated view has a registry object; a missing one would name a table `features_<view>_`.
    if (!object) throw new FstoreError(`feature view "${view.name}" has no version; validate the repo first`);
    return {
      name: view.name,
      version: object.version,
      joinKeys: Object.fromEntries(view.entities.flatMap((entity) => Object.entries(entity.joinKeys))),
      features: (object.features ?? []).map((feature) => ({ name: feature.name, dtype: feature.dtype })),
      schedule: view.schedule,
      online: view.online,
      offline: view.offline,
      streamName: view.source.kind === 'kinesis_source' ? view.source.streamName : undefined,
    };
  });
  const streams = [
    ...new Set(
      repo.sources.flatMap((source) => (source.kind === 'kinesis_source' ? [source.streamName] : [])),
    ),
  ];
  return { project: config.project, sources: [...sources.values()], views, streams };
}
