import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedChange } from '../../lib/registry/plan.js';
import type { VersionHistoryEntry } from '../../lib/registry/registry.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import {
  buildFstore,
  type CliRun,
  editFile,
  FSTORE_BIN,
  initAppliedRepo,
  initRepo,
  listedNames,
  newFolder,
  newTempRoot,
  PACKAGE_ROOT,
  parseJson,
  runFstore,
  stderrLines,
  TEST_ROWS,
} from './run-fstore.js';

// These tests run the built program in child processes, the way users run it.

const WORKING_VERBS = [
  'init',
  'plan',
  'apply',
  'list',
  'describe',
  'compute',
  'get-historical',
  'validate',
  'compact',
  'materialize',
  'materialize-incremental',
  'get-online',
  'serve',
  'ingest',
  'demo',
];

/** Every object the transactions example defines, as `fstore list` sorts them (kind, then name). */
const EXAMPLE_OBJECTS = [
  'transactions',
  'category',
  'merchant',
  'user',
  'fraud_model_v1',
  'category_transaction_stats',
  'merchant_transaction_stats',
  'user_transaction_stats',
  'live_transactions',
  'transaction_amount_ratios',
];

const USER_STATS_DESCRIPTION =
  "A user's spending over the last 7, 14 and 30 days, their latest amounts and how recent they are.";

interface PlanJson {
  readonly project: string;
  readonly baseRevision: number;
  readonly changes: PlannedChange[];
}

interface ApplyJson extends PlanJson {
  readonly revision: number;
}

interface DescribeJson extends RegistryObject {
  readonly versionHistory: VersionHistoryEntry[];
}

let tempRoot: string;

beforeAll(async () => {
  buildFstore();
  tempRoot = await newTempRoot();
});

