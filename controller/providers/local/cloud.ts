import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { keepSitesDashboardAsHolder } from '../../dashboard/publish.ts';
import { SITES_DASHBOARD } from '../../dashboard/sites.ts';
import { heartbeatsByRegion, type Liveness } from '../../decide/ownership.ts';
import { asCloudError } from '../../errors.ts';
import { loadBalancerDimension } from '../../model/naming.ts';
import type { Platform } from '../../model/platform.ts';
import type { Ports } from '../../ports/index.ts';
import type { Heartbeat } from '../../ports/store.ts';
import type { PassReport } from '../../reconcile/pass.ts';
import { regionPass } from '../../reconcile/round.ts';
import { siteViews, type SiteView } from '../../reconcile/view.ts';
import { SimulatedCloud } from '../sim/cloud.ts';
import { simPlatform } from '../sim/world.ts';
import { startCdn } from './cdn.ts';
import {
  DEFAULT_LOCAL_DIR,
  LocalCloudError,
  quietSdkNodeWarning,
  removeEndpoints,
  writeEndpoints,
  type LocalEndpoints,
} from './endpoints.ts';
import { startDashboardPage } from './dashboard-page.ts';
import { startLoadBalancer } from './load-balancer.ts';
import { LocalMetrics } from './metrics.ts';
import { startLocalStore, type LocalStore } from './store.ts';
import { TaskRuntime } from './tasks.ts';
import type { LoadBalancerView } from './types.ts';

export const LOCAL_REGIONS = ['us-east-1', 'eu-west-1'] as const;

export interface LocalCloudOptions {
  /** Default us-east-1 and eu-west-1. */
  regions?: readonly string[];
  /** Holds the store's data (unless `inMemory`) and `endpoints.json`, which the CLI reads. Default `.tandem/local`. */
  dir?: string;
  /** Keep the spec store in memory: nothing survives a restart. */
  inMemory?: boolean;
  /** Interface every port listens on; default 127.0.0.1. */
  host?: string;
  /** The CDN, where the site is served; default 8080 (0: any free port). */
  cdnPort?: number;
  /** The dashboard page and the local cloud's control API; default 8090. */
  dashboardPort?: number;
  /** The DynamoDB endpoint of the spec store; default 8000. */
  storePort?: number;
  /** Seconds between reconcile passes; default 5. */
  intervalSeconds?: number;
  /** Seconds per metric datapoint (CloudWatch's are 60); default 5. */
  periodSeconds?: number;
  /** Most tasks running at once per region; default: as many as the specs ask for. */
  maxTasksPerRegion?: number;
  /** How long a distribution change takes to deploy; default 2 s. */
  cdnDeploySeconds?: number;
  /** Between health checks of each task; default 1000 ms. */
  healthCheckIntervalMs?: number;
  /**
   * A spec stored before the first pass unless its site is stored already, so
   * that pass converges it rather than the one an interval later.
   */
  applyOnStart?: { name: string; document: unknown };
  log: Logger;
  /** Called after every pass that ran. */
  onPass?: (report: PassReport) => void;
}

/**
 * The whole of tandem on one machine: the spec store (DynamoDB on dynalite),
 * two regions whose services run real processes behind real load balancers,
 * a CDN that fails over between them, local metrics, the dashboard page, and
 * the same reconciler as the Lambda on an interval. The ECS, ELB and
 * CloudFront APIs are the simulated cloud's, whose behaviour the contract
 * suites hold to the AWS adapters'; this adds the data plane behind them.
 */
export class LocalCloud {
  readonly runId = randomBytes(4).toString('hex');
  readonly sim: SimulatedCloud;
  readonly platform: Platform;
  readonly metrics: LocalMetrics;
  private readonly runtimes = new Map<string, TaskRuntime>();
  private readonly failed = new Set<string>();
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly deploying = new Map<string, { etag: string; since: number }>();
  private passTimer: NodeJS.Timeout | undefined;
  private deployTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private passes = 0;
  endpoints: LocalEndpoints | undefined;
  /** Whether `applyOnStart` stored its spec (false: a site of that name was stored already). */
  appliedOnStart = false;

