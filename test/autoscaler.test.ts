import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decideTasks,
  demandEstimate,
  nextHistory,
  type ScalingDecision,
  type ScalingInput,
  type ScalingPolicy,
} from '../controller/decide/autoscaler.ts';
import { decideSite } from '../controller/decide/site.ts';
import type { ServiceState } from '../controller/ports/ecs.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import { propertyRuns } from './support/properties.ts';
import { demoDocument, valid } from './support/world.ts';

const policy: ScalingPolicy = {
  targetRequestsPerTask: 600,
  targetCpuPercent: 70,
  tolerance: 0.1,
  scaleInStabilizationSeconds: 300,
  maxScaleOutStep: 10,
  minTasks: 2,
  maxTasks: 20,
};
const NOW = 1_000_000_000;

function input(overrides: Partial<ScalingInput>): ScalingInput {
  return { now: NOW, running: 4, desired: 4, rolloutInProgress: false, history: [], ...overrides };
}

const minutesAgo = (m: number) => NOW - m * 60_000;

test('scaling arithmetic', async (t) => {
  const cases: {
    name: string;
    input: Partial<ScalingInput>;
    policy?: Partial<ScalingPolicy>;
    tasks: number;
    reason: string;
  }[] = [
    {
      name: 'on target: nothing changes',
      input: { requestsPerMinute: 2400 },
      tasks: 4,
      reason: 'WithinTolerance',
    },
    {
      name: 'inside the tolerance band above: nothing changes',
      input: { requestsPerMinute: 2600 },
      tasks: 4,
      reason: 'WithinTolerance',
    },
    {
      name: 'inside the tolerance band below: nothing changes',
      input: { requestsPerMinute: 2200 },
      tasks: 4,
      reason: 'WithinTolerance',
    },
    {
      name: 'above the band: ceil(current × observed / target) at once',
      input: { requestsPerMinute: 4000 },
      tasks: 7,
      reason: 'ScaleOut',
    },
    {
      name: 'a flash crowd adds at most maxScaleOutStep',
      input: { requestsPerMinute: 60_000 },
      tasks: 14,
      reason: 'ScaleOutLimitedByStep',
    },
    {
      name: 'capped at maxTasks',
      input: { requestsPerMinute: 60_000, desired: 15, running: 15 },
      tasks: 20,
      reason: 'AtMaximum',
    },
    {
      name: 'below the band with no history: scale in',
      input: { requestsPerMinute: 1200 },
      tasks: 2,
      reason: 'ScaleIn',
    },
    { name: 'never below minTasks', input: { requestsPerMinute: 0 }, tasks: 2, reason: 'AtMinimum' },
    {
      name: 'zero load at the floor holds the floor',
      input: { requestsPerMinute: 0, desired: 2, running: 2 },
      tasks: 2,
      reason: 'AtMinimum',
    },
    {
      name: 'scale-in waits for the highest recommendation in the window',
      input: { requestsPerMinute: 1200, history: [{ at: minutesAgo(4), tasks: 4 }] },
      tasks: 4,
      reason: 'ScaleInStabilizing',
    },
    {
      name: 'scale-in waits until three windows needed fewer, then goes to the highest recommendation of the last window',
      input: {
        requestsPerMinute: 600,
        desired: 6,
        running: 6,
        // 6 until 16 minutes ago, outside the 15-minute gate; 4 until 6 minutes ago, outside the 5-minute window; 3 since.
        history: [
          { at: minutesAgo(6), tasks: 3 },
          { at: minutesAgo(16), tasks: 4 },
          { at: minutesAgo(20), tasks: 6 },
        ],
      },
      tasks: 3,
      reason: 'ScaleIn',
    },
    {
      name: 'no scale-in while a deployment is in progress',
      input: { requestsPerMinute: 600, rolloutInProgress: true },
      tasks: 4,
      reason: 'ScaleInHeldDuringRollout',
    },
    {
      name: 'a deployment holds scale-in for at most one window',
      input: { requestsPerMinute: 600, rolloutInProgress: true, heldSince: minutesAgo(4) },
      tasks: 4,
      reason: 'ScaleInHeldDuringRollout',
    },
    {
      name: 'a deployment that has not finished within the window no longer holds scale-in',
      input: { requestsPerMinute: 1800, rolloutInProgress: true, heldSince: minutesAgo(5) },
      tasks: 3,
      reason: 'ScaleIn',
    },
    {
      name: 'tasks that cannot start (no capacity) hold scale-in for at most one window',
      input: { requestsPerMinute: 1800, desired: 12, running: 8, heldSince: minutesAgo(6) },
      tasks: 3,
      reason: 'ScaleIn',
    },
    {
      name: 'scale-out goes ahead during a deployment',
      input: { requestsPerMinute: 4000, rolloutInProgress: true },
      tasks: 7,
      reason: 'ScaleOut',
    },
    {
      name: 'missing metrics never scale in',
      input: { desired: 6, running: 6 },
      tasks: 6,
      reason: 'MetricsMissing',
    },
    {
      name: 'missing metrics still respect the bounds',
      input: { desired: 30, running: 30 },
      tasks: 20,
      reason: 'MetricsMissing',
    },
    {
      name: 'judges demand against the tasks asked for when fewer run, and holds while tasks start',
      input: { requestsPerMinute: 4000, desired: 8, running: 4 },
      tasks: 8,
      reason: 'ScaleInHeldDuringRollout',
    },
    {
      name: 'a task being replaced does not push demand within tolerance out of it',
      input: { requestsPerMinute: 1900, cpuPercent: 70, desired: 3, running: 2 },
      tasks: 3,
      reason: 'WithinTolerance',
    },
    {
      name: 'starting tasks do not hide more demand',
      input: { requestsPerMinute: 6000, desired: 8, running: 4, history: [{ at: minutesAgo(1), tasks: 10 }] },
      tasks: 10,
      reason: 'ScaleOut',
    },
    {
      name: 'a small rise on one datapoint waits for the next to agree',
      input: { requestsPerMinute: 3000 },
      tasks: 4,
      reason: 'ScaleOutConfirming',
    },
    {
      name: 'a small rise on a second datapoint in a row scales out',
      input: { requestsPerMinute: 3000, history: [{ at: minutesAgo(1), tasks: 5 }] },
      tasks: 5,
      reason: 'ScaleOut',
    },
    {
      name: 'CPU alone can scale out',
      input: { requestsPerMinute: 2400, cpuPercent: 140 },
      tasks: 8,
      reason: 'ScaleOut',
    },
    {
      name: 'the higher of requests and CPU wins',
      input: { requestsPerMinute: 6000, cpuPercent: 80 },
      tasks: 10,
      reason: 'ScaleOut',
    },
    {
      name: 'a failover floor lifts the region',
      input: { requestsPerMinute: 0, floor: 9 },
      tasks: 9,
      reason: 'AtMinimum',
    },
    {
      name: 'from zero running, demand alone decides',
      input: { requestsPerMinute: 3000, desired: 2, running: 0 },
      tasks: 5,
      reason: 'ScaleOut',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const decision = decideTasks({ ...policy, ...c.policy }, input(c.input));
      assert.deepEqual([decision.tasks, decision.reason], [c.tasks, c.reason], decision.message);
    });
  }
});

