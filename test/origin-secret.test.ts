import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acceptedFingerprints,
  decideOriginSecret,
  type OriginSecretInput,
} from '../controller/decide/origin-secret.ts';
import { secretFingerprint } from '../controller/model/naming.ts';
import type { ObservedCdn, ObservedRegion } from '../controller/model/observed.ts';
import type { SiteStatus } from '../controller/model/status.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { demoDocument, newSim, pass, statusItem, storeSpec, valid, converge } from './support/world.ts';

const OLD = 'old-secret';
const NEW = 'new-secret';
const fp = secretFingerprint;
const HEADER = 'X-Tandem-Origin';
const spec = valid(demoDocument()).spec; // primary us-east-1, failover eu-west-1

function rules(...secrets: string[][]): ObservedRegion['rules'] {
  return secrets.map((values, i) => ({
    arn: `rule/${i}`,
    priority: i + 1,
    header: { name: HEADER, values: values.map((s) => `demo.${s}`) },
    forward: [],
    tags: {},
  }));
}

function seen(...secrets: string[][]): ObservedRegion {
  return { rules: rules(...secrets) } as unknown as ObservedRegion;
}

function cdn(sends: string | undefined, status: 'InProgress' | 'Deployed'): ObservedCdn {
  return {
    distributions: [
      {
        owned: true,
        status,
        ...(sends === undefined ? {} : { originSecret: fp(sends) }),
      } as ObservedCdn['distributions'][number],
    ],
  };
}

function report(
  region: string,
  fields: { accepts?: string[]; cdn?: SiteStatus['cdn']; global?: boolean },
): SiteStatus {
  return {
    site: 'demo',
    region,
    global: fields.global ?? false,
    observedGeneration: 1,
    observedHash: 'h',
    conditions: {},
    regions:
      fields.accepts === undefined
        ? {}
        : { [region]: { originSecrets: fields.accepts.map(fp) } as SiteStatus['regions'][string] },
    cdn: fields.cdn ?? {},
    lastActions: [],
    errors: [],
  };
}

function input(over: Partial<OriginSecretInput>): OriginSecretInput {
  return {
    secrets: { current: fp(NEW), previous: fp(OLD) },
    self: 'us-east-1',
    spec,
    seen: seen([NEW, OLD]),
    cdn: undefined,
    reports: [],
    ...over,
  };
}

test('the rules a region accepts: the secrets every rule holds, whatever their order', () => {
  assert.deepEqual(acceptedFingerprints(rules([NEW, OLD], [OLD, NEW])), [fp(NEW), fp(OLD)].sort());
  assert.deepEqual(acceptedFingerprints(rules([NEW, OLD], [OLD])), [fp(OLD)], 'the HTTPS listener lags');
  assert.deepEqual(acceptedFingerprints([]), []);
});

test('each step of a rotation is taken only once the one before is seen done', () => {
  const cases: [string, Partial<OriginSecretInput>, { acceptPrevious: boolean; sendPrevious: boolean }][] = [
    [
      'never rotated: one value, nothing kept',
      { secrets: { current: fp(NEW) }, cdn: cdn(NEW, 'Deployed') },
      { acceptPrevious: false, sendPrevious: false },
    ],
    [
      'rotated; eu-west-1 has not reported the new secret: rules take both, the distribution keeps the old',
      { cdn: cdn(OLD, 'Deployed'), reports: [report('eu-west-1', { accepts: [OLD] })] },
      { acceptPrevious: true, sendPrevious: true },
    ],
    [
      'eu-west-1 accepts both, but this region’s own rules do not have the new one yet',
      {
        seen: seen([OLD]),
        cdn: cdn(OLD, 'Deployed'),
        reports: [report('eu-west-1', { accepts: [NEW, OLD] })],
      },
      { acceptPrevious: true, sendPrevious: true },
    ],
    [
      'every region behind the distribution accepts the new secret: it is sent',
      { cdn: cdn(OLD, 'Deployed'), reports: [report('eu-west-1', { accepts: [NEW, OLD] })] },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'the new secret is sent but still deploying: edges may send either, so both stay',
      { cdn: cdn(NEW, 'InProgress'), reports: [report('eu-west-1', { accepts: [NEW, OLD] })] },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'deployed with the new secret: the old one is dropped',
      { cdn: cdn(NEW, 'Deployed'), reports: [report('eu-west-1', { accepts: [NEW, OLD] })] },
      { acceptPrevious: false, sendPrevious: false },
    ],
    [
      'a region without the CDN reads the holder’s report: deployed with the new secret',
      {
        self: 'eu-west-1',
        reports: [report('us-east-1', { global: true, cdn: { state: 'Deployed', originSecret: fp(NEW) } })],
      },
      { acceptPrevious: false, sendPrevious: false },
    ],
    [
      'the holder reports the new secret still deploying',
      {
        self: 'eu-west-1',
        reports: [report('us-east-1', { global: true, cdn: { state: 'InProgress', originSecret: fp(NEW) } })],
      },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'no report from the holder (lost, or never written): the old secret stays accepted',
      { self: 'eu-west-1', reports: [] },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'a distribution sending a secret older than both (two rotations in a row): the current one is sent',
      { cdn: cdn('older-secret', 'Deployed'), reports: [report('eu-west-1', { accepts: [OLD] })] },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'a new site (no distribution yet) is created sending the current secret',
      { cdn: { distributions: [] }, reports: [] },
      { acceptPrevious: true, sendPrevious: false },
    ],
  ];
  for (const [name, over, expected] of cases) {
    assert.deepEqual(decideOriginSecret(input(over)), expected, name);
  }
});

