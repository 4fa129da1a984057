import { isTerminalKind, type CloudError } from '../errors.ts';
import { isRegionAction, type Action } from '../model/actions.ts';
import { isFailoverOriginName } from '../model/dns-failover.ts';
import { canonicalJson } from '../model/naming.ts';
import type { ObservedDistribution, ObservedRegion, ObservedSite } from '../model/observed.ts';
import type {
  ActionRecord,
  Condition,
  ConditionType,
  ErrorRecord,
  FailedRollout,
  RegionStatus,
  SiteStatus,
  TaskCounts,
} from '../model/status.ts';
import type { DesiredSite } from '../plan/desired.ts';
import type { SitePlan } from '../plan/site.ts';
import type { SpecProblem } from '../spec/validate.ts';
import type { Site } from '../spec/schema.ts';
import { acceptedFingerprints } from '../decide/origin-secret.ts';
import { hasHttpsRule, type PeerReport, type SiteDecisions } from '../decide/site.ts';
import type { StoredStatus } from '../ports/store.ts';
import type { DistributionSummary } from '../ports/cdn.ts';
import { lostEditsMessage, type LostEdit } from '../spec/edits.ts';
import { describeTarget, type ApplyResult } from './apply.ts';

/** Everything one region's pass learned about one site. */
export interface SiteOutcome {
  name: string;
  /** The region whose reconciler ran the pass. */
  region: string;
  /** True when this region holds the site's global duties: its CDN, canary analysis and promotion. */
  global: boolean;
  /** This region's report from the last pass (or, after an upgrade, the site's single status from before). */
  previous?: SiteStatus;
  /**
   * Set when this region's stored status could not be read (the store
   * reported the field): `salvaged` when its task counts, scaling memory or
   * CDN still read and stand in for it, `lost` when nothing did.
   */
  statusUnreadable?: 'salvaged' | 'lost';
  /** The status items read: this region's own, and the site's item from before statuses were per region. */
  stored: { own?: StoredStatus; legacy?: StoredStatus };
  /** The other regions' reports on the site, and whether their reconcilers went quiet. */
  peers: PeerReport[];
  /** Edits of the spec made in another replica and overwritten unseen (spec/edits.ts). */
  lostEdits?: LostEdit[];
  /** The stored spec's generation and hash; undefined once the spec is deleted. */
  spec?: { generation: number; hash: string };
  /** Set when the spec is invalid: nothing was planned or applied. */
  problems?: SpecProblem[];
  /** The validated spec, when it is valid. */
  site?: Site;
  /** Scaling, canary and failover decisions of this pass. */
  decisions?: SiteDecisions;
  /** True when this pass promoted the canary (promote: auto). */
  promoted?: boolean;
  /** Set when a person must act before anything can be applied (e.g. no platform in a region). */
  stalled?: { reason: string; message: string };
  paused: boolean;
  desired?: DesiredSite;
  observed?: ObservedSite;
  plan?: SitePlan;
  /** Undefined when nothing was applied (paused, invalid, stalled, or a dry run). */
  applied?: ApplyResult;
}

type Reason = { reason: string; message: string };
type ConditionSet = Partial<Record<ConditionType, Omit<Condition, 'lastTransitionTime'>>>;

