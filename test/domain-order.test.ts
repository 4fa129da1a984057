import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OriginProtocol, Platform, RegionPlatform } from '../controller/model/platform.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { converge, demoDocument, newSim, pass, storeSpec } from './support/world.ts';

/**
 * Turning a domain on (or off) changes two things deployed by different stacks: the control
 * stack's settings (`originProtocol`) and each region's platform item (its HTTPS listener,
 * `httpsListenerArn`). Each test deploys them in one order, as the stacks would, and checks
 * that every distribution only ever points at a listener that exists and carries the site's rule.
 */

const PRIMARY = 'us-east-1';
const FAILOVER = 'eu-west-1';

/** The control stack writes `platform`/`settings`. */
function deployControl(sim: SimulatedCloud, protocol: OriginProtocol): void {
  (sim.platform as { originProtocol: OriginProtocol }).originProtocol = protocol;
}

function httpsListener(where: RegionPlatform): string {
  return where.listenerArn.replace(/\/[^/]+$/, '/0123456789abcdef');
}

/** A platform stack with the domain: its HTTPS listener exists, and its item says so. */
function deployPlatformWithDomain(sim: SimulatedCloud, region: string): void {
  const regions = sim.platform.regions as Record<string, RegionPlatform>;
  regions[region] = {
    ...regions[region]!,
    httpsListenerArn: httpsListener(regions[region]!),
    httpsOriginName: `origin-${region}.example.com`,
  };
}

/** A platform stack without the domain: the HTTPS listener goes, and its rules with it. */
function deployPlatformWithoutDomain(sim: SimulatedCloud, region: string): void {
  const regions = sim.platform.regions as Record<string, RegionPlatform>;
  const { httpsListenerArn, httpsOriginName: _name, ...rest } = regions[region]!;
  regions[region] = rest;
  const rules = sim.world.regions[region]!.rules;
  for (const [arn, rule] of Object.entries(rules))
    if (rule.listenerArn === httpsListenerArn) delete rules[arn];
}

/**
 * The distribution's origin protocol per region. HTTPS goes to origin-<region>.<domain>, the name
 * the certificate covers; HTTP to the ALB's own name, which outlives the domain.
 */
function origins(sim: SimulatedCloud): Record<string, string> {
  const [distribution] = Object.values(sim.world.distributions);
  assert.ok(distribution !== undefined, 'the site has a distribution');
  for (const o of distribution.config.origins)
    assert.equal(
      o.domainName,
      o.protocol === 'https-only'
        ? `origin-${o.id}.example.com`
        : (sim.platform as Platform).regions[o.id]!.loadBalancerDnsName,
      o.id,
    );
  return Object.fromEntries(distribution.config.origins.map((o) => [o.id, o.protocol]));
}

/** The site's rules by listener: the HTTP one, then the HTTPS one where there is one. */
function rules(sim: SimulatedCloud, region: string): { http: string[]; https: string[] } {
  const where = (sim.platform as Platform).regions[region]!;
  const all = Object.values(sim.world.regions[region]!.rules).filter((r) => r.tags['tandem:site'] === 'demo');
  return {
    http: all.filter((r) => r.listenerArn === where.listenerArn).map((r) => r.arn),
    https: all.filter((r) => r.listenerArn === httpsListener(where)).map((r) => r.arn),
  };
}

async function runningDemo(): Promise<{ sim: SimulatedCloud; httpRules: Record<string, string[]> }> {
  const sim = newSim();
  await storeSpec(sim, demoDocument());
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });
  return { sim, httpRules: { [PRIMARY]: rules(sim, PRIMARY).http, [FAILOVER]: rules(sim, FAILOVER).http } };
}

function assertHttpRulesKept(sim: SimulatedCloud, httpRules: Record<string, string[]>): void {
  for (const region of [PRIMARY, FAILOVER]) {
    assert.equal(httpRules[region]!.length, 1);
    assert.deepEqual(
      rules(sim, region).http,
      httpRules[region],
      `the HTTP rule in ${region} is never replaced`,
    );
  }
}

test('domain on, control stack first: settings say https-only, but each origin stays HTTP until its region says it listens for HTTPS', async () => {
  const { sim, httpRules } = await runningDemo();

  deployControl(sim, 'https-only');
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });

  deployPlatformWithDomain(sim, PRIMARY);
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'https-only', [FAILOVER]: 'http-only' });
  assert.equal(rules(sim, PRIMARY).https.length, 1, 'the site has its rule on the HTTPS listener too');

  deployPlatformWithDomain(sim, FAILOVER);
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'https-only', [FAILOVER]: 'https-only' });
  assert.equal(rules(sim, FAILOVER).https.length, 1);
  assertHttpRulesKept(sim, httpRules);
});

test("domain on: the CDN moves a region to HTTPS only once that region's reconciler has put the site's rule on its HTTPS listener", async () => {
  const { sim } = await runningDemo();
  deployControl(sim, 'https-only');
  deployPlatformWithDomain(sim, FAILOVER);
  // Only the holder of the global duties runs: the failover region's HTTPS listener has no rule yet.
  await pass(sim, { regions: [PRIMARY] });
  assert.deepEqual(rules(sim, FAILOVER).https, []);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });

  await pass(sim, { regions: [FAILOVER] });
  assert.equal(rules(sim, FAILOVER).https.length, 1);
  await pass(sim, { regions: [PRIMARY] });
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'https-only' });
});

test('domain on, platform stacks first: the HTTPS listeners get the rules, and the origins move only once the settings say https-only', async () => {
  const { sim, httpRules } = await runningDemo();

  deployPlatformWithDomain(sim, PRIMARY);
  deployPlatformWithDomain(sim, FAILOVER);
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });
  assert.equal(rules(sim, PRIMARY).https.length, 1);
  assert.equal(rules(sim, FAILOVER).https.length, 1);

  deployControl(sim, 'https-only');
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'https-only', [FAILOVER]: 'https-only' });
  assertHttpRulesKept(sim, httpRules);
});

test('domain off, control stack first: the origins go back to HTTP while the HTTPS listeners still exist, then those go', async () => {
  const { sim, httpRules } = await runningDemo();
  deployControl(sim, 'https-only');
  deployPlatformWithDomain(sim, PRIMARY);
  deployPlatformWithDomain(sim, FAILOVER);
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'https-only', [FAILOVER]: 'https-only' });

  deployControl(sim, 'http-only');
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });

  deployPlatformWithoutDomain(sim, PRIMARY);
  deployPlatformWithoutDomain(sim, FAILOVER);
  await converge(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'http-only', [FAILOVER]: 'http-only' });
  assertHttpRulesKept(sim, httpRules);
});

test('domain off, platform stack first: that region goes back to HTTP at once, though the settings still say https-only', async () => {
  const { sim, httpRules } = await runningDemo();
  deployControl(sim, 'https-only');
  deployPlatformWithDomain(sim, PRIMARY);
  deployPlatformWithDomain(sim, FAILOVER);
  await converge(sim);

  deployPlatformWithoutDomain(sim, FAILOVER);
  await pass(sim);
  assert.deepEqual(origins(sim), { [PRIMARY]: 'https-only', [FAILOVER]: 'http-only' });
  await converge(sim);
  assert.deepEqual(rules(sim, FAILOVER).https, []);
  assertHttpRulesKept(sim, httpRules);
});
