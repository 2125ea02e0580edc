import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this test runs in. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The built program, as `npm install` would run it. */
export const FSTORE_BIN = join(PACKAGE_ROOT, 'dist', 'bin', 'fstore.js');

/**
 * Kills an `fstore` command only when it hangs: several minutes, far above any normal run on a machine
 * 3x slower than a developer's with a busy core (`fstore demo` takes about 10 s here).
 */
export const HANG_LIMIT_MS = 300_000;

/** Small enough that init, plan and apply stay well under a second each. */
export const TEST_ROWS = '200';

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Transpiles lib/ and bin/ to dist/ so the tests never run a stale build. */
export function buildFstore(): void {
  execFileSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'build.mjs')], {
    cwd: PACKAGE_ROOT,
    stdio: 'pipe',
  });
}

/** Runs the built `fstore` in `cwd` as a separate process and collects what it printed and its exit code. */
export function runFstore(args: readonly string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [FSTORE_BIN, ...args],
      { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: HANG_LIMIT_MS },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`fstore ${args.join(' ')} did not exit normally: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ exitCode: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** A new empty folder under `parent`. */
export function newFolder(parent: string, prefix = 'case-'): Promise<string> {
  return mkdtemp(join(parent, prefix));
}

/**
 * A new empty folder under the system temp folder; the caller removes it. Its real path, because the
 * CLI prints paths resolved from its working directory, which has symlinks (macOS /var) resolved.
 */
export async function newTempRoot(): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), 'fstore-cli-test-')));
}

/** `fstore init <name> --rows 200` in a new folder under `parent`; gives the repo folder. */
export async function initRepo(parent: string, name = 'repo'): Promise<string> {
  const cwd = await newFolder(parent);
  const run = await runFstore(['init', name, '--rows', TEST_ROWS], cwd);
  if (run.exitCode !== 0) throw new Error(`fstore init failed: ${run.stderr}`);
  return join(cwd, name);
}

/** `fstore init` then `fstore apply` in a new folder; gives the repo folder, at registry revision 1. */
export async function initAppliedRepo(parent: string): Promise<string> {
  const repo = await initRepo(parent);
  const run = await runFstore(['apply'], repo);
  if (run.exitCode !== 0) throw new Error(`fstore apply failed: ${run.stderr}`);
  return repo;
}

/** Replaces text in a file, failing loudly when the text is not there (so an edited example cannot pass silently). */
export async function editFile(path: string, from: string | RegExp, to: string): Promise<void> {
  const before = await readFile(path, 'utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`${String(from)} not found in ${path}`);
  await writeFile(path, after);
}

/** The lines a run wrote to stderr, without the empty one after the last newline. */
export function stderrLines(run: CliRun): string[] {
  return run.stderr.split('\n').filter((line) => line !== '');
}

/** The NAME column of a `fstore list` table, in printed order. */
export function listedNames(stdout: string): string[] {
  const [header = '', ...rows] = stdout.trimEnd().split('\n');
  if (!header.startsWith('KIND')) return [];
  return rows.map((row) => row.split(/\s+/)[1] ?? '');
}

/** Parses `--json` output, naming the command in the failure when it is not JSON. */
export function parseJson<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout, got: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}
