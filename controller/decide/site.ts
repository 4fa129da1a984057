import { isOwnedBy } from '../model/tags.ts';
import type { ObservedRegion, ObservedSite } from '../model/observed.ts';
import type { RegionScaling, SiteStatus } from '../model/status.ts';
import type { Site } from '../spec/schema.ts';
import { decideTasks, nextHistory, type ScalingDecision, type ScalingPolicy } from './autoscaler.ts';
import { analyzeCanary, type CanaryState } from './canary.ts';

/** Fewest requests a minute before a 5xx share can mark a region failing (a few errors are noise). */
const MIN_REQUESTS_FOR_ERROR_SHARE = 20;

export interface RegionDecision {
  /** Tasks the region runs, stable and canary together. */
  tasks: number;
  scaling: RegionScaling;
}

export interface SiteDecisions {
  regions: Record<string, RegionDecision>;
  /** The canary's weight this pass: the spec's, or the analysis's. */
  canaryWeight: number;
  /** Set when the spec's canary has an analysis. */
  canary?: CanaryState;
  /** Regions that are failing, and whether the primary is one of them (the CDN is failing over). */
  failing: string[];
  failoverActive: boolean;
}

/**
 * Everything a pass decides for one site before planning, from the spec, what
 * was observed and what earlier passes recorded in status. Pure.
 */
