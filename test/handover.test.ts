import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  handOver,
  type Handover,
  type HandoverInput,
  type PeerRegion,
} from '../controller/decide/handover.ts';
import {
  dutyHolder,
  heartbeatsByRegion,
  isQuiet,
  QUIET_AFTER_PASSES,
} from '../controller/decide/ownership.ts';

const MINUTE = 60_000;
const T = Date.parse('2026-11-28T12:00:00Z');

function input(over: Partial<HandoverInput> & { primary?: Partial<PeerRegion> }): HandoverInput {
  const { primary, ...rest } = over;
  return {
    fallbackFor: ['us-east-1'],
    peers: [{ region: 'us-east-1', failing: false, ...primary }],
    now: T,
    windowMs: 5 * MINUTE,
    targetRequestsPerTask: 600,
    standbyPercent: 0,
    ...rest,
  };
}

// The capacity arithmetic, one case a row: what the failover region must keep ready.
const cases: { name: string; input: HandoverInput; floor: number | undefined }[] = [
  {
    name: 'nothing fails: no floor',
    input: input({ primary: { lastHealthyRequestsPerMinute: 3000, requestsPerMinute: 3000 } }),
    floor: undefined,
  },
  {
    name: 'the primary fails before its traffic shows here: its last healthy demand',
    input: input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3000 }, requestsPerMinute: 0 }),
    floor: 5,
  },
  {
    // Today's double counting: 3000 moved + 3000 last healthy = 10 tasks. Counted once it is 5.
    name: 'the primary fails and its 3000 requests have moved here: counted once, not twice',
    input: input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3000 }, requestsPerMinute: 3000 }),
    floor: 5,
  },
  {
    name: 'some moved requests have arrived: still the primary’s demand',
    input: input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3000 }, requestsPerMinute: 1200 }),
    floor: 5,
  },
  {
    name: 'what this region serves beyond the moved demand is its own, and is added',
    input: input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3000 }, requestsPerMinute: 3600 }),
    floor: 6,
  },
  {
    name: 'a demand that is not a multiple of the target rounds up',
    input: input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3001 }, requestsPerMinute: 0 }),
    floor: 6,
  },
  {
    name: 'a failing region whose demand was never published adds nothing but what is served',
    input: input({ primary: { failing: true }, requestsPerMinute: 1300 }),
    floor: 3,
  },
  {
    name: "a failing region that is not this one's CDN fallback moves nothing here",
    input: input({
      fallbackFor: [],
      primary: { failing: true, lastHealthyRequestsPerMinute: 3000 },
      requestsPerMinute: 0,
    }),
    floor: undefined,
  },
  {
    name: 'a warm standby keeps the share of the primary’s current demand asked for',
    input: input({ primary: { requestsPerMinute: 3000 }, standbyPercent: 50 }),
    floor: 3,
  },
  {
    name: 'the standby never lowers the floor of a failover',
    input: input({
      primary: { failing: true, lastHealthyRequestsPerMinute: 6000 },
      requestsPerMinute: 0,
      standbyPercent: 50,
    }),
    floor: 10,
  },
];

for (const c of cases) {
  test(`handover: ${c.name}`, () => {
    assert.equal(handOver(c.input).floor, c.floor);
  });
}

test('handover: carrying starts when the primary fails and keeps its start', () => {
  const first = handOver(input({ primary: { failing: true, lastHealthyRequestsPerMinute: 3000 } }));
  assert.deepEqual(first.carrying, { regions: ['us-east-1'], requestsPerMinute: 3000, since: T });
  const later = handOver(
    input({
      primary: { failing: true, lastHealthyRequestsPerMinute: 3000 },
      now: T + MINUTE,
      previous: first.carrying!,
    }),
  );
  assert.equal(later.carrying?.since, T);
  assert.match(later.because ?? '', /carrying us-east-1: 3000 requests a minute/);
});

test('handover: the floor holds a stabilization window after the primary recovers, then goes', () => {
  const carrying = { regions: ['us-east-1'], requestsPerMinute: 3000, since: T };
  const recovered = handOver(input({ previous: carrying, now: T + MINUTE, requestsPerMinute: 0 }));
  assert.equal(recovered.floor, 5);
  assert.equal(recovered.carrying?.healthySince, T + MINUTE);
  const inWindow = handOver(input({ previous: recovered.carrying!, now: T + 5 * MINUTE }));
  assert.equal(inWindow.floor, 5);
  const after = handOver(input({ previous: recovered.carrying!, now: T + 6 * MINUTE }));
  assert.equal(after.floor, undefined);
  assert.equal(after.carrying, undefined);
});

