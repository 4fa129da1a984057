import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acceptedFingerprints,
  decideOriginSecret,
  fingerprintOfHeaderValue,
  sentFingerprint,
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
  assert.deepEqual(
    acceptedFingerprints(rules([OLD, NEW])),
    [fp(NEW), fp(OLD)].sort(),
    'sorted, not in the order the rule lists them (a status that changes with it is a write every pass)',
  );
});

test('a header value names its secret after the first dot; a value without a dot names none', () => {
  assert.equal(fingerprintOfHeaderValue(`demo.${NEW}`), fp(NEW));
  assert.equal(fingerprintOfHeaderValue(`.${NEW}`), fp(NEW), 'an empty site part');
  assert.equal(fingerprintOfHeaderValue(NEW), undefined);
});

test('what a distribution sends: the origin header (any case) of every origin, only when they agree', () => {
  const origin = (headers: Record<string, string>) => ({ customHeaders: headers });
  assert.equal(
    sentFingerprint([origin({ 'X-Other': `demo.${OLD}`, 'x-tandem-origin': `demo.${NEW}` })], HEADER),
    fp(NEW),
    'another custom header listed first is not the origin header',
  );
  assert.equal(sentFingerprint([origin({})], HEADER), undefined, 'an origin without the header');
  assert.equal(
    sentFingerprint([origin({ [HEADER]: `demo.${OLD}` }), origin({ [HEADER]: `demo.${NEW}` })], HEADER),
    undefined,
    'origins sending different secrets (an update half made)',
  );
  assert.equal(
    sentFingerprint([origin({ [HEADER]: `demo.${NEW}` }), origin({ [HEADER]: `demo.${NEW}` })], HEADER),
    fp(NEW),
  );
});

test('the holder’s report is the one that counts: a stale cdn in another report, a region never reported, a report from an older version', () => {
  const holderNew = report('us-east-1', { global: true, cdn: { state: 'Deployed', originSecret: fp(NEW) } });
  const cases: [string, Partial<OriginSecretInput>, { acceptPrevious: boolean; sendPrevious: boolean }][] = [
    [
      'a report that is not the holder’s (a past holder’s cdn left in it) is not read: the old secret stays',
      {
        self: 'eu-west-1',
        reports: [report('eu-west-1', { cdn: { state: 'Deployed', originSecret: fp(NEW) } })],
      },
      { acceptPrevious: true, sendPrevious: false },
    ],
    [
      'a holder that reports no secret yet (the lease just moved) does not hide one that does',
      {
        self: 'eu-west-1',
        reports: [report('eu-west-1', { global: true, cdn: { state: 'Deployed' } }), holderNew],
      },
      { acceptPrevious: false, sendPrevious: false },
    ],
    [
      'a region that never reported is skipped',
      { self: 'eu-west-1', reports: [undefined, holderNew] },
      { acceptPrevious: false, sendPrevious: false },
    ],
    [
      'the other region never reported: the distribution keeps the old secret',
      { cdn: cdn(OLD, 'Deployed'), reports: [undefined] },
      { acceptPrevious: true, sendPrevious: true },
    ],
    [
      'the other region’s report has no entry for it (an older version wrote it): the old secret is kept',
      { cdn: cdn(OLD, 'Deployed'), reports: [report('eu-west-1', {})] },
      { acceptPrevious: true, sendPrevious: true },
    ],
    [
      'the other region’s entry has no accepted secrets: the old secret is kept',
      {
        cdn: cdn(OLD, 'Deployed'),
        reports: [
          { ...report('eu-west-1', {}), regions: { 'eu-west-1': {} as SiteStatus['regions'][string] } },
        ],
      },
      { acceptPrevious: true, sendPrevious: true },
    ],
    [
      'this region not observed this pass: its rules are not known to accept the new secret',
      { seen: undefined, cdn: cdn(OLD, 'Deployed'), reports: [report('eu-west-1', { accepts: [NEW, OLD] })] },
      { acceptPrevious: true, sendPrevious: true },
    ],
  ];
  for (const [name, over, expected] of cases)
    assert.deepEqual(decideOriginSecret(input(over)), expected, name);
});

test('the regions behind the distribution are the spec’s primary and failover, in whatever order the spec lists them', () => {
  const failoverFirst = { ...spec, regions: [...spec.regions].reverse() };
  assert.equal(failoverFirst.regions[0]!.role, 'failover');
  // This region (the failover) accepts the new secret; the primary has not said it does.
  const failoverOnly = input({
    spec: failoverFirst,
    self: 'eu-west-1',
    cdn: cdn(OLD, 'Deployed'),
    reports: [report('us-east-1', { accepts: [OLD] })],
  });
  assert.deepEqual(decideOriginSecret(failoverOnly), { acceptPrevious: true, sendPrevious: true });

  const alone = { ...spec, regions: spec.regions.filter((r) => r.role === 'primary') };
  assert.deepEqual(
    decideOriginSecret(input({ spec: alone, cdn: cdn(OLD, 'Deployed') })),
    { acceptPrevious: true, sendPrevious: false },
    'a site in one region: its own rules are all that must accept the new secret',
  );
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
