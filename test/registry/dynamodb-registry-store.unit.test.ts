import { gzipSync } from 'node:zlib';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBRegistryStore, MAX_SNAPSHOT_BYTES } from '../../lib/registry/dynamodb-registry-store.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import {
  RegistryConflictError,
  RegistryReadError,
  type RegistryRevision,
  RegistryTooLargeError,
} from '../../lib/registry/registry-store.js';

const dynamo = mockClient(DynamoDBClient);
const store = new DynamoDBRegistryStore({
  client: new DynamoDBClient({ region: 'us-east-1' }),
  tableName: 'fstore-registry',
});

const objects: RegistryObject[] = [
  {
    kind: 'entity',
    name: 'user',
    version: 'abc',
    description: '',
    owner: '',
    tags: {},
    definition: { joinKeys: { user_id: 'int64' } },
  },
];
const revision: RegistryRevision = {
  project: 'shop',
  revision: 7,
  appliedAt: '2026-01-02T03:04:05.000Z',
  appliedBy: 'ana@laptop',
  changes: [],
  objects,
};

beforeEach(() => dynamo.reset());

describe('DynamoDBRegistryStore.append', () => {
  it('writes one item per revision, only if that revision does not exist yet', async () => {
    dynamo.on(PutItemCommand).resolves({});

    await store.append(revision);

    const input = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input?.TableName).toBe('fstore-registry');
    expect(input?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input?.Item).toMatchObject({
      pk: { S: 'registry#shop' },
      sk: { S: 'revision#0000000007' },
      revision: { N: '7' },
      appliedAt: { S: '2026-01-02T03:04:05.000Z' },
      appliedBy: { S: 'ana@laptop' },
      changes: { S: '[]' },
    });
    expect(input?.Item?.snapshot?.B).toBeInstanceOf(Uint8Array);
  });

  it('turns a failed condition into RegistryConflictError, keeping the cause', async () => {
    const conflict = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
    });
    dynamo.on(PutItemCommand).rejects(conflict);

    const error = await store.append(revision).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryConflictError);
    expect((error as Error).message).toBe(
      'registry revision 7 of project "shop" was written by another apply first',
    );
    expect((error as Error).cause).toBe(conflict);
  });

  it('refuses a snapshot too large for one item, before calling DynamoDB', async () => {
    const random = (n: number) =>
      Array.from({ length: n }, () => Math.random().toString(36).slice(2)).join('');
    const huge = [{ ...objects[0], description: random(60_000) } as RegistryObject];

    await expect(store.append({ ...revision, objects: huge })).rejects.toThrow(RegistryTooLargeError);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(MAX_SNAPSHOT_BYTES).toBe(358_400);
  });
});

describe('DynamoDBRegistryStore.latest', () => {
  it('asks for the newest revision item with a consistent read', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });

    await expect(store.latest('shop')).resolves.toBeUndefined();

    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: 'fstore-registry',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: 'registry#shop' }, ':prefix': { S: 'revision#' } },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
  });

  it('reads back the snapshot it stored', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        {
          pk: { S: 'registry#shop' },
          sk: { S: 'revision#0000000007' },
          revision: { N: '7' },
          appliedAt: { S: revision.appliedAt },
          appliedBy: { S: revision.appliedBy },
          changes: { S: '[]' },
          snapshot: { B: gzipSync(JSON.stringify(objects)) },
        },
      ],
    });

    await expect(store.latest('shop')).resolves.toEqual(revision);
  });

  it('reports a damaged snapshot as RegistryReadError instead of returning garbage', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        {
          pk: { S: 'registry#shop' },
          sk: { S: 'revision#0000000007' },
          revision: { N: '7' },
          appliedAt: { S: revision.appliedAt },
          changes: { S: '[]' },
          snapshot: { B: new Uint8Array([1, 2, 3]) },
        },
      ],
    });

    await expect(store.latest('shop')).rejects.toThrow(
      new RegistryReadError('registry revision 7 has a damaged snapshot'),
    );
  });
});

describe('DynamoDBRegistryStore.changeLog', () => {
  it('pages through every revision without fetching snapshots', async () => {
    const item = (n: number) => ({
      pk: { S: 'registry#shop' },
      revision: { N: String(n) },
      appliedAt: { S: revision.appliedAt },
      appliedBy: { S: 'ana@laptop' },
      changes: { S: '[]' },
    });
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [item(1)],
        LastEvaluatedKey: { pk: { S: 'registry#shop' }, sk: { S: 'revision#0000000001' } },
      })
      .resolvesOnce({ Items: [item(2)] });

    const log = await store.changeLog('shop');

    expect(log.map((entry) => entry.revision)).toEqual([1, 2]);
    const calls = dynamo.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input.ProjectionExpression).toBe('pk, #revision, appliedAt, appliedBy, changes');
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual({
      pk: { S: 'registry#shop' },
      sk: { S: 'revision#0000000001' },
    });
  });
});
