import { setTimeout as sleep } from 'node:timers/promises';
import { CloudError, type CloudErrorKind } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import type { Platform } from '../../model/platform.ts';
import type { CdnPort, DistributionConfig } from '../../ports/cdn.ts';
import type { DashboardPort } from '../../ports/dashboard.ts';
import type { EcsPort } from '../../ports/ecs.ts';
import type { Ports } from '../../ports/index.ts';
import type { LoadBalancerPort } from '../../ports/load-balancer.ts';
import type { MetricsPort } from '../../ports/metrics.ts';
import type { SpecStorePort } from '../../ports/store.ts';
import { simCdn } from './cdn.ts';
import type { CallRecord, SimContext } from './context.ts';
import { simDashboard } from './dashboard.ts';
import { advanceDeployments, simEcs } from './ecs.ts';
import { simLoadBalancer } from './load-balancer.ts';
import { simMetrics } from './metrics.ts';
import { replicateTable, simStore } from './store.ts';
import { TokenBucket } from './token-bucket.ts';
import {
  DEFAULT_SIM_REGIONS,
  emptyWorld,
  initialTicks,
  simPlatform,
  type SimCrashes,
  type SimHealthCheck,
  type SimRegion,
  type SimReplica,
  type SimTraffic,
  type SimWorld,
} from './world.ts';

export type { CallRecord } from './context.ts';
export { specHash } from './store.ts';

export interface ThrottleLimits {
  /** Sustained calls per second per operation and region, and the burst above it. */
  readRate: number;
  readBurst: number;
  writeRate: number;
  writeBurst: number;
}

export interface SimulatedCloudOptions {
  regions?: readonly string[];
  /** Start from this world (e.g. loaded from a state file) instead of an empty one. */
  world?: SimWorld;
  /** Added to every call. Default 0. */
  latencyMs?: number;
  /** Token buckets per operation and region; off when undefined. */
  throttle?: ThrottleLimits;
  /** Epoch milliseconds for leases; default Date.now. */
  clock?: () => number;
  /** Where the platform is; default the simulated one for `regions` (the local cloud gives its own). */
  platform?: Platform;
  /**
   * `immediate` (the default): every table write reaches the other replicas at
   * once, as a global table's second is nothing next to a minute's pass;
   * `manual`: only when `replicate` or `tick` is called, to test what a
   * replication lag or a partition does.
   */
  replication?: 'immediate' | 'manual';
  /**
   * Ticks a CloudFront change takes to reach the edges (Deployed): 1 (the
   * default) deploys every change at the next tick; more models CloudFront's
   * minutes of deploying, during which the edges keep the last Deployed config
   * (`edgeConfig`).
   */
  cdnDeployTicks?: number;
}

/** Real AWS throttling is per account, region and API; these are the simulated defaults. */
export const DEFAULT_THROTTLE: ThrottleLimits = {
  readRate: 100,
  readBurst: 200,
  writeRate: 50,
  writeBurst: 100,
};

const CLIENT_MAX_ATTEMPTS = 6;

/**
 * An in-memory AWS with the behaviour the reconciler must cope with: ECS
 * deployments and CloudFront changes that finish only when time moves on
 * (`tick`), ETags with PreconditionFailed, name and priority conflicts,
 * throttling, per-region outages, and a record of every call.
 */