test('scale-in held for tasks that are not running says so, and blames a deployment only when there is one', () => {
  const starved = decideTasks(policy, input({ requestsPerMinute: 600, desired: 12, running: 8 }));
  assert.equal(starved.reason, 'ScaleInHeldDuringRollout');
  assert.equal(starved.message, 'demand needs 1 task(s), but 4 of 12 task(s) are not running yet');
  const deploying = decideTasks(policy, input({ requestsPerMinute: 600, rolloutInProgress: true }));
  assert.equal(deploying.message, 'demand needs 1 task(s), but a deployment is in progress');
});

test('a recommendation holds until the next begins: a run that ended before the scale-in gate is forgotten', () => {
  const history = [
    { at: minutesAgo(25), tasks: 9 },
    { at: minutesAgo(17), tasks: 7 },
    { at: minutesAgo(3), tasks: 5 },
  ];
  // 9 ended 17 minutes ago, outside the 15-minute gate; 7 ran until 3 minutes ago, inside the 5-minute window.
  assert.deepEqual(nextHistory(policy, history, NOW, 4), [...history.slice(1), { at: NOW, tasks: 4 }]);
  assert.equal(
    decideTasks(policy, input({ requestsPerMinute: 600, desired: 9, running: 9, history })).tasks,
    7,
  );
});

