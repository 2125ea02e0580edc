import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViewState } from '../../lib/compute/online-state.js';
import { DynamoDBOnlineStore } from '../../lib/stores/dynamodb-online-store.js';
import { encodeEntityKey } from '../../lib/stores/online-entity-key.js';
import { type OnlineItem, OnlineStoreUnavailableError } from '../../lib/stores/online-store.js';
import { ensureOnlineTable, LOCAL_ONLINE_TABLE } from '../../lib/stores/online-table.js';
import { type DynamoDBFixture, startDynamoDBFixture } from '../support/local-dynamodb.js';

let dynamo: DynamoDBFixture;
let store: DynamoDBOnlineStore;

beforeAll(async () => {
  dynamo = await startDynamoDBFixture();
  await ensureOnlineTable(dynamo.client, LOCAL_ONLINE_TABLE);
  store = new DynamoDBOnlineStore({ client: dynamo.client, tableName: LOCAL_ONLINE_TABLE });
});
afterAll(() => dynamo.close());

function state(eventTs: number, throughTs = eventTs + 1): ViewState {
  return {
    eventTs,
    throughTs,
    firstTs: 1_000,
    lastTs: eventTs,
    latest: { ts: eventTs, values: { country: 'FR', score: 0.5, vip: null } },
    tiles: { '3600000': { '472222': { amount: { n: 3, d: 38, m2: 398.17, min: 1.5, max: 30 } } } },
    recent: { merchant: [[eventTs, 'café|Zürich']] },
  };
}

/** An item whose entity key names the test case, so tests never share items. */
function item(name: string, user: number, viewState: ViewState): OnlineItem {
  return {
    entityKey: encodeEntityKey({ case: name, user_id: user }),
    view: 'user_stats',
    version: 'v1',
    state: viewState,
  };
}

async function storedStates(items: readonly OnlineItem[]): Promise<(ViewState | undefined)[]> {
  return (await store.read(items)).map((found) => found?.state);
}

describe('ensureOnlineTable', () => {
  it('leaves an existing table active when called again', async () => {
    await ensureOnlineTable(dynamo.client, LOCAL_ONLINE_TABLE);

    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: LOCAL_ONLINE_TABLE }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });
});

