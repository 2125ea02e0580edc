import { App, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import {
  collectDefinitions,
  featureView,
  parseFeatureRepoConfig,
  validateFeatureRepo,
} from '../../lib/index.js';
import { type DeployedRepo, deployedRepo } from '../../lib/infra/deployed-repo.js';
import {
  OfflineStore,
  type OfflineStoreProps,
  OfflineStorePropsError,
} from '../../lib/infra/offline-store.js';

type Definitions = Parameters<typeof collectDefinitions>[0];

function repoOf(definitions: Definitions = Object.values(transactions)): DeployedRepo {
  return deployedRepo(
    parseFeatureRepoConfig({ project: 'transactions' }),
    validateFeatureRepo(collectDefinitions(definitions)),
  );
}

const repo = repoOf();

function build(props: Partial<OfflineStoreProps> = {}): { stack: Stack; store: OfflineStore } {
  const stack = new Stack(new App(), 'Test');
  const store = new OfflineStore(stack, 'Offline', { repo, ...props });
  return { stack, store };
}

function synthesize(props: Partial<OfflineStoreProps> = {}): Template {
  return Template.fromStack(build(props).stack);
}

function versionOf(view: string, from: DeployedRepo = repo): string {
  const found = from.views.find((candidate) => candidate.name === view);
  if (!found) throw new Error(`no view ${view} in the test repo`);
  return found.version;
}

/** `s3://<offline bucket>/<path>` as the template writes it. */
function s3Uri(path: string) {
  return { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^OfflineBucket') }, `/${path}`]] };
}

/** The offline bucket, told apart from the access-log bucket by its logging configuration. */
const OFFLINE_BUCKET = { LoggingConfiguration: Match.anyValue() };

describe('OfflineStore bucket', () => {
  it('encrypts both buckets with S3-managed keys', () => {
    synthesize().resourcePropertiesCountIs(
      'AWS::S3::Bucket',
      {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      },
      2,
    );
  });

  it('blocks every kind of public access on both buckets', () => {
    synthesize().resourcePropertiesCountIs(
      'AWS::S3::Bucket',
      {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      },
      2,
    );
  });

  it('denies requests without TLS on both buckets', () => {
    synthesize().resourcePropertiesCountIs(
      'AWS::S3::BucketPolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      },
      2,
    );
  });

  it('versions the offline bucket and logs its access into the log bucket', () => {
    synthesize().hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^OfflineAccessLogs') },
        LogFilePrefix: 'offline-store/',
      },
    });
  });

  it('expires what is temporary: staging, query results, set-aside records, old versions, stale uploads', () => {
    synthesize().hasResourceProperties('AWS::S3::Bucket', {
      ...OFFLINE_BUCKET,
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'noncurrent-versions-and-uploads',
            Status: 'Enabled',
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            ExpiredObjectDeleteMarker: true,
          },
          { Id: 'staging', Status: 'Enabled', Prefix: '_staging/', ExpirationInDays: 7 },
          { Id: 'athena-results', Status: 'Enabled', Prefix: 'athena-results/', ExpirationInDays: 30 },
          { Id: 'quarantine', Status: 'Enabled', Prefix: 'quarantine/', ExpirationInDays: 90 },
          { Id: 'stream-failures', Status: 'Enabled', Prefix: 'stream-failures/', ExpirationInDays: 90 },
        ],
      },
    });
  });

  it('takes the expiry periods from the props', () => {
    synthesize({
      stagingExpiration: Duration.days(2),
      athenaResultsExpiration: Duration.days(5),
      failedRecordsExpiration: Duration.days(365),
      noncurrentVersionExpiration: Duration.days(10),
    }).hasResourceProperties('AWS::S3::Bucket', {
      ...OFFLINE_BUCKET,
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 10 } }),
          Match.objectLike({ Prefix: '_staging/', ExpirationInDays: 2 }),
          Match.objectLike({ Prefix: 'athena-results/', ExpirationInDays: 5 }),
          Match.objectLike({ Prefix: 'quarantine/', ExpirationInDays: 365 }),
          Match.objectLike({ Prefix: 'stream-failures/', ExpirationInDays: 365 }),
        ],
      },
    });
  });

  it('keeps access logs for a limited time, with ACLs disabled', () => {
    synthesize({ accessLogsExpiration: Duration.days(30) }).hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.absent(),
      AccessControl: Match.absent(),
      LifecycleConfiguration: { Rules: [{ Id: 'expire-logs', Status: 'Enabled', ExpirationInDays: 30 }] },
    });
  });

  it('lets S3 log delivery write into the log bucket only for the offline bucket of this account', () => {
    synthesize().hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^OfflineAccessLogs') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^OfflineAccessLogs'), 'Arn'] }, '/offline-store/*'],
              ],
            },
            Condition: {
              ArnLike: {
                'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^OfflineBucket'), 'Arn'] },
              },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
  });

  it('retains both buckets when they leave the stack, and empties and deletes them only when told to', () => {
    const retained = synthesize();
    expect(Object.keys(retained.findResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' }))).toHaveLength(
      2,
    );
    retained.resourceCountIs('Custom::S3AutoDeleteObjects', 0);

    const destroyed = synthesize({ removalPolicy: RemovalPolicy.DESTROY });
    expect(
      Object.keys(destroyed.findResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' })),
    ).toHaveLength(2);
    destroyed.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });
});

