import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { isSafeIdentifier } from '../definitions/identifier.js';
import type { BatchSourceDefinition } from '../definitions/sources.js';
import { FstoreError } from '../errors.js';
import { featureTableName, rawSourceTableName } from '../stores/glue-table-names.js';
import { featureVersionPrefix, isValidDt, rawSourcePrefix } from '../stores/offline-layout.js';
import type { DeployedRepo } from './deployed-repo.js';
import {
  DEFAULT_FIRST_PARTITION_DAY,
  featureViewColumns,
  parquetTableInput,
  rawSourceColumns,
} from './glue-tables.js';

/** Where Athena writes query results, inside the offline bucket. */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

/** Where stream ingestion and pushes write: landed records, records set aside, failed stream batches. */
const LANDING_PREFIXES = ['raw/', 'quarantine/', 'stream-failures/'];

const GLUE_READ_ACTIONS = [
  'glue:GetDatabase',
  'glue:GetTable',
  'glue:GetTables',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
];

const ATHENA_QUERY_ACTIONS = [
  'athena:StartQueryExecution',
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:StopQueryExecution',
  'athena:GetWorkGroup',
];

/** Writing objects, multipart uploads included (Athena and UNLOAD write results in parts). */
const OBJECT_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

/** Athena workgroup names: letters, digits, '.', '_' and '-', at most 128. */
const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** OfflineStore props that cannot be deployed (a database or workgroup name AWS refuses, a bad day). */
export class OfflineStorePropsError extends FstoreError {
  override readonly name = 'OfflineStorePropsError';
}

export interface OfflineStoreProps {
  /** The feature repo as applied: one Glue table per batch source and per offline feature view version. */
  readonly repo: DeployedRepo;
  /**
   * Name of the Glue database holding the tables (lower-case letters, digits and _).
   * @default `fstore_<project>`
   */
  readonly databaseName?: string;
  /**
   * Name of the Athena workgroup queries run in.
   * @default `fstore_<project>`
   */
  readonly workGroupName?: string;
  /**
   * The largest amount of data one query may scan before Athena cancels it.
   * @default Size.gibibytes(100)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
  /**
   * How long a job's output may sit in `_staging/` (a crashed job's leftovers).
   * @default Duration.days(7)
   */
  readonly stagingExpiration?: Duration;
  /**
   * How long Athena query results are kept in `athena-results/`.
   * @default Duration.days(30)
   */
  readonly athenaResultsExpiration?: Duration;
  /**
   * How long records set aside in `quarantine/` and `stream-failures/` are kept for inspection.
   * @default Duration.days(90)
   */
  readonly failedRecordsExpiration?: Duration;
  /**
   * How long overwritten and deleted object versions are kept, to undo an accidental delete.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * How long the bucket's server access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogsExpiration?: Duration;
  /**
   * The first day (`YYYY-MM-DD`) Athena projects `dt` partitions for; earlier days are never read.
   * @default '2000-01-01'
   */
  readonly firstPartitionDay?: string;
  /**
   * What happens to the buckets when they leave the stack. DESTROY also empties them first.
   * @default RemovalPolicy.RETAIN, since they hold the raw events and every computed partition
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The offline store: an S3 bucket in the offline layout (`raw/`, `features/`, `_staging/`, `quarantine/`,
 * `stream-failures/`, `athena-results/`), encrypted, private, TLS only, versioned, access-logged, with
 * lifecycle rules for what is temporary; a Glue database with one Parquet table per batch source
 * (`raw_<source>`) and per offline feature view version (`features_<view>_<version>`), their `dt`
 * partitions projected from the path; and an Athena workgroup that writes results into the bucket.
 */
export class OfflineStore extends Construct {
  readonly bucket: Bucket;
  /** The bucket receiving the offline bucket's server access logs. */
  readonly accessLogsBucket: Bucket;
  readonly databaseName: string;
  readonly workGroupName: string;
  /** `raw_<source>` by batch source name. */
  readonly rawTableNames: Readonly<Record<string, string>>;
  /** `features_<view>_<version>` by feature view name, for views stored offline. */
  readonly featureTableNames: Readonly<Record<string, string>>;
  readonly database: CfnDatabase;
  readonly workGroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: OfflineStoreProps) {
    super(scope, id);
    const { repo } = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    this.databaseName = props.databaseName ?? `fstore_${repo.project}`;
    this.workGroupName = props.workGroupName ?? `fstore_${repo.project}`;
    const firstDay = props.firstPartitionDay ?? DEFAULT_FIRST_PARTITION_DAY;
    checkProps(this.databaseName, this.workGroupName, firstDay);
    // Log delivery is allowed by a bucket policy (the log bucket keeps ACLs disabled), not by the
    // LogDeliveryWrite ACL CDK grants when the app does not set this flag.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED, // log delivery cannot write to SSE-KMS buckets
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-logs', expiration: props.accessLogsExpiration ?? Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the offline bucket access logs; logging its own access would need another log bucket, without end.',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'offline-store/',
      lifecycleRules: [
        {
          id: 'noncurrent-versions-and-uploads',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
        { id: 'staging', prefix: '_staging/', expiration: props.stagingExpiration ?? Duration.days(7) },
        {
          id: 'athena-results',
          prefix: ATHENA_RESULTS_PREFIX,
          expiration: props.athenaResultsExpiration ?? Duration.days(30),
        },
        ...['quarantine/', 'stream-failures/'].map((prefix) => ({
          id: prefix.slice(0, -1),
          prefix,
          expiration: props.failedRecordsExpiration ?? Duration.days(90),
        })),
      ],
      removalPolicy,
      autoDeleteObjects: destroy,
    });