/** The status a pass reports for a site. Pure: equal inputs give equal statuses. */
export function siteStatus(outcome: SiteOutcome, now: Date): SiteStatus {
  const previous = outcome.previous;
  const keptFromLastValid = lastValidReport(outcome);
  const errors = collectErrors(outcome);
  const applied = appliedActions(outcome);
  const regions = regionStatuses(outcome, errors);
  const cdnError =
    outcome.observed?.cdn?.error?.message ?? errors.find((e) => e.region === undefined)?.message;
  const distribution = siteDistribution(outcome);
  const canary = outcome.decisions?.canary;

  const set: ConditionSet = {
    ...specConditions(outcome, keptFromLastValid),
    ...trafficConditions(outcome),
  };
  const stalledBy = stallReason(outcome, set.Invalid !== undefined, errors, regions);
  set.Stalled =
    stalledBy === undefined
      ? { status: 'False', reason: 'NotStalled', message: 'nothing needs a person' }
      : { status: 'True', ...stalledBy };
  set.Degraded = degradedCondition(regions, cdnError);
  const reconciling = reconcilingReason(outcome, applied, stalledBy, distribution);
  set.Reconciling =
    reconciling === undefined
      ? { status: 'False', reason: 'Converged', message: 'the world matches the spec' }
      : { status: 'True', ...reconciling };
  const notReady = notReadyReason(outcome, set, stalledBy, reconciling);
  set.Ready =
    notReady === undefined
      ? { status: 'True', reason: 'Converged', message: 'serving from every region as specified' }
      : { status: 'False', ...notReady };

  const keptCanary = keptFromLastValid?.canary;
  return {
    site: outcome.name,
    region: outcome.region,
    global: outcome.global,
    observedGeneration: outcome.spec?.generation ?? previous?.observedGeneration ?? 0,
    observedHash: outcome.spec?.hash ?? previous?.observedHash ?? '',
    conditions: withTransitionTimes(set, previous, now),
    regions,
    cdn: cdnStatus(outcome, keptFromLastValid, distribution, cdnError),
    ...(canary !== undefined ? { canary } : keptCanary !== undefined ? { canary: keptCanary } : {}),
    lastActions: applied.length > 0 ? applied.map(actionRecord) : (previous?.lastActions ?? []),
    // Not among the errors above: a status rewritten is neither a region nor the CDN degraded.
    errors: [...errors, ...unreadableStatusRecord(outcome)],
  };
}

/** With the spec invalid, the last valid spec's world is what serves: its report stands. */
function lastValidReport(outcome: SiteOutcome): SiteStatus | undefined {
  const previous = outcome.previous;
  if (outcome.problems === undefined || previous === undefined) return undefined;
  const reportedAnything =
    Object.keys(previous.regions).length > 0 || previous.cdn.distributionId !== undefined;
  return reportedAnything ? previous : undefined;
}

/** The actions this pass applied without error. */
function appliedActions(outcome: SiteOutcome): Action[] {
  return outcome.applied?.results.filter((r) => r.error === undefined).map((r) => r.action) ?? [];
}

/** The site's distribution, as observed or created this pass. */
function siteDistribution(outcome: SiteOutcome): DistributionSummary | ObservedDistribution | undefined {
  // A distribution created this pass is recorded at once: the next pass then knows it is ours without a tag read.
  return (
    outcome.observed?.cdn?.distributions.find((d) => d.owned) ??
    outcome.applied?.results.find((r) => r.created)?.created
  );
}

/** True while ECS is still starting or stopping a service's tasks. */
function rolloutInProgress(outcome: SiteOutcome): boolean {
  return Object.values(outcome.observed?.regions ?? {}).some((r) =>
    r.services.some(
      (s) =>
        s.status === 'ACTIVE' &&
        (s.rolloutInProgress ||
          // A service left on a deployment ECS failed starts no task until a person acts.
          (s.runningCount !== s.desiredCount && s.failedRollout?.taskDefinition !== s.taskDefinition)),
    ),
  );
}

/** True when the plan holds actions not yet applied. */
function hasPendingActions(outcome: SiteOutcome): boolean {
  return (outcome.plan?.actions.length ?? 0) > 0;
}

/** Conditions about the spec itself: Invalid, Paused, SpecConflict, Deleting. */
function specConditions(outcome: SiteOutcome, keptFromLastValid: SiteStatus | undefined): ConditionSet {
  const set: ConditionSet = {};
  if (outcome.problems !== undefined) {
    const problems = outcome.problems
      .map((p) => (p.field === '' ? `document ${p.message}` : `${p.field} ${p.message}`))
      .join('; ');
    set.Invalid = {
      status: 'True',
      reason: 'InvalidSpec',
      message:
        keptFromLastValid === undefined
          ? problems
          : `${problems}. Nothing was changed: the tasks, scaling and CDN shown are the last valid spec's, which keeps serving`,
    };
  }
  if (outcome.paused)
    set.Paused = {
      status: 'True',
      reason: 'Paused',
      message: 'spec.paused is true: observing only, changing nothing',
    };
  if (outcome.lostEdits !== undefined) {
    set.SpecConflict = {
      status: 'True',
      reason: 'ConcurrentEdits',
      message: lostEditsMessage(outcome.lostEdits),
    };
  } else if (outcome.previous?.conditions.SpecConflict?.status === 'True') {
    set.SpecConflict = { status: 'False', reason: 'Settled', message: 'no edit of the spec was lost' };
  }
  if (outcome.spec === undefined) {
    set.Deleting = {
      status: 'True',
      reason: 'SpecDeleted',
      message: 'the spec was deleted; removing what tandem created for it',
    };
  }
  return set;
}