test('an unchanged recommendation does not grow the history, so a steady status does not change', () => {
  const history = [{ at: minutesAgo(30), tasks: 2 }];
  assert.deepEqual(nextHistory(policy, history, NOW, 2), history);
});

const policies = fc.record({
  targetRequestsPerTask: fc.integer({ min: 1, max: 5000 }),
  targetCpuPercent: fc.integer({ min: 10, max: 95 }),
  tolerance: fc.double({ min: 0, max: 0.5, noNaN: true }),
  scaleInStabilizationSeconds: fc.integer({ min: 0, max: 3600 }),
  maxScaleOutStep: fc.integer({ min: 1, max: 50 }),
  minTasks: fc.integer({ min: 0, max: 20 }),
  span: fc.integer({ min: 0, max: 40 }),
});
const inputs = fc.record({
  running: fc.integer({ min: 0, max: 100 }),
  desired: fc.integer({ min: 0, max: 100 }),
  requestsPerMinute: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
  cpuPercent: fc.option(fc.double({ min: 0, max: 400, noNaN: true }), { nil: undefined }),
  rolloutInProgress: fc.boolean(),
  history: fc.array(
    fc.record({
      at: fc.integer({ min: NOW - 3_600_000, max: NOW - 1 }),
      tasks: fc.integer({ min: 0, max: 100 }),
    }),
    { maxLength: 20 },
  ),
});

test('desired tasks always stay within [minTasks, maxTasks]', () => {
  fc.assert(
    fc.property(policies, inputs, ({ span, ...p }, i) => {
      const full = { ...p, maxTasks: p.minTasks + span };
      const { tasks } = decideTasks(full, { now: NOW, ...i });
      return tasks >= full.minTasks && tasks <= full.maxTasks;
    }),
    { numRuns: propertyRuns(2000) },
  );
});

test('no scale-in inside the stabilization window after a higher recommendation', () => {
  fc.assert(
    fc.property(policies, inputs, fc.integer({ min: 1, max: 3600 }), ({ span, ...p }, i, agoSeconds) => {
      const full = { ...p, maxTasks: p.minTasks + span };
      fc.pre(agoSeconds < full.scaleInStabilizationSeconds);
      const higher = i.desired + 1;
      const history = [...i.history, { at: NOW - agoSeconds * 1000, tasks: higher }];
      const { tasks } = decideTasks(full, { now: NOW, ...i, history });
      return tasks >= Math.min(i.desired, full.maxTasks) || i.desired > full.maxTasks;
    }),
    { numRuns: propertyRuns(2000) },
  );
});

test('a count above a lowered maxTasks is not tasks still starting: scale-in is not held, and a second decision at the same instant agrees', () => {
  // maxTasks lowered from 3 to 2 while 2 run: the last decision's 3 is no longer wanted, not "not running yet".
  const lowered = { ...policy, minTasks: 1, maxTasks: 2 };
  const first = decideTasks(lowered, input({ requestsPerMinute: 0, desired: 3, running: 2 }));
  assert.notEqual(first.reason, 'ScaleInHeldDuringRollout');
  assert.equal(first.tasks, 1);
  const again = decideTasks(lowered, input({ requestsPerMinute: 0, desired: first.tasks, running: 2 }));
  assert.equal(again.tasks, first.tasks, 'deciding twice at one instant changes nothing');
});

