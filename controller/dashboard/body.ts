import { CloudError } from '../errors.ts';
import { loadBalancerDimension, serviceName, targetGroupDimension, type Track } from '../model/naming.ts';

/** CloudWatch's limits on one dashboard. */
export const DASHBOARD_MAX_WIDGETS = 500;
export const DASHBOARD_MAX_METRICS_PER_WIDGET = 500;
export const DASHBOARD_MAX_BODY_BYTES = 1_000_000;

/** The dashboard grid is 24 units wide. */
const GRID_WIDTH = 24;
const HEADER_HEIGHT = 3;
const GRAPH_WIDTH = 6;
const GRAPH_HEIGHT = 6;
const PERIOD_SECONDS = 60;

export interface DashboardRegion {
  region: string;
  role: 'primary' | 'failover';
  loadBalancerArn: string;
  cluster: string;
  /** Absent until the target group exists; its graphs wait for it. */
  stableTargetGroupArn?: string;
  /** Present while the site has a canary. */
  canaryTargetGroupArn?: string;
}

export interface DashboardSite {
  site: string;
  regions: DashboardRegion[];
  canaryWeight?: number;
  distributionId?: string;
  /** The region the CDN asks first when it is not the spec's primary (decide/origin-order.ts), and why. */
  askedFirst?: { region: string; reason: string };
  /** True when the distribution reaches each region through its DNS failover name. */
  dnsFailover?: boolean;
}

/** One line on a graph, in a structured form; `dashboardBody` writes CloudWatch's array form. */
export interface DashboardMetric {
  namespace: 'AWS/ApplicationELB' | 'ECS/ContainerInsights' | 'AWS/Route53';
  metric: string;
  dimensions: Readonly<Record<string, string>>;
  label: string;
}

export interface MetricWidget {
  type: 'metric';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title: string;
    view: 'timeSeries';
    stacked: boolean;
    region: string;
    stat: 'Sum' | 'Average' | 'p95' | 'Minimum';
    period: number;
    metrics: DashboardMetric[];
    /** The y axis label, in the unit the metric is reported in. */
    yLabel: string;
  };
}

export interface TextWidget {
  type: 'text';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { markdown: string };
}

export type DashboardWidget = MetricWidget | TextWidget;

/**
 * The dashboard's widgets, sites sorted by name: per site a header (name,
 * canary weight, CDN), then one row per region (primary first) with requests,
 * 5xx, p95 latency and tasks (running and desired), stable and canary as separate lines.
 * Pure; the same input always gives the same widgets. Throws a CloudError
 * of kind Invalid beyond CloudWatch's widget limit.
 */
/** A region's Route 53 health check behind its DNS failover name (the platform item's `healthCheckId`). */
export interface DashboardHealthCheck {
  region: string;
  healthCheckId: string;
}

/** Route 53 publishes its health checks' metrics in us-east-1 only. */
const ROUTE53_METRICS_REGION = 'us-east-1';

export function dashboardWidgets(
  sites: readonly DashboardSite[],
  healthChecks: readonly DashboardHealthCheck[] = [],
): DashboardWidget[] {
  const sorted = [...sites].sort((a, b) => compare(a.site, b.site));
  for (let i = 1; i < sorted.length; i += 1) {
    if (sorted[i]!.site === sorted[i - 1]!.site)
      throw new CloudError('Invalid', 'dashboard', `site ${sorted[i]!.site} is listed twice`);
  }
  const widgets: DashboardWidget[] = [];
  let y = 0;
  if (healthChecks.length > 0) {
    widgets.push(dnsFailoverRow(healthChecks));
    y += GRAPH_HEIGHT;
  }
  for (const site of sorted) {
    const regions = sortRegions(site);
    widgets.push({
      type: 'text',
      x: 0,
      y,
      width: GRID_WIDTH,
      height: HEADER_HEIGHT,
      properties: { markdown: header(site, regions) },
    });
    y += HEADER_HEIGHT;
    for (const region of regions) {
      widgets.push(...regionRow(site.site, region, y));
      y += GRAPH_HEIGHT;
    }
  }
  if (widgets.length > DASHBOARD_MAX_WIDGETS) {
    throw new CloudError(
      'Invalid',
      'dashboard',
      `${sorted.length} sites need ${widgets.length} widgets; a CloudWatch dashboard holds at most ${DASHBOARD_MAX_WIDGETS}. Split the sites across dashboards.`,
    );
  }
  return widgets;
}