afterAll(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

function changeOf(plan: PlanJson, kind: string, name: string): PlannedChange | undefined {
  return plan.changes.find((change) => change.kind === kind && change.name === name);
}

describe('fstore usage', () => {
  it('lists exactly the working verbs in --help and exits 0', async () => {
    const cwd = await newFolder(tempRoot);

    const run = await runFstore(['--help'], cwd);

    const commands = run.stdout.split('Commands:\n')[1] ?? '';
    const verbs = commands
      .split('\n')
      .map((line) => /^ {2}(\S+)/.exec(line)?.[1])
      .filter((verb) => verb !== undefined);
    expect(run.exitCode).toBe(0);
    // `help` is commander's own verb; every other listed verb must be one that works.
    expect(verbs).toEqual([...WORKING_VERBS, 'help']);
    expect(run.stdout).toContain('--repo <dir>');
    expect(run.stdout).toContain('--verbose');
  });

  it('prints the package version with --version and exits 0', async () => {
    const cwd = await newFolder(tempRoot);
    const manifest = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };

    const run = await runFstore(['--version'], cwd);

    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe(manifest.version);
  });

  it.each([
    ['an unknown command', ['bogus'], "error: unknown command 'bogus'"],
    ['init without a folder', ['init'], "error: missing required argument 'dir'"],
    [
      'a --rows of 0',
      ['init', 'x', '--rows', '0'],
      "error: option '--rows <n>' argument '0' is invalid. expected a whole number of at least 1",
    ],
    ['a --seed that is not a number', ['init', 'x', '--seed', 'abc'], "error: option '--seed <n>'"],
    ['an unknown --kind', ['list', '--kind', 'bogus'], "error: option '--kind <kind>' argument 'bogus'"],
    ['an extra argument', ['plan', 'extra'], "error: too many arguments for 'plan'"],
  ])('exits 2 with a usage hint for %s, and does nothing', async (_case, args, message) => {
    const cwd = await newFolder(tempRoot);

    const run = await runFstore(args, cwd);

    expect(run.exitCode).toBe(2);
    expect(stderrLines(run)[0]).toContain(message);
    expect(stderrLines(run)).toContain('(run fstore --help for usage)');
    expect(run.stdout).toBe('');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('exits 2 and prints the help on stderr when no command is given', async () => {
    const cwd = await newFolder(tempRoot);

    const run = await runFstore([], cwd);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Usage: fstore [options] [command]');
    expect(run.stdout).toBe('');
  });
});

describe('fstore init', () => {
  it('refuses a path that is a file, saying so', async () => {
    const cwd = await newFolder(tempRoot);
    await writeFile(join(cwd, 'afile'), 'mine');

    const run = await runFstore(['init', 'afile', '--rows', TEST_ROWS], cwd);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      `error: ${join(cwd, 'afile')} is a file, not a folder; choose a folder for the new feature repo`,
    ]);
  });

  it('creates the example repo with its definitions, config, tsconfig, .gitignore and the rows asked for', async () => {
    const cwd = await newFolder(tempRoot);

    const run = await runFstore(['init', 'x', '--rows', TEST_ROWS], cwd);

    const repo = join(cwd, 'x');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      `Created feature repo in ${repo}: features.ts, fstore.config.ts, tsconfig.json, .gitignore, data/transactions.csv (200 transactions).\n` +
        'Next: cd x && fstore plan && fstore apply\n',
    );
    expect((await readdir(repo)).sort()).toEqual(
      ['.gitignore', 'data', 'features.ts', 'fstore.config.ts', 'tsconfig.json'].sort(),
    );
    expect(await readFile(join(repo, 'features.ts'), 'utf8')).toBe(
      await readFile(join(PACKAGE_ROOT, 'examples', 'transactions', 'features.ts'), 'utf8'),
    );
    expect(await readFile(join(repo, '.gitignore'), 'utf8')).toBe('.fstore/\n');
    const csv = (await readFile(join(repo, 'data', 'transactions.csv'), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('user_id,transaction_date,amount,category,merchant_id');
    expect(csv).toHaveLength(201);
  });

  it('generates the same data for the same seed and different data for another', async () => {
    const cwd = await newFolder(tempRoot);
    const init = (dir: string, seed: string) =>
      runFstore(['init', dir, '--rows', TEST_ROWS, '--seed', seed], cwd);
    const csvOf = (dir: string) => readFile(join(cwd, dir, 'data', 'transactions.csv'), 'utf8');

    const runs = [await init('a', '7'), await init('b', '7'), await init('c', '8')];

    expect(runs.map((run) => run.exitCode)).toEqual([0, 0, 0]);
    expect(await csvOf('b')).toBe(await csvOf('a'));
    expect(await csvOf('c')).not.toBe(await csvOf('a'));
  });

  it('refuses to write into a folder that is not empty, with one line naming the folder and --force', async () => {
    const cwd = await newFolder(tempRoot);
    await mkdir(join(cwd, 'x'));
    await writeFile(join(cwd, 'x', 'notes.txt'), 'mine');

    const run = await runFstore(['init', 'x', '--rows', TEST_ROWS], cwd);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      `error: ${join(cwd, 'x')} is not empty; choose a new folder or pass --force to write into it`,
    ]);
    expect(await readdir(join(cwd, 'x'))).toEqual(['notes.txt']);
  });

  it('writes into a folder that is not empty with --force and keeps the files already there', async () => {
    const cwd = await newFolder(tempRoot);
    await mkdir(join(cwd, 'x'));
    await writeFile(join(cwd, 'x', 'notes.txt'), 'mine');

    const run = await runFstore(['init', 'x', '--rows', TEST_ROWS, '--force'], cwd);

    expect(run.exitCode).toBe(0);
    expect(existsSync(join(cwd, 'x', 'fstore.config.ts'))).toBe(true);
    expect(await readFile(join(cwd, 'x', 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('a repo before its first apply', () => {
  let repo: string;

  beforeAll(async () => {
    repo = await initRepo(tempRoot);
  });

  it('plans every definition as an addition against revision 0', async () => {
    const run = await runFstore(['plan'], repo);

    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Plan for project "transactions" against registry revision 0:');
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}\+ feature_view user_transaction_stats \(version \w+\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\+ entity user \(version \w+\)$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}\+ feature_service fraud_model_v1 \(version \w+\)$/),
    );
    expect(lines.at(-1)).toBe('10 to add, 0 to change, 0 to remove; 0 breaking.');
  });

  it('prints the plan as JSON with the project, base revision and one change per object', async () => {
    const run = await runFstore(['plan', '--json'], repo);

    const plan = parseJson<PlanJson>(run);
    expect(run.exitCode).toBe(0);
    expect(plan.project).toBe('transactions');
    expect(plan.baseRevision).toBe(0);
    expect(plan.changes.map((change) => change.name).sort()).toEqual([...EXAMPLE_OBJECTS].sort());
    expect(changeOf(plan, 'feature_view', 'user_transaction_stats')).toMatchObject({
      action: 'add',
      breaking: false,
      fromVersion: null,
      toVersion: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('lists no objects', async () => {
    const run = await runFstore(['list'], repo);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('No objects match.\n');
  });

  it('fails to describe an object and says to run apply first', async () => {
    const run = await runFstore(['describe', 'user_transaction_stats'], repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      'error: no applied object is named "user_transaction_stats"; run fstore apply first',
    ]);
  });
});

describe('a repo after apply', () => {
  let repo: string;
  let firstApply: CliRun;
  let secondApply: CliRun;

  beforeAll(async () => {
    repo = await initRepo(tempRoot);
    firstApply = await runFstore(['apply'], repo);
    secondApply = await runFstore(['apply'], repo);
  });

  it('stores the definitions as registry revision 1', () => {
    expect(firstApply.exitCode).toBe(0);
    expect(firstApply.stdout).toContain('+ feature_view user_transaction_stats (version ');
    expect(firstApply.stdout.trimEnd().split('\n').at(-1)).toBe('Applied as registry revision 1.');
  });

  it('has nothing to apply the second time and keeps revision 1', () => {
    expect(secondApply.exitCode).toBe(0);
    expect(secondApply.stdout).toContain('No changes: the registry matches the definitions.');
    expect(secondApply.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Nothing to apply; registry revision 1 stays current.',
    );
  });

  it('lists every applied object, user_transaction_stats with its 17 features', async () => {
    const run = await runFstore(['list'], repo);

    expect(run.exitCode).toBe(0);
    expect(listedNames(run.stdout)).toEqual(EXAMPLE_OBJECTS);
    expect(run.stdout).toMatch(
      /^feature_view +user_transaction_stats +[0-9a-f]{16} +17 +risk-ml@example\.com /m,
    );
  });

  it.each([
    [
      ['--tag', 'model=fraud'],
      [
        'fraud_model_v1',
        'category_transaction_stats',
        'merchant_transaction_stats',
        'user_transaction_stats',
        'transaction_amount_ratios',
      ],
    ],
    [
      ['--tag', 'pii'],
      ['transactions', 'live_transactions'],
    ],
    [['--tag', 'model=churn'], []],
    [
      ['--entity', 'merchant'],
      ['merchant', 'fraud_model_v1', 'merchant_transaction_stats'],
    ],
    [['--kind', 'feature_service'], ['fraud_model_v1']],
    [
      ['--search', 'ratio'],
      ['fraud_model_v1', 'user_transaction_stats', 'transaction_amount_ratios'],
    ],
    [
      ['--search', 'RATIO'],
      ['fraud_model_v1', 'user_transaction_stats', 'transaction_amount_ratios'],
    ],
    [
      ['--owner', 'payments-data@example.com'],
      ['transactions', 'live_transactions'],
    ],
    [['--kind', 'feature_view', '--entity', 'user'], ['user_transaction_stats']],
  ])('lists only the objects matching %j', async (filter, expected) => {
    const run = await runFstore(['list', ...filter], repo);

    expect(run.exitCode).toBe(0);
    expect(listedNames(run.stdout)).toEqual(expected);
    if (expected.length === 0) expect(run.stdout).toBe('No objects match.\n');
  });

  it('prints the list as JSON objects with kind, name, version, metadata and features', async () => {
    const run = await runFstore(['list', '--json', '--kind', 'feature_view'], repo);

    const objects = parseJson<RegistryObject[]>(run);
    expect(run.exitCode).toBe(0);
    expect(objects.map((object) => object.name)).toEqual([
      'category_transaction_stats',
      'merchant_transaction_stats',
      'user_transaction_stats',
    ]);
    expect(objects[2]).toMatchObject({
      kind: 'feature_view',
      name: 'user_transaction_stats',
      version: expect.stringMatching(/^[0-9a-f]{16}$/),
      description: USER_STATS_DESCRIPTION,
      owner: 'risk-ml@example.com',
      tags: { domain: 'payments', model: 'fraud' },
    });
    expect(objects[2]?.features).toHaveLength(17);
  });

  it('describes user_transaction_stats with its features and types, lineage and version history', async () => {
    const run = await runFstore(['describe', 'user_transaction_stats'], repo);

    const lines = run.stdout.split('\n');
    expect(run.exitCode).toBe(0);
    expect(lines[0]).toBe('feature_view user_transaction_stats');
    expect(lines).toContain('  entities:    user');
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}amount_mean_7d +float64 +mean\(amount\) over 7d, hop 1h$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}amount_count_30d +int64 +count\(amount\) over 30d/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}last_3_amounts +list<float64> +last 3 of amount/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ {2}weekly_to_monthly_amount_ratio +float64 +safe_div\(amount_sum_7d, amount_sum_30d\)$/,
      ),
    );
    expect(lines).toContain('Lineage:');
    expect(lines).toContain('  reads from: source live_transactions');
    expect(lines).toContain(
      '  used by:    on demand feature view transaction_amount_ratios, feature service fraud_model_v1',
    );
    const history = lines.slice(lines.indexOf('Version history:') + 1).filter((line) => line.trim() !== '');
    expect(history[0]).toMatch(/^ {2}REVISION +VERSION +CHANGE +APPLIED AT +APPLIED BY$/);
    expect(history.slice(1)).toEqual([expect.stringMatching(/^ {2}1 +[0-9a-f]{16} +add +\d{4}-\d\d-\d\dT/)]);
  });

  it('prints a description as JSON with features and version history', async () => {
    const run = await runFstore(['describe', 'user_transaction_stats', '--json'], repo);

    const described = parseJson<DescribeJson>(run);
    expect(run.exitCode).toBe(0);
    expect(described).toMatchObject({ kind: 'feature_view', name: 'user_transaction_stats' });
    expect(described.features?.find((feature) => feature.name === 'amount_count_7d')).toMatchObject({
      dtype: 'int64',
      computation: 'count(amount) over 7d, hop 1h',
    });
    expect(described.versionHistory).toEqual([
      expect.objectContaining({ revision: 1, version: described.version, action: 'add', breaking: false }),
    ]);
  });

  it('fails to describe an unknown name with one line naming it and the applied objects', async () => {
    const run = await runFstore(['describe', 'no_such_thing'], repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toHaveLength(1);
    expect(stderrLines(run)[0]).toMatch(/^error: no applied object is named "no_such_thing"; applied: .+/);
    expect(stderrLines(run)[0]).toContain('user_transaction_stats');
    expect(run.stdout).toBe('');
  });
});

describe('fstore apply --json', () => {
  it('reports the new revision with its changes, then the unchanged revision with none', async () => {
    const repo = await initRepo(tempRoot);

    const first = await runFstore(['apply', '--json'], repo);
    const second = await runFstore(['apply', '--json'], repo);

    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    const firstResult = parseJson<ApplyJson>(first);
    expect(firstResult).toMatchObject({ project: 'transactions', revision: 1, baseRevision: 0 });
    expect(firstResult.changes).toHaveLength(EXAMPLE_OBJECTS.length);
    expect(parseJson<ApplyJson>(second)).toEqual({
      project: 'transactions',
      revision: 1,
      baseRevision: 1,
      changes: [],
    });
  });
});

describe('working on a repo from outside it', () => {
  it.each(['--repo', '-r'])('applies and lists a new repo with %s', async (flag) => {
    const cwd = await newFolder(tempRoot);

    const init = await runFstore(['init', 'x', '--rows', TEST_ROWS], cwd);
    const apply = await runFstore([flag, 'x', 'apply'], cwd);
    const list = await runFstore([flag, 'x', 'list'], cwd);

    expect([init.exitCode, apply.exitCode, list.exitCode]).toEqual([0, 0, 0]);
    expect(apply.stdout).toContain('Applied as registry revision 1.');
    expect(listedNames(list.stdout)).toContain('user_transaction_stats');
    expect(existsSync(join(cwd, 'x', '.fstore', 'dynamodb'))).toBe(true);
    expect(existsSync(join(cwd, '.fstore'))).toBe(false);
  });
});

describe('changing a window of user_transaction_stats', () => {
  let plan: CliRun;
  let planJson: PlanJson;
  let apply: CliRun;
  let described: DescribeJson;
  let describeText: string;

  beforeAll(async () => {
    const repo = await initAppliedRepo(tempRoot);
    const features = join(repo, 'features.ts');
    // 30d becomes 28d; the derived ratio and the on-demand view follow the renamed features.
    await editFile(features, "windows: ['7d', '14d', '30d']", "windows: ['7d', '14d', '28d']");
    await editFile(features, /_30d\b/g, '_28d');
    plan = await runFstore(['plan'], repo);
    planJson = parseJson<PlanJson>(await runFstore(['plan', '--json'], repo));
    apply = await runFstore(['apply'], repo);
    described = parseJson<DescribeJson>(
      await runFstore(['describe', 'user_transaction_stats', '--json'], repo),
    );
    describeText = (await runFstore(['describe', 'user_transaction_stats'], repo)).stdout;
  });

  it('plans user_transaction_stats as a BREAKING change that removes the 30d features', () => {
    const lines = plan.stdout.trimEnd().split('\n');
    expect(plan.exitCode).toBe(0);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ {2}~ feature_view user_transaction_stats \(version [0-9a-f]{16} -> [0-9a-f]{16}\) {2}BREAKING$/,
      ),
    );
    expect(lines).toContain('      feature amount_sum_30d removed');
    expect(lines).toContain('      feature amount_sum_28d added (float64)');
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {6}feature weekly_to_monthly_amount_ratio is computed differently: /),
    );
    expect(lines.at(-1)).toBe('0 to add, 3 to change, 0 to remove; 3 breaking.');
  });

  it('marks the view and everything built on it as breaking in the JSON plan', () => {
    const breaking = planJson.changes.filter((change) => change.breaking).map((change) => change.name);
    const view = changeOf(planJson, 'feature_view', 'user_transaction_stats');
    expect(planJson.baseRevision).toBe(1);
    expect(breaking).toEqual(['user_transaction_stats', 'transaction_amount_ratios', 'fraud_model_v1']);
    expect(view?.action).toBe('change');
    expect(view?.fromVersion).not.toBe(view?.toVersion);
    expect(view?.details).toContain('feature amount_mean_30d removed');
  });

  it('applies as registry revision 2', () => {
    expect(apply.exitCode).toBe(0);
    expect(apply.stdout.trimEnd().split('\n').at(-1)).toBe('Applied as registry revision 2.');
  });

  it('shows both versions in the version history, the second as a breaking change', () => {
    const view = changeOf(planJson, 'feature_view', 'user_transaction_stats');
    expect(described.versionHistory).toEqual([
      expect.objectContaining({ revision: 1, version: view?.fromVersion, action: 'add', breaking: false }),
      expect.objectContaining({ revision: 2, version: view?.toVersion, action: 'change', breaking: true }),
    ]);
    expect(described.version).toBe(view?.toVersion);
    expect(describeText).toMatch(/^ {2}2 +[0-9a-f]{16} +change \(breaking\) +/m);
  });
});

