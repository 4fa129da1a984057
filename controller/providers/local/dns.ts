import { failoverAnswer, HealthCheckState, type DnsFailoverTiming } from '../../model/dns-failover.ts';

/** A failover record set: `name` answers `primary` while it passes its health check, else a healthy secondary. */
export interface FailoverRecordSet {
  name: string;
  /** The load balancer names answered: each is one health-checked endpoint. */
  primary: string;
  secondaries: readonly string[];
}

export interface LocalDnsOptions {
  records: readonly FailoverRecordSet[];
  timing: DnsFailoverTiming;
  /** One health check of a load balancer: resolves true when it answered 2xx/3xx in time. */
  probe: (target: string, timing: DnsFailoverTiming) => Promise<boolean>;
  now?: () => number;
}

/** What the dashboard and tests see: each endpoint's health and each name's current answer. */
export interface DnsState {
  endpoints: Record<string, { healthy: boolean; changedAt?: number }>;
  answers: Record<string, string>;
}

/**
 * Route 53 in the local cloud: failover record sets over the load balancers,
 * a health checker that asks each load balancer for the health path every
 * `intervalSeconds` through the same network path the CDN uses, and the CDN's
 * resolver, which keeps each answer for the TTL. So a failed region's name
 * moves to the other region as it does on AWS: after the failed checks in a row
 * and the answers already handed out have expired.
 */
export class LocalDns {
  private readonly health = new Map<string, HealthCheckState>();
  private readonly cache = new Map<string, { target: string; expires: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LocalDnsOptions) {
    this.now = options.now ?? Date.now;
    for (const set of options.records) {
      for (const target of [set.primary, ...set.secondaries]) {
        if (!this.health.has(target))
          this.health.set(target, new HealthCheckState(options.timing.failureThreshold));
      }
    }
  }

  /** True for a name this DNS answers (a failover name); any other name is not its to resolve. */
  has(name: string): boolean {
    return this.options.records.some((set) => set.name === name.toLowerCase());
  }

  /**
   * The load balancer `name` resolves to for the CDN: the answer it was last
   * given while that is younger than the TTL, else the record set's answer now.
   */
  resolve(name: string): string | undefined {
    const key = name.toLowerCase();
    const cached = this.cache.get(key);
    const now = this.now();
    if (cached !== undefined && cached.expires > now) return cached.target;
    const target = this.answer(key);
    if (target !== undefined)
      this.cache.set(key, { target, expires: now + this.options.timing.ttlSeconds * 1000 });
    return target;
  }

  /** The record set's answer now, as Route 53 gives it to a resolver whose cache is empty. */
  answer(name: string): string | undefined {
    const set = this.options.records.find((s) => s.name === name);
    if (set === undefined) return undefined;
    return failoverAnswer(
      set.primary,
      set.secondaries,
      (target) => this.health.get(target)?.healthy ?? false,
    );
  }

  state(): DnsState {
    return {
      endpoints: Object.fromEntries(
        [...this.health].map(([target, h]) => [
          target,
          { healthy: h.healthy, ...(h.changedAt === undefined ? {} : { changedAt: h.changedAt }) },
        ]),
      ),
      answers: Object.fromEntries(this.options.records.map((s) => [s.name, this.answer(s.name)!])),
    };
  }

  /** Runs the health checks every interval until stopped. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.checkAll(), this.options.timing.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round of health checks, every endpoint at once. As Route 53's checkers do, a round starts
   * every interval whether or not the last one's checks have answered; each result counts as it comes.
   */
  async checkAll(): Promise<void> {
    await Promise.all(
      [...this.health].map(async ([target, state]) => {
        const passed = await this.options.probe(target, this.options.timing).catch(() => false);
        state.record(passed, this.now());
      }),
    );
  }
}
