import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Period } from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lambdas/http/openapi-document.js';
import { ServingApi, type ServingApiProps } from '../../lib/infra/serving-api.js';
import { StreamIngestion } from '../../lib/infra/stream-ingestion.js';

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly serving: ServingApi;
  readonly onlineTable: TableV2;
  readonly registryTable: TableV2;
  readonly template: Template;
}

function build(props: Partial<ServingApiProps> = {}, app?: App): Omit<Fixture, 'template'> {
  const theApp = app ?? new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(theApp, 'Test');
  const onlineTable = new TableV2(stack, 'OnlineTable', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
  });
  const registryTable = new TableV2(stack, 'RegistryTable', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
  });
  const serving = new ServingApi(stack, 'Serving', {
    project: 'transactions',
    onlineTable,
    registryTable,
    ...props,
  });
  return { app: theApp, stack, serving, onlineTable, registryTable };
}

function synthesize(props: Partial<ServingApiProps> = {}): Fixture {
  const built = build(props);
  return { ...built, template: Template.fromStack(built.stack) };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Every method as `VERB /path` with its authorization type and whether it needs an API key. */
function routes(template: Template): { route: string; authorization: unknown; apiKeyRequired: unknown }[] {
  const resources = template.toJSON().Resources as Resources;
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const resource = id === undefined ? undefined : resources[id];
    if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::ApiGateway::Method')
    .map(({ Properties: method }) => ({
      route: `${method.HttpMethod} ${pathOf(method.ResourceId) || '/'}`,
      authorization: method.AuthorizationType,
      apiKeyRequired: method.ApiKeyRequired,
    }))
    .sort((a, b) => a.route.localeCompare(b.route));
}

const ROUTES = [
  'GET /health',
  'GET /materialize-jobs/{id}',
  'GET /openapi.json',
  'GET /registry/feature-views',
  'GET /registry/feature-views/{name}',
  'POST /get-online-features',
  'POST /materialize',
  'POST /materialize-incremental',
  'POST /push',
  'POST /write-to-online-store',
];

/** The routes the OpenAPI document describes, less the catalog page's, which only `fstore serve` has. */
function documentedRoutes(): string[] {
  const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .filter(([path]) => !path.startsWith('/ui'))
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
    .sort((a, b) => a.localeCompare(b));
}

describe('ServingApi routes', () => {
  it('has exactly the serve handler’s routes', () => {
    expect(routes(synthesize().template).map(({ route }) => route)).toEqual(ROUTES);
  });

  it('has every route the OpenAPI document describes, and no other', () => {
    expect(documentedRoutes()).toEqual(ROUTES);
  });

  it('requires the job id of GET /materialize-jobs/{id}', () => {
    synthesize().template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestParameters: { 'method.request.path.id': true },
    });
  });

  it('proxies every method to the serve function', () => {
    const { template, stack, serving } = synthesize();
    template.allResourcesProperties('AWS::ApiGateway::Method', {
      Integration: {
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        Uri: {
          'Fn::Join': ['', Match.arrayWith([getAtt(logicalId(stack, serving.function)), '/invocations'])],
        },
      },
    });
  });

  it('lets API Gateway invoke the function from this API only', () => {
    const { template, stack, serving } = synthesize();
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: getAtt(logicalId(stack, serving.function)),
      SourceArn: {
        'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack, serving.api) }, '/*/*/*'])],
      },
    });
  });

  it('is a regional endpoint', () => {
    synthesize().template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('validates requests on every method', () => {
    const { template } = synthesize();
    const validators = template.findResources('AWS::ApiGateway::RequestValidator', {
      Properties: { ValidateRequestBody: true, ValidateRequestParameters: true },
    });
    const [validator] = Object.keys(validators);
    expect(validator).toBeDefined();
    template.allResourcesProperties('AWS::ApiGateway::Method', { RequestValidatorId: { Ref: validator } });
  });

  it('answers no CORS preflight unless asked (no OPTIONS methods)', () => {
    expect(routes(synthesize().template).filter(({ route }) => route.startsWith('OPTIONS'))).toEqual([]);
    const withCors = routes(synthesize({ cors: { allowOrigins: ['https://example.com'] } }).template);
    expect(withCors.filter(({ route }) => route.startsWith('OPTIONS')).length).toBeGreaterThan(0);
    expect(withCors.filter(({ route }) => !route.startsWith('OPTIONS'))).toEqual(
      ROUTES.map((route) => ({ route, authorization: 'AWS_IAM', apiKeyRequired: undefined })),
    );
  });
});

