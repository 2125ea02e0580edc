/**
 * bench:pit - the point-in-time join of a 1,000,000-row spine against 10,000,000 feature rows over
 * 100,000 entities (latest-value features, no TTL), side by side:
 *
 * - ours: `historicalFeaturesSql` for a feature view with `fields`, run by DuckDBEngine and written to
 *   Parquet (`ours_s`); and the whole `getHistoricalFeatures` service, which also loads the spine file
 *   and reads a preview (`ours_service_s`);
 * - DuckDB's native `ASOF LEFT JOIN` on the same spine table and feature file, written to Parquet.
 *
 * Feature times never tie within an entity, so the two must agree on every row; the bench counts
 * duplicate spine rows in our output and rows where our values differ from ASOF's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchSource, collectDefinitions, entity, featureView, validateFeatureRepo } from 'fstore';
import { historicalFeaturesSql } from '../lib/compute/feature-queries.js';
import { DUCKDB_DIALECT } from '../lib/compute/sql-dialect.js';
import { stringLiteral } from '../lib/compute/sql-literals.js';
import { getHistoricalFeatures } from '../lib/services/get-historical-features.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { batchSourceOf, duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { ratio, secondsSince, timeSideBySide } from './measure.js';

const SPINE_ROWS = 1_000_000;
const FEATURE_ROWS = 10_000_000;
const ENTITIES = 100_000;
const DAY_MS = 86_400_000;
const BASE_MS = Date.UTC(2024, 0, 1);
/** Each entity gets one feature row per day, at a pseudo-random instant of that day: no ties within an entity. */
const DAYS = FEATURE_ROWS / ENTITIES;
/** Spine rows start this many days before the first feature rows, so some find nothing (null). */
const SPINE_LEAD_DAYS = 5;

function log(line: string): void {
  console.log(`[bench:pit] ${line}`);
}

/** The time of feature row i (entity i % ENTITIES + 1, day i / ENTITIES), in epoch milliseconds. */
function featureTimeSql(i: string): string {
  return `(${BASE_MS} + (${i} // ${ENTITIES}) * ${DAY_MS} + CAST(hash(${i}) % ${DAY_MS} AS BIGINT))`;
}

/** Latest-value feature rows in time order, as a log of updates would be written; 5% of f3 is null. */
function featureRowsSql(): string {
  return `SELECT CAST(i % ${ENTITIES} + 1 AS BIGINT) AS entity_id, epoch_ms(${featureTimeSql('i')}) AS ts,
      CAST(hash(i * 3 + 1) % 1000000 AS DOUBLE) / 1000 AS f1,
      CAST(hash(i * 3 + 2) % 1000000 AS DOUBLE) / 1000 - 500 AS f2,
      CASE WHEN hash(i * 3 + 3) % 20 = 0 THEN NULL ELSE CAST(hash(i * 3 + 3) % 1000 AS DOUBLE) END AS f3
    FROM range(${FEATURE_ROWS}) AS t(i) ORDER BY ts`;
}

/**
 * Spine rows in no particular order, like a table of labelled events: random entities at random times
 * from a few days before the first feature rows to after the last; one in ten lands exactly on a
 * feature row's time, where that row must be picked (time <= t).
 */