describe('dropping a window of user_transaction_stats', () => {
  it('plans the view as breaking because its features disappear, with nothing computed differently', async () => {
    const repo = await initAppliedRepo(tempRoot);
    // Nothing refers to the 14d features, so removing them is the only change to the view.
    await editFile(join(repo, 'features.ts'), "windows: ['7d', '14d', '30d']", "windows: ['7d', '30d']");

    const run = await runFstore(['plan', '--json'], repo);

    const view = changeOf(parseJson<PlanJson>(run), 'feature_view', 'user_transaction_stats');
    expect(run.exitCode).toBe(0);
    expect(view?.breaking).toBe(true);
    expect(view?.details).toEqual([
      'feature amount_mean_14d removed',
      'feature amount_sum_14d removed',
      'feature amount_count_14d removed',
      'feature amount_stddev_14d removed',
    ]);
  });
});

describe('renaming a window without updating the features that use it', () => {
  it('fails plan naming each feature that no longer exists', async () => {
    const repo = await initAppliedRepo(tempRoot);
    await editFile(
      join(repo, 'features.ts'),
      "windows: ['7d', '14d', '30d']",
      "windows: ['7d', '14d', '28d']",
    );

    const run = await runFstore(['plan'], repo);

    const lines = stderrLines(run);
    expect(run.exitCode).toBe(1);
    expect(lines[0]).toBe('error: 3 problems in the definitions:');
    expect(lines.slice(1)).toEqual([
      '  - feature_view "user_transaction_stats", derived.weekly_to_monthly_amount_ratio: unknown feature "amount_sum_30d". Did you mean "amount_sum_14d"?',
      '  - feature_view "user_transaction_stats", derived.weekly_to_monthly_txn_ratio: unknown feature "amount_count_30d". Did you mean "amount_count_14d"?',
      '  - on_demand_feature_view "transaction_amount_ratios", features.amount_to_30d_mean_ratio: view "user_transaction_stats" has no feature "amount_mean_30d". Did you mean "user_transaction_stats:amount_mean_14d"?',
    ]);
    expect(run.stdout).toBe('');
  });
});

