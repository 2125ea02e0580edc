import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  type KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  fileCheckpoints,
  type InvocationReport,
  type KinesisFailureDetails,
  type LocalEventSourceMapping,
  type LocalEventSourceMappingOptions,
  memoryCheckpoints,
  startLocalEventSourceMapping,
} from '../../lib/cli/local-event-source-mapping.js';
import { createKinesisClient } from '../../lib/stores/kinesis-client.js';
import { type LocalKinesis, startLocalKinesis } from '../../lib/stores/local-kinesis.js';

let kinesis: LocalKinesis;
let client: KinesisClient;
const running: LocalEventSourceMapping[] = [];

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  kinesis = await startLocalKinesis();
  client = createKinesisClient({ endpoint: kinesis.endpoint });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((mapping) => mapping.stop()));
});
afterAll(async () => {
  client.destroy();
  await kinesis.close();
});

interface TestStream {
  readonly name: string;
  readonly shards: { readonly id: string; readonly hashKey: string }[];
}

let streams = 0;
async function createStream(shardCount = 2): Promise<TestStream> {
  const name = `esm-${++streams}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  await waitActive(name);
  const listed = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
  return {
    name,
    shards: listed.map((shard) => ({
      id: shard.ShardId ?? '',
      hashKey: shard.HashKeyRange?.StartingHashKey ?? '',
    })),
  };
}

async function waitActive(name: string): Promise<void> {
  for (;;) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(5);
  }
}

/** Puts texts, in order, to the shard owning `hashKey`; returns their sequence numbers. */
async function putTo(streamName: string, hashKey: string, texts: readonly string[]): Promise<string[]> {
  const output = await client.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: texts.map((text) => ({
        PartitionKey: 'key',
        ExplicitHashKey: hashKey,
        Data: new TextEncoder().encode(text),
      })),
    }),
  );
  expect(output.FailedRecordCount ?? 0).toBe(0);
  return (output.Records ?? []).map((record) => record.SequenceNumber ?? '');
}

function texts(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${from + index}`);
}

interface Invocation {
  readonly shardId: string;
  readonly texts: string[];
  readonly sequenceNumbers: string[];
}

function decode(event: KinesisStreamEvent): Invocation {
  const shardIds = new Set(event.Records.map((record) => record.eventID.split(':')[0]));
  expect(shardIds.size).toBe(1);
  return {
    shardId: [...shardIds][0] ?? '',
    texts: event.Records.map((record) => Buffer.from(record.kinesis.data, 'base64').toString('utf8')),
    sequenceNumbers: event.Records.map((record) => record.kinesis.sequenceNumber),
  };
}

type Reply = KinesisStreamBatchResponse | undefined;

/** A handler that records every invocation, and answers with `reply` (which may throw). */
function recordingHandler(reply: (invocation: Invocation, index: number) => Reply = () => undefined) {
  const invocations: Invocation[] = [];
  const handler = async (event: KinesisStreamEvent): Promise<Reply> => {
    const invocation = decode(event);
    invocations.push(invocation);
    return reply(invocation, invocations.length - 1);
  };
  return { handler, invocations };
}

function quietLogger() {
  return { warn: vi.fn<(message: string) => void>(), error: vi.fn<(message: string) => void>() };
}

async function start(options: LocalEventSourceMappingOptions): Promise<LocalEventSourceMapping> {
  const mapping = await startLocalEventSourceMapping({ idlePollMs: 20, retryDelayMs: 1, ...options });
  running.push(mapping);
  return mapping;
}

/** Texts handed over successfully, per shard, in delivery order. */
function deliveredByShard(invocations: readonly Invocation[], reports: readonly InvocationReport[]) {
  const byShard = new Map<string, string[]>();
  invocations.forEach((invocation, index) => {
    if (reports[index]?.outcome !== 'success') return;
    byShard.set(invocation.shardId, [...(byShard.get(invocation.shardId) ?? []), ...invocation.texts]);
  });
  return byShard;
}

