import type { BatchSourceDefinition } from '../definitions/sources.js';

/**
 * Names of the Glue tables the CDK stack creates over the offline store, so Athena queries can name
 * them: one per raw source (`raw_<source>`, over `raw/<source>/`) and one per feature view version
 * (`features_<view>_<version>`, over `features/<view>/version=<version>/`), partitioned by `dt`.
 */
export function rawSourceTableName(source: BatchSourceDefinition): string {
  return `raw_${source.name}`;
}

export function featureTableName(view: string, version: string): string {
  return `features_${view}_${version}`;
}
