import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { MaterializeRun, ServeDependencies } from '../../lambdas/http/serve-dependencies.js';
import { floatJson } from '../../lambdas/http/typed-json.js';
import { createServeHandler } from '../../lambdas/serve.js';
import type { MaterializeResult } from '../../lib/services/materialize.js';
import { replyProblems } from '../compat/openapi-responses.js';
import {
  FixedOnlineStore,
  lambdaContext,
  NOW,
  parsedReply,
  proxyEvent,
  transactionsCatalog,
} from './serving-fixture.js';

const loaded = transactionsCatalog();
const version = (view: string) => loaded.catalog.views.get(view)?.version ?? '';

/** A run that finishes when `finish` is called, recording what it was asked. */
function controlledRuns() {
  const runs: MaterializeRun[] = [];
  const pending: ((result: MaterializeResult) => void)[] = [];
  const failures: ((error: Error) => void)[] = [];
  return {
    runs,
    materialize: (run: MaterializeRun) =>
      new Promise<MaterializeResult>((resolve, reject) => {
        runs.push(run);
        pending.push(resolve);
        failures.push(reject);
      }),
    finish: (index: number) =>
      pending[index]?.({
        start: runs[index]?.start,
        end: runs[index]?.end ?? new Date(0),
        views: (runs[index]?.views ?? []).map((view) => ({
          view,
          version: version(view),
          items: 3,
          written: 2,
          skipped: 1,
        })),
      }),
    fail: (index: number, error: Error) => failures[index]?.(error),
  };
}

function serve(overrides: Partial<ServeDependencies>) {
  const handler = createServeHandler({
    loadCatalog: async () => loaded,
    store: new FixedOnlineStore(),
    now: () => NOW,
    ...overrides,
  });
  return async (event: APIGatewayProxyEvent) => {
    const reply = await handler(event, lambdaContext());
    expect(replyProblems(event.httpMethod, event.path, reply)).toEqual([]);
    return parsedReply(reply);
  };
}

const materializeEvent = (body: string, query?: Record<string, string>) =>
  proxyEvent({ method: 'POST', path: '/materialize', body, ...(query ? { query } : {}) });

// Feast's MaterializeRequest as its tests build it (tests/unit/test_feature_server.py).
const FEAST_BODY =
  '{"start_ts": "2021-01-01T00:00:00", "end_ts": "2021-01-02T00:00:00", "feature_views": ["user_transaction_stats"]}';

