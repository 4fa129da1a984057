import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decideOriginOrder,
  newerOrder,
  restoreAfter,
  type OriginOrder,
  type OriginOrderInput,
} from '../controller/decide/origin-order.ts';
import { describeStatus } from '../controller/cli/format.ts';
import { dashboardBody } from '../controller/dashboard/body.ts';
import { dashboardSites } from '../controller/dashboard/sites.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { converge, demoDocument, newSim, pass, siteView, storeSpec } from './support/world.ts';

const P = 'us-east-1';
const F = 'eu-west-1';
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-07T00:00:00Z');
/** The healthy window on AWS: 10 periods of a minute. */
const RESTORE_AFTER_MS = 10 * MINUTE;

/** A site whose primary has served for an hour: the order may move. */
const SERVING: OriginOrder = {
  primary: P,
  failover: F,
  first: P,
  reason: 'SpecOrder',
  servingSince: T0 - 60 * MINUTE,
};

function input(over: Partial<OriginOrderInput>): OriginOrderInput {
  return {
    primary: P,
    failover: F,
    failing: [],
    requests: { [P]: 3000, [F]: 0 },
    // A site that has served: its primary was first seen serving a minute ago.
    before: SERVING,
    distribution: { first: P, deployed: true },
    now: T0,
    periodMs: MINUTE,
    ...over,
  };
}

test('how the order is decided, case by case', () => {
  const swapped: OriginOrder = {
    primary: P,
    failover: F,
    first: F,
    reason: 'PrimaryFailing',
    changedAt: T0,
    deployedAt: T0,
    moves: [T0],
  };
  const cases: [string, Partial<OriginOrderInput>, Partial<OriginOrder>][] = [
    ['a healthy primary stays first', {}, { first: P, reason: 'SpecOrder' }],
    [
      'a failing primary: the failover region goes first at once',
      { failing: [P] },
      { first: F, reason: 'PrimaryFailing', changedAt: T0 },
    ],
    [
      'the CDN sends most requests to the failover region (the primary hangs, nothing in it looks wrong): it goes first',
      { requests: { [P]: 100, [F]: 2900 } },
      { first: F, reason: 'CdnFailingOver', changedAt: T0 },
    ],
    ['a few requests say nothing', { requests: { [P]: 1, [F]: 5 } }, { first: P, reason: 'SpecOrder' }],
    [
      'the counts just after the primary failed as tandem saw it (a region back from being lost) are not the CDN failing over',
      { requests: { [P]: 0, [F]: 3000 }, primaryFailedAt: T0 - 5 * MINUTE },
      { first: P, reason: 'SpecOrder' },
    ],
    [
      'six periods after, they are again',
      { requests: { [P]: 0, [F]: 3000 }, primaryFailedAt: T0 - 6 * MINUTE },
      { first: F, reason: 'CdnFailingOver' },
    ],
    ['both failing: nothing changes', { failing: [P, F] }, { first: P, reason: 'BothFailing' }],
    [
      'the primary healthy again: it waits out the window before it is first',
      { before: swapped, now: T0 + 5 * MINUTE },
      { first: F, reason: 'PrimaryRecovering', primaryHealthySince: T0 + 5 * MINUTE },
    ],
    [
      'healthy for the whole window: the primary is first again',
      { before: { ...swapped, primaryHealthySince: T0 + MINUTE }, now: T0 + MINUTE + RESTORE_AFTER_MS },
      { first: P, reason: 'SpecOrder', changedAt: T0 + MINUTE + RESTORE_AFTER_MS },
    ],
    [
      'failing again while recovering: the window starts over',
      { before: { ...swapped, primaryHealthySince: T0 + MINUTE }, failing: [P], now: T0 + 9 * MINUTE },
      { first: F, reason: 'PrimaryFailing' },
    ],
    [
      'the failover region failing while first and the primary healthy: the primary goes first at once',
      { before: swapped, failing: [F], now: T0 + 2 * MINUTE },
      { first: P, reason: 'FailoverFailing', changedAt: T0 + 2 * MINUTE },
    ],
    [
      'both failing while the failover region is first: nothing changes',
      { before: swapped, failing: [P, F], now: T0 + 2 * MINUTE },
      { first: F, reason: 'BothFailing' },
    ],
    [
      'just back in the spec order: the failover region still carries the last minutes, which is not the CDN failing over',
      {
        before: {
          primary: P,
          failover: F,
          first: P,
          reason: 'SpecOrder',
          servingSince: T0 - 30 * MINUTE,
          changedAt: T0,
          deployedAt: T0 + MINUTE,
          moves: [T0 - 20 * MINUTE],
        },
        requests: { [P]: 0, [F]: 3000 },
        now: T0 + 2 * MINUTE,
      },
      { first: P, reason: 'SpecOrder' },
    ],
  ];
  for (const [name, over, expected] of cases) {
    const got = decideOriginOrder(input(over));
    for (const [key, value] of Object.entries(expected))
      assert.deepEqual(got[key as keyof OriginOrder], value, `${name}: ${key} (${JSON.stringify(got)})`);
  }
});