export class SimulatedCloud implements SimContext {
  readonly world: SimWorld;
  readonly platform: Platform;
  readonly calls: CallRecord[] = [];
  /** Most calls seen in flight at once, per region, `cloudfront` and each region's `store:<region>`. */
  readonly maxInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly outages = new Map<string, CloudErrorKind>();
  /** Regions lost whole: their APIs, their table replica and their tasks, until restored. */
  private readonly lost = new Set<string>();
  private readonly stores = new Map<string, SpecStorePort>();
  private readonly replication: 'immediate' | 'manual';
  private readonly buckets = new Map<string, TokenBucket>();
  private writesLeft: number | undefined;
  /** Regions to lose once this many more writes were made there (their reconciler's writes, mid-pass). */
  private readonly losingAfter = new Map<string, number>();
  private crashed = false;
  private readonly latencyMs: number;
  private readonly throttle: ThrottleLimits | undefined;
  private readonly clock: () => number;
  private readonly cdnDeployTicks: number;
  /** Each InProgress distribution's ETag and the tick its change was made in. */
  private readonly deploying = new Map<string, { etag: string; since: number }>();
  /** The config each distribution's edges serve: its last one that reached Deployed. */
  private readonly edges = new Map<string, { etag: string; config: DistributionConfig }>();

  constructor(options: SimulatedCloudOptions = {}) {
    const regions =
      options.regions ?? (options.world ? Object.keys(options.world.regions) : DEFAULT_SIM_REGIONS);
    this.world = options.world ?? emptyWorld(regions);
    this.platform = options.platform ?? simPlatform(regions);
    this.latencyMs = options.latencyMs ?? 0;
    this.throttle = options.throttle;
    this.clock = options.clock ?? Date.now;
    this.replication = options.replication ?? 'immediate';
    this.cdnDeployTicks = options.cdnDeployTicks ?? 1;
  }

  readonly ecs: EcsPort = simEcs(this);
  readonly loadBalancer: LoadBalancerPort = simLoadBalancer(this);
  readonly cdn: CdnPort = simCdn(this);
  readonly metrics: MetricsPort = simMetrics(this);

  /** The dashboards, through the first region's endpoint. */
  get dashboard(): DashboardPort {
    return simDashboard(this, Object.keys(this.world.regions)[0]!);
  }

  /** The first region's replica of the table: the store a person uses unless they name another. */
  get store(): SpecStorePort {
    return this.storeIn(Object.keys(this.world.regions)[0]!);
  }

  /** The store on `region`'s replica of the table. */
  storeIn(region: string): SpecStorePort {
    this.replica(region);
    let store = this.stores.get(region);
    if (store === undefined) {
      store = simStore(this, region);
      this.stores.set(region, store);
    }
    return store;
  }

