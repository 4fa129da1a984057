import type { Logger } from 'pino';
import { keepSitesDashboardAsHolder } from '../../dashboard/publish.ts';
import { heartbeatsByRegion, type Liveness } from '../../decide/ownership.ts';
import { asCloudError } from '../../errors.ts';
import { loadBalancerDimension } from '../../model/naming.ts';
import type { Platform } from '../../model/platform.ts';
import type { Ports } from '../../ports/index.ts';
import type { Heartbeat, SpecStorePort } from '../../ports/store.ts';
import type { PassReport } from '../../reconcile/pass.ts';
import { regionPass } from '../../reconcile/round.ts';
import type { SimulatedCloud } from '../sim/cloud.ts';
import { startLoadBalancer, type LoadBalancerProxy } from './load-balancer.ts';
import type { LocalMetrics } from './metrics.ts';
import type { LocalStore } from './store.ts';
import { TaskRuntime } from './tasks.ts';
import type { RegionFault } from './types.ts';

export interface LocalRegionOptions {
  region: string;
  /** The control plane every region's APIs are answered by. */
  sim: SimulatedCloud;
  platform: Platform;
  metrics: LocalMetrics;
  /** This region's replica of the table. */
  store: LocalStore;
  runId: string;
  host: string;
  intervalSeconds: number;
  maxTasks?: number;
  healthCheckIntervalMs?: number;
  log: Logger;
  /** Called after every pass of this region's reconciler. */
  onPass?: (report: PassReport) => void;
  /**
   * How often its reconciler reads the spec items' generations and hashes to
   * notice an edit, and runs a pass for the edited sites at once, as the
   * table's stream wakes the reconciler on AWS. Default 500 ms; 0 watches not.
   */
  watchMs?: number;
}

const DEFAULT_WATCH_MS = 500;

/**
 * One region of the local cloud, everything a region of AWS has: its replica
 * of the table, its ECS scheduler running task processes, its load balancer,
 * and its own reconciler on its own interval, managing only this region (and
 * the global duties while it holds them). Each can be lost whole and brought
 * back without the others noticing but through the table and the CDN.
 */
export class LocalRegion {
  readonly name: string;
  readonly runtime: TaskRuntime;
  /** The reconciler's completed scheduled passes, over every site. */
  passes = 0;
  /** Its passes woken by spec edits, each over the edited sites only. */
  wakePasses = 0;
  private lb: LoadBalancerProxy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** Passes run one after another, never two at once: the scheduled ones and those edits wake. */
  private queue: Promise<void> = Promise.resolve();
  /** Each site's `generation:hash` as the watch last read it; undefined until its first read. */
  private specsSeen: Map<string, string> | undefined;
  /** The watch's own reader of this region's replica, which reports no malformed item (the passes do). */
  private watcher: SpecStorePort | undefined;
  private stopped = false;
  private isLost = false;
  private isFailed = false;
  /** How it fails while failed, and while lost (`--mode`). */
  private failMode: RegionFault = 'errors';
  private loseMode: RegionFault = 'refuse';

  constructor(private readonly options: LocalRegionOptions) {
    this.name = options.region;
    const where = options.platform.regions[this.name]!;
    this.runtime = new TaskRuntime({
      region: this.name,
      world: () => options.sim.world.regions[this.name]!,
      cluster: where.cluster,
      loadBalancerDimension: loadBalancerDimension(where.loadBalancerArn),
      ...(options.maxTasks === undefined ? {} : { maxTasks: options.maxTasks }),
      runId: options.runId,
      metrics: options.metrics,
      log: options.log,
      ...(options.healthCheckIntervalMs === undefined
        ? {}
        : { healthCheckIntervalMs: options.healthCheckIntervalMs }),
    });
  }

  /** Starts its tasks' scheduler and its load balancer; the reconciler starts with `reconcile`. */
  async start(): Promise<{ host: string; port: number }> {
    const { platform, sim, host } = this.options;
    const where = platform.regions[this.name]!;
    this.runtime.start();
    this.lb = await startLoadBalancer({
      host,
      onRequest: (r) => this.options.metrics.recordRequest(r),
      view: {
        region: this.name,
        loadBalancerDimension: loadBalancerDimension(where.loadBalancerArn),
        rules: () =>
          Object.values(sim.world.regions[this.name]!.rules)
            .filter((rule) => rule.listenerArn === where.listenerArn)
            .sort((a, b) => a.priority - b.priority),
        healthyTargets: (arn) => this.runtime.healthyTargets(arn),
        fault: () => this.fault,
      },
    });
    return { host, port: this.lb.port };
  }

  get lost(): boolean {
    return this.isLost;
  }

  get failed(): boolean {
    return this.isFailed;
  }

  /** How the region fails now: its lost mode while lost, its failed mode while failed; undefined while it serves. */
  get fault(): RegionFault | undefined {
    return this.isLost ? this.loseMode : this.isFailed ? this.failMode : undefined;
  }

  /** What its reconciler uses: the control plane's ports for this region, the local metrics, its own replica. */
  ports(): Ports {
    const { sim, store, metrics } = this.options;
    return { ...sim.ports(this.name), store: store.storeFor(this.name), metrics: metrics.port() };
  }

