import { type DefinitionIssue, DefinitionValidationError } from './definition-errors.js';
import { isSafeIdentifier, suggestIdentifier } from './identifier.js';

/** Settings for the embedded default, which needs no AWS account. */
export interface LocalProviderSettings {
  /** Folder for offline Parquet, the local DynamoDB and other state, relative to the feature repo. @default '.fstore' */
  readonly dataDir?: string;
}

/** Settings for the deployed platform; the CDK stack outputs these names. */
export interface AwsProviderSettings {
  /** @default the AWS SDK's default region chain */
  readonly region?: string;
  /** S3 bucket holding raw events and feature partitions. */
  readonly bucket: string;
  /** Glue database with one table per feature view version and raw source. */
  readonly glueDatabase: string;
  /** Athena workgroup queries run in. @default 'primary' */
  readonly athenaWorkgroup?: string;
  /** DynamoDB table serving online features. */
  readonly onlineTable: string;
  /** DynamoDB table holding the registry. @default the online table (registry items use their own keys) */
  readonly registryTable?: string;
  /** Kinesis stream for events. @default none (no streaming sources) */
  readonly stream?: string;
}

/** A feature repo's `fstore.config.ts` default export. */
export interface FeatureRepoConfigSpec {
  /** The project name, a safe identifier; it scopes the registry and all storage. */
  readonly project: string;
  /** Files (relative to the repo) whose exported definitions make up the repo. @default ['features.ts'] */
  readonly definitions?: readonly string[];
  /** Where things run. @default 'local' */
  readonly provider?: 'local' | 'aws';
  readonly local?: LocalProviderSettings;
  /** Required when provider is 'aws'. */
  readonly aws?: AwsProviderSettings;
}

export interface FeatureRepoConfig {
  readonly project: string;
  readonly definitions: readonly string[];
  readonly provider: 'local' | 'aws';
  readonly local: Required<LocalProviderSettings>;
  readonly aws: AwsProviderSettings | undefined;
}

/**
 * Declares a feature repo's settings; `fstore.config.ts` exports the result as default.
 * @example
 * export default defineConfig({ project: 'transactions', provider: 'local' });
 */
export function defineConfig(spec: FeatureRepoConfigSpec): FeatureRepoConfigSpec {
  return spec;
}

/** DynamoDB table the local provider keeps the registry in. */
export const LOCAL_REGISTRY_TABLE = 'fstore_registry';

/**
 * Checks a config file's default export and fills in defaults; every problem is reported at once,
 * as a DefinitionValidationError naming the setting and the fix.
 */
export function parseFeatureRepoConfig(raw: unknown): FeatureRepoConfig {
  const issues: DefinitionIssue[] = [];
  const spec = (raw ?? {}) as Partial<FeatureRepoConfigSpec>;
  const projectName = typeof spec.project === 'string' ? spec.project : '';
  const report = (field: string, problem: string, fix: string) =>
    issues.push({ objectKind: 'config', objectName: projectName || 'fstore.config.ts', field, problem, fix });
  if (raw === null || typeof raw !== 'object') {
    report(
      'default export',
      'is missing',
      "Export the settings: export default defineConfig({ project: 'my_project' })",
    );
    throw new DefinitionValidationError(issues);
  }
  if (!isSafeIdentifier(spec.project)) {
    report(
      'project',
      spec.project === undefined ? 'is missing' : `"${String(spec.project)}" is not a safe identifier`,
      `Name the project with lower-case letters, digits and _, e.g. "${suggestIdentifier(String(spec.project ?? 'my_project'))}"`,
    );
  }
  const definitions = spec.definitions ?? ['features.ts'];
  if (
    !Array.isArray(definitions) ||
    definitions.length === 0 ||
    !definitions.every((d) => typeof d === 'string')
  ) {
    report(
      'definitions',
      'must be a non-empty list of file paths',
      "List the definition files, e.g. ['features.ts']",
    );
  }
  const provider = spec.provider ?? 'local';
  if (provider !== 'local' && provider !== 'aws') {
    report(
      'provider',
      `"${String(provider)}" is not a provider`,
      "Use 'local' (embedded, the default) or 'aws'",
    );
  }
  const dataDir = spec.local?.dataDir ?? '.fstore';
  if (typeof dataDir !== 'string' || dataDir.trim() === '') {
    report('local.dataDir', 'is empty', "Give a folder relative to the repo, e.g. '.fstore'");
  }
  if (provider === 'aws') {
    const aws = (spec.aws ?? {}) as Partial<AwsProviderSettings>;
    for (const setting of ['bucket', 'glueDatabase', 'onlineTable'] as const) {
      if (typeof aws[setting] !== 'string' || aws[setting] === '') {
        report(
          `aws.${setting}`,
          'is required when provider is aws',
          'Copy it from the outputs of `cdk deploy`',
        );
      }
    }
  }
  if (issues.length > 0) throw new DefinitionValidationError(issues);
  return {
    project: spec.project as string,
    definitions: definitions as string[],
    provider,
    local: { dataDir },
    aws: spec.aws,
  };
}
