import { isOwnedBy } from '../model/tags.ts';
import type { ObservedRegion, ObservedSite } from '../model/observed.ts';
import type { FailedRollout, RegionScaling, RegionStatus, SiteStatus } from '../model/status.ts';
import type { Site, SiteSpec } from '../spec/schema.ts';
import { buildForecast, type Forecast, forecastFloor } from './forecast.ts';
import { scheduledFloor } from './schedule.ts';
import {
  decideTasks,
  nextHistory,
  type ScalingDecision,
  type ScalingInput,
  type ScalingPolicy,
} from './autoscaler.ts';
import { analyzeCanary, type CanarySample, type CanaryState } from './canary.ts';
import { handOver, type Handover, type PeerRegion } from './handover.ts';
import { decideOriginOrder, newerOrder, type OriginOrder } from './origin-order.ts';
import { decideOriginSecret, type OriginSecretDecision, type SecretFingerprints } from './origin-secret.ts';
import { failedRollouts } from './rollout.ts';

/** Fewest requests a minute before a 5xx share can mark a region failing (a few errors are noise). */
const MIN_REQUESTS_FOR_ERROR_SHARE = 20;

type SpecRegion = SiteSpec['regions'][number];

export interface RegionDecision {
  /** Tasks the region runs, stable and canary together. */
  tasks: number;
  scaling: RegionScaling;
  /** Task definitions whose deployment ECS failed here and the spec still wants: not deployed again. */
  failedRollouts?: FailedRollout[];
}

/** Another region's report on the site (its status item) and whether its reconciler went quiet. */
export interface PeerReport {
  region: string;
  status?: SiteStatus;
  /** Its reconciler has not finished a pass for a while (decide/ownership.ts): treat the region as lost. */
  quiet: boolean;
}

/** What a region's reconciler knows besides the spec and what it observed in its own region. */
export interface SiteContext {
  /** The region whose reconciler decides. */
  self: string;
  /** This region's own last report on the site. */
  previous?: SiteStatus;
  /** The other regions' reports, as this region's replica holds them. */
  peers: readonly PeerReport[];
  /** True while this region holds the site's global duties (the canary analysis among them). */
  global: boolean;
  now: number;
  /** The task definition families the spec wants in this region now. */
  wantedFamilies: ReadonlySet<string>;
  /** The metric period requests are read at, in ms (the platform's; 60 s on AWS). */
  metricPeriodMs?: number;
  /** The platform's origin secrets by fingerprint; absent: no rotation under way. */
  originSecrets?: SecretFingerprints;
}

export interface SiteDecisions {
  /** This region's decision, keyed by its name; empty when the spec does not name the region. */
  regions: Record<string, RegionDecision>;
  /** The canary's weight this pass: the spec's, or the analysis's. */
  canaryWeight: number;
  /** Set when the spec's canary has an analysis and this region holds it (the global duties). */
  canary?: CanaryState;
  /** Regions failing as this region sees them, and whether the primary is one (the CDN is failing over). */
  failing: string[];
  failoverActive: boolean;
  /**
   * Regions whose HTTPS listener carries the site's rule: this region's as observed, the others'
   * as their status says. The CDN uses HTTPS only for these (plan/desired.ts). Absent: none.
   */
  httpsRules?: string[];
  /** Which region the CDN asks first (decide/origin-order.ts): decided by the global duties' holder only. */
  originOrder?: OriginOrder;
  /** Where the site is in a rotation of the origin secret (decide/origin-secret.ts); absent: none under way. */
  originSecret?: OriginSecretDecision;
}

/**
 * Everything one region's reconciler decides for one site before planning:
 * its own task count, from its own metrics and from what the other regions
 * published (capacity handed over once, decide/handover.ts); which regions
 * fail; and the canary's weight. Pure.
 */