describe('OfflineStore Glue tables', () => {
  const projection = (path: string) => ({
    EXTERNAL: 'TRUE',
    classification: 'parquet',
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': '2000-01-01,NOW+1DAYS',
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'storage.location.template': s3Uri(`${path}dt=\${dt}/`),
  });
  const parquet = {
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    SerdeInfo: {
      SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      Parameters: { 'serialization.format': '1' },
    },
  };
  const columns = (entries: [string, string][]) => entries.map(([Name, Type]) => ({ Name, Type }));

  it('creates a Glue database named after the project', () => {
    synthesize().hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: { Name: 'fstore_transactions' },
    });
  });

  it('declares raw_<source> over raw/<source>/ with the declared columns and _record_id, dt projected', () => {
    synthesize().hasResourceProperties('AWS::Glue::Table', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: { Ref: Match.stringLikeRegexp('^OfflineDatabase') },
      TableInput: {
        Name: 'raw_transactions',
        TableType: 'EXTERNAL_TABLE',
        Parameters: projection('raw/transactions/'),
        PartitionKeys: [{ Name: 'dt', Type: 'string' }],
        StorageDescriptor: {
          Location: s3Uri('raw/transactions/'),
          Columns: columns([
            ['user_id', 'bigint'],
            ['transaction_date', 'timestamp'],
            ['amount', 'double'],
            ['category', 'string'],
            ['merchant_id', 'bigint'],
            ['_record_id', 'string'],
          ]),
          ...parquet,
        },
      },
    });
  });

  it('declares features_<view>_<version> over its version folder: keys, event_timestamp, every feature', () => {
    const version = versionOf('user_transaction_stats');
    synthesize().hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Name: `features_user_transaction_stats_${version}`,
        Parameters: projection(`features/user_transaction_stats/version=${version}/`),
        PartitionKeys: [{ Name: 'dt', Type: 'string' }],
        StorageDescriptor: {
          Location: s3Uri(`features/user_transaction_stats/version=${version}/`),
          Columns: columns([
            ['user_id', 'bigint'],
            ['event_timestamp', 'timestamp'],
            ...['7d', '14d', '30d'].map((w): [string, string] => [`amount_mean_${w}`, 'double']),
            ...['7d', '14d', '30d'].map((w): [string, string] => [`amount_sum_${w}`, 'double']),
            ...['7d', '14d', '30d'].map((w): [string, string] => [`amount_count_${w}`, 'bigint']),
            ...['7d', '14d', '30d'].map((w): [string, string] => [`amount_stddev_${w}`, 'double']),
            ['last_3_amounts', 'array<double>'],
            ['days_since_first_transaction', 'double'],
            ['days_since_last_transaction', 'double'],
            ['weekly_to_monthly_amount_ratio', 'double'],
            ['weekly_to_monthly_txn_ratio', 'double'],
          ]),
          ...parquet,
        },
      },
    });
  });

  it('declares a string join key as string', () => {
    synthesize().hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: `features_category_transaction_stats_${versionOf('category_transaction_stats')}`,
        StorageDescriptor: Match.objectLike({
          Columns: columns([
            ['category', 'string'],
            ['event_timestamp', 'timestamp'],
            ['amount_count_1d', 'bigint'],
            ['amount_count_7d', 'bigint'],
            ['amount_mean_1d', 'double'],
            ['amount_mean_7d', 'double'],
          ]),
        }),
      }),
    });
  });

  it('creates one table per batch source and per offline view, each with dt projected from its path', () => {
    const template = synthesize();
    template.resourceCountIs('AWS::Glue::Table', 4);
    template.resourcePropertiesCountIs(
      'AWS::Glue::Table',
      { TableInput: Match.objectLike({ Parameters: Match.objectLike({ 'projection.enabled': 'true' }) }) },
      4,
    );
  });

  it('exposes the table names', () => {
    const { store } = build();
    expect(store.rawTableNames).toEqual({ transactions: 'raw_transactions' });
    expect(store.featureTableNames).toEqual({
      user_transaction_stats: `features_user_transaction_stats_${versionOf('user_transaction_stats')}`,
      merchant_transaction_stats: `features_merchant_transaction_stats_${versionOf('merchant_transaction_stats')}`,
      category_transaction_stats: `features_category_transaction_stats_${versionOf('category_transaction_stats')}`,
    });
    expect(store.databaseName).toBe('fstore_transactions');
    expect(store.workGroupName).toBe('fstore_transactions');
  });

  it('adds the table of a feature view added to the repo, and none for a view kept out of the offline store', () => {
    const merchantSpend = featureView({
      name: 'merchant_spend',
      entities: [transactions.merchant],
      source: transactions.transactions,
      aggregations: [{ column: 'amount', functions: ['max'], windows: ['1d'] }],
    });
    const onlineOnly = featureView({
      name: 'online_only',
      entities: [transactions.user],
      source: transactions.transactions,
      aggregations: [{ column: 'amount', functions: ['sum'], windows: ['1d'] }],
      offline: false,
    });
    const grown = repoOf([...Object.values(transactions), merchantSpend, onlineOnly]);
    const template = synthesize({ repo: grown });
    template.resourceCountIs('AWS::Glue::Table', 5);
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: `features_merchant_spend_${versionOf('merchant_spend', grown)}`,
        StorageDescriptor: Match.objectLike({
          Columns: columns([
            ['merchant_id', 'bigint'],
            ['event_timestamp', 'timestamp'],
            ['amount_max_1d', 'double'],
          ]),
        }),
      }),
    });
    expect(
      template.findResources('AWS::Glue::Table', {
        Properties: { TableInput: Match.objectLike({ Name: Match.stringLikeRegexp('online_only') }) },
      }),
    ).toEqual({});
  });

  it('takes the database name and the first projected day from the props', () => {
    const template = synthesize({ databaseName: 'features_dev', firstPartitionDay: '2020-06-01' });
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'features_dev' } });
    template.resourcePropertiesCountIs(
      'AWS::Glue::Table',
      {
        TableInput: Match.objectLike({
          Parameters: Match.objectLike({ 'projection.dt.range': '2020-06-01,NOW+1DAYS' }),
        }),
      },
      4,
    );
  });
});

