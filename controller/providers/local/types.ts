import type { DistributionConfig } from '../../ports/cdn.ts';
import type { RuleState } from '../../ports/load-balancer.ts';
import type { MetricQuery, MetricSeries } from '../../ports/metrics.ts';
import type { SiteView } from '../../reconcile/view.ts';
import type { CdnStats } from './cdn.ts';

/**
 * The seams between the local cloud's parts. The control plane (what the
 * reconciler calls through the ports) is the simulated cloud's; these views
 * let the data plane (task processes, load balancers, the CDN) act on it.
 */

/** A task process as a load balancer sees it. */
export interface LocalTarget {
  /** The task id (also the site's TANDEM_TASK_ID). */
  id: string;
  host: string;
  port: number;
}

/** What one region's load balancer routes by; read on every request, so changes apply at once. */
export interface LoadBalancerView {
  region: string;
  /** The LoadBalancer dimension of this region's ALB (`app/<name>/<id>`), for the metrics it records. */
  loadBalancerDimension: string;
  /** The listener's rules, lowest priority number first. */
  rules(): readonly RuleState[];
  /** Targets registered in the target group that pass health checks and are not draining. */
  healthyTargets(targetGroupArn: string): readonly LocalTarget[];
  /**
   * How the region fails while it is failed or lost (`tandem fail-region`/`lose-region --mode`);
   * undefined while it serves. The load balancer acts out `errors` (a 503 to every request),
   * `hang` (connections open, requests are read, nothing is ever answered) and `refuse` (every
   * connection cut as it opens); `blackhole` happens on the path to it (`CdnView.resolveOrigin`).
   */
  fault(): RegionFault | undefined;
}

/** The ways a region fails, as regions do (`tandem fail-region --mode`). */
export const REGION_FAULTS = ['refuse', 'blackhole', 'hang', 'errors'] as const;
export type RegionFault = (typeof REGION_FAULTS)[number];

/**
 * Where the CDN reaches an origin, and what the network between does to a connection: `open`,
 * `refused` (the connection is refused at once) or `dropped` (every packet is dropped, so the
 * connection never opens and only the CDN's connection timeout ends the attempt).
 */
export interface OriginRoute {
  host: string;
  port: number;
  path: 'open' | 'refused' | 'dropped';
}

/** A distribution as the CDN serves it. */
export interface LocalDistribution {
  id: string;
  /** `<id>.cloudfront.net`: requests whose Host is this (or an alias) are served by it. */
  domainName: string;
  config: DistributionConfig;
}

/** What the CDN proxy serves; read on every request. */
export interface CdnView {
  /** Enabled distributions. */
  distributions(): readonly LocalDistribution[];
  /** Where an origin's domain name (a region's ALB DNS name) listens and how the path to it behaves, or undefined if nowhere. */
  resolveOrigin(domainName: string): OriginRoute | undefined;
}

/** One request a load balancer forwarded to a target group, for the metrics. */
export interface TargetGroupRequest {
  region: string;
  loadBalancerDimension: string;
  /** `targetgroup/<name>/<id>`, as CloudWatch's TargetGroup dimension. */
  targetGroupDimension: string;
  /** The target's status code; 502 when the target could not be reached (an ELB 5xx, not a target 5xx). */
  status: number;
  /** From the request forwarded to the response's headers, in milliseconds (TargetResponseTime). */
  latencyMs: number;
  /** True when the load balancer answered itself (target unreachable): counted as HTTPCode_ELB_5XX_Count. */
  elbError?: boolean;
}

/** Where the dashboard page gets what it draws; served as JSON by the page's server. */
export interface DashboardSource {
  /** Seconds per datapoint locally (CloudWatch's is 60). */
  periodSeconds: number;
  /** The body the reconciler last wrote with PutDashboard, as CloudWatch would hold it; undefined before the first. */
  dashboardBody(): string | undefined;
  /** GetMetricData over the local metrics, as the reconciler reads them. */
  metricData(
    region: string,
    queries: readonly MetricQuery[],
    start: number,
    end: number,
  ): Promise<MetricSeries[]>;
  /** Each site's status as the reconciler last wrote it (conditions, tasks per region, canary, last actions). */
  sites(): Promise<SiteView[]>;
  /**
   * Regions and whether each is failed; with DNS failover, whether its health check passes and
   * which region its failover name answers now.
   */
  regions(): { name: string; failed: boolean; dns?: { healthy: boolean; answers: string } }[];
  /** The CDN proxy's counters since it started; the page turns them into rates. Absent: no CDN panel. */
  cdn?: () => CdnStats;
}

export function isRegionFault(value: string): value is RegionFault {
  return (REGION_FAULTS as readonly string[]).includes(value);
}
