/**
 * Status, Kubernetes style: conditions keyed by type (kstatus vocabulary plus
 * tandem's own), per-region counts, and what the last pass did.
 */
export type ConditionType =
  | 'Ready'
  | 'Reconciling'
  | 'Stalled'
  | 'Invalid'
  | 'Degraded'
  | 'Paused'
  | 'Deleting'
  | 'FailoverActive'
  | 'CanaryProgressing'
  | 'CanaryFailed';

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
  /** Requests a minute when the region was last healthy: the demand others carry while it fails. */
  lastHealthyRequestsPerMinute?: number;
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
  scaling?: RegionScaling;
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

export interface SiteStatus {
  site: string;
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