/** The CloudWatch DashboardBody for `sites`: byte-identical for the same sites in any order. */
export function dashboardBody(
  sites: readonly DashboardSite[],
  healthChecks: readonly DashboardHealthCheck[] = [],
): string {
  const body = JSON.stringify({
    start: '-PT3H',
    periodOverride: 'inherit',
    widgets: dashboardWidgets(sites, healthChecks).map(toCloudWatch),
  });
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > DASHBOARD_MAX_BODY_BYTES) {
    throw new CloudError(
      'Invalid',
      'dashboard',
      `the dashboard body for ${sites.length} sites is ${bytes} bytes; CloudWatch takes at most ${DASHBOARD_MAX_BODY_BYTES}. Split the sites across dashboards.`,
    );
  }
  return body;
}

/**
 * Each region's Route 53 health check, the one its DNS failover name answers by: 1 while it passes,
 * 0 while it fails (the name then answers another region). The lowest in a minute, so a failure
 * shows even when it lasted part of one. Shared by every site on the platform.
 */
function dnsFailoverRow(checks: readonly DashboardHealthCheck[]): MetricWidget {
  return {
    type: 'metric',
    x: 0,
    y: 0,
    width: GRID_WIDTH,
    height: GRAPH_HEIGHT,
    properties: {
      title:
        "DNS failover · each region's load balancer as Route 53's health checks see it (1 healthy, 0 failing)",
      view: 'timeSeries',
      stacked: false,
      region: ROUTE53_METRICS_REGION,
      stat: 'Minimum',
      period: PERIOD_SECONDS,
      metrics: [...checks]
        .sort((a, b) => compare(a.region, b.region))
        .map((check) => ({
          namespace: 'AWS/Route53' as const,
          metric: 'HealthCheckStatus',
          dimensions: { HealthCheckId: check.healthCheckId },
          label: check.region,
        })),
      yLabel: 'healthy',
    },
  };
}

function regionRow(site: string, r: DashboardRegion, y: number): DashboardWidget[] {
  const groups = trackTargetGroups(r);
  const graph = (
    column: number,
    what: string,
    stat: MetricWidget['properties']['stat'],
    yLabel: string,
    metrics: DashboardMetric[],
  ): MetricWidget => {
    if (metrics.length > DASHBOARD_MAX_METRICS_PER_WIDGET)
      throw new CloudError('Invalid', 'dashboard', `${site} ${what}: too many metrics for one widget`);
    return {
      type: 'metric',
      x: column * GRAPH_WIDTH,
      y,
      width: GRAPH_WIDTH,
      height: GRAPH_HEIGHT,
      properties: {
        title: `${site} · ${r.region} (${r.role}) · ${what}`,
        view: 'timeSeries',
        stacked: false,
        region: r.region,
        stat,
        period: PERIOD_SECONDS,
        metrics,
        yLabel,
      },
    };
  };
  const alb = (metric: string): DashboardMetric[] =>
    groups.map(({ track, arn }) => ({
      namespace: 'AWS/ApplicationELB',
      metric,
      dimensions: {
        LoadBalancer: loadBalancerDimension(r.loadBalancerArn),
        TargetGroup: targetGroupDimension(arn),
      },
      label: track,
    }));
  // Task counts come from Container Insights, which the bootstrap turns on for the cluster.
  const tracks: Track[] = r.canaryTargetGroupArn === undefined ? ['stable'] : ['stable', 'canary'];
  const tasks: DashboardMetric[] = tracks.flatMap((track) =>
    (['RunningTaskCount', 'DesiredTaskCount'] as const).map((metric) => ({
      namespace: 'ECS/ContainerInsights' as const,
      metric,
      dimensions: { ClusterName: r.cluster, ServiceName: serviceName(site, track) },
      label: metric === 'RunningTaskCount' ? track : `${track} desired`,
    })),
  );
  const tasksGraph = graph(3, 'tasks', 'Average', 'tasks', tasks);
  if (groups.length === 0) {
    // CloudWatch refuses a graph without metrics; say why the row is short instead.
    return [
      {
        type: 'text',
        x: 0,
        y,
        width: 3 * GRAPH_WIDTH,
        height: GRAPH_HEIGHT,
        properties: {
          markdown: `**${site} · ${r.region} (${r.role})**\n\nNo target groups yet: request graphs appear once the reconciler creates them.`,
        },
      },
      tasksGraph,
    ];
  }
  return [
    graph(0, 'requests', 'Sum', 'requests per minute', alb('RequestCount')),
    graph(1, 'target 5xx', 'Sum', '5xx per minute', alb('HTTPCode_Target_5XX_Count')),
    graph(2, 'p95 latency', 'p95', 'seconds', alb('TargetResponseTime')),
    tasksGraph,
  ];
}

