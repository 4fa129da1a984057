import type { Heartbeat } from '../ports/store.ts';

/**
 * Who holds the global duties. Each region's reconciler manages its own
 * region; what is global by nature (a site's CloudFront distribution, its
 * canary analysis and promotion, the sites' dashboard) is done by one
 * region's reconciler at a time: the first region in the duty order whose
 * reconciler is alive, as told by the heartbeat each writes at the end of
 * every pass into its own replica. A reconciler counts itself alive. Pure.
 *
 * Two reconcilers can believe they hold a duty at once (while a heartbeat
 * crosses the replication, or a region's view of another is stale), so a
 * duty's writes are made safe for that elsewhere: what they write is a
 * function of the spec alone, and CloudFront writes are conditional on the
 * ETag (docs/architecture.md, "Regional and global duties").
 */

/** The reconcilers' period on AWS: EventBridge's rate(1 minute). */
export const DEFAULT_INTERVAL_SECONDS = 60;

/** A reconciler that missed this many passes in a row is quiet: the next region in the order takes over. */
export const QUIET_AFTER_PASSES = 3;

export interface Liveness {
  /** Each region's last heartbeat (epoch ms), as this region's replica holds them. */
  heartbeats: Readonly<Record<string, number>>;
  now: number;
  /** Between two passes of a reconciler, in milliseconds. */
  intervalMs: number;
}

/**
 * True when the region's reconciler has not finished a pass for
 * QUIET_AFTER_PASSES intervals. A pass ends at most one interval (plus its
 * own length and the replication's second) after the one before; one missed
 * pass is routine (a throttled or timed-out invocation, a deployment), two in
 * a row are not, and a takeover that waits costs no availability: the CDN's
 * origin group fails over per request on its own.
 *
 * A region with no heartbeat at all has never been heard from (a platform
 * just deployed, whose reconcilers start within the same minute): it is not
 * quiet, or every region would take every duty on its first pass. Only a
 * heartbeat that stopped makes a region quiet.
 */
export function isQuiet(region: string, liveness: Liveness): boolean {
  const at = liveness.heartbeats[region];
  return at !== undefined && liveness.now - at > QUIET_AFTER_PASSES * liveness.intervalMs;
}

/** The region holding duties taken in `order`: the first that is `self` or not quiet. */
export function dutyHolder(order: readonly string[], self: string, liveness: Liveness): string | undefined {
  return order.find((region) => region === self || !isQuiet(region, liveness));
}

/** Heartbeats as a record by region. */
export function heartbeatsByRegion(heartbeats: readonly Heartbeat[]): Record<string, number> {
  const byRegion: Record<string, number> = {};
  for (const { region, at } of heartbeats) byRegion[region] = Math.max(byRegion[region] ?? 0, at);
  return byRegion;
}
