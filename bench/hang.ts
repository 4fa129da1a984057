import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import {
  failoverAnswer,
  failoverOriginName,
  HealthCheckState,
  ROUTE53_FAILOVER,
  worstCaseFailoverSeconds,
  type DnsFailoverTiming,
} from '../controller/model/dns-failover.ts';
import type { Platform } from '../controller/model/platform.ts';
import type { DistributionConfig, Origin } from '../controller/ports/cdn.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';

/**
 * A primary region whose load balancer stops answering (issue 19), on the
 * simulated cloud, with the real reconciler running a pass a minute in each
 * region: what viewers lose to the origin group's timeouts with neither of
 * tandem's mechanisms, with DNS failover alone (CloudFront's API down for the
 * whole outage), with the origin order alone, and with both.
 *
 * Time moves a second at a time. Every second, `requestsPerSecond` viewer
 * requests miss the cache and go to the origin group as the edges have it
 * (the distribution's last config that reached Deployed: CloudFront's deploy
 * takes `cdnDeployMinutes`), each origin's name resolved as a resolver holding
 * Route 53's answer for its TTL has it. A request that reaches the failed
 * region pays its timeout (blackhole: the connection timeout per attempt;
 * hang: the response timeout) before the next origin. Each minute the
 * requests each region's targets answered are what CloudWatch tells the next
 * pass, which is how tandem sees a primary that hangs: its load balancer gets
 * nothing and the failover region everything.
 */

export type FaultMode = 'blackhole' | 'hang';

export interface HangScenario {
  mode: FaultMode;
  /** Origins connect to the regions' DNS failover names (`<region>.failover.<domain>`). */
  dnsFailover: boolean;
  /** Every CloudFront call fails from the fault until the region heals: the origin order cannot move. */
  cdnApiDown: boolean;
  /** Minutes of healthy running before the fault (the site is created at minute 0). */
  warmupMinutes: number;
  outageMinutes: number;
  /** Minutes measured after the region heals. */
  afterMinutes: number;
  requestsPerSecond: number;
  /** Ticks (minutes) from a distribution change to Deployed at the edges. */
  cdnDeployMinutes: number;
  /** What a request answered at once costs: the healthy latency, which nothing counts as lost. */
  healthyLatencySeconds: number;
  dns: DnsFailoverTiming;
  /** Second of each health-check interval the check starts at (Route 53's checkers are not aligned to the fault). */
  checkPhaseSeconds: number;
}

export const DEFAULT_SCENARIO: Omit<HangScenario, 'mode' | 'dnsFailover' | 'cdnApiDown'> = {
  warmupMinutes: 15,
  outageMinutes: 30,
  afterMinutes: 20,
  requestsPerSecond: 50,
  cdnDeployMinutes: 5,
  healthyLatencySeconds: 0.1,
  dns: ROUTE53_FAILOVER,
  checkPhaseSeconds: 5,
};

/** A request slower than this counts as slow (the issue's measure). */
export const SLOW_SECONDS = 3;

const PRIMARY = 'us-east-1';
const FAILOVER = 'eu-west-1';
const REGIONS = [PRIMARY, FAILOVER];
const SITE = 'demo';
const DOMAIN = 'example.com';
const T0 = Date.parse('2026-12-01T00:00:00Z');

// ----- the cost model: pure, so a test can check it by hand -----

