import { CloudError } from '../../errors.ts';
import { GET_METRIC_DATA_MAX, type MetricQuery, type MetricsPort } from '../../ports/metrics.ts';
import type { SimContext } from './context.ts';
import type { ServiceState } from '../../ports/ecs.ts';
import { healthyTargets } from './ecs.ts';
import { initialTicks, type SimRegion } from './world.ts';

/** CloudWatch in the simulated cloud: one datapoint per query, from the traffic a test sets (`setTraffic`). */
export function simMetrics(sim: SimContext): MetricsPort {
  return {
    getMetricData: (region, queries, start) =>
      sim.call('cloudwatch', 'GetMetricData', region, false, () => {
        if (queries.length > GET_METRIC_DATA_MAX)
          throw new CloudError('Invalid', 'GetMetricData', 'at most 500 queries per call');
        // As CloudWatch: ids are unique within a call, start with a lowercase letter, then letters, digits or _.
        const ids = new Set<string>();
        for (const q of queries) {
          if (!/^[a-z][A-Za-z0-9_]{0,254}$/.test(q.id) || ids.has(q.id))
            throw new CloudError(
              'Invalid',
              'GetMetricData',
              `query id ${q.id} must be unique and start with a lowercase letter (letters, digits and _ only)`,
            );
          ids.add(q.id);
        }
        const r = sim.region(region);
        return queries.map((q) => {
          const value = simMetric(r, q, sim.world.ticks ?? 0, initialTicks(sim.world));
          return { id: q.id, points: value === undefined ? [] : [{ timestamp: start, value }] };
        });
      }),
  };
}

/**
 * The value CloudWatch would hold for one query in a simulated region, or
 * undefined for no datapoint. Like CloudWatch, a target group has no
 * datapoints until it has existed for a whole interval; after that it reports
 * the traffic set for it (requests default to 0), and healthy targets are the
 * running tasks of the service registered into it whose targets are past
 * `initial` (`initialTicks` after they started).
 */
export function simMetric(
  region: SimRegion,
  query: MetricQuery,
  ticks: number,
  initialTicks = 0,
): number | undefined {
  const name =
    query.namespace === 'AWS/ECS'
      ? query.dimensions['ServiceName']
      : /^targetgroup\/([^/]+)\//.exec(query.dimensions['TargetGroup'] ?? '')?.[1];
  const group = Object.values(region.targetGroups).find((tg) => tg.name === name);
  if (name === undefined || group === undefined || (group.createdAtTick ?? -1) >= ticks) return undefined;
  const traffic = region.load[name] ?? {};
  const service = Object.values(region.services).find(
    (s) => s.targetGroupArn === group.arn && s.status === 'ACTIVE',
  );
  switch (query.metric) {
    case 'RequestCount':
      return traffic.requestsPerMinute ?? 0;
    case 'HTTPCode_Target_5XX_Count':
      return traffic.errors5xxPerMinute ?? 0;
    case 'HealthyHostCount':
      return traffic.healthyTargets ?? healthyHosts(region, service, ticks, initialTicks);
    case 'TargetResponseTime':
      return traffic.p95LatencyMs === undefined ? undefined : traffic.p95LatencyMs / 1000;
    case 'CPUUtilization':
      return traffic.cpuPercent;
    default:
      return undefined;
  }
}

function healthyHosts(
  region: SimRegion,
  service: ServiceState | undefined,
  ticks: number,
  initialTicks: number,
): number {
  if (service === undefined) return 0;
  const tasks = region.tasks?.[service.name];
  // Before its first tick a service's tasks are not tracked yet: as many as run.
  if (tasks === undefined) return service.runningCount;
  return Math.min(service.runningCount, healthyTargets(tasks, undefined, ticks, initialTicks));
}
