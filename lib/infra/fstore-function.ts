import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { packageRoot } from '../package-root.js';

export interface FstoreFunctionProps {
  /** The handler file under `lambdas/`, without extension: `serve`, `ingest`, `recompute`. */
  readonly handler: string;
  /** Environment variables (the handler's `FSTORE_*` settings). */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY for the log group */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The Lambda runtime every fstore function runs on. */
export const FSTORE_RUNTIME = Runtime.NODEJS_22_X;

/**
 * One of fstore's Lambda functions: the handler in `lambdas/<handler>.ts` bundled by esbuild on this
 * machine (no Docker) as a minified ES module, Node.js 22 on arm64, JSON logs in a log group of its own
 * with a retention, X-Ray tracing. The AWS SDK v3 is left to the runtime, which ships it, so bundles stay
 * small (the serving function holds no DuckDB). Its role starts with no managed policy: it may write
 * to its own log group and send traces, and each construct grants the rest on named resources.
 */
export class FstoreFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FstoreFunctionProps) {
    super(scope, id);
    const root = packageRoot();
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // Not AWSLambdaBasicExecutionRole, which may write to every log group: this function's own only.
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);
    this.function = new NodejsFunction(this, 'Function', {
      role,
      entry: join(root, 'lambdas', `${props.handler}.ts`),
      handler: 'handler',
      runtime: FSTORE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        externalModules: ['@aws-sdk/*'],
        mainFields: ['module', 'main'],
        // Some dependencies still call require(); an ES module bundle needs it defined.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only X-Ray trace upload (xray:PutTraceSegments, xray:PutTelemetryRecords) is granted on "*": X-Ray has no resource-level permissions for them.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: `${FSTORE_RUNTIME.name} is the runtime fstore builds, tests and targets (esbuild target node22); it moves with the project, not with each new Lambda runtime.`,
      },
    );
  }
}
