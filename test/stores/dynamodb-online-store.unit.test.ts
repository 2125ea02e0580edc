import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ViewState } from '../../lib/compute/online-state.js';
import { FstoreError } from '../../lib/errors.js';
import {
  DynamoDBOnlineStore,
  type DynamoDBOnlineStoreOptions,
  OnlineStoreTableError,
} from '../../lib/stores/dynamodb-online-store.js';
import {
  type OnlineItem,
  type OnlineItemKey,
  OnlineStoreReadError,
  OnlineStoreUnavailableError,
  OnlineStoreWriteError,
} from '../../lib/stores/online-store.js';

type DynamoDBRecord = Record<string, AttributeValue>;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const TABLE = 'fstore-online';
const dynamo = mockClient(DynamoDBClient);
let delays: number[] = [];

/** A store whose backoff records its delays instead of waiting, at the upper end of the jitter. */
function storeWith(options: Partial<DynamoDBOnlineStoreOptions> = {}): DynamoDBOnlineStore {
  return new DynamoDBOnlineStore({
    client: new DynamoDBClient({ region: 'us-east-1' }),
    tableName: TABLE,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
    newRevision: () => 'rev-1',
    ...options,
  });
}

function state(eventTs: number, throughTs = eventTs + 1): ViewState {
  return {
    eventTs,
    throughTs,
    tiles: { '3600000': { '5': { amount: { n: 2, d: 10, m2: 50 } } } },
    recent: {},
  };
}

function key(user: number): OnlineItemKey {
  return { entityKey: `user_id=i:${user}`, view: 'user_stats', version: 'v1' };
}

function item(user: number, viewState: ViewState, expiresAtMs?: number): OnlineItem {
  return { ...key(user), state: viewState, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) };
}

function dynamoDBKey(user: number): DynamoDBRecord {
  return { pk: { S: `user_id=i:${user}` }, sk: { S: 'user_stats#v1' } };
}

function storedRecord(user: number, viewState: ViewState): DynamoDBRecord {
  return {
    ...dynamoDBKey(user),
    rev: { S: 'rev-1' },
    event_ts: { N: String(viewState.eventTs) },
    through_ts: { N: String(viewState.throughTs) },
    state: { S: JSON.stringify(viewState) },
  };
}

/** BatchGetItem answered from `records`, as a table holding them would. */
function tableHolding(records: readonly DynamoDBRecord[]) {
  return (input: BatchGetItemCommandInput): Partial<BatchGetItemCommandOutput> => {
    const keys = input.RequestItems?.[TABLE]?.Keys ?? [];
    const found = records.filter((record) =>
      keys.some((k) => k.pk?.S === record.pk?.S && k.sk?.S === record.sk?.S),
    );
    return { Responses: { [TABLE]: found } };
  };
}

function batchGetSizes(): (number | undefined)[] {
  return dynamo
    .commandCalls(BatchGetItemCommand)
    .map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys?.length);
}

function batchWriteSizes(): (number | undefined)[] {
  return dynamo
    .commandCalls(BatchWriteItemCommand)
    .map((call) => call.args[0].input.RequestItems?.[TABLE]?.length);
}

function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), {
    code: 'ECONNREFUSED',
    $metadata: { attempts: 4 },
  });
}

const users = (count: number): number[] => Array.from({ length: count }, (_, index) => index);

beforeEach(() => {
  dynamo.reset();
  delays = [];
});

