import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBMaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';

describe('DynamoDBMaterializationWatermarks requests', () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());
  const watermarks = () =>
    new DynamoDBMaterializationWatermarks({
      client: new DynamoDBClient({ region: 'us-east-1' }),
      tableName: 'registry',
      project: 'fraud',
    });

  it('advances with an update that never moves the watermark back', async () => {
    dynamo.on(UpdateItemCommand).resolves({});

    expect(await watermarks().advance('user_stats', 'v1', new Date(5_000))).toBe(true);

    expect(dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input).toStrictEqual({
      TableName: 'registry',
      Key: { pk: { S: 'registry#fraud' }, sk: { S: 'watermark#user_stats#v1' } },
      UpdateExpression: 'SET through_ms = :to',
      ConditionExpression: 'attribute_not_exists(through_ms) OR through_ms < :to',
      ExpressionAttributeValues: { ':to': { N: '5000' } },
    });
  });

  it('reports false when the stored watermark is already at or past the time', async () => {
    dynamo
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));

    expect(await watermarks().advance('user_stats', 'v1', new Date(5_000))).toBe(false);
  });

  it('reads the watermark consistently', async () => {
    dynamo.on(GetItemCommand).resolves({ Item: { through_ms: { N: '7000' } } });

    expect(await watermarks().get('user_stats', 'v1')).toEqual(new Date(7_000));
    expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });
});
