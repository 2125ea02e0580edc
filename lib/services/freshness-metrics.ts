import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FSTORE_METRICS_NAMESPACE, VIEW_FRESHNESS_METRIC, type ViewFreshness } from './freshness.js';

export interface FreshnessMetricsOptions {
  /** The registry project: the metrics' `service` dimension, so projects sharing an account stay apart. */
  readonly project: string;
  /** @default a Powertools `Metrics` in namespace `fstore` with service `project`, writing EMF to stdout */
  readonly metrics?: Metrics;
}

/**
 * Publishes views' freshness as CloudWatch metrics through Powertools Metrics: one Embedded Metric Format
 * line on stdout per call (Lambda ships stdout to CloudWatch Logs, which turns it into the metric), so no
 * CloudWatch API call and no permission is needed. Namespace `fstore`, metric `ViewFreshnessSeconds`
 * (unit Seconds), dimensions `service` = the project and `view`; the view version, the basis and the
 * `through` instant ride along as metadata (searchable in the log line, not dimensions).
 * @example
 * const publisher = new FreshnessMetrics({ project: 'fraud' });
 * const freshness = await viewFreshness({ view, watermarks, now: new Date() });
 * if (freshness) publisher.publish(freshness);
 */
export class FreshnessMetrics {
  private readonly metrics: Metrics;

  constructor(options: FreshnessMetricsOptions) {
    this.metrics =
      options.metrics ?? new Metrics({ namespace: FSTORE_METRICS_NAMESPACE, serviceName: options.project });
  }

  /** Writes one EMF line for the view at once (nothing is buffered across calls). */
  publish(freshness: ViewFreshness): void {
    this.metrics.addDimension('view', freshness.view);
    this.metrics.addMetric(VIEW_FRESHNESS_METRIC, MetricUnit.Seconds, freshness.seconds);
    this.metrics.addMetadata('version', freshness.version);
    this.metrics.addMetadata('basis', freshness.basis);
    this.metrics.addMetadata('through', freshness.through.toISOString());
    this.metrics.publishStoredMetrics();
  }
}
