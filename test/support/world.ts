import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isOwnedBy } from '../../controller/model/tags.ts';
import { heartbeatsByRegion } from '../../controller/decide/ownership.ts';
import type { SiteStatus } from '../../controller/model/status.ts';
import type { SpecStorePort, StoredSpec, StoredStatus } from '../../controller/ports/store.ts';
import { SimulatedCloud, type SimulatedCloudOptions } from '../../controller/providers/sim/cloud.ts';
import type { SimWorld } from '../../controller/providers/sim/world.ts';
import { reconcilePass, type PassReport } from '../../controller/reconcile/pass.ts';
import { reconcileRound } from '../../controller/reconcile/round.ts';
import type { SiteOutcome } from '../../controller/reconcile/status.ts';
import { siteViews, type SiteView } from '../../controller/reconcile/view.ts';
import type { SiteInput, Site } from '../../controller/spec/schema.ts';
import { validateSite } from '../../controller/spec/validate.ts';

export const SIM_REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
/** When every test world starts: its clock reads this before its first tick. */
export const T0 = Date.parse('2026-11-28T00:00:00Z');
/** One tick of the simulated cloud is one reconcile interval. */
export const TICK_MS = 60_000;

/**
 * The test world's time: `T0` plus one reconcile interval for every tick the
 * simulated cloud has taken. It lives in the world (its tick count), so a
 * world copied into another cloud carries its time with it.
 */
export function worldTime(world: SimWorld): number {
  return T0 + (world.ticks ?? 0) * TICK_MS;
}

const onWorldClock = new WeakSet<SimulatedCloud>();

export function demoDocument(): SiteInput & Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('../../specs/demo.json', import.meta.url), 'utf8')) as SiteInput &
    Record<string, unknown>;
}

/**
 * A simulated cloud whose clock is the world's (`worldTime`): every pass in
 * the test world runs at the simulated cloud's time, which moves on a
 * reconcile interval with every `tick`, and its leases and edits are stamped
 * with the same time.
 */
export function newSim(
  options: readonly string[] | Omit<SimulatedCloudOptions, 'clock'> = SIM_REGIONS,
): SimulatedCloud {
  const settings: SimulatedCloudOptions = Array.isArray(options)
    ? { regions: options as readonly string[] }
    : { ...(options as SimulatedCloudOptions) };
  const sim: SimulatedCloud = new SimulatedCloud({ ...settings, clock: () => worldTime(sim.world) });
  onWorldClock.add(sim);
  return sim;
}

/** The time a pass over `sim` runs at: the world's clock (a cloud not made by `newSim` has none to offer). */
export function simNow(sim: SimulatedCloud): () => Date {
  if (!onWorldClock.has(sim))
    throw new Error('a pass over a SimulatedCloud made without newSim must be given its time (now)');
  return () => new Date(sim.now());
}

/** Stores `document` as its site's spec, bumping the generation like `tandem apply`. */
export async function storeSpec(sim: SimulatedCloud, document: unknown, name?: string): Promise<void> {
  const key = name ?? (document as { metadata: { name: string } }).metadata.name;
  const store = sim.ports().store;
  await store.putSpec(key, document, (await store.getSpec(key))?.generation ?? 0);
}

/** One round: each region's reconciler once, in the platform's order, as the regional Lambdas run. */
export interface RoundReport {
  reports: PassReport[];
  /** Every region's outcomes, in the order the regions ran. */
  sites: SiteOutcome[];
  /** Each site as people see it after the round: every region's report merged. */
  statuses: Map<string, SiteView>;
  statusWrites: number;
}

export async function pass(
  sim: SimulatedCloud,
  options: { sites?: string[]; now?: () => Date; regions?: string[] } = {},
): Promise<RoundReport> {
  const now = options.now ?? simNow(sim);
  const reports = await reconcileRound({
    portsOf: (region) => sim.ports(region),
    platform: sim.platform,
    now,
    ...(options.regions === undefined ? {} : { regions: options.regions }),
    ...(options.sites === undefined ? {} : { sites: options.sites }),
  });
  return {
    reports,
    sites: reports.flatMap((r) => r.sites),
    statuses: views(sim, now().getTime()),
    statusWrites: reports.reduce((n, r) => n + r.statusWrites, 0),
  };
}

