import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SITES_DASHBOARD } from '../../dashboard/sites.ts';
import {
  failoverBackupRegion,
  failoverOriginName,
  HEALTH_CHECK_PATH,
  type DnsFailoverTiming,
} from '../../model/dns-failover.ts';
import type { Platform } from '../../model/platform.ts';
import type { Ports } from '../../ports/index.ts';
import type { PassReport } from '../../reconcile/pass.ts';
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
import { LocalDns, type DnsState } from './dns.ts';
import { LocalMetrics } from './metrics.ts';
import { LocalRegion } from './region.ts';
import { isRegionFault, REGION_FAULTS, type OriginRoute, type RegionFault } from './types.ts';
import { TableReplicator } from './replicator.ts';
import { startLocalStore, type LocalStore } from './store.ts';

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
  /** The DynamoDB endpoint of the first region's replica of the table; the next regions' follow it (default 8000, 8001, …; 0: any free ports). */
  storePort?: number;
  /** How long a write to one replica takes to reach the others; default 500 ms (a global table: about a second). */
  replicationDelayMs?: number;
  /** Seconds between reconcile passes; default 5. */
  intervalSeconds?: number;
  /**
   * How often each region's reconciler reads its replica's spec items to
   * run a pass for an edited site at once (the stream's part on AWS);
   * default 500 ms, 0 to rely on the interval alone.
   */
  watchMs?: number;
  /** Seconds per metric datapoint (CloudWatch's are 60); default 5. */
  periodSeconds?: number;
  /** Most tasks running at once per region; default: as many as the specs ask for. */
  maxTasksPerRegion?: number;
  /** How long a distribution change takes to deploy; default 2 s. */
  cdnDeploySeconds?: number;
  /** Between health checks of each task; default 1000 ms. */
  healthCheckIntervalMs?: number;
  /**
   * DNS failover for the origins (model/dns-failover.ts): the health checks' rhythm and the
   * answers' TTL, by default LOCAL_DNS_FAILOVER (Route 53's, compressed as the metric period is);
   * false gives the platform no domain, so origins are reached by their load balancers' own names.
   */
  dnsFailover?: DnsFailoverTiming | false;
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
 * The local cloud's platform domain: with it, each region has a failover name
 * (`<region>.failover.tandem.localhost`) that the local DNS answers.
 */
export const LOCAL_DOMAIN = 'tandem.localhost';

/**
 * Route 53's failover rhythm scaled to the local cloud's clock (its metric
 * period is 5 s against CloudWatch's 60): a check a second, three in a row
 * to change health, answers kept 5 s.
 */
export const LOCAL_DNS_FAILOVER: DnsFailoverTiming = {
  intervalSeconds: 1,
  failureThreshold: 3,
  ttlSeconds: 5,
  connectTimeoutSeconds: 1,
  answerTimeoutSeconds: 1,
};

/**
 * The whole of tandem on one machine: two regions, each with its own replica
 * of the table (DynamoDB on dynalite, replicated between them as a global
 * table is), its own services running real processes behind a real load
 * balancer, and its own reconciler (the Lambda's, on an interval); a CDN that
 * fails over between them; local metrics; and the dashboard page. The ECS,
 * ELB and CloudFront APIs are the simulated cloud's, whose behaviour the
 * contract suites hold to the AWS adapters'; this adds the data plane behind
 * them. A region can be failed (its data plane) or lost whole.
 */
export class LocalCloud {
  readonly runId = randomBytes(4).toString('hex');
  readonly sim: SimulatedCloud;
  readonly platform: Platform;
  readonly metrics: LocalMetrics;
  private readonly regions = new Map<string, LocalRegion>();
  private readonly closers: (() => Promise<void>)[] = [];
  private dns: LocalDns | undefined;
  private readonly deploying = new Map<string, { etag: string; since: number }>();
  private deployTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  endpoints: LocalEndpoints | undefined;
  /** Whether `applyOnStart` stored its spec (false: a site of that name was stored already). */
  appliedOnStart = false;

