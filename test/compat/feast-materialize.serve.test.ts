import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/program.js';
import { DEFAULT_SERVE_OPTIONS, type RunningServe, startServe } from '../../lib/cli/serve-command.js';
import { newTempRoot } from '../cli/run-fstore.js';
import { feastClientReading } from './feast-type-inference.js';

// `fstore serve` on an applied example repo, materialized over HTTP with Feast's bodies, as Feast's
// remote topology does (`feast materialize-incremental` against a feature server).
let tempRoot: string;
let serve: RunningServe;

beforeAll(async () => {
  tempRoot = await newTempRoot();
  const repo = join(tempRoot, 'repo');
  const quiet = { out: () => {}, err: () => {} };
  if ((await runCli(['init', repo, '--rows', '200'], quiet)) !== 0) throw new Error('fstore init failed');
  if ((await runCli(['--repo', repo, 'apply'], quiet)) !== 0) throw new Error('fstore apply failed');
  serve = await startServe(repo, { ...DEFAULT_SERVE_OPTIONS, port: 0, refreshMs: 0 }, () => {});
}, 300_000);

afterAll(async () => {
  await serve?.close();
  if (tempRoot) await rm(tempRoot, { recursive: true, force: true });
});

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${serve.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** A job polled until it ends. */
async function settled(
  jobId: string,
): Promise<{ status: string; result?: { views: { written: number }[] } }> {
  for (;;) {
    const job = (await (await fetch(`${serve.url}/materialize-jobs/${jobId}`)).json()) as { status: string };
    if (job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('fstore serve materializing for a Feast client', () => {
  it('runs Feast’s materialize-incremental body, 409s a second run of the view meanwhile, and serves what it wrote', async () => {
    // MaterializeIncrementalRequest as Feast's client sends it: end_ts without a zone (UTC).
    const endTs = new Date().toISOString().slice(0, 19);
    const body = `{"end_ts": "${endTs}", "feature_views": ["user_transaction_stats"], "full_feature_names": false}`;

    const started = await post('/materialize-incremental?async=true', body);
    const second = await post('/materialize-incremental?async=true', body);
    const { job_id: jobId } = JSON.parse(started.text) as { job_id: string };
    const job = await settled(jobId);
    const read = await post(
      '/get-online-features',
      '{"entities": {"user_id": [1, 2, 3]}, "full_feature_names": false, "include_feature_view_version_metadata": false, "features": ["user_transaction_stats:amount_count_30d", "user_transaction_stats:last_3_amounts"]}',
    );

    expect(started.status).toBe(202);
    expect(second.status).toBe(409);
    expect((JSON.parse(JSON.parse(second.text) as string) as { class: string }).class).toBe('FeastError');
    expect(job.status).toBe('succeeded');
    expect(job.result?.views[0]?.written).toBeGreaterThan(0);
    expect(read.status).toBe(200);
    const statuses = (JSON.parse(read.text) as { results: { statuses: string[] }[] }).results[2]?.statuses;
    expect(statuses).toContain('PRESENT');
    const reading = feastClientReading(read.text);
    expect(reading.amount_count_30d).toEqual(['INT64', 'INT64', 'INT64']);
    for (const type of reading.last_3_amounts ?? []) expect([null, 'DOUBLE_LIST']).toContain(type);
  }, 120_000);
});