describe('changing only the description of user_transaction_stats', () => {
  let plan: CliRun;
  let planJson: PlanJson;
  let apply: CliRun;
  let before: DescribeJson;
  let after: DescribeJson;

  beforeAll(async () => {
    const repo = await initAppliedRepo(tempRoot);
    before = parseJson<DescribeJson>(await runFstore(['describe', 'user_transaction_stats', '--json'], repo));
    await editFile(join(repo, 'features.ts'), USER_STATS_DESCRIPTION, 'What a user spent lately.');
    plan = await runFstore(['plan'], repo);
    planJson = parseJson<PlanJson>(await runFstore(['plan', '--json'], repo));
    apply = await runFstore(['apply'], repo);
    after = parseJson<DescribeJson>(await runFstore(['describe', 'user_transaction_stats', '--json'], repo));
  });

  it('plans a non-breaking change that keeps the version', () => {
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain(
      `  ~ feature_view user_transaction_stats (version ${before.version} unchanged)\n      settings changed: description\n`,
    );
    expect(plan.stdout).not.toContain('BREAKING');
    expect(planJson.changes).toEqual([
      expect.objectContaining({
        name: 'user_transaction_stats',
        action: 'change',
        breaking: false,
        fromVersion: before.version,
        toVersion: before.version,
        changedSettings: ['description'],
      }),
    ]);
  });

  it('applies as a new revision that stores the description but adds no version to the history', () => {
    expect(apply.stdout).toContain('Applied as registry revision 2.');
    expect(after.description).toBe('What a user spent lately.');
    expect(after.version).toBe(before.version);
    expect(after.versionHistory).toEqual(before.versionHistory);
  });
});