describe('startLocalEventSourceMapping on kinesalite', () => {
  it('delivers every record once, in shard order, in batches of at most batchSize, shaped like Lambda events', async () => {
    const stream = await createStream(2);
    const [shard0, shard1] = stream.shards as [TestStream['shards'][0], TestStream['shards'][0]];
    await putTo(stream.name, shard0.hashKey, texts('a', 120));
    await putTo(stream.name, shard1.hashKey, texts('b', 80));
    const events: KinesisStreamEvent[] = [];
    const { handler, invocations } = recordingHandler();
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

    const mapping = await start({
      client,
      streamName: stream.name,
      batchSize: 50,
      handler: async (event) => {
        events.push(event);
        return handler(event);
      },
    });
    await mapping.caughtUp();

    const sizes = (shardId: string) =>
      invocations.filter((invocation) => invocation.shardId === shardId).map((i) => i.texts.length);
    expect(sizes(shard0.id)).toEqual([50, 50, 20]);
    expect(sizes(shard1.id)).toEqual([50, 30]);
    const flat = (shardId: string) =>
      invocations.filter((invocation) => invocation.shardId === shardId).flatMap((i) => i.texts);
    expect(flat(shard0.id)).toEqual(texts('a', 120));
    expect(flat(shard1.id)).toEqual(texts('b', 80));

    const first = events.find((event) => event.Records[0]?.eventID.startsWith(shard0.id))?.Records[0];
    expect(first).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'key',
        sequenceNumber: expect.stringMatching(/^\d+$/),
        data: Buffer.from('a-0').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shard0.id}:${first?.kinesis.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/fstore-local',
      awsRegion: 'us-east-1',
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream.name}`,
    });
    expect(Math.abs((first?.kinesis.approximateArrivalTimestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);

    // A record put while the mapping idles arrives within a few idle polls.
    const putAt = Date.now();
    await putTo(stream.name, shard1.hashKey, ['b-late']);
    await mapping.caughtUp();
    expect(invocations.at(-1)?.texts).toEqual(['b-late']);
    // A hang limit, not a latency target: idle polls are bounded in time, so this never waits for long.
    expect(Date.now() - putAt).toBeLessThan(60_000);
    expect(mapping.stats()).toEqual({
      invocations: 6,
      records: 201,
      retries: 0,
      bisections: 0,
      failedBatches: 0,
      discardedRecords: 0,
    });

    await mapping.stop();
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(
      timersBefore,
    );
    await expect(mapping.caughtUp()).rejects.toThrow(/stopped/);
  });

  it('redelivers from the lowest reported batch item failure, not the records before it', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[0] as TestStream['shards'][0];
    const sequenceNumbers = await putTo(stream.name, shard.hashKey, texts('r', 10));
    const reports: InvocationReport[] = [];
    const { handler, invocations } = recordingHandler((_, index) =>
      index === 0
        ? {
            batchItemFailures: [
              { itemIdentifier: sequenceNumbers[6] as string },
              { itemIdentifier: sequenceNumbers[3] as string },
            ],
          }
        : { batchItemFailures: [] },
    );

    const mapping = await start({
      client,
      streamName: stream.name,
      batchSize: 10,
      handler,
      onInvocation: (report) => reports.push(report),
    });
    await mapping.caughtUp();

    expect(invocations.map((invocation) => invocation.texts)).toEqual([texts('r', 10), texts('r', 7, 3)]);
    expect(reports.map((report) => [report.outcome, report.retryAttempt])).toEqual([
      ['partial-failure', 0],
      ['success', 1],
    ]);
    expect(mapping.stats()).toMatchObject({ invocations: 2, records: 17, retries: 1, failedBatches: 0 });
  });

  it('fails the whole batch when an item identifier is empty or not in the batch', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[1] as TestStream['shards'][0];
    await putTo(stream.name, shard.hashKey, texts('w', 6));
    const replies: Reply[] = [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: '12345' }] },
      undefined,
    ];
    const { handler, invocations } = recordingHandler((_, index) => replies[index]);

    const mapping = await start({
      client,
      streamName: stream.name,
      batchSize: 10,
      bisectBatchOnFunctionError: false,
      handler,
    });
    await mapping.caughtUp();

    expect(invocations.map((invocation) => invocation.texts)).toEqual([
      texts('w', 6),
      texts('w', 6),
      texts('w', 6),
    ]);
    expect(mapping.stats()).toMatchObject({ retries: 2, failedBatches: 0 });
  });

  it('bisects a failing batch, retries a poison record, then hands it to onFailure and moves on', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[0] as TestStream['shards'][0];
    const batch = texts('p', 8);
    batch[5] = 'poison';
    const sequenceNumbers = await putTo(stream.name, shard.hashKey, batch);
    const failures: KinesisFailureDetails[] = [];
    const reports: InvocationReport[] = [];
    const { handler, invocations } = recordingHandler((invocation) => {
      if (invocation.texts.includes('poison')) throw new Error('cannot parse poison');
      return undefined;
    });

    const mapping = await start({
      client,
      streamName: stream.name,
      batchSize: 8,
      maxRetryAttempts: 2,
      handler,
      onFailure: (details) => {
        failures.push(details);
      },
      onInvocation: (report) => reports.push(report),
    });
    await mapping.caughtUp();

    // [8] fails -> [4] ok, [4] fails -> [2] fails -> [1] ok, [1] fails + 2 retries -> discarded, then [2] ok.
    expect(invocations.map((invocation) => invocation.texts.length)).toEqual([8, 4, 4, 2, 1, 1, 1, 1, 2]);
    expect(reports.map((report) => report.retryAttempt)).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 0]);
    expect(reports.map((report) => report.bisected)).toEqual([
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(deliveredByShard(invocations, reports).get(shard.id)).toEqual(
      batch.filter((text) => text !== 'poison'),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 6 },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: shard.id,
        startSequenceNumber: sequenceNumbers[5],
        endSequenceNumber: sequenceNumbers[5],
        batchSize: 1,
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream.name}`,
      },
      errorMessage: expect.stringContaining('cannot parse poison'),
    });
    expect(failures[0]?.payload.Records.map((record) => record.kinesis.sequenceNumber)).toEqual([
      sequenceNumbers[5],
    ]);

    // The shard is not blocked: later records are delivered.
    await putTo(stream.name, shard.hashKey, ['after']);
    await mapping.caughtUp();
    expect(invocations.at(-1)?.texts).toEqual(['after']);
    expect(mapping.stats()).toMatchObject({
      retries: 2,
      bisections: 3,
      failedBatches: 1,
      discardedRecords: 1,
    });
  });

  it('without bisecting, retries the whole batch and logs it when there is no onFailure', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[1] as TestStream['shards'][0];
    await putTo(stream.name, shard.hashKey, texts('x', 4));
    const logger = quietLogger();
    const { handler, invocations } = recordingHandler(() => {
      throw new Error('always');
    });

    const mapping = await start({
      client,
      streamName: stream.name,
      bisectBatchOnFunctionError: false,
      maxRetryAttempts: 1,
      handler,
      logger,
    });
    await mapping.caughtUp();

    expect(invocations.map((invocation) => invocation.texts)).toEqual([texts('x', 4), texts('x', 4)]);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]?.[0]).toMatch(/discarded 4 record\(s\) of shardId-000000000001/);
    expect(mapping.stats()).toMatchObject({
      invocations: 2,
      retries: 1,
      failedBatches: 1,
      discardedRecords: 4,
    });
  });

  it('resumes after its file checkpoints when started again, delivering nothing twice', async () => {
    const stream = await createStream(2);
    const [shard0, shard1] = stream.shards as [TestStream['shards'][0], TestStream['shards'][0]];
    const dir = await mkdtemp(join(tmpdir(), 'fstore-esm-'));
    const path = join(dir, 'state', 'checkpoints.json');
    try {
      const lastOfShard0 = (await putTo(stream.name, shard0.hashKey, texts('c', 15))).at(-1);
      const lastOfShard1 = (await putTo(stream.name, shard1.hashKey, texts('d', 15))).at(-1);
      const first = recordingHandler();
      const mapping = await start({
        client,
        streamName: stream.name,
        batchSize: 7,
        handler: first.handler,
        checkpoints: fileCheckpoints(path),
      });
      await mapping.caughtUp();
      await mapping.stop();
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
        [shard0.id]: lastOfShard0,
        [shard1.id]: lastOfShard1,
      });
      expect(await readdir(join(dir, 'state'))).toEqual(['checkpoints.json']);

      await putTo(stream.name, shard0.hashKey, texts('c', 5, 15));
      await putTo(stream.name, shard1.hashKey, texts('d', 5, 15));
      const second = recordingHandler();
      const restarted = await start({
        client,
        streamName: stream.name,
        batchSize: 7,
        handler: second.handler,
        checkpoints: fileCheckpoints(path),
      });
      await restarted.caughtUp();

      const secondTexts = second.invocations.flatMap((invocation) => invocation.texts).sort();
      expect(secondTexts).toEqual([...texts('c', 5, 15), ...texts('d', 5, 15)].sort());
      const all = [...first.invocations, ...second.invocations].flatMap((invocation) => invocation.texts);
      expect(all).toHaveLength(40);
      expect(new Set(all).size).toBe(40);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stop waits for the in-flight invocation and checkpoints it', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[0] as TestStream['shards'][0];
    const sequenceNumbers = await putTo(stream.name, shard.hashKey, texts('s', 5));
    const checkpoints = memoryCheckpoints();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls: KinesisStreamEvent[] = [];
    const mapping = await start({
      client,
      streamName: stream.name,
      checkpoints,
      handler: async (event) => {
        calls.push(event);
        await gate;
      },
    });
    while (calls.length === 0) await sleep(5);

    let stopped = false;
    const stopping = mapping.stop().then(() => {
      stopped = true;
    });
    await sleep(50);
    expect(stopped).toBe(false);
    release();
    await stopping;

    expect(calls).toHaveLength(1);
    expect(checkpoints.entries()).toEqual({ [shard.id]: sequenceNumbers[4] });
    const again = recordingHandler();
    const restarted = await start({ client, streamName: stream.name, checkpoints, handler: again.handler });
    await restarted.caughtUp();
    expect(again.invocations).toEqual([]);
  });

  it('reads a parent shard to its end before its children, and finds children split while running', async () => {
    const stream = await createStream(1);
    const parent = stream.shards[0] as TestStream['shards'][0];
    await putTo(stream.name, parent.hashKey, texts('old', 12));
    const { handler, invocations } = recordingHandler();
    const mapping = await start({
      client,
      streamName: stream.name,
      batchSize: 5,
      shardRefreshMs: 50,
      handler,
    });
    await mapping.caughtUp();

    const middle = (2n ** 127n).toString();
    await client.send(
      new SplitShardCommand({ StreamName: stream.name, ShardToSplit: parent.id, NewStartingHashKey: middle }),
    );
    await waitActive(stream.name);
    await putTo(stream.name, '0', texts('low', 6));
    await putTo(stream.name, middle, texts('high', 6));
    await mapping.caughtUp();

    expect(invocations.filter((i) => i.shardId === parent.id).flatMap((i) => i.texts)).toEqual(
      texts('old', 12),
    );
    const children = invocations.filter((invocation) => invocation.shardId !== parent.id);
    expect(new Set(children.map((invocation) => invocation.shardId)).size).toBe(2);
    expect(children.flatMap((invocation) => invocation.texts).sort()).toEqual(
      [...texts('low', 6), ...texts('high', 6)].sort(),
    );

    // A mapping started after the split reads the closed parent before either child.
    const fresh = recordingHandler();
    const later = await start({ client, streamName: stream.name, batchSize: 5, handler: fresh.handler });
    await later.caughtUp();
    const lastParent = fresh.invocations.findLastIndex((invocation) => invocation.shardId === parent.id);
    const firstChild = fresh.invocations.findIndex((invocation) => invocation.shardId !== parent.id);
    expect(lastParent).toBeGreaterThanOrEqual(0);
    expect(firstChild).toBeGreaterThan(lastParent);
    expect(fresh.invocations.flatMap((invocation) => invocation.texts)).toHaveLength(24);
  });

  it('starts at LATEST when asked, skipping records put before it started', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[1] as TestStream['shards'][0];
    await putTo(stream.name, shard.hashKey, texts('before', 3));
    const { handler, invocations } = recordingHandler();
    const mapping = await start({ client, streamName: stream.name, startingPosition: 'LATEST', handler });
    await mapping.caughtUp();
    await putTo(stream.name, shard.hashKey, texts('after', 2));
    await mapping.caughtUp();

    expect(invocations.flatMap((invocation) => invocation.texts)).toEqual(texts('after', 2));
  });

  it('backs off on throttling and re-reads after an expired iterator without losing or repeating records', async () => {
    const stream = await createStream(2);
    const shard = stream.shards[0] as TestStream['shards'][0];
    await putTo(stream.name, shard.hashKey, texts('t', 30));
    const flaky = createKinesisClient({ endpoint: kinesis.endpoint });
    const send = flaky.send.bind(flaky) as (command: unknown, options?: unknown) => Promise<unknown>;
    let getRecordsCalls = 0;
    vi.spyOn(flaky, 'send').mockImplementation(((command: unknown, options?: unknown) => {
      if (command instanceof GetRecordsCommand && command.input.ShardIterator) {
        getRecordsCalls++;
        const failure =
          getRecordsCalls === 2
            ? 'ProvisionedThroughputExceededException'
            : getRecordsCalls === 4
              ? 'ExpiredIteratorException'
              : undefined;
        if (failure)
          return Promise.reject(Object.assign(new Error(`injected ${failure}`), { name: failure }));
      }
      return send(command, options);
    }) as never);
    const logger = quietLogger();
    const { handler, invocations } = recordingHandler();
    try {
      const mapping = await start({ client: flaky, streamName: stream.name, batchSize: 10, handler, logger });
      await mapping.caughtUp();
      await mapping.stop();
    } finally {
      flaky.destroy();
    }

    expect(invocations.filter((i) => i.shardId === shard.id).flatMap((i) => i.texts)).toEqual(texts('t', 30));
    expect(logger.warn.mock.calls.flat().join('\n')).toMatch(/ProvisionedThroughputExceededException/);
    expect(getRecordsCalls).toBeGreaterThan(4);
  });

  it('refuses bad options and a stream that does not exist', async () => {
    const handler = async () => undefined;
    await expect(
      startLocalEventSourceMapping({ client, streamName: 'x', handler, batchSize: 0 }),
    ).rejects.toThrow(/batchSize must be a whole number from 1 to 10000/);
    await expect(
      startLocalEventSourceMapping({ client, streamName: 'x', handler, maxRetryAttempts: -2 }),
    ).rejects.toThrow(/maxRetryAttempts/);
    await expect(startLocalEventSourceMapping({ client, streamName: 'missing', handler })).rejects.toThrow(
      /cannot list the shards of Kinesis stream "missing".*create the stream first/,
    );
  });
});
