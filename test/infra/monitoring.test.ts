import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { DeployedView } from '../../lib/infra/deployed-repo.js';
import { freshnessThreshold, Monitoring, type MonitoringProps } from '../../lib/infra/monitoring.js';

function view(name: string, schedule: string | undefined): DeployedView {
  return {
    name,
    version: 'v1',
    joinKeys: { user_id: 'int64' },
    features: [{ name: 'amount_sum_7d', dtype: 'float64' }],
    schedule,
    online: true,
    offline: true,
    streamName: undefined,
  };
}

function importedFunction(stack: Stack, name: string) {
  return LambdaFunction.fromFunctionArn(
    stack,
    name,
    `arn:aws:lambda:eu-west-1:123456789012:function:${name}`,
  );
}

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly monitoring: Monitoring;
  readonly template: Template;
  readonly ref: (construct: { node: { defaultChild?: unknown } }) => string;
}

/** Monitoring over imported stand-ins: two functions, a queue, two streams, the API, four views. */
function synthesize(props: Partial<MonitoringProps> = {}, withResources = true): Fixture {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const resources: Partial<MonitoringProps> = withResources
    ? {
        functions: [
          { name: 'serve', function: importedFunction(stack, 'fstore-serve') },
          { name: 'recompute', function: importedFunction(stack, 'fstore-recompute') },
        ],
        deadLetterQueues: [
          {
            name: 'ingest',
            queue: Queue.fromQueueArn(stack, 'IngestDlq', 'arn:aws:sqs:eu-west-1:123456789012:ingest-dlq'),
          },
        ],
        streams: [
          {
            name: 'transactions',
            stream: Stream.fromStreamArn(
              stack,
              'Transactions',
              'arn:aws:kinesis:eu-west-1:123456789012:stream/transactions',
            ),
          },
          {
            name: 'clicks',
            stream: Stream.fromStreamArn(
              stack,
              'Clicks',
              'arn:aws:kinesis:eu-west-1:123456789012:stream/clicks',
            ),
          },
        ],
        api: RestApi.fromRestApiAttributes(stack, 'Api', {
          restApiId: 'abc123',
          rootResourceId: 'root',
          restApiName: 'fstore-transactions',
        }),
        views: [
          view('hourly', 'rate(1 hour)'),
          view('daily', 'rate(1 day)'),
          view('nightly', 'cron(0 3 * * ? *)'),
          view('on_demand', undefined),
        ],
      }
    : {};
  const monitoring = new Monitoring(stack, 'Monitoring', { project: 'transactions', ...resources, ...props });
  const ref = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return { app, stack, monitoring, template: Template.fromStack(stack), ref };
}

type AlarmProperties = Record<string, unknown> & {
  MetricName: string;
  Dimensions: { Name: string; Value: unknown }[];
};

function alarmsOf(template: Template): AlarmProperties[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (alarm) => alarm.Properties as AlarmProperties,
  );
}

function alarmOn(template: Template, metricName: string, dimension: string, value: unknown): AlarmProperties {
  const found = alarmsOf(template).filter(
    (alarm) =>
      alarm.MetricName === metricName &&
      alarm.Dimensions.some((d) => d.Name === dimension && JSON.stringify(d.Value) === JSON.stringify(value)),
  );
  expect(found).toHaveLength(1);
  return found[0] as AlarmProperties;
}

