import type { Carrying } from '../model/status.ts';

/**
 * Capacity handed over once. When the CDN's primary region fails, its origin
 * group sends the primary's viewers to the failover region at once, request
 * by request. The failover region's reconciler sees that only a period or two
 * later in its own metrics, so it raises its floor to the demand it will have
 * to carry as soon as it learns the primary fails: the primary's last healthy
 * demand (published in the primary's status item, so no call to the primary
 * is needed), plus what it serves that did not come from the primary.
 *
 * The failover region cannot tell moved requests from its own, but the moved
 * ones cannot exceed the primary's demand, so what it serves beyond that
 * demand is its own: the demand to carry is `carried + max(0, serving −
 * carried)`, which counts the moved requests once (adding the two, as tandem
 * once did, counted them twice). The floor holds for a stabilization window
 * after the primary recovers. Pure.
 */

/** Another region of the site, as this region learns of it from its status item and heartbeat. */
export interface PeerRegion {
  region: string;
  /** Failing as it reported itself, or quiet: its reconciler stopped reporting. */
  failing: boolean;
  /** Its requests a minute when last healthy. */
  lastHealthyRequestsPerMinute?: number;
  /** Its requests a minute in its latest report. */
  requestsPerMinute?: number;
}

export interface HandoverInput {
  /** Regions whose viewers the CDN sends to this region while they fail: the primary, for the failover origin. */
  fallbackFor: readonly string[];
  peers: readonly PeerRegion[];
  /** Requests a minute this region serves now; undefined when the metric is missing. */
  requestsPerMinute?: number;
  /** What this region carried as of its last pass (its status). */
  previous?: Carrying;
  now: number;
  /** The scale-in stabilization window, in milliseconds: the floor outlives a recovery by this much. */
  windowMs: number;
  targetRequestsPerTask: number;
  /** Warm standby: the share of the primary's demand kept ready while nothing fails. */
  standbyPercent: number;
}

export interface Handover {
  /** Tasks to keep at least, or undefined for no floor above minTasks. */
  floor?: number;
  /** Why the floor is there, for the scaling decision's message. */
  because?: string;
  /** Kept in status while carrying, and for the window after. */
  carrying?: Carrying;
}

export function handOver(input: HandoverInput): Handover {
  const { fallbackFor, previous, now } = input;
  const tasksFor = (requests: number) => Math.ceil(requests / input.targetRequestsPerTask);
  const primaries = input.peers.filter((p) => fallbackFor.includes(p.region));
  const failed = primaries.filter((p) => p.failing);

  let handover: Handover = {};
  if (failed.length > 0) {
    const carried = failed.reduce((sum, p) => sum + (p.lastHealthyRequestsPerMinute ?? 0), 0);
    const own = Math.max(0, (input.requestsPerMinute ?? 0) - carried);
    const names = failed.map((p) => p.region);
    handover = {
      floor: tasksFor(carried + own),
      because: `carrying ${names.join(', ')}: ${Math.round(carried)} requests a minute when last healthy, and ${Math.round(own)} of its own`,
      carrying: {
        regions: names,
        requestsPerMinute: carried,
        since: previous?.since ?? now,
      },
    };
  } else if (previous !== undefined) {
    const healthySince = previous.healthySince ?? now;
    if (now - healthySince < input.windowMs) {
      handover = {
        floor: tasksFor(previous.requestsPerMinute),
        because: `${previous.regions.join(', ')} recovered; holding its demand until it has been healthy for the stabilization window`,
        carrying: { ...previous, healthySince },
      };
    }
  }

  if (input.standbyPercent > 0) {
    const demand = primaries
      .filter((p) => !p.failing)
      .reduce((sum, p) => sum + (p.requestsPerMinute ?? p.lastHealthyRequestsPerMinute ?? 0), 0);
    const standby = tasksFor((demand * input.standbyPercent) / 100);
    if (standby > (handover.floor ?? 0)) {
      handover = {
        ...handover,
        floor: standby,
        because: `warm standby: ${input.standbyPercent}% of ${Math.round(demand)} requests a minute`,
      };
    }
  }
  return handover;
}