describe('POST /materialize and /materialize-incremental', () => {
  it('runs Feast’s body and answers 200 with what was written when the run ends within the wait', async () => {
    const runs = controlledRuns();
    const call = serve({ materialize: runs.materialize });

    const answer = call(materializeEvent(FEAST_BODY));
    await new Promise((resolve) => setImmediate(resolve));
    runs.finish(0);
    const { status, body } = await answer;

    expect(runs.runs.map(({ catalog: _, ...run }) => run)).toEqual([
      {
        incremental: false,
        views: ['user_transaction_stats'],
        start: new Date('2021-01-01T00:00:00Z'),
        end: new Date('2021-01-02T00:00:00Z'),
      },
    ]);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      kind: 'materialize',
      status: 'succeeded',
      feature_views: ['user_transaction_stats'],
      result: {
        start: '2021-01-01T00:00:00Z',
        end: '2021-01-02T00:00:00Z',
        views: [
          {
            view: 'user_transaction_stats',
            version: version('user_transaction_stats'),
            items: 3,
            written: 2,
            skipped: 1,
          },
        ],
      },
    });
  });

  it('answers 202 with a job to poll for a run still going after the wait, and the job says when it ends', async () => {
    const runs = controlledRuns();
    const call = serve({ materialize: runs.materialize, materializeWaitMs: 1 });

    const accepted = await call(
      proxyEvent({
        method: 'POST',
        path: '/materialize-incremental',
        body: '{"end_ts": "2024-03-01T00:00:00"}',
      }),
    );
    const jobId = (accepted.body as { job_id: string }).job_id;
    const running = await call(proxyEvent({ method: 'GET', path: `/materialize-jobs/${jobId}` }));
    runs.finish(0);
    await new Promise((resolve) => setImmediate(resolve));
    const done = await call(proxyEvent({ method: 'GET', path: `/materialize-jobs/${jobId}` }));

    expect(accepted).toMatchObject({
      status: 202,
      body: {
        status: 'accepted',
        feature_views: ['user_transaction_stats', 'merchant_transaction_stats', 'category_transaction_stats'],
        poll: `/materialize-jobs/${jobId}`,
      },
    });
    expect(runs.runs[0]).toMatchObject({
      incremental: true,
      start: undefined,
      end: new Date('2024-03-01T00:00:00Z'),
    });
    expect(running.body).toMatchObject({ status: 'running', kind: 'materialize-incremental' });
    expect(done.body).toMatchObject({ status: 'succeeded', finished_at: '2024-03-01T00:00:00Z' });
  });

  it('answers 202 at once for ?async=true, and 409 for a second run of the same view while one runs', async () => {
    const runs = controlledRuns();
    const call = serve({ materialize: runs.materialize });

    const first = await call(materializeEvent(FEAST_BODY, { async: 'true' }));
    const second = await call(materializeEvent(FEAST_BODY, { async: 'true' }));
    const other = await call(
      materializeEvent('{"disable_event_timestamp": true, "feature_views": ["merchant_transaction_stats"]}', {
        async: 'true',
      }),
    );

    const jobId = (first.body as { job_id: string }).job_id;
    expect(first.status).toBe(202);
    expect(second).toMatchObject({
      status: 409,
      body: {
        error: {
          code: 'ALREADY_MATERIALIZING',
          message: `feature view "user_transaction_stats" is being materialized by job ${jobId}; wait for it (GET /materialize-jobs/${jobId}) and retry`,
        },
      },
    });
    expect(other.status).toBe(202);
    expect(runs.runs).toHaveLength(2);
  });

  it('answers a failed run with the status and code of its error, and frees the view for the next run', async () => {
    const runs = controlledRuns();
    const call = serve({ materialize: runs.materialize, materializeWaitMs: 1 });

    const accepted = await call(materializeEvent(FEAST_BODY));
    runs.fail(0, new Error('engine crashed'));
    await new Promise((resolve) => setImmediate(resolve));
    const jobId = (accepted.body as { job_id: string }).job_id;
    const polled = await call(proxyEvent({ method: 'GET', path: `/materialize-jobs/${jobId}` }));
    const again = await call(materializeEvent(FEAST_BODY, { async: 'true' }));

    expect(polled.body).toMatchObject({
      status: 'failed',
      error: {
        code: 'INTERNAL',
        message: expect.stringMatching(/^the server failed to answer this request/),
      },
    });
    expect(again.status).toBe(202);
  });

  it.each<[string, string, number, string, string]>([
    [
      'start_ts after end_ts',
      '{"start_ts": "2021-01-02T00:00:00", "end_ts": "2021-01-01T00:00:00"}',
      400,
      'INVALID_REQUEST',
      'start_ts (2021-01-02T00:00:00.000Z) must be before end_ts (2021-01-01T00:00:00.000Z); swap them or widen the range',
    ],
    [
      'no end_ts',
      '{"start_ts": "2021-01-01T00:00:00"}',
      422,
      'MISSING_FIELD',
      'end_ts is missing; give both start_ts and end_ts (or "disable_event_timestamp": true for everything up to now)',
    ],
    [
      'a time that is not one',
      '{"start_ts": "yesterday", "end_ts": "2021-01-01T00:00:00"}',
      400,
      'INVALID_REQUEST',
      'start_ts must be an ISO 8601 time such as 2024-01-31T12:00:00Z, 2024-01-31T14:00:00.250+02:00 or 2024-01-31 (no zone means UTC); got the string "yesterday"',
    ],
    [
      'an unknown view',
      '{"disable_event_timestamp": true, "feature_views": ["user_transaction_stat"]}',
      404,
      'UNKNOWN_FEATURE_VIEW',
      'there is no feature view "user_transaction_stat"; did you mean "user_transaction_stats"?',
    ],
    [
      'a version without exactly one view',
      '{"disable_event_timestamp": true, "version": "v1"}',
      400,
      'INVALID_REQUEST',
      'version needs feature_views with exactly one view, as in Feast; name the one view whose version to materialize',
    ],
  ])('refuses %s with %i %s before running anything', async (_, body, status, code, message) => {
    const runs = controlledRuns();
    const call = serve({ materialize: runs.materialize });

    const reply = await call(materializeEvent(body));

    expect(reply).toMatchObject({ status, body: { error: { code, message } } });
    expect(runs.runs).toEqual([]);
  });

  it('answers 501 MATERIALIZE_UNAVAILABLE on a server without an offline engine (the serving Lambda)', async () => {
    const call = serve({});

    const reply = await call(materializeEvent(FEAST_BODY));

    expect(reply).toMatchObject({ status: 501, body: { error: { code: 'MATERIALIZE_UNAVAILABLE' } } });
  });

  it('answers 404 UNKNOWN_JOB for a job this server does not know', async () => {
    const call = serve({});

    const reply = await call(proxyEvent({ method: 'GET', path: '/materialize-jobs/nope' }));

    expect(reply).toMatchObject({
      status: 404,
      body: { class: 'FeastObjectNotFoundException', error: { code: 'UNKNOWN_JOB' } },
    });
  });
});

describe('floatJson', () => {
  it.each<[number, string]>([
    [20, '20.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [-3, '-3.0'],
    [0.5, '0.5'],
    [1e21, '1e+21'],
    [1.5e-7, '1.5e-7'],
    [Number.NaN, 'null'],
    [Number.POSITIVE_INFINITY, 'null'],
  ])('writes %d as %s, which Python reads as a float', (value, json) => {
    expect(floatJson(value)).toBe(json);
  });
});
