import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BatchRecompute, type BatchRecomputeProps } from './batch-recompute.js';
import type { DeployedRepo } from './deployed-repo.js';
import { Monitoring, type MonitoringProps } from './monitoring.js';
import { OfflineStore, type OfflineStoreProps } from './offline-store.js';
import { OnlineStoreTable, type OnlineStoreTableProps } from './online-store-table.js';
import { RegistryTable, type RegistryTableProps } from './registry-table.js';
import { ServingApi, type ServingApiProps } from './serving-api.js';
import { StreamIngestion, type StreamIngestionProps } from './stream-ingestion.js';

/** Settings of a part, without what the stack wires in itself. */
type Settings<P, Wired extends keyof P> = Partial<Omit<P, Wired>>;

export interface FeatureStoreStackProps extends StackProps {
  /** The feature repo's definitions as they would be applied (`deployedRepo(config, validated)`). */
  readonly repo: DeployedRepo;
  /** @default the RegistryTable defaults */
  readonly registry?: RegistryTableProps;
  /** @default the OnlineStoreTable defaults */
  readonly online?: OnlineStoreTableProps;
  /** @default the OfflineStore defaults */
  readonly offline?: Settings<OfflineStoreProps, 'repo'>;
  /** @default the StreamIngestion defaults; no ingestion when the repo has no Kinesis source */
  readonly ingestion?: Settings<
    StreamIngestionProps,
    'project' | 'streamNames' | 'onlineTable' | 'registryTable' | 'landing'
  >;
  /** @default the ServingApi defaults: IAM auth, no CORS */
  readonly api?: Settings<ServingApiProps, 'project' | 'onlineTable' | 'registryTable' | 'landing'>;
  /** @default the BatchRecompute defaults */
  readonly recompute?: Settings<
    BatchRecomputeProps,
    'project' | 'views' | 'onlineTable' | 'registryTable' | 'offlineStore'
  >;
  /** @default the Monitoring defaults */
  readonly monitoring?: Settings<
    MonitoringProps,
    'project' | 'functions' | 'deadLetterQueues' | 'streams' | 'api' | 'views'
  >;
}

/**
 * The whole platform as one stack, built from a feature repo: the offline store (S3, Glue tables per
 * source and view version, an Athena workgroup), the online and registry tables, stream ingestion (a
 * Kinesis stream per declared stream name, the ingest Lambda), batch recomputation (a schedule per view
 * with one), the serving API, and monitoring. Outputs hold what `fstore.config.ts` needs for
 * `provider: 'aws'`.
 */
export class FeatureStoreStack extends Stack {
  readonly registry: RegistryTable;
  readonly online: OnlineStoreTable;
  readonly offline: OfflineStore;
  readonly ingestion: StreamIngestion | undefined;
  readonly api: ServingApi;
  readonly recompute: BatchRecompute;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: FeatureStoreStackProps) {
    super(scope, id, props);
    const { repo } = props;
    // CloudFormation's AWS::CloudWatch::Dashboard takes no Tags (cfn-lint E3002), though CDK emits them.
    Tags.of(this).add('fstore:project', repo.project, {
      excludeResourceTypes: ['AWS::CloudWatch::Dashboard'],
    });
    this.registry = new RegistryTable(this, 'Registry', props.registry);
    this.online = new OnlineStoreTable(this, 'Online', props.online);
    this.offline = new OfflineStore(this, 'Offline', { ...props.offline, repo });
    const tables = { onlineTable: this.online.table, registryTable: this.registry.table };
    this.ingestion =
      repo.streams.length === 0
        ? undefined
        : new StreamIngestion(this, 'Ingestion', {
            ...props.ingestion,
            ...tables,
            project: repo.project,
            streamNames: repo.streams,
            landing: this.offline,
          });
    this.api = new ServingApi(this, 'Api', {
      ...props.api,
      ...tables,
      project: repo.project,
      landing: this.offline,
    });
    // The REST API outputs its URL as `ApiEndpoint<hash>`; the stack's `ApiUrl` says it once, by name.
    this.api.api.node.tryRemoveChild('Endpoint');
    this.recompute = new BatchRecompute(this, 'Recompute', {
      ...props.recompute,
      ...tables,
      project: repo.project,
      views: repo.views,
      offlineStore: this.offline,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      ...props.monitoring,
      project: repo.project,
      functions: [
        { name: 'serve', function: this.api.function },
        { name: 'recompute', function: this.recompute.function.function },
        ...(this.ingestion ? [{ name: 'ingest', function: this.ingestion.function }] : []),
      ],
      deadLetterQueues: [
        { name: 'recompute', queue: this.recompute.deadLetterQueue },
        ...(this.ingestion ? [{ name: 'ingest', queue: this.ingestion.deadLetterQueue }] : []),
      ],
      streams: this.ingestion ? [...this.ingestion.streams].map(([name, stream]) => ({ name, stream })) : [],
      api: this.api.api,
      views: repo.views,
    });

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('ApiUrl', this.api.url, 'The serving API: POST <url>get-online-features, signed with SigV4');
    output('BucketName', this.offline.bucket.bucketName, 'aws.bucket in fstore.config.ts');
    output('GlueDatabase', this.offline.databaseName, 'aws.glueDatabase in fstore.config.ts');
    output('AthenaWorkgroup', this.offline.workGroupName, 'aws.athenaWorkgroup in fstore.config.ts');
    output('OnlineTableName', this.online.table.tableName, 'aws.onlineTable in fstore.config.ts');
    output('RegistryTableName', this.registry.table.tableName, 'aws.registryTable in fstore.config.ts');
    if (this.ingestion) {
      output(
        'StreamNames',
        [...this.ingestion.streams.values()].map((stream) => stream.streamName).join(','),
        'Kinesis streams producers put events on (aws.stream in fstore.config.ts)',
      );
    }
    output('AlarmTopicArn', this.monitoring.alarmTopic.topicArn, 'Subscribe to this topic for alarms');
    if (this.api.apiKey) {
      output(
        'ApiKeyId',
        this.api.apiKey.keyId,
        'aws apigateway get-api-key --include-value --api-key <id> gives the x-api-key value',
      );
    }
  }
}