test('demand is the mean of the newest datapoints, unless the newest is a jump', async (t) => {
  const cases: [string, number[], number | undefined][] = [
    ['no datapoints: no demand', [], undefined],
    ['one datapoint: itself', [900], 900],
    ['noise is averaged: one high minute does not add tasks', [1300, 1000, 900, 1000, 800], 1000],
    ['only the newest five count', [1000, 1000, 1000, 1000, 1000, 9000], 1000],
    ['a jump (≥ 1.5× the mean) counts alone, at once', [9000, 1000, 1000, 1000, 1000], 9000],
    ['a drop is averaged, so scale-in is not hurried', [100, 1000, 1000, 1000, 1000], 820],
  ];
  for (const [name, recent, expected] of cases) {
    await t.test(name, () => assert.equal(demandEstimate(recent), expected));
  }
});

test('one recommendation at the count inside the scale-in gate holds scale-in', () => {
  const history = [
    { at: minutesAgo(12), tasks: 6 },
    { at: minutesAgo(11), tasks: 3 },
  ];
  const held = decideTasks(policy, input({ requestsPerMinute: 600, desired: 6, running: 6, history }));
  assert.deepEqual([held.tasks, held.reason], [6, 'ScaleInStabilizing']);
});

test('a jump scales out on its first datapoint, where the mean would lag', () => {
  const jumped = decideTasks(
    policy,
    input({ requestsPerMinute: 6000, recentRequestsPerMinute: [6000, 2400, 2400, 2400, 2400] }),
  );
  assert.deepEqual([jumped.tasks, jumped.reason], [10, 'ScaleOut']);
});

test('a deviation of exactly the tolerance is within it, above or below the target', () => {
  // 750 and 450 requests a task are 25 % off a target of 600: at a tolerance of 0.25 both keep 4 tasks.
  const quarter = { ...policy, tolerance: 0.25 };
  const cases: [requestsPerMinute: number, tasks: number, reason: string][] = [
    [4 * 750, 4, 'WithinTolerance'],
    [4 * 450, 4, 'WithinTolerance'],
    [4 * 751, 6, 'ScaleOut'],
    [4 * 449, 3, 'ScaleIn'],
  ];
  for (const [requestsPerMinute, tasks, reason] of cases) {
    const decision = decideTasks(quarter, input({ requestsPerMinute }));
    assert.deepEqual(
      [decision.tasks, decision.reason],
      [tasks, reason],
      `${requestsPerMinute} requests a minute`,
    );
  }
});

test('a metric that is not a finite number counts as missing, and never scales in', () => {
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const decision = decideTasks(
      policy,
      input({ requestsPerMinute: value, cpuPercent: value, desired: 6, running: 6 }),
    );
    assert.deepEqual([decision.tasks, decision.reason], [6, 'MetricsMissing'], `${value}`);
  }
});

test('with no task running, CPU says nothing: demand alone decides', () => {
  // 3000 requests a minute need 5 tasks; a CPU figure with nothing running (a stale datapoint) is ignored.
  const decision = decideTasks(
    policy,
    input({ requestsPerMinute: 3000, cpuPercent: 700, desired: 2, running: 0 }),
  );
  assert.deepEqual([decision.tasks, decision.reason], [5, 'ScaleOut']);
});