  private constructor(
    private readonly options: LocalCloudOptions,
    private readonly stores: ReadonlyMap<string, LocalStore>,
    private readonly replicator: TableReplicator,
  ) {
    const regions = [...stores.keys()];
    const base = simPlatform(regions);
    this.platform = {
      ...base,
      regions: Object.fromEntries(
        Object.entries(base.regions).map(([name, where]) => [
          name,
          {
            ...where,
            loadBalancerDnsName: `tandem-${name}.elb.localhost`,
            ...(options.dnsFailover === false
              ? {}
              : { failoverOriginName: failoverOriginName(name, LOCAL_DOMAIN) }),
          },
        ]),
      ),
      // A fresh secret per run: only requests through this CDN reach the load balancers.
      originSecret: randomBytes(16).toString('hex'),
      metricPeriodSeconds: options.periodSeconds ?? 5,
    };
    this.sim = new SimulatedCloud({ regions, platform: this.platform });
    this.metrics = new LocalMetrics({
      periodSeconds: this.platform.metricPeriodSeconds!,
      failing: (region) =>
        this.regions.get(region)?.failed === true || this.regions.get(region)?.lost === true,
    });
    for (const region of regions) {
      this.regions.set(
        region,
        new LocalRegion({
          region,
          sim: this.sim,
          platform: this.platform,
          metrics: this.metrics,
          store: stores.get(region)!,
          runId: this.runId,
          host: options.host ?? '127.0.0.1',
          intervalSeconds: options.intervalSeconds ?? 5,
          ...(options.watchMs === undefined ? {} : { watchMs: options.watchMs }),
          ...(options.maxTasksPerRegion === undefined ? {} : { maxTasks: options.maxTasksPerRegion }),
          ...(options.healthCheckIntervalMs === undefined
            ? {}
            : { healthCheckIntervalMs: options.healthCheckIntervalMs }),
          log: options.log,
          ...(options.onPass === undefined ? {} : { onPass: options.onPass }),
        }),
      );
    }
  }

  /** What `region`'s reconciler uses: the simulated control plane, the local metrics and its own replica. */
  portsOf(region: string): Ports {
    return this.region(region).ports();
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    quietSdkNodeWarning();
    const dir = options.dir ?? DEFAULT_LOCAL_DIR;
    mkdirSync(dir, { recursive: true });
    const host = options.host ?? '127.0.0.1';
    const regions = [...(options.regions ?? LOCAL_REGIONS)];
    const reported = new Set<string>();
    const stores = new Map<string, LocalStore>();
    const closeStores = async () => {
      for (const store of stores.values()) await store.close();
    };
    const base = options.storePort ?? 8000;
    try {
      for (const [i, region] of regions.entries()) {
        // The first region keeps the directory a single-table local cloud used, so its data carries over.
        const data = i === 0 ? join(dir, 'store') : join(dir, `store-${region}`);
        const store = await startLocalStore({
          ...(options.inMemory ? {} : { dir: data }),
          host,
          port: base === 0 ? 0 : base + i,
          // Every pass reads every item: say what is wrong with one once, not every few seconds.
          onMalformed: (error) => {
            if (reported.has(error.message)) return;
            reported.add(error.message);
            options.log.warn({ item: error.resource, err: error.message }, 'malformed item in the store');
          },
        }).catch((error: unknown) => {
          throw portInUse(error, '--store-port') ?? error;
        });
        stores.set(region, store);
      }
    } catch (error) {
      await closeStores();
      throw error;
    }
    const replicator = new TableReplicator(
      [...stores].map(([region, store]) => ({ region, client: store.client, tableName: store.tableName })),
      { delayMs: options.replicationDelayMs ?? 500, log: options.log },
    );
    const cloud = new LocalCloud(options, stores, replicator);
    cloud.closers.push(closeStores);
    try {
      await replicator.sync();
      replicator.start();
      cloud.closers.push(() => replicator.stop());
      await cloud.startDataPlane(host, dir);
    } catch (error) {
      await cloud.stop();
      throw error;
    }
    return cloud;
  }

