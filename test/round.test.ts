import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../controller/errors.ts';
import type { Ports } from '../controller/ports/index.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { reconcileRound, regionPass } from '../controller/reconcile/round.ts';
import { demoDocument, newSim, storeSpec } from './support/world.ts';

/*
 * The lease a region's pass runs under (round.ts): who takes it, for how long, at which time,
 * and that it is given back however the pass ends. Leases are the regions' liveness: what a
 * round passes on decides which region holds a site's global duties.
 */

const US = 'us-east-1';
const EU = 'eu-west-1';

type LeaseCall = ['acquire', string, number, number] | ['release', string, number] | ['listSpecs'];

/** The region's ports with its lease calls recorded; `change` replaces store methods. */
function recorded(
  sim: SimulatedCloud,
  region: string,
  calls: LeaseCall[],
  change: Partial<Ports['store']> = {},
): Ports {
  const ports = sim.ports(region);
  const store = ports.store;
  return {
    ...ports,
    store: Object.assign(Object.create(store) as Ports['store'], {
      acquireLease: (holder: string, ttl: number, now: number) => {
        calls.push(['acquire', holder, ttl, now]);
        return store.acquireLease(holder, ttl, now);
      },
      releaseLease: (holder: string, now: number) => {
        calls.push(['release', holder, now]);
        return store.releaseLease(holder, now);
      },
      listSpecs: () => {
        calls.push(['listSpecs']);
        return store.listSpecs();
      },
      ...change,
    }),
  };
}

test('a region’s pass runs under its lease, taken for the time asked at the pass’s clock and given back after it', async () => {
  const sim = newSim([US, EU]);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  let tick = 0;
  const now = () => new Date(T + 1000 * tick++);
  const calls: LeaseCall[] = [];
  const report = await regionPass({
    ports: recorded(sim, US, calls),
    platform: sim.platform,
    region: US,
    holder: 'me',
    leaseSeconds: 45,
    now,
  });
  assert.ok(report !== undefined);
  assert.deepEqual(calls[0], ['acquire', 'me', 45, T]);
  assert.deepEqual(
    calls.at(-1),
    ['release', 'me', T + 1000 * (tick - 1)],
    'released at the time the pass ended',
  );
  assert.ok(tick > 2, 'the pass read the same clock');
});

test('a region whose lease another holds runs no pass; a pass that fails still gives its lease back', async () => {
  const sim = newSim([US, EU]);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  const now = () => new Date(T);
  const held: LeaseCall[] = [];
  const notMine = await regionPass({
    ports: recorded(sim, US, held, { acquireLease: async () => false }),
    platform: sim.platform,
    region: US,
    holder: 'me',
    leaseSeconds: 60,
    now,
  });
  assert.equal(notMine, undefined);
  assert.deepEqual(held, [], 'nothing read, nothing released');

  const failing: LeaseCall[] = [];
  await assert.rejects(
    regionPass({
      ports: recorded(sim, US, failing, {
        listSpecs: () => Promise.reject(new CloudError('Unavailable', 'store', 'replica down')),
      }),
      platform: sim.platform,
      region: US,
      holder: 'me',
      leaseSeconds: 60,
      now,
    }),
    /replica down/,
  );
  assert.deepEqual(failing, [
    ['acquire', 'me', 60, T],
    ['release', 'me', T],
  ]);
});

test('a round takes each region’s lease as <holder>:<region> for three intervals, at the round’s clock', async () => {
  const sim = newSim([US, EU]);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  const calls: Record<string, LeaseCall[]> = { [US]: [], [EU]: [] };
  const portsOf = (region: string) => recorded(sim, region, calls[region]!);
  const now = () => new Date(T);
  await reconcileRound({ portsOf, platform: sim.platform, now });
  await reconcileRound({ portsOf, platform: sim.platform, now, holder: 'cli', intervalSeconds: 10 });
  const acquired = (region: string) => calls[region]!.filter((c) => c[0] === 'acquire');
  assert.deepEqual(acquired(US), [
    ['acquire', `round:${US}`, 180, T],
    ['acquire', `cli:${US}`, 30, T],
  ]);
  assert.deepEqual(acquired(EU), [
    ['acquire', `round:${EU}`, 180, T],
    ['acquire', `cli:${EU}`, 30, T],
  ]);
});

test('a round passes its interval on: a region silent for more than three of them is quiet, and the next region takes the global duties', async () => {
  const sim = newSim([US, EU]);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  // us-east-1, the primary, passes once at T (its heartbeat), then is silent.
  await reconcileRound({
    portsOf: (r) => sim.ports(r),
    platform: sim.platform,
    regions: [US],
    now: () => new Date(T),
  });
  sim.replicate();
  const euAt = (intervalSeconds: number | undefined) =>
    reconcileRound({
      portsOf: (r) => sim.ports(r),
      platform: sim.platform,
      regions: [EU],
      now: () => new Date(T + 100_000),
      ...(intervalSeconds === undefined ? {} : { intervalSeconds }),
    });
  const [byDefault] = await euAt(undefined);
  assert.equal(
    byDefault?.statuses.get('demo')?.global,
    false,
    '100 s is not three minutes: us-east-1 holds them',
  );
  const [every10s] = await euAt(10);
  assert.equal(every10s?.statuses.get('demo')?.global, true, '100 s is more than three 10 s intervals');
});

test('without a logger, a lease not given back and a region whose pass fails cost nothing more: the pass’s report, the other regions’ passes', async () => {
  const sim = newSim([US, EU]);
  await storeSpec(sim, demoDocument());
  const down = () => Promise.reject(new CloudError('Unavailable', 'store', 'replica down'));
  const report = await regionPass({
    ports: recorded(sim, US, [], { releaseLease: down }),
    platform: sim.platform,
    region: US,
    holder: 'me',
    leaseSeconds: 60,
  });
  assert.equal(report?.region, US, 'the lease expires by itself');

  const other = newSim([US, EU]);
  await storeSpec(other, demoDocument());
  const round = await reconcileRound({
    portsOf: (region) => (region === US ? recorded(other, US, [], { listSpecs: down }) : other.ports(region)),
    platform: other.platform,
  });
  assert.deepEqual(
    round.map((r) => r.region),
    [EU],
  );
});
