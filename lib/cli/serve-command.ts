import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type Command, InvalidArgumentError } from 'commander';
import { appliedCatalog } from '../../lambdas/http/applied-catalog.js';
import { registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import { createServeHandler } from '../../lambdas/serve.js';
import { FstoreError } from '../errors.js';
import { DynamoDBRegistryStore } from '../registry/dynamodb-registry-store.js';
import { DynamoDBMaterializationWatermarks } from '../registry/materialization-watermarks.js';
import { Registry } from '../registry/registry.js';
import { loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import { materialize, materializeIncremental } from '../services/materialize.js';
import { pushEvents } from '../services/push-events.js';
import { DynamoDBOnlineStore } from '../stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../stores/filesystem-object-store.js';
import { S3ObjectStore } from '../stores/s3-object-store.js';
import { withCatalogUi } from './catalog-ui/catalog-routes.js';
import { announceServe, connectDynamoDB, runningServe } from './dynamodb-connection.js';
import { startLocalApiServer } from './local-api-server.js';
import { type LocalStreaming, startLocalStreaming } from './local-streaming.js';
import type { OfflineCommandOutput } from './offline-commands.js';
import { withOfflinePlatform } from './offline-platform.js';
import { positiveInteger } from './option-parsers.js';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 (any free port) to 65535');
  }
  return parsed;
}

function milliseconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('expected a whole number of milliseconds');
  return parsed;
}

/** `fstore serve`'s settings (its command-line options). */
export interface ServeOptions {
  /** 0: any free port (see `RunningServe.port`). */
  readonly port: number;
  readonly host: string;
  readonly refreshMs: number;
  readonly maxEntityRows: number;
  readonly maxFeatures: number;
  readonly maxBodyBytes: number;
  readonly shards: number;
  readonly batchSize: number;
}

/** The default of every `ServeOptions` setting, as the command line has them. */
export const DEFAULT_SERVE_OPTIONS: ServeOptions = {
  port: 6566,
  host: '127.0.0.1',
  refreshMs: 5_000,
  maxEntityRows: 1_000,
  maxFeatures: 500,
  maxBodyBytes: 1024 * 1024,
  shards: 2,
  batchSize: 100,
};

/** A running `fstore serve`: what it listens on, and how to stop it. */
export interface RunningServe {
  /** `http://<host>:<port>`; the feature catalog is at `<url>/ui`. */
  readonly url: string;
  readonly port: number;
  /** The line `fstore serve` prints once it listens. */
  readonly banner: string;
  /** Stops the server, the streams and the local DynamoDB, and withdraws the announcement. */
  close(): Promise<void>;
}

/**
 * Starts what `fstore serve` runs for the repo in `repoDir` (see `registerServeCommand`), in this process,
 * and returns once it listens. Tests use it to run the real server on port 0.
 * @example
 * const serve = await startServe(repo, { ...DEFAULT_SERVE_OPTIONS, port: 0 }, console.error);
 * await fetch(`${serve.url}/ui/api/catalog`);
 * await serve.close();
 */