describe('ServingApi authorization', () => {
  it('requires IAM authorization on every method by default', () => {
    expect(routes(synthesize().template)).toEqual(
      ROUTES.map((route) => ({ route, authorization: 'AWS_IAM', apiKeyRequired: undefined })),
    );
  });

  it('creates no API key or usage plan with IAM authorization', () => {
    const { template, serving } = synthesize();
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    expect(serving.apiKey).toBeUndefined();
  });

  it('requires an API key on every method with auth apiKey', () => {
    expect(routes(synthesize({ auth: 'apiKey' }).template)).toEqual(
      ROUTES.map((route) => ({ route, authorization: 'NONE', apiKeyRequired: true })),
    );
  });

  it('creates a key in a usage plan for the stage, with the given throttle and quota', () => {
    const { template, stack, serving } = synthesize({
      auth: 'apiKey',
      apiKeyThrottle: { rateLimit: 50, burstLimit: 100 },
      apiKeyQuota: { limit: 100000, period: Period.DAY },
    });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: { Limit: 100000, Period: 'DAY' },
      ApiStages: [
        Match.objectLike({
          ApiId: { Ref: logicalId(stack, serving.api) },
          Stage: { Ref: logicalId(stack, serving.api.deploymentStage) },
        }),
      ],
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: logicalId(stack, serving.apiKey as NonNullable<typeof serving.apiKey>) },
      KeyType: 'API_KEY',
    });
  });

  it('throttles each key like the stage unless told otherwise', () => {
    synthesize({ auth: 'apiKey' }).template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 1000, BurstLimit: 2000 },
      Quota: Match.absent(),
    });
  });
});

describe('ServingApi stage', () => {
  it('throttles the stage at 1000 requests per second with bursts of 2000 by default', () => {
    synthesize().template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 1000,
          ThrottlingBurstLimit: 2000,
        }),
      ],
    });
  });

  it('takes the stage throttle from its props', () => {
    synthesize({ throttlingRateLimit: 10, throttlingBurstLimit: 20 }).template.hasResourceProperties(
      'AWS::ApiGateway::Stage',
      { MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })] },
    );
  });

  it('writes JSON access logs to its own log group', () => {
    const { template, stack, serving } = synthesize();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: {
        DestinationArn: getAtt(logicalId(stack, serving.accessLogs)),
        Format: Match.stringLikeRegexp(
          '^\\{"requestId":"\\$context.requestId".*"status":"\\$context.status"',
        ),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('keeps execution logging and data tracing off', () => {
    synthesize().template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ LoggingLevel: 'OFF', DataTraceEnabled: false })],
    });
  });

  it('traces requests with X-Ray', () => {
    synthesize().template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      StageName: 'v1',
    });
  });

  it('exposes the stage URL', () => {
    const { stack, serving } = synthesize();
    expect(JSON.stringify(stack.resolve(serving.url))).toContain('.execute-api.');
  });
});

describe('ServingApi function', () => {
  it('is configured by the environment the serve handler reads', () => {
    const { template, stack, onlineTable, registryTable } = synthesize({
      maxEntityRows: 200,
      maxFeatures: 50,
      maxBodyBytes: 65536,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FSTORE_PROJECT: 'transactions',
          FSTORE_ONLINE_TABLE: { Ref: logicalId(stack, onlineTable) },
          FSTORE_REGISTRY_TABLE: { Ref: logicalId(stack, registryTable) },
          FSTORE_MAX_ENTITY_ROWS: '200',
          FSTORE_MAX_FEATURES: '50',
          FSTORE_MAX_BODY_BYTES: '65536',
        }),
      },
    });
  });

  it('leaves the request limits to the handler unless given', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FSTORE_MAX_ENTITY_ROWS: Match.absent(),
          FSTORE_MAX_FEATURES: Match.absent(),
          FSTORE_MAX_BODY_BYTES: Match.absent(),
        }),
      },
    });
  });

  it('answers within API Gateway’s integration timeout, traced with X-Ray', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 10,
      MemorySize: 1024,
      TracingConfig: { Mode: 'Active' },
    });
  });
});

type Statement = { Action: string | string[]; Resource: unknown };

