import { sentFingerprint } from '../decide/origin-secret.ts';
import { asCloudError, type CloudError } from '../errors.ts';
import { HEALTH_RULE_PRIORITY } from '../model/dns-failover.ts';
import {
  distributionComment,
  loadBalancerDimension,
  siteOfFamily,
  siteOfHeaderValue,
  TASK_DEFINITION_FAMILY_PREFIX,
  TRACKS,
  serviceName,
  targetGroupDimension,
  targetGroupName,
} from '../model/naming.ts';
import type {
  ObservedCdn,
  ObservedRegion,
  ObservedTaskDefinition,
  ObservedSite,
  HistorySeries,
  RequestHistory,
  TaggedRule,
  TaggedTargetGroup,
  TrafficSample,
} from '../model/observed.ts';
import {
  AWS_METRIC_PERIOD_SECONDS,
  regionListeners,
  type Platform,
  type RegionPlatform,
} from '../model/platform.ts';
import { isOwnedBy, ownerOf, type Tags } from '../model/tags.ts';
import type { DistributionSummary } from '../ports/cdn.ts';
import { DESCRIBE_SERVICES_MAX, type ServiceState } from '../ports/ecs.ts';
import type { Ports } from '../ports/index.ts';
import { DESCRIBE_TAGS_MAX, type RuleState, type TargetGroupState } from '../ports/load-balancer.ts';
import { GET_METRIC_DATA_MAX, type MetricQuery, type MetricSeries } from '../ports/metrics.ts';
import type { Page } from '../ports/page.ts';
import { DEMAND_DATAPOINTS } from '../decide/autoscaler.ts';
import { COMPARE_MINUTES, DAY_MS, HORIZON_MINUTES, TODAY_MINUTES, WEEK_MS } from '../decide/forecast.ts';
import { allSettled } from './settle.ts';

export interface ObserveInput {
  /** The region whose reconciler observes: only its resources and metrics are read. */
  region: string;
  sites: readonly string[];
  /** The sites whose distribution this reconciler manages (it holds their global duties); their CDN is read too. */
  cdnSites: readonly string[];
  /** Distribution ids earlier passes created, per site (from status): proven owned without a tag read. */
  knownDistributions: Readonly<Record<string, string | undefined>>;
  /** Epoch milliseconds; metrics are read for the last complete minute before it. */
  now: number;
  /** Sites whose request history (for the forecast) is due this pass: read at most once an hour. */
  historyDue?: ReadonlySet<string>;
}

export interface Observation {
  sites: Map<string, ObservedSite>;
  /**
   * Per region, the priorities the listener's rules already use (all sites and anyone else), and the
   * platform stack's health rule's (HEALTH_RULE_PRIORITY), which a site's rule never takes.
   */
  takenPriorities: Record<string, ReadonlySet<number>>;
}

/**
 * Reads, for all sites at once, what one region's reconciler manages: its own
 * region (never another's, so a region is managed whatever happens
 * elsewhere) and the distributions of the sites whose global duties it holds.
 * Reads are batched as the AWS limits allow (10 services, 20 tag sets, 500
 * metric queries a call), so the number of calls grows with sites divided by
 * the batch sizes. A region that cannot be read is reported on every site.
 */
export async function observe(ports: Ports, platform: Platform, input: ObserveInput): Promise<Observation> {
  const where = platform.regions[input.region];
  const regions = where === undefined ? [] : [where];
  const [regionResults, cdn] = await Promise.all([
    Promise.all(regions.map((r) => observeRegion(ports, platform, r, input))),
    input.cdnSites.length === 0 ? new Map<string, ObservedCdn>() : observeCdn(ports, platform, input),
  ]);

  const cdnSites = new Set(input.cdnSites);
  const sites = new Map<string, ObservedSite>();
  for (const name of input.sites) {
    sites.set(name, {
      name,
      regions: {},
      ...(cdnSites.has(name) ? { cdn: cdn.get(name) ?? { distributions: [] } } : {}),
    });
  }
  const takenPriorities: Record<string, ReadonlySet<number>> = {};
  regions.forEach((where, i) => {
    const result = regionResults[i]!;
    takenPriorities[where.region] = result.takenPriorities;
    for (const [name, site] of sites) {
      site.regions[where.region] =
        'error' in result.perSite
          ? emptyRegion(where.region, result.perSite.error)
          : (result.perSite.get(name) ?? emptyRegion(where.region));
    }
  });
  return { sites, takenPriorities };
}

