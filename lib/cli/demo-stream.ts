import { getOnlineFeatures, type OnlineFeaturesResponse } from '../services/get-online-features.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import { KinesisEventStream, type StreamRecord } from '../stores/event-stream.js';
import type { ObjectStore } from '../stores/object-store.js';
import type { OnlineStore } from '../stores/online-store.js';
import { startLocalStreaming } from './local-streaming.js';
import { formatCell, textTable } from './text-table.js';

type Stage = <T>(title: string, work: () => Promise<T>) => Promise<T>;

const BURST_EVENTS = 600;
const USERS = [1, 2, 3];
const FEATURES = [
  'user_transaction_stats:amount_sum_7d',
  'user_transaction_stats:amount_count_7d',
  'user_transaction_stats:last_3_amounts',
  'user_transaction_stats:days_since_last_transaction',
];

/**
 * The streaming part of the demo: a burst of events from the last ten minutes (plus one malformed record
 * and one too late) goes through the local Kinesis, the pollers and the ingest handler; features of users
 * 1-3 are read as of now before and after. Before, their windows are empty (the generated history ends in
 * February 2025) and their last amounts are old; after, they hold the burst.
 */
export async function streamTour(
  catalog: ServingCatalog,
  onlineStore: OnlineStore,
  offlineStore: ObjectStore,
  stage: Stage,
  print: (text: string) => void,
): Promise<void> {
  const now = Date.now();
  const read = () =>
    getOnlineFeatures({
      catalog,
      store: onlineStore,
      now: () => now + 1_000,
      request: { features: FEATURES, entities: { user_id: USERS } },
    });
  const before = await stage('online features of users 1-3 now, before the stream', read);
  print(onlineTable(before));
  const counts = { applied: 0, quarantined: 0, failed: 0 };
  await stage(`stream a burst of ${BURST_EVENTS} events through the local Kinesis`, async () => {
    const streaming = await startLocalStreaming({
      loadCatalog: async () => ({ catalog }),
      onlineStore,
      offlineStore,
      onResult: (result) => {
        counts.applied += result.applied;
        counts.quarantined += result.quarantined;
        counts.failed += result.failed.length;
      },
      logger: { info: () => {}, warn: print, error: print },
    });
    try {
      await new KinesisEventStream({ client: streaming.client, streamName: 'transactions' }).put(burst(now));
      await streaming.caughtUp();
    } finally {
      await streaming.close();
    }
  });
  print(
    `${counts.applied} events applied online and landed in raw/transactions/ (batch recomputation and training see them); ${counts.quarantined} quarantined with their reasons under quarantine/live_transactions/ (one malformed, one too late); ${counts.failed} failed.`,
  );
  const after = await stage('online features of users 1-3 now, after the stream', read);
  print(onlineTable(after));
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