describe('ServingApi permissions', () => {
  const statements = (fixture: Fixture): Statement[] => {
    const role = logicalId(
      fixture.stack,
      fixture.serving.function.role as NonNullable<typeof fixture.serving.function.role>,
    );
    return Object.values(fixture.template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  };
  const actions = (statement: Statement) => [statement.Action].flat();

  it('grants no action "*" and no data action on every resource', () => {
    for (const statement of statements(synthesize())) {
      expect(actions(statement)).not.toContain('*');
      if (statement.Resource === '*') {
        expect(actions(statement).filter((action) => !action.startsWith('xray:'))).toEqual([]);
      }
    }
  });

  it('reads and writes the online table, reads the registry table, writes its logs; nothing else', () => {
    const fixture = synthesize();
    const { stack, onlineTable, registryTable, serving } = fixture;
    const logGroup = serving.node.findChild('Serve').node.findChild('Logs') as unknown as {
      node: { defaultChild?: unknown };
    };
    const byResource = new Map<string, string[]>();
    for (const statement of statements(fixture)) {
      const key = JSON.stringify(statement.Resource);
      byResource.set(key, [...(byResource.get(key) ?? []), ...actions(statement)]);
    }
    const online = byResource.get(JSON.stringify(getAtt(logicalId(stack, onlineTable)))) ?? [];
    const registry = byResource.get(JSON.stringify(getAtt(logicalId(stack, registryTable)))) ?? [];
    // Exactly what reads and push updates send: BatchGetItem, and PutItem conditional on the revision.
    expect(online).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem']);
    expect(registry).toEqual(['dynamodb:Query']);
    expect(byResource.get(JSON.stringify(getAtt(logicalId(stack, logGroup))))).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect([...byResource.keys()].sort()).toEqual(
      [
        '"*"',
        JSON.stringify(getAtt(logicalId(stack, onlineTable))),
        JSON.stringify(getAtt(logicalId(stack, registryTable))),
        JSON.stringify(getAtt(logicalId(stack, logGroup))),
      ].sort(),
    );
  });

  it('attaches no managed policy to the function', () => {
    const { template, stack, serving } = synthesize();
    const role = logicalId(stack, serving.function.role as NonNullable<typeof serving.function.role>);
    expect(template.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('ServingApi and cdk-nag', () => {
  const findings = (fixture: Omit<Fixture, 'template'>) =>
    new AwsSolutionsChecks(fixture.app)
      .validateScope(fixture.stack)
      .violations.map(
        (violation) =>
          `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}`,
      );

  it('passes the AWS Solutions checks with IAM authorization', () => {
    expect(findings(build())).toEqual([]);
  });

  it('passes the AWS Solutions checks with API keys and CORS', () => {
    expect(findings(build({ auth: 'apiKey', cors: { allowOrigins: ['https://example.com'] } }))).toEqual([]);
  });
});

describe('bundles', () => {
  /** The files of the bundled asset a function's code comes from, by name, with their sizes. */
  function asset(
    outdir: string,
    template: Template,
    functionId: string,
  ): { dir: string; sizes: Map<string, number> } {
    const key = String(template.toJSON().Resources[functionId].Properties.Code.S3Key);
    const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    return { dir, sizes: new Map(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).size])) };
  }

  it('bundles the serve and ingest handlers with esbuild, small, and the serving bundle holds no DuckDB', () => {
    const app = new App();
    const { stack, serving, onlineTable, registryTable } = build({}, app);
    const bucket = new Bucket(stack, 'OfflineBucket');
    const ingestion = new StreamIngestion(stack, 'Ingestion', {
      project: 'transactions',
      streamNames: ['transactions'],
      onlineTable,
      registryTable,
      landing: {
        bucket,
        grantLanding: (grantee) =>
          grantee.grantPrincipal.addToPrincipalPolicy(
            new PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('raw/*')] }),
          ),
      },
    });
    const template = Template.fromStack(stack);
    const outdir = app.synth().directory;
    const serve = asset(outdir, template, logicalId(stack, serving.function));
    const ingest = asset(outdir, template, logicalId(stack, ingestion.function));
    const serveBytes = serve.sizes.get('index.mjs') ?? 0;
    const ingestBytes = ingest.sizes.get('index.mjs') ?? 0;
    console.info(
      `serve bundle: index.mjs ${serveBytes} bytes; ingest bundle: index.mjs ${ingestBytes} bytes`,
    );

    expect([...serve.sizes.keys()].sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect([...ingest.sizes.keys()].sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect(readFileSync(join(serve.dir, 'index.mjs'), 'utf8')).not.toMatch(/duckdb/i);
    expect(serveBytes).toBeGreaterThan(10_000);
    expect(serveBytes).toBeLessThan(1_000_000);
    expect(ingestBytes).toBeGreaterThan(10_000);
    expect(ingestBytes).toBeLessThan(3_000_000);
  }, 180_000);
});
