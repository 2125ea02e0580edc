import { join } from 'node:path';
import { stringLiteral } from '../../lib/compute/sql-literals.js';
import type { ValidatedFeatureRepo } from '../../lib/definitions/validate-feature-repo.js';
import { getHistoricalFeatures } from '../../lib/services/get-historical-features.js';
import type { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';

/**
 * The offline point-in-time values of `features` for each entity row as of `t` (full feature names), the
 * reference the consistency tests hold online values to: one spine row per entity row, read back from
 * the training set `getHistoricalFeatures` writes under `dir`.
 */
export async function offlineValuesAt(options: {
  readonly engine: DuckDBEngine;
  readonly validated: ValidatedFeatureRepo;
  readonly sourceRelation: Parameters<typeof getHistoricalFeatures>[0]['sourceRelation'];
  readonly rows: readonly Record<string, unknown>[];
  readonly features: readonly string[];
  readonly t: Date;
  readonly dir: string;
}): Promise<Record<string, unknown>[]> {
  const out = join(options.dir, 'offline-at-t.parquet');
  await getHistoricalFeatures({
    engine: options.engine,
    repo: options.validated,
    sourceRelation: options.sourceRelation,
    spine: options.rows.map((row) => ({ ...row, event_timestamp: options.t })),
    features: [...options.features],
    fullFeatureNames: true,
    out,
  });
  return options.engine.query(`SELECT * FROM read_parquet(${stringLiteral(out)})`);
}