function header(site: DashboardSite, regions: readonly DashboardRegion[]): string {
  const weight = site.canaryWeight ?? 0;
  const canary = weight > 0 ? `${weight} % of requests` : 'none';
  const cdn =
    site.distributionId === undefined
      ? 'not created yet'
      : `[${site.distributionId}](https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/${site.distributionId})`;
  const where = regions.map((r) => `${r.region} (${r.role})`).join(', ');
  const first =
    site.askedFirst === undefined
      ? ''
      : ` · **CDN asks ${site.askedFirst.region} first** (${site.askedFirst.reason})`;
  const dns = site.dnsFailover === true ? ' · DNS failover on' : '';
  return `## ${site.site}\nCanary: ${canary} · CDN: ${cdn}${first}${dns} · Regions: ${where}\n\nManaged by tandem; edits made here are replaced on the next pass.`;
}

function sortRegions(site: DashboardSite): DashboardRegion[] {
  const rank = (r: DashboardRegion) => (r.role === 'primary' ? 0 : 1);
  const regions = [...site.regions].sort((a, b) => rank(a) - rank(b) || compare(a.region, b.region));
  for (let i = 1; i < regions.length; i += 1) {
    if (regions[i]!.region === regions[i - 1]!.region)
      throw new CloudError(
        'Invalid',
        'dashboard',
        `site ${site.site} lists region ${regions[i]!.region} twice`,
      );
  }
  return regions;
}

function trackTargetGroups(r: DashboardRegion): { track: Track; arn: string }[] {
  const groups: { track: Track; arn: string }[] = [];
  if (r.stableTargetGroupArn !== undefined) groups.push({ track: 'stable', arn: r.stableTargetGroupArn });
  if (r.canaryTargetGroupArn !== undefined) groups.push({ track: 'canary', arn: r.canaryTargetGroupArn });
  return groups;
}

/** One widget in the documented DashboardBody form, keys in a fixed order. */
function toCloudWatch(widget: DashboardWidget): unknown {
  const place = { type: widget.type, x: widget.x, y: widget.y, width: widget.width, height: widget.height };
  if (widget.type === 'text') return { ...place, properties: { markdown: widget.properties.markdown } };
  const p = widget.properties;
  return {
    ...place,
    properties: {
      title: p.title,
      view: p.view,
      stacked: p.stacked,
      region: p.region,
      stat: p.stat,
      period: p.period,
      metrics: p.metrics.map((m) => [
        m.namespace,
        m.metric,
        ...Object.entries(m.dimensions)
          .sort(([a], [b]) => compare(a, b))
          .flat(),
        { label: m.label },
      ]),
      yAxis: { left: { min: 0, label: p.yLabel, showUnits: false } },
    },
  };
}

/** Code-unit order, independent of the process's locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