test('a site still starting moves nothing: its primary not yet healthy is not a failing primary', () => {
  const starting = decideOriginOrder(input({ before: undefined, failing: [P] }));
  assert.deepEqual([starting.first, starting.servingSince], [P, undefined]);
  const deploying = decideOriginOrder(
    input({ before: starting, failing: [], distribution: { first: P, deployed: false }, now: T0 + MINUTE }),
  );
  assert.equal(deploying.servingSince, undefined);
  const noTargets = decideOriginOrder(
    input({
      before: deploying,
      distribution: { first: P, deployed: true },
      primaryHealthyTargets: 0,
      now: T0 + 2 * MINUTE,
    }),
  );
  assert.equal(noTargets.servingSince, undefined, 'deployed, but no healthy target yet');
  const serving = decideOriginOrder(
    input({
      before: noTargets,
      distribution: { first: P, deployed: true },
      primaryHealthyTargets: 3,
      now: T0 + 2 * MINUTE,
    }),
  );
  assert.equal(serving.servingSince, T0 + 2 * MINUTE);
  // The counts of the first minutes still show the CDN failing over from the starting primary.
  const early = decideOriginOrder(
    input({ before: serving, requests: { [P]: 0, [F]: 300 }, now: T0 + 3 * MINUTE }),
  );
  assert.deepEqual([early.first, early.reason], [P, 'SpecOrder']);
  const failing = decideOriginOrder(input({ before: serving, failing: [P], now: T0 + 3 * MINUTE }));
  assert.equal(failing.first, F);
});

test('a spec that changes its primary or failover region starts the order over in its own order', () => {
  const swapped: OriginOrder = { ...SERVING, first: F, reason: 'PrimaryFailing', changedAt: T0 };
  // The roles swapped in the spec: its new primary (the old failover) is first, by the spec's order.
  const roles = decideOriginOrder(input({ primary: F, failover: P, before: swapped, requests: {} }));
  assert.deepEqual([roles.first, roles.reason, roles.changedAt], [F, 'SpecOrder', undefined]);
  const moved = decideOriginOrder(
    input({ primary: 'us-west-2', failover: F, before: swapped, requests: {} }),
  );
  assert.equal(moved.first, 'us-west-2');
});

test('the deploy of a change is recorded once CloudFront is seen Deployed with it', () => {
  const changed = decideOriginOrder(input({ failing: [P] }));
  assert.equal(changed.deployedAt, undefined);
  const deploying = decideOriginOrder(
    input({ failing: [P], before: changed, distribution: { first: F, deployed: false }, now: T0 + MINUTE }),
  );
  assert.equal(deploying.deployedAt, undefined);
  const deployed = decideOriginOrder(
    input({
      failing: [P],
      before: deploying,
      distribution: { first: F, deployed: true },
      now: T0 + 2 * MINUTE,
    }),
  );
  assert.equal(deployed.deployedAt, T0 + 2 * MINUTE);
  assert.equal(deployed.changedAt, T0);
});