test("a region's CPU is its tracks' averages weighted by their running tasks", () => {
  // 3 stable tasks at 100 % and 1 canary task at 20 %: 80 % on average, 14 % above the 70 % target,
  // so 4 tasks become ceil(4 × 80 / 70) = 5. (The plain mean of the tracks, 60 %, would keep 4.)
  const site = valid(demoDocument());
  const service = (name: string, running: number): ServiceState => ({
    name,
    arn: `arn:${name}`,
    status: 'ACTIVE',
    taskDefinition: `tandem-${name}`,
    deploymentFamilies: [`tandem-${name}`],
    desiredCount: running,
    runningCount: running,
    pendingCount: 0,
    rolloutInProgress: false,
    tags: ownershipTags('demo'),
  });
  const decisions = decideSite(
    site,
    {
      name: 'demo',
      regions: {
        'us-east-1': {
          region: 'us-east-1',
          services: [service('demo-stable', 3), service('demo-canary', 1)],
          targetGroups: [],
          rules: [],
          taskDefinitions: [],
          traffic: { stable: { cpuPercent: 100 }, canary: { cpuPercent: 20 } },
        },
      },
    },
    { self: 'us-east-1', peers: [], global: false, now: NOW, wantedFamilies: new Set() },
  );
  // The recommendation is the weighted one; a rise this small scales out once a second datapoint agrees.
  const { decision, history } = decisions.regions['us-east-1']!.scaling;
  assert.equal(history.at(-1)?.tasks, 5, decision.message);
  assert.deepEqual([decision.tasks, decision.reason], [4, 'ScaleOutConfirming'], decision.message);
});

test('each decision in full: the count, the recommendation, the reason and the message status shows', () => {
  const cases: { input: Partial<ScalingInput>; decision: ScalingDecision }[] = [
    {
      input: { desired: 6, running: 6 },
      decision: {
        tasks: 6,
        recommendation: 6,
        reason: 'MetricsMissing',
        message: 'no request or CPU metrics; holding the current count',
      },
    },
    {
      input: { requestsPerMinute: 4000 },
      decision: {
        tasks: 7,
        recommendation: 7,
        reason: 'ScaleOut',
        message: 'demand needs 7 task(s); scaling out now',
      },
    },
    {
      input: { requestsPerMinute: 60_000 },
      decision: {
        tasks: 14,
        recommendation: 100,
        reason: 'ScaleOutLimitedByStep',
        message: 'demand needs 100 task(s); adding at most 10 a step',
      },
    },
    {
      // 1200 requests a task, twice the target: 30 tasks, 25 after one step, 20 at most.
      input: { requestsPerMinute: 18_000, desired: 15, running: 15 },
      decision: {
        tasks: 20,
        recommendation: 30,
        reason: 'AtMaximum',
        message: 'capped at maxTasks 20; demand needs 25',
      },
    },
    {
      input: { requestsPerMinute: 2400 },
      decision: {
        tasks: 4,
        recommendation: 4,
        reason: 'WithinTolerance',
        message: 'demand matches 4 task(s)',
      },
    },
    {
      input: { requestsPerMinute: 1200 },
      decision: {
        tasks: 2,
        recommendation: 2,
        reason: 'ScaleIn',
        message: 'demand has needed at most 2 task(s) for 300 s',
      },
    },
    {
      input: { requestsPerMinute: 1200, history: [{ at: minutesAgo(4), tasks: 4 }] },
      decision: {
        tasks: 4,
        recommendation: 2,
        reason: 'ScaleInStabilizing',
        message: 'demand needs 2 task(s); holding 4 until 3 × 300 s have needed fewer',
      },
    },
    {
      input: { requestsPerMinute: 600, rolloutInProgress: true },
      decision: {
        tasks: 4,
        recommendation: 1,
        reason: 'ScaleInHeldDuringRollout',
        message: 'demand needs 1 task(s), but a deployment is in progress',
        heldSince: NOW,
      },
    },
    {
      input: { requestsPerMinute: 1800, rolloutInProgress: true, heldSince: minutesAgo(5) },
      decision: {
        tasks: 3,
        recommendation: 3,
        reason: 'ScaleIn',
        message:
          'demand needs 3 task(s); the deployment in progress has not finished in 300 s, so it no longer holds scale-in',
      },
    },
    {
      input: { requestsPerMinute: 0, desired: 2, running: 2 },
      decision: {
        tasks: 2,
        recommendation: 0,
        reason: 'AtMinimum',
        message: 'held at the floor of 2 task(s); demand needs 0',
      },
    },
    {
      // Stabilizing at the floor is resting at it: 1 task recommended, 2 held by the window, 2 the minimum.
      input: { requestsPerMinute: 300, desired: 2, running: 2, history: [{ at: minutesAgo(1), tasks: 2 }] },
      decision: {
        tasks: 2,
        recommendation: 1,
        reason: 'AtMinimum',
        message: 'held at the floor of 2 task(s); demand needs 1',
      },
    },
    {
      input: { requestsPerMinute: 0, desired: 9, running: 9, floor: 9, floorBecause: 'carrying us-east-1' },
      decision: {
        tasks: 9,
        recommendation: 0,
        reason: 'AtMinimum',
        message: 'held at the floor of 9 task(s) (carrying us-east-1); demand needs 0',
      },
    },
  ];
  for (const c of cases)
    assert.deepEqual(decideTasks(policy, input(c.input)), c.decision, JSON.stringify(c.input));
});