export function decideSite(
  site: Site,
  observed: ObservedSite,
  previous: SiteStatus | undefined,
  now: number,
  /** Per region, the task definition families the spec wants now. */
  wantedFamilies: Readonly<Record<string, ReadonlySet<string>>>,
): SiteDecisions {
  const { spec } = site;
  const name = site.metadata.name;
  const policyFor = (region: Site['spec']['regions'][number]): ScalingPolicy => ({
    targetRequestsPerTask: spec.scaling.targetRequestsPerTaskPerMinute,
    targetCpuPercent: spec.scaling.targetCpuPercent,
    tolerance: spec.scaling.tolerance,
    scaleInStabilizationSeconds: spec.scaling.scaleInStabilizationSeconds,
    maxScaleOutStep: spec.scaling.maxScaleOutStep,
    minTasks: region.minTasks,
    maxTasks: region.maxTasks,
  });
  const windowMs = spec.scaling.scaleInStabilizationSeconds * 1000;

  // Which regions are failing now, and which are still inside the window after recovering.
  const health = Object.fromEntries(
    spec.regions.map((region) => {
      const seen = observed.regions[region.name];
      const before = previous?.regions[region.name]?.scaling;
      const signal =
        seen === undefined ? 'unobserved' : failureSignal(seen, name, spec.scaling.failoverErrorPercent);
      const unhealthySince = signal === 'noHealthyTargets' ? (before?.unhealthySince ?? now) : undefined;
      const failing = signal !== undefined && (signal !== 'noHealthyTargets' || unhealthySince !== now);
      const healthySince = failing
        ? undefined
        : (before?.healthySince ?? (before?.failingSince === undefined ? undefined : now));
      const recovering = !failing && healthySince !== undefined && now - healthySince < windowMs;
      return [
        region.name,
        {
          failing,
          recovering,
          healthySince,
          failingSince: failing ? (before?.failingSince ?? now) : undefined,
          unhealthySince,
        },
      ];
    }),
  );
  const failing = spec.regions.filter((r) => health[r.name]!.failing).map((r) => r.name);
  const covering = spec.regions
    .filter((r) => health[r.name]!.failing || health[r.name]!.recovering)
    .map((r) => r.name);

  // Demand per region: what it serves now, or for a failing region what it served when last healthy.
  const demand = Object.fromEntries(
    spec.regions.map((region) => {
      const seen = observed.regions[region.name];
      const current = requestsOf(seen);
      const last = previous?.regions[region.name]?.scaling?.lastHealthyRequestsPerMinute;
      return [region.name, health[region.name]!.failing ? (last ?? 0) : current];
    }),
  );
  const totalDemand = Object.values(demand).reduce<number>((a, b) => a + (b ?? 0), 0);

  const regions: Record<string, RegionDecision> = {};
  for (const region of spec.regions) {
    const seen = observed.regions[region.name];
    const before = previous?.regions[region.name]?.scaling;
    const policy = policyFor(region);
    const services = (seen?.services ?? []).filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, name));
    // The base is the previous decision, our own intent, rather than the services' desired counts:
    // those may be mid-change after an interrupted pass, or drifted by hand.
    const desired =
      before?.decision.tasks ??
      (services.length === 0 ? region.minTasks : services.reduce((n, s) => n + s.desiredCount, 0));
    const running = services.reduce((sum, s) => sum + s.runningCount, 0);
    const h = health[region.name]!;
    // While another region fails (and for a window after it recovers), the healthy ones carry all demand.
    const othersCovering = covering.some((r) => r !== region.name);
    const floor =
      othersCovering && !h.failing
        ? Math.ceil(totalDemand / spec.scaling.targetRequestsPerTaskPerMinute)
        : undefined;

    let decision: ScalingDecision;
    if (seen?.error !== undefined) {
      // Unreachable: nothing can be applied there anyway; keep what status last said.
      const tasks = before?.decision?.tasks ?? desired;
      decision = {
        tasks,
        recommendation: tasks,
        reason: 'MetricsMissing',
        message: 'region unreachable; holding the last decision',
      };
    } else {
      const requests = requestsOf(seen);
      const cpu = averageCpu(seen, name);
      decision = decideTasks(policy, {
        now,
        running,
        desired,
        ...(requests === undefined ? {} : { requestsPerMinute: requests }),
        ...(cpu === undefined ? {} : { cpuPercent: cpu }),
        // A rollout this spec asked for carries the new count with it; one still finishing from
        // before (an earlier spec, a change by hand) holds scale-in until it completes.
        rolloutInProgress: services.some(
          (s) => s.rolloutInProgress && !(wantedFamilies[region.name]?.has(s.taskDefinition) ?? false),
        ),
        ...(floor === undefined ? {} : { floor }),
        ...(before?.heldSince === undefined ? {} : { heldSince: before.heldSince }),
        history: before?.history ?? [],
      });
    }
    const lastHealthy = h.failing
      ? before?.lastHealthyRequestsPerMinute
      : (requestsOf(seen) ?? before?.lastHealthyRequestsPerMinute);
    regions[region.name] = {
      tasks: decision.tasks,
      scaling: {
        // Only recommendations made from metrics enter the window; holding on missing data is not demand.
        history:
          decision.reason === 'MetricsMissing'
            ? (before?.history ?? [])
            : nextHistory(policy, before?.history ?? [], now, decision.recommendation),
        decision: { tasks: decision.tasks, reason: decision.reason, message: decision.message },
        ...(lastHealthy === undefined ? {} : { lastHealthyRequestsPerMinute: lastHealthy }),
        ...(h.failingSince === undefined ? {} : { failingSince: h.failingSince }),
        ...(h.unhealthySince === undefined ? {} : { unhealthySince: h.unhealthySince }),
        ...(decision.heldSince === undefined ? {} : { heldSince: decision.heldSince }),
        ...(h.healthySince === undefined || !h.recovering ? {} : { healthySince: h.healthySince }),
      },
    };
  }

  const primary = spec.regions.find((r) => r.role === 'primary')?.name;
  const decisions: SiteDecisions = {
    regions,
    canaryWeight: spec.canary?.weight ?? 0,
    failing,
    failoverActive: primary !== undefined && failing.includes(primary),
  };
  if (spec.canary?.analysis !== undefined) {
    const canary = analyzeCanary(
      spec.canary.analysis,
      spec.canary.tag,
      previous?.canary,
      canarySample(observed),
      now,
    );
    decisions.canary = canary;
    decisions.canaryWeight = canary.weight;
  }
  return decisions;
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

function canarySample(observed: ObservedSite) {
  const canaries = Object.values(observed.regions).map((r) => r.traffic.canary);
  const p95s = canaries.map((c) => c.p95LatencyMs).filter((v): v is number => v !== undefined);
  return {
    requests: canaries.reduce<number | undefined>((a, c) => sum(a, c.requestsPerMinute), undefined),
    errors5xx: canaries.reduce<number | undefined>((a, c) => sum(a, c.errors5xxPerMinute), undefined),
    ...(p95s.length === 0 ? {} : { p95LatencyMs: Math.max(...p95s) }),
  };
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}