export function decideSite(site: Site, observed: ObservedSite, context: SiteContext): SiteDecisions {
  const { spec } = site;
  const { self, now } = context;
  const windowMs = spec.scaling.scaleInStabilizationSeconds * 1000;
  const mine = spec.regions.find((r) => r.name === self);
  const seen = observed.regions[self];
  const before = context.previous?.regions[self]?.scaling;
  const health = mine === undefined ? undefined : selfHealth(site, seen, before, now, windowMs);
  const peers = peerRegions(site, context);
  const failing = [
    ...(health?.failing ? [self] : []),
    ...peers.filter((p) => p.failing).map((p) => p.region),
  ].sort();

  const regions: Record<string, RegionDecision> = {};
  if (mine !== undefined && health !== undefined) {
    regions[self] = decideRegion(site, mine, seen, before, health, peers, context);
    const failed = failedRolloutsHere(site, seen, context);
    if (failed.length > 0) regions[self].failedRollouts = failed;
  }

  const primary = spec.regions.find((r) => r.role === 'primary')?.name;
  const { canaryWeight, canary } = decideCanary(site, seen, context);
  const httpsRules = regionsWithHttpsRule(seen, context);
  const originSecret = decideOriginSecret({
    secrets: context.originSecrets,
    self,
    spec,
    seen,
    cdn: observed.cdn,
    reports: [context.previous, ...context.peers.map((p) => p.status)],
  });
  const originOrder = context.global ? decideOrder(site, seen, observed, context, failing) : undefined;
  return {
    regions,
    canaryWeight,
    originSecret,
    ...(originOrder === undefined ? {} : { originOrder }),
    failing,
    failoverActive: primary !== undefined && failing.includes(primary),
    ...(httpsRules.length === 0 ? {} : { httpsRules }),
    ...(canary === undefined ? {} : { canary }),
  };
}

/** The order of the site's origin group, for the holder of its global duties; none without a failover region. */
function decideOrder(
  site: Site,
  seen: ObservedRegion | undefined,
  observed: ObservedSite,
  context: SiteContext,
  failing: readonly string[],
): OriginOrder | undefined {
  const primary = site.spec.regions.find((r) => r.role === 'primary')?.name;
  const failover = site.spec.regions.find((r) => r.role === 'failover')?.name;
  if (primary === undefined || failover === undefined) return undefined;
  const requests: Record<string, number | undefined> = { [context.self]: requestsOf(seen) };
  for (const peer of context.peers)
    if (peer.region !== context.self)
      requests[peer.region] = peer.status?.regions[peer.region]?.requestsPerMinute;
  // The newest record of a holder: after a region comes back and takes its duties back, the order
  // its stand-in changed meanwhile, not its own from before it was lost. Between records of the same
  // change, the more cautious: the one that has seen the primary healthy for less time (its own
  // record from before it was lost may say healthy since long ago; its stand-in saw it fail since).
  const holderReport = [context.previous, ...context.peers.map((p) => p.status)]
    .filter((report) => report?.global === true && report.cdn.originOrder !== undefined)
    .reduce<SiteStatus | undefined>(
      (newest, report) =>
        newest === undefined || newerOrder(report!.cdn.originOrder!, newest.cdn.originOrder!)
          ? report
          : newest,
      undefined,
    );
  const owned = observed.cdn?.distributions.find((d) => d.owned);
  const group = owned?.config.originGroup;
  const primaryHealthyTargets =
    primary === context.self
      ? sum(seen?.traffic.stable.healthyTargets, seen?.traffic.canary.healthyTargets)
      : context.peers.find((p) => p.region === primary)?.status?.regions[primary]?.healthyTargets;
  // When any region last saw the primary failing (its FailoverActive condition): the counts of the
  // minutes after still show the failover region carrying what the primary could not.
  const failedAt = [context.previous, ...context.peers.map((p) => p.status)]
    .map((report) => report?.conditions.FailoverActive)
    .map((c) =>
      c === undefined ? undefined : c.status === 'True' ? context.now : Date.parse(c.lastTransitionTime),
    )
    .filter((at): at is number => at !== undefined && Number.isFinite(at))
    .reduce<number | undefined>(
      (latest, at) => (latest === undefined || at > latest ? at : latest),
      undefined,
    );
  return decideOriginOrder({
    primary,
    failover,
    failing,
    requests,
    ...(failedAt === undefined ? {} : { primaryFailedAt: failedAt }),
    before: holderReport?.cdn.originOrder,
    ...(primaryHealthyTargets === undefined ? {} : { primaryHealthyTargets }),
    ...(owned === undefined || group === undefined
      ? {}
      : { distribution: { first: group.primaryOriginId, deployed: owned.status === 'Deployed' } }),
    now: context.now,
    periodMs: context.metricPeriodMs ?? 60_000,
  });
}

