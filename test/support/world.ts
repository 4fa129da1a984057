import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { splitTasks } from '../../controller/decide/capacity.ts';
import { originHeaderValue } from '../../controller/model/naming.ts';
import { isOwnedBy } from '../../controller/model/tags.ts';
import { SimulatedCloud } from '../../controller/providers/sim/cloud.ts';
import { reconcilePass, type PassReport } from '../../controller/reconcile/pass.ts';
import type { SiteInput, Site } from '../../controller/spec/schema.ts';
import { validateSite } from '../../controller/spec/validate.ts';

export const SIM_REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
export const FIXED_NOW = () => new Date('2026-11-28T00:00:00Z');

export function demoDocument(): SiteInput & Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('../../specs/demo.json', import.meta.url), 'utf8')) as SiteInput &
    Record<string, unknown>;
}

export function newSim(regions: readonly string[] = SIM_REGIONS): SimulatedCloud {
  return new SimulatedCloud({ regions });
}

/** Stores `document` as its site's spec, bumping the generation like `tandem apply`. */
export async function storeSpec(sim: SimulatedCloud, document: unknown, name?: string): Promise<void> {
  const key = name ?? (document as { metadata: { name: string } }).metadata.name;
  await sim.ports().store.putSpec(key, document, sim.world.specs[key]?.generation ?? 0);
}

export function pass(sim: SimulatedCloud, options: { sites?: string[] } = {}): Promise<PassReport> {
  return reconcilePass({ ports: sim.ports(), platform: sim.platform, now: FIXED_NOW, ...options });
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
): void {
  const name = site.metadata.name;
  const { spec } = site;
  const weight = spec.canary?.weight ?? 0;
  for (const [regionName, region] of Object.entries(sim.world.regions)) {
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
    const split = splitTasks(wanted.minTasks, weight);
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
    assert.deepEqual(rule.header, {
      name: sim.platform.originHeaderName,
      value: originHeaderValue(name, sim.platform.originSecret),
    });
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
  assert.deepEqual(
    config.origins.map((o) => o.domainName),
    [primary, ...(failover ? [failover] : [])].map((r) => sim.platform.regions[r.name]!.loadBalancerDnsName),
    `${name}: origins, primary first`,
  );
  for (const origin of config.origins) {
    assert.equal(
      origin.customHeaders[sim.platform.originHeaderName],
      originHeaderValue(name, sim.platform.originSecret),
    );
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