interface RegionResult {
  perSite: Map<string, ObservedRegion> | { error: CloudError };
  takenPriorities: ReadonlySet<number>;
}

async function observeRegion(
  ports: Ports,
  platform: Platform,
  where: RegionPlatform,
  input: ObserveInput,
): Promise<RegionResult> {
  const region = where.region;
  const siteSet = new Set(input.sites);
  try {
    const [taskDefinitions, services, targetGroups, rules] = (await allSettled<unknown>([
      readTaskDefinitions(ports, region, siteSet),
      describeServices(ports, where, input.sites),
      readTargetGroups(ports, region, input.sites),
      readRules(ports, platform, where, input.sites),
    ])) as [
      ObservedTaskDefinition[],
      ServiceState[],
      TaggedTargetGroup[],
      { owned: TaggedRule[]; taken: ReadonlySet<number> },
    ];
    const traffic = await readTraffic(
      ports,
      where,
      platform.metricPeriodSeconds ?? AWS_METRIC_PERIOD_SECONDS,
      targetGroups.filter((tg) => isOwnedBy(tg.tags, siteOfGroup(tg.name) ?? '')),
      input.now,
    );

    const owned = targetGroups.filter((tg) => isOwnedBy(tg.tags, siteOfGroup(tg.name) ?? ''));
    const due = input.historyDue ?? new Set<string>();
    const history =
      due.size === 0
        ? undefined
        : await readHistory(
            ports,
            where,
            owned.filter((tg) => due.has(siteOfGroup(tg.name) ?? '')),
            input.now,
          );

    const perSite = new Map<string, ObservedRegion>();
    const listeners = regionListeners(where);
    for (const name of input.sites) {
      const read = history === undefined || !due.has(name) ? undefined : historyOf(history, name, input.now);
      perSite.set(name, {
        ...emptyRegion(region),
        listeners,
        ...(read === undefined ? {} : { history: read }),
      });
    }
    const at = (site: string | undefined) =>
      site !== undefined && siteSet.has(site) ? perSite.get(site) : undefined;
    for (const td of taskDefinitions) at(siteOfFamily(td.family))?.taskDefinitions.push(td);
    for (const service of services) at(siteOfService(service.name))?.services.push(service);
    for (const tg of targetGroups) {
      const observed = at(siteOfGroup(tg.name));
      if (observed === undefined) continue;
      observed.targetGroups.push(tg);
      const sample = traffic.get(tg.name);
      if (sample !== undefined) observed.traffic[tg.name.endsWith('-canary') ? 'canary' : 'stable'] = sample;
    }
    for (const rule of rules.owned) at(ownerOf(rule.tags))?.rules.push(rule);
    return { perSite, takenPriorities: rules.taken };
  } catch (error) {
    return { perSite: { error: asCloudError(error, region) }, takenPriorities: new Set() };
  }
}

function emptyRegion(region: string, error?: CloudError): ObservedRegion {
  return {
    region,
    ...(error === undefined ? {} : { error }),
    services: [],
    targetGroups: [],
    rules: [],
    taskDefinitions: [],
    traffic: { stable: {}, canary: {} },
  };
}

/** The site a service or target group name was made for (`<site>-stable`, `<site>-canary`). */
function siteOfService(name: string): string | undefined {
  const match = /^(.+)-(stable|canary)$/.exec(name);
  return match?.[1];
}
const siteOfGroup = siteOfService;

async function describeServices(
  ports: Ports,
  where: RegionPlatform,
  sites: readonly string[],
): Promise<ServiceState[]> {
  const names = sites.flatMap((site) => TRACKS.map((track) => serviceName(site, track)));
  const batches = chunk(names, DESCRIBE_SERVICES_MAX);
  const answers = await Promise.all(
    batches.map((batch) => ports.ecs.describeServices(where.region, where.cluster, batch)),
  );
  return answers.flat();
}

/** The target groups named for the sites, with their tags. */
async function readTargetGroups(
  ports: Ports,
  region: string,
  sites: readonly string[],
): Promise<TaggedTargetGroup[]> {
  const wanted = new Set(sites.flatMap((site) => TRACKS.map((track) => targetGroupName(site, track))));
  const groups = (
    await readAll<TargetGroupState>((next) => ports.loadBalancer.describeTargetGroups(region, next))
  ).filter((tg) => wanted.has(tg.name));
  const tags = await readTags(
    ports,
    region,
    groups.map((tg) => tg.arn),
  );
  return groups.map((tg) => ({ ...tg, tags: tags[tg.arn] ?? {} }));
}