test('at the floor: resting there is said as such, a floor names its reason only above minTasks', () => {
  const cases: {
    input: Partial<ScalingInput>;
    policy?: Partial<ScalingPolicy>;
    decision: ScalingDecision;
  }[] = [
    {
      // On target at the floor is resting at it too.
      input: { requestsPerMinute: 1200, desired: 2, running: 2 },
      decision: {
        tasks: 2,
        recommendation: 2,
        reason: 'AtMinimum',
        message: 'held at the floor of 2 task(s); demand needs 2',
      },
    },
    {
      // A deployment that holds scale-in at the floor is said, not the floor.
      input: { requestsPerMinute: 300, desired: 2, running: 2, rolloutInProgress: true },
      decision: {
        tasks: 2,
        recommendation: 1,
        reason: 'ScaleInHeldDuringRollout',
        message: 'demand needs 1 task(s), but a deployment is in progress',
        heldSince: NOW,
      },
    },
    {
      // With minTasks = maxTasks = 3, more demand is capped at the maximum, not held at the floor.
      input: { requestsPerMinute: 3600, desired: 3, running: 3 },
      policy: { minTasks: 3, maxTasks: 3 },
      decision: {
        tasks: 3,
        recommendation: 6,
        reason: 'AtMaximum',
        message: 'capped at maxTasks 3; demand needs 6',
      },
    },
    {
      // A floor at or below minTasks holds nothing: its reason is not given.
      input: { requestsPerMinute: 0, desired: 2, running: 2, floor: 1, floorBecause: 'warm standby' },
      decision: {
        tasks: 2,
        recommendation: 0,
        reason: 'AtMinimum',
        message: 'held at the floor of 2 task(s); demand needs 0',
      },
    },
    {
      input: { requestsPerMinute: 0, desired: 9, running: 9, floor: 9 },
      decision: {
        tasks: 9,
        recommendation: 0,
        reason: 'AtMinimum',
        message: 'held at the floor of 9 task(s); demand needs 0',
      },
    },
  ];
  for (const c of cases)
    assert.deepEqual(
      decideTasks({ ...policy, ...c.policy }, input(c.input)),
      c.decision,
      JSON.stringify(c.input),
    );
});

test('a recommendation made at this very instant is in the window; one stamped later (a clock that went back) is not', () => {
  const at = (when: number) =>
    decideTasks(
      policy,
      input({ requestsPerMinute: 1200, desired: 6, running: 6, history: [{ at: when, tasks: 6 }] }),
    );
  assert.deepEqual([at(NOW).tasks, at(NOW).reason], [6, 'ScaleInStabilizing']);
  assert.deepEqual([at(NOW + 1).tasks, at(NOW + 1).reason], [2, 'ScaleIn']);
});
