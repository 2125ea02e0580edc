import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as example from '../../examples/transactions/features.js';
import { runCli } from '../../lib/cli/program.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { landRawRows, type RawRow } from '../../lib/stores/raw-landing.js';
import { type CliRun, newTempRoot, parseJson, stderrLines, TEST_ROWS } from './run-fstore.js';

// The CLI runs in process here (runCli, the entry point of bin/fstore.ts): building dist/ again from a
// second test file would replace the build fstore-cli.test.ts is running.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function fstore(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
  });
  return { exitCode, stdout, stderr };
}

interface CompactJson {
  readonly partitions: {
    source: string;
    dt: string;
    filesIn: number;
    rowsIn: number;
    rowsOut: number;
    filesLeft: number;
    file?: string;
  }[];
  readonly seconds: number;
}

let tempRoot: string;
let repo: string;
let store: FileSystemObjectStore;

beforeAll(async () => {
  tempRoot = await newTempRoot();
  repo = join(tempRoot, 'repo');
  const init = await fstore(['init', repo, '--rows', TEST_ROWS]);
  if (init.exitCode !== 0) throw new Error(`fstore init failed: ${init.stderr}`);
  const apply = await fstore(['--repo', repo, 'apply']);
  if (apply.exitCode !== 0) throw new Error(`fstore apply failed: ${apply.stderr}`);
  store = new FileSystemObjectStore({ root: join(repo, '.fstore', 'offline') });
});
afterAll(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

function transaction(id: string, user: number, iso: string, amount: number): RawRow {
  const ts = Date.parse(iso);
  return {
    ts,
    recordId: id,
    values: { user_id: user, transaction_date: ts, amount, category: 'food', merchant_id: 1 },
  };
}

async function computedRows(): Promise<number> {
  const run = await fstore([
    '--repo',
    repo,
    'compute',
    '--view',
    'user_transaction_stats',
    '--start',
    '2024-01-01',
    '--end',
    '2024-01-04',
    '--json',
  ]);
  if (run.exitCode !== 0) throw new Error(`fstore compute failed: ${run.stderr}`);
  return parseJson<{ rows: number }>(run).rows;
}

describe('fstore compact', () => {
  it('compacts nothing before anything has landed', async () => {
    const run = await fstore(['--repo', repo, 'compact']);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(
      /^compacted 0 of 0 partitions of 1 source: 0 files, 0 rows -> 0 files, 0 rows in \d+\.\d s\n$/,
    );
  });

  it('merges the landed files of each day, one row per record, and computes count each record once before and after', async () => {
    const declaredOnly = await computedRows();
    const source = example.transactions;
    await landRawRows(
      store,
      source,
      [
        transaction('0:1', 1, '2024-01-02T10:00:00Z', 5),
        transaction('0:2', 2, '2024-01-02T11:00:00Z', 6),
        transaction('0:3', 1, '2024-01-03T12:00:00Z', 7),
      ],
      'shard-0-1-3',
    );
    await landRawRows(
      store,
      source,
      [transaction('0:2', 2, '2024-01-02T11:00:00Z', 6), transaction('0:4', 3, '2024-01-02T12:00:00Z', 8)],
      'shard-0-2-4',
    );
    const landed = await computedRows();

    const run = await fstore(['--repo', repo, 'compact']);

    expect(landed).toBe(declaredOnly + 4);
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^transactions dt=2024-01-02: 2 files, 4 rows -> 1 file, 3 rows \(raw\/transactions\/dt=2024-01-02\/compacted-\d+-[0-9a-f-]{36}\.parquet\)$/,
      ),
      'transactions dt=2024-01-03: nothing to do (1 file, 1 row)',
      expect.stringMatching(
        /^compacted 1 of 2 partitions of 1 source: 2 files, 4 rows -> 1 file, 3 rows in \d+\.\d s$/,
      ),
    ]);
    expect(await store.list('raw/transactions/dt=2024-01-02/')).toEqual([
      expect.stringMatching(/\/compacted-\d+-[0-9a-f-]{36}\.parquet$/),
    ]);
    expect(await computedRows()).toBe(landed);
  });

  it('prints JSON for one source and one day, and does nothing the second time', async () => {
    const run = await fstore([
      '--repo',
      repo,
      'compact',
      '--source',
      'transactions',
      '--dt',
      '2024-01-02',
      '--json',
    ]);

    expect(run.exitCode).toBe(0);
    expect(parseJson<CompactJson>(run).partitions).toEqual([
      { source: 'transactions', dt: '2024-01-02', filesIn: 1, rowsIn: 3, rowsOut: 3, filesLeft: 0 },
    ]);
  });

  it.each([
    [
      ['compact', '--source', 'transaction'],
      'error: there is no batch source "transaction"; did you mean "transactions"?',
    ],
    [
      ['compact', '--source', 'zzz'],
      'error: there is no batch source "zzz"; the batch sources are transactions',
    ],
  ])('fails %j with one line', async (args, message) => {
    const run = await fstore(['--repo', repo, ...args]);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([message]);
  });

  it('refuses a --dt that is not a day, as a usage error', async () => {
    const run = await fstore(['--repo', repo, 'compact', '--dt', '2024-1-2']);

    expect(run.exitCode).toBe(2);
    expect(stderrLines(run)[0]).toContain("error: option '--dt <day>' argument '2024-1-2' is invalid");
  });

  it('asks for an apply in a repo with nothing applied', async () => {
    const fresh = join(tempRoot, 'fresh');
    await fstore(['init', fresh, '--rows', TEST_ROWS]);

    const run = await fstore(['--repo', fresh, 'compact']);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual(['error: nothing is applied yet; run fstore apply first']);
  });
});