test('a move not yet deployed waits as PrimaryRecovering once the primary is healthy again: the edges still ask it', () => {
  const changed = decideOriginOrder(input({ failing: [P] }));
  const recovering = decideOriginOrder(
    input({ before: changed, distribution: { first: P, deployed: false }, now: T0 + MINUTE }),
  );
  assert.deepEqual(
    [recovering.first, recovering.reason, recovering.deployedAt],
    [F, 'PrimaryRecovering', undefined],
  );
  assert.equal(recovering.primaryHealthySince, undefined, 'its health means nothing until the move deploys');
});

test('the healthy window starts only once the move has deployed; after a move only the CDN saw, it is three times as long', () => {
  const moved = (reason: 'PrimaryFailing' | 'CdnFailingOver') =>
    decideOriginOrder(
      input(reason === 'PrimaryFailing' ? { failing: [P] } : { requests: { [P]: 100, [F]: 2900 } }),
    );
  assert.deepEqual(
    [moved('PrimaryFailing').movedFor, moved('CdnFailingOver').movedFor],
    ['PrimaryFailing', 'CdnFailingOver'],
  );
  // Each pass a minute, the edges still asking the primary for five of them (CloudFront deploying).
  const run = (reason: 'PrimaryFailing' | 'CdnFailingOver', deployMinutes: number) => {
    let before = moved(reason);
    for (let minute = 1; minute <= 60; minute += 1) {
      before = decideOriginOrder(
        input({
          before,
          requests: { [P]: 0, [F]: 3000 },
          now: T0 + minute * MINUTE,
          distribution: {
            first: minute < deployMinutes ? P : before.first,
            deployed: minute >= deployMinutes,
          },
        }),
      );
      if (before.first === P) return { back: minute, before };
      assert.equal(before.movedFor, reason, `minute ${minute}`);
      if (minute < deployMinutes) assert.equal(before.primaryHealthySince, undefined, `minute ${minute}`);
    }
    return { back: undefined, before };
  };
  // Seen deployed at minute 5; healthy from the pass after; first again 10 minutes later.
  assert.equal(run('PrimaryFailing', 5).back, 16);
  assert.equal(run('PrimaryFailing', 1).back, 12);
  // Nothing tandem reads can show a hanging primary serving again while it gets no requests.
  assert.equal(run('CdnFailingOver', 5).back, 36);
  const back = run('CdnFailingOver', 5).before;
  assert.equal(back.movedFor, undefined, 'back in the spec order: no reason to keep');
  assert.equal(restoreAfter(1, MINUTE, true), 30 * MINUTE);
  assert.equal(restoreAfter(2, MINUTE, true), 60 * MINUTE);
});

test("CloudFront's API unreadable: the record stands, so no move decided on an outage's counts reaches the edges after it", () => {
  const blind = { distribution: undefined, requests: { [P]: 0, [F]: 3000 }, failing: [P] };
  assert.deepEqual(decideOriginOrder(input(blind)), SERVING);
  const recovering: OriginOrder = {
    ...SERVING,
    first: F,
    reason: 'PrimaryRecovering',
    changedAt: T0 - 20 * MINUTE,
    deployedAt: T0 - 15 * MINUTE,
    primaryHealthySince: T0 - 14 * MINUTE,
    movedFor: 'PrimaryFailing',
    moves: [T0 - 20 * MINUTE],
  };
  assert.deepEqual(decideOriginOrder(input({ ...blind, failing: [], before: recovering })), recovering);
  // Readable again: decided on what it sees now.
  assert.equal(decideOriginOrder(input({ failing: [], before: recovering, requests: {} })).first, P);
});

