import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IGrantable, Policy } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeployedView } from './deployed-repo.js';
import { FstoreFunction } from './fstore-function.js';
import { grantOnlineMaterialize, grantRegistryWatermarks } from './table-access.js';

/**
 * The offline store as the recompute job needs it: the bucket, the Glue database and Athena workgroup,
 * and a grant to run queries and write partitions (`OfflineStore` is one).
 */
export interface RecomputeOfflineStore {
  readonly bucket: IBucket;
  readonly databaseName: string;
  /** A workgroup that enforces its own query result location. */
  readonly workGroupName: string;
  /** Let `grantee` run Athena queries over the store and write feature partitions and staging. */
  grantQueryAndWrite(grantee: IGrantable): void;
}

export interface BatchRecomputeProps {
  /** The registry project (`FSTORE_PROJECT`; also the freshness metric's `service` dimension). */
  readonly project: string;
  /** The views as deployed; each with a `schedule` gets a rule. */
  readonly views: readonly DeployedView[];
  /** The online table the function materializes into (read/write). */
  readonly onlineTable: ITableV2;
  /** The registry table: the applied definitions and the materialization watermarks (read/write). */
  readonly registryTable: ITableV2;
  readonly offlineStore: RecomputeOfflineStore;
  /**
   * UTC days each run computes again, today included (`FSTORE_RECOMPUTE_DAYS`).
   * @default 2 (yesterday and today, so late events are picked up)
   */
  readonly recomputeDays?: number;
  /**
   * How many times EventBridge retries delivering a run to the function before the event goes to the
   * dead-letter queue.
   * @default 4
   */
  readonly retryAttempts?: number;
  /**
   * How long EventBridge keeps trying to deliver a run.
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;
}

/** The recompute function's timeout: Lambda's longest. */
export const RECOMPUTE_TIMEOUT = Duration.minutes(15);
/** The recompute function's memory: it holds at most two chunks of 2,000 online states at a time. */
export const RECOMPUTE_MEMORY_MB = 1024;

/**
 * Scheduled batch recomputation: one function (`lambdas/recompute.ts`) and, per feature view with a
 * `schedule`, an EventBridge rule on that schedule invoking it with `{"view": "<name>"}`. Each run
 * computes the view's last days on Athena (validating and publishing day partitions), materializes it
 * online from its watermark, and publishes its freshness (`ViewFreshnessSeconds`).
 *
 * Failures end in one encrypted, SSL-only queue, `deadLetterQueue`: events EventBridge could not deliver
 * after its retries, and runs that threw (the function's on-failure destination, holding the event, so a
 * run can be sent again by hand). Lambda does not retry a failed run itself: the next scheduled run
 * computes the same days again, and a retry could overlap it and race its partition publishing. So
 * schedule a view no more often than a run takes.
 */
export class BatchRecompute extends Construct {
  readonly function: FstoreFunction;
  /** The schedule of each view that has one, by view name. */
  readonly rules: ReadonlyMap<string, Rule>;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: BatchRecomputeProps) {
    super(scope, id);
    const { offlineStore } = props;
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.function = new FstoreFunction(this, 'Recompute', {
      handler: 'recompute',
      timeout: RECOMPUTE_TIMEOUT,
      memorySize: RECOMPUTE_MEMORY_MB,
      environment: {
        FSTORE_PROJECT: props.project,
        FSTORE_ONLINE_TABLE: props.onlineTable.tableName,
        FSTORE_REGISTRY_TABLE: props.registryTable.tableName,
        FSTORE_BUCKET: offlineStore.bucket.bucketName,
        FSTORE_GLUE_DATABASE: offlineStore.databaseName,
        FSTORE_ATHENA_WORKGROUP: offlineStore.workGroupName,
        FSTORE_RECOMPUTE_DAYS: String(props.recomputeDays ?? 2),
      },
    });
    const fn = this.function.function;
    fn.configureAsyncInvoke({ retryAttempts: 0, onFailure: new SqsDestination(this.deadLetterQueue) });
    grantOnlineMaterialize(props.onlineTable, fn);
    grantRegistryWatermarks(props.registryTable, fn);
    offlineStore.grantQueryAndWrite(fn);

    const rules = new Map<string, Rule>();
    for (const view of props.views) {
      if (view.schedule === undefined) continue;
      rules.set(
        view.name,
        new Rule(this, `Schedule-${view.name}`, {
          description: `fstore ${props.project}: recompute feature view ${view.name} (${view.schedule})`,
          schedule: Schedule.expression(view.schedule),
          targets: [
            new LambdaFunction(fn, {
              event: RuleTargetInput.fromObject({ view: view.name }),
              retryAttempts: props.retryAttempts ?? 4,
              maxEventAge: props.maxEventAge ?? Duration.hours(1),
              deadLetterQueue: this.deadLetterQueue,
            }),
          ],
        }),
      );
    }
    this.rules = rules;

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the last stop of the recompute schedules and function (undeliverable events, failed runs); it needs no dead-letter queue of its own.',
    });
    acknowledgeScopedWildcards(fn, [
      ...[props.onlineTable, props.registryTable].map((table) => ({
        prefix: `${table.tableArn}/index/`,
        reason:
          "DynamoDB grants cover the table's indexes (index/*); the table has no index the job should not read.",
      })),
      {
        prefix: `${offlineStore.bucket.bucketArn}/`,
        reason:
          'Object permissions are scoped to prefixes of the offline store bucket (the job writes day partitions, staging and query results under names it makes up as it runs).',
      },
      {
        prefix: Stack.of(this).formatArn({
          service: 'glue',
          resource: 'table',
          resourceName: `${offlineStore.databaseName}/`,
        }),
        reason: "Glue read permissions cover the tables of the offline store's own database.",
      },
    ]);
  }
}

