import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { type FeatureRepoConfig, parseFeatureRepoConfig } from '../definitions/config.js';
import { collectDefinitions, type FeatureRepo } from '../definitions/feature-repo.js';
import { type ValidatedFeatureRepo, validateFeatureRepo } from '../definitions/validate-feature-repo.js';
import { FstoreError } from '../errors.js';

export const CONFIG_FILE = 'fstore.config.ts';

/** A feature repo read from disk: where it is, its settings, and its validated definitions. */
export interface LoadedFeatureRepo {
  readonly dir: string;
  readonly config: FeatureRepoConfig;
  readonly validated: ValidatedFeatureRepo;
}

/** The repo's files could not be found, compiled or run. */
export class FeatureRepoLoadError extends FstoreError {
  override readonly name = 'FeatureRepoLoadError';
}

/**
 * Where `import ... from 'fstore'` in a repo's files points: this very library, whether it runs from
 * the TypeScript sources (tests) or from dist/. Loading definitions through the running library means
 * a repo needs no install of its own.
 */
const LIBRARY_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../index.ts' : '../index.js', import.meta.url),
);

/** Reads and validates `fstore.config.ts`. */
export async function loadFeatureRepoConfig(dir: string): Promise<FeatureRepoConfig> {
  const repoDir = resolve(dir);
  const configPath = join(repoDir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new FeatureRepoLoadError(
      `no ${CONFIG_FILE} in ${repoDir}: run fstore in a feature repo, pass --repo DIR, or create one with fstore init DIR`,
    );
  }
  const module = await importTypeScript(repoDir, [CONFIG_FILE]);
  return parseFeatureRepoConfig((module[0] as { default?: unknown } | undefined)?.default);
}

/** Reads a feature repo: its config, then every definition file it lists, then validates them together. */
export async function loadFeatureRepo(dir: string): Promise<LoadedFeatureRepo> {
  const repoDir = resolve(dir);
  const config = await loadFeatureRepoConfig(repoDir);
  for (const file of config.definitions) {
    if (!existsSync(join(repoDir, file))) {
      throw new FeatureRepoLoadError(
        `definitions file ${file} (listed in ${CONFIG_FILE}) does not exist in ${repoDir}; create it or fix the list`,
      );
    }
  }
  const modules = await importTypeScript(repoDir, config.definitions);
  const repo: FeatureRepo = collectDefinitions(modules.flatMap((module) => Object.values(module)));
  return { dir: repoDir, config, validated: validateFeatureRepo(repo) };
}

/**
 * Compiles the given TypeScript files into one ES module (so objects shared between files stay one
 * object) and imports it. The bundle is written inside the repo for a moment, so the repo's own
 * package imports resolve from there, and removed right after.
 */
async function importTypeScript(
  repoDir: string,
  files: readonly string[],
): Promise<Record<string, unknown>[]> {
  const entry = files
    .map((file, index) => `export * as m${index} from ${JSON.stringify(`./${file}`)};`)
    .join('\n');
  let code: string;
  try {
    const result = await build({
      stdin: { contents: entry, resolveDir: repoDir, sourcefile: '<fstore definitions>', loader: 'ts' },
      absWorkingDir: repoDir,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      plugins: [
        {
          name: 'fstore-library',
          setup(pluginBuild) {
            pluginBuild.onResolve({ filter: /^fstore$/ }, () => ({
              path: pathToFileURL(LIBRARY_ENTRY).href,
              external: true,
            }));
          },
        },
      ],
    });
    code = result.outputFiles[0]?.text ?? '';
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new FeatureRepoLoadError(
      `cannot compile the feature repo: ${where}${first?.text ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
  const bundlePath = join(repoDir, `.fstore-load-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
  await writeFile(bundlePath, code);
  try {
    const module = (await import(pathToFileURL(bundlePath).href)) as Record<string, Record<string, unknown>>;
    return files.map((_, index) => module[`m${index}`] ?? {});
  } catch (error) {
    throw new FeatureRepoLoadError(
      `running the feature repo's files (${files.join(', ')}) failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await rm(bundlePath, { force: true });
  }
}