describe('DynamoDBOnlineStore.read', () => {
  it('asks BatchGetItem for exactly the requested keys, without ConsistentRead by default', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { [TABLE]: [] } });

    await storeWith().read([key(1), key(2)]);

    expect(dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input).toStrictEqual({
      RequestItems: { [TABLE]: { Keys: [dynamoDBKey(1), dynamoDBKey(2)] } },
    });
  });

  it('asks for strongly consistent reads when consistentRead is set', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { [TABLE]: [] } });

    await storeWith({ consistentRead: true }).read([key(1)]);

    expect(dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input).toStrictEqual({
      RequestItems: { [TABLE]: { Keys: [dynamoDBKey(1)], ConsistentRead: true } },
    });
  });

  it('returns the stored states aligned with the keys, undefined where no item exists', async () => {
    dynamo.on(BatchGetItemCommand).resolves({
      Responses: { [TABLE]: [storedRecord(3, state(300)), storedRecord(1, state(100))] },
    });

    const items = await storeWith().read([key(1), key(2), key(3)]);

    expect(items).toStrictEqual([
      { ...key(1), state: state(100) },
      undefined,
      { ...key(3), state: state(300) },
    ]);
  });

  it('reads 250 keys in three BatchGetItem calls of 100, 100 and 50', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));

    const items = await storeWith().read(users(250).map(key));

    expect(batchGetSizes()).toEqual([100, 100, 50]);
    expect(items).toHaveLength(250);
  });

  it('reads a key asked for twice once and answers it at both positions', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, state(100))]));

    const items = await storeWith().read([key(1), key(2), key(1)]);

    expect(dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([
      dynamoDBKey(1),
      dynamoDBKey(2),
    ]);
    expect(items).toStrictEqual([
      { ...key(1), state: state(100) },
      undefined,
      { ...key(1), state: state(100) },
    ]);
  });

  it('retries unprocessed keys with growing delays until every key is answered', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [storedRecord(1, state(100))] },
        UnprocessedKeys: { [TABLE]: { Keys: [dynamoDBKey(2)] } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [dynamoDBKey(2)] } } })
      .resolves({ Responses: { [TABLE]: [storedRecord(2, state(200))] } });

    const items = await storeWith().read([key(1), key(2)]);

    expect(items).toStrictEqual([
      { ...key(1), state: state(100) },
      { ...key(2), state: state(200) },
    ]);
    expect(batchGetSizes()).toEqual([2, 1, 1]);
    expect(delays).toEqual([20, 40]);
  });

  it('fails with OnlineStoreReadError after maxAttempts calls when keys stay unprocessed, never reporting them missing', async () => {
    dynamo.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => ({
      Responses: { [TABLE]: [] },
      UnprocessedKeys: { [TABLE]: { Keys: input.RequestItems?.[TABLE]?.Keys?.slice(0, 3) } },
    }));

    const error = await storeWith()
      .read(users(5).map(key))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreReadError);
    expect((error as Error).message).toBe(
      `3 of 5 keys stayed unread after 8 attempts: the online store (DynamoDB table "${TABLE}") is throttled; retry, or raise the table's capacity`,
    );
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(8);
    expect(delays).toEqual([20, 40, 80, 160, 320, 640, 1000]);
  });

  it('keeps every backoff within maxDelayMs', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [dynamoDBKey(1)] } } });

    await storeWith({ maxAttempts: 6, baseDelayMs: 30, maxDelayMs: 100 })
      .read([key(1)])
      .catch(() => undefined);

    expect(delays).toEqual([30, 60, 100, 100, 100]);
  });

  it('draws each backoff at random below its cap (full jitter)', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [dynamoDBKey(1)] } } });

    await storeWith({ maxAttempts: 3, random: () => 0.25 })
      .read([key(1)])
      .catch(() => undefined);

    expect(delays).toEqual([5, 10]);
  });

  it.each([
    ['ProvisionedThroughputExceededException', ProvisionedThroughputExceededException],
    ['ThrottlingException', ThrottlingException],
  ])('retries a call rejected whole with %s within the same attempt budget', async (_, Exception) => {
    dynamo
      .on(BatchGetItemCommand)
      .rejectsOnce(new Exception({ message: 'Rate exceeded', $metadata: {} }))
      .resolves({ Responses: { [TABLE]: [storedRecord(1, state(100))] } });

    const items = await storeWith().read([key(1)]);

    expect(items).toStrictEqual([{ ...key(1), state: state(100) }]);
    expect(delays).toEqual([20]);
  });

  it('fails with OnlineStoreReadError when every call is throttled', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }));

    const error = await storeWith({ maxAttempts: 3 })
      .read([key(1), key(2)])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreReadError);
    expect((error as Error).message).toMatch(/^2 of 2 keys stayed unread after 3 attempts/);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(3);
  });

  it.each([
    ['a refused connection', connectionRefused()],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    [
      'a timeout',
      Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError', $metadata: {} }),
    ],
    [
      'a wrapped refusal',
      new Error('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
    ],
  ])('reports %s as OnlineStoreUnavailableError, keeping the cause', async (_, failure) => {
    dynamo.on(BatchGetItemCommand).rejects(failure);

    const error = await storeWith()
      .read([key(1)])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreUnavailableError);
    expect((error as Error).message).toBe(
      `the online store (DynamoDB table "${TABLE}") cannot be reached: ${failure.message}`,
    );
    expect((error as Error).cause).toBe(failure);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(1);
  });

  it('says the table does not exist and how to create it when DynamoDB answers ResourceNotFoundException', async () => {
    const missing = new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} });
    dynamo.on(BatchGetItemCommand).rejects(missing);

    const error = await storeWith()
      .read([key(1)])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreTableError);
    expect((error as Error).message).toBe(
      `the online store's DynamoDB table "${TABLE}" does not exist; run \`fstore apply\` to create it locally, or deploy the stack (cdk deploy) in AWS`,
    );
    expect((error as Error).cause).toBe(missing);
  });

  it('names the operation and DynamoDB reason for other refusals', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform dynamodb:BatchGetItem'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    dynamo.on(BatchGetItemCommand).rejects(denied);

    const error = await storeWith()
      .read([key(1)])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreTableError);
    expect((error as Error).message).toBe(
      `the online store (DynamoDB table "${TABLE}") refused a BatchGetItem request: AccessDeniedException: User is not authorized to perform dynamodb:BatchGetItem`,
    );
  });

  it('fails with OnlineStoreTableError on an item whose state is not JSON', async () => {
    dynamo.on(BatchGetItemCommand).resolves({
      Responses: { [TABLE]: [{ ...storedRecord(1, state(100)), state: { S: '{"eventTs":' } }] },
    });

    const error = await storeWith()
      .read([key(1)])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreTableError);
    expect((error as Error).message).toBe(
      `the online item of entity "user_id=i:1", view "user_stats" version v1 in DynamoDB table "${TABLE}" holds no readable state; materialize the view again to rewrite it`,
    );
  });
});

