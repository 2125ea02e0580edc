import { join, resolve } from 'node:path';
import { quoteIdentifier, stringLiteral } from '../compute/sql-literals.js';
import type { FeatureRepoConfig } from '../definitions/config.js';
import type { FeatureViewDefinition } from '../definitions/feature-view.js';
import { AthenaEngine } from '../stores/athena-engine.js';
import { athenaSourceRelation } from '../stores/athena-source.js';
import { DuckDBEngine } from '../stores/duckdb-engine.js';
import { batchSourceOf, checkLocalSource, duckdbSourceRelation } from '../stores/duckdb-source.js';
import { FileSystemObjectStore } from '../stores/filesystem-object-store.js';
import { featureTableName } from '../stores/glue-table-names.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OfflineEngine } from '../stores/offline-engine.js';
import { BATCH_PART_ROWS } from '../stores/raw-landing.js';
import { S3ObjectStore } from '../stores/s3-object-store.js';

/** The offline store as a provider runs it: an engine, the object store, and how to name sources. */
export interface OfflinePlatform {
  readonly engine: OfflineEngine;
  /** The local engine, where there is one (training sets load their spine into it). */
  readonly duckdb: DuckDBEngine | undefined;
  readonly store: ObjectStore;
  /** The relation a view's source is read from. */
  sourceRelation(view: FeatureViewDefinition): string;
  /**
   * What materialization reads for the batch part of a view: its source, less the landed rows the view's
   * stream part holds (stream records and online pushes) when the view reads a stream.
   */
  batchPartRelation(view: FeatureViewDefinition): string;
  /** The relation of one published day of a view version, when the engine cannot read its files itself. */
  partitionRelation: ((view: string, version: string, dt: string) => string) | undefined;
  /** Fails with a clear message when a view's source data is missing or does not match its schema. */
  checkSource(view: FeatureViewDefinition): Promise<void>;
  close(): Promise<void>;
}

/**
 * Local: DuckDB in process over `<repo>/<dataDir>/offline`, sources read from their local paths.
 * AWS: Athena over the S3 bucket, sources and feature versions read through the stack's Glue tables.
 */
export async function openOfflinePlatform(
  config: FeatureRepoConfig,
  repoDir: string,
): Promise<OfflinePlatform> {
  if (config.provider === 'aws' && config.aws) {
    const aws = config.aws;
    const engine = new AthenaEngine({
      database: aws.glueDatabase,
      workGroup: aws.athenaWorkgroup ?? 'primary',
    });
    const table = (name: string) => `${quoteIdentifier(aws.glueDatabase)}.${quoteIdentifier(name)}`;
    return {
      engine,
      duckdb: undefined,
      store: new S3ObjectStore({ bucket: aws.bucket }),
      sourceRelation: (view) => athenaSourceRelation(batchSourceOf(view.source), aws.glueDatabase),
      batchPartRelation: (view) =>
        athenaSourceRelation(
          batchSourceOf(view.source),
          aws.glueDatabase,
          view.source.kind === 'kinesis_source' ? BATCH_PART_ROWS : undefined,
        ),
      partitionRelation: (view, version, dt) =>
        `(SELECT * FROM ${table(featureTableName(view, version))} WHERE "dt" = ${stringLiteral(dt)}) AS partition_rows`,
      checkSource: async () => {},
      close: () => engine.close(),
    };
  }
  const engine = await DuckDBEngine.create();
  const dir = resolve(repoDir);
  const store = new FileSystemObjectStore({ root: join(resolve(dir, config.local.dataDir), 'offline') });
  return {
    engine,
    duckdb: engine,
    store,
    // The declared data plus the events landed in the raw area, looked at again on every call.
    sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), dir, store.root),
    batchPartRelation: (view) =>
      duckdbSourceRelation(
        batchSourceOf(view.source),
        dir,
        store.root,
        view.source.kind === 'kinesis_source' ? BATCH_PART_ROWS : undefined,
      ),
    partitionRelation: undefined,
    checkSource: (view) => checkLocalSource(engine, batchSourceOf(view.source), dir),
    close: () => engine.close(),
  };
}

/** Runs `work` with the offline platform open, and closes it afterwards whatever happens. */
export async function withOfflinePlatform<T>(
  config: FeatureRepoConfig,
  repoDir: string,
  work: (platform: OfflinePlatform) => Promise<T>,
): Promise<T> {
  const platform = await openOfflinePlatform(config, repoDir);
  try {
    return await work(platform);
  } finally {
    await platform.close();
  }
}
