/**
 * bench:batch - per-event window features for 1,000,000 transactions over 100,000 users, side by side:
 *
 * - ours: the example view `user_transaction_stats` compiled by `perEventFeaturesSql` and written to
 *   Parquet by DuckDBEngine (`ours_s`); the same for a view holding only the 7/14/30-day window
 *   aggregations, the baseline's exact feature set (`ours_windows_only_s`); and the whole
 *   `computeFeatures` job with day partitions, validation and publishing (`ours_job_s`);
 * - hand-written DuckDB SQL computing the same window features, written to Parquet (`duckdb_sql_s`);
 * - the pandas baseline (../shared/baselines/seed_pandas_temporal.py) on the same CSV, in `time` mode
 *   (windows over time spans) and `seed` mode (the article's windows of N rows), the latter only if it
 *   ends within five minutes.
 *
 * Prints progress lines, then one JSON line. Figures, not assertions: nothing here fails on a time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { collectDefinitions, featureView, validateFeatureRepo } from 'fstore';
import * as transactionsRepo from '../examples/transactions/features.js';
import { transactions, user, userTransactionStats } from '../examples/transactions/features.js';
import { writeTransactionsCsv } from '../examples/transactions/generate-transactions.js';
import { perEventFeaturesSql } from '../lib/compute/feature-queries.js';
import { DUCKDB_DIALECT } from '../lib/compute/sql-dialect.js';
import { stringLiteral } from '../lib/compute/sql-literals.js';
import type { ViewComputation } from '../lib/compute/view-features-sql.js';
import { computeFeatures } from '../lib/services/compute-features.js';
import { DuckDBEngine } from '../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../lib/stores/duckdb-source.js';
import { FileSystemObjectStore } from '../lib/stores/filesystem-object-store.js';
import { lastJsonLine, median, ratio, round, runProcess, secondsSince, timeSideBySide } from './measure.js';

const ROWS = 1_000_000;
const USERS = 100_000;
/** One transaction a minute on average, like the pandas baseline's data: about 694 days in all. */
const INTERVAL_MS = 60_000;
const SEED = 42;
const START = new Date('2024-01-01T00:00:00Z');
const PANDAS_TIMEOUT_MS = 5 * 60_000;
const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname);
const PANDAS_SCRIPT = resolve(REPO_ROOT, '../shared/baselines/seed_pandas_temporal.py');
const DAY_MS = 86_400_000;
const WINDOW_DAYS = [7, 14, 30] as const;

/** The example view cut down to its window aggregations: the feature set the SQL baseline computes. */
const userAmountWindows = featureView({
  name: 'user_amount_windows',
  entities: [user],
  source: transactions,
  aggregations: [
    { column: 'amount', functions: ['mean', 'sum', 'count', 'stddev'], windows: ['7d', '14d', '30d'] },
  ],
});

function log(line: string): void {
  console.log(`[bench:batch] ${line}`);
}

/**
 * The same window features, written by hand, one window operator and one sort. By default exact
 * sliding windows (RANGE over epoch milliseconds, t - W to t - 1 ms) rather than fstore's hop-aligned
 * sawtooth windows (DESIGN.md section 3), which reach back to floor(t, H) - W: the work is the same kind
 * and size, the edges differ slightly. Given each window's hop, the frame's start is computed per row as
 * floor(t, H) - W instead, which is fstore's sawtooth exactly. `1 PRECEDING` keeps the event at exactly
 * t (and ties at t) out, as fstore does.
 */
function handWrittenSql(source: string, hopMsOfWindow?: ReadonlyMap<number, number>): string {
  const windows = WINDOW_DAYS.map((days) => {
    const windowMs = days * DAY_MS;
    const hopMs = hopMsOfWindow?.get(windowMs);
    const start = hopMs ? `(__ts - (__ts // ${hopMs} * ${hopMs} - ${windowMs}))` : String(windowMs);
    return `w${days} AS (PARTITION BY user_id ORDER BY __ts RANGE BETWEEN ${start} PRECEDING AND 1 PRECEDING)`;
  });
  const columns = WINDOW_DAYS.flatMap((days) => [
    `avg(amount) OVER w${days} AS amount_mean_${days}d`,
    `coalesce(sum(amount) OVER w${days}, 0) AS amount_sum_${days}d`,
    `count(amount) OVER w${days} AS amount_count_${days}d`,
    `stddev_samp(amount) OVER w${days} AS amount_stddev_${days}d`,
  ]);
  return `WITH tx AS (SELECT user_id, transaction_date, amount, epoch_ms(transaction_date) AS __ts FROM ${source} WHERE user_id IS NOT NULL AND transaction_date IS NOT NULL)
SELECT user_id, transaction_date AS event_timestamp, ${columns.join(', ')}, strftime(transaction_date, '%Y-%m-%d') AS dt
FROM tx WINDOW ${windows.join(', ')} ORDER BY transaction_date`;
}

