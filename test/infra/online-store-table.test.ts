import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { OnlineStoreTable, type OnlineStoreTableProps } from '../../lib/infra/online-store-table.js';
import { ONLINE_TTL_ATTRIBUTE } from '../../lib/stores/online-table.js';

function build(props: OnlineStoreTableProps = {}): { stack: Stack; online: OnlineStoreTable } {
  const stack = new Stack(new App(), 'Test');
  return { stack, online: new OnlineStoreTable(stack, 'Online', props) };
}

function synthesize(props: OnlineStoreTableProps = {}): Template {
  return Template.fromStack(build(props).stack);
}

describe('OnlineStoreTable', () => {
  it('keys items by string pk and sk, as the online store writes them', () => {
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

  it('bills on demand', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', { BillingMode: 'PAY_PER_REQUEST' });
  });

  it('lets DynamoDB TTL delete items by expires_at', () => {
    expect(ONLINE_TTL_ATTRIBUTE).toBe('expires_at');
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
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
    const destroyed = synthesize({ removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false });
    destroyed.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    destroyed.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
  });

  it('lets CloudFormation name the table unless a name is given', () => {
    synthesize().hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: Match.absent() });
    synthesize({ tableName: 'fstore-online' }).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'fstore-online',
    });
  });

  it('passes the AWS Solutions checks', () => {
    const { stack } = build();
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});
