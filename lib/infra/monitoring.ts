import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { scheduleIntervalMs } from '../definitions/schedule.js';
import { FSTORE_METRICS_NAMESPACE, VIEW_FRESHNESS_METRIC } from '../services/freshness.js';
import type { DeployedView } from './deployed-repo.js';

/** A function to watch, and the name its alarm and dashboard line go by. */
export interface MonitoredFunction {
  readonly name: string;
  readonly function: IFunction;
}

/** A dead-letter queue to watch, and the name its alarm goes by. */
export interface MonitoredQueue {
  readonly name: string;
  readonly queue: IQueue;
}

/** A stream and the name its alarm carries (stream names are often unresolved tokens at synth time). */
export interface MonitoredStream {
  readonly name: string;
  readonly stream: IStream;
}

export interface MonitoringProps {
  /** The registry project: the freshness metric's `service` dimension, and part of every alarm's description. */
  readonly project: string;
  /** Functions whose errors raise an alarm (Errors > 0). */
  readonly functions?: readonly MonitoredFunction[];
  /** Dead-letter queues whose depth raises an alarm (ApproximateNumberOfMessagesVisible > 0). */
  readonly deadLetterQueues?: readonly MonitoredQueue[];
  /** Kinesis streams whose consumers falling behind raises an alarm (GetRecords.IteratorAgeMilliseconds), by name. */
  readonly streams?: readonly MonitoredStream[];
  /** The serving API, whose server errors raise an alarm (5XXError > 0). */
  readonly api?: IRestApi;
  /** The views as deployed; each with a schedule gets a freshness alarm. */
  readonly views?: readonly DeployedView[];
  /**
   * How far a stream's consumers may fall behind before the alarm.
   * @default Duration.seconds(60)
   */
  readonly iteratorAgeThreshold?: Duration;
  /** What happens to the alarm topic's key when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The period of the error, queue, stream and API alarms. */
export const ALARM_PERIOD = Duration.minutes(5);
/** A view scheduled by a cron expression is stale after this long without a fresh run. */
export const CRON_FRESHNESS_THRESHOLD = Duration.days(2);
/** CloudWatch evaluates an alarm over at most seven days (period times evaluation periods). */
const MAX_ALARM_PERIOD_SECONDS = 7 * 86_400;

/**
 * The freshness alarm's threshold for a schedule: twice its period for `rate(N unit)` (one missed run is
 * tolerated, two are not), two days for a cron expression, whose period is not fixed.
 */
export function freshnessThreshold(schedule: string): Duration {
  const interval = scheduleIntervalMs(schedule);
  return interval === undefined ? CRON_FRESHNESS_THRESHOLD : Duration.millis(2 * interval);
}

/**
 * Alarms and a dashboard for the platform, every alarm notifying one SNS topic (`alarmTopic`; subscribe
 * email, chat or paging to it), encrypted with a customer managed key CloudWatch may use, SSL only:
 * - each function's `Errors` > 0 over 5 minutes;
 * - each dead-letter queue's `ApproximateNumberOfMessagesVisible` > 0 (anything there needs a look);
 * - each Kinesis stream's `GetRecords.IteratorAgeMilliseconds` maximum > `iteratorAgeThreshold` (60 s);
 * - the API's `5XXError` > 0 over 5 minutes;
 * - each scheduled view's `ViewFreshnessSeconds` (namespace `fstore`, dimensions `service` = project and
 *   `view`, published by the recompute function after each run) maximum > `freshnessThreshold(schedule)`,
 *   over a period as long as that threshold, with missing data breaching: no run (or no successful
 *   materialization ever) in that time is stale too.
 * One dashboard shows a graph per area and the state of every alarm.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: Topic;
  readonly topicKey: Key;
  readonly dashboard: Dashboard;
  /** Every alarm, by a readable name: `errors-<fn>`, `dlq-<queue>`, `iterator-age-<stream>`, `api-5xx`, `freshness-<view>`. */
  readonly alarms: ReadonlyMap<string, Alarm>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topicKey = new Key(this, 'AlarmTopicKey', {
      description: `fstore ${props.project}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic: it needs the key (an AWS managed
    // SNS key cannot grant this).
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `fstore ${props.project} alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // Alarms in this account may publish; nothing else gets in through this statement.
    const stack = Stack.of(this);
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    const action = new SnsAction(this.alarmTopic);
    const alarms = new Map<string, Alarm>();
    const alarm = (key: string, id: string, metric: IMetric, options: AlarmOptions): Alarm => {
      const created = new Alarm(this, id, {
        metric,
        threshold: options.threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
        alarmDescription: `fstore ${props.project}: ${options.description}`,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms.set(key, created);
      return created;
    };

    const errorMetrics = (props.functions ?? []).map(({ name, function: fn }) => {
      const metric = fn.metricErrors({ period: ALARM_PERIOD, statistic: Stats.SUM });
      alarm(`errors-${name}`, `Errors-${name}`, metric, {
        threshold: 0,
        description: `the ${name} function failed (Errors > 0 in 5 minutes); see its log group`,
      });
      return metric.with({ label: name });
    });

    const queueMetrics = (props.deadLetterQueues ?? []).map(({ name, queue }) => {
      const metric = queue.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: Stats.MAXIMUM,
      });
      alarm(`dlq-${name}`, `DeadLetters-${name}`, metric, {
        threshold: 0,
        description: `messages wait in the ${name} dead-letter queue: work that failed every retry`,
      });
      return metric.with({ label: name });
    });

    const iteratorAge = props.iteratorAgeThreshold ?? Duration.seconds(60);
    const streamMetrics = (props.streams ?? []).map(({ name, stream }) => {
      const metric = stream.metricGetRecordsIteratorAgeMilliseconds({
        period: ALARM_PERIOD,
        statistic: Stats.MAXIMUM,
      });
      alarm(`iterator-age-${name}`, `IteratorAge-${name}`, metric, {
        threshold: iteratorAge.toMilliseconds(),
        description: `a consumer of stream ${name} is more than ${iteratorAge.toHumanString()} behind (GetRecords.IteratorAgeMilliseconds)`,
      });
      return metric.with({ label: name });
    });

    const apiMetrics: IMetric[] = [];
    if (props.api) {
      const metric = new Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensionsMap: { ApiName: props.api.restApiName },
        period: ALARM_PERIOD,
        statistic: Stats.SUM,
      });
      alarm('api-5xx', 'Api5xx', metric, {
        threshold: 0,
        description: 'the serving API answered with server errors (5XXError > 0 in 5 minutes)',
      });
      apiMetrics.push(metric.with({ label: '5XX errors' }));
    }

