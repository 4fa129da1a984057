import type * as EmbeddedMetrics from 'aws-embedded-metrics';
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
 *
 * The library is imported on first use, after its environment is fixed:
 * imported without one, it probes the EC2 metadata endpoint at load time.
 */
export function embeddedMetricsPublisher(): MetricsPublisher {
  process.env['AWS_EMF_ENVIRONMENT'] ??=
    process.env['AWS_LAMBDA_FUNCTION_NAME'] === undefined ? 'Local' : 'Lambda';
  let library: Promise<typeof EmbeddedMetrics> | undefined;
  return {
    async publish(data) {
      // A CommonJS module: Node and esbuild both give its exports as `default`.
      library ??= import('aws-embedded-metrics').then(
        (m) => (m as unknown as { default?: typeof EmbeddedMetrics }).default ?? m,
      );
      const { createMetricsLogger, Unit } = await library;
      const groups = new Map<string, MetricDatum[]>();
      for (const datum of data) {
        const key = JSON.stringify(Object.entries(datum.dimensions).sort());
        groups.set(key, [...(groups.get(key) ?? []), datum]);
      }
      for (const group of groups.values()) {
        const metrics = createMetricsLogger();
        metrics.setNamespace(METRICS_NAMESPACE);
        metrics.setDimensions({ ...group[0]!.dimensions });
        for (const datum of group)
          metrics.putMetric(datum.name, datum.value, datum.unit === 'Count' ? Unit.Count : Unit.Milliseconds);
        await metrics.flush();
      }
    },
  };
}