describe('DynamoDBOnlineStore.write', () => {
  it('first reads what is stored: keys and versions only, strongly consistent', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo.on(BatchWriteItemCommand).resolves({});

    await storeWith().write([item(1, state(100))]);

    expect(dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input).toStrictEqual({
      RequestItems: {
        [TABLE]: {
          Keys: [dynamoDBKey(1)],
          ConsistentRead: true,
          ProjectionExpression: 'pk, sk, event_ts, through_ts',
        },
      },
    });
  });

  it('puts new items with exactly the key, versions, JSON state and expiry in epoch seconds rounded up', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo.on(BatchWriteItemCommand).resolves({});
    const withTtl = state(1_700_000_000_000, 1_700_000_000_500);

    const result = await storeWith().write([item(1, withTtl, 1_700_086_400_001), item(2, state(100))]);

    expect(result).toEqual({ written: 2, skipped: 0 });
    expect(dynamo.commandCalls(BatchWriteItemCommand)[0]?.args[0].input).toStrictEqual({
      RequestItems: {
        [TABLE]: [
          {
            PutRequest: {
              Item: {
                pk: { S: 'user_id=i:1' },
                sk: { S: 'user_stats#v1' },
                rev: { S: 'rev-1' },
                event_ts: { N: '1700000000000' },
                through_ts: { N: '1700000000500' },
                state: { S: JSON.stringify(withTtl) },
                expires_at: { N: '1700086401' },
              },
            },
          },
          { PutRequest: { Item: storedRecord(2, state(100)) } },
        ],
      },
    });
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('puts 60 new items in BatchWriteItem calls of 25, 25 and 10', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo.on(BatchWriteItemCommand).resolves({});

    const result = await storeWith().write(users(60).map((user) => item(user, state(100))));

    expect(batchWriteSizes()).toEqual([25, 25, 10]);
    expect(result).toEqual({ written: 60, skipped: 0 });
  });

  it('retries unprocessed items until they are written', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo
      .on(BatchWriteItemCommand)
      .resolvesOnce({
        UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: storedRecord(2, state(100)) } }] },
      })
      .resolves({});

    const result = await storeWith().write([item(1, state(100)), item(2, state(100))]);

    expect(result).toEqual({ written: 2, skipped: 0 });
    expect(batchWriteSizes()).toEqual([2, 1]);
    expect(dynamo.commandCalls(BatchWriteItemCommand)[1]?.args[0].input.RequestItems?.[TABLE]).toEqual([
      { PutRequest: { Item: storedRecord(2, state(100)) } },
    ]);
    expect(delays).toEqual([20]);
  });

  it('fails with OnlineStoreWriteError after maxAttempts calls when items stay unprocessed', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => ({
      UnprocessedItems: { [TABLE]: input.RequestItems?.[TABLE] },
    }));

    const error = await storeWith({ maxAttempts: 4 })
      .write([item(1, state(100)), item(2, state(100))])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreWriteError);
    expect((error as Error).message).toBe(
      `2 of 2 items stayed unwritten after 4 attempts: the online store (DynamoDB table "${TABLE}") is throttled; write them again (writing is idempotent), or raise the table's capacity`,
    );
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(4);
    expect(delays).toEqual([20, 40, 80]);
  });

  it('fails with OnlineStoreWriteError when the stored versions stay unread', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [dynamoDBKey(1)] } } });

    const error = await storeWith({ maxAttempts: 2 })
      .write([item(1, state(100))])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreWriteError);
    expect((error as Error).message).toBe(
      `1 of 1 items stayed unwritten: their stored state stayed unread after 2 attempts, as the online store (DynamoDB table "${TABLE}") is throttled; write them again (writing is idempotent), or raise the table's capacity`,
    );
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
  });

  it('replaces the state of an item holding an older one with an UpdateItem conditional on it still being older, keeping its other attributes', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, state(100))]));
    dynamo.on(UpdateItemCommand).resolves({});

    const result = await storeWith().write([{ ...item(1, state(200, 250)), expiresAtMs: 1_500 }]);

    expect(result).toEqual({ written: 1, skipped: 0 });
    expect(dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input).toStrictEqual({
      TableName: TABLE,
      Key: dynamoDBKey(1),
      UpdateExpression:
        'SET #state = :state, event_ts = :event_ts, through_ts = :through_ts, rev = :rev, expires_at = :expires_at',
      ConditionExpression:
        'attribute_not_exists(pk) OR event_ts < :event_ts OR (event_ts = :event_ts AND through_ts < :through_ts)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':state': { S: JSON.stringify(state(200, 250)) },
        ':event_ts': { N: '200' },
        ':through_ts': { N: '250' },
        ':rev': { S: 'rev-1' },
        ':expires_at': { N: '2' },
      },
    });
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
  });

  it('replaces a state with the same eventTs and a greater throughTs', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, state(100, 150))]));
    dynamo.on(UpdateItemCommand).resolves({});

    const result = await storeWith().write([item(1, state(100, 160))]);

    expect(result).toEqual({ written: 1, skipped: 0 });
    expect(dynamo.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it.each([
    ['a newer eventTs', state(200, 201)],
    ['the same eventTs and a greater throughTs', state(100, 160)],
    ['the same versions', state(100, 150)],
  ])('skips an item when the table holds %s, writing nothing', async (_, stored) => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, stored)]));

    const result = await storeWith().write([item(1, state(100, 150))]);

    expect(result).toEqual({ written: 0, skipped: 1 });
    expect(dynamo.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
  });

  it('counts a conditional put beaten by a concurrent newer write as skipped', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, state(100))]));
    dynamo
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    const result = await storeWith().write([item(1, state(200))]);

    expect(result).toEqual({ written: 0, skipped: 1 });
    expect(dynamo.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('retries a throttled conditional put', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([storedRecord(1, state(100))]));
    dynamo
      .on(UpdateItemCommand)
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }))
      .resolves({});

    const result = await storeWith().write([item(1, state(200))]);

    expect(result).toEqual({ written: 1, skipped: 0 });
    expect(dynamo.commandCalls(UpdateItemCommand)).toHaveLength(2);
    expect(delays).toEqual([20]);
  });

  it('keeps only the newest state of a key given twice, counting the other as skipped', async () => {
    dynamo.on(BatchGetItemCommand).callsFake(tableHolding([]));
    dynamo.on(BatchWriteItemCommand).resolves({});

    const result = await storeWith().write([
      item(1, state(100, 150)),
      item(1, state(100, 160)),
      item(1, state(90)),
    ]);

    expect(result).toEqual({ written: 1, skipped: 2 });
    expect(batchGetSizes()).toEqual([1]);
    expect(dynamo.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[TABLE]).toEqual([
      { PutRequest: { Item: storedRecord(1, state(100, 160)) } },
    ]);
  });

  it('splits new and older items between BatchWriteItem and UpdateItem in one call', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .callsFake(tableHolding([storedRecord(1, state(100)), storedRecord(2, state(500))]));
    dynamo.on(BatchWriteItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});

    const result = await storeWith().write([item(1, state(200)), item(2, state(200)), item(3, state(200))]);

    expect(result).toEqual({ written: 2, skipped: 1 });
    expect(dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.Key?.pk)).toEqual([
      { S: 'user_id=i:1' },
    ]);
    expect(dynamo.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[TABLE]).toEqual([
      { PutRequest: { Item: storedRecord(3, state(200)) } },
    ]);
  });

  it('reports a refused connection as OnlineStoreUnavailableError', async () => {
    const refused = connectionRefused();
    dynamo.on(BatchGetItemCommand).rejects(refused);

    const error = await storeWith()
      .write([item(1, state(100))])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OnlineStoreUnavailableError);
    expect((error as Error).message).toBe(
      `the online store (DynamoDB table "${TABLE}") cannot be reached: connect ECONNREFUSED 127.0.0.1:8000`,
    );
    expect((error as Error).cause).toBe(refused);
  });

  it('writes nothing and calls nothing for no items', async () => {
    const result = await storeWith().write([]);

    expect(result).toEqual({ written: 0, skipped: 0 });
    expect(dynamo.calls()).toHaveLength(0);
  });
});

describe('DynamoDBOnlineStore options', () => {
  it.each([
    ['maxAttempts', { maxAttempts: 0 }, 0],
    ['concurrency', { concurrency: 1.5 }, 1.5],
  ])('refuses a %s that is not a whole number of at least 1', (option, options, value) => {
    expect(() => storeWith(options)).toThrow(FstoreError);
    expect(() => storeWith(options)).toThrow(
      `DynamoDBOnlineStore option ${option} must be a whole number of at least 1, got ${value}`,
    );
  });
});
