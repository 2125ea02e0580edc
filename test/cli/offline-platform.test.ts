import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { openOfflinePlatform } from '../../lib/cli/offline-platform.js';
import { latestFeaturesSql, perEventFeaturesSql } from '../../lib/compute/feature-queries.js';
import { onlineStateLayout } from '../../lib/compute/online-state.js';
import { onlineStateSourceRowsSql, onlineStateSql } from '../../lib/compute/online-state-sql.js';
import { ATHENA_DIALECT } from '../../lib/compute/sql-dialect.js';
import { parseFeatureRepoConfig } from '../../lib/definitions/config.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import { athenaSourceRelation } from '../../lib/stores/athena-source.js';
import { DuckDBEngine } from '../../lib/stores/duckdb-engine.js';
import { duckdbSourceRelation } from '../../lib/stores/duckdb-source.js';
import { landRawRows } from '../../lib/stores/raw-landing.js';
import { assertValidTrinoSql } from '../support/trino-sql.js';

const validated = validateFeatureRepo(collectDefinitions(Object.values(transactions)));
const source = transactions.transactions;
const relation = athenaSourceRelation(source, 'fstore_db');
const computations = validated.repo.featureViews.map((view) => ({
  view,
  features: validated.features.get(view.name) ?? [],
  sourceRelation: relation,
}));
const range = { start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-02-02T00:00:00Z') };

// Node 20 here; the SDK's upgrade notice is noise in the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-platform-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the Athena source relation', () => {
  it('reads the raw Glue table, one row per record id, rows without one all kept and never numbered', () => {
    const columns = '"user_id", "transaction_date", "amount", "category", "merchant_id"';
    expect(relation).toBe(
      `(SELECT ${columns} FROM "fstore_db"."raw_transactions" WHERE "_record_id" IS NULL UNION ALL SELECT ${columns} FROM (SELECT ${columns}, row_number() OVER (PARTITION BY "_record_id") AS "__record_copy" FROM "fstore_db"."raw_transactions" WHERE "_record_id" IS NOT NULL) AS landed_rows WHERE "__record_copy" = 1) AS source_rows`,
    );
  });

  it.each(computations.map((c) => [c.view.name, c] as const))(
    'parses as Trino SQL in every query of %s',
    (_, computation) => {
      const layout = onlineStateLayout(computation.view, computation.features);
      assertValidTrinoSql(perEventFeaturesSql(computation, range, ATHENA_DIALECT));
      assertValidTrinoSql(latestFeaturesSql(computation, range.end, ATHENA_DIALECT));
      assertValidTrinoSql(onlineStateSql(computation, layout, range.end, ATHENA_DIALECT));
      assertValidTrinoSql(onlineStateSourceRowsSql(computation, layout, range.end, ATHENA_DIALECT));
    },
  );

  it('keeps the same rows when the same text runs on DuckDB', async () => {
    const engine = await DuckDBEngine.create({ threads: 1 });
    try {
      await engine.run('CREATE SCHEMA fstore_db');
      await engine.run(
        `CREATE TABLE fstore_db.raw_transactions AS SELECT * FROM (VALUES
          (1, TIMESTAMP '2024-02-01 10:00:00', 5.0, 'food', 3, NULL, '2024-02-01'),
          (1, TIMESTAMP '2024-02-01 10:00:00', 5.0, 'food', 3, NULL, '2024-02-01'),
          (2, TIMESTAMP '2024-02-01 11:00:00', 7.0, 'food', 3, 's:1', '2024-02-01'),
          (2, TIMESTAMP '2024-02-01 11:00:00', 7.0, 'food', 3, 's:1', '2024-02-01'),
          (3, TIMESTAMP '2024-02-01 12:00:00', 9.0, 'food', 3, 's:2', '2024-02-01')
        ) AS t(user_id, transaction_date, amount, category, merchant_id, _record_id, dt)`,
      );

      const rows = await engine.query(`SELECT * FROM ${relation} ORDER BY user_id`);

      expect(rows.map((row) => row.user_id)).toEqual([1, 1, 2, 3]);
      expect(Object.keys(rows[0] ?? {})).toEqual(Object.keys(source.schema));
    } finally {
      await engine.close();
    }
  });
});

describe('openOfflinePlatform', () => {
  it('reads sources through the deduplicating Athena relation on aws', async () => {
    const config = parseFeatureRepoConfig({
      project: 'transactions',
      provider: 'aws',
      aws: {
        region: 'us-east-1',
        bucket: 'feature-bucket',
        glueDatabase: 'fstore_db',
        onlineTable: 'online',
      },
    });
    const platform = await openOfflinePlatform(config, dir);
    try {
      const view = validated.repo.featureViews[0];
      if (!view) throw new Error('the example has feature views');
      expect(platform.sourceRelation(view)).toBe(relation);
    } finally {
      await platform.close();
    }
  });

  it('adds the rows landed in the local offline store to the declared data, from the first landed file on', async () => {
    const repo = join(dir, 'repo');
    await mkdir(join(repo, 'data'), { recursive: true });
    await writeFile(
      join(repo, 'data', 'transactions.csv'),
      'user_id,transaction_date,amount,category,merchant_id\n1,2024-02-01T10:00:00Z,5,food,3\n',
    );
    const platform = await openOfflinePlatform(parseFeatureRepoConfig({ project: 'transactions' }), repo);
    try {
      const view = validated.repo.featureViews.find((v) => v.source === source);
      if (!view) throw new Error('the example has a view over transactions');
      expect(platform.store.root).toBe(join(repo, '.fstore', 'offline'));
      expect(platform.sourceRelation(view)).toBe(duckdbSourceRelation(source, repo));

      const ts = Date.parse('2024-02-01T11:00:00Z');
      const values = { user_id: 2, transaction_date: ts, amount: 7, category: 'food', merchant_id: 3 };
      await landRawRows(platform.store, source, [{ ts, recordId: 's:1', values }], 'a');
      await landRawRows(platform.store, source, [{ ts, recordId: 's:1', values }], 'b');

      const rows = await platform.engine.query(
        `SELECT user_id FROM ${platform.sourceRelation(view)} ORDER BY user_id`,
      );
      expect(rows).toEqual([{ user_id: 1 }, { user_id: 2 }]);
    } finally {
      await platform.close();
    }
  });
});