describe('OfflineStore props', () => {
  it.each<[string, Partial<OfflineStoreProps>]>([
    ['a database name Glue would change', { databaseName: 'Features-Dev' }],
    ['a workgroup name Athena refuses', { workGroupName: 'fstore dev' }],
    ['a first day that is not a day', { firstPartitionDay: '2020-02-30' }],
  ])('refuses %s', (_, props) => {
    expect(() => build(props)).toThrow(OfflineStorePropsError);
  });
});

describe('OfflineStore Athena workgroup', () => {
  it('enforces its result location in the bucket, SSE-S3, a scan limit, metrics and the automatic engine', () => {
    synthesize().hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'fstore_transactions',
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'AUTO' },
        ResultConfiguration: {
          OutputLocation: s3Uri('athena-results/'),
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
  });

  it('takes the name and the scan limit from the props', () => {
    synthesize({
      workGroupName: 'fstore-dev',
      bytesScannedCutoffPerQuery: Size.gibibytes(10),
    }).hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'fstore-dev',
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 10 * 1024 ** 3 }),
    });
  });
});

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The statements each grant adds to a fresh role's policy. */
function grantStatements(grant: (store: OfflineStore, role: Role) => void): Statement[] {
  const { stack, store } = build();
  const role = new Role(stack, 'Grantee', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  grant(store, role);
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

/** A resource as a readable string: tokens resolved to their logical id, joins concatenated. */
function describeResource(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  if (Array.isArray(resource)) return resource.map(describeResource).join('');
  const object = resource as Record<string, unknown>;
  if ('Fn::Join' in object) return describeResource((object['Fn::Join'] as [string, unknown[]])[1]);
  if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Ref' in object) return `<${String(object.Ref)}>`;
  return JSON.stringify(resource);
}

const resourcesOf = (statement: Statement) =>
  [statement.Resource]
    .flat()
    .map((resource) => describeResource(resource).replace(/<OfflineBucket[0-9A-F]+\.Arn>/, 'bucket'));

const GRANTS: Record<string, (store: OfflineStore, role: Role) => void> = {
  grantLanding: (store, role) => store.grantLanding(role),
  grantRead: (store, role) => store.grantRead(role),
  grantQuery: (store, role) => store.grantQuery(role),
  grantQueryAndWrite: (store, role) => store.grantQueryAndWrite(role),
  grantRawCompaction: (store, role) => store.grantRawCompaction(role),
};

describe('OfflineStore grants', () => {
  it.each(Object.keys(GRANTS))('%s allows no wildcard action and no action on every resource', (name) => {
    const statements = grantStatements(GRANTS[name] as (store: OfflineStore, role: Role) => void);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of actionsOf(statement)) expect(action).toMatch(/^(s3|glue|athena):[A-Za-z]+$/);
      for (const resource of resourcesOf(statement)) {
        expect(resource).not.toBe('*');
        if (actionsOf(statement).some((action) => action.startsWith('s3:')))
          expect(resource).toMatch(/^bucket/);
        if (actionsOf(statement).some((action) => action.startsWith('glue:'))) {
          expect(resource).toMatch(
            /:glue:<AWS::Region>:<AWS::AccountId>:(catalog|(database|table)\/fstore_transactions)/,
          );
        }
        if (actionsOf(statement).some((action) => action.startsWith('athena:'))) {
          expect(resource).toMatch(/:athena:<AWS::Region>:<AWS::AccountId>:workgroup\/fstore_transactions$/);
        }
      }
    }
  });

  it('grantLanding writes new objects under raw/, quarantine/ and stream-failures/ only', () => {
    const statements = grantStatements((store, role) => store.grantLanding(role));
    expect(statements.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([
      [
        ['s3:PutObject', 's3:AbortMultipartUpload'],
        ['bucket/raw/*', 'bucket/quarantine/*', 'bucket/stream-failures/*'],
      ],
    ]);
  });

  it('grantQueryAndWrite runs queries in the workgroup, reads everything, writes and deletes features/ and _staging/ only', () => {
    const statements = grantStatements((store, role) => store.grantQueryAndWrite(role));
    const allowed = (action: string) =>
      statements.filter((s) => actionsOf(s).includes(action)).flatMap((s) => resourcesOf(s));
    for (const action of [
      'athena:StartQueryExecution',
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StopQueryExecution',
    ]) {
      expect(allowed(action)).toHaveLength(1);
    }
    for (const action of [
      'glue:GetDatabase',
      'glue:GetTable',
      'glue:GetTables',
      'glue:GetPartition',
      'glue:GetPartitions',
    ]) {
      expect(allowed(action)).toHaveLength(3);
    }
    expect(allowed('s3:GetObject')).toEqual(['bucket/*']);
    expect(allowed('s3:ListBucket')).toEqual(['bucket']);
    expect(allowed('s3:PutObject').sort()).toEqual([
      'bucket/_staging/*',
      'bucket/athena-results/*',
      'bucket/features/*',
    ]);
    expect(allowed('s3:DeleteObject').sort()).toEqual(['bucket/_staging/*', 'bucket/features/*']);
  });

  it('grantRawCompaction writes and deletes under raw/ only', () => {
    const statements = grantStatements((store, role) => store.grantRawCompaction(role));
    const allowed = (action: string) =>
      statements.filter((s) => actionsOf(s).includes(action)).flatMap((s) => resourcesOf(s));
    expect(allowed('s3:PutObject')).toEqual(['bucket/raw/*']);
    expect(allowed('s3:DeleteObject')).toEqual(['bucket/raw/*']);
    expect(allowed('athena:StartQueryExecution')).toEqual([]);
  });
});

describe('OfflineStore cdk-nag', () => {
  it.each([RemovalPolicy.RETAIN, RemovalPolicy.DESTROY])(
    'passes the AWS Solutions checks (removal policy %s)',
    (removalPolicy) => {
      const { stack } = build({ removalPolicy });
      const report = new AwsSolutionsChecks().validateScope(stack);
      expect(report.violations).toEqual([]);
    },
  );
});
