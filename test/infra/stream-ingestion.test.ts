import { App, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  type LandingArea,
  StreamIngestion,
  type StreamIngestionProps,
} from '../../lib/infra/stream-ingestion.js';

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly ingestion: StreamIngestion;
  readonly template: Template;
  /** The CloudFormation reference to a construct's resource, as the template holds it. */
  readonly ref: (construct: { node: { defaultChild?: unknown } }) => string;
}

/** The offline store's landing grant as `OfflineStore.grantLanding` gives it: PutObject under three prefixes. */
function standInLanding(bucket: Bucket): LandingArea {
  return {
    bucket,
    grantLanding: (grantee) => {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: ['raw/*', 'quarantine/*', 'stream-failures/*'].map((prefix) =>
            bucket.arnForObjects(prefix),
          ),
        }),
      );
    },
  };
}

function standIns(stack: Stack) {
  const onlineTable = new TableV2(stack, 'OnlineTable', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
  });
  const registryTable = new TableV2(stack, 'RegistryTable', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
  });
  const bucket = new Bucket(stack, 'OfflineBucket', { enforceSSL: true });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'A stand-in for the offline store bucket, which is not under test here.',
  });
  return { onlineTable, registryTable, bucket };
}

function synthesize(props: Partial<StreamIngestionProps> = {}, app?: App): Fixture {
  const theApp = app ?? new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(theApp, 'Test');
  const { onlineTable, registryTable, bucket } = standIns(stack);
  const ingestion = new StreamIngestion(stack, 'Ingestion', {
    project: 'transactions',
    streamNames: ['transactions', 'clicks'],
    onlineTable,
    registryTable,
    landing: standInLanding(bucket),
    ...props,
  });
  const ref = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return { app: theApp, stack, ingestion, template: Template.fromStack(stack), ref };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function statementsOf(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

const actionsOf = (statement: Statement) => [statement.Action].flat();
const getAtt = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('StreamIngestion streams', () => {
  it('creates one stream per declared name, named exactly so, for the handler finds sources by name', () => {
    const { template } = synthesize({ streamNames: ['transactions', 'clicks', 'transactions'] });
    template.resourceCountIs('AWS::Kinesis::Stream', 2);
    template.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'transactions' });
    template.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'clicks' });
  });

  it('encrypts every stream with a customer managed key that rotates', () => {
    const { template, ingestion, ref } = synthesize();
    template.allResourcesProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: getAtt(ref(ingestion.streamKey)) },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('keeps records 24 hours on one provisioned shard by default', () => {
    synthesize().template.allResourcesProperties('AWS::Kinesis::Stream', {
      RetentionPeriodHours: 24,
      ShardCount: 1,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
  });

  it('takes the retention and the shard count from its props', () => {
    synthesize({
      retentionPeriod: Duration.days(7),
      capacity: { mode: 'provisioned', shards: 4 },
    }).template.allResourcesProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 168, ShardCount: 4 });
  });

  it('runs streams on demand when asked, with no shard count', () => {
    synthesize({ capacity: { mode: 'onDemand' } }).template.allResourcesProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  it('retains the streams and their key when they leave the stack', () => {
    const { template } = synthesize();
    template.allResources('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  it('refuses an empty list and names Kinesis would refuse', () => {
    expect(() => synthesize({ streamNames: [] })).toThrow(/at least one stream name/);
    expect(() => synthesize({ streamNames: ['bad name'] })).toThrow(/"bad name" is not valid/);
  });
});

describe('StreamIngestion event source mappings', () => {
  it('maps every stream to the ingest function', () => {
    const { template, ingestion, ref } = synthesize();
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    for (const stream of ingestion.streams.values()) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: getAtt(ref(stream)),
        FunctionName: { Ref: ref(ingestion.function) },
      });
    }
  });

  it('reports batch item failures', () => {
    synthesize().template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('bisects a batch that throws', () => {
    synthesize().template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
    });
  });

  it('retries 10 times and gives up on records older than a day by default', () => {
    synthesize().template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
    });
  });

  it('takes the retry bounds and batch size from its props', () => {
    synthesize({
      retryAttempts: 3,
      maxRecordAge: Duration.hours(6),
      batchSize: 500,
    }).template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 21600,
      BatchSize: 500,
    });
  });

  it('processes one batch per shard at a time (parallelization factor 1)', () => {
    synthesize().template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      ParallelizationFactor: 1,
    });
  });

  it('reads batches of 100 from the start of the stream', () => {
    synthesize().template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      StartingPosition: 'TRIM_HORIZON',
    });
  });

  it('sends batches that failed every retry to the dead-letter queue', () => {
    const { template, ingestion, ref } = synthesize();
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      DestinationConfig: { OnFailure: { Destination: getAtt(ref(ingestion.deadLetterQueue)) } },
    });
  });
});

