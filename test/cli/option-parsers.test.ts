import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instant } from '../../lib/cli/option-parsers.js';
import { EXIT_FAILURE, EXIT_USAGE, runCli } from '../../lib/cli/program.js';
import { NOT_TIMES, TIME_FIX, TIME_FORMS } from '../support/time-forms.js';

let emptyDir: string;
beforeAll(async () => {
  emptyDir = await mkdtemp(join(tmpdir(), 'fstore-cli-times-'));
});
afterAll(async () => {
  await rm(emptyDir, { recursive: true, force: true });
});

/** Runs the real command line in this process (a folder without a repo, so nothing runs past parsing). */
async function cli(args: readonly string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runCli(['--repo', emptyDir, ...args], {
    out: () => {},
    err: (text) => {
      err += text;
    },
  });
  return { code, err };
}

describe('instant, the parser of --start and --end', () => {
  it.each(TIME_FORMS)('reads $form ($text) as the instant it names', ({ text, ms }) => {
    expect(instant(text).getTime()).toBe(ms);
  });

  it.each(NOT_TIMES)('refuses $form ($text) and says how to write a time', ({ text }) => {
    expect(() => instant(text)).toThrow(InvalidArgumentError);
    expect(() => instant(text)).toThrow(`expected ${TIME_FIX}`);
  });
});

describe('the command line', () => {
  it.each(TIME_FORMS)('takes --end written $form and goes on to look for the repo', async ({ text }) => {
    const { code, err } = await cli(['materialize', '--end', text]);

    expect(code).toBe(EXIT_FAILURE);
    expect(err).toBe(
      `error: no fstore.config.ts in ${emptyDir}: run fstore in a feature repo, pass --repo DIR, or create one with fstore init DIR\n`,
    );
  });

  it.each([
    [
      'compute',
      ['compute', '--view', 'v', '--start', '2024-02-03T00:00:00+02:00', '--end'],
      "'--end <time>'",
    ],
    ['materialize', ['materialize', '--start'], "'--start <time>'"],
    ['materialize-incremental', ['materialize-incremental', '--end'], "'--end <time>'"],
  ])(
    'refuses a time that is not one on %s with one usage error naming the option and the fix',
    async (_verb, args, option) => {
      const { code, err } = await cli([...args, '2024-02-03T24:00:00Z']);

      expect(code).toBe(EXIT_USAGE);
      expect(err.split('\n')[0]).toBe(
        `error: option ${option} argument '2024-02-03T24:00:00Z' is invalid. expected ${TIME_FIX}`,
      );
    },
  );
});