test("a region back from being lost goes on its stand-in's record of the same change, not its own older view", () => {
  const moved: OriginOrder = {
    ...SERVING,
    first: F,
    reason: 'PrimaryRecovering',
    changedAt: T0,
    deployedAt: T0 + MINUTE,
    movedFor: 'PrimaryFailing',
    moves: [T0],
  };
  // Its own record from before it was lost: healthy since minute 2. The stand-in saw it fail since.
  const own = { ...moved, primaryHealthySince: T0 + 2 * MINUTE };
  const standIn = { ...moved, reason: 'PrimaryFailing' as const };
  assert.equal(newerOrder(standIn, own), true);
  assert.equal(newerOrder(own, standIn), false);
  // Both healthy since: the later start of the window.
  assert.equal(newerOrder({ ...moved, primaryHealthySince: T0 + 5 * MINUTE }, own), true);
  // A later change wins whatever it says.
  assert.equal(newerOrder({ ...own, changedAt: T0 + MINUTE }, standIn), true);
  assert.equal(
    newerOrder(standIn, { ...own, changedAt: T0 + MINUTE }),
    false,
    'an earlier change loses whatever it says',
  );
  assert.equal(newerOrder(own, own), false, 'a record is not newer than itself');
  assert.equal(newerOrder(standIn, standIn), false, 'nor one that has not seen the primary healthy');
  // Going on the stand-in's, the window starts now rather than being over already.
  const decided = decideOriginOrder(input({ before: standIn, now: T0 + 20 * MINUTE }));
  assert.deepEqual([decided.first, decided.primaryHealthySince], [F, T0 + 20 * MINUTE]);
});

test('each move back soon after the last doubles the wait, up to four hours', () => {
  assert.equal(restoreAfter(1, MINUTE), RESTORE_AFTER_MS);
  assert.equal(restoreAfter(2, MINUTE), 2 * RESTORE_AFTER_MS);
  assert.equal(restoreAfter(3, MINUTE), 4 * RESTORE_AFTER_MS);
  assert.equal(restoreAfter(20, MINUTE), 4 * 60 * MINUTE);
  assert.equal(restoreAfter(1, 5_000), 50_000, 'in metric periods: 50 s on the local cloud');
});

test('a region flapping every pass moves the order at most once per window, never every pass', () => {
  let before: OriginOrder | undefined = SERVING;
  const firsts: string[] = [P];
  for (let pass = 0; pass < 24 * 60; pass += 1) {
    before = decideOriginOrder(
      input({
        failing: pass % 2 === 0 ? [P] : [],
        before,
        now: T0 + pass * MINUTE,
        distribution: { first: before?.first ?? P, deployed: true },
      }),
    );
    firsts.push(before.first);
  }
  const changes = firsts.filter((first, i) => i > 0 && first !== firsts[i - 1]).length;
  assert.equal(
    changes,
    1,
    'it moved to the failover region once and stayed: the primary was never healthy for a window',
  );
});

test('property: a pass never leaves a failing region first when the other is healthy', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ p: fc.boolean(), f: fc.boolean(), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
        {
          minLength: 1,
          maxLength: 200,
        },
      ),
      (passes) => {
        let before: OriginOrder | undefined = SERVING;
        passes.forEach((s, i) => {
          const failing = [...(s.p ? [P] : []), ...(s.f ? [F] : [])];
          const now = T0 + i * MINUTE;
          before = decideOriginOrder(
            input({
              failing,
              before,
              now,
              requests: { [P]: 1000 * (1 - s.share), [F]: 1000 * s.share },
              distribution: { first: before?.first ?? P, deployed: true },
            }),
          );
          const firstFailing = failing.includes(before.first);
          const otherHealthy = !failing.includes(before.first === P ? F : P);
          assert.ok(
            !(firstFailing && otherHealthy),
            `pass ${i}: ${JSON.stringify(before)} with ${failing.join()} failing`,
          );
        });
      },
    ),
    { numRuns: 300 },
  );
});

// ----- on the simulated cloud -----

function trafficEverywhere(sim: SimulatedCloud, errorShare: Record<string, number>): void {
  for (const region of [P, F])
    for (const track of ['stable', 'canary'])
      sim.setTraffic(region, `demo-${track}`, {
        requestsPerMinute: 1200,
        errors5xxPerMinute: 1200 * (errorShare[region] ?? 0),
        p95LatencyMs: 80,
      });
}

function firstOrigin(sim: SimulatedCloud): string | undefined {
  return Object.values(sim.world.distributions)[0]?.config.originGroup?.primaryOriginId;
}