/**
 * The rules of every listener that carries the sites' rules (the HTTP one, and the HTTPS one
 * where the region has it): every priority on any of them (a new rule takes a priority free on
 * all, so they never collide) and, with their tags and listener, the rules whose header names
 * one of the sites. Only those need a tag read.
 */
async function readRules(
  ports: Ports,
  platform: Platform,
  where: RegionPlatform,
  sites: readonly string[],
): Promise<{ owned: TaggedRule[]; taken: ReadonlySet<number> }> {
  const perListener = await Promise.all(
    regionListeners(where).map(async (listenerArn) =>
      (
        await readAll<RuleState>((next) => ports.loadBalancer.describeRules(where.region, listenerArn, next))
      ).map((rule) => ({ ...rule, listenerArn })),
    ),
  );
  const rules = perListener.flat();
  const siteSet = new Set(sites);
  const candidates = rules.filter(
    (rule) =>
      rule.header.name.toLowerCase() === platform.originHeaderName.toLowerCase() &&
      rule.header.values.length > 0 &&
      rule.header.values.every((value) => siteSet.has(siteOfHeaderValue(value))),
  );
  const tags = await readTags(
    ports,
    where.region,
    candidates.map((rule) => rule.arn),
  );
  const owned = candidates
    .map((rule) => ({ ...rule, tags: tags[rule.arn] ?? {} }))
    .filter((rule) => siteSet.has(ownerOf(rule.tags) ?? ''));
  // The platform stack's health rule's priority is never a site's, even before that rule exists
  // (it is created at the last priority when a domain is turned on, next to the sites' rules).
  return { owned, taken: new Set([...rules.map((rule) => rule.priority), HEALTH_RULE_PRIORITY]) };
}

async function readTags(
  ports: Ports,
  region: string,
  arns: readonly string[],
): Promise<Record<string, Tags>> {
  const answers = await Promise.all(
    chunk(arns, DESCRIBE_TAGS_MAX).map((batch) => ports.loadBalancer.describeTags(region, batch)),
  );
  return Object.assign({}, ...answers) as Record<string, Tags>;
}

/** ALB metrics per target group, and the key of TrafficSample each fills. */
/** `perMinute`: a count over one period, scaled to a minute (a no-op for CloudWatch's 60 s period). */
const TARGET_GROUP_METRICS = [
  { key: 'requestsPerMinute', metric: 'RequestCount', stat: 'Sum', scale: 1, perMinute: true },
  { key: 'errors5xxPerMinute', metric: 'HTTPCode_Target_5XX_Count', stat: 'Sum', scale: 1, perMinute: true },
  { key: 'healthyTargets', metric: 'HealthyHostCount', stat: 'Average', scale: 1, perMinute: false },
  { key: 'p95LatencyMs', metric: 'TargetResponseTime', stat: 'p95', scale: 1000, perMinute: false },
] as const;

/** GetMetricData queries per owned target group: its ALB metrics and its service's CPU. */
export const METRIC_QUERIES_PER_TARGET_GROUP = TARGET_GROUP_METRICS.length + 1;

/**
 * The latest period CloudWatch has for each owned target group (requests, 5xx,
 * healthy targets, p95 latency) and its service (CPU), keyed by their shared
 * name `<site>-<track>`. ALB metrics arrive about a period late, so the window
 * reaches back DEMAND_DATAPOINTS + 1 periods and takes the newest point; for
 * requests it keeps the whole series too (`recentRequestsPerMinute`). Missing metrics leave
 * the sample empty; they never fail the region, since the world can still be
 * converged without them.
 */