  private constructor(
    private readonly options: LocalCloudOptions,
    private readonly store: LocalStore,
  ) {
    const regions = [...(options.regions ?? LOCAL_REGIONS)];
    const base = simPlatform(regions);
    this.platform = {
      ...base,
      regions: Object.fromEntries(
        Object.entries(base.regions).map(([name, where]) => [
          name,
          { ...where, loadBalancerDnsName: `tandem-${name}.elb.localhost` },
        ]),
      ),
      // A fresh secret per run: only requests through this CDN reach the load balancers.
      originSecret: randomBytes(16).toString('hex'),
      metricPeriodSeconds: options.periodSeconds ?? 5,
    };
    this.sim = new SimulatedCloud({ regions, platform: this.platform });
    this.metrics = new LocalMetrics({
      periodSeconds: this.platform.metricPeriodSeconds!,
      failing: (region) => this.failed.has(region),
    });
  }

  /** What `region`'s reconciler uses: the simulated control plane, the local metrics and the store as that region's. */
  portsOf(region: string): Ports {
    return { ...this.sim.ports(region), store: this.store.storeFor(region), metrics: this.metrics.port() };
  }

  private get primary(): string {
    return Object.keys(this.platform.regions)[0]!;
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    quietSdkNodeWarning();
    const dir = options.dir ?? DEFAULT_LOCAL_DIR;
    mkdirSync(dir, { recursive: true });
    const host = options.host ?? '127.0.0.1';
    const reported = new Set<string>();
    const store = await startLocalStore({
      ...(options.inMemory ? {} : { dir: join(dir, 'store') }),
      host,
      port: options.storePort ?? 8000,
      // Every pass reads every item: say what is wrong with one once, not every few seconds.
      onMalformed: (error) => {
        if (reported.has(error.message)) return;
        reported.add(error.message);
        options.log.warn({ item: error.resource, err: error.message }, 'malformed item in the store');
      },
    }).catch((error: unknown) => {
      throw portInUse(error, '--store-port') ?? error;
    });
    const cloud = new LocalCloud(options, store);
    cloud.closers.push(() => store.close());
    try {
      await cloud.startDataPlane(host, dir);
    } catch (error) {
      await cloud.stop();
      throw error;
    }
    return cloud;
  }

