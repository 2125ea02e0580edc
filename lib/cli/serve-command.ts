import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { appliedCatalog } from '../../lambdas/http/applied-catalog.js';
import { registryCatalogLoader } from '../../lambdas/http/catalog-cache.js';
import { createServeHandler } from '../../lambdas/serve.js';
import { FstoreError } from '../errors.js';
import { DynamoDBRegistryStore } from '../registry/dynamodb-registry-store.js';
import { Registry } from '../registry/registry.js';
import { loadFeatureRepoConfig } from '../repo/load-feature-repo.js';
import { pushEvents } from '../services/push-events.js';
import { DynamoDBOnlineStore } from '../stores/dynamodb-online-store.js';
import { FileSystemObjectStore } from '../stores/filesystem-object-store.js';
import { announceServe, connectDynamoDB, runningServe } from './dynamodb-connection.js';
import { startLocalApiServer } from './local-api-server.js';
import { type LocalStreaming, startLocalStreaming } from './local-streaming.js';
import type { OfflineCommandOutput } from './offline-commands.js';
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

/**
 * Registers `serve`: the HTTP API on localhost, the same handler as the Lambda, turning each request into
 * an API Gateway proxy event. It hosts the repo's local DynamoDB and announces it in `<dataDir>/serve.json`,
 * so other fstore commands share it while it runs. Locally it also runs the streaming path: a local Kinesis
 * with a stream per applied Kinesis source (new ones picked up with each refresh) and pollers calling the
 * ingest handler like Lambda's event source mapping. Stops on SIGINT or SIGTERM, leaving nothing listening.
 */
export function registerServeCommand(program: Command, output: OfflineCommandOutput): void {
  program
    .command('serve')
    .description('serve the HTTP API (get-online-features, push, health, registry) on localhost')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 6566)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--refresh-ms <n>', 'how often to pick up a new apply, in ms', milliseconds, 5_000)
    .option('--max-entity-rows <n>', 'entity rows per request', positiveInteger, 1_000)
    .option('--max-features <n>', 'features per request', positiveInteger, 500)
    .option('--max-body-bytes <n>', 'request body size', positiveInteger, 1024 * 1024)
    .option('--shards <n>', 'shards per local stream', positiveInteger, 2)
    .option('--batch-size <n>', 'stream records per ingest invocation', positiveInteger, 100)
    .action(
      async (options: {
        port: number;
        host: string;
        refreshMs: number;
        maxEntityRows: number;
        maxFeatures: number;
        maxBodyBytes: number;
        shards: number;
        batchSize: number;
      }) => {
        const dir = resolve(output.repoDir());
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
        const offlineStore =
          config.provider === 'local'
            ? new FileSystemObjectStore({ root: join(resolve(dir, config.local.dataDir), 'offline') })
            : undefined;
        const limits = {
          maxEntityRows: options.maxEntityRows,
          maxFeatures: options.maxFeatures,
          maxBodyBytes: options.maxBodyBytes,
        };
        const handler = createServeHandler({
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
          await connection.close();
          throw error;
        }
        // Streams of Kinesis sources applied while serving start with the catalog refresh.
        const streamSync = streaming
          ? setInterval(
              () =>
                streaming?.sync().catch((error: unknown) => {
                  output.progress(`fstore serve: cannot start a stream: ${(error as Error).message}`);
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
        output.print(
          `fstore serve: ${server.url} (project ${config.project}; ${connection.via === 'aws' ? `DynamoDB table ${connection.onlineTable}` : `local DynamoDB at ${connection.endpoint}`}${streaming ? `; local Kinesis at ${streaming.endpoint}` : ''}). Ctrl-C to stop.`,
        );
        await new Promise<void>((resolveStop) => {
          const stop = () => resolveStop();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        clearInterval(streamSync);
        await server.close();
        await streaming?.close();
        await withdraw();
        await connection.close();
        output.print('fstore serve stopped.');
      },
    );
}