async function readTraffic(
  ports: Ports,
  where: RegionPlatform,
  periodSeconds: number,
  groups: readonly TaggedTargetGroup[],
  now: number,
): Promise<Map<string, TrafficSample>> {
  const queries: MetricQuery[] = [];
  const owners = new Map<
    string,
    { name: string; key: Exclude<keyof TrafficSample, 'recentRequestsPerMinute'>; scale: number }
  >();
  groups.forEach((tg, i) => {
    for (const [j, m] of TARGET_GROUP_METRICS.entries()) {
      const id = `t${i}_${j}`;
      owners.set(id, {
        name: tg.name,
        key: m.key,
        scale: m.perMinute ? (m.scale * 60) / periodSeconds : m.scale,
      });
      queries.push({
        id,
        namespace: 'AWS/ApplicationELB',
        metric: m.metric,
        dimensions: {
          TargetGroup: targetGroupDimension(tg.arn),
          LoadBalancer: loadBalancerDimension(where.loadBalancerArn),
        },
        stat: m.stat,
        periodSeconds,
      });
    }
    const id = `c${i}`;
    owners.set(id, { name: tg.name, key: 'cpuPercent', scale: 1 });
    queries.push({
      id,
      namespace: 'AWS/ECS',
      metric: 'CPUUtilization',
      dimensions: { ClusterName: where.cluster, ServiceName: tg.name },
      stat: 'Average',
      periodSeconds,
    });
  });
  const period = periodSeconds * 1000;
  const end = Math.floor(now / period) * period;
  // ALB metrics land about a period late, so the newest period is rarely there; the window
  // reaches back far enough for the DEMAND_DATAPOINTS the autoscaler's demand estimate smooths.
  const start = end - (DEMAND_DATAPOINTS + 1) * period;
  const samples = new Map<string, TrafficSample>();
  let series: MetricSeries[];
  try {
    const answers = await allSettled(
      chunk(queries, GET_METRIC_DATA_MAX).map((batch) =>
        ports.metrics.getMetricData(where.region, batch, start, end),
      ),
    );
    series = answers.flat();
  } catch {
    return samples;
  }
  for (const s of series) {
    const owner = owners.get(s.id);
    const points = s.points.filter((p) => Number.isFinite(p.value));
    const latest = points.at(-1);
    if (owner === undefined || latest === undefined) continue;
    const sample = samples.get(owner.name) ?? {};
    if (owner.key === 'requestsPerMinute') {
      sample.recentRequestsPerMinute = points.map((p) => p.value * owner.scale).reverse();
    }
    sample[owner.key] = latest.value * owner.scale;
    samples.set(owner.name, sample);
  }
  return samples;
}

const MINUTE = 60_000;

/** Per site, per time range, requests per minute (both tracks added); undefined when a read failed. */
type HistoryRead = Map<
  string,
  { today: Map<number, number>; dayAgo: Map<number, number>; weekAgo: Map<number, number> }
>;

/**
 * The forecast's history (decide/forecast.ts): RequestCount per minute for
 * each due target group, over today's last two hours (the compared hour and
 * the hour before it, the hourly season) and the compared hour and the hour
 * ahead a day and a week earlier. GetMetricData takes one time range a call, so a read is one
 * batch of up to 500 target groups per range: three calls an hour per 500
 * groups, none on the passes between. Undefined when a call failed (the next
 * pass tries again).
 */
async function readHistory(
  ports: Ports,
  where: RegionPlatform,
  groups: readonly TaggedTargetGroup[],
  now: number,
): Promise<HistoryRead | undefined> {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const queries: MetricQuery[] = groups.map((tg, i) => ({
    id: `h${i}`,
    namespace: 'AWS/ApplicationELB',
    metric: 'RequestCount',
    dimensions: {
      TargetGroup: targetGroupDimension(tg.arn),
      LoadBalancer: loadBalancerDimension(where.loadBalancerArn),
    },
    stat: 'Sum',
    periodSeconds: 60,
  }));
  const ranges = {
    today: [end - TODAY_MINUTES * MINUTE, end],
    dayAgo: [end - DAY_MS - COMPARE_MINUTES * MINUTE, end - DAY_MS + HORIZON_MINUTES * MINUTE],
    weekAgo: [end - WEEK_MS - COMPARE_MINUTES * MINUTE, end - WEEK_MS + HORIZON_MINUTES * MINUTE],
  } as const;
  const read: HistoryRead = new Map();
  for (const tg of groups) {
    const site = siteOfGroup(tg.name) ?? '';
    if (!read.has(site)) read.set(site, { today: new Map(), dayAgo: new Map(), weekAgo: new Map() });
  }
  if (queries.length === 0) return read;
  try {
    for (const [key, [start, stop]] of Object.entries(ranges) as [
      keyof typeof ranges,
      readonly [number, number],
    ][]) {
      const series = (
        await allSettled(
          chunk(queries, GET_METRIC_DATA_MAX).map((batch) =>
            ports.metrics.getMetricData(where.region, batch, start, stop),
          ),
        )
      ).flat();
      for (const s of series) {
        const tg = groups[Number(s.id.slice(1))];
        if (tg === undefined) continue;
        const minutes = read.get(siteOfGroup(tg.name) ?? '')![key];
        for (const p of s.points) {
          if (!Number.isFinite(p.value)) continue;
          const minute = Math.floor(p.timestamp / MINUTE) * MINUTE;
          minutes.set(minute, (minutes.get(minute) ?? 0) + p.value);
        }
      }
    }
  } catch {
    return undefined;
  }
  return read;
}