test('on the simulated cloud: a failing primary is asked second within a pass, describe and the dashboard say so, and it is first again after the healthy window', async () => {
  const sim = newSim([P, F]);
  await storeSpec(sim, demoDocument());
  trafficEverywhere(sim, {});
  await converge(sim, 10);
  assert.equal(firstOrigin(sim), P);

  trafficEverywhere(sim, { [P]: 0.9 });
  let passes = 0;
  while (firstOrigin(sim) === P && passes < 5) {
    await pass(sim);
    sim.tick();
    passes += 1;
  }
  assert.equal(firstOrigin(sim), F, `the failover region is asked first after ${passes} passes`);
  await pass(sim);
  sim.tick();
  await pass(sim);
  const view = siteView(sim, 'demo')!;
  assert.equal(view.cdn.originOrder?.first, F);
  assert.match(view.cdn.originOrder?.reason ?? '', /PrimaryFailing/);
  assert.ok(view.cdn.originOrder?.deployedAt !== undefined, 'the change is seen deployed');
  assert.match(
    describeStatus(view, 1, [P, F]),
    /CDN asks first: eu-west-1 \(PrimaryFailing; changed .*, deployed /,
  );
  assert.match(
    dashboardBody(dashboardSites([view], sim.platform)),
    /CDN asks eu-west-1 first\*\* \(PrimaryFailing\)/,
  );

  // Healthy again: the order holds for the window (no flapping back on the first good minute), then returns.
  trafficEverywhere(sim, {});
  const firsts: (string | undefined)[] = [];
  for (let minute = 0; minute < RESTORE_AFTER_MS / MINUTE + 4; minute += 1) {
    await pass(sim);
    sim.tick();
    firsts.push(firstOrigin(sim));
  }
  assert.equal(firsts[3], F, 'still the failover region a few minutes after the primary recovered');
  assert.equal(firsts.at(-1), P, 'the primary is first again after the window');
  assert.equal(firsts.filter((f, i) => i > 0 && f !== firsts[i - 1]).length, 1, 'one change back');
});

test('moves older than a day no longer lengthen the wait; a record for another failover region starts over', () => {
  const away = (moves: number[]): OriginOrder => ({
    ...SERVING,
    first: F,
    reason: 'PrimaryFailing',
    changedAt: T0 - RESTORE_AFTER_MS - 3 * MINUTE,
    deployedAt: T0 - RESTORE_AFTER_MS - 2 * MINUTE,
    primaryHealthySince: T0 - RESTORE_AFTER_MS - MINUTE,
    moves,
  });
  // Healthy for one window and a minute: enough after one move, not after two within the day.
  const oneMove = decideOriginOrder(input({ before: away([T0 - 2 * MINUTE]) }));
  assert.equal(oneMove.first, P);
  const twoToday = decideOriginOrder(input({ before: away([T0 - 3 * 60 * MINUTE, T0 - 2 * MINUTE]) }));
  assert.deepEqual([twoToday.first, twoToday.moves], [F, [T0 - 3 * 60 * MINUTE, T0 - 2 * MINUTE]]);
  const oneYesterday = decideOriginOrder(input({ before: away([T0 - 25 * 60 * MINUTE, T0 - 2 * MINUTE]) }));
  assert.deepEqual([oneYesterday.first, oneYesterday.moves], [P, [T0 - 2 * MINUTE]]);

  // The same primary with another failover region: the old record says nothing about this pair.
  const other = decideOriginOrder(
    input({ failover: 'us-west-2', before: away([T0 - 2 * MINUTE]), requests: {} }),
  );
  assert.deepEqual([other.first, other.moves], [P, undefined]);
});

test('where requests land: the noise threshold and the failover share are inclusive, and a split short of the share is not failing over', () => {
  const cases: [string, Record<string, number>, string][] = [
    ['16 requests, 15 on the failover region: too few to say anything', { [P]: 1, [F]: 15 }, 'SpecOrder'],
    ['exactly 20 requests, 19 on the failover region: enough', { [P]: 1, [F]: 19 }, 'CdnFailingOver'],
    ['exactly 90 % on the failover region: failing over', { [P]: 10, [F]: 90 }, 'CdnFailingOver'],
    ['60 % on the failover region: both serve, not failing over', { [P]: 400, [F]: 600 }, 'SpecOrder'],
  ];
  for (const [name, requests, reason] of cases)
    assert.equal(decideOriginOrder(input({ requests })).reason, reason, name);
});

test('the counts mean something from exactly three periods after the primary began serving, and after the order came back, three periods after that deployed', () => {
  const onFailover = { [P]: 0, [F]: 3000 };
  const settle = 3 * MINUTE;
  const serving = decideOriginOrder(
    input({ before: { ...SERVING, servingSince: T0 - settle }, requests: onFailover }),
  );
  assert.equal(serving.reason, 'CdnFailingOver', 'serving for exactly three periods');

  const back = (deployedAt: number | undefined): OriginOrder => ({
    ...SERVING,
    changedAt: T0 - 60 * MINUTE,
    ...(deployedAt === undefined ? {} : { deployedAt }),
    moves: [T0 - 120 * MINUTE],
  });
  const decide = (before: OriginOrder) => decideOriginOrder(input({ before, requests: onFailover })).reason;
  assert.equal(decide(back(T0 - 50 * MINUTE)), 'CdnFailingOver', 'back in order, deployed long ago');
  assert.equal(decide(back(T0 - settle)), 'CdnFailingOver', 'deployed exactly three periods ago');
  assert.equal(decide(back(T0 - settle + 1)), 'SpecOrder', 'deployed a moment less than three periods ago');
  assert.equal(decide(back(undefined)), 'SpecOrder', 'the change back not yet seen deployed');
});

test('a move exactly a day old no longer lengthens the wait', () => {
  const before: OriginOrder = {
    ...SERVING,
    first: F,
    reason: 'PrimaryFailing',
    changedAt: T0 - RESTORE_AFTER_MS - 3 * MINUTE,
    deployedAt: T0 - RESTORE_AFTER_MS - 2 * MINUTE,
    primaryHealthySince: T0 - RESTORE_AFTER_MS - MINUTE,
    moves: [T0 - 24 * 60 * MINUTE, T0 - 2 * MINUTE],
  };
  const got = decideOriginOrder(input({ before }));
  assert.deepEqual([got.first, got.moves], [P, [T0 - 2 * MINUTE]]);
});

test('the primary serves only behind a Deployed distribution, with healthy targets, and not failing', () => {
  const start = (over: Partial<OriginOrderInput>) =>
    decideOriginOrder(input({ before: undefined, primaryHealthyTargets: 3, ...over })).servingSince;
  assert.equal(start({ distribution: { first: P, deployed: true } }), T0);
  assert.equal(
    start({ distribution: { first: P, deployed: false } }),
    undefined,
    'the distribution deploying',
  );
  assert.equal(start({ distribution: undefined }), undefined, 'no distribution seen');
  assert.equal(start({ distribution: { first: P, deployed: true }, failing: [P] }), undefined, 'failing');
});

test('a move away is remembered, and its deploy is recorded only once CloudFront asks the new first region', () => {
  const away = decideOriginOrder(input({ before: { ...SERVING, moves: [T0 - 60 * MINUTE] }, failing: [P] }));
  assert.deepEqual(away.moves, [T0 - 60 * MINUTE, T0]);
  const stillOld = decideOriginOrder(
    input({ before: away, failing: [P], distribution: { first: P, deployed: true }, now: T0 + MINUTE }),
  );
  assert.equal(stillOld.deployedAt, undefined, 'Deployed, but still asking the primary first');
});

test('the record holds only what is known: no field is kept as undefined, and an order never changed records no deploy', () => {
  assert.deepEqual(decideOriginOrder(input({ before: undefined })), {
    primary: P,
    failover: F,
    first: P,
    reason: 'SpecOrder',
  });
  assert.deepEqual(
    decideOriginOrder(input({ before: SERVING, distribution: { first: P, deployed: true } })),
    { primary: P, failover: F, first: P, reason: 'SpecOrder', servingSince: T0 - 60 * MINUTE },
    'steady and Deployed: nothing changed, so no deploy to record',
  );
  assert.deepEqual(decideOriginOrder(input({ failing: [P] })), {
    primary: P,
    failover: F,
    first: F,
    reason: 'PrimaryFailing',
    servingSince: T0 - 60 * MINUTE,
    changedAt: T0,
    moves: [T0],
    movedFor: 'PrimaryFailing',
  });
});
