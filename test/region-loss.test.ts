import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { QUIET_AFTER_PASSES as QUIET_INTERVALS } from '../controller/decide/ownership.ts';
import { desiredSite } from '../controller/plan/desired.ts';
import { canonicalJson } from '../controller/model/naming.ts';
import type { Platform } from '../controller/model/platform.ts';
import { isOwnedBy } from '../controller/model/tags.ts';
import { validateSite } from '../controller/spec/validate.ts';
import type { Site } from '../controller/spec/schema.ts';
import { assertWorldMatches, demoDocument, newSim, pass, specItem, valid } from './support/world.ts';
import { propertyRuns } from './support/properties.ts';

/**
 * Losing and restoring regions, as a property: whatever regions are lost
 * (whole, or their data plane only), whenever (between passes or in the
 * middle of one), and whatever is edited meanwhile in a replica that is up,
 * every region that is up keeps a task count the demand explains, counted
 * once; the distribution is always as one of the regions wants it; and once
 * everything is back, the world converges to the spec.
 */

const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
const [PRIMARY, FAILOVER, STANDBY] = REGIONS as [string, string, string];
const TARGET = 600;

function spec(ttl: number) {
  const document = demoDocument();
  delete document.spec.canary;
  document.spec.regions = [
    { name: PRIMARY, role: 'primary', minTasks: 2, maxTasks: 12 },
    { name: FAILOVER, role: 'failover', minTasks: 2, maxTasks: 12 },
    { name: STANDBY, role: 'failover', minTasks: 1, maxTasks: 12 },
  ] as typeof document.spec.regions;
  document.spec.cdn = { ...document.spec.cdn, defaultTtlSeconds: ttl };
  return document;
}