/** One site's history as per-minute series; a site without target groups has empty ones. */
function historyOf(read: HistoryRead, site: string, now: number): RequestHistory {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const minutes = read.get(site);
  const series = (values: Map<number, number> | undefined, from: number, count: number): HistorySeries => ({
    from,
    requests: Array.from({ length: count }, (_, i) => values?.get(from + i * MINUTE)),
  });
  const span = COMPARE_MINUTES + HORIZON_MINUTES;
  return {
    readAt: now,
    today: series(minutes?.today, end - TODAY_MINUTES * MINUTE, TODAY_MINUTES),
    dayAgo: series(minutes?.dayAgo, end - DAY_MS - COMPARE_MINUTES * MINUTE, span),
    weekAgo: series(minutes?.weekAgo, end - WEEK_MS - COMPARE_MINUTES * MINUTE, span),
  };
}

/**
 * Distributions whose comment names a site. Ownership is proven by the status
 * that recorded creating it, else by reading its tags: one read per unknown
 * distribution, none in a steady pass.
 */
async function observeCdn(
  ports: Ports,
  platform: Platform,
  input: ObserveInput,
): Promise<Map<string, ObservedCdn>> {
  const bySite = new Map<string, ObservedCdn>(input.cdnSites.map((site) => [site, { distributions: [] }]));
  const commentToSite = new Map(input.cdnSites.map((site) => [distributionComment(site), site]));
  let all: DistributionSummary[];
  try {
    all = await readAll((next) => ports.cdn.listDistributions(next));
  } catch (error) {
    const failed = asCloudError(error, 'cloudfront');
    for (const site of input.cdnSites) bySite.set(site, { error: failed, distributions: [] });
    return bySite;
  }
  // A tag read that fails leaves only its own site unobserved this pass.
  await Promise.all(
    all
      .filter((d) => commentToSite.has(d.config.comment))
      .map(async (d) => {
        const site = commentToSite.get(d.config.comment)!;
        const observed = bySite.get(site)!;
        try {
          const owned =
            input.knownDistributions[site] === d.id || isOwnedBy(await ports.cdn.listTags(d.arn), site);
          const sent = sentFingerprint(d.config.origins, platform.originHeaderName);
          observed.distributions.push({ ...d, owned, ...(sent === undefined ? {} : { originSecret: sent }) });
        } catch (error) {
          observed.error = asCloudError(error, d.arn);
        }
      }),
  );
  for (const observed of bySite.values()) {
    observed.distributions.sort((a, b) => (a.id < b.id ? -1 : 1));
    if (observed.error !== undefined) observed.distributions = [];
  }
  return bySite;
}

/**
 * The sites' task definitions in the region, with their tags. ECS has no
 * prefix filter for task definitions (ListTaskDefinitions' `familyPrefix` is a
 * whole family name, and a site's old families must be found too), so every
 * ACTIVE one of the region is listed, 100 a page, and the sites' kept by name;
 * each kept one is then described for its tags, one DescribeTaskDefinition
 * each (there is no batch), unless the port already knows them
 * (withTaskDefinitionTagCache: a warm Lambda environment makes none). A cold
 * start at hundreds of sites outruns ECS's rate for DescribeTaskDefinition: a
 * task definition whose describe stays throttled is observed without tags
 * (ObservedTaskDefinition) rather than failing the region's observation.
 */
async function readTaskDefinitions(
  ports: Ports,
  region: string,
  sites: ReadonlySet<string>,
): Promise<ObservedTaskDefinition[]> {
  const listed = await readAll((next) =>
    ports.ecs.listTaskDefinitions(region, next === undefined ? {} : { next }),
  );
  const ours = listed.filter((td) => {
    const site = td.family.startsWith(TASK_DEFINITION_FAMILY_PREFIX) ? siteOfFamily(td.family) : undefined;
    return site !== undefined && sites.has(site);
  });
  const tags = await allSettled(
    ours.map(async (td) => {
      try {
        return await ports.ecs.describeTaskDefinitionTags(region, td.arn);
      } catch (error) {
        // Still throttled after the client's retries: the rest of the region is read all the same.
        if (asCloudError(error, td.arn).kind === 'Throttled') return undefined;
        throw error;
      }
    }),
  );
  return ours.map((td, i) => {
    const known = tags[i];
    return known === undefined ? td : { ...td, tags: known };
  });
}

async function readAll<T>(read: (next?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await read(next);
    items.push(...page.items);
    next = page.next;
  } while (next !== undefined);
  return items;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