/** The regions whose HTTPS listener carries the site's rule: this one as observed, the others as they report. */
function regionsWithHttpsRule(seen: ObservedRegion | undefined, context: SiteContext): string[] {
  return [
    ...(hasHttpsRule(seen) ? [context.self] : []),
    ...context.peers
      .filter((p) => p.region !== context.self && p.status?.regions[p.region]?.httpsRule === true)
      .map((p) => p.region),
  ].sort();
}

/** The other regions the spec names, as their reports describe them to the handover. */
function peerRegions(site: Site, context: SiteContext): PeerRegion[] {
  return context.peers
    .filter((p) => p.region !== context.self && site.spec.regions.some((r) => r.name === p.region))
    .map((p): PeerRegion => {
      const reported = p.status?.regions[p.region];
      return {
        region: p.region,
        failing: p.quiet || reported?.scaling?.failingSince !== undefined,
        ...optional('lastHealthyRequestsPerMinute', reported?.scaling?.lastHealthyRequestsPerMinute),
        ...optional('requestsPerMinute', reported?.requestsPerMinute),
      };
    });
}

/** Deployments ECS failed in this region for task definitions the spec still wants (decide/rollout.ts). */
function failedRolloutsHere(
  site: Site,
  seen: ObservedRegion | undefined,
  context: SiteContext,
): FailedRollout[] {
  return failedRollouts(
    (seen?.services ?? []).filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, site.metadata.name)),
    context.previous?.regions[context.self]?.failedRollouts,
    context.wantedFamilies,
    context.now,
  );
}

/**
 * The canary's weight, and its analysis when the spec asks for one: the
 * global duties' holder runs it on every region's traffic; the others follow
 * the weight it last published.
 */
function decideCanary(
  site: Site,
  seen: ObservedRegion | undefined,
  context: SiteContext,
): Pick<SiteDecisions, 'canaryWeight' | 'canary'> {
  const canary = site.spec.canary;
  const analysis = canary?.analysis;
  if (canary === undefined || analysis === undefined) return { canaryWeight: canary?.weight ?? 0 };
  const known = canaryStateOf(canary.tag, context);
  if (!context.global) return { canaryWeight: known?.weight ?? 0 };
  const state = analyzeCanary(
    analysis,
    canary.tag,
    known,
    canarySample(context.self, seen, context.peers),
    context.now,
  );
  return { canaryWeight: state.weight, canary: state };
}

/** Whether the site's rule is on the region's HTTPS listener (the second listener, regionListeners). */
export function hasHttpsRule(seen: ObservedRegion | undefined): boolean {
  const https = seen?.listeners?.[1];
  return https !== undefined && seen!.rules.some((rule) => rule.listenerArn === https);
}

interface SelfHealth {
  failing: boolean;
  failingSince?: number;
  unhealthySince?: number;
  healthySince?: number;
}