  /**
   * Runs its reconciler every interval, the first pass after `delayMs`, and
   * watches the spec items in between, so an edit is reconciled within a
   * second rather than at the next interval.
   */
  reconcile(delayMs = 0): void {
    if (this.stopped || this.isLost) return;
    this.timer = setTimeout(() => {
      void this.serially(() => this.pass()).finally(() =>
        this.reconcile(this.options.intervalSeconds * 1000),
      );
    }, delayMs);
    if (this.watchTimer === undefined && this.options.watchMs !== 0) this.watch();
  }

  /** Reads the spec items every `watchMs` and runs a pass for the sites whose item changed. */
  private watch(): void {
    if (this.stopped || this.isLost) return;
    this.watchTimer = setTimeout(() => {
      void this.edited()
        .then((sites) => (sites.length === 0 ? undefined : this.serially(() => this.pass(sites))))
        .catch((error: unknown) =>
          this.options.log.debug(
            { region: this.name, err: asCloudError(error, 'spec watch').message },
            'spec items not read; the scheduled pass reconciles them',
          ),
        )
        .finally(() => {
          this.watchTimer = undefined;
          this.watch();
        });
    }, this.options.watchMs ?? DEFAULT_WATCH_MS);
  }

  /**
   * The sites whose spec item was created, changed (its generation or its
   * document's hash: an edit without a generation bump counts) or deleted
   * since the last read. The first read only takes note: what is there then,
   * the scheduled pass reconciles.
   */
  private async edited(): Promise<string[]> {
    this.watcher ??= this.options.store.storeFor(this.name, { quiet: true });
    const specs = await this.watcher.listSpecs();
    const now = new Map(specs.map((s) => [s.name, `${s.generation}:${s.hash}`]));
    const before = this.specsSeen;
    this.specsSeen = now;
    if (before === undefined) return [];
    const names = new Set([...before.keys(), ...now.keys()]);
    return [...names].filter((name) => before.get(name) !== now.get(name)).sort();
  }

  /** Runs `work` after every pass queued before it. */
  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Data plane and APIs failing (`tandem fail-region`): its load balancer fails as `mode` says
   * (by default it answers 503), and its ECS, ELB and CloudWatch fail.
   */
  fail(mode: RegionFault = 'errors'): void {
    this.failMode = mode;
    this.isFailed = true;
    this.options.sim.failRegion(this.name);
  }

  heal(): void {
    this.isFailed = false;
    this.options.sim.healRegion(this.name);
  }

  /**
   * The region is lost whole (`tandem lose-region`): its tasks die, its load
   * balancer and its replica of the table answer no connection, its APIs
   * fail, and its reconciler stops. Its replica keeps its data for when it
   * is back.
   */
  async lose(mode: RegionFault = 'refuse'): Promise<void> {
    this.loseMode = mode;
    this.isLost = true;
    this.stopTimers();
    await this.queue;
    this.options.sim.loseRegion(this.name);
    this.options.store.lose();
    this.runtime.halt();
  }

  /** Back: its replica answers, its tasks start again, and its reconciler resumes. */
  restore(): void {
    this.isLost = false;
    // What the replica holds when it is back is reconciled by the first pass, not woken as edits.
    this.specsSeen = undefined;
    this.options.store.restore();
    this.options.sim.restoreRegion(this.name);
    this.runtime.resume();
    this.reconcile(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    await this.queue;
    await this.lb?.close();
    await this.runtime.stop();
  }

  private stopTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer);
    this.timer = undefined;
    this.watchTimer = undefined;
  }

  /**
   * One pass of this region's reconciler under its lease: over every site,
   * then the sites' dashboard if it holds that duty; or, woken by edits, over
   * `sites` only.
   */
  private async pass(sites?: readonly string[]): Promise<void> {
    const { log, platform, intervalSeconds } = this.options;
    if (this.stopped || this.isLost) return;
    const ports = this.ports();
    try {
      const report = await regionPass({
        ports,
        platform,
        region: this.name,
        holder: `local:${this.options.runId}:${this.name}`,
        leaseSeconds: intervalSeconds * 3,
        intervalSeconds,
        log,
        ...(sites === undefined ? {} : { sites }),
      });
      if (report === undefined) {
        log.warn(
          { region: this.name },
          "another reconciler holds this region's lease in the local store; its pass is skipped",
        );
        return;
      }
      if (sites !== undefined) {
        this.wakePasses += 1;
        log.info({ region: this.name, sites }, 'spec edited: pass for the edited sites');
        this.options.onPass?.(report);
        return;
      }
      const [statuses, heartbeats] = await Promise.all([
        ports.store.listStatuses(),
        ports.store.listHeartbeats(),
      ]);
      await keepSitesDashboardAsHolder({
        region: this.name,
        ports,
        platform,
        regionOrder: Object.keys(platform.regions),
        statuses,
        liveness: this.liveness(heartbeats),
        log,
      });
      this.passes += 1;
      this.options.onPass?.(report);
    } catch (error) {
      log.error(
        { region: this.name, err: asCloudError(error, 'reconcile').message },
        'reconcile pass failed; the next one retries',
      );
    }
  }

  liveness(heartbeats: readonly Heartbeat[]): Liveness {
    return {
      heartbeats: heartbeatsByRegion(heartbeats),
      now: Date.now(),
      intervalMs: this.options.intervalSeconds * 1000,
    };
  }
}
