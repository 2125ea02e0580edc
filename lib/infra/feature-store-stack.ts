import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RegistryTable, type RegistryTableProps } from './registry-table.js';

export interface FeatureStoreStackProps extends StackProps {
  /** The feature repo's project name; it tags every resource. */
  readonly project: string;
  /** @default the RegistryTable defaults */
  readonly registry?: RegistryTableProps;
}

/**
 * The platform as one stack. Today it holds the registry table; the offline store, online store,
 * stream ingestion, batch schedules, serving API and monitoring join it as they are built.
 */
export class FeatureStoreStack extends Stack {
  readonly registry: RegistryTable;

  constructor(scope: Construct, id: string, props: FeatureStoreStackProps) {
    super(scope, id, props);
    Tags.of(this).add('fstore:project', props.project);
    this.registry = new RegistryTable(this, 'Registry', props.registry);
    new CfnOutput(this, 'RegistryTableName', {
      value: this.registry.table.tableName,
      description: 'Set aws.registryTable in fstore.config.ts to this name',
    });
  }
}
