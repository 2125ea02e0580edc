import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventStreamPutError, KinesisEventStream, type StreamRecord } from '../../lib/stores/event-stream.js';

const kinesis = mockClient(KinesisClient);
let delays: number[] = [];
beforeEach(() => {
  kinesis.reset();
  delays = [];
});

function stream(maxAttempts = 8) {
  return new KinesisEventStream({
    client: new KinesisClient({ region: 'us-east-1' }),
    streamName: 'transactions',
    maxAttempts,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
  });
}

const record = (key: string, text: string): StreamRecord => ({
  partitionKey: key,
  data: new TextEncoder().encode(text),
});

describe('KinesisEventStream', () => {
  it('puts records with PutRecords, each with its partition key and bytes', async () => {
    kinesis.on(PutRecordsCommand).resolves({ FailedRecordCount: 0, Records: [{}, {}] });

    const result = await stream().put([record('user_id=i:1', '{"a":1}'), record('user_id=i:2', '{"a":2}')]);

    expect(result).toEqual({ put: 2 });
    expect(kinesis.commandCalls(PutRecordsCommand)[0]?.args[0].input).toStrictEqual({
      StreamName: 'transactions',
      Records: [
        { PartitionKey: 'user_id=i:1', Data: new TextEncoder().encode('{"a":1}') },
        { PartitionKey: 'user_id=i:2', Data: new TextEncoder().encode('{"a":2}') },
      ],
    });
  });

  it('sends at most 500 records per call, in order', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map(() => ({})),
    }));

    await stream().put(Array.from({ length: 1_201 }, (_, i) => record(`k${i % 7}`, String(i))));

    const calls = kinesis.commandCalls(PutRecordsCommand).map((call) => call.args[0].input.Records ?? []);
    expect(calls.map((records) => records.length)).toEqual([500, 500, 201]);
    expect(new TextDecoder().decode(calls[2]?.[200]?.Data)).toBe('1200');
  });

  it('keeps each call under 5 MiB', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => ({
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map(() => ({})),
    }));
    const big = new Uint8Array(900 * 1024);

    await stream().put(Array.from({ length: 12 }, () => ({ partitionKey: 'k', data: big })));

    expect(kinesis.commandCalls(PutRecordsCommand).map((call) => call.args[0].input.Records?.length)).toEqual(
      [5, 5, 2],
    );
  });

  it('sends again only the records the stream refused, backing off', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 1,
        Records: [{}, { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }, {}],
      })
      .resolves({ FailedRecordCount: 0, Records: [{}] });

    await stream().put([record('a', '1'), record('b', '2'), record('c', '3')]);

    const calls = kinesis.commandCalls(PutRecordsCommand).map((call) => call.args[0].input.Records ?? []);
    expect(calls.map((records) => records.map((r) => r.PartitionKey))).toEqual([['a', 'b', 'c'], ['b']]);
    expect(delays).toEqual([50]);
  });

  it('fails saying how many stayed refused after the last attempt, with the stream and the reason', async () => {
    kinesis.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' },
      ],
    });

    await expect(stream(3).put([record('a', '1')])).rejects.toThrow(
      new EventStreamPutError(
        '1 of 1 records stayed refused by stream "transactions" after 3 attempts (Rate exceeded for shard); send them again later, or add shards',
      ),
    );
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(3);
    expect(delays).toEqual([50, 100]);
  });

  it('refuses a record over 1 MiB before sending anything', async () => {
    await expect(
      stream().put([record('a', '1'), { partitionKey: 'a', data: new Uint8Array(1024 * 1024) }]),
    ).rejects.toThrow(
      new EventStreamPutError(
        'record 1 is 1048577 bytes with its partition key; Kinesis takes at most 1048576, so split the event or store large values elsewhere',
      ),
    );
    expect(kinesis.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });
});
