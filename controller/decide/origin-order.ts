/**
 * Which region the CDN asks first (the origin group's primary member). CloudFront's origin group
 * keeps no health state between requests: while the spec's primary region hangs or drops
 * packets, every cache miss waits out its timeouts there before the failover region answers.
 * So the holder of a site's global duties puts the failover region first once the primary is
 * failing as tandem or the CDN sees it, and puts the primary back only after it has been healthy
 * for a while, longer each time it failed again soon after (hysteresis: a region that flaps
 * every pass moves the order at most once per window, never every pass).
 *
 * This needs CloudFront's control plane (in us-east-1) to change the distribution; when that
 * cannot be reached, the origin group's own failover still answers every request, only slower.
 */

/** Fewest requests a minute through the CDN before where they land says anything. */
export const MIN_REQUESTS_FOR_SHARE = 20;
/** The CDN is failing over when the failover region gets at least this share of the site's requests. */
export const FAILOVER_SHARE = 0.9;
/**
 * Metric periods the primary must be healthy before it is first again (10 minutes on AWS), doubled
 * for each recent move, up to MAX_RESTORE_PERIODS (4 hours). In periods, so the local cloud's 5 s
 * periods make it 50 s there.
 */
export const RESTORE_PERIODS = 10;
export const MAX_RESTORE_PERIODS = 240;
/**
 * The window after a move only the CDN saw (CdnFailingOver): 30 metric periods. Once the failover
 * region is first, a primary that hangs or drops packets gets no requests, so nothing tandem reads
 * can show it serving again; putting it back is a trial, and a failed trial costs every viewer the
 * timeouts until the CDN is seen failing over again and the move back deploys (minutes). Keeping
 * the failover region first longer costs only the distance to it, so the blind window is longer.
 */
export const BLIND_RESTORE_PERIODS = 30;
/**
 * Metric periods to wait after the order changed back before where requests land means anything
 * again: the datapoints read lag about two periods behind, and until then they show the
 * failover region carrying everything because it was first.
 */
const SETTLE_PERIODS = 3;
/** Moves older than this no longer lengthen the wait. */
const RECENT_MS = 24 * 60 * 60_000;

export type OrderReason =
  'SpecOrder' | 'PrimaryFailing' | 'CdnFailingOver' | 'BothFailing' | 'PrimaryRecovering' | 'FailoverFailing';

/** What the holder keeps in status about the order (`cdn.originOrder`). */
export interface OriginOrder {
  /** The spec's primary and failover regions this record is about: a spec that changes them starts over. */
  primary: string;
  failover: string;
  /** The region the CDN asks first. */
  first: string;
  reason: OrderReason;
  /**
   * When the primary was first seen serving (healthy targets, not failing, behind a Deployed
   * distribution). Until then a site is starting, not failing: its primary's tasks not yet
   * healthy move nothing.
   */
  servingSince?: number;
  /** When the order last changed (ms since the epoch); absent while it never has. */
  changedAt?: number;
  /** When CloudFront was first seen Deployed with this order after the change. */
  deployedAt?: number;
  /**
   * Since when the spec's primary has been healthy while not first, counted from when the move to
   * the failover region was seen deployed (until then the primary still gets the requests).
   */
  primaryHealthySince?: number;
  /** While the failover region is first: whether tandem saw the primary fail, or only the CDN did. */
  movedFor?: 'PrimaryFailing' | 'CdnFailingOver';
  /** When the failover region was put first, within the last day: each lengthens the next wait. */
  moves?: number[];
}

export interface OriginOrderInput {
  primary: string;
  failover: string;
  /** Regions failing as the deciding region sees them (decide/site.ts). */
  failing: readonly string[];
  /** Requests a minute reaching each region's load balancer, where known. */
  requests: Readonly<Record<string, number | undefined>>;
  /** The order the last report gave, if any. */
  before: OriginOrder | undefined;
  /**
   * When a region last reported the primary failing (FailoverActive), if ever: for a while after,
   * the counts still cover the failure (and, with DNS failover, the minutes its name takes to come
   * back), so they are not read as the CDN failing over.
   */
  primaryFailedAt?: number;
  /** Healthy targets behind the primary's load balancer, where known: a primary with none has not served yet. */
  primaryHealthyTargets?: number;
  /**
   * The distribution as observed: which region its origin group asks first, and whether it is
   * Deployed; undefined when it cannot be read (or does not exist yet).
   */
  distribution?: { first: string; deployed: boolean };
  now: number;
  /** The metric period the requests are read at (60 s on AWS). */
  periodMs: number;
}