type Event =
  | { kind: 'lose'; region: string; afterWrites: number; rounds: number }
  | { kind: 'restore' | 'failData' | 'healData'; region: string; rounds: number }
  | { kind: 'edit'; region: string; ttl: number; rounds: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({
    kind: fc.constant('lose' as const),
    region: fc.constantFrom(...REGIONS),
    afterWrites: fc.integer({ min: 0, max: 6 }),
    rounds: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({
    kind: fc.constantFrom('restore' as const, 'failData' as const, 'healData' as const),
    region: fc.constantFrom(...REGIONS),
    rounds: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({
    kind: fc.constant('edit' as const),
    region: fc.constantFrom(...REGIONS),
    ttl: fc.constantFrom(0, 60, 300, 3600),
    rounds: fc.integer({ min: 1, max: 3 }),
  }),
);

class Scenario {
  readonly sim = newSim(REGIONS);
  readonly dataDown = new Set<string>();
  minute = 0;
  /** Consecutive rounds the primary has been lost with the failover up and serving. */
  primaryLostFor = 0;

  /** The distributions the replicas' specs wanted, one list per round. */
  readonly wantedHistory: string[][] = [];

  /** The highest demand so far: the scale-in window may hold a count it needed. */
  readonly peak: number;

  constructor(public demand: number) {
    this.peak = demand;
  }

  /** What the CDN sends where: the primary while it serves, else the failover region, request by request. */
  route(): void {
    const { sim, demand } = this;
    const up = (r: string) => !sim.isLost(r);
    const primaryServes = up(PRIMARY) && !this.dataDown.has(PRIMARY);
    const toFailover = primaryServes ? 0 : demand;
    sim.setTraffic(PRIMARY, 'demo-stable', {
      requestsPerMinute: up(PRIMARY) ? demand : 0,
      ...(this.dataDown.has(PRIMARY) ? { errors5xxPerMinute: demand } : {}),
    });
    sim.setTraffic(FAILOVER, 'demo-stable', {
      requestsPerMinute: toFailover,
      ...(this.dataDown.has(FAILOVER) ? { errors5xxPerMinute: toFailover } : {}),
    });
    sim.setTraffic(STANDBY, 'demo-stable', { requestsPerMinute: 0 });
  }

  async round(): Promise<void> {
    this.route();
    await pass(this.sim); // at the simulated cloud's time: a minute a round
    this.sim.tick();
    this.minute += 1;
    const lostPrimary =
      this.sim.isLost(PRIMARY) && !this.sim.isLost(FAILOVER) && !this.dataDown.has(FAILOVER);
    this.primaryLostFor = lostPrimary ? this.primaryLostFor + 1 : 0;
    this.check();
  }

  tasks(region: string): number {
    return Object.values(this.sim.world.regions[region]!.services)
      .filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, 'demo'))
      .reduce((n, s) => n + s.desiredCount, 0);
  }

  /** The specs the replicas hold: each region's reconciler wants the distribution its replica's spec asks for. */
  wantedSites(): Site[] {
    return REGIONS.flatMap((r) => {
      const item = specItem(this.sim, 'demo', r);
      const checked = item === undefined ? undefined : validateSite(item.document);
      return checked?.ok ? [checked.site] : [];
    });
  }

  check(): void {
    const { sim } = this;
    const needed = Math.ceil(this.demand / TARGET);
    const most = Math.ceil(this.peak / TARGET);
    for (const region of REGIONS) {
      if (sim.isLost(region)) continue;
      const min = region === STANDBY ? 1 : 2;
      // The whole demand, counted once, is the most any region is ever asked to carry.
      assert.ok(
        this.tasks(region) <= Math.max(min, most) + 1,
        `minute ${this.minute}: ${region} runs ${this.tasks(region)} tasks for a demand of at most ${most} (minTasks ${min})`,
      );
    }
    if (this.primaryLostFor >= 6)
      assert.ok(
        this.tasks(FAILOVER) >= needed,
        `minute ${this.minute}: ${FAILOVER} carries the lost primary's demand (${this.tasks(FAILOVER)} of ${needed})`,
      );
    this.wantedHistory.push(this.wantedSites().flatMap((site) => wantedDistributions(site, sim.platform)));
    // A spec edit reaches the distribution at the next pass of the region holding it; when that region is
    // lost first, another takes it over after 3 quiet intervals and applies it in the pass after: until then
    // the distribution is as a region's spec wanted it at most 4 rounds ago.
    const wanted = new Set(this.wantedHistory.slice(-(QUIET_INTERVALS + 2)).flat());
    for (const d of Object.values(sim.world.distributions)) {
      if (!isOwnedBy(d.tags, 'demo') || !d.config.enabled) continue;
      assert.ok(
        wanted.has(canonicalJson(d.config)),
        `minute ${this.minute}: distribution ${d.id} is as no region's spec has wanted it in the last ${QUIET_INTERVALS + 1} rounds`,
      );
    }
  }
}

/**
 * The distributions a spec wants, as JSON: its primary region first, or its failover region first
 * (the holder asks it first while the primary fails: decide/origin-order.ts).
 */
function wantedDistributions(site: Site, platform: Platform): string[] {
  const primary = site.spec.regions.find((r) => r.role === 'primary')!.name;
  const failover = site.spec.regions.find((r) => r.role === 'failover')?.name;
  const firsts = failover === undefined ? [primary] : [primary, failover];
  return firsts.map((first) =>
    canonicalJson(
      desiredSite(site, platform, {
        regions: {},
        canaryWeight: 0,
        failing: [],
        failoverActive: false,
        ...(failover === undefined
          ? {}
          : {
              originOrder: {
                primary,
                failover,
                first,
                reason: first === primary ? 'SpecOrder' : 'PrimaryFailing',
              },
            }),
      }).distribution,
    ),
  );
}

test('regions lost and restored in any order, whole or data plane only, between passes or mid-pass: bounded tasks, a wanted CDN, and convergence after', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(600, 1800, 3000, 4200),
      fc.array(event, { minLength: 1, maxLength: 7 }),
      async (demand, events) => {
        const s = new Scenario(demand);
        await s.sim.storeIn(PRIMARY).putSpec('demo', spec(300), 0);
        for (let i = 0; i < 4; i += 1) await s.round();

        for (const e of events) {
          switch (e.kind) {
            case 'lose':
              s.sim.loseRegionAfterWrites(e.region, e.afterWrites);
              break;
            case 'restore':
              s.sim.restoreRegion(e.region);
              break;
            case 'failData':
              s.dataDown.add(e.region);
              break;
            case 'healData':
              s.dataDown.delete(e.region);
              break;
            case 'edit':
              if (!s.sim.isLost(e.region)) {
                const store = s.sim.storeIn(e.region);
                const current = await store.getSpec('demo');
                await store.putSpec('demo', spec(e.ttl), current?.generation ?? 0);
              }
              break;
          }
          for (let r = 0; r < e.rounds; r += 1) await s.round();
        }

        // The regions that are up converge while the others stay lost: their resources as their replica's spec
        // says (their counts held up by what they carry), and the distribution, whoever holds it now.
        for (let r = 0; r < 5; r += 1) await s.round();
        const up = REGIONS.filter((r) => !s.sim.isLost(r));
        for (const region of up) {
          const item = specItem(s.sim, 'demo', region)!;
          assertWorldMatches(
            s.sim,
            valid(item.document),
            {},
            { regions: [region], counts: false, eitherOriginFirst: true },
          );
        }
        if (up.length > 0) {
          const holder = up.map((r) => validateSite(specItem(s.sim, 'demo', r)!.document));
          const wanted = holder.flatMap((h) => (h.ok ? wantedDistributions(h.site, s.sim.platform) : []));
          const live = Object.values(s.sim.world.distributions).filter(
            (d) => isOwnedBy(d.tags, 'demo') && d.config.enabled,
          );
          assert.equal(live.length, 1, 'one distribution serves the site while regions are lost');
          assert.ok(wanted.includes(canonicalJson(live[0]!.config)), 'as an up region wants it');
        }

        // Everything back, and the load gone: the world settles on the spec's minTasks after the
        // scale-in gate (three 300 s windows, decide/autoscaler.ts).
        for (const region of REGIONS) s.sim.restoreRegion(region);
        s.dataDown.clear();
        s.demand = 0;
        s.sim.replicate();
        for (let r = 0; r < 22; r += 1) await s.round();
        const latest = specItem(s.sim, 'demo', PRIMARY)!;
        for (const region of REGIONS)
          assert.deepEqual(
            specItem(s.sim, 'demo', region)!.document,
            latest.document,
            `${region}'s replica caught up`,
          );
        assertWorldMatches(s.sim, valid(latest.document));
        const holders = REGIONS.filter((r) => {
          const item = s.sim.replica(PRIMARY).items[`status|demo#${r}`]?.value as {
            status: { global: boolean };
          };
          return item?.status.global;
        });
        assert.deepEqual(holders, [PRIMARY], 'the primary holds the global duties again');
      },
    ),
    { numRuns: propertyRuns(30) },
  );
});
