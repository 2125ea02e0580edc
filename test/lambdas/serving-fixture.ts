import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as transactions from '../../examples/transactions/features.js';
import type { LoadedCatalog } from '../../lambdas/http/serve-dependencies.js';
import { stateFromEvents } from '../../lib/compute/online-fold.js';
import { collectDefinitions, validateFeatureRepo } from '../../lib/index.js';
import type { RegistryObject } from '../../lib/registry/registry-object.js';
import { toRegistryObjects } from '../../lib/registry/registry-objects.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { type ServingCatalog, servingCatalog } from '../../lib/services/serving-catalog.js';
import { encodeEntityKey, type JoinKeyValue } from '../../lib/stores/online-entity-key.js';
import type {
  OnlineItem,
  OnlineItemKey,
  OnlineStore,
  OnlineWriteResult,
} from '../../lib/stores/online-store.js';

/** The read time of every test: 2024-03-01T00:00:00Z. */
export const NOW = Date.parse('2024-03-01T00:00:00Z');
const DAY = 86_400_000;

/** The transactions example as applied: registry objects, the serving catalog, revision 3. */
export function transactionsCatalog(): LoadedCatalog {
  const objects: RegistryObject[] = toRegistryObjects(
    validateFeatureRepo(collectDefinitions(Object.values(transactions))),
  );
  return { catalog: servingCatalog(repoFromRegistry(objects)), objects, revision: 3 };
}

/** An online store in memory holding fixed items; it counts reads and can be made to fail. */
export class FixedOnlineStore implements OnlineStore {
  readonly reads: (readonly OnlineItemKey[])[] = [];
  failure: Error | undefined;
  private readonly items = new Map<string, OnlineItem>();

  constructor(items: readonly OnlineItem[] = []) {
    for (const item of items) this.items.set(itemId(item), item);
  }

  async read(keys: readonly OnlineItemKey[]): Promise<(OnlineItem | undefined)[]> {
    this.reads.push(keys);
    if (this.failure) throw this.failure;
    return keys.map((key) => this.items.get(itemId(key)));
  }

  async write(items: readonly OnlineItem[]): Promise<OnlineWriteResult> {
    for (const item of items) this.items.set(itemId(item), item);
    return { written: items.length, skipped: 0 };
  }

  async update(
    keys: readonly OnlineItemKey[],
    change: (key: OnlineItemKey, current: OnlineItem | undefined) => OnlineItem | undefined,
  ): Promise<{ readonly updated: number }> {
    let updated = 0;
    for (const key of new Map(keys.map((key) => [itemId(key), key])).values()) {
      const next = change(key, this.items.get(itemId(key)));
      if (next === undefined) continue;
      this.items.set(itemId(key), next);
      updated++;
    }
    return { updated };
  }
}

function itemId(key: OnlineItemKey): string {
  return JSON.stringify([key.entityKey, key.view, key.version, key.part ?? null]);
}

/** The state of one entity of `view`, folded from `(days before NOW, values)` events through NOW. */
export function itemOf(
  catalog: ServingCatalog,
  view: string,
  keys: Readonly<Record<string, JoinKeyValue>>,
  events: readonly (readonly [daysAgo: number, values: Record<string, number | string>])[],
): OnlineItem {
  const served = catalog.views.get(view);
  if (!served) throw new Error(`no view ${view} in the catalog`);
  const state = stateFromEvents(
    served.layout,
    events.map(([daysAgo, values]) => ({ ts: NOW - daysAgo * DAY, values })),
    NOW,
  );
  if (!state) throw new Error('no events before NOW');
  return { entityKey: encodeEntityKey(keys), view, version: served.version, state };
}

/**
 * Stored items: user 42 spent 10 and 20 in the last week and 30 ten days ago; merchant 7 took 10 and 20;
 * category "food" saw 10. User 7 has nothing stored.
 */
export function fixtureItems(catalog: ServingCatalog): OnlineItem[] {
  return [
    itemOf(catalog, 'user_transaction_stats', { user_id: 42 }, [
      [1, { amount: 10 }],
      [2, { amount: 20 }],
      [10, { amount: 30 }],
    ]),
    itemOf(catalog, 'merchant_transaction_stats', { merchant_id: 7 }, [
      [0.5, { amount: 10 }],
      [3, { amount: 20 }],
    ]),
    itemOf(catalog, 'category_transaction_stats', { category: 'food' }, [[0.5, { amount: 10 }]]),
  ];
}

export interface EventOptions {
  readonly method?: string;
  readonly path?: string;
  readonly body?: string | null;
  readonly headers?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
  readonly query?: Record<string, string>;
}

/** An API Gateway REST proxy event, as API Gateway sends it for `/{proxy+}`. */
export function proxyEvent(options: EventOptions = {}): APIGatewayProxyEvent {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/get-online-features';
  const headers = options.headers ?? { 'content-type': 'application/json' };
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.9',
        user: null,
        userAgent: 'test',
        userArn: null,
      },
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'api-request',
      requestTimeEpoch: NOW,
      resourceId: 'proxy',
      resourcePath: '/{proxy+}',
    },
    body: options.body === undefined ? null : options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

/** A POST event whose body is `body` as JSON. */
export function postJson(path: string, body: unknown): APIGatewayProxyEvent {
  return proxyEvent({ method: 'POST', path, body: JSON.stringify(body) });
}

/** A Lambda context with request id `requestId`. */
export function lambdaContext(requestId = 'req-1'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'serve',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:serve',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/serve',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * The reply's body parsed, with its status and content type. An error body is a JSON string holding Feast's
 * error detail (`feastErrorBody`); it is parsed too, as Feast's client does (`FeastError.from_error_detail`),
 * so tests read `{module, class, message, error: {code, message}}`.
 */
export function parsedReply(reply: APIGatewayProxyResult): {
  status: number;
  contentType: string | undefined;
  body: unknown;
} {
  const contentType = Object.entries(reply.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'content-type',
  );
  const body: unknown = JSON.parse(reply.body);
  return {
    status: reply.statusCode,
    contentType: contentType?.[1]?.toString(),
    body: typeof body === 'string' ? JSON.parse(body) : body,
  };
}
