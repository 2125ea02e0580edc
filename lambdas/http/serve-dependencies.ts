import type { RegistryObject } from '../../lib/registry/registry-object.js';
import { DEFAULT_ONLINE_REQUEST_LIMITS } from '../../lib/services/get-online-features.js';
import type { MaterializeResult } from '../../lib/services/materialize.js';
import type { PushRequest, PushResult } from '../../lib/services/push-request.js';
import type { ServingCatalog } from '../../lib/services/serving-catalog.js';
import type { OnlineStore } from '../../lib/stores/online-store.js';

/** The applied definitions the server answers with: prepared for serving, as stored, and which revision. */
export interface LoadedCatalog {
  readonly catalog: ServingCatalog;
  /** The registry's objects, for the `/registry` discovery routes. */
  readonly objects: readonly RegistryObject[];
  readonly revision: number;
}

/** Limits on one request; a request over one is refused with a 4xx saying which and how to split it. */
export interface ServeLimits {
  /** Entity rows per `get-online-features` request. @default 1000 */
  readonly maxEntityRows?: number;
  /** Features per `get-online-features` request, after expanding `view:*` and feature services. @default 500 */
  readonly maxFeatures?: number;
  /** Bytes of request body (after base64 decoding); larger bodies answer 413 before being parsed. @default 1 MiB */
  readonly maxBodyBytes?: number;
}

/** 1 MiB: a thousand entity rows of a few join keys fit many times over. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export const DEFAULT_SERVE_LIMITS: Required<ServeLimits> = {
  ...DEFAULT_ONLINE_REQUEST_LIMITS,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
};

/** One materialization the API asks for: the views (already checked against `catalog`) and the range. */
export interface MaterializeRun {
  /** The applied definitions the views were resolved against. */
  readonly catalog: ServingCatalog;
  /** From each view version's watermark (`materialize-incremental`), else from `start`. */
  readonly incremental: boolean;
  readonly views: readonly string[];
  /** Entities with rows since then are written; undefined: all. Never set for an incremental run. */
  readonly start: Date | undefined;
  readonly end: Date;
}

/** What the serving handler needs; the Lambda builds them from its environment, tests hand in their own. */
export interface ServeDependencies {
  /**
   * The applied definitions, or undefined before the first apply (routes that need them answer 503
   * `NOT_APPLIED`). Called on every request, so it should cache: see `registryCatalogLoader`.
   */
  readonly loadCatalog: () => Promise<LoadedCatalog | undefined>;
  readonly store: OnlineStore;
  /** Writes pushed rows; without it `POST /push` answers 501 `PUSH_UNAVAILABLE`. */
  readonly push?: (request: PushRequest) => Promise<PushResult>;
  /** @default DEFAULT_SERVE_LIMITS */
  readonly limits?: ServeLimits;
  /**
   * Runs a materialization (the offline engine, the online store, the watermarks); without it `POST
   * /materialize` and `POST /materialize-incremental` answer 501 `MATERIALIZE_UNAVAILABLE`.
   */
  readonly materialize?: (run: MaterializeRun) => Promise<MaterializeResult>;
  /**
   * How long a materialize request waits for its run before answering 202 with a job to poll (below API
   * Gateway's 29 s integration timeout).
   * @default 10_000
   */
  readonly materializeWaitMs?: number;
  /** The read time of `get-online-features`, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** `limits` with every default filled in. */
export function resolveServeLimits(limits: ServeLimits = {}): Required<ServeLimits> {
  return {
    maxEntityRows: limits.maxEntityRows ?? DEFAULT_SERVE_LIMITS.maxEntityRows,
    maxFeatures: limits.maxFeatures ?? DEFAULT_SERVE_LIMITS.maxFeatures,
    maxBodyBytes: limits.maxBodyBytes ?? DEFAULT_SERVE_LIMITS.maxBodyBytes,
  };
}
