import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { collectDefinitions, parseFeatureRepoConfig, validateFeatureRepo } from '../../lib/index.js';
import {
  BatchRecompute,
  type BatchRecomputeProps,
  type RecomputeOfflineStore,
} from '../../lib/infra/batch-recompute.js';
import { type DeployedView, deployedRepo } from '../../lib/infra/deployed-repo.js';
import { Monitoring } from '../../lib/infra/monitoring.js';

const repo = deployedRepo(
  parseFeatureRepoConfig({ project: 'transactions' }),
  validateFeatureRepo(collectDefinitions(Object.values(transactions))),
);

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

/**
 * The offline store as `OfflineStore.grantQueryAndWrite` grants it, in short: Athena in the workgroup,
 * Glue reads of the database's tables, S3 reads of the bucket and writes under three prefixes.
 */
function standInOfflineStore(stack: Stack): RecomputeOfflineStore & { granted: IGrantable[] } {
  const bucket = new Bucket(stack, 'OfflineBucket', { enforceSSL: true });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'A stand-in for the offline store bucket, which is not under test here.',
  });
  const granted: IGrantable[] = [];
  return {
    bucket,
    databaseName: 'fstore_transactions',
    workGroupName: 'fstore_transactions',
    granted,
    grantQueryAndWrite: (grantee) => {
      granted.push(grantee);
      const policy = grantee.grantPrincipal;
      policy.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
          resources: [
            stack.formatArn({
              service: 'athena',
              resource: 'workgroup',
              resourceName: 'fstore_transactions',
            }),
          ],
        }),
      );
      policy.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['glue:GetTable', 'glue:GetPartitions'],
          resources: [
            stack.formatArn({ service: 'glue', resource: 'catalog' }),
            stack.formatArn({ service: 'glue', resource: 'database', resourceName: 'fstore_transactions' }),
            stack.formatArn({ service: 'glue', resource: 'table', resourceName: 'fstore_transactions/*' }),
          ],
        }),
      );
      policy.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
      );
      policy.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }),
      );
      policy.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:DeleteObject'],
          resources: ['features/*', '_staging/*', 'athena-results/*'].map((prefix) =>
            bucket.arnForObjects(prefix),
          ),
        }),
      );
    },
  };
}

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly recompute: BatchRecompute;
  readonly offline: ReturnType<typeof standInOfflineStore>;
  readonly template: Template;
  readonly ref: (construct: { node: { defaultChild?: unknown } }) => string;
}

function synthesize(props: Partial<BatchRecomputeProps> = {}): Fixture {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const table = (id: string) =>
    new TableV2(stack, id, {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
  const offline = standInOfflineStore(stack);
  const recompute = new BatchRecompute(stack, 'Recompute', {
    project: 'transactions',
    views: repo.views,
    onlineTable: table('OnlineTable'),
    registryTable: table('RegistryTable'),
    offlineStore: offline,
    ...props,
  });
  const ref = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return { app, stack, recompute, offline, template: Template.fromStack(stack), ref };
}

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

type Rule = { Properties: { ScheduleExpression: string; Targets: Record<string, unknown>[]; State: string } };

function rulesByView(template: Template): Map<string, Rule['Properties']> {
  const rules = Object.values(template.findResources('AWS::Events::Rule')) as Rule[];
  return new Map(
    rules.map((rule) => {
      const input = JSON.parse(String(rule.Properties.Targets[0]?.Input)) as { view: string };
      return [input.view, rule.Properties];
    }),
  );
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function statementsOf(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('BatchRecompute schedules', () => {
  it('gives every scheduled view one rule on its schedule, sending {"view": name} to the function', () => {
    const { template, recompute, ref } = synthesize();
    const rules = rulesByView(template);
    expect(new Map([...rules].map(([name, rule]) => [name, rule.ScheduleExpression]))).toEqual(
      new Map([
        ['user_transaction_stats', 'rate(1 day)'],
        ['merchant_transaction_stats', 'rate(1 hour)'],
        ['category_transaction_stats', 'rate(1 hour)'],
      ]),
    );
    for (const [name, rule] of rules) {
      expect(rule.State).toBe('ENABLED');
      expect(rule.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: getAtt(ref(recompute.function.function)),
          Input: JSON.stringify({ view: name }),
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: getAtt(ref(recompute.deadLetterQueue)) },
        },
      ]);
    }
    expect([...recompute.rules.keys()].sort()).toEqual([...rules.keys()].sort());
  });

  it('passes cron expressions through and gives unscheduled views no rule', () => {
    const { template } = synthesize({
      views: [
        view('nightly', 'cron(0 3 * * ? *)'),
        view('on_demand', undefined),
        view('often', 'rate(15 minutes)'),
      ],
    });
    const rules = rulesByView(template);
    expect([...rules.keys()].sort()).toEqual(['nightly', 'often']);
    expect(rules.get('nightly')?.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    expect(rules.get('often')?.ScheduleExpression).toBe('rate(15 minutes)');
  });

  it('adds a rule for an added view and leaves the others as they were', () => {
    const before = synthesize({ views: [view('a', 'rate(1 hour)'), view('b', 'rate(1 day)')] }).template;
    const after = synthesize({
      views: [view('a', 'rate(1 hour)'), view('b', 'rate(1 day)'), view('c', 'rate(2 hours)')],
    }).template;
    const beforeRules = before.findResources('AWS::Events::Rule');
    const afterRules = after.findResources('AWS::Events::Rule');
    expect(Object.keys(beforeRules)).toHaveLength(2);
    expect(Object.keys(afterRules)).toHaveLength(3);
    for (const [logicalId, rule] of Object.entries(beforeRules)) expect(afterRules[logicalId]).toEqual(rule);
    expect(rulesByView(after).get('c')?.ScheduleExpression).toBe('rate(2 hours)');
    // Each rule may invoke the function.
    after.resourceCountIs('AWS::Lambda::Permission', 3);
    after.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
    });
  });

  it('makes no rule when no view is scheduled', () => {
    synthesize({ views: [view('on_demand', undefined)] }).template.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('BatchRecompute function', () => {
  it('runs lambdas/recompute.ts for up to 15 minutes with 1024 MB', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: 900,
      MemorySize: 1024,
    });
  });

  it('is configured by its environment', () => {
    const { template, offline, stack } = synthesize({ recomputeDays: 3 });
    const tables = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'));
    const [online, registry] = ['OnlineTable', 'RegistryTable'].map((id) =>
      tables.find((t) => t.startsWith(id)),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          FSTORE_PROJECT: 'transactions',
          FSTORE_ONLINE_TABLE: { Ref: online },
          FSTORE_REGISTRY_TABLE: { Ref: registry },
          FSTORE_BUCKET: stack.resolve(offline.bucket.bucketName),
          FSTORE_GLUE_DATABASE: 'fstore_transactions',
          FSTORE_ATHENA_WORKGROUP: 'fstore_transactions',
          FSTORE_RECOMPUTE_DAYS: '3',
        },
      },
    });
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ FSTORE_RECOMPUTE_DAYS: '2' }) },
    });
  });

  it('does not retry a failed run itself, and sends it to the dead-letter queue', () => {
    const { template, recompute, ref } = synthesize();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: getAtt(ref(recompute.deadLetterQueue)) } },
    });
  });
});