/** Conditions about where traffic goes: FailoverActive, CanaryProgressing, CanaryFailed. */
function trafficConditions(outcome: SiteOutcome): ConditionSet {
  const set: ConditionSet = {};
  if (outcome.decisions?.failoverActive) {
    set.FailoverActive = {
      status: 'True',
      reason: 'PrimaryFailing',
      message: `the primary region is failing (${outcome.decisions.failing.join(', ')}); the CDN serves from the failover region`,
    };
  } else if (outcome.previous?.conditions.FailoverActive !== undefined) {
    set.FailoverActive = { status: 'False', reason: 'PrimaryHealthy', message: 'the primary region serves' };
  }
  const canary = outcome.decisions?.canary;
  if (canary !== undefined) {
    set.CanaryProgressing = {
      status: canary.phase === 'Progressing' ? 'True' : 'False',
      reason: canary.phase === 'Progressing' ? 'Analyzing' : canary.phase,
      message: canary.message,
    };
    if (canary.phase === 'Failed')
      set.CanaryFailed = { status: 'True', reason: 'AnalysisFailed', message: canary.message };
  }
  if (outcome.promoted) {
    set.CanaryProgressing = {
      status: 'False',
      reason: 'Promoted',
      message: `promoted ${canary?.tag} to stable`,
    };
  }
  return set;
}

/** Why a person must act, first reason first; undefined when nothing needs a person. */
function stallReason(
  outcome: SiteOutcome,
  invalid: boolean,
  errors: readonly ErrorRecord[],
  regions: Record<string, RegionStatus>,
): Reason | undefined {
  if (invalid)
    return { reason: 'InvalidSpec', message: 'the spec is invalid; fix it and apply again (see Invalid)' };
  if (outcome.stalled !== undefined) return outcome.stalled;
  const blockers = Object.values(outcome.plan?.blockers ?? {}).flat();
  if (blockers.length > 0)
    return { reason: 'OwnershipConflict', message: blockers.map((b) => b.message).join(' ') };
  return terminalError(errors) ?? rolloutStall(regions);
}

/** Degraded when a region or the CDN is; InsufficientCapacity only when that is every region's reason. */
function degradedCondition(
  regions: Record<string, RegionStatus>,
  cdnError: string | undefined,
): Omit<Condition, 'lastTransitionTime'> {
  const degraded = Object.entries(regions).filter(([, r]) => r.degraded !== undefined);
  if (degraded.length === 0 && cdnError === undefined)
    return { status: 'False', reason: 'AllRegionsHealthy', message: 'every region and the CDN converged' };
  const message = [
    ...degraded.map(([name, r]) => `${name}: ${r.degraded!.message}`),
    ...(cdnError === undefined ? [] : [`cdn: ${cdnError}`]),
  ].join('; ');
  return { status: 'True', reason: degradedReason(degraded, cdnError), message };
}

function degradedReason(degraded: [string, RegionStatus][], cdnError: string | undefined): string {
  if (degraded.length === 0) return 'CdnDegraded';
  const onlyCapacity =
    cdnError === undefined && degraded.every(([, r]) => r.degraded!.reason === 'InsufficientCapacity');
  return onlyCapacity ? 'InsufficientCapacity' : 'RegionDegraded';
}

/** What the site is still converging on, first reason first; undefined once the world matches the spec. */
function reconcilingReason(
  outcome: SiteOutcome,
  applied: readonly Action[],
  stalledBy: Reason | undefined,
  distribution: DistributionSummary | undefined,
): Reason | undefined {
  if (applied.length > 0)
    return { reason: 'Converging', message: `applied ${applied.length} action(s) this pass` };
  if (hasPendingActions(outcome) && !outcome.paused && stalledBy === undefined)
    return { reason: 'Converging', message: 'actions remain; the next pass retries them' };
  if (rolloutInProgress(outcome))
    return { reason: 'RolloutInProgress', message: 'ECS is starting or stopping tasks' };
  if (distribution?.status === 'InProgress')
    return { reason: 'CdnDeploying', message: 'CloudFront is deploying the latest change' };
  const canary = outcome.decisions?.canary;
  if (canary?.phase === 'Progressing') return { reason: 'CanaryAnalysis', message: canary.message };
  return undefined;
}