describe('failures', () => {
  it.each([
    ['plan', ['plan']],
    ['apply', ['apply']],
    ['list', ['list']],
    ['describe', ['describe', 'user']],
  ])(
    '%s in a folder without fstore.config.ts exits 1 with one line saying how to fix it',
    async (_verb, args) => {
      const cwd = await newFolder(tempRoot);

      const run = await runFstore(args, cwd);

      expect(run.exitCode).toBe(1);
      expect(stderrLines(run)).toEqual([
        `error: no fstore.config.ts in ${cwd}: run fstore in a feature repo, pass --repo DIR, or create one with fstore init DIR`,
      ]);
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('names the file and line of a syntax error in the definitions', async () => {
    const repo = await initRepo(tempRoot);
    const features = join(repo, 'features.ts');
    const original = await readFile(features, 'utf8');
    const brokenLine = original.trimEnd().split('\n').length + 1;
    await writeFile(features, `${original.trimEnd()}\nexport const broken = ;\n`);

    const run = await runFstore(['plan'], repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      `error: cannot compile the feature repo: features.ts:${brokenLine}: Unexpected ";"`,
    ]);
  });

  it('names the files when running the definitions throws, and leaves no compiled bundle behind', async () => {
    const repo = await initRepo(tempRoot);
    await writeFile(join(repo, 'features.ts'), "\nthrow new Error('boom');\n", { flag: 'a' });

    const run = await runFstore(['plan'], repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual(["error: running the feature repo's files (features.ts) failed: boom"]);
    expect((await readdir(repo)).filter((name) => name.startsWith('.fstore-load-'))).toEqual([]);
  });

  it('names a definitions file listed in the config that does not exist', async () => {
    const repo = await initRepo(tempRoot);
    await editFile(
      join(repo, 'fstore.config.ts'),
      "definitions: ['features.ts']",
      "definitions: ['missing.ts']",
    );

    const run = await runFstore(['plan'], repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      `error: definitions file missing.ts (listed in fstore.config.ts) does not exist in ${repo}; create it or fix the list`,
    ]);
  });

  it.each([
    ['plan', ['plan']],
    ['list', ['list']],
  ])('%s rejects an invalid project name with one line naming the setting and a fix', async (_verb, args) => {
    const repo = await initRepo(tempRoot);
    await editFile(join(repo, 'fstore.config.ts'), "project: 'transactions'", "project: 'My Project'");

    const run = await runFstore(args, repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([
      'error: config "My Project", project: "My Project" is not a safe identifier. Name the project with lower-case letters, digits and _, e.g. "my_project".',
    ]);
  });

  describe('a definition that does not validate', () => {
    let repo: string;
    let listBefore: RegistryObject[];
    let apply: CliRun;

    beforeAll(async () => {
      repo = await initAppliedRepo(tempRoot);
      listBefore = parseJson<RegistryObject[]>(await runFstore(['list', '--json'], repo));
      // 14d is the one window nothing else refers to, so the window is the only problem.
      await editFile(
        join(repo, 'features.ts'),
        "windows: ['7d', '14d', '30d']",
        "windows: ['7d', '0d', '30d']",
      );
      apply = await runFstore(['apply'], repo);
    });

    it('fails apply with one line naming the object, the field and the fix', () => {
      expect(apply.exitCode).toBe(1);
      expect(stderrLines(apply)).toEqual([
        'error: feature_view "user_transaction_stats", aggregations[0].windows[1]: window "0d" is not positive. Use a positive duration such as "7d".',
      ]);
      expect(apply.stdout).toBe('');
    });

    it('leaves the registry as it was', async () => {
      const list = await runFstore(['list', '--json'], repo);
      const history = await runFstore(['describe', 'user_transaction_stats', '--json'], repo);

      expect(parseJson<RegistryObject[]>(list)).toEqual(listBefore);
      expect(parseJson<DescribeJson>(history).versionHistory.map((entry) => entry.revision)).toEqual([1]);
    });
  });

  it.each([
    ['before the command', ['--verbose', 'plan']],
    ['after the command', ['plan', '--verbose']],
  ])('adds the stack trace to the error line with --verbose %s', async (_where, args) => {
    const cwd = await newFolder(tempRoot);

    const run = await runFstore(args, cwd);

    const lines = stderrLines(run);
    expect(run.exitCode).toBe(1);
    expect(lines[0]).toBe(
      `error: no fstore.config.ts in ${cwd}: run fstore in a feature repo, pass --repo DIR, or create one with fstore init DIR`,
    );
    expect(lines[1]).toMatch(/^FeatureRepoLoadError: no fstore\.config\.ts in /);
    expect(lines.slice(2).length).toBeGreaterThan(0);
    expect(lines.slice(2).every((line) => line.startsWith('    at '))).toBe(true);
    expect(run.stderr).toContain('loadFeatureRepoConfig');
  });
});

describe('fstore demo', () => {
  it('runs the platform end to end on 100,000 generated transactions, stage by stage, and ends with the time of each', async () => {
    const dir = join(await newFolder(tempRoot), 'd');

    const run = await runFstore(['demo', '--dir', dir], tempRoot);

    const lines = run.stdout.split('\n');
    const stages = lines.filter((line) => line.startsWith('== ')).map((line) => line.slice(3));
    const summary = lines.slice(lines.indexOf('== summary') + 1).filter((line) => line !== '');
    expect(run.exitCode).toBe(0);
    expect(stages).toEqual([
      'init: the transactions example',
      'load and validate the definitions',
      'plan',
      'apply',
      'compute category_transaction_stats into the offline store',
      'compute merchant_transaction_stats into the offline store',
      'compute user_transaction_stats into the offline store',
      'validation summary',
      'materialize every view into the online store',
      'start the local API and the local stream',
      'online features of users 1-3 over HTTP, before the stream',
      'stream a burst of 600 events through the local Kinesis',
      'online features of users 1-3 over HTTP, after the stream',
      'point-in-time training set for fraud_model_v1 from labels.csv',
      'write report.html: histograms, validation, freshness and drift',
      'summary',
    ]);
    expect(run.stdout).toMatch(/with 100,000 generated transactions from \d{4}-\d{2}-\d{2} to now\./);
    expect(run.stdout).toContain('Applied as registry revision 1.');
    for (const view of ['category', 'merchant', 'user']) {
      expect(run.stdout).toMatch(
        new RegExp(
          `${view}_transaction_stats: [\\d,]+ feature rows in \\d+ day partitions; validation: \\d+ passed, 0 failed\\.`,
        ),
      );
    }
    expect(run.stdout).toContain('user_transaction_stats: 99 entities, 99 written');
    expect(run.stdout).toContain(
      '598 events applied online and landed in raw/transactions/ (batch recomputation and training see them); 2 quarantined with their reasons under quarantine/live_transactions/ (one malformed, one too late); 0 failed.',
    );
    const countOfUser1 = (title: string) => {
      const row = lines[lines.indexOf(`== ${title}`) + 2] ?? '';
      expect(row).toMatch(/^1 +[\d.]+ +\d+ +\[.*\] +[\d.]+ +PRESENT$/);
      return Number(row.split(/ +/)[2]);
    };
    // The burst gives user 1 another 120 events within the 7 days.
    expect(countOfUser1('online features of users 1-3 over HTTP, after the stream')).toBe(
      countOfUser1('online features of users 1-3 over HTTP, before the stream') + 120,
    );
    expect(run.stdout).toContain(`2,000 rows x 27 columns written to ${join(dir, 'training_set.parquet')}`);
    expect(summary.slice(0, -2)).toHaveLength(stages.length - 1);
    expect(summary.slice(0, -1).every((line) => / \d+ ms$/.test(line))).toBe(true);
    expect(summary.at(-1)).toBe(
      `Demo repo left in ${dir}; try: npx fstore --repo ${dir} describe fraud_model_v1`,
    );
    expect(existsSync(join(dir, 'labels.csv'))).toBe(true);
    expect(run.stdout).toContain(`Report: ${join(dir, 'report.html')}`);
    const report = await readFile(join(dir, 'report.html'), 'utf8');
    expect(report).toContain('Chart.js');
    expect(report).not.toMatch(/(src|href)="https?:/);
    expect(run.stdout).toMatch(/Most drift between the training set and online now: \w+ PSI [\d.]+ \(\w+\)/);
  });
});

describe('the offline verbs on an applied repo', () => {
  let repo: string;
  beforeAll(async () => {
    repo = await initAppliedRepo(tempRoot);
  });

  it('computes a view into day partitions and ends with a one-line summary', async () => {
    const run = await runFstore(
      ['compute', '--view', 'user_transaction_stats', '--start', '2024-01-01', '--end', '2024-01-04'],
      repo,
    );

    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toMatch(
      /^computed user_transaction_stats version [0-9a-f]{16}: 72 rows in 3 partitions \(3 published, 0 refused by strict validation\) in \d+\.\d s, [\d,]+ rows\/s$/,
    );
    const partitions = await readdir(join(repo, '.fstore', 'offline', 'features', 'user_transaction_stats'), {
      recursive: true,
    });
    expect(partitions.filter((path) => path.endsWith('_manifest.json'))).toHaveLength(3);
  });

  it('validates the published partitions and prints a summary per feature', async () => {
    const run = await runFstore(['validate', '--view', 'user_transaction_stats', '--json'], repo);

    expect(run.exitCode).toBe(0);
    const results = parseJson<{ dt: string; passed: boolean; features: { feature: string }[] }[]>(run);
    expect(results.map((r) => r.dt)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03']);
    expect(results.every((r) => r.passed)).toBe(true);
    expect(results[0]?.features).toHaveLength(17);
  });

  it('builds a training set from a spine file for a feature service', async () => {
    await writeFile(
      join(repo, 'spine.csv'),
      'user_id,merchant_id,category,amount,event_timestamp,label\n5,3,food,120.5,2024-01-05T00:00:00Z,1\n8,9,shopping,3.2,2024-01-06T12:00:00Z,0\n',
    );

    const run = await runFstore(
      [
        'get-historical',
        '--spine',
        'spine.csv',
        '--service',
        'fraud_model_v1',
        '--full-feature-names',
        '--out',
        'train.parquet',
        '--json',
      ],
      repo,
    );
    const short = await runFstore(
      ['get-historical', '--spine', 'spine.csv', '--service', 'fraud_model_v1', '--out', 'short.parquet'],
      repo,
    );

    // The service takes amount_mean_7d from three views: without full names they would share one column.
    expect(short.exitCode).toBe(1);
    expect(short.stderr).toBe(
      'error: feature names collide: amount_mean_7d (user_transaction_stats, merchant_transaction_stats, category_transaction_stats); ask for full feature names (--full-feature-names) to name them view__feature\n',
    );
    expect(run.exitCode).toBe(0);
    const result = parseJson<{ rows: number; columns: string[]; out: string }>(run);
    expect(result.rows).toBe(2);
    expect(result.columns.slice(0, 6)).toEqual([
      'user_id',
      'merchant_id',
      'category',
      'amount',
      'event_timestamp',
      'label',
    ]);
    expect(result.columns).toContain('transaction_amount_ratios__amount_to_30d_mean_ratio');
    expect(result.out).toBe(join(repo, 'train.parquet'));
  });

  it.each([
    [
      ['compute', '--view', 'user_stats', '--start', '2024-01-01', '--end', '2024-01-02'],
      'error: there is no feature view "user_stats"; the views are category_transaction_stats, merchant_transaction_stats, user_transaction_stats',
    ],
    [
      ['compute', '--view', 'user_transaction_stats', '--start', '2024-01-02', '--end', '2024-01-01'],
      'error: the range 2024-01-02T00:00:00.000Z .. 2024-01-01T00:00:00.000Z is empty; give a start before the end',
    ],
    [
      [
        'get-historical',
        '--spine',
        'missing.csv',
        '--features',
        'user_transaction_stats:amount_sum_7d',
        '--out',
        'x.parquet',
      ],
      'error: spine file missing.csv does not exist',
    ],
  ])('fails %j with one line', async (args, message) => {
    const run = await runFstore(args, repo);

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)).toEqual([message.replace('missing.csv', join(repo, 'missing.csv'))]);
  });

  it('refuses to compute a view edited since the last apply', async () => {
    const edited = await initAppliedRepo(tempRoot);
    await editFile(
      join(edited, 'features.ts'),
      "windows: ['1d', '7d'] }],\n  ttl: '30d',\n  schedule: 'rate(1 hour)',\n  description: \"A merchant's",
      "windows: ['1d', '3d', '7d'] }],\n  ttl: '30d',\n  schedule: 'rate(1 hour)',\n  description: \"A merchant's",
    );

    const run = await runFstore(
      ['compute', '--view', 'merchant_transaction_stats', '--start', '2024-01-01', '--end', '2024-01-02'],
      edited,
    );

    expect(run.exitCode).toBe(1);
    expect(stderrLines(run)[0]).toMatch(
      /^error: feature view "merchant_transaction_stats" changed since the last apply \(applied version [0-9a-f]{16}, definitions now [0-9a-f]{16}\); run fstore apply first$/,
    );
  });
});

describe('the online verbs on an applied repo', () => {
  let repo: string;
  let run: CliRun;
  beforeAll(async () => {
    repo = await initAppliedRepo(tempRoot);
    run = await runFstore(['materialize', '--end', '2024-01-03'], repo);
  });

  it('materializes every online view as of --end and ends with a one-line summary', () => {
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3).map((line) => line.replace(/version [0-9a-f]{16}/, 'version V'))).toEqual([
      expect.stringMatching(
        /^materialized category_transaction_stats version V: \d+ entities, \d+ written, 0 already as new$/,
      ),
      expect.stringMatching(
        /^materialized merchant_transaction_stats version V: \d+ entities, \d+ written, 0 already as new$/,
      ),
      expect.stringMatching(
        /^materialized user_transaction_stats version V: \d+ entities, \d+ written, 0 already as new$/,
      ),
    ]);
    expect(lines[3]).toMatch(/^as of 2024-01-03T00:00:00\.000Z: \d+ items in \d+\.\d s \([\d,]+ items\/s\)$/);
  });

  it('writes nothing when the same materialization runs again', async () => {
    const run = await runFstore(
      ['materialize', '--end', '2024-01-03', '--views', 'user_transaction_stats', '--json'],
      repo,
    );

    expect(run.exitCode).toBe(0);
    const result = parseJson<{ views: { view: string; items: number; written: number; skipped: number }[] }>(
      run,
    );
    expect(result.views).toHaveLength(1);
    expect(result.views[0]?.written).toBe(0);
    expect(result.views[0]?.skipped).toBe(result.views[0]?.items);
    expect(result.views[0]?.items).toBeGreaterThan(0);
  });

  /** The user of the first generated transaction, which every materialization above includes. */
  async function firstUser(): Promise<number> {
    const csv = await readFile(join(repo, 'data', 'transactions.csv'), 'utf8');
    return Number(csv.split('\n')[1]?.split(',')[0]);
  }

  it('reads online features as the HTTP API serves them, an unknown user as NOT_FOUND', async () => {
    const user = await firstUser();
    const run = await runFstore(
      [
        'get-online',
        '--features',
        'user_transaction_stats:amount_count_30d,user_transaction_stats:last_3_amounts',
        '--entity',
        `user_id=${user},999999`,
        '--json',
      ],
      repo,
    );

    expect(run.exitCode).toBe(0);
    const response = parseJson<{
      metadata: { feature_names: string[] };
      results: { values: unknown[]; statuses: string[] }[];
    }>(run);
    expect(response.metadata.feature_names).toEqual(['user_id', 'amount_count_30d', 'last_3_amounts']);
    expect(response.results[0]?.values).toEqual([user, 999999]);
    expect(response.results[2]?.statuses).toEqual(['PRESENT', 'NOT_FOUND']);
    expect((response.results[2]?.values[0] as number[] | undefined)?.length).toBeGreaterThan(0);
    expect(response.results[2]?.values[1]).toEqual([]);
  });

  it('prints online features as a table by default, a value not present as its status', async () => {
    const run = await runFstore(
      ['get-online', '--features', 'user_transaction_stats:amount_count_30d', '--entity', 'user_id=999999'],
      repo,
    );

    expect(run.exitCode).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toEqual(['user_id  amount_count_30d', '999999   NOT_FOUND']);
  });

  it('fails materialize with one line naming a missing source file, before writing anything', async () => {
    const other = await initAppliedRepo(tempRoot);
    await rm(join(other, 'data', 'transactions.csv'));

    const failed = await runFstore(['materialize', '--end', '2024-01-03'], other);

    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe(
      `error: source "transactions": ${join(other, 'data', 'transactions.csv')} does not exist; create it or fix the source's path\n`,
    );
  });

  it('fails get-online for an unknown feature with one line suggesting the closest', async () => {
    const run = await runFstore(
      ['get-online', '--features', 'user_transaction_stats:amount_sum_7', '--entity', 'user_id=1'],
      repo,
    );

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'error: unknown features: user_transaction_stats:amount_sum_7 (did you mean user_transaction_stats:amount_sum_7d?)\n',
    );
  });

  it('continues materialize-incremental from where the last run of each view stopped', async () => {
    const first = await runFstore(['materialize-incremental', '--end', '2024-01-02', '--json'], repo);
    const second = await runFstore(['materialize-incremental', '--end', '2024-01-04', '--json'], repo);
    const third = await runFstore(['materialize-incremental', '--end', '2024-01-04'], repo);

    expect([first.exitCode, second.exitCode, third.exitCode]).toEqual([0, 0, 0]);
    const starts = (run: CliRun) =>
      parseJson<{ views: { start?: string }[] }>(run).views.map((view) => view.start ?? null);
    expect(starts(first)).toEqual([null, null, null]);
    expect(starts(second)).toEqual(Array(3).fill('2024-01-02T00:00:00.000Z'));
    expect(third.stdout).toContain(
      '(entities with rows since 2024-01-04T00:00:00.000Z): 0 entities, 0 written',
    );
  });
});