// ----- on the simulated cloud -----

/** The values each region's rules of the site accept (every listener), and what the distribution sends. */
function world(sim: SimulatedCloud) {
  const accepted = Object.fromEntries(
    ['us-east-1', 'eu-west-1'].map((region) => {
      const values = Object.values(sim.world.regions[region]!.rules).map((r) => new Set(r.header.values));
      return [region, values];
    }),
  );
  const distribution = Object.values(sim.world.distributions)[0]!;
  const sends = new Set(distribution.config.origins.map((o) => o.customHeaders[HEADER]!));
  return { accepted, sends, deployed: distribution.status === 'Deployed' };
}

test('rotating the origin secret on the simulated cloud: no moment when an edge sends a value a rule refuses; the old one goes at the end', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  sim.platform.originSecret = OLD;
  await converge(sim);
  sim.tick();
  await converge(sim);

  sim.platform.previousOriginSecret = OLD;
  sim.platform.originSecret = NEW;

  // What some edge may still send: every value since the distribution was last Deployed.
  let inFlight = new Set(world(sim).sends);
  const check = (when: string) => {
    const now = world(sim);
    inFlight = now.deployed ? new Set(now.sends) : new Set([...inFlight, ...now.sends]);
    for (const [region, rulesHere] of Object.entries(now.accepted)) {
      for (const values of rulesHere)
        for (const value of inFlight)
          assert.ok(
            values.has(value),
            `${when}: ${region} refuses ${value} (accepts ${[...values].join(', ')})`,
          );
    }
  };

  // Each region's reconciler on its own, replication between, and CloudFront deploying only every
  // other round: so a region sees the distribution InProgress, and one region acts before the other.
  let rounds = 0;
  for (; rounds < 12; rounds += 1) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      await pass(sim, { regions: [region] });
      check(`round ${rounds + 1}, after ${region}'s pass`);
      sim.replicate();
    }
    if (rounds % 2 === 1) {
      sim.tick();
      check(`after tick ${rounds + 1}`);
    }
    const now = world(sim);
    const done =
      now.deployed &&
      [...now.sends].join() === `demo.${NEW}` &&
      Object.values(now.accepted).every((rs) => rs.every((values) => [...values].join() === `demo.${NEW}`));
    if (done) break;
  }
  assert.ok(rounds < 10, `the rotation finished in ${rounds + 1} rounds`);

  // Reported by fingerprint, never by value.
  const status = statusItem(sim, 'demo', 'us-east-1')!.status;
  assert.equal(status.cdn.originSecret, fp(NEW));
  assert.ok(!JSON.stringify(status).includes(NEW));

  // Settled: a steady pass writes nothing.
  await pass(sim);
  sim.tick();
  sim.resetCalls();
  await pass(sim);
  assert.deepEqual(sim.cloudWrites(), []);
});

test('a rule holding both values in the other order is not drift', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  sim.platform.originSecret = OLD;
  await converge(sim);
  sim.platform.previousOriginSecret = OLD;
  sim.platform.originSecret = NEW;
  await pass(sim);
  for (const region of ['us-east-1', 'eu-west-1'])
    for (const rule of Object.values(sim.world.regions[region]!.rules)) {
      assert.equal(rule.header.values.length, 2);
      rule.header.values.reverse();
    }
  sim.resetCalls();
  const round = await pass(sim);
  const ruleActions = round.sites
    .flatMap((s) => s.plan?.actions ?? [])
    .filter((a) => a.kind === 'ModifyRule');
  assert.deepEqual(ruleActions, []);
});

test('a region lost mid-rotation stalls the rotation, never the site: the distribution keeps a value every region behind it accepts', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  sim.platform.originSecret = OLD;
  await converge(sim);
  sim.loseRegion('eu-west-1');
  sim.platform.previousOriginSecret = OLD;
  sim.platform.originSecret = NEW;
  for (let i = 0; i < 5; i += 1) {
    await pass(sim);
    sim.tick();
  }
  const now = world(sim);
  assert.deepEqual([...now.sends], [`demo.${OLD}`], 'eu-west-1 never said it accepts the new secret');
  for (const values of now.accepted['us-east-1']!)
    assert.deepEqual([...values].sort(), [`demo.${NEW}`, `demo.${OLD}`]);

  sim.restoreRegion('eu-west-1');
  for (let i = 0; i < 8; i += 1) {
    await pass(sim);
    sim.tick();
  }
  const after = world(sim);
  assert.deepEqual([...after.sends], [`demo.${NEW}`]);
  for (const rulesHere of Object.values(after.accepted))
    for (const values of rulesHere) assert.deepEqual([...values], [`demo.${NEW}`]);
});
