import type { PassReport } from '../reconcile/pass.ts';

/** The namespace every tandem metric is published under. */
export const METRICS_NAMESPACE = 'tandem';

export type MetricName =
  'PassDuration' | 'Actions' | 'Errors' | 'ApiCalls' | 'Tasks' | 'SitesNotReached' | 'FailoverActive';

/** One value of one metric, with the dimensions that identify its series. */
export interface MetricDatum {
  name: MetricName;
  value: number;
  unit: 'Milliseconds' | 'Count';
  dimensions: Readonly<Record<string, string>>;
}

/** Where metrics go: CloudWatch embedded metrics in Lambda, an array in tests. */
export interface MetricsPublisher {
  publish(data: readonly MetricDatum[]): Promise<void>;
}

/** Calls made to one operation in one region, as the call counter reports them; metrics sum them per region. */
export interface RegionCalls {
  region: string;
  count: number;
  service?: string;
  operation?: string;
}

/** Region of CDN actions and errors, which belong to no region. */
const GLOBAL = 'global';

/**
 * What one pass reports, as metrics: per site and region the actions applied,
 * the errors met and the running tasks; per region the API calls; and the
 * pass's duration. Pure, so the test can read it without CloudWatch.
 */
export function passMetrics(
  report: PassReport,
  durationMs: number,
  calls: readonly RegionCalls[] = [],
): MetricDatum[] {
  const data: MetricDatum[] = [
    { name: 'PassDuration', value: durationMs, unit: 'Milliseconds', dimensions: {} },
  ];
  for (const outcome of report.sites) {
    const site = outcome.name;
    const status = report.statuses.get(site);
    const actions = new Map<string, number>();
    const errors = new Map<string, number>();
    const regions = new Set([...Object.keys(status?.regions ?? {}), GLOBAL]);
    for (const result of outcome.applied?.results ?? []) {
      if (result.error !== undefined) continue;
      const region = 'region' in result.action ? result.action.region : GLOBAL;
      actions.set(region, (actions.get(region) ?? 0) + 1);
      regions.add(region);
    }
    for (const error of status?.errors ?? []) {
      const region = error.region ?? GLOBAL;
      errors.set(region, (errors.get(region) ?? 0) + 1);
      regions.add(region);
    }
    // 1 while the site's primary region is failing and the CDN serves from the failover region.
    if (outcome.decisions !== undefined) {
      data.push({
        name: 'FailoverActive',
        value: outcome.decisions.failoverActive ? 1 : 0,
        unit: 'Count',
        dimensions: { Site: site },
      });
    }
    for (const region of [...regions].sort()) {
      const dimensions = { Site: site, Region: region };
      data.push({ name: 'Actions', value: actions.get(region) ?? 0, unit: 'Count', dimensions });
      data.push({ name: 'Errors', value: errors.get(region) ?? 0, unit: 'Count', dimensions });
      const counts = status?.regions[region];
      if (counts !== undefined)
        data.push({
          name: 'Tasks',
          value: counts.stable.running + counts.canary.running,
          unit: 'Count',
          dimensions,
        });
    }
  }
  const byRegion = new Map<string, number>();
  for (const call of calls) byRegion.set(call.region, (byRegion.get(call.region) ?? 0) + call.count);
  for (const [region, count] of [...byRegion.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
    data.push({ name: 'ApiCalls', value: count, unit: 'Count', dimensions: { Region: region } });
  return data;
}

/**
 * CloudWatch embedded metric format: one log line per dimension set, written
 * to stdout, which Lambda sends to CloudWatch Logs; no API call, no network.
 * The format is a JSON document AWS specifies ("Specification: Embedded
 * metric format" in the CloudWatch guide): `_aws` holds the timestamp and one
 * metric directive (namespace, one dimension set, the metrics' names and
 * units), and the root holds each dimension's value and each metric's value.
 * Written here rather than with aws-embedded-metrics, whose 32 KB cost the
 * reconciler's cold start a twentieth of its import (docs/performance.md).
 */
export function embeddedMetricsPublisher(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  clock: () => number = Date.now,
): MetricsPublisher {
  return {
    async publish(data) {
      const groups = new Map<string, MetricDatum[]>();
      for (const datum of data) {
        const key = JSON.stringify(Object.entries(datum.dimensions).sort());
        groups.set(key, [...(groups.get(key) ?? []), datum]);
      }
      for (const group of groups.values())
        for (let i = 0; i < group.length; i += MAX_METRICS_PER_DIRECTIVE)
          write(emfDocument(group.slice(i, i + MAX_METRICS_PER_DIRECTIVE), clock()));
    },
  };
}

/** The most metrics one directive may name (the format's limit). */
const MAX_METRICS_PER_DIRECTIVE = 100;

/**
 * One embedded metric format document for metrics that share one set of
 * dimensions (the format allows at most 30; tandem's have two at most). A
 * metric named twice keeps its last value: a document has one value per name.
 */
export function emfDocument(group: readonly MetricDatum[], timestamp: number): string {
  const dimensions = group[0]?.dimensions ?? {};
  const values = new Map(group.map((d) => [d.name, d]));
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [...values.values()].map((d) => ({ Name: d.name, Unit: d.unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries([...values.values()].map((d) => [d.name, d.value])),
  });
}
