import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import * as transactions from '../../examples/transactions/features.js';
import { parseFeatureRepoConfig } from '../../lib/definitions/config.js';
import { collectDefinitions, featureView, validateFeatureRepo } from '../../lib/index.js';
import { type DeployedRepo, deployedRepo } from '../../lib/infra/deployed-repo.js';
import { FeatureStoreStack, type FeatureStoreStackProps } from '../../lib/infra/feature-store-stack.js';

const config = parseFeatureRepoConfig({ project: 'transactions' });
const example = () =>
  deployedRepo(config, validateFeatureRepo(collectDefinitions(Object.values(transactions))));

/** The stack of a repo, without bundling the Lambdas (esbuild runs in the one test that needs bundles). */
function stackOf(props: Partial<FeatureStoreStackProps> = {}, repo: DeployedRepo = example()) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FeatureStoreStack(app, 'Test', { repo, ...props });
  return { app, stack };
}

function synthesize(props: Partial<FeatureStoreStackProps> = {}, repo?: DeployedRepo): Template {
  return Template.fromStack(stackOf(props, repo).stack);
}

describe('FeatureStoreStack registry table', () => {
  it('keys items by string pk and sk, as the registry store writes them', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    });
  });

  it('bills on demand, so an idle registry costs only its storage', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', { BillingMode: 'PAY_PER_REQUEST' });
  });

  it('turns on point-in-time recovery and deletion protection', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('retains the table when it leaves the stack, unless told otherwise', () => {
    synthesize().hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    synthesize({ registry: { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false } }).hasResource(
      'AWS::DynamoDB::GlobalTable',
      { DeletionPolicy: 'Delete' },
    );
  });

  it('lets CloudFormation name the table unless a name is given', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: Match.absent() });
    synthesize({ registry: { tableName: 'my-registry' } }).hasResourceProperties(
      'AWS::DynamoDB::GlobalTable',
      {
        TableName: 'my-registry',
      },
    );
  });

  it('outputs the table name for fstore.config.ts', () => {
    const outputs = synthesize().findOutputs('RegistryTableName');
    expect(Object.keys(outputs)).toEqual(['RegistryTableName']);
  });

  it('tags resources with the project', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({ Tags: Match.arrayWith([{ Key: 'fstore:project', Value: 'transactions' }]) }),
      ],
    });
  });
});

describe('FeatureStoreStack built from the transactions example', () => {
  const template = synthesize();

  it('tags resources with the project, but not the dashboard, whose CloudFormation type takes no tags', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: 'fstore:project', Value: 'transactions' }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { Tags: Match.absent() });
  });

  it('holds every part of the platform', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2); // the offline store and its access logs
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 2); // online and registry
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.resourceCountIs('AWS::Glue::Table', 4); // raw_transactions and three view versions
    template.resourceCountIs('AWS::Athena::WorkGroup', 1);
    template.resourceCountIs('AWS::Events::Rule', 3); // every example view has a schedule
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('runs every Lambda on Node.js 22', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.map((fn) => fn.Properties.Runtime)).toEqual(['nodejs22.x', 'nodejs22.x', 'nodejs22.x']);
  });

  it('outputs what fstore.config.ts needs for provider aws', () => {
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'AthenaWorkgroup',
      'BucketName',
      'GlueDatabase',
      'OnlineTableName',
      'RegistryTableName',
      'StreamNames',
    ]);
  });

  it("names each stream's iterator-age alarm after the stream", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('a consumer of stream transactions is more than'),
    });
  });

  it('lets the serving Lambda land offline pushes in the bucket', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          FSTORE_BUCKET: Match.anyValue(),
          FSTORE_MAX_ENTITY_ROWS: Match.absent(),
        }),
      },
    });
    const serve = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) =>
        fn.Properties.Environment.Variables.FSTORE_BUCKET &&
        !fn.Properties.Environment.Variables.FSTORE_GLUE_DATABASE,
    );
    expect(serve).toHaveLength(2); // serve and ingest; recompute also reads Glue
  });

  it('passes the cdk-nag AwsSolutions checks, every exception acknowledged in code with a reason', () => {
    const { app, stack } = stackOf();
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);

    expect(
      violations.map(
        (violation) =>
          `${violation.ruleName} ${violation.violatingResources?.map((r) => r.resourceLogicalId).join(',')}`,
      ),
    ).toEqual([]);
  });

  it('gives no statement a "*" action, and no data action a "*" resource', () => {
    const dataAction = /^(s3|dynamodb|kinesis|sqs|glue|athena):/;
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = [statement.Action].flat();
        const resources = [statement.Resource].flat();
        expect(actions).not.toContain('*');
        if (resources.includes('*'))
          expect(actions.filter((action: string) => dataAction.test(action))).toEqual([]);
      }
    }
  });
});

describe('FeatureStoreStack follows the repo', () => {
  it('adds a Glue table and a schedule for a new feature view', () => {
    const validated = validateFeatureRepo(
      collectDefinitions([
        ...Object.values(transactions),
        featureView({
          name: 'merchant_daily_amounts',
          entities: [transactions.merchant],
          source: transactions.transactions,
          aggregations: [{ column: 'amount', functions: ['sum'], windows: ['1d'] }],
          schedule: 'cron(0 4 * * ? *)',
        }),
      ]),
    );
    const grown = synthesize({}, deployedRepo(config, validated));
    const version = deployedRepo(config, validated).views.find(
      (view) => view.name === 'merchant_daily_amounts',
    )?.version;

    grown.resourceCountIs('AWS::Glue::Table', 5);
    grown.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: `features_merchant_daily_amounts_${version}` }),
    });
    grown.resourceCountIs('AWS::Events::Rule', 4);
    grown.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 4 * * ? *)' });
  });

  it('serves with API keys and a usage plan when asked, and outputs the key id', () => {
    const keyed = synthesize({ api: { auth: 'apiKey' } });

    keyed.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    keyed.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    expect(Object.keys(keyed.findOutputs('ApiKeyId'))).toEqual(['ApiKeyId']);
  });

  it('creates no stream and no ingest Lambda for a repo without Kinesis sources', () => {
    const validated = validateFeatureRepo(
      collectDefinitions([
        transactions.user,
        transactions.transactions,
        { ...transactions.userTransactionStats, source: transactions.transactions },
      ]),
    );
    const batchOnly = synthesize({}, deployedRepo(config, validated));

    batchOnly.resourceCountIs('AWS::Kinesis::Stream', 0);
    batchOnly.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    expect(Object.keys(batchOnly.findOutputs('StreamNames'))).toEqual([]);
  });
});