describe('StreamIngestion dead-letter queue', () => {
  it('is encrypted and keeps messages 14 days', () => {
    synthesize().template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
  });

  it('refuses requests without TLS', () => {
    const { template, ingestion, ref } = synthesize();
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ref(ingestion.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('StreamIngestion function', () => {
  it('is configured by the environment the ingest handler reads', () => {
    const { template, stack } = synthesize({ maxRecordBytes: 65536 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FSTORE_PROJECT: 'transactions',
          FSTORE_ONLINE_TABLE: {
            Ref: stack.getLogicalId(stack.node.findChild('OnlineTable').node.defaultChild as CfnElement),
          },
          FSTORE_REGISTRY_TABLE: {
            Ref: stack.getLogicalId(stack.node.findChild('RegistryTable').node.defaultChild as CfnElement),
          },
          FSTORE_BUCKET: {
            Ref: stack.getLogicalId(stack.node.findChild('OfflineBucket').node.defaultChild as CfnElement),
          },
          FSTORE_MAX_RECORD_BYTES: '65536',
        }),
      },
    });
  });

  it('leaves the record size limit to the handler unless given', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ FSTORE_MAX_RECORD_BYTES: Match.absent() }) },
    });
  });

  it('runs the ingest handler on Node.js 22, arm64, with X-Ray tracing', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: 60,
      MemorySize: 1024,
    });
  });
});

describe('StreamIngestion permissions', () => {
  it('grants no action "*" and no data action on every resource', () => {
    for (const statement of statementsOf(synthesize().template)) {
      expect(actionsOf(statement)).not.toContain('*');
      if (statement.Resource === '*') {
        expect(actionsOf(statement).filter((action) => !action.startsWith('xray:'))).toEqual([]);
      }
    }
  });

  it('reads and updates the online table with exactly what its folds send', () => {
    const { template, stack } = synthesize();
    const online = stack.getLogicalId(stack.node.findChild('OnlineTable').node.defaultChild as CfnElement);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
            Resource: getAtt(online),
          }),
        ]),
      },
    });
  });

  it('only reads the registry table', () => {
    const { template, stack } = synthesize();
    const registry = stack.getLogicalId(
      stack.node.findChild('RegistryTable').node.defaultChild as CfnElement,
    );
    const onRegistry = statementsOf(template).filter(
      (statement) => JSON.stringify(statement.Resource) === JSON.stringify(getAtt(registry)),
    );
    expect(onRegistry.flatMap(actionsOf)).toEqual(['dynamodb:Query']);
  });

  it('reads each stream and decrypts with the stream key', () => {
    const { template, ingestion, ref } = synthesize();
    for (const stream of ingestion.streams.values()) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['kinesis:GetRecords', 'kinesis:GetShardIterator']),
              Resource: getAtt(ref(stream)),
            }),
          ]),
        },
      });
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'kms:Decrypt', Resource: getAtt(ref(ingestion.streamKey)) }),
        ]),
      },
    });
  });

  it('lands objects through the landing grant', () => {
    const { template, stack } = synthesize();
    const bucket = stack.getLogicalId(stack.node.findChild('OfflineBucket').node.defaultChild as CfnElement);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Resource: Match.arrayWith([{ 'Fn::Join': ['', [getAtt(bucket), '/raw/*']] }]),
          }),
        ]),
      },
    });
  });

  it('sends to the dead-letter queue', () => {
    const { template, ingestion, ref } = synthesize();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: getAtt(ref(ingestion.deadLetterQueue)),
          }),
        ]),
      },
    });
  });

  it('writes logs to its own log group only, with no managed policy', () => {
    const { template, ingestion, ref } = synthesize();
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const logGroup = ingestion.node.findChild('Ingest').node.findChild('Logs');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: getAtt(ref(logGroup)),
          }),
        ]),
      },
    });
  });
});

describe('StreamIngestion and cdk-nag', () => {
  it('passes the AWS Solutions checks with every finding acknowledged in code', () => {
    const { app, stack } = synthesize();
    const { violations } = new AwsSolutionsChecks(app).validateScope(stack);
    expect(
      violations.map(
        (violation) =>
          `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});