/**
 * Every site's merged view, as the first region's replica of the table holds
 * them; read straight from the world, so no call is recorded (or fails).
 */
export function views(
  sim: SimulatedCloud,
  now = simNow(sim)().getTime(),
  region = Object.keys(sim.world.regions)[0]!,
): Map<string, SiteView> {
  const items = Object.values(sim.replica(region).items);
  const statuses: StoredStatus[] = items
    .filter((i) => i.pk === 'status' && i.value !== undefined)
    .map((i) => {
      const at = i.sk.lastIndexOf('#');
      const value = structuredClone(i.value) as { revision: number; status: SiteStatus };
      return at < 0
        ? { name: i.sk, ...value }
        : { name: i.sk.slice(0, at), region: i.sk.slice(at + 1), ...value };
    });
  const heartbeats = items.flatMap((i) => {
    const at = (i.value as { heartbeatAt?: number } | undefined)?.heartbeatAt;
    return i.pk === 'lease' && at !== undefined ? [{ region: i.sk, at }] : [];
  });
  return siteViews(statuses, { heartbeats: heartbeatsByRegion(heartbeats), now, intervalMs: 60_000 });
}

/** The merged view of one site, as `tandem describe` shows it (from the first region's replica unless told). */
export function siteView(
  sim: SimulatedCloud,
  site: string,
  from: { now?: number; region?: string } = {},
): SiteView | undefined {
  return views(sim, from.now, from.region).get(site);
}

/** One region's status item of a site, as its own replica holds it. */
export function statusItem(
  sim: SimulatedCloud,
  site: string,
  region = 'us-east-1',
): StoredStatus | undefined {
  const item = sim.replica(region).items[`status|${site}#${region}`];
  return item?.value === undefined
    ? undefined
    : { name: site, region, ...(structuredClone(item.value) as { revision: number; status: SiteStatus }) };
}

/** The spec item of a site as a replica holds it (default the first region's). */
export function specItem(
  sim: SimulatedCloud,
  site: string,
  region?: string,
): Omit<StoredSpec, 'hash'> | undefined {
  const replica = sim.replica(region ?? Object.keys(sim.world.regions)[0]!);
  const item = replica.items[`spec|${site}`];
  return item?.value === undefined
    ? undefined
    : { name: site, ...(structuredClone(item.value) as Omit<StoredSpec, 'name' | 'hash'>) };
}

/** A person edits the spec straight in the table (the console), without bumping the generation, in every replica. */
export function editSpecInPlace(sim: SimulatedCloud, site: string, document: unknown): void {
  for (const replica of Object.values(sim.world.replicas)) {
    const item = replica.items[`spec|${site}`];
    if (item?.value !== undefined) (item.value as { document: unknown }).document = structuredClone(document);
  }
}

/** Cloud writes (not spec-store writes) made since the last reset. */
export function cloudWrites(sim: SimulatedCloud): number {
  return sim.cloudWrites().length;
}

/** Runs passes a minute apart until one plans nothing; fails after `max`. Returns how many acted. */
export async function converge(sim: SimulatedCloud, max = 6): Promise<number> {
  for (let i = 0; i < max; i += 1) {
    const report = await pass(sim);
    if (report.sites.every((s) => (s.plan?.actions.length ?? 0) === 0)) return i;
    sim.tick();
  }
  throw new Error(`not converged after ${max} passes`);
}

export function valid(document: unknown): Site {
  const result = validateSite(document);
  if (!result.ok) throw new Error(`expected a valid spec: ${JSON.stringify(result.problems)}`);
  return result.site;
}

/**
 * Asserts that the simulated world holds exactly what `site` asks for, read
 * straight from the world rather than through the planner. `repositories`
 * states the repository each region pulls; by default the spec's as written,
 * which is right for a public image on the simulated platform (public IPs).
 */