    const freshnessMetrics = (props.views ?? []).flatMap((view) => {
      if (view.schedule === undefined) return [];
      const threshold = freshnessThreshold(view.schedule);
      const metric = new Metric({
        namespace: FSTORE_METRICS_NAMESPACE,
        metricName: VIEW_FRESHNESS_METRIC,
        dimensionsMap: { service: props.project, view: view.name },
        period: freshnessPeriod(threshold),
        statistic: Stats.MAXIMUM,
      });
      alarm(`freshness-${view.name}`, `Freshness-${view.name}`, metric, {
        threshold: threshold.toSeconds(),
        treatMissingData: TreatMissingData.BREACHING,
        description: `feature view ${view.name} (${view.schedule}) is stale: materialized longer than ${threshold.toHumanString()} ago, or no run reported in that time`,
      });
      return [metric.with({ label: view.name })];
    });
    this.alarms = alarms;

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Leave the name to CloudFormation, so two stacks never collide.
      defaultInterval: Duration.days(1),
    });
    const graph = (title: string, left: IMetric[], unit?: string) =>
      new GraphWidget({ title, left, width: 12, height: 6, ...(unit ? { leftYAxis: { label: unit } } : {}) });
    const widgets = [
      errorMetrics.length > 0 ? graph('Lambda errors', errorMetrics) : undefined,
      queueMetrics.length > 0 ? graph('Dead-letter queues (messages)', queueMetrics) : undefined,
      streamMetrics.length > 0 ? graph('Kinesis iterator age', streamMetrics, 'ms') : undefined,
      apiMetrics.length > 0 ? graph('Serving API 5XX errors', apiMetrics) : undefined,
      freshnessMetrics.length > 0 ? graph('Feature view freshness', freshnessMetrics, 'seconds') : undefined,
    ].filter((widget) => widget !== undefined);
    if (alarms.size > 0) {
      this.dashboard.addWidgets(
        new AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms.values()], width: 24 }),
      );
    }
    for (let index = 0; index < widgets.length; index += 2) {
      this.dashboard.addWidgets(...widgets.slice(index, index + 2));
    }
  }
}

interface AlarmOptions {
  readonly threshold: number;
  readonly description: string;
  readonly treatMissingData?: TreatMissingData;
}

/**
 * The freshness alarm's period: as long as the threshold, so a period without a data point means no run
 * reported for that long (missing data breaches), in whole minutes, at most the seven days an alarm can
 * span (a view run less often than every 3.5 days can then go a whole period without reporting).
 */
function freshnessPeriod(threshold: Duration): Duration {
  const seconds = Math.min(
    MAX_ALARM_PERIOD_SECONDS,
    Math.max(60, Math.ceil(threshold.toSeconds() / 60) * 60),
  );
  return Duration.seconds(seconds);
}
