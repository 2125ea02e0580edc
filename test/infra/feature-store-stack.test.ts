import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FeatureStoreStack } from '../../lib/infra/feature-store-stack.js';

function synthesize(props: Partial<ConstructorParameters<typeof FeatureStoreStack>[2]> = {}): Template {
  const app = new App();
  const stack = new FeatureStoreStack(app, 'Test', { project: 'transactions', ...props });
  return Template.fromStack(stack);
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