test('handover: a primary that fails again inside the window is carried again from its own start', () => {
  const carrying = { regions: ['us-east-1'], requestsPerMinute: 3000, since: T, healthySince: T + MINUTE };
  const again = handOver(
    input({
      previous: carrying,
      now: T + 2 * MINUTE,
      primary: { failing: true, lastHealthyRequestsPerMinute: 2400 },
    }),
  );
  assert.equal(again.floor, 4);
  assert.equal(again.carrying?.healthySince, undefined);
});

const HEARTBEATS = { 'us-east-1': T - MINUTE, 'eu-west-1': T - 30_000 };

test(`ownership: a region is quiet after ${QUIET_AFTER_PASSES} intervals without a heartbeat; one never heard from is not`, () => {
  const live = (now: number) => ({ heartbeats: HEARTBEATS, now, intervalMs: MINUTE });
  assert.equal(isQuiet('us-east-1', live(T)), false);
  assert.equal(isQuiet('us-east-1', live(T - MINUTE + 3 * MINUTE)), false, 'exactly 3 intervals is not yet');
  assert.equal(isQuiet('us-east-1', live(T - MINUTE + 3 * MINUTE + 1)), true);
  assert.equal(isQuiet('ap-south-1', live(T + 60 * MINUTE)), false, 'a region that never reported');
});

test('ownership: the first region of the order that is alive holds the duty; each counts itself alive', () => {
  const order = ['us-east-1', 'eu-west-1', 'us-west-2'];
  const alive = { heartbeats: HEARTBEATS, now: T, intervalMs: MINUTE };
  assert.equal(dutyHolder(order, 'us-east-1', alive), 'us-east-1');
  assert.equal(dutyHolder(order, 'eu-west-1', alive), 'us-east-1');
  const primaryQuiet = {
    ...alive,
    now: T + 10 * MINUTE,
    heartbeats: { ...HEARTBEATS, 'eu-west-1': T + 9 * MINUTE },
  };
  assert.equal(dutyHolder(order, 'eu-west-1', primaryQuiet), 'eu-west-1', 'takes over');
  assert.equal(
    dutyHolder(order, 'us-east-1', primaryQuiet),
    'us-east-1',
    'the primary, running again, takes it back',
  );
  assert.equal(dutyHolder(order, 'us-west-2', primaryQuiet), 'eu-west-1');
  const allQuiet = { ...alive, now: T + 60 * MINUTE, heartbeats: { ...HEARTBEATS, 'us-west-2': T } };
  assert.equal(dutyHolder(order, 'us-west-2', allQuiet), 'us-west-2', 'the last one standing holds it');
});