export function assertWorldMatches(
  sim: SimulatedCloud,
  site: Site,
  repositories: Readonly<Record<string, string>> = {},
  /**
   * Check only these regions; check task counts only when `counts` (a floor may hold them above
   * minTasks); accept the failover region first in the origin group with `eitherOriginFirst` (the
   * holder asks it first while the primary fails).
   */
  only: { regions?: readonly string[]; counts?: boolean; eitherOriginFirst?: boolean } = {},
): void {
  const name = site.metadata.name;
  const { spec } = site;
  const weight = spec.canary?.weight ?? 0;
  // docs/architecture.md: the rule matches `X-Tandem-Origin: <site>.<secret>`, and the CDN sends just that.
  const header = `${name}.${sim.platform.originSecret}`;
  for (const [regionName, region] of Object.entries(sim.world.regions)) {
    if (only.regions !== undefined && !only.regions.includes(regionName)) continue;
    const where = `${name} in ${regionName}`;
    const wanted = spec.regions.find((r) => r.name === regionName);
    const owned = <T extends { tags: Record<string, string> }>(items: T[]) =>
      items.filter((i) => isOwnedBy(i.tags, name));
    const services = owned(Object.values(region.services)).filter((s) => s.status === 'ACTIVE');
    const groups = owned(Object.values(region.targetGroups));
    const rules = owned(Object.values(region.rules));
    if (wanted === undefined) {
      assert.deepEqual(
        [services.length, groups.length, rules.length],
        [0, 0, 0],
        `${where}: nothing should remain`,
      );
      continue;
    }
    const split = expectedSplit(wanted.minTasks, weight);
    const tracks = spec.canary === undefined ? (['stable'] as const) : (['stable', 'canary'] as const);
    assert.deepEqual(
      services.map((s) => s.name).sort(),
      tracks.map((t) => `${name}-${t}`).sort(),
      `${where}: services`,
    );
    assert.deepEqual(
      groups.map((g) => g.name).sort(),
      tracks.map((t) => `${name}-${t}`).sort(),
      `${where}: target groups`,
    );
    for (const track of tracks) {
      const service = services.find((s) => s.name === `${name}-${track}`)!;
      if (only.counts ?? true)
        assert.equal(service.desiredCount, split[track], `${where}: ${track} desired count`);
      const td = region.taskDefinitions.find((t) => t.family === service.taskDefinition && t.active);
      const tag = track === 'stable' ? spec.image.tag : spec.canary!.tag;
      const repository = repositories[regionName] ?? spec.image.repository;
      assert.equal(td?.spec.image, `${repository}:${tag}`, `${where}: ${track} image`);
      assert.deepEqual(
        [td?.spec.cpu, td?.spec.memory],
        [spec.task.cpu, spec.task.memory],
        `${where}: ${track} size`,
      );
      const group = groups.find((g) => g.name === `${name}-${track}`)!;
      assert.equal(group.healthCheckPath, spec.task.healthCheckPath, `${where}: ${track} health check`);
      assert.equal(service.targetGroupArn, group.arn, `${where}: ${track} registers into its target group`);
    }
    assert.equal(rules.length, 1, `${where}: one listener rule`);
    const rule = rules[0]!;
    assert.deepEqual(rule.header, { name: sim.platform.originHeaderName, values: [header] });
    const weights = Object.fromEntries(
      rule.forward.map((f) => [groups.find((g) => g.arn === f.targetGroupArn)?.name, f.weight]),
    );
    const expected =
      spec.canary === undefined
        ? { [`${name}-stable`]: 100 }
        : { [`${name}-stable`]: 100 - weight, [`${name}-canary`]: weight };
    assert.deepEqual(weights, expected, `${where}: rule weights`);
  }

  const distributions = Object.values(sim.world.distributions).filter((d) => isOwnedBy(d.tags, name));
  assert.equal(distributions.length, 1, `${name}: one distribution`);
  const config = distributions[0]!.config;
  const primary = spec.regions.find((r) => r.role === 'primary')!;
  const failover = spec.regions.find((r) => r.role === 'failover');
  assert.equal(config.enabled, true);
  assert.equal(config.viewerProtocolPolicy, 'redirect-to-https');
  const inSpecOrder = [primary, ...(failover ? [failover] : [])].map(
    (r) => sim.platform.regions[r.name]!.loadBalancerDnsName,
  );
  const origins = config.origins.map((o) => o.domainName);
  assert.deepEqual(
    only.eitherOriginFirst === true && origins[0] !== inSpecOrder[0] ? [...origins].reverse() : origins,
    inSpecOrder,
    `${name}: origins, primary first`,
  );
  for (const origin of config.origins) {
    assert.equal(origin.customHeaders[sim.platform.originHeaderName], header, `${name}: origin header`);
    assert.equal(origin.connectionTimeoutSeconds, spec.cdn.connectionTimeoutSeconds);
    assert.equal(origin.connectionAttempts, spec.cdn.connectionAttempts);
  }
  if (failover !== undefined) {
    assert.deepEqual([...config.originGroup!.statusCodes].sort(), [...spec.cdn.failoverStatusCodes].sort());
    assert.equal(config.targetOriginId, config.originGroup!.id);
  } else {
    assert.equal(config.originGroup, undefined);
  }
  assert.equal(config.defaultTtlSeconds, spec.cdn.defaultTtlSeconds);
  assert.equal(config.priceClass, spec.cdn.priceClass);
  assert.deepEqual(config.aliases, [...spec.cdn.aliases].sort());
}