/** Two events of one user a minute ago, and a line that is not JSON. */
function streamedEvents(userId: number): string {
  const at = new Date(Date.now() - 60_000).toISOString();
  const event = (amount: number) =>
    JSON.stringify({ user_id: userId, merchant_id: 7, amount, category: 'food', transaction_date: at });
  return `${event(10)}\n${event(20)}\nnot json\n`;
}

/** Polls the API until a user's 7-day count reaches `expected` (streaming is asynchronous), or 10 s pass. */
async function waitForValue(url: string, userId: number, expected: number): Promise<unknown> {
  let value: unknown;
  for (const started = Date.now(); Date.now() - started < 10_000; ) {
    const reply = await fetch(`${url}/get-online-features`, {
      method: 'POST',
      body: JSON.stringify({
        features: ['user_transaction_stats:amount_count_7d'],
        entities: { user_id: [userId] },
      }),
    });
    value = ((await reply.json()) as { results: { values: unknown[] }[] }).results[1]?.values[0];
    if (value === expected) return value;
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return value;
}

describe('fstore ingest', () => {
  it('without a running serve, runs the local stream itself: applies good lines, quarantines bad ones, and says so', async () => {
    const repo = await initAppliedRepo(tempRoot);
    const eventsFile = join(repo, 'events.jsonl');
    await writeFile(eventsFile, streamedEvents(555555));

    const run = await runFstore(['ingest', '--file', eventsFile, '--json'], repo);
    const online = await runFstore(
      [
        'get-online',
        '--features',
        'user_transaction_stats:amount_sum_7d',
        '--entity',
        'user_id=555555',
        '--json',
      ],
      repo,
    );

    expect(run.exitCode).toBe(0);
    expect(parseJson(run)).toMatchObject({
      records: 3,
      stream: 'transactions',
      via: 'in-process',
      applied: 2,
      quarantined: 1,
      failed: 0,
    });
    expect(parseJson<{ results: { values: unknown[] }[] }>(online).results[1]?.values).toEqual([30]);
    expect(readdirSync(join(repo, '.fstore', 'offline', 'quarantine', 'live_transactions'))).toHaveLength(1);
  });

  it('refuses an unknown source with the closest name, and an empty file', async () => {
    const repo = await initAppliedRepo(tempRoot);
    const eventsFile = join(repo, 'events.jsonl');
    await writeFile(eventsFile, streamedEvents(1));
    await writeFile(join(repo, 'empty.jsonl'), '\n');

    const unknown = await runFstore(['ingest', '--file', eventsFile, '--source', 'live_transaction'], repo);
    const empty = await runFstore(['ingest', '--file', join(repo, 'empty.jsonl')], repo);

    expect(unknown.stderr).toBe(
      'error: there is no Kinesis source "live_transaction"; did you mean "live_transactions"?\n',
    );
    expect(empty.stderr).toBe(
      `error: ${join(repo, 'empty.jsonl')} holds no events; write one JSON object per line\n`,
    );
  });
});

describe('fstore serve', () => {
  it('serves the HTTP API (reads and pushes), shares its local DynamoDB with other commands and stops cleanly on SIGTERM', async () => {
    const repo = await initAppliedRepo(tempRoot);
    expect((await runFstore(['materialize', '--end', '2024-01-03'], repo)).exitCode).toBe(0);
    const child = spawn(process.execPath, [FSTORE_BIN, 'serve', '--port', '0', '--max-entity-rows', '2'], {
      cwd: repo,
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${stdout}`)), 120_000);
        child.stdout.on('data', () => {
          const match = /fstore serve: (http:\/\/127\.0\.0\.1:\d+) /.exec(stdout);
          if (match?.[1]) {
            clearTimeout(timer);
            resolveUrl(match[1]);
          }
        });
      });

      const health = await fetch(`${url}/health`);
      const read = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        body: JSON.stringify({
          features: ['user_transaction_stats:amount_count_30d'],
          entities: { user_id: [999999] },
        }),
      });
      const tooMany = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        body: JSON.stringify({
          features: ['user_transaction_stats:amount_count_30d'],
          entities: { user_id: [1, 2, 3] },
        }),
      });
      const cli = await runFstore(
        ['get-online', '--features', 'user_transaction_stats:amount_count_30d', '--entity', 'user_id=999999'],
        repo,
      );
      const pushed = await fetch(`${url}/push`, {
        method: 'POST',
        body: JSON.stringify({
          push_source_name: 'transactions',
          df: {
            user_id: [888888],
            transaction_date: [new Date(Date.now() - 60_000).toISOString()],
            amount: [12.5],
            category: ['food'],
            merchant_id: [7],
          },
        }),
      });
      const afterPush = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        body: JSON.stringify({
          features: ['user_transaction_stats:amount_sum_7d'],
          entities: { user_id: [888888] },
        }),
      });
      const second = await runFstore(['serve', '--port', '0'], repo);
      const eventsFile = join(repo, 'events.jsonl');
      await writeFile(eventsFile, streamedEvents(777777));
      const ingested = await runFstore(['ingest', '--file', eventsFile], repo);
      const afterStream = await waitForValue(url, 777777, 2);

      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', registry_revision: 1 });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { results: { statuses: string[] }[] }).results[1]?.statuses).toEqual([
        'NOT_FOUND',
      ]);
      expect(tooMany.status).toBe(400);
      // Errors are Feast's error detail as a JSON string, fstore's code in it.
      const detail = JSON.parse((await tooMany.json()) as string) as { error: { code: string } };
      expect(detail.error.code).toBe('TOO_MANY_ROWS');
      expect(cli.exitCode).toBe(0);
      expect(await pushed.json()).toEqual({ rows: 1, online_items: 3, offline_rows: 0 });
      expect(((await afterPush.json()) as { results: { values: unknown[] }[] }).results[1]?.values).toEqual([
        12.5,
      ]);
      expect(ingested.stdout).toMatch(
        /^Put 3 records on stream transactions in \d+\.\d s; fstore serve applies them\.\n$/,
      );
      expect(afterStream).toBe(2);
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(
        /^error: fstore serve already runs for this repo \(pid \d+, http:\/\/127\.0\.0\.1:\d+\); use it, or stop it first\n$/,
      );

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout.trimEnd().split('\n').at(-1)).toBe('fstore serve stopped.');
      expect(existsSync(join(repo, '.fstore', 'serve.json'))).toBe(false);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