describe('BatchRecompute dead-letter queue', () => {
  it('is encrypted and refuses requests without TLS', () => {
    const { template, recompute, ref } = synthesize();
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ref(recompute.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('takes undeliverable events from the rules only', () => {
    const { template, recompute, ref } = synthesize();
    const rules = Object.keys(template.findResources('AWS::Events::Rule'));
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ref(recompute.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith(
          rules.map((rule) =>
            Match.objectLike({
              Effect: 'Allow',
              Action: 'sqs:SendMessage',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': getAtt(rule) } },
            }),
          ),
        ),
      },
    });
  });
});

describe('BatchRecompute permissions', () => {
  it('reads and writes both tables, and asks the offline store for query and write access', () => {
    const { template, recompute, offline } = synthesize();
    expect(offline.granted).toEqual([recompute.function.function]);
    const tables = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'));
    const statements = statementsOf(template);
    const actionsOn = (table: string) =>
      statements
        .filter((s) => list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(getAtt(table))))
        .flatMap((s) => list(s.Action))
        .sort();
    // Exactly what materialization (online) and the registry and watermarks (registry) send.
    expect(tables.map(actionsOn).sort()).toEqual(
      [
        ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
        ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      ].sort(),
    );
  });

  it('grants no wildcard action, and nothing but X-Ray on every resource', () => {
    const statements = statementsOf(synthesize().template);
    for (const statement of statements) {
      for (const action of list(statement.Action)) expect(action).not.toMatch(/\*/);
    }
    const onEverything = statements.filter((s) => list(s.Resource).includes('*'));
    expect(onEverything.flatMap((s) => list(s.Action)).sort()).toEqual([
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('attaches no managed policy to the function role', () => {
    synthesize().template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('BatchRecompute and cdk-nag', () => {
  it('passes the AWS Solutions checks with every finding acknowledged in code', () => {
    const { app, stack } = synthesize();
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);
    expect(
      violations.map(
        (violation) =>
          `${violation.ruleName}: ${violation.violatingResources.map((r) => `${r.constructPath} ${r.locations?.join(' ') ?? ''}`).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('passes them with its monitoring: the function, its dead-letter queue and the views watched', () => {
    const { app, stack, recompute } = synthesize();
    const monitoring = new Monitoring(stack, 'Monitoring', {
      project: 'transactions',
      functions: [{ name: 'recompute', function: recompute.function.function }],
      deadLetterQueues: [{ name: 'recompute', queue: recompute.deadLetterQueue }],
      views: repo.views,
    });
    expect(monitoring.alarms.size).toBe(5);
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('still reports a wildcard outside the offline store and the tables', () => {
    const { app, stack, recompute } = synthesize();
    recompute.function.function.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::someone-elses-bucket/*'] }),
    );
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);
    expect(violations.map((violation) => violation.ruleName)).toEqual([
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::someone-elses-bucket/*]',
    ]);
  });
});