/** What the edges ask, in order: each origin as CloudFront has it. */
export function originsInOrder(config: DistributionConfig): Origin[] {
  const byId = new Map(config.origins.map((o) => [o.id, o]));
  const group = config.originGroup;
  const ids = group === undefined ? [config.targetOriginId] : [group.primaryOriginId, group.failoverOriginId];
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

/** The region an origin's name belongs to: its load balancer's names, or its DNS failover name. */
export function regionOfOrigin(platform: Platform, origin: Origin, domain = DOMAIN): string | undefined {
  return Object.values(platform.regions).find((r) =>
    [
      r.loadBalancerDnsName,
      r.httpsOriginName,
      r.failoverOriginName,
      failoverOriginName(r.region, domain),
    ].includes(origin.domainName),
  )?.region;
}

/** What one request to an origin that never answers costs before CloudFront gives up on it. */
export function timeoutSeconds(mode: FaultMode, origin: Origin): number {
  return mode === 'blackhole'
    ? origin.connectionTimeoutSeconds * origin.connectionAttempts
    : origin.responseTimeoutSeconds;
}

export interface RequestCost {
  latencySeconds: number;
  /** The region whose targets answered, or undefined when every origin timed out (CloudFront answers 504). */
  answeredBy: string | undefined;
}

/**
 * One viewer request: each origin in order, reached at the region its name
 * resolves to (`reaches`), pays its timeout there while that region is failed,
 * and the first healthy one answers.
 */
export function requestCost(
  origins: readonly Origin[],
  reaches: (origin: Origin) => string,
  failed: (region: string) => boolean,
  mode: FaultMode,
  healthyLatencySeconds: number,
): RequestCost {
  let waited = 0;
  for (const origin of origins) {
    const region = reaches(origin);
    if (!failed(region)) return { latencySeconds: waited + healthyLatencySeconds, answeredBy: region };
    waited += timeoutSeconds(mode, origin);
  }
  return { latencySeconds: waited, answeredBy: undefined };
}

/**
 * Route 53's side of DNS failover on the simulated clock (seconds): one
 * health check per load balancer (model/dns-failover.ts's HealthCheckState),
 * started every `intervalSeconds` at `phaseSeconds`, whose result is known once
 * its timeout ran out (a failing one) or at once; and each failover name's
 * answer as it was at any past second, which is what a resolver holding it
 * for its TTL hands out.
 */
export class DnsFailoverModel {
  private readonly checks = new Map<string, HealthCheckState>();
  /** Each region's health changes, oldest first: [second, healthy]. */
  private readonly history = new Map<string, [number, boolean][]>();
  private pending: { at: number; region: string; passed: boolean }[] = [];
  private nextCheck: number;

  constructor(
    private readonly regions: readonly string[],
    private readonly timing: DnsFailoverTiming,
    private readonly mode: FaultMode,
    phaseSeconds: number,
    start: number,
  ) {
    for (const r of regions) {
      this.checks.set(r, new HealthCheckState(timing.failureThreshold));
      this.history.set(r, [[Number.NEGATIVE_INFINITY, true]]);
    }
    this.nextCheck =
      start +
      ((((phaseSeconds - start) % timing.intervalSeconds) + timing.intervalSeconds) % timing.intervalSeconds);
  }

  /** Runs the checks that start up to second `now` and records the results known by then. */
  advance(now: number, failed: (region: string, at: number) => boolean): void {
    for (; this.nextCheck <= now; this.nextCheck += this.timing.intervalSeconds) {
      for (const region of this.regions) {
        const passed = !failed(region, this.nextCheck);
        const timeout =
          this.mode === 'blackhole' ? this.timing.connectTimeoutSeconds : this.timing.answerTimeoutSeconds;
        this.pending.push({ at: this.nextCheck + (passed ? 0 : timeout), region, passed });
      }
    }
    this.pending.sort((a, b) => a.at - b.at);
    const due = this.pending.filter((p) => p.at <= now);
    this.pending = this.pending.filter((p) => p.at > now);
    for (const { at, region, passed } of due) {
      if (this.checks.get(region)!.record(passed, at)) this.history.get(region)!.push([at, passed]);
    }
  }

  /** Whether Route 53 saw `region`'s load balancer healthy at second `at` (≤ the last `advance`). */
  healthyAt(region: string, at: number): boolean {
    const changes = this.history.get(region)!;
    let healthy = true;
    for (const [since, value] of changes) if (since <= at) healthy = value;
    return healthy;
  }

  /** `region`'s failover name's answer at second `at`: its own load balancer while healthy, else another's. */
  answerAt(region: string, at: number): string {
    return failoverAnswer(
      region,
      this.regions.filter((r) => r !== region),
      (r) => this.healthyAt(r, at),
    );
  }

  /**
   * What a resolver hands out at second `now` for `region`'s name: the answer
   * it fetched at its last refresh, one every TTL at `phaseSeconds`.
   */
  resolve(region: string, now: number, phaseSeconds: number): string {
    const ttl = this.timing.ttlSeconds;
    const since = (((now - phaseSeconds) % ttl) + ttl) % ttl;
    return this.answerAt(region, now - since);
  }

  /** When the region's name first answered another region (seconds), if it did. */
  firstSwitch(region: string): number | undefined {
    return this.history.get(region)!.find(([at, healthy]) => !healthy && at > Number.NEGATIVE_INFINITY)?.[0];
  }
}

// ----- the scenario -----

export interface MinuteRecord {
  minute: number;
  /** The region the edges ask first (the deployed origin group's primary), or undefined before any deploy. */
  edgeFirst: string | undefined;
  lostSeconds: number;
  slow: number;
  answered: Record<string, number>;
}

export interface HangResult {
  scenario: HangScenario;
  /** Requests from the fault until the region healed. */
  outageRequests: number;
  /** Of those, slower than SLOW_SECONDS. */
  slowRequests: number;
  /** Every measured request's latency above the healthy latency, summed (seconds). */
  lostViewerSeconds: number;
  /** Requests no origin answered (504). */
  failedRequests: number;
  /** Seconds after the fault the last request paid a timeout (undefined: none did). */
  lastLossAfterFaultSeconds: number | undefined;
  /** Minutes after the fault the edges first asked the failover region first, if they did. */
  edgesReorderedAfterMinutes: number | undefined;
  /** Seconds after the fault Route 53 saw the primary unhealthy, with DNS failover. */
  dnsSwitchedAfterSeconds: number | undefined;
  /** Minutes after the region healed the edges asked the primary first again, if they did in the run. */
  edgesRestoredAfterMinutes: number | undefined;
  /** Times the region the edges ask first changed, from the fault to the end of the run. */
  edgeOrderChanges: number;
  minutes: MinuteRecord[];
  passes: number;
  wallMs: number;
}

/** Runs one scenario: the site created at minute 0, the fault at `warmupMinutes`, healed `outageMinutes` later. */
export async function runHangScenario(scenario: HangScenario): Promise<HangResult> {
  const started = performance.now();
  const platform = benchPlatform(scenario.dnsFailover);
  const sim: SimulatedCloud = new SimulatedCloud({
    regions: REGIONS,
    platform,
    clock: () => T0 + (sim.world.ticks ?? 0) * 60_000,
    cdnDeployTicks: scenario.cdnDeployMinutes,
  });
  const document = JSON.parse(readFileSync(new URL('../specs/demo.json', import.meta.url), 'utf8')) as {
    spec: { canary?: unknown };
  };
  delete document.spec.canary;
  await sim.store.putSpec(SITE, document, 0);

  const faultAt = scenario.warmupMinutes * 60;
  const healAt = faultAt + scenario.outageMinutes * 60;
  const endMinute = scenario.warmupMinutes + scenario.outageMinutes + scenario.afterMinutes;
  const failed = (region: string, at: number) => region === PRIMARY && at >= faultAt && at < healAt;
  const dns = new DnsFailoverModel(REGIONS, scenario.dns, scenario.mode, scenario.checkPhaseSeconds, 0);
  const rps = scenario.requestsPerSecond;
  const resolverPhase = (j: number) => Math.floor((j * scenario.dns.ttlSeconds) / rps);

  const result: HangResult = {
    scenario,
    outageRequests: 0,
    slowRequests: 0,
    lostViewerSeconds: 0,
    failedRequests: 0,
    lastLossAfterFaultSeconds: undefined,
    edgesReorderedAfterMinutes: undefined,
    dnsSwitchedAfterSeconds: undefined,
    edgesRestoredAfterMinutes: undefined,
    edgeOrderChanges: 0,
    minutes: [],
    passes: 0,
    wallMs: 0,
  };
  let answeredLastMinute: Record<string, number> = { [PRIMARY]: 0, [FAILOVER]: 0 };
  for (let minute = 0; minute < endMinute; minute += 1) {
    const start = minute * 60;
    if (scenario.cdnApiDown && start === faultAt) sim.failRegion('cloudfront');
    if (scenario.cdnApiDown && start === healAt) sim.healRegion('cloudfront');
    // CloudWatch: what each region's targets answered in the minute before this pass.
    for (const region of REGIONS)
      sim.setTraffic(region, `${SITE}-stable`, {
        requestsPerMinute: answeredLastMinute[region] ?? 0,
        errors5xxPerMinute: 0,
        p95LatencyMs: 80,
      });
    await reconcileRound({
      portsOf: (region) => sim.ports(region),
      platform,
      now: () => new Date(sim.now()),
    });
    result.passes += REGIONS.length;

    const distribution = Object.values(sim.world.distributions)[0];
    const edge = distribution === undefined ? undefined : sim.edgeConfig(distribution.id);
    const origins = edge === undefined ? [] : originsInOrder(edge);
    const first = origins[0] === undefined ? undefined : regionOfOrigin(platform, origins[0]);
    const record: MinuteRecord = { minute, edgeFirst: first, lostSeconds: 0, slow: 0, answered: {} };
    for (let second = start; second < start + 60; second += 1) {
      dns.advance(second, failed);
      if (origins.length === 0) continue;
      for (let j = 0; j < rps; j += 1) {
        const reaches = (origin: Origin): string => {
          const region = regionOfOrigin(platform, origin) ?? PRIMARY;
          return scenario.dnsFailover ? dns.resolve(region, second, resolverPhase(j)) : region;
        };
        const cost = requestCost(
          origins,
          reaches,
          (r) => failed(r, second),
          scenario.mode,
          scenario.healthyLatencySeconds,
        );
        const lost = Math.max(0, cost.latencySeconds - scenario.healthyLatencySeconds);
        if (cost.answeredBy !== undefined)
          record.answered[cost.answeredBy] = (record.answered[cost.answeredBy] ?? 0) + 1;
        else result.failedRequests += 1;
        if (second < faultAt) continue;
        result.lostViewerSeconds += lost;
        record.lostSeconds += lost;
        if (lost > 0) result.lastLossAfterFaultSeconds = second - faultAt;
        if (cost.latencySeconds > SLOW_SECONDS) record.slow += 1;
        if (second < healAt) {
          result.outageRequests += 1;
          if (cost.latencySeconds > SLOW_SECONDS) result.slowRequests += 1;
        }
      }
    }
    answeredLastMinute = { [PRIMARY]: 0, [FAILOVER]: 0, ...record.answered };
    if (start > faultAt && first !== result.minutes.at(-1)?.edgeFirst) result.edgeOrderChanges += 1;
    result.minutes.push(record);
    if (start >= faultAt && first === FAILOVER && result.edgesReorderedAfterMinutes === undefined)
      result.edgesReorderedAfterMinutes = minute - scenario.warmupMinutes;
    if (
      start >= healAt &&
      first === PRIMARY &&
      result.edgesReorderedAfterMinutes !== undefined &&
      result.edgesRestoredAfterMinutes === undefined
    )
      result.edgesRestoredAfterMinutes = minute - scenario.warmupMinutes - scenario.outageMinutes;
    sim.tick();
  }
  if (scenario.dnsFailover) {
    const switched = dns.firstSwitch(PRIMARY);
    if (switched !== undefined) result.dnsSwitchedAfterSeconds = switched - faultAt;
  }
  result.wallMs = performance.now() - started;
  return result;
}

/** The simulated platform, with every region's DNS failover name when DNS failover is on and without when off. */
function benchPlatform(dnsFailover: boolean): Platform {
  const platform = simPlatform(REGIONS);
  return {
    ...platform,
    regions: Object.fromEntries(
      Object.entries(platform.regions).map(([name, region]) => {
        const { failoverOriginName: _, ...rest } = region;
        return [name, dnsFailover ? { ...rest, failoverOriginName: failoverOriginName(name, DOMAIN) } : rest];
      }),
    ),
  };
}

// ----- the benchmark -----

const MECHANISMS = [
  { name: 'neither', dnsFailover: false, cdnApiDown: true },
  { name: 'DNS failover alone', dnsFailover: true, cdnApiDown: true },
  { name: 'origin order alone', dnsFailover: false, cdnApiDown: false },
  { name: 'both', dnsFailover: true, cdnApiDown: false },
] as const;

/**
 * DNS failover alone, and both, lose at most this share of neither's
 * viewer-seconds: Route 53's worst case (96 s) is 5.3 % of a 30-minute
 * outage, so 10 % fails when the DNS path takes more than about three minutes.
 */
const GOAL_DNS_SHARE = 0.1;
/**
 * Passes the origin order may take to see the primary failing: the pass after
 * the minute the CDN failed over reads the failover region's count from that
 * region's report of the round before, one pass later, and one pass of slack.
 */
const ORDER_DETECT_PASSES = 3;

export async function runHangBenchmark(): Promise<boolean> {
  const started = performance.now();
  const s = DEFAULT_SCENARIO;
  console.log(
    `One site (specs/demo.json without its canary: ${PRIMARY} primary, ${FAILOVER} failover) on the simulated cloud, a pass a minute in each region;`,
  );
  console.log(
    `${s.requestsPerSecond} requests/s, every one a cache miss; ${PRIMARY}'s load balancer fails at minute ${s.warmupMinutes} for ${s.outageMinutes} min, then ${s.afterMinutes} min more;`,
  );
  console.log(
    `CloudFront deploys a change in ${s.cdnDeployMinutes} min; Route 53: a check every ${s.dns.intervalSeconds} s, ${s.dns.failureThreshold} in a row, TTL ${s.dns.ttlSeconds} s (worst case ${worstCaseFailoverSeconds(s.dns)} s).`,
  );
  const results: { mode: FaultMode; name: string; result: HangResult }[] = [];
  for (const mode of ['blackhole', 'hang'] as const) {
    for (const m of MECHANISMS) {
      const result = await runHangScenario({
        ...s,
        mode,
        dnsFailover: m.dnsFailover,
        cdnApiDown: m.cdnApiDown,
      });
      results.push({ mode, name: m.name, result });
    }
  }
  const of = (mode: FaultMode, name: string) =>
    results.find((r) => r.mode === mode && r.name === name)!.result;
  console.log('');
  printTable(
    [
      'mode',
      'mechanisms',
      'viewer-seconds lost',
      'vs neither',
      'slower than 3 s',
      'failed',
      'edges ask failover first',
      'edge order changes',
      'DNS answer moved',
    ],
    results.map(({ mode, name, result }) => [
      mode,
      name,
      Math.round(result.lostViewerSeconds).toLocaleString('en-US'),
      share(result, of(mode, 'neither')),
      percent(result.slowRequests, result.outageRequests),
      String(result.failedRequests),
      result.edgesReorderedAfterMinutes === undefined
        ? '—'
        : `after ${result.edgesReorderedAfterMinutes} min`,
      String(result.edgeOrderChanges),
      result.dnsSwitchedAfterSeconds === undefined ? '—' : `after ${result.dnsSwitchedAfterSeconds} s`,
    ]),
  );
  console.log('');
  console.log(
    `The region the edges ask first, by minute after the fault (the region heals at minute ${s.outageMinutes}):`,
  );
  for (const { mode, name, result } of results)
    if (result.edgeOrderChanges > 0) console.log(`  ${mode}, ${name}: ${edgeTimeline(result)}`);
  console.log('');
  console.log(
    `Baseline (neither), in this run: ${['blackhole', 'hang'].map((m) => `${m} ${Math.round(of(m as FaultMode, 'neither').lostViewerSeconds).toLocaleString('en-US')} viewer-seconds`).join(', ')}.`,
  );
  console.log('');

  const goals: { name: string; ok: boolean; measured: string }[] = [];
  const worst = worstCaseFailoverSeconds(s.dns);
  const orderShare = (ORDER_DETECT_PASSES + s.cdnDeployMinutes) / s.outageMinutes;
  for (const mode of ['blackhole', 'hang'] as const) {
    const neither = of(mode, 'neither');
    for (const name of ['DNS failover alone', 'both']) {
      const result = of(mode, name);
      goals.push({
        name: `${mode}: with ${name}, viewers lose at most ${GOAL_DNS_SHARE * 100} % of neither's viewer-seconds`,
        ok: result.lostViewerSeconds <= GOAL_DNS_SHARE * neither.lostViewerSeconds,
        measured: share(result, neither),
      });
      goals.push({
        name: `${mode}: with ${name}, no request waits on the primary later than Route 53's worst case (${worst} s) after the fault`,
        ok: (result.lastLossAfterFaultSeconds ?? 0) <= worst,
        measured: `${result.lastLossAfterFaultSeconds ?? 0} s`,
      });
    }
    goals.push({
      name: `${mode}: with both, viewers lose no more than with DNS failover alone`,
      ok: of(mode, 'both').lostViewerSeconds <= of(mode, 'DNS failover alone').lostViewerSeconds,
      measured: `${Math.round(of(mode, 'both').lostViewerSeconds)} vs ${Math.round(of(mode, 'DNS failover alone').lostViewerSeconds)}`,
    });
    const order = of(mode, 'origin order alone');
    goals.push({
      name: `${mode}: the origin order alone acts once: viewers lose at most (${ORDER_DETECT_PASSES} passes + the ${s.cdnDeployMinutes}-minute deploy) / ${s.outageMinutes} min = ${(100 * orderShare).toFixed(1)} % of neither's`,
      ok: order.lostViewerSeconds <= orderShare * neither.lostViewerSeconds,
      measured: `${share(order, neither)} (the edges' first origin changed ${order.edgeOrderChanges} times)`,
    });
  }
  const requests = results.reduce((n, r) => n + r.result.outageRequests, 0);
  const failedRequests = results.reduce((n, r) => n + r.result.failedRequests, 0);
  goals.push({
    name: 'success rate ≥ 99.9 % in every run (the failover region answers every request)',
    ok: failedRequests <= 0.001 * requests,
    measured: `${failedRequests} of ${requests.toLocaleString('en-US')} failed`,
  });
  for (const goal of goals) console.log(`${goal.ok ? 'PASS' : 'FAIL'}  ${goal.name}: ${goal.measured}`);
  const passes = results.reduce((n, r) => n + r.result.passes, 0);
  console.log(
    `(${results.length} runs, ${passes} reconcile passes, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return goals.every((g) => g.ok);
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Text columns (the first two) left, numbers right, as the other benchmarks' tables.
  const cell = (text: string, i: number) => (i < 2 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
  console.log(`| ${header.map(cell).join(' | ')} |`);
  console.log(`| ${widths.map((w, i) => (i < 2 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.map(cell).join(' | ')} |`);
}

/** The edges' first region in runs of minutes after the fault: `us-east-1 0–6, eu-west-1 7–17, …`. */
export function edgeTimeline(result: HangResult): string {
  const after = result.minutes
    .filter((m) => m.minute >= result.scenario.warmupMinutes)
    .map((m) => ({ minute: m.minute - result.scenario.warmupMinutes, first: m.edgeFirst ?? '—' }));
  const runs: { first: string; from: number; to: number }[] = [];
  for (const { minute, first } of after) {
    const last = runs.at(-1);
    if (last?.first === first) last.to = minute;
    else runs.push({ first, from: minute, to: minute });
  }
  return runs.map((r) => `${r.first} ${r.from}–${r.to}`).join(', ');
}

function share(result: HangResult, baseline: HangResult): string {
  return baseline.lostViewerSeconds === 0
    ? '—'
    : `${((100 * result.lostViewerSeconds) / baseline.lostViewerSeconds).toFixed(1)} %`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '—' : `${((100 * part) / whole).toFixed(2)} %`;
}