export async function startServe(
  repoDir: string,
  options: ServeOptions,
  progress: (text: string) => void,
): Promise<RunningServe> {
  const dir = resolve(repoDir);
  const config = await loadFeatureRepoConfig(dir);
  const already = config.provider === 'local' ? await runningServe(config, dir) : undefined;
  if (already) {
    throw new FstoreError(
      `fstore serve already runs for this repo (pid ${already.pid}, ${already.apiUrl}); use it, or stop it first`,
    );
  }
  const connection = await connectDynamoDB(config, dir);
  const registry = new Registry({
    store: new DynamoDBRegistryStore({
      client: connection.client,
      tableName: connection.registryTable,
    }),
    project: config.project,
  });
  const store = new DynamoDBOnlineStore({
    client: connection.client,
    tableName: connection.onlineTable,
  });
  const loadCatalog = registryCatalogLoader(registry, { refreshMs: options.refreshMs });
  const watermarks = new DynamoDBMaterializationWatermarks({
    client: connection.client,
    tableName: connection.registryTable,
    project: config.project,
  });
  const offlineStore =
    config.provider === 'local'
      ? new FileSystemObjectStore({ root: join(resolve(dir, config.local.dataDir), 'offline') })
      : undefined;
  const limits = {
    maxEntityRows: options.maxEntityRows,
    maxFeatures: options.maxFeatures,
    maxBodyBytes: options.maxBodyBytes,
  };
  const api = createServeHandler({
    loadCatalog,
    store,
    limits,
    push: async (request) => {
      const { catalog } = await appliedCatalog(loadCatalog);
      return pushEvents({
        catalog,
        onlineStore: store,
        ...(offlineStore ? { offlineStore } : {}),
        request,
      });
    },
    // POST /materialize and /materialize-incremental run here as `fstore materialize` would.
    materialize: (run) =>
      withOfflinePlatform(config, dir, async (offline) => {
        const checked = new Set<string>();
        for (const name of run.views) {
          const definition = run.catalog.views.get(name)?.definition;
          if (!definition || checked.has(definition.source.name)) continue;
          checked.add(definition.source.name);
          await offline.checkSource(definition);
        }
        const common = {
          engine: offline.engine,
          offlineStore: offline.store,
          onlineStore: store,
          catalog: run.catalog,
          sourceRelation: offline.batchPartRelation,
          views: run.views,
          end: run.end,
        };
        return run.incremental
          ? materializeIncremental({ ...common, watermarks })
          : materialize({ ...common, ...(run.start ? { start: run.start } : {}) });
      }),
  });
  // The catalog page and its JSON, served locally only (the Lambda has no UI).
  const s3 =
    offlineStore === undefined && config.aws
      ? new S3Client(config.aws.region ? { region: config.aws.region } : {})
      : undefined;
  const catalogStore =
    offlineStore ??
    (config.aws && s3 ? new S3ObjectStore({ bucket: config.aws.bucket, client: s3 }) : undefined);
  const handler = withCatalogUi(api, {
    project: config.project,
    loadCatalog,
    registry,
    watermarks,
    ...(catalogStore ? { offlineStore: catalogStore } : {}),
  });
  let server: Awaited<ReturnType<typeof startLocalApiServer>>;
  try {
    server = await startLocalApiServer({
      handler,
      port: options.port,
      host: options.host,
      maxBodyBytes: options.maxBodyBytes,
    });
  } catch (error) {
    s3?.destroy();
    await connection.close();
    throw new FstoreError(
      `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}; pick another --port`,
      { cause: error },
    );
  }
  let streaming: LocalStreaming | undefined;
  try {
    streaming = offlineStore
      ? await startLocalStreaming({
          loadCatalog,
          onlineStore: store,
          offlineStore,
          shards: options.shards,
          batchSize: options.batchSize,
          logger: console,
        })
      : undefined;
  } catch (error) {
    await server.close();
    s3?.destroy();
    await connection.close();
    throw error;
  }
  // Streams of Kinesis sources applied while serving start with the catalog refresh.
  const streamSync = streaming
    ? setInterval(
        () =>
          streaming?.sync().catch((error: unknown) => {
            progress(`fstore serve: cannot start a stream: ${(error as Error).message}`);
          }),
        Math.max(options.refreshMs, 1_000),
      )
    : undefined;
  const withdraw =
    connection.via === 'in-process' && connection.endpoint
      ? await announceServe(config, dir, {
          pid: process.pid,
          dynamodbEndpoint: connection.endpoint,
          apiUrl: server.url,
          ...(streaming ? { kinesisEndpoint: streaming.endpoint } : {}),
        })
      : async () => {};
  return {
    url: server.url,
    port: server.port,
    banner: `fstore serve: ${server.url} (project ${config.project}; ${connection.via === 'aws' ? `DynamoDB table ${connection.onlineTable}` : `local DynamoDB at ${connection.endpoint}`}${streaming ? `; local Kinesis at ${streaming.endpoint}` : ''}). Feature catalog: ${server.url}/ui. Ctrl-C to stop.`,
    close: async () => {
      clearInterval(streamSync);
      await server.close();
      await streaming?.close();
      await withdraw();
      s3?.destroy();
      await connection.close();
    },
  };
}

/**
 * Registers `serve`: the HTTP API on localhost, the same handler as the Lambda, turning each request into
 * an API Gateway proxy event, plus the feature catalog page at `/ui` (local only). It hosts the repo's
 * local DynamoDB and announces it in `<dataDir>/serve.json`,
 * so other fstore commands share it while it runs. Locally it also runs the streaming path: a local Kinesis
 * with a stream per applied Kinesis source (new ones picked up with each refresh) and pollers calling the
 * ingest handler like Lambda's event source mapping. Stops on SIGINT or SIGTERM, leaving nothing listening.
 */
export function registerServeCommand(program: Command, output: OfflineCommandOutput): void {
  const defaults = DEFAULT_SERVE_OPTIONS;
  program
    .command('serve')
    .description(
      'serve the HTTP API (get-online-features, push, health, registry) and the feature catalog page (/ui) on localhost',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', port, defaults.port)
    .option('--host <address>', 'address to listen on', defaults.host)
    .option('--refresh-ms <n>', 'how often to pick up a new apply, in ms', milliseconds, defaults.refreshMs)
    .option('--max-entity-rows <n>', 'entity rows per request', positiveInteger, defaults.maxEntityRows)
    .option('--max-features <n>', 'features per request', positiveInteger, defaults.maxFeatures)
    .option('--max-body-bytes <n>', 'request body size', positiveInteger, defaults.maxBodyBytes)
    .option('--shards <n>', 'shards per local stream', positiveInteger, defaults.shards)
    .option('--batch-size <n>', 'stream records per ingest invocation', positiveInteger, defaults.batchSize)
    .action(async (options: ServeOptions) => {
      const running = await startServe(output.repoDir(), options, output.progress);
      output.print(running.banner);
      await new Promise<void>((resolveStop) => {
        const stop = () => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.close();
      output.print('fstore serve stopped.');
    });
}
