import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { feastErrorBody } from '../../lambdas/http/feast-error-detail.js';

/** An API Gateway (REST API, proxy integration) handler, such as the serving Lambda's. */
export type ApiGatewayProxyHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

/** The serving handler's default body limit (1 MiB), so both refuse the same bodies. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** API Gateway's integration timeout: the handler sees the same deadline locally as in AWS. */
const INTEGRATION_TIMEOUT_MS = 29_000;
const LOCAL_FUNCTION_NAME = 'fstore-serve-local';

export interface LocalApiServerOptions {
  /** Called with one API Gateway proxy event per HTTP request. */
  readonly handler: ApiGatewayProxyHandler;
  /** The port to listen on; 0 picks a free one (see `LocalApiServer.port`). */
  readonly port: number;
  /** @default '127.0.0.1' (this machine only) */
  readonly host?: string;
  /**
   * Request bodies larger than this are answered 413 `BODY_TOO_LARGE` without being read further.
   * @default 1 MiB
   */
  readonly maxBodyBytes?: number;
}

export interface LocalApiServer {
  /** `http://<host>:<port>`. */
  readonly url: string;
  /** The port listened on, the real one when 0 was asked for. */
  readonly port: number;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

/**
 * An HTTP server that does what API Gateway does in front of the serving Lambda: each request becomes a
 * REST API proxy event (`resource` `/{proxy+}`, stage `local`) passed to `handler`, whose result becomes
 * the reply. So `fstore serve` answers exactly as the deployed API does.
 * @example
 * const server = await startLocalApiServer({ handler: createServeHandler(deps), port: 6566 });
 * console.log(`listening on ${server.url}`);
 * await server.close();
 */
export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((request, response) => {
    answer(request, response, options.handler, maxBodyBytes).catch((error: unknown) => {
      console.error('[fstore serve] could not answer a request:', error);
      response.destroy();
    });
  });
  // What Node's parser refuses itself (an unknown method, broken headers) gets the API's JSON error too.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const body = feastErrorBody(
      'BAD_REQUEST',
      `the request cannot be parsed as HTTP/1.1: ${error.code ?? error.message}`,
    );
    socket.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  handler: ApiGatewayProxyHandler,
  maxBodyBytes: number,
): Promise<void> {
  const declared = Number(request.headers['content-length'] ?? 0);
  const body = declared > maxBodyBytes ? undefined : await readBody(request, maxBodyBytes);
  if (body === undefined) {
    // Stop reading: what is still coming is discarded and the connection closed once the reply is out.
    request.resume();
    const size = declared > maxBodyBytes ? String(declared) : `over ${maxBodyBytes}`;
    writeJson(
      response,
      413,
      'BODY_TOO_LARGE',
      `the body is ${size} bytes; at most ${maxBodyBytes} bytes are allowed per request, so split the request`,
      { connection: 'close' },
    );
    return;
  }
  const requestId = randomUUID();
  let result: APIGatewayProxyResult;
  try {
    result = await handler(proxyEvent(request, body, requestId), lambdaContext(requestId));
  } catch (error) {
    console.error(`[fstore serve] request ${requestId} failed:`, error);
    writeJson(
      response,
      500,
      'INTERNAL',
      `the server failed to answer this request (request id ${requestId}); the cause is in its logs`,
    );
    return;
  }
  const payload = result.isBase64Encoded
    ? Buffer.from(result.body, 'base64')
    : Buffer.from(result.body ?? '');
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name.toLowerCase()] = values.map(String);
  }
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  headers['content-length'] = String(payload.byteLength);
  try {
    response.writeHead(result.statusCode, headers);
  } catch (error) {
    // A status or header Node cannot send: the handler's bug, answered like any other failure.
    console.error(`[fstore serve] request ${requestId} returned a reply that cannot be sent:`, error);
    writeJson(
      response,
      500,
      'INTERNAL',
      `the server failed to answer this request (request id ${requestId}); the cause is in its logs`,
    );
    return;
  }
  response.end(payload);
}

/** The body, or undefined as soon as it grows past `maxBodyBytes` (the rest is left unread). */
function readBody(request: IncomingMessage, maxBodyBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      request.off('end', onEnd);
      resolve(undefined);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    request.on('data', onData);
    request.on('end', onEnd);
    request.once('error', reject);
  });
}

function proxyEvent(request: IncomingMessage, body: Buffer, requestId: string): APIGatewayProxyEvent {
  const target = request.url ?? '/';
  const queryStart = target.indexOf('?');
  const path = (queryStart === -1 ? target : target.slice(0, queryStart)) || '/';
  const query = new URLSearchParams(queryStart === -1 ? '' : target.slice(queryStart + 1));
  const method = request.method ?? 'GET';
  // Entries, never assignment: a header or parameter named __proto__ must stay an own property.
  const headerValues = groupValues(
    pairs(request.rawHeaders).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const queryValues = groupValues([...query.entries()]);
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    // Like API Gateway: single-value maps hold the last value, multi-value maps every value.
    headers: Object.fromEntries(headerValues.map(([name, values]) => [name, values.at(-1)])),
    multiValueHeaders: Object.fromEntries(headerValues),
    queryStringParameters:
      queryValues.length === 0
        ? null
        : Object.fromEntries(queryValues.map(([name, values]) => [name, values.at(-1)])),
    multiValueQueryStringParameters: queryValues.length === 0 ? null : Object.fromEntries(queryValues),
    pathParameters: path === '/' ? null : { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
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
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/local${path}`,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
    body: body.byteLength === 0 ? null : body.toString('utf8'),
    isBase64Encoded: false,
  };
}

function lambdaContext(requestId: string): Context {
  const deadline = Date.now() + INTEGRATION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: LOCAL_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${LOCAL_FUNCTION_NAME}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${LOCAL_FUNCTION_NAME}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function pairs(flat: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let index = 0; index + 1 < flat.length; index += 2) {
    result.push([flat[index] as string, flat[index + 1] as string]);
  }
  return result;
}

/** Values grouped by name, names in first-seen order. */
function groupValues(entries: readonly (readonly [string, string])[]): [string, string[]][] {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of entries) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  return [...grouped.entries()];
}

function writeJson(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  // The same body the handler's errors have: Feast's error detail carrying the code and message.
  const payload = feastErrorBody(code, message);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  response.end(payload);
}