/** Whether this region fails now, from its own observation, and the timers kept in status. */
function selfHealth(
  site: Site,
  seen: ObservedRegion | undefined,
  before: RegionScaling | undefined,
  now: number,
  windowMs: number,
): SelfHealth {
  const signal =
    seen === undefined
      ? 'unobserved'
      : failureSignal(seen, site.metadata.name, site.spec.scaling.failoverErrorPercent);
  const unhealthySince = signal === 'noHealthyTargets' ? (before?.unhealthySince ?? now) : undefined;
  const failing = signal !== undefined && (signal !== 'noHealthyTargets' || unhealthySince !== now);
  const healthySince = failing
    ? undefined
    : (before?.healthySince ?? (before?.failingSince === undefined ? undefined : now));
  const recovering = !failing && healthySince !== undefined && now - healthySince < windowMs;
  return {
    failing,
    ...optional('failingSince', failing ? (before?.failingSince ?? now) : undefined),
    ...optional('unhealthySince', unhealthySince),
    ...optional('healthySince', recovering ? healthySince : undefined),
  };
}

/** This region's task count, and the scaling memory its status keeps. */
function decideRegion(
  site: Site,
  region: SpecRegion,
  seen: ObservedRegion | undefined,
  before: RegionScaling | undefined,
  health: SelfHealth,
  peers: readonly PeerRegion[],
  context: SiteContext,
): RegionDecision {
  const policy = scalingPolicy(site.spec, region);
  const requests = requestsOf(seen);
  const handover = health.failing
    ? {}
    : handOverFloor(site.spec, region, requests, before, peers, context.now);
  const forecast = forecastState(seen, before, context.now);
  const decision = scalingDecision(site, region, seen, before, policy, handover, context, forecast.value);
  const lastHealthy = health.failing
    ? before?.lastHealthyRequestsPerMinute
    : (requests ?? before?.lastHealthyRequestsPerMinute);
  return {
    tasks: decision.tasks,
    scaling: {
      // Only recommendations made from metrics enter the window; holding on missing data is not demand.
      history:
        decision.reason === 'MetricsMissing'
          ? (before?.history ?? [])
          : nextHistory(policy, before?.history ?? [], context.now, decision.recommendation),
      decision: { tasks: decision.tasks, reason: decision.reason, message: decision.message },
      ...optional('lastHealthyRequestsPerMinute', lastHealthy),
      ...optional('carrying', handover.carrying),
      ...optional('failingSince', health.failingSince),
      ...optional('unhealthySince', health.unhealthySince),
      ...optional('heldSince', decision.heldSince),
      ...optional('healthySince', health.healthySince),
      ...(forecast.readAt === undefined
        ? {}
        : { forecast: forecast as { readAt: number; value?: Forecast } }),
    },
  };
}

/** A forecast built from this pass's history read, else the one status kept. */
function forecastState(
  seen: ObservedRegion | undefined,
  before: RegionScaling | undefined,
  now: number,
): { readAt?: number; value?: Forecast } {
  const history = seen?.history;
  if (history === undefined) return before?.forecast ?? {};
  const value = buildForecast({
    now,
    today: history.today,
    dayAgo: history.dayAgo,
    weekAgo: history.weekAgo,
  });
  return { readAt: history.readAt, ...(value === undefined ? {} : { value }) };
}

function scalingPolicy(spec: SiteSpec, region: SpecRegion): ScalingPolicy {
  return {
    targetRequestsPerTask: spec.scaling.targetRequestsPerTaskPerMinute,
    targetCpuPercent: spec.scaling.targetCpuPercent,
    tolerance: spec.scaling.tolerance,
    scaleInStabilizationSeconds: spec.scaling.scaleInStabilizationSeconds,
    maxScaleOutStep: spec.scaling.maxScaleOutStep,
    minTasks: region.minTasks,
    maxTasks: region.maxTasks,
  };
}

