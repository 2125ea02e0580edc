import { registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import { createServeHandler } from '../../lambdas/serve.js';
import type { OnlineFeaturesResponse } from '../services/get-online-features.js';
import { materializeIncremental } from '../services/materialize.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import { KinesisEventStream, type StreamRecord } from '../stores/event-stream.js';
import type { DemoOutput, Stage } from './demo-offline.js';
import { bar } from './demo-offline.js';
import { startLocalApiServer } from './local-api-server.js';
import { startLocalStreaming } from './local-streaming.js';
import type { OfflinePlatform } from './offline-platform.js';
import type { OnlinePlatform } from './online-platform.js';
import { formatCount, ProgressLine } from './progress.js';
import { formatCell, textTable } from './text-table.js';

const BURST_EVENTS = 600;
const USERS = [1, 2, 3];
const FEATURES = [
  'user_transaction_stats:amount_sum_7d',
  'user_transaction_stats:amount_count_7d',
  'user_transaction_stats:last_3_amounts',
  'user_transaction_stats:days_since_last_transaction',
];

/**
 * The online part of the demo: materialize every view as of now, start the local HTTP API (the serving
 * Lambda's handler) and the local stream (kinesalite, the pollers, the ingest handler), read features of
 * users 1-3 over HTTP, stream a burst of events from the last ten minutes (plus one malformed record and
 * one too late), and read them again: the values change. The API and the stream are stopped whatever
 * happens, so nothing is left listening.
 */
export async function onlineTour(
  catalog: ServingCatalog,
  online: OnlinePlatform,
  offline: OfflinePlatform,
  stage: Stage,
  output: DemoOutput,
): Promise<void> {
  const now = new Date();
  const progress = new ProgressLine(output.progress);
  // Incremental, so each view version's watermark records how fresh it is (the report shows it).
  const result = await stage('materialize every view into the online store', () =>
    materializeIncremental({
      watermarks: online.watermarks,
      engine: offline.engine,
      offlineStore: offline.store,
      onlineStore: online.onlineStore,
      catalog,
      sourceRelation: offline.batchPartRelation,
      end: now,
      onProgress: (p) => progress.update(`${p.view}: ${formatCount(p.items)} entities written`),
    }),
  );
  progress.done();
  for (const view of result.views) {
    output.print(`${view.view}: ${formatCount(view.items)} entities, ${formatCount(view.written)} written`);
  }

  const loadCatalog = registryCatalogLoader(online.registry, { refreshMs: 1_000 });
  const counts = { applied: 0, quarantined: 0, failed: 0 };
  const { server, streaming } = await stage('start the local API and the local stream', async () => {
    const api = await startLocalApiServer({
      handler: createServeHandler({ loadCatalog, store: online.onlineStore }),
      port: 0,
    });
    try {
      const stream = await startLocalStreaming({
        loadCatalog,
        onlineStore: online.onlineStore,
        offlineStore: offline.store,
        onResult: (result) => {
          counts.applied += result.applied;
          counts.quarantined += result.quarantined;
          counts.failed += result.failed.length;
        },
        logger: { info: () => {}, warn: output.progress, error: output.progress },
      });
      return { server: api, streaming: stream };
    } catch (error) {
      await api.close();
      throw error;
    }
  });
  try {
    output.print(`API at ${server.url}, local Kinesis at ${streaming.endpoint}`);
    const read = async () => {
      const reply = await fetch(`${server.url}/get-online-features`, {
        method: 'POST',
        body: JSON.stringify({ features: FEATURES, entities: { user_id: USERS } }),
      });
      if (!reply.ok) throw new Error(`the local API answered ${reply.status}: ${await reply.text()}`);
      return (await reply.json()) as OnlineFeaturesResponse;
    };
    const before = await stage('online features of users 1-3 over HTTP, before the stream', read);
    output.print(onlineTable(before));
    const burstProgress = new ProgressLine(output.progress);
    await stage(`stream a burst of ${BURST_EVENTS} events through the local Kinesis`, async () => {
      const records = burst(now.getTime());
      const timer = setInterval(
        () =>
          burstProgress.update(
            `${bar(counts.applied + counts.quarantined, records.length)} ${counts.applied} applied, ${counts.quarantined} quarantined`,
          ),
        100,
      );
      try {
        await new KinesisEventStream({ client: streaming.client, streamName: 'transactions' }).put(records);
        await streaming.caughtUp();
      } finally {
        clearInterval(timer);
      }
    });
    burstProgress.done();
    output.print(
      `${counts.applied} events applied online and landed in raw/transactions/ (batch recomputation and training see them); ${counts.quarantined} quarantined with their reasons under quarantine/live_transactions/ (one malformed, one too late); ${counts.failed} failed.`,
    );
    const after = await stage('online features of users 1-3 over HTTP, after the stream', read);
    output.print(onlineTable(after));
  } finally {
    await streaming.close();
    await server.close();
  }
}

/** Events of users 1-3 and others over the last ten minutes, a malformed record and one 2 hours late. */
function burst(now: number): StreamRecord[] {
  const encode = (value: unknown) =>
    new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
  const records: StreamRecord[] = [];
  for (let index = 0; index < BURST_EVENTS - 2; index++) {
    const userId = index % 10 < 6 ? (USERS[index % USERS.length] ?? 1) : 4 + (index % 96);
    records.push({
      partitionKey: String(userId),
      data: encode({
        user_id: userId,
        merchant_id: 1 + (index % 50),
        amount: 5 + ((index * 7919) % 20_000) / 100,
        category: ['food', 'transport', 'entertainment', 'shopping'][index % 4],
        transaction_date: new Date(now - 600_000 + index * 1_000).toISOString(),
      }),
    });
  }
  records.push({ partitionKey: '1', data: encode('{"user_id": 1, "amount": ') });
  records.push({
    partitionKey: '2',
    data: encode({
      user_id: 2,
      merchant_id: 1,
      amount: 9.99,
      category: 'food',
      transaction_date: new Date(now - 2 * 3_600_000).toISOString(),
    }),
  });
  return records;
}

function onlineTable(response: OnlineFeaturesResponse): string {
  const names = response.metadata.feature_names;
  return textTable(
    [...names, 'STATUS'],
    (response.results[0]?.values ?? []).map((_, row) => [
      ...names.map((_, column) => formatCell(response.results[column]?.values[row], (n) => n.toFixed(3))),
      response.results[1]?.statuses[row] ?? '',
    ]),
  );
}