/** Why the site is not Ready, most pressing first; undefined when it serves as specified. */
function notReadyReason(
  outcome: SiteOutcome,
  set: ConditionSet,
  stalledBy: Reason | undefined,
  reconciling: Reason | undefined,
): Reason | undefined {
  if (set.Invalid !== undefined) return { reason: 'InvalidSpec', message: 'the spec is invalid' };
  if (outcome.paused && hasPendingActions(outcome))
    return { reason: 'Paused', message: 'paused with changes waiting; unpause to apply them' };
  if (stalledBy !== undefined) return { reason: stalledBy.reason, message: stalledBy.message };
  if (set.Degraded?.status === 'True') return { reason: set.Degraded.reason, message: set.Degraded.message };
  if (reconciling !== undefined) return reconciling;
  if (outcome.spec === undefined) return { reason: 'Deleting', message: 'removing the site' };
  return undefined;
}

/** A condition keeps its lastTransitionTime while its status stays the same. */
function withTransitionTimes(
  set: ConditionSet,
  previous: SiteStatus | undefined,
  now: Date,
): SiteStatus['conditions'] {
  const conditions: SiteStatus['conditions'] = {};
  for (const [type, condition] of Object.entries(set) as [
    ConditionType,
    Omit<Condition, 'lastTransitionTime'>,
  ][]) {
    const before = previous?.conditions[type];
    conditions[type] = {
      ...condition,
      lastTransitionTime:
        before !== undefined && before.status === condition.status
          ? before.lastTransitionTime
          : now.toISOString(),
    };
  }
  return conditions;
}

/** The CDN's part of the report: only the global duties' holder reports it; an invalid spec keeps the last one. */
function cdnStatus(
  outcome: SiteOutcome,
  keptFromLastValid: SiteStatus | undefined,
  distribution: DistributionSummary | ObservedDistribution | undefined,
  cdnError: string | undefined,
): SiteStatus['cdn'] {
  if (!outcome.global) return {};
  if (keptFromLastValid !== undefined) return keptFromLastValid.cdn;
  // A distribution created this pass is still InProgress: what it sends is read from the next pass on.
  const sent =
    distribution !== undefined && 'originSecret' in distribution ? distribution.originSecret : undefined;
  return {
    ...(distribution === undefined
      ? {}
      : { distributionId: distribution.id, domainName: distribution.domainName, state: distribution.status }),
    ...(sent === undefined ? {} : { originSecret: sent }),
    ...(outcome.decisions?.originOrder === undefined ? {} : { originOrder: outcome.decisions.originOrder }),
    ...(distribution !== undefined && usesDnsFailover(distribution.config) ? { dnsFailover: true } : {}),
    ...(cdnError === undefined ? {} : { error: cdnError }),
  };
}

/** True when every origin of the distribution is reached through its region's DNS failover name. */
function usesDnsFailover(config: DistributionSummary['config']): boolean {
  return config.origins.length > 0 && config.origins.every((o) => isFailoverOriginName(o.domainName));
}

/** True when writing `next` would change what is stored. */
export function statusChanged(previous: SiteStatus | undefined, next: SiteStatus): boolean {
  return previous === undefined || canonicalJson(previous) !== canonicalJson(next);
}