/** The floor this region keeps for failing peers' demand (decide/handover.ts). */
function handOverFloor(
  spec: SiteSpec,
  region: SpecRegion,
  requests: number | undefined,
  before: RegionScaling | undefined,
  peers: readonly PeerRegion[],
  now: number,
): Handover {
  // The CDN's origin group fails over from the primary to the first failover region listed.
  const primary = spec.regions.find((r) => r.role === 'primary');
  const failoverOrigin = spec.regions.find((r) => r.role === 'failover');
  return handOver({
    fallbackFor: primary !== undefined && failoverOrigin?.name === region.name ? [primary.name] : [],
    peers,
    ...optional('requestsPerMinute', requests),
    ...optional('previous', before?.carrying),
    now,
    windowMs: spec.scaling.scaleInStabilizationSeconds * 1000,
    targetRequestsPerTask: spec.scaling.targetRequestsPerTaskPerMinute,
    standbyPercent: spec.scaling.standbyPercent,
  });
}

/** The autoscaler's decision from this region's metrics, or the last one held when the region is unreachable. */
function scalingDecision(
  site: Site,
  region: SpecRegion,
  seen: ObservedRegion | undefined,
  before: RegionScaling | undefined,
  policy: ScalingPolicy,
  handover: Handover,
  context: SiteContext,
  forecast: Forecast | undefined,
): ScalingDecision {
  const name = site.metadata.name;
  const services = (seen?.services ?? []).filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, name));
  // The base is the previous decision, our own intent, rather than the services' desired counts:
  // those may be mid-change after an interrupted pass, or drifted by hand.
  const desired =
    before?.decision.tasks ??
    (services.length === 0 ? region.minTasks : services.reduce((n, s) => n + s.desiredCount, 0));
  if (seen?.error !== undefined) {
    // Unreachable: nothing can be applied here anyway; keep what status last said.
    return {
      tasks: desired,
      recommendation: desired,
      reason: 'MetricsMissing',
      message: 'region unreachable; holding the last decision',
    };
  }
  return decideTasks(policy, {
    now: context.now,
    running: services.reduce((sum, s) => sum + s.runningCount, 0),
    desired,
    ...optional('requestsPerMinute', requestsOf(seen)),
    ...optional('recentRequestsPerMinute', recentRequestsOf(seen)),
    ...optional('cpuPercent', averageCpu(seen, name)),
    // A rollout this spec asked for carries the new count with it; one still finishing from
    // before (an earlier spec, a change by hand) holds scale-in until it completes.
    rolloutInProgress: services.some(
      (s) => s.rolloutInProgress && !context.wantedFamilies.has(s.taskDefinition),
    ),
    ...floorOf(site.spec, region, handover, context.now),
    ...optional('forecast', forecastFloor(forecast, context.now, policy.targetRequestsPerTask)),
    ...optional('heldSince', before?.heldSince),
    history: before?.history ?? [],
  });
}

/**
 * The higher of the failover handover's floor and the declared events' (scaling.schedule), the
 * latter within the region's minTasks and maxTasks; with its reason, for the decision.
 */
function floorOf(
  spec: SiteSpec,
  region: SpecRegion,
  handover: Handover,
  now: number,
): Pick<ScalingInput, 'floor' | 'floorBecause' | 'floorReason'> {
  const scheduled = scheduledFloor(spec.scaling.schedule, region.name, now);
  const tasks =
    scheduled === undefined
      ? undefined
      : Math.min(Math.max(scheduled.tasks, region.minTasks), region.maxTasks);
  if (tasks !== undefined && scheduled !== undefined && tasks > (handover.floor ?? 0)) {
    return { floor: tasks, floorBecause: scheduled.because, floorReason: 'Scheduled' };
  }
  return {
    ...optional('floor', handover.floor),
    ...optional('floorBecause', handover.because),
  };
}

type FailureSignal = 'unobserved' | 'noHealthyTargets' | 'errors';

/**
 * Why a region looks failing, if it does: it could not be observed; it runs
 * tasks (outside a rollout, which waits for health itself) but none is
 * healthy; or its 5xx share is above the threshold. No healthy target fails
 * the region only when two passes in a row see it (see `unhealthySince`).
 */
