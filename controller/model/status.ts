import type { Forecast } from '../decide/forecast.ts';
/**
 * Status, Kubernetes style: conditions keyed by type (kstatus vocabulary plus
 * tandem's own), per-region counts, and what the last pass did.
 */
export const CONDITION_TYPES = [
  'Ready',
  'Reconciling',
  'Stalled',
  'Invalid',
  'Degraded',
  'Paused',
  'Deleting',
  'FailoverActive',
  'CanaryProgressing',
  'CanaryFailed',
  'SpecConflict',
] as const;

export type ConditionType = (typeof CONDITION_TYPES)[number];

import type { OriginOrder } from '../decide/origin-order.ts';

export interface Condition {
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, for machines. */
  reason: string;
  /** A sentence, for people. */
  message: string;
  /** ISO time the status last changed; kept when only reason or message change. */
  lastTransitionTime: string;
}

export interface TaskCounts {
  desired: number;
  running: number;
  pending: number;
}

/** The autoscaler's memory for one region, kept in status so a stateless reconciler can apply windows. */
export interface RegionScaling {
  /** Recommendations inside the scale-in stabilization window, oldest first. */
  history: { at: number; tasks: number }[];
  decision: { tasks: number; reason: string; message: string };
  /**
   * Requests a minute when the region was last healthy: the demand another region carries while it
   * fails. Published in this region's status item, so the region that takes it over needs no call here.
   */
  lastHealthyRequestsPerMinute?: number;
  /** Set while this region carries failing regions' demand, and for a window after they recover (decide/handover.ts). */
  carrying?: Carrying;
  failingSince?: number;
  /**
   * First pass that saw running tasks and none healthy. One such pass does not fail the region:
   * the healthy-host datapoint is a period behind the tasks, so tasks that just turned healthy read as none.
   */
  unhealthySince?: number;
  /** When a deployment in progress began holding scale-in; the hold lasts at most one window. */
  heldSince?: number;
  /** Set while the region has recovered for less than a full window. */
  healthySince?: number;
  /**
   * The seasonal forecast (decide/forecast.ts) and when its history was last read: the
   * reconciler reads it again an hour later, and keeps it here between.
   */
  forecast?: { readAt: number; value?: Forecast };
}

/** Another region's demand this region carries: the CDN sends it here while that region fails. */
export interface Carrying {
  /** The regions whose demand it carries (or carried, during the window after they recovered). */
  regions: string[];
  /** Their last healthy requests a minute, summed. */
  requestsPerMinute: number;
  /** Epoch milliseconds: when it began carrying. */
  since: number;
  /** Epoch milliseconds: when every carried region was seen healthy again; the floor holds one window more. */
  healthySince?: number;
}

/**
 * A task definition whose deployment ECS failed here (its circuit breaker
 * rolled the service back): not deployed again while the spec wants it.
 */
export interface FailedRollout {
  /** The service whose deployment failed. */
  service: string;
  /** The task definition family it was to run. */
  taskDefinition: string;
  /** ECS's reason (the deployment's rolloutStateReason). */
  reason: string;
  /** Epoch milliseconds: the pass that first saw it fail. */
  since: number;
}

export interface RegionStatus {
  role: 'primary' | 'failover';
  stable: TaskCounts;
  canary: TaskCounts;
  /** Percent of this region's requests the listener rule sends to the canary. */
  canaryWeight: number;
  requestsPerMinute?: number;
  healthyTargets?: number;
  /** Set while this region could not be observed or converged. */
  degraded?: { reason: string; message: string };
  /** Deployments ECS failed here whose task definitions the spec still wants (decide/rollout.ts). */
  failedRollouts?: FailedRollout[];
  scaling?: RegionScaling;
  /** The site's target groups here (ARNs), for the dashboard the global duties' holder keeps. */
  targetGroups?: { stable?: string; canary?: string };
  /**
   * True when the site's rule is on this region's HTTPS listener (seen at the start of the pass,
   * or created by it). The CDN reaches this region over HTTPS only then (docs/bootstrap.md,
   * "Turning a domain on or off"): the holder of the global duties reads it here.
   */
  httpsRule?: boolean;
  /**
   * The origin secrets every rule of the site here accepts, by fingerprint (secretFingerprint),
   * as seen at the start of the pass. The holder of the global duties sends a new secret only
   * once every region behind the distribution accepts it (decide/origin-secret.ts).
   */
  originSecrets?: string[];
  /** What the canary served here in the last period, published for the canary analysis (held by one region). */
  canaryTraffic?: { requestsPerMinute?: number; errors5xxPerMinute?: number; p95LatencyMs?: number };
}

export interface ActionRecord {
  kind: string;
  target: string;
  region?: string;
}

export interface ErrorRecord {
  kind: string;
  resource: string;
  message: string;
  region?: string;
}

/**
 * One region's reconciler's report on one site, kept in its own item (one per
 * site and region), so no two regions ever write the same item. `regions`
 * holds that region only; `cdn` and `canary` are filled by the region holding
 * the site's global duties. Readers merge the reports (reconcile/view.ts).
 */
export interface SiteStatus {
  site: string;
  /** The region whose reconciler wrote this report. */
  region: string;
  /** True while this region's reconciler holds the site's global duties: its CDN, canary analysis and promotion. */
  global: boolean;
  /** Generation of the spec this status describes. */
  observedGeneration: number;
  /** Digest of the spec this status describes; catches edits that did not bump the generation. */
  observedHash: string;
  conditions: Partial<Record<ConditionType, Condition>>;
  regions: Record<string, RegionStatus>;
  cdn: {
    distributionId?: string;
    domainName?: string;
    state?: 'InProgress' | 'Deployed';
    /** The origin secret every origin of the distribution sends, by fingerprint, as seen at the start of the pass. */
    originSecret?: string;
    /** Which region the CDN asks first, why, and when that last changed and deployed (decide/origin-order.ts). */
    originOrder?: OriginOrder;
    /**
     * True when every origin of the distribution connects through its region's DNS failover name
     * (model/dns-failover.ts), so Route 53 moves a failing region's traffic with no API call.
     */
    dnsFailover?: boolean;
    error?: string;
  };
  /** Progressive canary analysis, when the spec asks for one. */
  canary?: {
    tag: string;
    phase: 'Progressing' | 'Succeeded' | 'Failed';
    weight: number;
    failedChecks: number;
    lastCheckAt: number;
    message: string;
  };
  /** Actions of the most recent pass that acted. */
  lastActions: ActionRecord[];
  /** Errors met by the most recent pass; empty once a pass meets none. */
  errors: ErrorRecord[];
}

/** A region's report that says nothing yet: what a store returns in place of an item it cannot read. */
export function emptyStatus(site: string, region: string): SiteStatus {
  return {
    site,
    region,
    global: false,
    observedGeneration: 0,
    observedHash: '',
    conditions: {},
    regions: {},
    cdn: {},
    lastActions: [],
    errors: [],
  };
}
