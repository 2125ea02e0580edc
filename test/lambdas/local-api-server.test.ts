import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServeHandler } from '../../lambdas/serve.js';
import { type LocalApiServer, startLocalApiServer } from '../../lib/cli/local-api-server.js';
import { FixedOnlineStore, fixtureItems, NOW, transactionsCatalog } from './serving-fixture.js';

const MAX_BODY_BYTES = 64 * 1024;
const loaded = transactionsCatalog();
const handler = createServeHandler({
  loadCatalog: async () => loaded,
  store: new FixedOnlineStore(fixtureItems(loaded.catalog)),
  now: () => NOW,
  limits: { maxBodyBytes: MAX_BODY_BYTES },
});

/** Sends a body in chunks without a content-length, as a streaming client does; resolves with the reply. */
function postChunked(url: string, chunks: readonly string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${url}/get-online-features`, { method: 'POST' }, (incoming) => {
      const parts: Buffer[] = [];
      incoming.on('data', (part: Buffer) => parts.push(part));
      incoming.on('end', () =>
        resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(parts).toString() }),
      );
    });
    // The server may close the connection while the rest is still being written.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    for (const chunk of chunks) outgoing.write(chunk);
    outgoing.end();
  });
}

describe('startLocalApiServer', () => {
  let server: LocalApiServer;

  beforeAll(async () => {
    server = await startLocalApiServer({ handler, port: 0, maxBodyBytes: MAX_BODY_BYTES });
  });
  afterAll(() => server.close());

  it('listens on the free port it was given 0 for', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('answers get-online-features over HTTP as the handler does', async () => {
    const response = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        features: ['user_transaction_stats:amount_sum_30d'],
        entities: { user_id: [42] },
      }),
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      metadata: { feature_names: ['user_id', 'amount_sum_30d'] },
      results: [
        {
          values: [42],
          statuses: ['PRESENT'],
          event_timestamps: ['1970-01-01T00:00:00Z'],
        },
        { values: [60], statuses: ['PRESENT'], event_timestamps: ['2024-02-29T00:00:00Z'] },
      ],
    });
  });

  it('answers health', async () => {
    const response = await fetch(`${server.url}/health`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', registry_revision: 3 });
  });

  it('answers 404 NOT_FOUND for an unknown route', async () => {
    const response = await fetch(`${server.url}/nothing-here?x=1`);

    expect(response.status).toBe(404);
    expect(feastDetail(await response.text())).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/^there is no route \/nothing-here;/) },
    });
  });

  it('answers 400 INVALID_JSON for a malformed body', async () => {
    const response = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      body: '{"features": [',
    });

    expect(response.status).toBe(400);
    expect(feastDetail(await response.text())).toMatchObject({ error: { code: 'INVALID_JSON' } });
  });

  it('answers 413 BODY_TOO_LARGE for a body declared over the limit, without reading it', async () => {
    const response = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      body: 'x'.repeat(MAX_BODY_BYTES + 1),
    });

    expect(response.status).toBe(413);
    expect(feastDetail(await response.text())).toMatchObject({
      error: {
        code: 'BODY_TOO_LARGE',
        message: `the body is ${MAX_BODY_BYTES + 1} bytes; at most ${MAX_BODY_BYTES} bytes are allowed per request, so split the request`,
      },
    });
  });

  it('answers 413 BODY_TOO_LARGE once a body sent without a length grows over the limit', async () => {
    const reply = await postChunked(
      server.url,
      Array.from({ length: 5 }, () => 'x'.repeat(MAX_BODY_BYTES / 2)),
    );

    expect(reply.status).toBe(413);
    expect(feastDetail(reply.body)).toMatchObject({
      error: {
        code: 'BODY_TOO_LARGE',
        message: `the body is over ${MAX_BODY_BYTES} bytes; at most ${MAX_BODY_BYTES} bytes are allowed per request, so split the request`,
      },
    });
  });

  it('keeps serving after refusing an oversized body', async () => {
    await postChunked(
      server.url,
      Array.from({ length: 5 }, () => 'x'.repeat(MAX_BODY_BYTES / 2)),
    );

    const response = await fetch(`${server.url}/health`);

    expect(response.status).toBe(200);
  });
});

describe('the events startLocalApiServer builds', () => {
  it('pass path, query, lowercased headers, body and request context as API Gateway does', async () => {
    const events: APIGatewayProxyEvent[] = [];
    const server = await startLocalApiServer({
      handler: async (event) => {
        events.push(event);
        return { statusCode: 200, headers: { 'X-Echo': 'yes' }, body: '{}' };
      },
      port: 0,
    });
    try {
      const response = await fetch(`${server.url}/registry/feature-views?entity=user&tag=a&tag=b`, {
        method: 'POST',
        headers: { 'X-Trace': 'abc', 'content-type': 'text/plain' },
        body: 'héllo',
      });

      expect(response.headers.get('x-echo')).toBe('yes');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        resource: '/{proxy+}',
        path: '/registry/feature-views',
        httpMethod: 'POST',
        headers: { 'x-trace': 'abc', 'content-type': 'text/plain' },
        multiValueHeaders: { 'x-trace': ['abc'] },
        queryStringParameters: { entity: 'user', tag: 'b' },
        multiValueQueryStringParameters: { entity: ['user'], tag: ['a', 'b'] },
        pathParameters: { proxy: 'registry/feature-views' },
        body: 'héllo',
        isBase64Encoded: false,
        requestContext: { stage: 'local', httpMethod: 'POST', resourcePath: '/{proxy+}' },
      });
      expect(events[0]?.requestContext.identity.sourceIp).toMatch(/127\.0\.0\.1/);
      expect(events[0]?.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await server.close();
    }
  });

  it('give a GET without a query null parameters and a null body', async () => {
    const events: APIGatewayProxyEvent[] = [];
    const server = await startLocalApiServer({
      handler: async (event) => {
        events.push(event);
        return { statusCode: 204, body: '' };
      },
      port: 0,
    });
    try {
      await fetch(`${server.url}/health`);

      expect(events[0]).toMatchObject({ queryStringParameters: null, body: null });
    } finally {
      await server.close();
    }
  });

  it('answer 500 INTERNAL, logging the error, when the handler throws', async () => {
    const server = await startLocalApiServer({
      handler: async () => {
        throw new Error('boom');
      },
      port: 0,
    });
    const originalError = console.error;
    const logged: unknown[][] = [];
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      const response = await fetch(`${server.url}/health`);

      expect(response.status).toBe(500);
      expect(feastDetail(await response.text())).toMatchObject({ error: { code: 'INTERNAL' } });
      expect(logged[0]?.[1]).toEqual(new Error('boom'));
    } finally {
      console.error = originalError;
      await server.close();
    }
  });
});

describe('LocalApiServer.close', () => {
  it('stops listening, idle keep-alive connections included, so the port refuses connections', async () => {
    const server = await startLocalApiServer({ handler, port: 0, maxBodyBytes: MAX_BODY_BYTES });
    const before = await fetch(`${server.url}/health`);
    await before.arrayBuffer();

    await server.close();

    expect(before.status).toBe(200);
    await expect(fetch(`${server.url}/health`)).rejects.toMatchObject({
      cause: expect.objectContaining({ code: 'ECONNREFUSED' }),
    });
  });
});

/** An error body as Feast's client reads it: a JSON string holding the error detail, parsed twice. */
function feastDetail(text: string): unknown {
  const body: unknown = JSON.parse(text);
  expect(typeof body).toBe('string');
  return JSON.parse(body as string);
}