  /**
   * Ports as an SDK client in `region` sees them (default the first region):
   * its store is that region's replica of the table; throttled calls are
   * retried with backoff, a bounded number of times.
   */
  ports(region: string = Object.keys(this.world.regions)[0]!): Ports {
    const retrying = <T extends object>(api: T): T =>
      new Proxy(api, {
        get: (target, property, receiver) => {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            for (let attempt = 1; ; attempt += 1) {
              try {
                return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
              } catch (error) {
                if (
                  !(error instanceof CloudError) ||
                  error.kind !== 'Throttled' ||
                  attempt >= CLIENT_MAX_ATTEMPTS
                )
                  throw error;
                await sleep(Math.random() * 20 * 2 ** attempt);
              }
            }
          };
        },
      });
    return {
      ecs: retrying(this.ecs),
      loadBalancer: retrying(this.loadBalancer),
      cdn: retrying(this.cdn),
      metrics: retrying(this.metrics),
      store: retrying(this.storeIn(region)),
      dashboard: retrying(simDashboard(this, region)),
    };
  }

  // ----- time and faults -----

  /**
   * One reconcile interval passes: deployments finish (or fail, for tasks
   * that never become healthy: `failTasksOf`), CloudFront changes
   * deploy, drained services go, and the table's replicas catch up. A lost
   * region stands still.
   */
  tick(): void {
    const tick = (this.world.ticks ?? 0) + 1;
    this.world.ticks = tick;
    this.replicate();
    for (const [name, region] of Object.entries(this.world.regions)) {
      if (this.lost.has(name)) continue;
      advanceDeployments(region, {
        tick,
        neverHealthy: (family) => this.neverHealthy(region, family),
        crashes: (family) => this.crashes(region, family),
        initialTicks: initialTicks(this.world),
      });
      for (const service of Object.values(region.services)) {
        if (service.status !== 'ACTIVE') {
          service.status = 'INACTIVE';
          service.runningCount = 0;
          service.pendingCount = 0;
          service.desiredCount = 0;
        }
      }
    }
    for (const d of Object.values(this.world.distributions)) {
      if (d.status === 'InProgress') {
        // A change made since the last tick was made in the tick before this one.
        const seen = this.deploying.get(d.id);
        const since = seen?.etag === d.etag ? seen.since : tick - 1;
        if (tick - since >= this.cdnDeployTicks) {
          d.status = 'Deployed';
          this.deploying.delete(d.id);
        } else this.deploying.set(d.id, { etag: d.etag, since });
      }
      if (d.status === 'Deployed' && this.edges.get(d.id)?.etag !== d.etag)
        this.edges.set(d.id, { etag: d.etag, config: structuredClone(d.config) });
    }
  }

  /**
   * The config `id`'s edges serve: the last one that reached Deployed at a
   * tick (undefined before its first deploy). Until a change deploys, the
   * edges keep the one before it.
   */
  edgeConfig(id: string): DistributionConfig | undefined {
    const edge = this.edges.get(id);
    return edge === undefined ? undefined : structuredClone(edge.config);
  }

  /**
   * Every call to `region`'s ECS, ELB and CloudWatch (or to `cloudfront`, to
   * `store:<region>`, or to every replica with `store`) fails with `kind`
   * until healed.
   */
  failRegion(region: string, kind: CloudErrorKind = 'Unavailable'): void {
    this.outages.set(region, kind);
  }

  healRegion(region: string): void {
    this.outages.delete(region);
  }

  /**
   * The region is lost whole: its APIs and its replica of the table fail, its
   * replica neither sends nor receives replication, and its tasks stop.
   */
  loseRegion(region: string): void {
    this.region(region);
    this.lost.add(region);
    for (const service of Object.values(this.region(region).services)) {
      service.runningCount = 0;
      service.pendingCount = service.status === 'ACTIVE' ? service.desiredCount : 0;
    }
  }

  /**
   * Loses `region` whole after `writes` more successful writes made there (to
   * its ECS, ELB or replica of the table): a loss in the middle of its
   * reconciler's pass.
   */
  loseRegionAfterWrites(region: string, writes: number): void {
    this.region(region);
    if (writes <= 0) this.loseRegion(region);
    else this.losingAfter.set(region, writes);
  }

  /** The lost region is back: its replica catches up with the others (and they with it) at the next replication. */
  restoreRegion(region: string): void {
    this.lost.delete(region);
    this.losingAfter.delete(region);
  }

  isLost(region: string): boolean {
    return this.lost.has(region);
  }

  /**
   * The table's replication, as a global table does it within a second: every
   * write reaches every replica that is not lost, and where two replicas
   * wrote the same item the last writer wins.
   */
  replicate(): void {
    const live = Object.keys(this.world.replicas).filter((r) => !this.lost.has(r));
    const [hub, ...rest] = live.map((r) => this.replica(r));
    if (hub === undefined) return;
    for (const replica of rest) replicateTable(replica, hub);
    for (const replica of rest) replicateTable(hub, replica);
  }

  /** After `writes` more successful writes, every call fails, as if the reconciler's process died. */
  crashAfterWrites(writes: number): void {
    this.writesLeft = writes;
    this.crashed = writes === 0;
  }

  recover(): void {
    this.writesLeft = undefined;
    this.crashed = false;
  }

  /**
   * Tasks of `image` (as a task definition names it, `repository:tag`) never
   * become healthy: a deployment of them fails at the next tick and ECS's
   * circuit breaker rolls the service back.
   */
  failTasksOf(image: string): void {
    this.world.unhealthyImages = [...new Set([...(this.world.unhealthyImages ?? []), image])];
  }

  /**
   * Running tasks of `image` crash: `tasks` of each service every
   * `everyTicks` ticks. ECS starts a replacement at once, which runs (a new
   * target, `initial` while target health lags) the tick after.
   */
  crashTasksOf(image: string, crashes: Partial<SimCrashes> = {}): void {
    this.world.crashingImages = {
      ...this.world.crashingImages,
      [image]: { tasks: crashes.tasks ?? 1, everyTicks: crashes.everyTicks ?? 2 },
    };
  }

  /**
   * Target health lags: a task's target is `initial` for the health check's
   * interval × healthy threshold (in whole ticks) before it is `healthy`, and
   * CloudWatch's HealthyHostCount counts only healthy ones; a deployment
   * completes once its tasks are healthy. The default is the health check
   * tandem's target groups get on AWS (providers/aws/load-balancer.ts); ELB's
   * own default is 30 s × 5.
   */
  lagTargetHealth(check: SimHealthCheck = { intervalSeconds: 10, healthyThresholdCount: 2 }): void {
    this.world.targetHealth = check;
  }

  private neverHealthy(region: SimRegion, family: string): boolean {
    const images = this.world.unhealthyImages ?? [];
    if (images.length === 0) return false;
    const image = this.imageOf(region, family);
    return image !== undefined && images.includes(image);
  }

  private crashes(region: SimRegion, family: string): number {
    const image = this.imageOf(region, family);
    const crashes = image === undefined ? undefined : this.world.crashingImages?.[image];
    return crashes !== undefined && (this.world.ticks ?? 0) % crashes.everyTicks === 0 ? crashes.tasks : 0;
  }

  private imageOf(region: SimRegion, family: string): string | undefined {
    return region.taskDefinitions.find((t) => t.family === family)?.spec.image;
  }

  /** What a site's target group serves per minute, as the metrics port will report it. */
  setTraffic(region: string, targetGroup: string, traffic: SimTraffic): void {
    this.region(region).load[targetGroup] = traffic;
  }

  resetCalls(): void {
    this.calls.length = 0;
    this.maxInFlight.clear();
  }

  /** Calls that reached the API, split into reads and writes; failed attempts are counted too. */
  callCounts(filter: (call: CallRecord) => boolean = () => true): {
    reads: number;
    writes: number;
    throttled: number;
  } {
    const calls = this.calls.filter(filter);
    return {
      reads: calls.filter((c) => !c.write).length,
      writes: calls.filter((c) => c.write).length,
      throttled: calls.filter((c) => c.error === 'Throttled').length,
    };
  }

  /** Successful writes to the cloud (not the spec store). */
  cloudWrites(): CallRecord[] {
    return this.calls.filter((c) => c.write && c.service !== 'store' && c.error === undefined);
  }

  /**
   * The world with generated ids replaced by names, so two worlds reached by
   * different orders of the same actions compare equal.
   */
  snapshot(): unknown {
    const regions = Object.fromEntries(
      Object.entries(this.world.regions).map(([name, r]) => {
        const tgName = new Map(Object.values(r.targetGroups).map((tg) => [tg.arn, tg.name]));
        return [
          name,
          {
            taskDefinitions: r.taskDefinitions
              .filter((td) => td.active)
              .map((td) => `${td.family}:${td.revision}`)
              .sort(),
            services: Object.fromEntries(
              Object.values(r.services)
                .filter((s) => s.status !== 'INACTIVE')
                .sort((a, b) => (a.name < b.name ? -1 : 1))
                .map((s) => [
                  s.name,
                  {
                    status: s.status,
                    taskDefinition: s.taskDefinition,
                    desiredCount: s.desiredCount,
                    targetGroup: tgName.get(s.targetGroupArn ?? ''),
                    tags: s.tags,
                  },
                ]),
            ),
            targetGroups: Object.fromEntries(
              Object.values(r.targetGroups)
                .sort((a, b) => (a.name < b.name ? -1 : 1))
                .map((tg) => [
                  tg.name,
                  { healthCheckPath: tg.healthCheckPath, port: tg.port, tags: tg.tags },
                ]),
            ),
            rules: Object.values(r.rules)
              .map((rule) => ({
                header: rule.header,
                forward: rule.forward.map((f) => ({
                  targetGroup: tgName.get(f.targetGroupArn),
                  weight: f.weight,
                })),
                tags: rule.tags,
              }))
              .sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1)),
          },
        ];
      }),
    );
    const distributions = Object.values(this.world.distributions)
      .map((d) => ({ config: d.config, tags: d.tags }))
      .sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
    return { regions, distributions };
  }

  // ----- the API -----

  replica(region: string): SimReplica {
    const replica = this.world.replicas[region];
    if (replica === undefined) throw new CloudError('Invalid', region, `region ${region} is not simulated`);
    return replica;
  }

  tableWritten(): void {
    if (this.replication === 'immediate') this.replicate();
  }

  nextVersion(): number {
    this.world.tableVersion = (this.world.tableVersion ?? 0) + 1;
    return this.world.tableVersion;
  }

  region(name: string): SimRegion {
    const region = this.world.regions[name];
    if (region === undefined) throw new CloudError('Invalid', name, `region ${name} is not simulated`);
    return region;
  }

  nextId(): string {
    this.world.seq += 1;
    return this.world.seq.toString(16).padStart(8, '0');
  }

  async call<T>(
    service: CallRecord['service'],
    operation: string,
    region: string,
    write: boolean,
    body: () => T,
  ): Promise<T> {
    const scope = service === 'cloudfront' ? service : service === 'store' ? `store:${region}` : region;
    const inFlight = (this.inFlight.get(scope) ?? 0) + 1;
    this.inFlight.set(scope, inFlight);
    this.maxInFlight.set(scope, Math.max(this.maxInFlight.get(scope) ?? 0, inFlight));
    const record: CallRecord = { service, operation, region, write };
    this.calls.push(record);
    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      else await Promise.resolve();
      if (this.crashed)
        throw new CloudError('Unavailable', operation, 'the reconciler stopped (simulated crash)');
      if (service !== 'cloudfront' && this.lost.has(region))
        throw new CloudError('Unavailable', operation, `${region} is lost (simulated region loss)`);
      const outage = this.outages.get(scope) ?? (service === 'store' ? this.outages.get('store') : undefined);
      if (outage !== undefined)
        throw new CloudError(outage, operation, `${scope} is failing every call (simulated outage)`);
      this.takeToken(scope, operation, write);
      const result = body();
      const losing = write && service !== 'cloudfront' ? this.losingAfter.get(region) : undefined;
      if (losing !== undefined) {
        if (losing <= 1) {
          this.losingAfter.delete(region);
          this.loseRegion(region);
        } else this.losingAfter.set(region, losing - 1);
      }
      if (write && service !== 'store' && this.writesLeft !== undefined) {
        this.writesLeft -= 1;
        if (this.writesLeft <= 0) this.crashed = true;
      }
      return structuredClone(result);
    } catch (error) {
      record.error = error instanceof CloudError ? error.kind : 'Unavailable';
      throw error;
    } finally {
      this.inFlight.set(scope, (this.inFlight.get(scope) ?? 1) - 1);
    }
  }

  private takeToken(scope: string, operation: string, write: boolean): void {
    if (this.throttle === undefined) return;
    const key = `${scope}:${operation}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const t = this.throttle;
      bucket = write ? new TokenBucket(t.writeRate, t.writeBurst) : new TokenBucket(t.readRate, t.readBurst);
      this.buckets.set(key, bucket);
    }
    if (!bucket.take())
      throw new CloudError('Throttled', operation, `Rate exceeded for ${operation} in ${scope}`);
  }

  /** Lease and spec timestamps come from here, so tests control time. */
  now(): number {
    return this.clock();
  }
}
