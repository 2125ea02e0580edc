import { randomUUID } from 'node:crypto';
import { feastTimestamp } from '../../lib/services/get-online-features.js';
import type { MaterializeResult } from '../../lib/services/materialize.js';
import { ApiError } from './api-error.js';
import { describedError } from './error-responses.js';

/** Finished jobs kept for polling; older ones are forgotten first. */
export const MAX_FINISHED_JOBS = 100;

/** A materialization started through the API, as `GET /materialize-jobs/{id}` describes it. */
export interface MaterializeJobView {
  readonly job_id: string;
  readonly kind: 'materialize' | 'materialize-incremental';
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly feature_views: readonly string[];
  readonly started_at: string;
  readonly finished_at?: string;
  /** What was written per view, once succeeded. */
  readonly result?: MaterializeResultView;
  /** Why it failed, once failed: the code and message an error reply would carry. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** `MaterializeResult` as JSON: times as Feast writes them. */
export interface MaterializeResultView {
  readonly start: string | null;
  readonly end: string;
  readonly views: readonly {
    readonly view: string;
    readonly version: string;
    readonly start?: string;
    readonly items: number;
    readonly written: number;
    readonly skipped: number;
    readonly refused?: string;
  }[];
}

interface Job {
  view: MaterializeJobView;
  readonly done: Promise<void>;
}

/**
 * Materializations run by this process, so a long one can answer 202 and be polled, and two runs of one
 * view never overlap (Feast answers 409 for a view already MATERIALIZING, `feature_server.py`
 * `_check_already_materializing`). Jobs live in the process that started them.
 */
export class MaterializeJobs {
  private readonly jobs = new Map<string, Job>();
  /** View name -> the running job that materializes it. */
  private readonly running = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Starts `run` for `views`, or refuses with 409 `ALREADY_MATERIALIZING` when a running job holds one of
   * them. Resolves once started; `settled` waits for the end.
   */
  start(
    kind: MaterializeJobView['kind'],
    views: readonly string[],
    run: () => Promise<MaterializeResult>,
  ): MaterializeJobView {
    const busy = views.filter((view) => this.running.has(view));
    if (busy.length > 0) {
      const holders = [...new Set(busy.map((view) => this.running.get(view)))];
      throw new ApiError(
        409,
        'ALREADY_MATERIALIZING',
        `feature view ${busy.map((view) => `"${view}"`).join(', ')} is being materialized by job ${holders.join(', ')}; wait for it (GET /materialize-jobs/${holders[0]}) and retry`,
      );
    }
    const id = randomUUID();
    for (const view of views) this.running.set(view, id);
    const job: Job = {
      view: {
        job_id: id,
        kind,
        status: 'running',
        feature_views: [...views],
        started_at: feastTimestamp(this.now()),
      },
      done: Promise.resolve()
        .then(run)
        .then(
          (result) => this.finish(id, { status: 'succeeded', result: resultView(result) }),
          (error: unknown) => {
            const { code, message } = describedError(error, `materialize job ${id}`);
            this.finish(id, { status: 'failed', error: { code, message } });
          },
        ),
    };
    this.jobs.set(id, job);
    return job.view;
  }

  /** The job as it is now, or 404 `UNKNOWN_JOB`. */
  get(id: string): MaterializeJobView {
    const job = this.jobs.get(id);
    if (!job) {
      throw new ApiError(
        404,
        'UNKNOWN_JOB',
        `there is no materialize job "${id.slice(0, 64)}" on this server; jobs live in the server that started them, and the last ${MAX_FINISHED_JOBS} finished ones are kept`,
      );
    }
    return job.view;
  }

  /** The job once it finished, or as it is after `ms` if it has not. */
  async settled(id: string, ms: number): Promise<MaterializeJobView> {
    const job = this.jobs.get(id);
    if (job) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        job.done,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
      ]);
      clearTimeout(timer);
    }
    return this.get(id);
  }

  private finish(id: string, outcome: Pick<MaterializeJobView, 'status' | 'result' | 'error'>): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.view = { ...job.view, ...outcome, finished_at: feastTimestamp(this.now()) };
    for (const view of job.view.feature_views) if (this.running.get(view) === id) this.running.delete(view);
    const finished = [...this.jobs.values()].filter((candidate) => candidate.view.status !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_JOBS))) {
      this.jobs.delete(old.view.job_id);
    }
  }
}

function resultView(result: MaterializeResult): MaterializeResultView {
  return {
    start: result.start === undefined ? null : feastTimestamp(result.start.getTime()),
    end: feastTimestamp(result.end.getTime()),
    views: result.views.map((view) => ({
      view: view.view,
      version: view.version,
      ...(view.start === undefined ? {} : { start: feastTimestamp(view.start.getTime()) }),
      items: view.items,
      written: view.written,
      skipped: view.skipped,
      ...(view.refused === undefined ? {} : { refused: view.refused }),
    })),
  };
}