function spineRowsSql(): string {
  const spanMs = (DAYS + SPINE_LEAD_DAYS) * DAY_MS;
  return `SELECT
      CASE WHEN j % 10 = 0 THEN CAST(hash(j) % ${FEATURE_ROWS} % ${ENTITIES} + 1 AS BIGINT)
           ELSE CAST(hash(j * 7 + 3) % ${ENTITIES} + 1 AS BIGINT) END AS entity_id,
      epoch_ms(CASE WHEN j % 10 = 0 THEN ${featureTimeSql(`CAST(hash(j) % ${FEATURE_ROWS} AS BIGINT)`)}
           ELSE ${BASE_MS - SPINE_LEAD_DAYS * DAY_MS} + CAST(hash(j * 11 + 5) % ${spanMs} AS BIGINT) END) AS ts,
      CAST(hash(j * 13) % 2 AS INTEGER) AS label
    FROM range(${SPINE_ROWS}) AS t(j)`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-pit-'));
  const engine = await DuckDBEngine.create();
  try {
    const featuresFile = join(work, 'features.parquet');
    const spineFile = join(work, 'spine.parquet');
    const started = process.hrtime.bigint();
    await engine.writeParquet(featureRowsSql(), { location: featuresFile, singleFile: true });
    await engine.writeParquet(spineRowsSql(), { location: spineFile, singleFile: true });
    // The spine as getHistoricalFeatures loads it: a table whose rowid is the input order.
    await engine.run(`CREATE TABLE spine_input AS SELECT * FROM read_parquet(${stringLiteral(spineFile)})`);
    await engine.run('CREATE TABLE spine AS SELECT *, rowid AS __row FROM spine_input');
    log(`generated ${FEATURE_ROWS} feature rows and ${SPINE_ROWS} spine rows in ${secondsSince(started)} s`);
    const shape =
      (
        await engine.query(`SELECT count(*) AS n, count(*) - count(DISTINCT (entity_id, ts)) AS ties, count(DISTINCT entity_id) AS entities
          FROM read_parquet(${stringLiteral(featuresFile)})`)
      )[0] ?? {};
    log(`feature rows: ${JSON.stringify(shape)}`);

    const item = entity({ name: 'item', joinKeys: { entity_id: 'int64' } });
    const itemUpdates = batchSource({
      name: 'item_updates',
      path: featuresFile,
      timestampField: 'ts',
      schema: { entity_id: 'int64', ts: 'timestamp', f1: 'float64', f2: 'float64', f3: 'float64' },
    });
    const itemFeatures = featureView({
      name: 'item_features',
      entities: [item],
      source: itemUpdates,
      fields: { f1: 'float64', f2: 'float64', f3: 'float64' },
    });
    const repo = validateFeatureRepo(collectDefinitions([item, itemUpdates, itemFeatures]));
    const features = repo.features.get(itemFeatures.name) ?? [];
    const sourceRelation = duckdbSourceRelation(itemUpdates, work);
    const oursSql = historicalFeaturesSql(
      {
        spineRelation: 'spine',
        spineColumns: ['__row', 'entity_id', 'ts', 'label'],
        timestampColumn: 'ts',
        views: [
          { computation: { view: itemFeatures, features, sourceRelation }, features: ['f1', 'f2', 'f3'] },
        ],
        onDemand: [],
        fullFeatureNames: false,
      },
      DUCKDB_DIALECT,
    );
    const asofSql = `SELECT s.__row, s.entity_id, s.ts, s.label, f.f1, f.f2, f.f3
      FROM spine AS s ASOF LEFT JOIN ${sourceRelation} AS f ON s.entity_id = f.entity_id AND s.ts >= f.ts
      ORDER BY s.__row`;
    const out = (name: string) => join(work, 'out', `${name}.parquet`);
    const clear = (name: string) => () => rm(out(name), { force: true });
    const written: Record<string, number> = {};
    const writer = (name: string, sql: string) => async () => {
      written[name] = (await engine.writeParquet(sql, { location: out(name), singleFile: true })).rows;
    };
    let serviceRows = 0;

    log(
      'timing ours (historicalFeaturesSql), DuckDB ASOF JOIN and the getHistoricalFeatures service, side by side',
    );
    const timings = await timeSideBySide(
      {
        ours: { work: writer('ours', oursSql), before: clear('ours') },
        asof: { work: writer('asof', asofSql), before: clear('asof') },
        ours_service: {
          before: clear('service'),
          work: async () => {
            const result = await getHistoricalFeatures({
              engine,
              repo,
              sourceRelation: (view) => duckdbSourceRelation(batchSourceOf(view.source), work),
              spine: spineFile,
              features: ['item_features:f1', 'item_features:f2', 'item_features:f3'],
              timestampColumn: 'ts',
              out: out('service'),
            });
            serviceRows = result.rows;
          },
        },
      },
      log,
    );
    log(`rows written: ${JSON.stringify({ ...written, service: serviceRows })}`);

    const ours = `read_parquet(${stringLiteral(out('ours'))})`;
    const asof = `read_parquet(${stringLiteral(out('asof'))})`;
    const counts =
      (
        await engine.query(
          `SELECT count(*) AS rows, count(DISTINCT __row) AS distinct_rows, count(f1) AS matched FROM ${ours}`,
        )
      )[0] ?? {};
    const duplicates = Number(counts.rows) - Number(counts.distinct_rows);
    const compared =
      (
        await engine.query(`SELECT count(*) AS compared,
          count(*) FILTER (WHERE o.f1 IS DISTINCT FROM a.f1 OR o.f2 IS DISTINCT FROM a.f2 OR o.f3 IS DISTINCT FROM a.f3
            OR o.entity_id IS DISTINCT FROM a.entity_id OR o.ts IS DISTINCT FROM a.ts) AS mismatches
          FROM ${ours} AS o FULL OUTER JOIN ${asof} AS a USING (__row)`)
      )[0] ?? {};
    // Output order is part of the contract: row i of the file is spine row i.
    const order =
      (
        await engine.query(
          `SELECT count(*) FILTER (WHERE __row <> file_row_number) AS out_of_order FROM read_parquet(${stringLiteral(out('ours'))}, file_row_number = true)`,
        )
      )[0] ?? {};
    log(
      `checks: ${JSON.stringify({ ...counts, duplicates, ...compared, out_of_order: order.out_of_order, spine: SPINE_ROWS })}`,
    );

    const oursSeconds = timings.ours?.seconds ?? Number.NaN;
    const asofSeconds = timings.asof?.seconds ?? Number.NaN;
    const oursVsAsof = ratio(oursSeconds, asofSeconds);
    log(
      `target: ours within 1.5x of ASOF JOIN: ${oursVsAsof !== null && oursVsAsof <= 1.5 ? 'met' : 'NOT met'} (${oursVsAsof}x)`,
    );
    console.log(
      JSON.stringify({
        bench: 'pit',
        spine_rows: SPINE_ROWS,
        feature_rows: FEATURE_ROWS,
        ours_s: oursSeconds,
        asof_s: asofSeconds,
        duplicates,
        mismatches: Number(compared.mismatches),
        entities: ENTITIES,
        ours_vs_asof: oursVsAsof,
        ours_service_s: timings.ours_service?.seconds ?? null,
        output_rows: Number(counts.rows),
        matched_rows: Number(counts.matched),
        compared_rows: Number(compared.compared),
        out_of_order: Number(order.out_of_order),
        feature_ties: Number(shape.ties),
        runs: {
          ours: timings.ours?.runs,
          asof: timings.asof?.runs,
          ours_service: timings.ours_service?.runs,
        },
        threads: Number((await engine.query("SELECT current_setting('threads') AS t"))[0]?.t),
      }),
    );
  } finally {
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
