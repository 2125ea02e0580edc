import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Command } from 'commander';
import { closestName } from '../definitions/closest-name.js';
import type { KinesisSourceDefinition } from '../definitions/sources.js';
import { FstoreError } from '../errors.js';
import { loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import type { ServingCatalog } from '../services/serving-catalog.js';
import { KinesisEventStream, type StreamRecord } from '../stores/event-stream.js';
import { FileSystemObjectStore } from '../stores/filesystem-object-store.js';
import { createKinesisClient } from '../stores/kinesis-client.js';
import { runningServe } from './dynamodb-connection.js';
import { startLocalStreaming } from './local-streaming.js';
import type { OfflineCommandOutput } from './offline-commands.js';
import { withOnlinePlatform } from './online-platform.js';
import { positiveInteger } from './option-parsers.js';
import { formatCount, ProgressLine } from './progress.js';

/** Records per PutRecords call when no rate is asked for (Kinesis's limit). */
const PUT_BATCH = 500;

interface IngestOptions {
  file: string;
  source?: string;
  rate?: number;
  json?: boolean;
}

/**
 * Registers `ingest`: puts the lines of a JSON-lines file on a Kinesis source's stream, each line one
 * record (bytes as they are, so a malformed line reaches the quarantine like any bad record), keyed by the
 * source's partition key. Locally, a running `fstore serve` takes them and applies them; without one,
 * the command runs the local stream itself, waits until every record is applied or quarantined, and
 * prints the counts. With provider `aws` it puts to the deployed stream.
 */
export function registerIngestCommand(program: Command, output: OfflineCommandOutput): void {
  program
    .command('ingest')
    .description(
      'put events from a JSON-lines file on the stream; they are applied online and landed offline',
    )
    .requiredOption('--file <path>', 'events, one JSON object per line')
    .option('--source <name>', 'the Kinesis source the events belong to (default: the only one)')
    .option('--rate <n>', 'records per second (default: as fast as the stream takes them)', positiveInteger)
    .option('--json', 'print the summary as JSON')
    .action(async (options: IngestOptions) => {
      const dir = resolve(output.repoDir());
      const config = await loadFeatureRepoConfig(dir);
      const lines = (await readEvents(resolve(options.file))).filter((line) => line.trim() !== '');
      if (lines.length === 0)
        throw new FstoreError(`${options.file} holds no events; write one JSON object per line`);
      const summary = await withOnlinePlatform(config, dir, async (platform) => {
        const catalog = await platform.catalog();
        const source = chooseSource(catalog, options.source);
        const records = lines.map((line, index) => toRecord(line, index, partitionKeyField(catalog, source)));
        const started = performance.now();
        if (config.provider === 'aws') {
          const streamName = config.aws?.stream ?? source.streamName;
          const client = createKinesisClient(config.aws?.region ? { region: config.aws.region } : {});
          try {
            await putPaced(client, streamName, records, options.rate, output);
          } finally {
            client.destroy();
          }
          return { records: records.length, stream: streamName, via: 'aws', seconds: seconds(started) };
        }
        const served = await runningServe(config, dir);
        if (served?.kinesisEndpoint) {
          const client = createKinesisClient({ endpoint: served.kinesisEndpoint });
          try {
            await putPaced(client, source.streamName, records, options.rate, output);
          } finally {
            client.destroy();
          }
          return {
            records: records.length,
            stream: source.streamName,
            via: 'serve',
            seconds: seconds(started),
          };
        }
        const counts = { applied: 0, quarantined: 0, failed: 0 };
        const streaming = await startLocalStreaming({
          loadCatalog: async () => ({ catalog }),
          onlineStore: platform.onlineStore,
          offlineStore: new FileSystemObjectStore({
            root: join(resolve(dir, config.local.dataDir), 'offline'),
          }),
          onResult: (result) => {
            counts.applied += result.applied;
            counts.quarantined += result.quarantined;
            counts.failed += result.failed.length;
          },
          logger: {
            info: () => {},
            warn: (line: string) => output.progress(`${line}\n`),
            error: (line: string) => output.progress(`${line}\n`),
          },
        });
        try {
          await putPaced(streaming.client, source.streamName, records, options.rate, output);
          await streaming.caughtUp();
        } finally {
          await streaming.close();
        }
        return {
          records: records.length,
          stream: source.streamName,
          via: 'in-process',
          seconds: seconds(started),
          ...counts,
        };
      });
      if (options.json) {
        output.printJson(summary);
        return;
      }
      const where =
        summary.via === 'serve'
          ? '; fstore serve applies them'
          : summary.via === 'aws'
            ? '; the ingest Lambda applies them'
            : `; applied ${'applied' in summary ? summary.applied : 0}, quarantined ${'quarantined' in summary ? summary.quarantined : 0}${
                'quarantined' in summary && summary.quarantined > 0
                  ? ` (see ${config.local.dataDir}/offline/quarantine/)`
                  : ''
              }`;
      output.print(
        `Put ${formatCount(summary.records)} records on stream ${summary.stream} in ${summary.seconds.toFixed(1)} s${where}.`,
      );
    });
}

async function readEvents(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n');
  } catch (error) {
    throw new FstoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function chooseSource(catalog: ServingCatalog, name: string | undefined): KinesisSourceDefinition {
  const sources = catalog.validated.repo.sources.filter(
    (source): source is KinesisSourceDefinition => source.kind === 'kinesis_source',
  );
  if (name === undefined) {
    if (sources.length === 1 && sources[0]) return sources[0];
    throw new FstoreError(
      sources.length === 0
        ? 'the applied definitions hold no Kinesis source; declare one with kinesisSource(...) and apply'
        : `the applied definitions hold ${sources.length} Kinesis sources (${sources.map((s) => s.name).join(', ')}); name one with --source`,
    );
  }
  const source = sources.find((candidate) => candidate.name === name);
  if (!source) {
    const suggestion = closestName(
      name,
      sources.map((s) => s.name),
    );
    throw new FstoreError(
      `there is no Kinesis source "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
    );
  }
  return source;
}

/** The source's partition key, or the first join key of the first view reading it, so an entity stays on one shard. */
function partitionKeyField(catalog: ServingCatalog, source: KinesisSourceDefinition): string | undefined {
  if (source.partitionKey) return source.partitionKey;
  for (const view of catalog.views.values()) {
    if (view.definition.source.name === source.name) return [...view.joinKeys.keys()][0];
  }
  return undefined;
}

function toRecord(line: string, index: number, keyField: string | undefined): StreamRecord {
  let key: unknown;
  try {
    key = keyField === undefined ? undefined : JSON.parse(line)?.[keyField];
  } catch {
    // Not JSON: it is put as it is and will be quarantined with its reason.
  }
  return {
    data: new TextEncoder().encode(line),
    partitionKey: key === undefined || key === null ? `line-${index + 1}` : String(key),
  };
}

/** Puts records, at most `rate` a second when given (each at its own scheduled time), in calls of up to 500. */
async function putPaced(
  client: KinesisClient,
  streamName: string,
  records: readonly StreamRecord[],
  rate: number | undefined,
  output: OfflineCommandOutput,
): Promise<void> {
  const stream = new KinesisEventStream({ client, streamName });
  const progress = new ProgressLine(output.progress);
  const started = performance.now();
  let sent = 0;
  while (sent < records.length) {
    const due =
      rate === undefined
        ? records.length
        : Math.min(records.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    if (due <= sent) {
      await sleep(Math.max(1, ((sent / (rate ?? 1)) * 1000 - (performance.now() - started)) | 0));
      continue;
    }
    const batch = records.slice(sent, Math.min(due, sent + PUT_BATCH));
    await stream.put(batch);
    sent += batch.length;
    progress.update(
      `put ${formatCount(sent)} of ${formatCount(records.length)} records`,
      sent === records.length,
    );
  }
  progress.done();
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
