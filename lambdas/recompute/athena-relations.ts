import type { FeatureViewDefinition } from '../../lib/definitions/feature-view.js';
import type { BatchSourceDefinition } from '../../lib/definitions/sources.js';
import { athenaSourceRelation } from '../../lib/stores/athena-source.js';
import { BATCH_PART_ROWS } from '../../lib/stores/raw-landing.js';

/** The relations the recompute Lambda reads a view's source from, on Athena. */
export interface AthenaSourceRelations {
  /** What compute reads: the source's Glue table, each landed record once. */
  sourceRelation(view: FeatureViewDefinition): string;
  /**
   * What materialization reads for the batch part: the same, less the landed rows a stream-fed view's
   * stream part holds (`BATCH_PART_ROWS`); for a view reading a batch source, the same as `sourceRelation`.
   */
  batchPartRelation(view: FeatureViewDefinition): string;
}

/**
 * The Athena relations of the offline platform, as `openOfflinePlatform` builds them with provider `aws`
 * (`lib/cli/offline-platform.ts`, which also opens DuckDB, so a Lambda bundle cannot import it).
 */
export function athenaSourceRelations(database: string): AthenaSourceRelations {
  return {
    sourceRelation: (view) => athenaSourceRelation(batchSourceOf(view), database),
    batchPartRelation: (view) =>
      athenaSourceRelation(
        batchSourceOf(view),
        database,
        view.source.kind === 'kinesis_source' ? BATCH_PART_ROWS : undefined,
      ),
  };
}

/** The batch source behind a view's source (a Kinesis source lands its records under its batch source). */
function batchSourceOf(view: FeatureViewDefinition): BatchSourceDefinition {
  return view.source.kind === 'batch_source' ? view.source : view.source.batchSource;
}