/** The order this pass wants, and the record to keep. Pure. */
export function decideOriginOrder(input: OriginOrderInput): OriginOrder {
  const { primary, failover, failing, now } = input;
  const before =
    input.before?.primary === primary && input.before.failover === failover ? input.before : undefined;
  // CloudFront's API cannot be read (its control plane is in us-east-1): nothing decided now could be
  // applied, and a move decided on this outage's counts would reach the edges only after it, so the
  // record stands until the distribution can be seen again.
  if (input.distribution === undefined && before !== undefined) return before;
  const moves = (before?.moves ?? []).filter((at) => now - at < RECENT_MS);
  const current = before?.first === failover ? failover : primary;
  const primaryFailing = failing.includes(primary);
  const failoverFailing = failing.includes(failover);
  const serving =
    input.distribution?.deployed === true && !primaryFailing && (input.primaryHealthyTargets ?? 0) > 0;
  const servingSince = before?.servingSince ?? (serving ? now : undefined);

  let next: Omit<OriginOrder, 'deployedAt' | 'primary' | 'failover' | 'movedFor'>;
  if (current === primary && servingSince === undefined) {
    next = { first: primary, reason: 'SpecOrder' };
  } else if (current === primary) {
    const why: OrderReason | undefined = primaryFailing
      ? 'PrimaryFailing'
      : cdnFailsOver(input, before)
        ? 'CdnFailingOver'
        : undefined;
    if (why === undefined) next = { first: primary, reason: 'SpecOrder' };
    else if (failoverFailing) next = { first: primary, reason: 'BothFailing' };
    else next = { first: failover, reason: why, changedAt: now, moves: [...moves, now] };
  } else if (failoverFailing && !primaryFailing) {
    // The region asked first fails and the primary does not: the primary goes first at once.
    next = { first: primary, reason: 'FailoverFailing', changedAt: now };
  } else if (primaryFailing) {
    next = { first: failover, reason: failoverFailing ? 'BothFailing' : 'PrimaryFailing' };
  } else if (before?.deployedAt === undefined) {
    // The move has not deployed yet: the edges still ask the primary, so its health means nothing yet.
    next = { first: failover, reason: 'PrimaryRecovering' };
  } else {
    const healthySince = before.primaryHealthySince ?? now;
    const blind = before.movedFor === 'CdnFailingOver';
    if (now - healthySince >= restoreAfter(moves.length, input.periodMs, blind))
      next = { first: primary, reason: 'SpecOrder', changedAt: now };
    else next = { first: failover, reason: 'PrimaryRecovering', primaryHealthySince: healthySince };
  }

  const changed = next.changedAt === now;
  const changedAt = changed ? now : before?.changedAt;
  const deployedAt = changed
    ? undefined
    : (before?.deployedAt ??
      (input.distribution?.deployed === true && input.distribution.first === next.first ? now : undefined));
  const kept = next.moves ?? (moves.length > 0 ? moves : undefined);
  // Why the failover region went first, kept while it stays first; once tandem itself sees the
  // primary fail, its recovery will be seen too.
  const movedFor =
    next.first !== failover
      ? undefined
      : next.reason === 'PrimaryFailing' || next.reason === 'CdnFailingOver'
        ? next.reason
        : before?.movedFor;
  return {
    primary,
    failover,
    first: next.first,
    reason: next.reason,
    ...(servingSince === undefined ? {} : { servingSince }),
    ...(changedAt === undefined ? {} : { changedAt }),
    ...(deployedAt === undefined || changedAt === undefined ? {} : { deployedAt }),
    ...(next.primaryHealthySince === undefined ? {} : { primaryHealthySince: next.primaryHealthySince }),
    ...(kept === undefined ? {} : { moves: kept }),
    ...(movedFor === undefined ? {} : { movedFor }),
  };
}

/**
 * True when `a` is a later record of the order than `b`, or a record of the same change that has
 * seen the primary healthy for less time. A region coming back after it was lost still has its own
 * record from before, which may say the primary has been healthy since long ago; its stand-in's
 * record of the same change saw it fail since, and is the one to go on.
 */
export function newerOrder(a: OriginOrder, b: OriginOrder): boolean {
  const changed = (a.changedAt ?? -1) - (b.changedAt ?? -1);
  if (changed !== 0) return changed > 0;
  const healthy = (o: OriginOrder) => o.primaryHealthySince ?? Number.POSITIVE_INFINITY;
  return healthy(a) > healthy(b);
}

/**
 * How long (ms) the primary must stay healthy before it is first again, after `moves` recent moves
 * away; `blind` when only the CDN saw it fail (BLIND_RESTORE_PERIODS).
 */
export function restoreAfter(moves: number, periodMs: number, blind = false): number {
  const base = blind ? BLIND_RESTORE_PERIODS : RESTORE_PERIODS;
  return periodMs * Math.min(MAX_RESTORE_PERIODS, base * 2 ** Math.max(0, moves - 1));
}

/**
 * True when the CDN sends most of the site's requests to the failover region while the primary
 * is first: CloudFront asks the failover region only when the primary fails, so this is the
 * primary failing as the CDN sees it, even when nothing in the primary region looks wrong (a
 * path that drops packets, a load balancer that hangs).
 */
function cdnFailsOver(input: OriginOrderInput, before: OriginOrder | undefined): boolean {
  const { now } = input;
  const settle = SETTLE_PERIODS * input.periodMs;
  // Serving only lately: the counts may still cover the start, when the CDN failed over because
  // the primary's tasks were not healthy yet.
  if (before?.servingSince === undefined || now - before.servingSince < settle) return false;
  // Just after the primary failed as tandem saw it: the counts lag, and a DNS failover name takes
  // up to its health checks and TTL to answer the primary again (96 s on AWS).
  if (input.primaryFailedAt !== undefined && now - input.primaryFailedAt < 2 * settle) return false;
  if (before.changedAt !== undefined) {
    // Back in the spec's order: the counts say nothing until they cover a time after it deployed.
    if (before.deployedAt === undefined || now - before.deployedAt < settle) return false;
  }
  const onFailover = input.requests[input.failover] ?? 0;
  const total = onFailover + (input.requests[input.primary] ?? 0);
  return total >= MIN_REQUESTS_FOR_SHARE && onFailover / total >= FAILOVER_SHARE;
}
