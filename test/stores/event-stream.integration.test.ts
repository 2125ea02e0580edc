import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisEventStream } from '../../lib/stores/event-stream.js';
import { createKinesisClient } from '../../lib/stores/kinesis-client.js';
import { type LocalKinesis, startLocalKinesis } from '../../lib/stores/local-kinesis.js';

let kinesis: LocalKinesis;
let client: KinesisClient;
beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  kinesis = await startLocalKinesis();
  client = createKinesisClient({ endpoint: kinesis.endpoint });
  await client.send(new CreateStreamCommand({ StreamName: 'transactions', ShardCount: 2 }));
});
afterAll(async () => {
  client.destroy();
  await kinesis.close();
});

/** Every record of every shard, as (shard, partition key, text). */
async function readAll(): Promise<{ shard: string; key: string; text: string }[]> {
  const shards = (await client.send(new ListShardsCommand({ StreamName: 'transactions' }))).Shards ?? [];
  const records: { shard: string; key: string; text: string }[] = [];
  for (const shard of shards) {
    let iterator = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: 'transactions',
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const output = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of output.Records ?? []) {
        records.push({
          shard: shard.ShardId ?? '',
          key: record.PartitionKey ?? '',
          text: new TextDecoder().decode(record.Data),
        });
      }
      iterator = output.Records?.length ? output.NextShardIterator : undefined;
    }
  }
  return records;
}

describe('KinesisEventStream on kinesalite', () => {
  it('puts every record once, each key on one shard, in the order put', async () => {
    const events = Array.from({ length: 1_200 }, (_, i) => ({
      key: `user_id=i:${i % 5}`,
      text: `{"n":${i}}`,
    }));

    const result = await new KinesisEventStream({ client, streamName: 'transactions' }).put(
      events.map((event) => ({ partitionKey: event.key, data: new TextEncoder().encode(event.text) })),
    );

    const read = await readAll();
    expect(result).toEqual({ put: 1_200 });
    expect(read).toHaveLength(1_200);
    for (let user = 0; user < 5; user++) {
      const key = `user_id=i:${user}`;
      const mine = read.filter((record) => record.key === key);
      expect(new Set(mine.map((record) => record.shard)).size).toBe(1);
      expect(mine.map((record) => record.text)).toEqual(
        events.filter((event) => event.key === key).map((event) => event.text),
      );
    }
  });
});