describe('Monitoring alarm topic', () => {
  it('is encrypted with a rotating customer managed key that CloudWatch may use', () => {
    const { template, monitoring, ref } = synthesize();
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [ref(monitoring.topicKey), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it("refuses requests without TLS and lets this account's alarms publish", () => {
    const { template, monitoring, ref } = synthesize();
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: ref(monitoring.alarmTopic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('is notified by every alarm, when it fires and when it clears', () => {
    const { template, monitoring, ref } = synthesize();
    const alarms = alarmsOf(template);
    // 2 functions, 1 queue, 2 streams, the API, 3 scheduled views.
    expect(alarms).toHaveLength(9);
    expect(monitoring.alarms.size).toBe(9);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: ref(monitoring.alarmTopic) }]);
      expect(alarm.OKActions).toEqual([{ Ref: ref(monitoring.alarmTopic) }]);
    }
  });
});

describe('Monitoring alarms', () => {
  it('alarms on any error of each function', () => {
    const { template } = synthesize();
    for (const name of ['fstore-serve', 'fstore-recompute']) {
      expect(alarmOn(template, 'Errors', 'FunctionName', name)).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms on any message in a dead-letter queue', () => {
    expect(
      alarmOn(synthesize().template, 'ApproximateNumberOfMessagesVisible', 'QueueName', 'ingest-dlq'),
    ).toMatchObject({
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("alarms when a stream's consumers fall more than a minute behind, or the threshold given", () => {
    for (const stream of ['transactions', 'clicks']) {
      expect(
        alarmOn(synthesize().template, 'GetRecords.IteratorAgeMilliseconds', 'StreamName', stream),
      ).toMatchObject({
        Namespace: 'AWS/Kinesis',
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 60_000,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    const custom = synthesize({ iteratorAgeThreshold: Duration.minutes(5) }).template;
    expect(alarmOn(custom, 'GetRecords.IteratorAgeMilliseconds', 'StreamName', 'clicks').Threshold).toBe(
      300_000,
    );
  });

  it('alarms on any server error of the API', () => {
    expect(alarmOn(synthesize().template, '5XXError', 'ApiName', 'fstore-transactions')).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a scheduled view is older than twice its period, or reports nothing for that long', () => {
    const { template } = synthesize();
    const freshness = alarmsOf(template).filter((alarm) => alarm.MetricName === 'ViewFreshnessSeconds');
    expect(freshness).toHaveLength(3);
    const byView = new Map(
      freshness.map((alarm) => [alarm.Dimensions.find((d) => d.Name === 'view')?.Value as string, alarm]),
    );
    expect([...byView.keys()].sort()).toEqual(['daily', 'hourly', 'nightly']);
    for (const [name, threshold] of [
      ['hourly', 7_200],
      ['daily', 172_800],
      ['nightly', 172_800],
    ] as const) {
      expect(byView.get(name)).toMatchObject({
        Namespace: 'fstore',
        MetricName: 'ViewFreshnessSeconds',
        Dimensions: [
          { Name: 'service', Value: 'transactions' },
          { Name: 'view', Value: name },
        ],
        Statistic: 'Maximum',
        Period: threshold,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'breaching',
      });
    }
  });

  it('keeps freshness periods between a minute and the seven days an alarm can span', () => {
    const { template } = synthesize({
      views: [view('often', 'rate(1 minute)'), view('weekly', 'rate(7 days)')],
    });
    const byView = new Map(
      alarmsOf(template)
        .filter((alarm) => alarm.MetricName === 'ViewFreshnessSeconds')
        .map((alarm) => [alarm.Dimensions.find((d) => d.Name === 'view')?.Value as string, alarm]),
    );
    expect(byView.get('often')).toMatchObject({ Period: 120, Threshold: 120 });
    expect(byView.get('weekly')).toMatchObject({ Period: 604_800, Threshold: 1_209_600 });
  });

  it('makes no alarm for what it is not given', () => {
    const { template, monitoring } = synthesize({}, false);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(monitoring.alarms.size).toBe(0);
  });
});

describe('freshnessThreshold', () => {
  it('is twice a rate, and two days for a cron expression', () => {
    expect(freshnessThreshold('rate(15 minutes)').toSeconds()).toBe(1_800);
    expect(freshnessThreshold('rate(1 hour)').toSeconds()).toBe(7_200);
    expect(freshnessThreshold('rate(3 days)').toSeconds()).toBe(518_400);
    expect(freshnessThreshold('cron(0 3 * * ? *)').toSeconds()).toBe(172_800);
  });
});

describe('Monitoring dashboard', () => {
  /** The dashboard body as one string, references written as `<ref>`. */
  function dashboardBody(template: Template): string {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = dashboard?.Properties.DashboardBody as unknown;
    if (typeof body === 'string') return body;
    const [, parts] = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  }

  it('has a widget per area and the state of every alarm', () => {
    const { template } = synthesize();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.parse(dashboardBody(template).replace(/<ref>/g, 'ref')) as {
      widgets: { type: string; properties: { title: string; alarms?: unknown[] } }[];
    };
    expect(body.widgets.map((widget) => widget.properties.title)).toEqual([
      'Alarms',
      'Lambda errors',
      'Dead-letter queues (messages)',
      'Kinesis iterator age',
      'Serving API 5XX errors',
      'Feature view freshness',
    ]);
    expect(body.widgets[0]?.properties.alarms).toHaveLength(9);
  });

  it('shows only the areas it is given', () => {
    const { template } = synthesize({ functions: [], deadLetterQueues: [], streams: [], views: [] });
    const body = JSON.parse(dashboardBody(template).replace(/<ref>/g, 'ref')) as {
      widgets: { properties: { title: string } }[];
    };
    expect(body.widgets.map((widget) => widget.properties.title)).toEqual([
      'Alarms',
      'Serving API 5XX errors',
    ]);
  });
});

describe('Monitoring and cdk-nag', () => {
  it('passes the AWS Solutions checks', () => {
    const { app, stack } = synthesize();
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('names a queue of the stack by its QueueName attribute', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test');
    const queue = new Queue(stack, 'Dlq', { enforceSSL: true });
    new Monitoring(stack, 'Monitoring', {
      project: 'transactions',
      deadLetterQueues: [{ name: 'dlq', queue }],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as CfnElement), 'QueueName'] },
        },
      ],
    });
  });
});