/** Where wildcard resources of a role are acceptable, and why. */
interface WildcardScope {
  /** The resource the wildcard must follow (a token is fine): a bucket's `arn/`, a table's `arn/index/`. */
  readonly prefix: string;
  readonly reason: string;
}

/**
 * Acknowledges the cdk-nag IAM5 findings of the function's policy whose resource is a wildcard inside one
 * of `scopes` (as the policy stands now, grants made in this construct included); every other wildcard
 * is left for cdk-nag to report. (`*` alone is acknowledged by `FstoreFunction`, for X-Ray; the
 * tests pin that nothing else is granted on it.)
 */
function acknowledgeScopedWildcards(fn: NodejsFunction, scopes: readonly WildcardScope[]): void {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!(policy instanceof Policy)) return;
  const stack = Stack.of(fn);
  const flat = scopes.map((scope) => ({
    prefix: nagName(stack.resolve(scope.prefix)),
    reason: scope.reason,
  }));
  const document = stack.resolve(policy.document) as { Statement?: { Resource?: unknown }[] };
  const seen = new Set<string>();
  for (const statement of document.Statement ?? []) {
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources.map(nagName)) {
      if (!resource.includes('*') || seen.has(resource)) continue;
      const scope = flat.find((candidate) => resource.startsWith(candidate.prefix));
      if (!scope) continue;
      seen.add(resource);
      Validations.of(fn.role ?? fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${resource}]`,
        reason: scope.reason,
      });
    }
  }
}

/** A resolved CloudFormation value as cdk-nag names it in findings: references flattened to `<LogicalId.Attr>`. */
function nagName(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (node !== null && typeof node === 'object') {
    const object = node as Record<string, unknown>;
    if (Array.isArray(object['Fn::Join'])) {
      const [delimiter, items] = object['Fn::Join'] as [string, unknown[]];
      return items.map(nagName).join(delimiter);
    }
    if (Array.isArray(object['Fn::GetAtt'])) {
      const [resource, attribute] = object['Fn::GetAtt'] as [unknown, unknown];
      return `<${nagName(resource)}.${nagName(attribute)}>`;
    }
    if ('Ref' in object) return `<${nagName(object.Ref)}>`;
    if ('Fn::Sub' in object) return nagName(object['Fn::Sub']);
    if ('Fn::ImportValue' in object) return nagName(object['Fn::ImportValue']);
  }
  return JSON.stringify(node);
}