    const account = Stack.of(this).account;
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: {
        name: this.databaseName,
        description: `fstore offline store of project ${repo.project}: raw sources and feature view versions`,
      },
    });

    const location = (prefix: string) => `s3://${this.bucket.bucketName}/${prefix}`;
    const rawTableNames: Record<string, string> = {};
    for (const source of repo.sources) {
      // The name only depends on the source's name, which is all a deployed source carries.
      const name = rawSourceTableName({ name: source.name } as BatchSourceDefinition);
      rawTableNames[source.name] = name;
      this.table(name, {
        name,
        description: `Raw events of source ${source.name}: its batch data and the records landed from streams and pushes`,
        location: location(rawSourcePrefix(source.name)),
        columns: rawSourceColumns(source),
        firstDay,
      });
    }
    const featureTableNames: Record<string, string> = {};
    for (const view of repo.views.filter((candidate) => candidate.offline)) {
      const name = featureTableName(view.name, view.version);
      featureTableNames[view.name] = name;
      this.table(name, {
        name,
        description: `Features of view ${view.name}, version ${view.version}, one row per source event`,
        location: location(featureVersionPrefix(view.name, view.version)),
        columns: featureViewColumns(view),
        firstDay,
      });
    }
    this.rawTableNames = rawTableNames;
    this.featureTableNames = featureTableNames;

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: `fstore queries of project ${repo.project}`,
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: (props.bytesScannedCutoffPerQuery ?? Size.gibibytes(100)).toBytes(),
        engineVersion: { selectedEngineVersion: 'AUTO' },
        resultConfiguration: {
          outputLocation: location(ATHENA_RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /** Write new objects where stream ingestion and pushes land records: `raw/`, `quarantine/`, `stream-failures/`. */
  grantLanding(grantee: IGrantable): Grant {
    return this.allow(grantee, ['s3:PutObject', 's3:AbortMultipartUpload'], this.objects(LANDING_PREFIXES));
  }

  /** Read every object of the bucket and the Glue database and tables, without running queries. */
  grantRead(grantee: IGrantable): Grant {
    return this.allow(grantee, ['s3:ListBucket', 's3:GetBucketLocation'], [this.bucket.bucketArn])
      .combine(this.allow(grantee, ['s3:GetObject'], [this.bucket.arnForObjects('*')]))
      .combine(this.allow(grantee, GLUE_READ_ACTIONS, this.glueArns()));
  }

  /**
   * Run Athena queries in the workgroup over the tables: grantRead, plus running, following and stopping
   * queries in the workgroup and writing their results under `athena-results/`.
   */
  grantQuery(grantee: IGrantable): Grant {
    const workGroupArn = Stack.of(this).formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: this.workGroupName,
    });
    return this.grantRead(grantee)
      .combine(this.allow(grantee, ATHENA_QUERY_ACTIONS, [workGroupArn]))
      .combine(this.allow(grantee, ['s3:ListBucketMultipartUploads'], [this.bucket.bucketArn]))
      .combine(this.allow(grantee, OBJECT_WRITE_ACTIONS, this.objects([ATHENA_RESULTS_PREFIX])));
  }

  /**
   * What a recompute job needs: grantQuery, plus writing and deleting under `features/` and `_staging/`
   * (UNLOAD output, published partitions, manifests, validation results, the old generation's files).
   */
  grantQueryAndWrite(grantee: IGrantable): Grant {
    return this.grantQuery(grantee).combine(
      this.allow(
        grantee,
        [...OBJECT_WRITE_ACTIONS, 's3:DeleteObject'],
        this.objects(['features/', '_staging/']),
      ),
    );
  }

  /** What raw compaction needs: grantRead, plus writing and deleting under `raw/`. */
  grantRawCompaction(grantee: IGrantable): Grant {
    return this.grantRead(grantee).combine(
      this.allow(grantee, [...OBJECT_WRITE_ACTIONS, 's3:DeleteObject'], this.objects(['raw/'])),
    );
  }

  private allow(grantee: IGrantable, actions: readonly string[], resourceArns: string[]): Grant {
    return Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns });
  }

  /** Object ARNs under each prefix (each ending in `/`). */
  private objects(prefixes: readonly string[]): string[] {
    return prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`));
  }

  /** The Data Catalog, this database and its tables. */
  private glueArns(): string[] {
    const stack = Stack.of(this);
    return [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/*` }),
    ];
  }

  private table(id: string, input: Parameters<typeof parquetTableInput>[0]): CfnTable {
    return new CfnTable(this, id, {
      catalogId: Stack.of(this).account,
      databaseName: this.database.ref,
      tableInput: parquetTableInput(input),
    });
  }
}

function checkProps(databaseName: string, workGroupName: string, firstDay: string): void {
  if (!isSafeIdentifier(databaseName)) {
    throw new OfflineStorePropsError(
      `databaseName "${databaseName}" is not a Glue database name Athena can use; use lower-case letters, digits and _`,
    );
  }
  if (!WORKGROUP_NAME.test(workGroupName)) {
    throw new OfflineStorePropsError(
      `workGroupName "${workGroupName}" is not an Athena workgroup name; use at most 128 letters, digits, '.', '_' and '-'`,
    );
  }
  if (!isValidDt(firstDay)) {
    throw new OfflineStorePropsError(
      `firstPartitionDay "${firstDay}" is not a day; write it as YYYY-MM-DD, e.g. "2020-01-01"`,
    );
  }
}
