import { Command, CommanderError, Option } from 'commander';
import { DefinitionValidationError } from '../definitions/definition-errors.js';
import { DEFINITION_KINDS, type DefinitionKind } from '../definitions/feature-repo.js';
import { FstoreError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { findObjects } from '../registry/discovery.js';
import { loadFeatureRepo, loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import { runDemo } from './demo.js';
import { formatObjectDescription, formatObjectList } from './format-catalog.js';
import { formatApplyResult, formatPlan } from './format-plan.js';
import { registerIngestCommand } from './ingest-command.js';
import { initFeatureRepo } from './init-feature-repo.js';
import { registerOfflineCommands } from './offline-commands.js';
import { registerOnlineCommands } from './online-commands.js';
import { withRegistry } from './open-registry.js';
import { integer, positiveInteger } from './option-parsers.js';
import { registerServeCommand } from './serve-command.js';

/** Where the CLI writes; tests pass their own. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

interface GlobalOptions {
  repo: string;
  verbose?: boolean;
}

/** The `fstore` command line. Only verbs that work are listed; later ones arrive with their features. */
export function buildProgram(output: CliOutput): Command {
  const program = new Command('fstore')
    .description(
      'An AWS-native feature store: declare features once, get the same values offline, online and from streams.',
    )
    .version(packageVersion())
    .option('-r, --repo <dir>', 'feature repo folder (holding fstore.config.ts)', process.cwd())
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError('(run fstore --help for usage)')
    .configureOutput({ writeOut: output.out, writeErr: output.err })
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  const print = (text: string) => output.out(`${text}\n`);
  const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

  program
    .command('init')
    .description('create a feature repo from the transactions example, with generated data')
    .argument('<dir>', 'folder to create')
    .option('--rows <n>', 'transactions to generate', positiveInteger, 10_000)
    .option('--users <n>', 'distinct users', positiveInteger, 99)
    .option('--seed <n>', 'random seed; the same seed gives the same data', integer, 42)
    .option('--force', 'write into a folder that is not empty')
    .action(async (dir: string, options: { rows: number; users: number; seed: number; force?: boolean }) => {
      const result = await initFeatureRepo(dir, options);
      print(
        `Created feature repo in ${result.dir}: ${result.files.join(', ')} (${result.rows} transactions).`,
      );
      print(`Next: cd ${dir} && fstore plan && fstore apply`);
    });

  program
    .command('plan')
    .description('show what apply would change in the registry, and which changes are breaking')
    .option('--json', 'print the plan as JSON')
    .action(async (options: { json?: boolean }) => {
      const repo = await loadFeatureRepo(globals().repo);
      const plan = await withRegistry(repo.config, repo.dir, (registry) => registry.plan(repo.validated));
      const { project, baseRevision, changes } = plan;
      if (options.json) printJson({ project, baseRevision, changes });
      else print(formatPlan(plan));
    });

  program
    .command('apply')
    .description('validate the definitions and store them as a new registry revision')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const repo = await loadFeatureRepo(globals().repo);
      const result = await withRegistry(repo.config, repo.dir, (registry) => registry.apply(repo.validated));
      const { project, revision, baseRevision, changes } = result;
      if (options.json) printJson({ project, revision, baseRevision, changes });
      else print(formatApplyResult(result));
    });

  program
    .command('list')
    .description('list applied objects; filter to search the catalog')
    .addOption(new Option('--kind <kind>', 'only objects of this kind').choices(DEFINITION_KINDS))
    .option('--search <text>', 'text in a name, description, tag or feature name')
    .option('--tag <tag>', 'objects with this tag: key or key=value')
    .option('--owner <owner>', 'objects with this owner')
    .option('--entity <entity>', 'views (and services) about this entity')
    .option('--json', 'print the objects as JSON')
    .action(
      async (options: {
        kind?: DefinitionKind;
        search?: string;
        tag?: string;
        owner?: string;
        entity?: string;
        json?: boolean;
      }) => {
        const { json, ...filter } = options;
        const objects = await readAppliedObjects(globals().repo);
        const found = findObjects(objects, filter);
        if (json) printJson(found);
        else print(formatObjectList(found));
      },
    );

  program
    .command('describe')
    .description('show one applied object: features, lineage, version history')
    .argument('<name>', 'name of a feature view, entity, source or feature service')
    .addOption(
      new Option('--kind <kind>', 'the kind, when several objects share the name').choices(DEFINITION_KINDS),
    )
    .option('--json', 'print as JSON')
    .action(async (name: string, options: { kind?: DefinitionKind; json?: boolean }) => {
      const config = await loadFeatureRepoConfig(globals().repo);
      await withRegistry(config, globals().repo, async (registry) => {
        const objects = (await registry.current())?.objects ?? [];
        const matches = objects.filter((o) => o.name === name && (!options.kind || o.kind === options.kind));
        if (matches.length === 0) {
          const names = objects.map((o) => o.name);
          throw new FstoreError(
            `no applied object is named "${name}"${names.length > 0 ? `; applied: ${names.join(', ')}` : '; run fstore apply first'}`,
          );
        }
        if (matches.length > 1) {
          throw new FstoreError(
            `several objects are named "${name}" (${matches.map((o) => o.kind).join(', ')}); pass --kind`,
          );
        }
        const object = matches[0] as (typeof matches)[number];
        const history = await registry.versionHistory(object.kind, object.name);
        if (options.json) printJson({ ...object, versionHistory: history });
        else print(formatObjectDescription(object, objects, history));
      });
    });

  const commandOutput = { print, printJson, progress: output.err, repoDir: () => globals().repo };
  registerOfflineCommands(program, commandOutput);
  registerOnlineCommands(program, commandOutput);
  registerServeCommand(program, commandOutput);
  registerIngestCommand(program, commandOutput);

  program
    .command('demo')
    .description(
      'the whole platform end to end on the embedded default: generate, apply, compute, validate, materialize, serve, stream, train',
    )
    .option('--dir <dir>', 'folder for the demo repo (default: a new temp folder)')
    .option('--rows <n>', 'transactions to generate', positiveInteger, 100_000)
    .action(async (options: { dir?: string; rows: number }) => {
      await runDemo({ ...options, print, progress: output.err });
    });

  return program;
}

async function readAppliedObjects(repoDir: string) {
  const config = await loadFeatureRepoConfig(repoDir);
  return withRegistry(config, repoDir, async (registry) => (await registry.current())?.objects ?? []);
}

/**
 * Runs the CLI and gives the exit code: 0 on success, 2 for usage errors, 1 for failures. Expected
 * failures print one line; `--verbose` adds the stack.
 */
export async function runCli(argv: readonly string[], output: CliOutput): Promise<number> {
  const program = buildProgram(output);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for (--help) and --version succeed; help shown because no command was given is a usage error.
      const asked = ['commander.helpDisplayed', 'commander.version'].includes(error.code);
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    const verbose = argv.includes('--verbose');
    if (error instanceof DefinitionValidationError || error instanceof FstoreError) {
      output.err(`error: ${error.message}\n`);
    } else {
      output.err(
        `error: ${(error as Error)?.message ?? String(error)}${verbose ? '' : ' (run with --verbose for details)'}\n`,
      );
    }
    if (verbose && error instanceof Error && error.stack) output.err(`${error.stack}\n`);
    return EXIT_FAILURE;
  }
}