/** This region's entry: a report holds only the region its reconciler manages. */
function regionStatuses(outcome: SiteOutcome, errors: readonly ErrorRecord[]): Record<string, RegionStatus> {
  const name = outcome.region;
  // An invalid spec changes nothing: what runs is what the last valid one made, with its scaling memory.
  const kept = outcome.problems === undefined ? undefined : outcome.previous?.regions[name];
  if (kept !== undefined) return { [name]: kept };
  const desired = outcome.desired?.regions.find((r) => r.region === name);
  const observed = outcome.observed?.regions[name];
  const reported =
    desired !== undefined ||
    (observed !== undefined && observed.error === undefined && hasAnything(observed)) ||
    (outcome.desired === undefined && outcome.previous?.regions[name] !== undefined);
  if (!reported) return {};
  const counts = (track: 'stable' | 'canary'): TaskCounts => {
    const service = observed?.services.find((s) => s.name.endsWith(`-${track}`) && s.status === 'ACTIVE');
    return {
      desired: desired?.tracks.find((t) => t.track === track)?.desiredCount ?? 0,
      running: service?.runningCount ?? 0,
      pending: service?.pendingCount ?? 0,
    };
  };
  const status: RegionStatus = {
    role: desired?.role ?? outcome.previous?.regions[name]?.role ?? 'failover',
    stable: counts('stable'),
    canary: counts('canary'),
    canaryWeight: canaryWeight(outcome, name, observed),
  };
  const scaling = outcome.decisions?.regions[name]?.scaling;
  if (scaling !== undefined) status.scaling = scaling;
  const failedRollouts = outcome.decisions?.regions[name]?.failedRollouts;
  if (failedRollouts !== undefined) status.failedRollouts = failedRollouts;
  const requests = sum(
    observed?.traffic.stable.requestsPerMinute,
    observed?.traffic.canary.requestsPerMinute,
  );
  if (requests !== undefined) status.requestsPerMinute = requests;
  const healthy = sum(observed?.traffic.stable.healthyTargets, observed?.traffic.canary.healthyTargets);
  if (healthy !== undefined) status.healthyTargets = healthy;
  const groups = targetGroupArns(outcome, observed);
  if (groups !== undefined) status.targetGroups = groups;
  if (httpsRule(outcome, name, observed)) status.httpsRule = true;
  const accepted = acceptedFingerprints(observed?.rules ?? []);
  if (accepted.length > 0) status.originSecrets = accepted;
  // Published for the canary analysis, which the global duties' holder runs on every region's traffic.
  if (outcome.site?.spec.canary?.analysis !== undefined && observed !== undefined)
    status.canaryTraffic = canaryTraffic(observed);
  const degraded = regionDegraded(outcome, observed, errors, failedRollouts);
  if (degraded !== undefined) status.degraded = degraded;
  return { [name]: status };
}

/** The canary's traffic in the region, for the analysis. */
function canaryTraffic(observed: ObservedRegion): NonNullable<RegionStatus['canaryTraffic']> {
  const { requestsPerMinute, errors5xxPerMinute, p95LatencyMs } = observed.traffic.canary;
  return {
    ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }),
    ...(errors5xxPerMinute === undefined ? {} : { errors5xxPerMinute }),
    ...(p95LatencyMs === undefined ? {} : { p95LatencyMs }),
  };
}

/** Why the region is degraded, most pressing first; undefined when it is not. */
function regionDegraded(
  outcome: SiteOutcome,
  observed: ObservedRegion | undefined,
  errors: readonly ErrorRecord[],
  failedRollouts: readonly FailedRollout[] | undefined,
): RegionStatus['degraded'] {
  const name = outcome.region;
  if (observed?.error !== undefined) return { reason: 'RegionUnreachable', message: observed.error.message };
  const blockers = outcome.plan?.blockers[name] ?? [];
  if (blockers.length > 0)
    return { reason: 'OwnershipConflict', message: blockers.map((b) => b.message).join(' ') };
  if (outcome.decisions?.failing.includes(name))
    return {
      reason: 'RegionFailing',
      message: 'no healthy targets, or too many 5xx responses; the other regions carry its demand',
    };
  const regionErrors = errors.filter((e) => e.region === name);
  if (regionErrors.length > 0)
    return {
      reason: 'ActionFailed',
      message: regionErrors.map((e) => `${e.resource}: ${e.message}`).join('; '),
    };
  if (failedRollouts !== undefined)
    return { reason: 'RolloutFailed', message: rolloutFailedMessage(failedRollouts) };
  const unplaced = observed?.services.filter(
    (s) => s.status === 'ACTIVE' && s.placementFailure !== undefined,
  );
  if (unplaced !== undefined && unplaced.length > 0)
    return {
      reason: 'InsufficientCapacity',
      message: unplaced.map((s) => `${s.name}: ${s.placementFailure}`).join('; '),
    };
  return undefined;
}

/** The site's target groups in the region, as observed or created this pass (for the dashboard). */
function targetGroupArns(
  outcome: SiteOutcome,
  observed: ObservedRegion | undefined,
): RegionStatus['targetGroups'] {
  const groups: NonNullable<RegionStatus['targetGroups']> = {};
  for (const tg of observed?.targetGroups ?? []) {
    if (tg.name === `${outcome.name}-stable`) groups.stable = tg.arn;
    if (tg.name === `${outcome.name}-canary`) groups.canary = tg.arn;
  }
  return groups.stable === undefined && groups.canary === undefined ? undefined : groups;
}

/**
 * Whether the site's rule is on the region's HTTPS listener after this pass: seen there at its
 * start, or created there by it. The CDN switches the region's origin to HTTPS only then.
 */