/** Each window's hop, in milliseconds, as validation resolved the view's defaults. */
function hopsOf(computation: ViewComputation): Map<number, number> {
  const hops = new Map<number, number>();
  for (const feature of computation.features) {
    const origin = feature.origin;
    if (origin.kind === 'aggregation' && origin.windowMs && origin.hopMs)
      hops.set(origin.windowMs, origin.hopMs);
  }
  return hops;
}

interface PandasRun {
  readonly seconds: number | null;
  readonly wallSeconds: number;
  readonly timedOut: boolean;
}

async function runPandas(csv: string, mode: 'time' | 'seed'): Promise<PandasRun> {
  const result = await runProcess('/usr/bin/python3', [PANDAS_SCRIPT, csv, '0', mode], PANDAS_TIMEOUT_MS);
  const figures = lastJsonLine(result.stdout);
  const key = mode === 'time' ? 'time_windows_s' : 'seed_row_windows_s';
  const seconds = typeof figures?.[key] === 'number' ? (figures[key] as number) : null;
  if (seconds === null && !result.timedOut) {
    throw new Error(`pandas (${mode}) failed with code ${result.code}: ${result.stderr.slice(-2000)}`);
  }
  return { seconds, wallSeconds: result.wallSeconds, timedOut: result.timedOut };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fstore-bench-batch-'));
  const engine = await DuckDBEngine.create();
  try {
    const csv = join(work, 'data', 'transactions.csv');
    let started = process.hrtime.bigint();
    await writeTransactionsCsv(csv, {
      rows: ROWS,
      users: USERS,
      seed: SEED,
      intervalMs: INTERVAL_MS,
      start: START,
    });
    log(`generated ${ROWS} transactions over ${USERS} users in ${secondsSince(started)} s: ${csv}`);

    const validated = validateFeatureRepo(
      collectDefinitions([...Object.values(transactionsRepo), userAmountWindows]),
    );
    const computationOf = (name: string): ViewComputation => {
      const view = validated.repo.featureViews.find((v) => v.name === name);
      if (!view) throw new Error(`no view ${name}`);
      // The example's source path (data/transactions.csv) resolves against the work folder, as a repo's would.
      return {
        view,
        features: validated.features.get(name) ?? [],
        sourceRelation: duckdbSourceRelation(transactions, work),
      };
    };
    const full = computationOf(userTransactionStats.name);
    const windowsOnly = computationOf(userAmountWindows.name);
    const source = full.sourceRelation;
    const span =
      (
        await engine.query(
          `SELECT min(transaction_date) AS lo, max(transaction_date) AS hi, count(DISTINCT user_id) AS users FROM ${source}`,
        )
      )[0] ?? {};
    const range = { start: START, end: new Date((span.hi as Date).getTime() + 1) };
    log(
      `events from ${(span.lo as Date).toISOString()} to ${(span.hi as Date).toISOString()}, ${String(span.users)} users`,
    );

    const out = (name: string) => join(work, 'out', name);
    const clearOut = (name: string) => () => rm(out(name), { recursive: true, force: true });
    const oursSql = perEventFeaturesSql(full, range, DUCKDB_DIALECT);
    const oursWindowsSql = perEventFeaturesSql(windowsOnly, range, DUCKDB_DIALECT);
    const baselineSql = handWrittenSql(source);
    const sawtoothSql = handWrittenSql(source, hopsOf(windowsOnly));
    const rowsWritten: Record<string, number> = {};
    const writer = (name: string, sql: string) => async () => {
      rowsWritten[name] = (await engine.writeParquet(sql, { location: out(name) })).rows;
    };

    log('timing ours (example view), ours (windows only) and hand-written DuckDB SQL, side by side');
    const timings = await timeSideBySide(
      {
        ours: { work: writer('ours', oursSql), before: clearOut('ours') },
        ours_windows_only: {
          work: writer('ours_windows_only', oursWindowsSql),
          before: clearOut('ours_windows_only'),
        },
        duckdb_sql: { work: writer('duckdb_sql', baselineSql), before: clearOut('duckdb_sql') },
        duckdb_sql_sawtooth: {
          work: writer('duckdb_sql_sawtooth', sawtoothSql),
          before: clearOut('duckdb_sql_sawtooth'),
        },
      },
      log,
    );
    log(`rows written: ${JSON.stringify(rowsWritten)}`);

    // Sawtooth windows reach back further than exact ones (floor(t, H) - W <= t - W), so each of our
    // counts must be at least the exact count; a smaller one would mean lost events.
    const check =
      (
        await engine.query(`SELECT count(*) AS joined, ${WINDOW_DAYS.map((d) => `count(*) FILTER (WHERE o.amount_count_${d}d < b.amount_count_${d}d) AS below_${d}, count(*) FILTER (WHERE o.amount_count_${d}d = b.amount_count_${d}d) AS equal_${d}`).join(', ')}
        FROM read_parquet(${stringLiteral(join(out('ours_windows_only'), '*.parquet'))}) AS o
        JOIN read_parquet(${stringLiteral(join(out('duckdb_sql'), '*.parquet'))}) AS b USING (user_id, event_timestamp)`)
      )[0] ?? {};
    const below = WINDOW_DAYS.reduce((sum, d) => sum + Number(check[`below_${d}`] ?? 0), 0);
    log(`window check: ${JSON.stringify(check)}`);
    // The sawtooth SQL computes our very windows, so it must agree: counts exactly, sums and
    // statistics up to floating-point summation order.
    const close = (column: string) =>
      `(o.${column} IS NULL) = (s.${column} IS NULL) AND coalesce(abs(o.${column} - s.${column}) <= 1e-9 * greatest(1, abs(o.${column})), true)`;
    const same = WINDOW_DAYS.flatMap((d) => [
      `o.amount_count_${d}d = s.amount_count_${d}d`,
      ...['mean', 'sum', 'stddev'].map((fn) => close(`amount_${fn}_${d}d`)),
    ]).join(' AND ');
    const sawtoothCheck =
      (
        await engine.query(`SELECT count(*) AS joined, count(*) FILTER (WHERE NOT (${same})) AS mismatches
        FROM read_parquet(${stringLiteral(join(out('ours_windows_only'), '*.parquet'))}) AS o
        JOIN read_parquet(${stringLiteral(join(out('duckdb_sql_sawtooth'), '*.parquet'))}) AS s USING (user_id, event_timestamp)`)
      )[0] ?? {};
    log(`sawtooth SQL against ours: ${JSON.stringify(sawtoothCheck)}`);

    log('timing the whole computeFeatures job (day partitions, validation, publishing)');
    let jobResult: Awaited<ReturnType<typeof computeFeatures>> | undefined;
    const jobRoot = join(work, 'offline');
    const jobPhases: Record<string, number | null>[] = [];
    const jobTiming = await timeSideBySide(
      {
        ours_job: {
          before: () => rm(jobRoot, { recursive: true, force: true }),
          work: async () => {
            const jobStart = process.hrtime.bigint();
            const marks: Partial<Record<'compute' | 'validate' | 'publish', number>> = {};
            jobResult = await computeFeatures({
              onProgress: (progress) => {
                marks[progress.stage] = secondsSince(jobStart);
              },
              engine,
              store: new FileSystemObjectStore({ root: jobRoot }),
              computation: full,
              version: 'bench',
              start: range.start,
              end: range.end,
            });
            const total = secondsSince(jobStart);
            // compute: the partitioned Parquet write; list: finding staged files; validate_publish: the
            // summary query, then every day's manifest flip and validation report.
            jobPhases.push({
              write_s: marks.compute ?? null,
              list_s: round((marks.validate ?? 0) - (marks.compute ?? 0)),
              validate_publish_s: round(total - (marks.validate ?? 0)),
            });
          },
        },
      },
      log,
    );
    log(`job: ${jobResult?.rows} rows in ${jobResult?.partitions.length} day partitions`);

    log('pandas, time mode (rolling("7D") etc.)');
    const pandasTimeRuns: PandasRun[] = [];
    for (let run = 0; run < 3; run++) {
      const result = await runPandas(csv, 'time');
      pandasTimeRuns.push(result);
      log(`pandas time run ${run + 1}: ${result.seconds} s compute, ${result.wallSeconds} s with CSV read`);
      if ((result.seconds ?? Number.POSITIVE_INFINITY) >= 60) break;
    }
    const pandasTime = medianOf(pandasTimeRuns.map((r) => r.seconds));
    log(`pandas, seed mode (the article's rolling over N rows), timeout ${PANDAS_TIMEOUT_MS / 1000} s`);
    started = process.hrtime.bigint();
    const seed = await runPandas(csv, 'seed');
    log(
      seed.timedOut
        ? `pandas seed mode timed out after ${secondsSince(started)} s`
        : `pandas seed: ${seed.seconds} s compute, ${seed.wallSeconds} s wall`,
    );

    const ours = timings.ours?.seconds ?? Number.NaN;
    const sql = timings.duckdb_sql?.seconds ?? Number.NaN;
    const oursVsSql = ratio(ours, sql);
    const pandasOverOurs = ratio(pandasTime, ours);
    const seedOverOurs = ratio(seed.seconds, ours);
    log(
      `targets: ours within 1.5x of SQL: ${oursVsSql !== null && oursVsSql <= 1.5 ? 'met' : 'NOT met'} (${oursVsSql}x); >= 10x faster than pandas time: ${pandasOverOurs !== null && pandasOverOurs >= 10 ? 'met' : 'NOT met'} (${pandasOverOurs}x); >= 100x faster than seed: ${seedOverOurs === null ? 'unknown (seed timed out)' : seedOverOurs >= 100 ? 'met' : 'NOT met'} (${seedOverOurs}x)`,
    );
    console.log(
      JSON.stringify({
        bench: 'batch',
        rows: ROWS,
        entities: USERS,
        ours_s: ours,
        duckdb_sql_s: sql,
        pandas_time_s: pandasTime,
        pandas_seed_s: seed.seconds,
        ours_windows_only_s: timings.ours_windows_only?.seconds ?? null,
        ours_job_s: jobTiming.ours_job?.seconds ?? null,
        ours_vs_sql: oursVsSql,
        ours_windows_only_vs_sql: ratio(timings.ours_windows_only?.seconds, sql),
        pandas_time_over_ours: pandasOverOurs,
        pandas_seed_over_ours: seedOverOurs,
        pandas_time_wall_s: medianOf(pandasTimeRuns.map((r) => r.wallSeconds)),
        runs: {
          ours: timings.ours?.runs,
          ours_windows_only: timings.ours_windows_only?.runs,
          duckdb_sql: timings.duckdb_sql?.runs,
          duckdb_sql_sawtooth: timings.duckdb_sql_sawtooth?.runs,
          ours_job: jobTiming.ours_job?.runs,
          pandas_time: pandasTimeRuns.map((r) => r.seconds),
        },
        features: {
          ours: full.features.length,
          ours_windows_only: windowsOnly.features.length,
          duckdb_sql: 12,
        },
        window_counts_below_exact: below,
        duckdb_sql_sawtooth_s: timings.duckdb_sql_sawtooth?.seconds ?? null,
        ours_windows_only_vs_sawtooth_sql: ratio(
          timings.ours_windows_only?.seconds,
          timings.duckdb_sql_sawtooth?.seconds,
        ),
        sawtooth_sql_mismatches: Number(sawtoothCheck.mismatches),
        job_partitions: jobResult?.partitions.length ?? null,
        ours_job_phases: jobPhases,
        interval_ms: INTERVAL_MS,
        threads: Number((await engine.query("SELECT current_setting('threads') AS t"))[0]?.t),
      }),
    );
  } finally {
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}

function medianOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : round(median(present));
}

await main();
