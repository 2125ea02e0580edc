import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeTransactionsCsv } from '../../examples/transactions/generate-transactions.js';
import { FstoreError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { CONFIG_FILE } from '../repo/load-feature-repo.js';

export interface InitOptions {
  /** Rows of generated transactions. @default 10_000 */
  readonly rows?: number;
  /** @default 99 */
  readonly users?: number;
  /** @default 42 */
  readonly seed?: number;
  /** First event time. @default 2024-01-01T00:00:00Z */
  readonly start?: Date;
  /** Average spacing between events, in milliseconds. @default one hour */
  readonly intervalMs?: number;
  /** Write into a folder that already has files. @default false */
  readonly force?: boolean;
}

export interface InitResult {
  readonly dir: string;
  readonly rows: number;
  readonly files: readonly string[];
}

const TEMPLATE_FILES = ['features.ts', CONFIG_FILE];

/**
 * Creates a feature repo from the transactions example: its definitions and config, a tsconfig that
 * points editors at this library's types, and generated transactions in data/transactions.csv.
 */
export async function initFeatureRepo(dir: string, options: InitOptions = {}): Promise<InitResult> {
  const target = resolve(dir);
  if (existsSync(target) && !(await stat(target)).isDirectory()) {
    throw new FstoreError(`${target} is a file, not a folder; choose a folder for the new feature repo`);
  }
  if (existsSync(target) && (await readdir(target)).length > 0 && !options.force) {
    throw new FstoreError(`${target} is not empty; choose a new folder or pass --force to write into it`);
  }
  await mkdir(target, { recursive: true });
  const root = packageRoot();
  const template = join(root, 'examples', 'transactions');
  for (const file of TEMPLATE_FILES) await copyFile(join(template, file), join(target, file));
  await writeFile(join(target, 'tsconfig.json'), `${JSON.stringify(editorTsconfig(root), null, 2)}\n`);
  await writeFile(join(target, '.gitignore'), '.fstore/\n');
  const rows = await writeTransactionsCsv(join(target, 'data', 'transactions.csv'), options);
  return {
    dir: target,
    rows,
    files: [...TEMPLATE_FILES, 'tsconfig.json', '.gitignore', 'data/transactions.csv'],
  };
}

/** Type checking for the repo's files; `paths` lets editors complete names from this library. */
function editorTsconfig(root: string): object {
  return {
    compilerOptions: {
      target: 'ES2023',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      typeRoots: [join(root, 'node_modules', '@types')],
      paths: { fstore: [join(root, 'lib', 'index.ts')] },
    },
    include: ['*.ts'],
  };
}
