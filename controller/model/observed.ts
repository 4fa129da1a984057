import type { CloudError } from '../errors.ts';
import type { DistributionSummary } from '../ports/cdn.ts';
import type { ServiceState, TaskDefinitionId } from '../ports/ecs.ts';
import type { RuleState, TargetGroupState } from '../ports/load-balancer.ts';
import type { Tags } from './tags.ts';

export interface TaggedTargetGroup extends TargetGroupState {
  tags: Tags;
}

/**
 * A task definition and its tags; no tags when DescribeTaskDefinition stayed
 * throttled this pass (a cold start reads every one): not proven owned, so not
 * deregistered, until a later pass reads them.
 */
export interface ObservedTaskDefinition extends TaskDefinitionId {
  tags?: Tags;
}

export interface TaggedRule extends RuleState {
  tags: Tags;
  /** The listener the rule is on; absent means the region's HTTP listener (`listenerArn`). */
  listenerArn?: string;
}

/** One track's metrics over the latest minute CloudWatch has; a field is absent when it had no data. */
export interface TrafficSample {
  requestsPerMinute?: number;
  /** Requests per minute of each period read, newest first: the autoscaler's demand estimate smooths them. */
  recentRequestsPerMinute?: number[];
  errors5xxPerMinute?: number;
  healthyTargets?: number;
  p95LatencyMs?: number;
  cpuPercent?: number;
}

/** What one region holds for one site, as observed at the start of a pass. */
export interface ObservedRegion {
  region: string;
  /** Set when the region could not be observed; nothing is planned for it this pass. */
  error?: CloudError;
  /** Services under the site's names, owned or not (a name taken by someone else blocks creation). */
  services: ServiceState[];
  /** Target groups under the site's names or carrying its tags. */
  targetGroups: TaggedTargetGroup[];
  /** Listener rules carrying the site's tags, on any of `listeners`. */
  rules: TaggedRule[];
  /**
   * The listeners that carry the sites' rules (`regionListeners`): one rule per site on each.
   * Absent means only the HTTP listener.
   */
  listeners?: string[];
  /** Task definitions in families named for the site. */
  taskDefinitions: ObservedTaskDefinition[];
  traffic: { stable: TrafficSample; canary: TrafficSample };
  /**
   * Set on the passes that read the request history for the forecast (at most once an hour, see
   * reconcile/observe.ts): both tracks' requests per minute over today's last two hours, and the
   * compared hour and the hour ahead a day and a week earlier.
   */
  history?: RequestHistory;
}

/** Requests per minute from `from` (epoch ms); null where there was no datapoint. */
export interface HistorySeries {
  from: number;
  requests: (number | undefined)[];
}

export interface RequestHistory {
  /** Epoch milliseconds of the read. */
  readAt: number;
  today: HistorySeries;
  dayAgo: HistorySeries;
  weekAgo: HistorySeries;
}

export interface ObservedDistribution extends DistributionSummary {
  /** Proven by tags, or by the status that recorded its creation. */
  owned: boolean;
  /** The origin secret every origin sends, by fingerprint (decide/origin-secret.ts); absent when they differ. */
  originSecret?: string;
}

export interface ObservedCdn {
  error?: CloudError;
  /** Distributions whose comment names the site. */
  distributions: ObservedDistribution[];
}

export interface ObservedSite {
  name: string;
  /** The observing reconciler's own region (a reconciler reads no other region). */
  regions: Record<string, ObservedRegion>;
  /** The site's distributions; undefined unless the observing reconciler holds the site's global duties. */
  cdn?: ObservedCdn;
}