  private async startDataPlane(host: string, dir: string): Promise<void> {
    const { options, platform } = this;
    const origins = new Map<string, { host: string; port: number; region: LocalRegion }>();
    for (const region of this.regions.values()) {
      this.closers.push(() => region.stop());
      origins.set(platform.regions[region.name]!.loadBalancerDnsName, { ...(await region.start()), region });
    }

    // The path to a region's load balancer: refused or dropped while it fails that way, else open.
    const route = (name: string): OriginRoute | undefined => {
      const origin = origins.get(name);
      if (origin === undefined) return undefined;
      const fault = origin.region.fault;
      const path = fault === 'refuse' ? 'refused' : fault === 'blackhole' ? 'dropped' : 'open';
      return { host: origin.host, port: origin.port, path };
    };
    if (options.dnsFailover !== false) {
      const regionNames = [...this.regions.keys()];
      this.dns = new LocalDns({
        // As the platform stacks write them: each name's primary its own region, its secondary one backup.
        records: regionNames.map((name) => {
          const backup = failoverBackupRegion(name, regionNames);
          return {
            name: platform.regions[name]!.failoverOriginName!,
            primary: platform.regions[name]!.loadBalancerDnsName,
            secondaries: backup === undefined ? [] : [platform.regions[backup]!.loadBalancerDnsName],
          };
        }),
        timing: options.dnsFailover ?? LOCAL_DNS_FAILOVER,
        probe: (target, timing) => probeHealth(route(target), timing),
      });
      this.dns.start();
      this.closers.push(() => Promise.resolve(this.dns?.stop()));
    }

    const cdn = await startCdn({
      host,
      port: options.cdnPort ?? 8080,
      view: {
        distributions: () =>
          Object.values(this.sim.world.distributions)
            .filter((d) => d.config.enabled)
            .map(({ id, domainName, config }) => ({ id, domainName, config })),
        // A failover name is resolved as a resolver would, the answer kept for its TTL.
        resolveOrigin: (name) => {
          const dns = this.dns;
          const target = dns?.has(name) === true ? dns.resolve(name) : name;
          return target === undefined ? undefined : route(target);
        },
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
        regions: () => {
          const dns = this.dnsAnswers();
          return [...this.regions.values()].map((r) => ({
            name: r.name,
            failed: r.failed || r.lost,
            lost: r.lost,
            ...(dns?.[r.name] === undefined ? {} : { dns: dns[r.name] }),
          }));
        },
        cdn: () => cdn.stats(),
      },
      extraRoutes: (req, res) => this.controlApi(req, res),
    }).catch((error: unknown) => {
      throw portInUse(error, '--dashboard-port') ?? error;
    });
    this.closers.push(() => page.close());

    const url = (port: number) => `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
    const endpointOf = (store: LocalStore) =>
      store.endpoint.replace(/^http:\/\/0\.0\.0\.0:/, 'http://localhost:');
    this.endpoints = {
      pid: process.pid,
      runId: this.runId,
      regions: [...this.regions.keys()],
      cdn: `${url(cdn.port)}/`,
      dashboard: `${url(page.port)}/`,
      store: endpointOf(this.stores.get(this.primary)!),
      stores: Object.fromEntries([...this.stores].map(([region, store]) => [region, endpointOf(store)])),
      table: this.stores.get(this.primary)!.tableName,
      intervalSeconds: options.intervalSeconds ?? 5,
    };
    writeEndpoints(dir, this.endpoints);
    this.closers.push(() => Promise.resolve(removeEndpoints(dir, this.runId)));

    const start = options.applyOnStart;
    if (start !== undefined) {
      this.appliedOnStart = await this.applyIfAbsent(start.name, start.document);
      // Every region's first pass sees it, not only the replica it was written to.
      await this.replicator.flush();
    }
    this.deployTimer = setInterval(() => this.deployDistributions(), 250);
    for (const region of this.regions.values()) region.reconcile(0);
  }

  private get primary(): string {
    return [...this.regions.keys()][0]!;
  }

  /** The first region that is not lost: where the local cloud itself reads and writes the table. */
  private get live(): LocalRegion {
    const live = [...this.regions.values()].find((r) => !r.lost);
    if (live === undefined)
      throw new LocalCloudError('every region is lost: restore one with tandem restore-region');
    return live;
  }

  /** Every site as the first live region's replica shows it: each region's report merged. */
  async views(): Promise<Map<string, SiteView>> {
    const region = this.live;
    const store = region.ports().store;
    const [statuses, heartbeats] = await Promise.all([store.listStatuses(), store.listHeartbeats()]);
    return siteViews(statuses, region.liveness(heartbeats));
  }

  /** Stores the spec unless a site of that name is stored already; true when it stored it. */
  async applyIfAbsent(name: string, document: unknown): Promise<boolean> {
    const store = this.live.ports().store;
    if ((await store.getSpec(name)) !== undefined) return false;
    await store.putSpec(name, document, 0);
    return true;
  }

  /**
   * Every API call in the region fails, and its load balancer fails as `mode` says (by default
   * it answers 503 to every request), until healed.
   */
  failRegion(region: string, mode: RegionFault = 'errors'): void {
    this.region(region).fail(mode);
  }

  healRegion(region: string): void {
    this.region(region).heal();
  }

  /** The region is lost whole: tasks, load balancer, reconciler and replica of the table, until restored. */
  async loseRegion(region: string, mode: RegionFault = 'refuse'): Promise<void> {
    const lost = this.region(region);
    this.replicator.pause(region);
    await lost.lose(mode);
  }

  restoreRegion(region: string): void {
    const back = this.region(region);
    this.replicator.resume(region);
    back.restore();
  }

  /** The local DNS's view: each load balancer's health as its checks see it and each failover name's answer. */
  dnsState(): DnsState | undefined {
    return this.dns?.state();
  }

  /** For each region: whether its health check passes, and which region its failover name answers now. */
  dnsAnswers(): Record<string, { healthy: boolean; answers: string }> | undefined {
    const state = this.dns?.state();
    if (state === undefined) return undefined;
    const regionOf = (balancer: string) =>
      Object.values(this.platform.regions).find((r) => r.loadBalancerDnsName === balancer)?.region ??
      balancer;
    return Object.fromEntries(
      Object.values(this.platform.regions).map((r) => [
        r.region,
        {
          healthy: state.endpoints[r.loadBalancerDnsName]?.healthy ?? false,
          answers: regionOf(state.answers[r.failoverOriginName!] ?? r.loadBalancerDnsName),
        },
      ]),
    );
  }

  /**
   * CloudFront's API (its control plane, in us-east-1) fails every call while
   * down; the CDN itself keeps serving the configuration it has.
   */
  setCdnApi(reachable: boolean): void {
    if (reachable) this.sim.healRegion('cloudfront');
    else this.sim.failRegion('cloudfront', 'Unavailable');
  }

  /** Completed scheduled passes of each region's reconciler. */
  passesByRegion(): Record<string, number> {
    return Object.fromEntries([...this.regions.values()].map((r) => [r.name, r.passes]));
  }

  /** Completed passes of each region's reconciler that a spec edit woke (watchMs). */
  wakePassesByRegion(): Record<string, number> {
    return Object.fromEntries([...this.regions.values()].map((r) => [r.name, r.wakePasses]));
  }

  /** Process ids of every task running now, in every region. */
  taskPids(): number[] {
    return [...this.regions.values()].flatMap((r) => r.runtime.pids());
  }

  /** Stops every reconciler, every task and every server; resolves when all are gone. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.deployTimer !== undefined) clearInterval(this.deployTimer);
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

  private region(name: string): LocalRegion {
    const region = this.regions.get(name);
    if (region === undefined)
      throw new LocalCloudError(
        `no region ${name} in the local cloud; its regions are ${[...this.regions.keys()].join(', ')}`,
      );
    return region;
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

  /**
   * The control API behind `tandem fail-region`, `heal-region`, `lose-region`, `restore-region`,
   * `fail-cdn-api`, `heal-cdn-api` and the tests.
   */
  private controlApi(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://local');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method === 'GET' && url.pathname === '/api/local') {
      const passes = this.passesByRegion();
      send(200, {
        ...this.endpoints,
        passes: Math.max(0, ...Object.values(passes)),
        passesByRegion: passes,
        lost: [...this.regions.values()].filter((r) => r.lost).map((r) => r.name),
        taskPids: this.taskPids(),
      });
      return true;
    }
    const cdnApi = /^\/api\/cdn-api\/(fail|heal)$/.exec(url.pathname);
    if (cdnApi !== null) {
      if (req.method !== 'POST') send(405, { error: `use POST ${url.pathname}` });
      else {
        this.setCdnApi(cdnApi[1] === 'heal');
        this.options.log.info({ reachable: cdnApi[1] === 'heal' }, "CloudFront's API");
        send(200, { reachable: cdnApi[1] === 'heal' });
      }
      return true;
    }
    const match = /^\/api\/regions\/([^/]+)\/(fail|heal|lose|restore)$/.exec(url.pathname);
    if (match === null) return false;
    if (req.method !== 'POST') {
      send(405, { error: `use POST ${url.pathname}` });
      return true;
    }
    const name = decodeURIComponent(match[1]!);
    const verb = match[2] as 'fail' | 'heal' | 'lose' | 'restore';
    const mode = url.searchParams.get('mode') ?? undefined;
    if (mode !== undefined && (!isRegionFault(mode) || (verb !== 'fail' && verb !== 'lose'))) {
      send(400, {
        error:
          verb === 'fail' || verb === 'lose'
            ? `mode is ${JSON.stringify(mode)}: use one of ${REGION_FAULTS.join(', ')}`
            : `${verb} takes no mode`,
      });
      return true;
    }
    const act = async () => {
      if (verb === 'fail') this.failRegion(name, mode);
      else if (verb === 'heal') this.healRegion(name);
      else if (verb === 'lose') await this.loseRegion(name, mode);
      else this.restoreRegion(name);
    };
    act().then(
      () => {
        const region = this.region(name);
        const state = { region: name, failed: region.failed, lost: region.lost, fault: region.fault ?? null };
        this.options.log.info(state, `region ${verb}`);
        send(200, state);
      },
      (error: unknown) => send(404, { error: (error as Error).message }),
    );
    return true;
  }
}

/**
 * One Route 53 health check of a load balancer: GET the health path, passing
 * on a 2xx or 3xx. A refused connection fails at once; a dropped one, or one
 * that opens and does not answer, fails at the timing's timeouts.
 */
async function probeHealth(route: OriginRoute | undefined, timing: DnsFailoverTiming): Promise<boolean> {
  if (route === undefined || route.path === 'refused') return false;
  if (route.path === 'dropped') {
    await new Promise((resolve) => setTimeout(resolve, timing.connectTimeoutSeconds * 1000).unref());
    return false;
  }
  return new Promise((resolve) => {
    const request = http.get(
      { host: route.host, port: route.port, path: HEALTH_CHECK_PATH, agent: false },
      (response) => {
        response.resume();
        resolve(response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 400);
      },
    );
    request.setTimeout((timing.connectTimeoutSeconds + timing.answerTimeoutSeconds) * 1000, () =>
      request.destroy(),
    );
    request.on('error', () => resolve(false));
  });
}

/** A clear error for a port taken by another program (often an earlier `tandem up`), else undefined. */
function portInUse(error: unknown, flag: string): LocalCloudError | undefined {
  const e = error as { code?: string; port?: number };
  if (e.code !== 'EADDRINUSE') return undefined;
  return new LocalCloudError(
    `port ${e.port} is in use (another tandem up, or another program, listens there): stop it, or choose another port with ${flag} (0 picks a free one)`,
  );
}