function httpsRule(outcome: SiteOutcome, region: string, observed: ObservedRegion | undefined): boolean {
  const https = observed?.listeners?.[1];
  if (https === undefined) return false;
  if (hasHttpsRule(observed)) return true;
  return (
    outcome.applied?.results.some(
      (r) =>
        r.error === undefined &&
        r.action.kind === 'CreateRule' &&
        r.action.region === region &&
        r.action.listenerArn === https,
    ) ?? false
  );
}

/** The canary's share after this pass: the rule as written this pass, else as observed. */
function canaryWeight(outcome: SiteOutcome, region: string, observed: ObservedRegion | undefined): number {
  const written = outcome.applied?.results
    .filter((r) => r.error === undefined && isRegionAction(r.action) && r.action.region === region)
    .map((r) => r.action)
    .find((a) => a.kind === 'CreateRule' || a.kind === 'ModifyRule');
  if (written !== undefined && (written.kind === 'CreateRule' || written.kind === 'ModifyRule')) {
    return written.forward.find((f) => f.targetGroup.endsWith('-canary'))?.weight ?? 0;
  }
  const rule = observed?.rules[0];
  const canaryArn = observed?.targetGroups.find((tg) => tg.name.endsWith('-canary'))?.arn;
  return rule?.forward.find((f) => f.targetGroupArn === canaryArn)?.weight ?? 0;
}

function collectErrors(outcome: SiteOutcome): ErrorRecord[] {
  const errors: ErrorRecord[] = [];
  for (const region of Object.values(outcome.observed?.regions ?? {})) {
    if (region.error !== undefined) errors.push(errorRecord(region.error, region.region));
  }
  if (outcome.observed?.cdn?.error !== undefined) errors.push(errorRecord(outcome.observed.cdn.error));
  for (const result of outcome.applied?.results ?? []) {
    if (result.error === undefined) continue;
    errors.push(errorRecord(result.error, isRegionAction(result.action) ? result.action.region : undefined));
  }
  return errors;
}

/** Said in the errors of the status that replaces one that could not be read. */
function unreadableStatusRecord(outcome: SiteOutcome): ErrorRecord[] {
  if (outcome.statusUnreadable === undefined) return [];
  return [
    {
      kind: 'MalformedStatus',
      resource: `status ${outcome.name}#${outcome.region}`,
      region: outcome.region,
      message:
        outcome.statusUnreadable === 'salvaged'
          ? 'the stored status could not be read (the reconciler logs the field); its task counts, scaling memory and CDN were kept, its conditions and last actions start afresh'
          : 'the stored status could not be read (the reconciler logs the field); its history starts afresh',
    },
  ];
}

function errorRecord(error: CloudError, region?: string): ErrorRecord {
  return {
    kind: error.kind,
    resource: error.resource,
    message: error.message,
    ...(region === undefined ? {} : { region }),
  };
}

/** A deployment ECS failed needs a person: tandem will not send the same task definition again. */
function rolloutStall(
  regions: Record<string, RegionStatus>,
): { reason: string; message: string } | undefined {
  const failed = Object.entries(regions).filter(([, r]) => r.failedRollouts !== undefined);
  return failed.length === 0
    ? undefined
    : {
        reason: 'RolloutFailed',
        message: failed.map(([name, r]) => `${name}: ${rolloutFailedMessage(r.failedRollouts!)}`).join('; '),
      };
}

function rolloutFailedMessage(failed: readonly FailedRollout[]): string {
  return (
    failed
      .map(
        (f) =>
          `ECS failed to deploy task definition ${f.taskDefinition} to ${f.service} (${f.reason}) and rolled the service back to what it ran before, if anything`,
      )
      .join('; ') +
    '; tandem will not deploy it again: fix the image or the task settings and apply the spec, whose new task definition is then deployed'
  );
}

function terminalError(errors: readonly ErrorRecord[]): { reason: string; message: string } | undefined {
  const terminal = errors.find((e) => isTerminalKind(e.kind));
  return terminal === undefined
    ? undefined
    : { reason: terminal.kind, message: `${terminal.resource}: ${terminal.message}` };
}

function actionRecord(action: Action): ActionRecord {
  return {
    kind: action.kind,
    target: describeTarget(action),
    ...(isRegionAction(action) ? { region: action.region } : {}),
  };
}

function hasAnything(region: ObservedRegion): boolean {
  return (
    region.services.length +
      region.targetGroups.length +
      region.rules.length +
      region.taskDefinitions.length >
    0
  );
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}