function failureSignal(
  region: ObservedRegion,
  site: string,
  errorPercent: number,
): FailureSignal | undefined {
  if (region.error !== undefined) return 'unobserved';
  const running = region.services
    .filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, site) && !s.rolloutInProgress)
    .reduce((n, s) => n + s.runningCount, 0);
  const healthy = sum(region.traffic.stable.healthyTargets, region.traffic.canary.healthyTargets);
  if (running > 0 && healthy !== undefined && healthy === 0) return 'noHealthyTargets';
  const requests = requestsOf(region) ?? 0;
  const errors = sum(region.traffic.stable.errors5xxPerMinute, region.traffic.canary.errors5xxPerMinute) ?? 0;
  return requests >= MIN_REQUESTS_FOR_ERROR_SHARE && (100 * errors) / requests > errorPercent
    ? 'errors'
    : undefined;
}

/** Both tracks' request series added minute by minute, newest first; undefined when neither has one. */
function recentRequestsOf(region: ObservedRegion | undefined): number[] | undefined {
  const stable = region?.traffic.stable.recentRequestsPerMinute;
  const canary = region?.traffic.canary.recentRequestsPerMinute;
  if (stable === undefined && canary === undefined) return undefined;
  const length = Math.max(stable?.length ?? 0, canary?.length ?? 0);
  return Array.from({ length }, (_, i) => (stable?.[i] ?? 0) + (canary?.[i] ?? 0));
}

function requestsOf(region: ObservedRegion | undefined): number | undefined {
  return sum(region?.traffic.stable.requestsPerMinute, region?.traffic.canary.requestsPerMinute);
}

/** CPU across the region's tasks: each track's average weighted by its running tasks. */
function averageCpu(region: ObservedRegion | undefined, site: string): number | undefined {
  let weighted = 0;
  let tasks = 0;
  for (const track of ['stable', 'canary'] as const) {
    const cpu = region?.traffic[track].cpuPercent;
    const running =
      region?.services.find((s) => s.name === `${site}-${track}` && s.status === 'ACTIVE')?.runningCount ?? 0;
    if (cpu === undefined || running === 0) continue;
    weighted += cpu * running;
    tasks += running;
  }
  return tasks === 0 ? undefined : weighted / tasks;
}

/**
 * The analysis state to go on from: this region's own, else the freshest
 * another region published for the same tag (the holder before a takeover).
 */
function canaryStateOf(tag: string, context: SiteContext): CanaryState | undefined {
  const own = context.previous?.canary;
  if (context.global && own?.tag === tag) return own;
  const published = context.peers
    .filter((p) => p.region !== context.self)
    .map((p) => ({ state: p.status?.canary, holder: p.status?.global === true && !p.quiet }))
    .filter((p): p is { state: CanaryState; holder: boolean } => p.state?.tag === tag)
    .sort((a, b) => Number(b.holder) - Number(a.holder) || b.state.lastCheckAt - a.state.lastCheckAt);
  return published[0]?.state ?? (own?.tag === tag ? own : undefined);
}

/**
 * The canary's traffic across regions: this region's from its own metrics,
 * the others' as they published it. Requests and 5xx are summed; p95 is the
 * worst region's.
 */
function canarySample(
  self: string,
  seen: ObservedRegion | undefined,
  peers: readonly PeerReport[],
): CanarySample {
  const samples: RegionStatus['canaryTraffic'][] = [
    seen?.traffic.canary,
    ...peers
      .filter((p) => p.region !== self && !p.quiet)
      .map((p) => p.status?.regions[p.region]?.canaryTraffic),
  ];
  const present = samples.filter((s) => s !== undefined);
  const p95s = present.map((s) => s.p95LatencyMs).filter((v): v is number => v !== undefined);
  return {
    requests: present.reduce<number | undefined>((a, s) => sum(a, s.requestsPerMinute), undefined),
    errors5xx: present.reduce<number | undefined>((a, s) => sum(a, s.errors5xxPerMinute), undefined),
    ...(p95s.length === 0 ? {} : { p95LatencyMs: Math.max(...p95s) }),
  };
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

/** `{ [key]: value }`, or nothing when the value is undefined (optional fields stay absent, not undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
