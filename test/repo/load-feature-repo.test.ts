import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DefinitionValidationError } from '../../lib/definitions/definition-errors.js';
import { FeatureRepoLoadError, loadFeatureRepo } from '../../lib/repo/load-feature-repo.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-load-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const config = (body = "project: 'shop'") =>
  `import { defineConfig } from 'fstore';\nexport default defineConfig({ ${body} });\n`;

const entities = `import { entity } from 'fstore';
export const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
`;

const views = `import { batchSource, featureView } from 'fstore';
import { user } from './entities.ts';
export const events = batchSource({
  name: 'events', path: 'events.parquet', timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});
export const spend = featureView({
  name: 'spend', entities: [user], source: events,
  aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
});
`;

describe('loadFeatureRepo', () => {
  it('loads the example repo with its config and every view', async () => {
    const loaded = await loadFeatureRepo('examples/transactions');

    expect(loaded.config).toEqual({
      project: 'transactions',
      definitions: ['features.ts'],
      provider: 'local',
      local: { dataDir: '.fstore' },
      aws: undefined,
    });
    expect([...loaded.validated.features.keys()].sort()).toEqual([
      'category_transaction_stats',
      'merchant_transaction_stats',
      'transaction_amount_ratios',
      'user_transaction_stats',
    ]);
  });

  it('keeps an entity shared by two definition files one object, so references resolve', async () => {
    await writeFile(
      join(dir, 'fstore.config.ts'),
      config("project: 'shop', definitions: ['entities.ts', 'views.ts']"),
    );
    await writeFile(join(dir, 'entities.ts'), entities);
    await writeFile(join(dir, 'views.ts'), views);

    const loaded = await loadFeatureRepo(dir);

    expect(loaded.validated.repo.entities).toHaveLength(1);
    expect(loaded.validated.features.get('spend')?.map((f) => f.name)).toEqual(['amount_sum_7d']);
  });

  it('leaves no compiled file behind in the repo', async () => {
    await writeFile(
      join(dir, 'fstore.config.ts'),
      config("project: 'shop', definitions: ['entities.ts', 'views.ts']"),
    );
    await writeFile(join(dir, 'entities.ts'), entities);
    await writeFile(join(dir, 'views.ts'), views);

    await loadFeatureRepo(dir);

    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).sort()).toEqual(['entities.ts', 'fstore.config.ts', 'views.ts']);
  });

  it('says how to fix a folder without a config', async () => {
    await expect(loadFeatureRepo(dir)).rejects.toThrow(
      new FeatureRepoLoadError(
        `no fstore.config.ts in ${dir}: run fstore in a feature repo, pass --repo DIR, or create one with fstore init DIR`,
      ),
    );
  });

  it('names a missing definitions file', async () => {
    await writeFile(join(dir, 'fstore.config.ts'), config("project: 'shop', definitions: ['nope.ts']"));

    await expect(loadFeatureRepo(dir)).rejects.toThrow(
      `definitions file nope.ts (listed in fstore.config.ts) does not exist in ${dir}; create it or fix the list`,
    );
  });

  it('names the file and line of a syntax error', async () => {
    await writeFile(join(dir, 'fstore.config.ts'), config());
    await writeFile(
      join(dir, 'features.ts'),
      "import { entity } from 'fstore';\n\nexport const user = entity({ name: 'user', \n",
    );

    const error = await loadFeatureRepo(dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FeatureRepoLoadError);
    expect((error as Error).message).toMatch(
      /^cannot compile the feature repo: features\.ts:4: Expected identifier but found end of file$/,
    );
  });

  it('reports an error thrown while the definitions run', async () => {
    await writeFile(join(dir, 'fstore.config.ts'), config());
    await writeFile(join(dir, 'features.ts'), "throw new Error('boom');\n");

    await expect(loadFeatureRepo(dir)).rejects.toThrow(
      "running the feature repo's files (features.ts) failed: boom",
    );
  });

  it.each([
    [
      "project: 'My Shop'",
      'config "My Shop", project: "My Shop" is not a safe identifier. Name the project with lower-case letters, digits and _, e.g. "my_shop".',
    ],
    [
      "project: 'shop', provider: 'gcp' as never",
      'config "shop", provider: "gcp" is not a provider. Use \'local\' (embedded, the default) or \'aws\'.',
    ],
    [
      "project: 'shop', provider: 'aws'",
      '3 problems in the definitions:\n  - config "shop", aws.bucket: is required when provider is aws. Copy it from the outputs of `cdk deploy`.\n  - config "shop", aws.glueDatabase: is required when provider is aws. Copy it from the outputs of `cdk deploy`.\n  - config "shop", aws.onlineTable: is required when provider is aws. Copy it from the outputs of `cdk deploy`.',
    ],
  ])('rejects the config { %s } with a message naming the setting', async (body, message) => {
    await writeFile(join(dir, 'fstore.config.ts'), config(body));

    const error = await loadFeatureRepo(dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DefinitionValidationError);
    expect((error as Error).message).toBe(message);
  });
});
