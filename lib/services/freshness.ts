import type { MaterializationWatermarks } from '../registry/materialization-watermarks.js';
import type { ObjectStore } from '../stores/object-store.js';
import { featurePartitionPrefix, formatDt } from '../stores/offline-layout.js';
import { readPartitionManifest } from '../stores/partition-publisher.js';
import type { ServedView } from './serving-catalog.js';

/** The CloudWatch namespace fstore's own metrics go to. */
export const FSTORE_METRICS_NAMESPACE = 'fstore';
/** The metric a view's freshness is published as, in seconds, with dimensions `service` (the project) and `view`. */
export const VIEW_FRESHNESS_METRIC = 'ViewFreshnessSeconds';

/** How old a view's data is. */
export interface ViewFreshness {
  readonly view: string;
  readonly version: string;
  /**
   * What `through` is: `online`, the end the view version's online state is materialized up to (its
   * watermark); `offline`, the end of the newest published day partition (offline-only views).
   */
  readonly basis: 'online' | 'offline';
  /** The view's data takes every event before this instant into account. */
  readonly through: Date;
  /** Seconds from `through` to now; never negative. */
  readonly seconds: number;
}

export interface ViewFreshnessOptions {
  readonly view: Pick<ServedView, 'definition' | 'version'>;
  /** Where online views' watermarks are (the registry's table). */
  readonly watermarks: MaterializationWatermarks;
  /** The offline store, for views with `online: false`; without it they have no freshness. */
  readonly offlineStore?: ObjectStore;
  readonly now: Date;
  /**
   * How many days before today an offline-only view's newest published partition is looked for (one
   * manifest read per day, newest first); none in that time gives no freshness, which the freshness
   * alarm counts as stale.
   * @default 7
   */
  readonly lookbackDays?: number;
}

const DAY_MS = 86_400_000;

/**
 * A view's freshness: the seconds since the end its data is computed up to.
 * - A view served online: since its version's materialization watermark, which `materializeIncremental`
 *   moves to the end of each run that was not refused. A run that failed or was refused leaves it, so
 *   the freshness keeps growing until a run succeeds. (A stream-fed view's stream part is fresher; this
 *   measures the batch part, which carries corrections and the history.)
 * - A view with `online: false` and `offline: true`: since the end of its newest published day partition,
 *   the earlier of the day's end and the time it was published (a job publishes a day only after
 *   computing every event of it up to its own end). A day without events publishes no partition, so a
 *   quiet source shows as growing freshness from the start of that day.
 * Undefined when there is nothing to measure: an online view never materialized, an offline-only view
 * with no partition in the last `lookbackDays` days, a view neither online nor offline.
 */
export async function viewFreshness(options: ViewFreshnessOptions): Promise<ViewFreshness | undefined> {
  const { view, now } = options;
  const name = view.definition.name;
  let through: Date | undefined;
  let basis: ViewFreshness['basis'];
  if (view.definition.online) {
    basis = 'online';
    through = await options.watermarks.get(name, view.version);
  } else if (view.definition.offline && options.offlineStore) {
    basis = 'offline';
    through = await newestPartitionEnd(
      options.offlineStore,
      name,
      view.version,
      now,
      options.lookbackDays ?? 7,
    );
  } else {
    return undefined;
  }
  if (through === undefined) return undefined;
  return {
    view: name,
    version: view.version,
    basis,
    through,
    seconds: Math.max(0, (now.getTime() - through.getTime()) / 1000),
  };
}

/** The end of the newest day partition published within `lookbackDays` days before `now`'s day. */
async function newestPartitionEnd(
  store: ObjectStore,
  view: string,
  version: string,
  now: Date,
  lookbackDays: number,
): Promise<Date | undefined> {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  for (let day = today; day >= today - lookbackDays * DAY_MS; day -= DAY_MS) {
    const manifest = await readPartitionManifest(
      store,
      featurePartitionPrefix(view, version, formatDt(new Date(day))),
    );
    if (manifest === undefined) continue;
    return new Date(Math.min(day + DAY_MS, Date.parse(manifest.publishedAt)));
  }
  return undefined;
}