/**
 * The tasks a region at `tasks` runs per track, as the README's Scaling
 * section states it, in plain arithmetic: the canary runs its weight's share,
 * rounded to the nearest task (halves up), but at least one while its weight
 * is above zero (a region at one task runs a second for it) and at most all
 * but one while the stable's weight is.
 */
function expectedSplit(tasks: number, weight: number): { stable: number; canary: number } {
  if (tasks === 0) return { stable: 0, canary: 0 };
  if (weight === 0) return { stable: tasks, canary: 0 };
  if (weight === 100) return { stable: 0, canary: tasks };
  const total = Math.max(tasks, 2);
  const share = Math.floor((total * weight + 50) / 100); // nearest, halves up, in integers
  const canary = Math.min(Math.max(share, 1), total - 1);
  return { stable: total - canary, canary };
}

/** Asserts nothing tandem created for `name` remains anywhere. */
export function assertNothingOwned(sim: SimulatedCloud, name: string): void {
  for (const [regionName, region] of Object.entries(sim.world.regions)) {
    const live = [
      ...Object.values(region.services).filter((s) => s.status !== 'INACTIVE'),
      ...Object.values(region.targetGroups),
      ...Object.values(region.rules),
      ...region.taskDefinitions.filter((t) => t.active),
    ].filter((r) => isOwnedBy(r.tags, name));
    assert.equal(live.length, 0, `${name} still owns ${live.length} resource(s) in ${regionName}`);
  }
  assert.equal(Object.values(sim.world.distributions).filter((d) => isOwnedBy(d.tags, name)).length, 0);
}

/** A region's lease item as its replica holds it: who holds it, until when, and its heartbeat. */
export function leaseOf(
  sim: SimulatedCloud,
  region = 'us-east-1',
): { holder?: string; expiresAt: number; heartbeatAt?: number } | undefined {
  const item = sim.replica(region).items[`lease|${region}`];
  return item?.value === undefined
    ? undefined
    : (structuredClone(item.value) as { holder?: string; expiresAt: number; heartbeatAt?: number });
}

/**
 * One us-east-1 pass of `sim`'s world with its spec store replaced by `store`
 * (a DynamoSpecStore on dynalite): how a test sees what the reconciler makes
 * of the items it wrote by hand.
 */
export function passWithStore(
  store: SpecStorePort,
  sim: SimulatedCloud = newSim(SIM_REGIONS),
): Promise<PassReport> {
  return reconcilePass({
    ports: { ...sim.ports(), store },
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
}
