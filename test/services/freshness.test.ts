import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchSource, entity, featureView } from '../../lib/index.js';
import type { MaterializationWatermarks } from '../../lib/registry/materialization-watermarks.js';
import {
  FSTORE_METRICS_NAMESPACE,
  VIEW_FRESHNESS_METRIC,
  type ViewFreshness,
  viewFreshness,
} from '../../lib/services/freshness.js';
import { FreshnessMetrics } from '../../lib/services/freshness-metrics.js';
import { FileSystemObjectStore } from '../../lib/stores/filesystem-object-store.js';
import { featurePartitionPrefix } from '../../lib/stores/offline-layout.js';
import { publishPartition } from '../../lib/stores/partition-publisher.js';

const user = entity({ name: 'user', joinKeys: { user_id: 'int64' } });
const events = batchSource({
  name: 'events',
  path: 'data/events.parquet',
  timestampField: 'ts',
  schema: { user_id: 'int64', ts: 'timestamp', amount: 'float64' },
});
const spec = {
  name: 'spend',
  entities: [user],
  source: events,
  aggregations: [{ column: 'amount', functions: ['sum'], windows: ['7d'] }],
} as const;
const online = { definition: featureView(spec), version: 'v1' };
const offlineOnly = { definition: featureView({ ...spec, online: false }), version: 'v1' };
const neither = { definition: featureView({ ...spec, online: false, offline: false }), version: 'v1' };

const NOW = new Date('2024-05-02T10:00:00.000Z');

function watermarksAt(through: Date | undefined): MaterializationWatermarks & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: async (view, version) => {
      asked.push(`${view}#${version}`);
      return through;
    },
    advance: async () => true,
  };
}

let dir: string;
let store: FileSystemObjectStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fstore-freshness-'));
  store = new FileSystemObjectStore({ root: dir });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function publish(dt: string, publishedAt: string): Promise<void> {
  const jobId = `job-${dt}`;
  await store.put(`_staging/${jobId}/part`, 'x');
  await publishPartition(store, {
    prefix: featurePartitionPrefix('spend', 'v1', dt),
    files: [`_staging/${jobId}/part`],
    jobId,
    publishedAt: new Date(publishedAt),
  });
}

describe('viewFreshness', () => {
  it("is the seconds since an online view version's watermark", async () => {
    const watermarks = watermarksAt(new Date('2024-05-02T09:00:00.000Z'));
    expect(await viewFreshness({ view: online, watermarks, now: NOW })).toEqual({
      view: 'spend',
      version: 'v1',
      basis: 'online',
      through: new Date('2024-05-02T09:00:00.000Z'),
      seconds: 3600,
    });
    expect(watermarks.asked).toEqual(['spend#v1']);
  });

  it('is undefined for an online view never materialized, and never negative', async () => {
    expect(
      await viewFreshness({ view: online, watermarks: watermarksAt(undefined), now: NOW }),
    ).toBeUndefined();
    const ahead = watermarksAt(new Date('2024-05-02T10:00:01.000Z'));
    expect((await viewFreshness({ view: online, watermarks: ahead, now: NOW }))?.seconds).toBe(0);
  });

  it('is measured online for a view served online, whatever the offline store holds', async () => {
    await publish('2024-05-02', '2024-05-02T09:59:00.000Z');
    const freshness = await viewFreshness({
      view: online,
      watermarks: watermarksAt(new Date('2024-05-01T10:00:00.000Z')),
      offlineStore: store,
      now: NOW,
    });
    expect(freshness).toMatchObject({ basis: 'online', seconds: 86_400 });
  });

  it("measures an offline-only view by its newest partition: the earlier of the day's end and its publishing", async () => {
    const watermarks = watermarksAt(new Date(0));
    await publish('2024-04-30', '2024-05-01T00:10:00.000Z');
    await publish('2024-05-02', '2024-05-02T09:30:00.000Z');
    expect(await viewFreshness({ view: offlineOnly, watermarks, offlineStore: store, now: NOW })).toEqual({
      view: 'spend',
      version: 'v1',
      basis: 'offline',
      through: new Date('2024-05-02T09:30:00.000Z'),
      seconds: 1800,
    });
    expect(watermarks.asked).toEqual([]);
  });

  it('takes the end of the day of an older newest partition, republished since', async () => {
    // Yesterday's partition republished this morning: its events end at midnight.
    await publish('2024-05-01', '2024-05-02T09:30:00.000Z');
    expect(
      await viewFreshness({
        view: offlineOnly,
        watermarks: watermarksAt(undefined),
        offlineStore: store,
        now: NOW,
      }),
    ).toMatchObject({ through: new Date('2024-05-02T00:00:00.000Z'), seconds: 36_000 });
  });

  it('looks back lookbackDays days for an offline-only view, then gives up', async () => {
    await publish('2024-04-25', '2024-04-26T00:00:00.000Z');
    const options = { view: offlineOnly, watermarks: watermarksAt(undefined), offlineStore: store, now: NOW };
    expect(await viewFreshness(options)).toMatchObject({ seconds: 6 * 86_400 + 36_000 });
    expect(await viewFreshness({ ...options, lookbackDays: 6 })).toBeUndefined();
  });

  it('is undefined for an offline-only view without an offline store, and for a view neither online nor offline', async () => {
    expect(
      await viewFreshness({ view: offlineOnly, watermarks: watermarksAt(new Date(0)), now: NOW }),
    ).toBeUndefined();
    expect(
      await viewFreshness({
        view: neither,
        watermarks: watermarksAt(new Date(0)),
        offlineStore: store,
        now: NOW,
      }),
    ).toBeUndefined();
  });
});

describe('FreshnessMetrics', () => {
  /** The lines written to stdout while `work` runs. */
  function stdoutOf(work: () => void): string[] {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      work();
    } finally {
      spy.mockRestore();
    }
    return lines;
  }

  const freshness = (view: string, seconds: number): ViewFreshness => ({
    view,
    version: 'v1',
    basis: 'online',
    through: new Date('2024-05-02T09:00:00.000Z'),
    seconds,
  });

  it('writes one EMF line per view: namespace fstore, service = project, dimension view, unit Seconds', () => {
    const publisher = new FreshnessMetrics({ project: 'fraud' });
    const lines = stdoutOf(() => {
      publisher.publish(freshness('user_stats', 3600));
      publisher.publish(freshness('merchant_stats', 12.5));
    });
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'fstore',
            Dimensions: [['service', 'view']],
            Metrics: [{ Name: 'ViewFreshnessSeconds', Unit: 'Seconds' }],
          },
        ],
      },
      service: 'fraud',
      view: 'user_stats',
      ViewFreshnessSeconds: 3600,
      version: 'v1',
      basis: 'online',
      through: '2024-05-02T09:00:00.000Z',
    });
    // Nothing of the first view carries over into the second line.
    expect(second).toMatchObject({ service: 'fraud', view: 'merchant_stats', ViewFreshnessSeconds: 12.5 });
    expect(FSTORE_METRICS_NAMESPACE).toBe('fstore');
    expect(VIEW_FRESHNESS_METRIC).toBe('ViewFreshnessSeconds');
  });

  it('publishes through a Metrics instance it is given', () => {
    const metrics = new Metrics({ namespace: 'elsewhere', serviceName: 'other' });
    const lines = stdoutOf(() =>
      new FreshnessMetrics({ project: 'fraud', metrics }).publish(freshness('v', 1)),
    );
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'elsewhere' }] },
      service: 'other',
      view: 'v',
      ViewFreshnessSeconds: 1,
    });
  });
});