  private async startDataPlane(host: string, dir: string): Promise<void> {
    const { options, platform } = this;
    const origins = new Map<string, { host: string; port: number }>();
    for (const [region, where] of Object.entries(platform.regions)) {
      const world = () => this.sim.world.regions[region]!;
      const runtime = new TaskRuntime({
        region,
        world,
        cluster: where.cluster,
        loadBalancerDimension: loadBalancerDimension(where.loadBalancerArn),
        ...(options.maxTasksPerRegion === undefined ? {} : { maxTasks: options.maxTasksPerRegion }),
        runId: this.runId,
        metrics: this.metrics,
        log: options.log,
        ...(options.healthCheckIntervalMs === undefined
          ? {}
          : { healthCheckIntervalMs: options.healthCheckIntervalMs }),
      });
      this.runtimes.set(region, runtime);
      this.closers.push(() => runtime.stop());
      runtime.start();
      const view: LoadBalancerView = {
        region,
        loadBalancerDimension: loadBalancerDimension(where.loadBalancerArn),
        rules: () =>
          Object.values(world().rules)
            .filter((rule) => rule.listenerArn === where.listenerArn)
            .sort((a, b) => a.priority - b.priority),
        healthyTargets: (arn) => runtime.healthyTargets(arn),
        failed: () => this.failed.has(region),
      };
      const lb = await startLoadBalancer({ view, host, onRequest: (r) => this.metrics.recordRequest(r) });
      this.closers.push(() => lb.close());
      origins.set(where.loadBalancerDnsName, { host, port: lb.port });
    }

    const cdn = await startCdn({
      host,
      port: options.cdnPort ?? 8080,
      view: {
        distributions: () =>
          Object.values(this.sim.world.distributions)
            .filter((d) => d.config.enabled)
            .map(({ id, domainName, config }) => ({ id, domainName, config })),
        resolveOrigin: (name) => origins.get(name),
      },
    }).catch((error: unknown) => {
      throw portInUse(error, '--cdn-port') ?? error;
    });
    this.closers.push(() => cdn.close());

    const page = await startDashboardPage({
      host,
      port: options.dashboardPort ?? 8090,
      source: {
        periodSeconds: platform.metricPeriodSeconds!,
        dashboardBody: () => this.sim.world.dashboards?.[SITES_DASHBOARD],
        // The page reads metrics even for a failed region: the outage is the reconciler's to see.
        metricData: (region, queries, start, end) =>
          Promise.resolve(this.metrics.read(region, queries, start, end)),
        sites: async () => [...(await this.views()).values()],
        regions: () => Object.keys(platform.regions).map((name) => ({ name, failed: this.failed.has(name) })),
        cdn: () => cdn.stats(),
      },
      extraRoutes: (req, res) => this.controlApi(req, res),
    }).catch((error: unknown) => {
      throw portInUse(error, '--dashboard-port') ?? error;
    });
    this.closers.push(() => page.close());

    const url = (port: number) => `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
    this.endpoints = {
      pid: process.pid,
      runId: this.runId,
      regions: Object.keys(platform.regions),
      cdn: `${url(cdn.port)}/`,
      dashboard: `${url(page.port)}/`,
      store: this.store.endpoint,
      table: this.store.tableName,
      intervalSeconds: options.intervalSeconds ?? 5,
    };
    writeEndpoints(dir, this.endpoints);
    this.closers.push(() => Promise.resolve(removeEndpoints(dir, this.runId)));

    const start = options.applyOnStart;
    if (start !== undefined) this.appliedOnStart = await this.applyIfAbsent(start.name, start.document);
    this.deployTimer = setInterval(() => this.deployDistributions(), 250);
    this.schedulePass(0);
  }

  /** Every site as the primary's replica of the table shows it: each region's report merged. */
  async views(): Promise<Map<string, SiteView>> {
    const store = this.store.storeFor(this.primary);
    const [statuses, heartbeats] = await Promise.all([store.listStatuses(), store.listHeartbeats()]);
    return siteViews(statuses, this.liveness(heartbeats));
  }

  /** Stores the spec unless a site of that name is stored already; true when it stored it. */
  async applyIfAbsent(name: string, document: unknown): Promise<boolean> {
    const store = this.store.storeFor(this.primary);
    if ((await store.getSpec(name)) !== undefined) return false;
    await store.putSpec(name, document, 0);
    return true;
  }

  /** Every request to the region's load balancer gets a 503 and every API call there fails, until healed. */
  failRegion(region: string): void {
    this.checkRegion(region);
    this.failed.add(region);
    this.sim.failRegion(region);
  }

  healRegion(region: string): void {
    this.checkRegion(region);
    this.failed.delete(region);
    this.sim.healRegion(region);
  }

  /** Process ids of every task running now, in every region. */
  taskPids(): number[] {
    return [...this.runtimes.values()].flatMap((r) => r.pids());
  }

  /** Stops the loop, every task and every server; resolves when all are gone. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.passTimer !== undefined) clearTimeout(this.passTimer);
    if (this.deployTimer !== undefined) clearInterval(this.deployTimer);
    await this.running;
    const errors: unknown[] = [];
    for (const close of this.closers.reverse()) {
      try {
        await close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0)
      this.options.log.warn({ errors: errors.map(String) }, 'some parts did not stop cleanly');
  }

  private checkRegion(region: string): void {
    if (this.platform.regions[region] === undefined)
      throw new LocalCloudError(
        `no region ${region} in the local cloud; its regions are ${Object.keys(this.platform.regions).join(', ')}`,
      );
  }

  private schedulePass(delayMs: number): void {
    if (this.stopped) return;
    this.passTimer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedulePass((this.options.intervalSeconds ?? 5) * 1000);
      });
    }, delayMs);
  }

  /**
   * One pass of each region's reconciler, the same one the Lambda runs, each
   * under its region's lease and recording its heartbeat; then the sites'
   * dashboard, by the region holding that duty.
   */
  private async pass(): Promise<void> {
    const { log } = this.options;
    const interval = this.options.intervalSeconds ?? 5;
    for (const region of Object.keys(this.platform.regions)) {
      const ports = this.portsOf(region);
      try {
        const report = await regionPass({
          ports,
          platform: this.platform,
          region,
          holder: `local:${this.runId}:${region}`,
          leaseSeconds: interval * 3,
          intervalSeconds: interval,
          log,
        });
        if (report === undefined) {
          log.warn(
            { region },
            "another reconciler holds this region's lease on the local store; its pass is skipped",
          );
          continue;
        }
        const [statuses, heartbeats] = await Promise.all([
          ports.store.listStatuses(),
          ports.store.listHeartbeats(),
        ]);
        await keepSitesDashboardAsHolder({
          region,
          ports,
          platform: this.platform,
          regionOrder: Object.keys(this.platform.regions),
          statuses,
          liveness: this.liveness(heartbeats),
          log,
        });
        this.options.onPass?.(report);
      } catch (error) {
        log.error(
          { region, err: asCloudError(error, 'reconcile').message },
          'reconcile pass failed; the next one retries',
        );
      }
    }
    this.passes += 1;
  }

  private liveness(heartbeats: readonly Heartbeat[]): Liveness {
    return {
      heartbeats: heartbeatsByRegion(heartbeats),
      now: Date.now(),
      intervalMs: (this.options.intervalSeconds ?? 5) * 1000,
    };
  }

  /** CloudFront changes deploy after a while: InProgress turns Deployed once a config has held for cdnDeploySeconds. */
  private deployDistributions(): void {
    const now = Date.now();
    const after = (this.options.cdnDeploySeconds ?? 2) * 1000;
    for (const d of Object.values(this.sim.world.distributions)) {
      if (d.status === 'Deployed') {
        this.deploying.delete(d.id);
        continue;
      }
      const seen = this.deploying.get(d.id);
      if (seen === undefined || seen.etag !== d.etag) this.deploying.set(d.id, { etag: d.etag, since: now });
      else if (now - seen.since >= after) d.status = 'Deployed';
    }
  }

  /** The control API behind `tandem fail-region`, `heal-region` and the tests. */
  private controlApi(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://local');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method === 'GET' && url.pathname === '/api/local') {
      send(200, { ...this.endpoints, passes: this.passes, taskPids: this.taskPids() });
      return true;
    }
    const match = /^\/api\/regions\/([^/]+)\/(fail|heal)$/.exec(url.pathname);
    if (match === null) return false;
    if (req.method !== 'POST') {
      send(405, { error: `use POST ${url.pathname}` });
      return true;
    }
    const region = decodeURIComponent(match[1]!);
    try {
      if (match[2] === 'fail') this.failRegion(region);
      else this.healRegion(region);
    } catch (error) {
      send(404, { error: (error as Error).message });
      return true;
    }
    this.options.log.info({ region, failed: this.failed.has(region) }, `region ${match[2]}ed`);
    send(200, { region, failed: this.failed.has(region) });
    return true;
  }
}

/** A clear error for a port taken by another program (often an earlier `tandem up`), else undefined. */
function portInUse(error: unknown, flag: string): LocalCloudError | undefined {
  const e = error as { code?: string; port?: number };
  if (e.code !== 'EADDRINUSE') return undefined;
  return new LocalCloudError(
    `port ${e.port} is in use (another tandem up, or another program, listens there): stop it, or choose another port with ${flag} (0 picks a free one)`,
  );
}