describe('DynamoDBOnlineStore on dynalite', () => {
  it('reads back exactly the states it wrote, and undefined for a key never written', async () => {
    const items = [item('roundtrip', 1, state(5_000)), item('roundtrip', 2, state(6_000))];

    const result = await store.write(items);
    const read = await store.read([...items, item('roundtrip', 3, state(0))]);

    expect(result).toEqual({ written: 2, skipped: 0 });
    expect(read).toEqual([
      { entityKey: items[0]?.entityKey, view: 'user_stats', version: 'v1', state: state(5_000) },
      { entityKey: items[1]?.entityKey, view: 'user_stats', version: 'v1', state: state(6_000) },
      undefined,
    ]);
  });

  it('stores the item layout the table and TTL expect', async () => {
    const written = { ...item('layout', 1, state(5_000, 5_500)), expiresAtMs: 86_400_001 };

    await store.write([written]);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: LOCAL_ONLINE_TABLE,
        Key: { pk: { S: written.entityKey }, sk: { S: 'user_stats#v1' } },
      }),
    );

    expect(Item).toEqual({
      pk: { S: written.entityKey },
      sk: { S: 'user_stats#v1' },
      rev: { S: expect.any(String) },
      event_ts: { N: '5000' },
      through_ts: { N: '5500' },
      state: { S: JSON.stringify(state(5_000, 5_500)) },
      expires_at: { N: '86401' },
    });
  });

  it('skips every item of a second identical write and leaves the stored states unchanged', async () => {
    const items = [item('replay', 1, state(5_000)), item('replay', 2, state(6_000))];
    await store.write(items);

    const result = await store.write(items);

    expect(result).toEqual({ written: 0, skipped: 2 });
    expect(await storedStates(items)).toEqual([state(5_000), state(6_000)]);
  });

  it('never lets an older state overwrite a newer one', async () => {
    await store.write([item('older', 1, state(9_000))]);

    const result = await store.write([item('older', 1, state(8_000, 20_000))]);

    expect(result).toEqual({ written: 0, skipped: 1 });
    expect(await storedStates([item('older', 1, state(0))])).toEqual([state(9_000)]);
  });

  it('replaces a stored state with a newer one', async () => {
    await store.write([item('newer', 1, state(9_000))]);

    const result = await store.write([item('newer', 1, state(10_000))]);

    expect(result).toEqual({ written: 1, skipped: 0 });
    expect(await storedStates([item('newer', 1, state(0))])).toEqual([state(10_000)]);
  });

  it('replaces a state with the same eventTs and a greater throughTs, but not with a smaller one', async () => {
    await store.write([item('through', 1, state(9_000, 9_500))]);

    const later = await store.write([item('through', 1, state(9_000, 9_800))]);
    const earlier = await store.write([item('through', 1, state(9_000, 9_600))]);

    expect(later).toEqual({ written: 1, skipped: 0 });
    expect(earlier).toEqual({ written: 0, skipped: 1 });
    expect(await storedStates([item('through', 1, state(0))])).toEqual([state(9_000, 9_800)]);
  });

  it('keeps apart and round-trips keys holding separators, escapes and unicode', async () => {
    const entityKeys = [
      encodeEntityKey({ merchant: 'a|b=c\\d', country: 'FR' }),
      encodeEntityKey({ merchant: 'a', country: 'b|c' }),
      encodeEntityKey({ merchant: 'café 東京 🚀', country: '#' }),
      encodeEntityKey({ merchant: 'user_stats#v1', country: '' }),
    ];
    const items = entityKeys.map((entityKey, index) => ({
      entityKey,
      view: 'merchant_stats',
      version: 'v1',
      state: state(1_000 + index),
    }));

    await store.write(items);
    const read = await store.read(items);

    expect(read.map((found) => found?.entityKey)).toEqual(entityKeys);
    expect(read.map((found) => found?.state)).toEqual(items.map((written) => written.state));
  });

  it('keeps the versions of one entity and view apart', async () => {
    const v1 = item('versions', 1, state(1_000));
    const v2 = { ...v1, version: 'v2', state: state(2_000) };

    await store.write([v1, v2]);

    expect(await storedStates([v2, v1])).toEqual([state(2_000), state(1_000)]);
  });

  it('writes 250 items and reads them back in one call', async () => {
    const items = Array.from({ length: 250 }, (_, user) => item('many', user, state(1_000 + user)));

    const result = await store.write(items);
    const read = await store.read(items);

    expect(result).toEqual({ written: 250, skipped: 0 });
    expect(read.map((found) => found?.state.eventTs)).toEqual(items.map((written) => written.state.eventTs));
  });

  it('fails with OnlineStoreUnavailableError when the server is down', async () => {
    const stopped = await startDynamoDBFixture();
    await ensureOnlineTable(stopped.client, LOCAL_ONLINE_TABLE);
    await stopped.server.close();
    const unreachable = new DynamoDBOnlineStore({ client: stopped.client, tableName: LOCAL_ONLINE_TABLE });

    try {
      const error = await unreachable.read([item('down', 1, state(0))]).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(OnlineStoreUnavailableError);
      expect((error as Error).message).toMatch(
        new RegExp(`^the online store \\(DynamoDB table "${LOCAL_ONLINE_TABLE}"\\) cannot be reached: `),
      );
    } finally {
      await stopped.close();
    }
  });

  it('loses no update when many read-modify-writes of one item race', async () => {
    const racing = { entityKey: 'user_id=i:77', view: 'counter', version: 'v1' };
    // Each round at least one racer wins, so twelve racers need at most twelve attempts.
    const patient = new DynamoDBOnlineStore({
      client: dynamo.client,
      tableName: LOCAL_ONLINE_TABLE,
      maxAttempts: 13,
    });
    const addOne = () =>
      patient.update([racing], (key, current) => {
        const count = (current?.state.eventTs ?? 0) + 1;
        return { ...key, state: { eventTs: count, throughTs: count, tiles: {}, recent: {} } };
      });

    await Promise.all(Array.from({ length: 12 }, addOne));

    const [stored] = await store.read([racing]);
    expect(stored?.state.eventTs).toBe(12);
  });

  it('leaves an item alone when the change returns nothing', async () => {
    const untouched = { entityKey: 'user_id=i:78', view: 'counter', version: 'v1' };

    const result = await store.update([untouched], () => undefined);

    expect(result).toEqual({ updated: 0 });
    expect(await store.read([untouched])).toEqual([undefined]);
  });
});
