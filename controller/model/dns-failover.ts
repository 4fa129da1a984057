/**
 * DNS failover for origins: the data-plane half of "stop asking a dead primary"
 * (the README's "When a region hangs").
 *
 * With a domain, each region's platform stack gives every region a failover
 * name, `<region>.failover.<domain>`: a Route 53 failover record set whose
 * primary record is that region's load balancer, behind a health check that
 * asks the load balancer for `HEALTH_CHECK_PATH` from outside, and whose
 * secondary record is the other region's load balancer. Each region's stack
 * writes only the records that point at its own load balancer, so no stack
 * needs another region to deploy. The distribution's origins connect to these
 * names: when a region stops answering, its name resolves to the other region
 * once the health check has failed `failureThreshold` times in a row and the
 * answers resolvers hold have expired. Route 53 answers queries and runs health
 * checks without its control plane, so this works with us-east-1 gone, when
 * CloudFront's API (and so reordering the origin group) cannot.
 */

/**
 * Answered by every load balancer itself (a fixed 200) to any request no site's rule claims (a site's
 * rule needs the origin header, which health checkers cannot send): reachability, not a site's health.
 */
export const HEALTH_CHECK_PATH = '/.tandem/health';

/**
 * The priority of the platform stack's health rule on each listener: the last an ALB allows, which the
 * reconciler never gives a site's rule (reconcile/observe.ts counts it taken even before the rule exists).
 */
export const HEALTH_RULE_PRIORITY = 50_000;

/** The body the health path answers with. */
export const HEALTH_CHECK_BODY = 'ok';

/** The name the CDN connects to for `region`'s origin when DNS failover is on. */
export function failoverOriginName(region: string, domain: string): string {
  return `${region}.failover.${domain}`;
}

/** True for a name `failoverOriginName` makes: the CDN reaches that origin through DNS failover. */
export function isFailoverOriginName(name: string): boolean {
  return /^[a-z0-9-]+\.failover\./i.test(name);
}

/**
 * The region whose load balancer answers `region`'s failover name while `region`'s does not: the
 * primary region (the first listed), or for the primary region the second. A failover record set
 * has one primary record and one secondary, so with more than two regions each name still moves to
 * one region; with two it is the other. Undefined with one region: the name has no secondary.
 */
export function failoverBackupRegion(region: string, regions: readonly string[]): string | undefined {
  return regions.find((r) => r !== region);
}

/** How quickly a failover name moves to the other region: a health check's rhythm and the answer's TTL. */
export interface DnsFailoverTiming {
  /** Seconds between a health checker's requests (Route 53: 10 or 30). */
  intervalSeconds: number;
  /** Failed (or passed) checks in a row before the endpoint's health changes (Route 53: 1–10, default 3). */
  failureThreshold: number;
  /** Seconds a resolver keeps an answer (an alias to a load balancer: the load balancer's 60). */
  ttlSeconds: number;
  /** A check fails when no connection opens within this many seconds (Route 53: 4). */
  connectTimeoutSeconds: number;
  /** …or when no status line comes within this many seconds of connecting (Route 53: 2). */
  answerTimeoutSeconds: number;
}

/** What the platform stacks deploy: the fast interval, Route 53's default threshold, an ALB alias's TTL. */
export const ROUTE53_FAILOVER: DnsFailoverTiming = {
  intervalSeconds: 10,
  failureThreshold: 3,
  ttlSeconds: 60,
  connectTimeoutSeconds: 4,
  answerTimeoutSeconds: 2,
};

/**
 * The longest a name keeps answering a region after it stops answering: the
 * checks that must fail (the first may start just after the failure) plus the
 * last one's timeout, plus an answer cached just before the switch.
 */
export function worstCaseFailoverSeconds(timing: DnsFailoverTiming): number {
  return (
    timing.intervalSeconds * timing.failureThreshold +
    timing.connectTimeoutSeconds +
    timing.answerTimeoutSeconds +
    timing.ttlSeconds
  );
}

/**
 * One endpoint's health as a health check sees it: healthy until
 * `failureThreshold` checks in a row fail, unhealthy until as many pass.
 */
export class HealthCheckState {
  private streak = 0;
  healthy = true;
  /** When the health last changed (ms), or undefined if never. */
  changedAt: number | undefined;

  constructor(private readonly failureThreshold: number) {}

  /** Records one check's result; returns true when the endpoint's health changed. */
  record(passed: boolean, now: number): boolean {
    if (passed === this.healthy) {
      this.streak = 0;
      return false;
    }
    this.streak += 1;
    if (this.streak < this.failureThreshold) return false;
    this.healthy = passed;
    this.streak = 0;
    this.changedAt = now;
    return true;
  }
}

/**
 * A failover record set's answer: the primary while its health check passes,
 * else the first healthy secondary, else the primary (Route 53 answers the
 * primary when every record is unhealthy).
 */
export function failoverAnswer<T>(primary: T, secondaries: readonly T[], healthy: (target: T) => boolean): T {
  if (healthy(primary)) return primary;
  return secondaries.find(healthy) ?? primary;
}