test('handover in full: the floor, why it is there (for the scaling message) and what status keeps', () => {
  const carrying = { regions: ['us-east-1'], requestsPerMinute: 3000, since: T - 10 * MINUTE };
  const cases: { name: string; input: HandoverInput; handover: Handover }[] = [
    {
      name: 'carrying a failed primary: its demand and this region’s own, each rounded for the message',
      input: input({
        primary: { failing: true, lastHealthyRequestsPerMinute: 3000.4 },
        requestsPerMinute: 3600,
      }),
      handover: {
        floor: 6,
        because: 'carrying us-east-1: 3000 requests a minute when last healthy, and 600 of its own',
        carrying: { regions: ['us-east-1'], requestsPerMinute: 3000.4, since: T },
      },
    },
    {
      name: 'the primary recovered this pass: the window starts now',
      input: input({ previous: carrying }),
      handover: {
        floor: 5,
        because:
          'us-east-1 recovered; holding its demand until it has been healthy for the stabilization window',
        carrying: { ...carrying, healthySince: T },
      },
    },
    {
      name: 'a millisecond before the window ends, the floor holds',
      input: input({ previous: { ...carrying, healthySince: T - 5 * MINUTE + 1 } }),
      handover: {
        floor: 5,
        because:
          'us-east-1 recovered; holding its demand until it has been healthy for the stabilization window',
        carrying: { ...carrying, healthySince: T - 5 * MINUTE + 1 },
      },
    },
    {
      name: 'at the end of the window, nothing is held or kept',
      input: input({ previous: { ...carrying, healthySince: T - 5 * MINUTE } }),
      handover: {},
    },
    {
      name: 'a warm standby of the primary’s current demand, rounded up',
      input: input({ primary: { requestsPerMinute: 3000.6 }, standbyPercent: 50 }),
      handover: { floor: 3, because: 'warm standby: 50% of 3001 requests a minute' },
    },
    {
      name: 'a warm standby of its last healthy demand when it published no current one',
      input: input({ primary: { lastHealthyRequestsPerMinute: 1200 }, standbyPercent: 50 }),
      handover: { floor: 1, because: 'warm standby: 50% of 1200 requests a minute' },
    },
    {
      name: 'a standby above the recovery floor wins, and status keeps carrying',
      input: input({
        primary: { requestsPerMinute: 3000 },
        previous: { regions: ['us-east-1'], requestsPerMinute: 600, since: T - MINUTE },
        standbyPercent: 100,
      }),
      handover: {
        floor: 5,
        because: 'warm standby: 100% of 3000 requests a minute',
        carrying: { regions: ['us-east-1'], requestsPerMinute: 600, since: T - MINUTE, healthySince: T },
      },
    },
    {
      name: 'a standby of a failing primary is no standby: the failover floor stands',
      input: input({
        primary: { failing: true, lastHealthyRequestsPerMinute: 1200, requestsPerMinute: 6000 },
        requestsPerMinute: 0,
        standbyPercent: 100,
      }),
      handover: {
        floor: 2,
        because: 'carrying us-east-1: 1200 requests a minute when last healthy, and 0 of its own',
        carrying: { regions: ['us-east-1'], requestsPerMinute: 1200, since: T },
      },
    },
    {
      name: 'a standby equal to the recovery floor leaves the recovery as the reason',
      input: input({
        primary: { requestsPerMinute: 3000 },
        previous: { ...carrying, healthySince: T },
        standbyPercent: 100,
      }),
      handover: {
        floor: 5,
        because:
          'us-east-1 recovered; holding its demand until it has been healthy for the stabilization window',
        carrying: { ...carrying, healthySince: T },
      },
    },
    {
      name: 'two failing regions this one backs are named together',
      input: input({
        fallbackFor: ['us-east-1', 'us-west-2'],
        peers: [
          { region: 'us-east-1', failing: true, lastHealthyRequestsPerMinute: 1200 },
          { region: 'us-west-2', failing: true, lastHealthyRequestsPerMinute: 600 },
        ],
        requestsPerMinute: 0,
      }),
      handover: {
        floor: 3,
        because: 'carrying us-east-1, us-west-2: 1800 requests a minute when last healthy, and 0 of its own',
        carrying: { regions: ['us-east-1', 'us-west-2'], requestsPerMinute: 1800, since: T },
      },
    },
    {
      name: 'two recovered regions are named together',
      input: input({
        previous: { regions: ['us-east-1', 'us-west-2'], requestsPerMinute: 1800, since: T - MINUTE },
      }),
      handover: {
        floor: 3,
        because:
          'us-east-1, us-west-2 recovered; holding its demand until it has been healthy for the stabilization window',
        carrying: {
          regions: ['us-east-1', 'us-west-2'],
          requestsPerMinute: 1800,
          since: T - MINUTE,
          healthySince: T,
        },
      },
    },
  ];
  for (const c of cases) assert.deepEqual(handOver(c.input), c.handover, c.name);
});

test('ownership: a region that wrote several heartbeats is as alive as its latest', () => {
  const heartbeats = [
    { region: 'us-east-1', at: T },
    { region: 'eu-west-1', at: T - MINUTE },
    { region: 'us-east-1', at: T - 10 * MINUTE },
  ];
  assert.deepEqual(heartbeatsByRegion(heartbeats), { 'us-east-1': T, 'eu-west-1': T - MINUTE });
  assert.deepEqual(heartbeatsByRegion([...heartbeats].reverse()), {
    'us-east-1': T,
    'eu-west-1': T - MINUTE,
  });
});
