import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { flaps } from '../bench/scaling/goals.ts';
import { MetricStream } from '../bench/scaling/metrics.ts';
import { REGION_MODEL, type RegionModel } from '../bench/scaling/model.ts';
import type { Policy, PolicyView } from '../bench/scaling/policy.ts';
import { simulate } from '../bench/scaling/simulator.ts';
import { tandemPolicy, tandemScalingPolicy } from '../bench/scaling/tandem.ts';
import {
  TARGET_TRACKING_DEFAULTS,
  targetTrackingPolicy,
  type TargetTrackingOptions,
} from '../bench/scaling/target-tracking.ts';
import { parseTraceCsv, readTraceFile, type TraceResult } from '../bench/scaling/trace.ts';

const model: RegionModel = { ...REGION_MODEL, capacityPerTask: 1000, minTasks: 1, maxTasks: 200 };

/** A policy that asks for `plan(minute)` tasks (or holds) and keeps every view it was shown. */
function scripted(plan: (view: PolicyView) => number | undefined = () => undefined) {
  const views: PolicyView[] = [];
  const policy: Policy = {
    decide(view) {
      views.push(view);
      return { tasks: plan(view) ?? view.desired, reason: 'scripted' };
    },
  };
  return { policy, views };
}

const constant = (minutes: number, requests: number) => Array.from({ length: minutes }, () => requests);

// ----- the metric delay -----

test('at the start of minute t the newest datapoint a policy can read is minute t − 2', () => {
  const requests = Array.from({ length: 8 }, (_, m) => 1000 * (m + 1));
  const { policy, views } = scripted();
  const seen: (number | undefined)[] = [];
  simulate(
    requests,
    { decide: (v) => (seen.push(v.metrics.latest()?.requests), policy.decide(v)) },
    model,
    2,
  );
  assert.deepEqual(
    views.map((v) => v.metrics.newestMinute),
    [undefined, undefined, 0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual(seen, [undefined, undefined, 1000, 2000, 3000, 4000, 5000, 6000]);
});

test('reading a minute not yet published is refused, so a policy never sees the future', () => {
  const { policy, views } = scripted();
  simulate(constant(6, 500), policy, model, 1);
  const view = views[5]!.metrics;
  assert.equal(view.at(3)?.requests, 500);
  assert.throws(() => view.at(4), RangeError);
  assert.throws(() => view.at(5), RangeError);
  assert.throws(() => views[1]!.metrics.at(0), RangeError);
});

test('every policy reads the same request counts, whatever it decides', () => {
  const requests = [100, 900, 5000, 20_000, 700, 3000, 12_000, 50, 8000];
  const streams = [() => 1, () => 50, (v: PolicyView) => v.minute * 7 + 1].map((plan) => {
    const seen: (number | undefined)[] = [];
    simulate(
      requests,
      { decide: (v) => (seen.push(v.metrics.latest()?.requests), { tasks: plan(v), reason: '' }) },
      model,
      1,
    );
    return seen;
  });
  assert.deepEqual(streams[1], streams[0]);
  assert.deepEqual(streams[2], streams[0]);
});

test('requests per target divide by the healthy targets of that minute, as the ALB does', () => {
  const stream = new MetricStream(2);
  stream.record(0, 3000, 4);
  stream.record(1, 3000, 0);
  const view = stream.viewAt(3);
  assert.equal(view.at(0)?.requestsPerTarget, 750);
  assert.equal(view.at(1)?.requestsPerTarget, 3000, 'no healthy target: all requests on one');
  assert.deepEqual(
    view.recent(5).map((p) => p.minute),
    [1, 0],
    'newest first, only what exists',
  );
});

// ----- task starts -----

test('a task started at minute t serves from t + 1 or t + 2, and both happen', () => {
  const { policy } = scripted((v) => (v.minute === 3 ? 41 : undefined));
  const run = simulate(constant(8, 0), policy, model, 1);
  assert.equal(run.minutes[3]!.healthy, 1, 'not in the minute it starts');
  const atFour = run.minutes[4]!.healthy;
  assert.ok(atFour > 1 && atFour < 41, `some, not all, serve from t + 1 (got ${atFour})`);
  assert.equal(run.minutes[5]!.healthy, 41, 'all serve from t + 2');
});

test('start delays are the same on every run with the same seed, and change with the seed', () => {
  const healthyAt4 = (seed: number) => {
    const { policy } = scripted((v) => (v.minute === 3 ? 101 : undefined));
    return simulate(constant(6, 0), policy, { ...model, seed }, 1).minutes[4]!.healthy;
  };
  assert.equal(healthyAt4(7), healthyAt4(7));
  assert.ok(
    [1, 2, 3, 4, 5].some((s) => healthyAt4(s) !== healthyAt4(7)),
    'some other seed draws other delays',
  );
});

test('a scale-in stops tasks still starting before tasks that serve', () => {
  const { policy } = scripted((v) => (v.minute === 1 ? 10 : v.minute === 2 ? 6 : undefined));
  const run = simulate(constant(5, 0), policy, { ...model, startDelayMinutes: [2] }, 5);
  assert.deepEqual(
    run.minutes.map((m) => [m.healthy, m.started]),
    [
      [5, 5],
      [5, 10],
      [5, 6],
      [6, 6],
      [6, 6],
    ],
  );
});

// ----- capacity, cost and actions -----

test('a minute breaks the SLO only when demand per healthy task exceeds the capacity C', () => {
  const { policy } = scripted();
  const run = simulate([4000, 4001, 3999, 10_000], policy, model, 4);
  assert.deepEqual(
    run.minutes.map((m) => m.demand / m.healthy > model.capacityPerTask),
    [false, true, false, true],
  );
  assert.equal(run.violationMinutes, 2);
  assert.equal(run.overloadedTaskMinutes.toFixed(3), (0.001 + 6).toFixed(3), 'Σ demand / C − healthy');
});

test('task-minutes count starting tasks; scaling actions count changes of the desired count', () => {
  const { policy } = scripted((v) => [3, 3, 6, 6, 2][v.minute]);
  const run = simulate(constant(5, 0), policy, { ...model, startDelayMinutes: [2] }, 3);
  assert.deepEqual(
    run.minutes.map((m) => m.started),
    [3, 3, 6, 6, 2],
  );
  assert.equal(run.taskMinutes, 20);
  assert.equal(run.scalingActions, 2);
  assert.deepEqual(
    run.actions.map((a) => [a.minute, a.from, a.to]),
    [
      [2, 3, 6],
      [4, 6, 2],
    ],
  );
});

test('the desired count stays within minTasks and maxTasks', () => {
  const { policy } = scripted((v) => [0, 500, -3][v.minute]);
  const run = simulate(constant(3, 0), policy, { ...model, minTasks: 2, maxTasks: 50 }, 10);
  assert.deepEqual(
    run.minutes.map((m) => m.desired),
    [2, 50, 2],
  );
});

test('a policy asking for a fractional count is a bug in the policy, not a rounding', () => {
  const { policy } = scripted(() => 2.5);
  assert.throws(() => simulate(constant(1, 0), policy, model, 1), /2\.5 tasks/);
});

// ----- the target-tracking model -----

const TARGET = 600;
const tt = (overrides: Partial<TargetTrackingOptions> = {}) =>
  targetTrackingPolicy({ target: TARGET, ...TARGET_TRACKING_DEFAULTS, ...overrides });

/**
 * Feeds datapoints (requests per target, one per minute, each measured with
 * `desired` healthy targets) and returns the desired count after each decision.
 */
function feed(policy: Policy, perTarget: readonly number[], initial: number): number[] {
  const stream = new MetricStream(2);
  let desired = initial;
  const out: number[] = [];
  for (let minute = 0; minute < perTarget.length + 2; minute += 1) {
    const view = stream.viewAt(minute);
    desired = policy.decide({ minute, desired, healthy: desired, started: desired, metrics: view }).tasks;
    out.push(desired);
    if (minute < perTarget.length) stream.record(minute, perTarget[minute]! * desired, desired);
  }
  return out;
}

test('target tracking scales out once 3 of 3 datapoints are above the target', () => {
  const out = feed(tt(), [600, 900, 900, 900, 600], 10);
  // Datapoints 1–3 are above; minute 3 is published at the start of minute 5.
  assert.deepEqual(out.slice(0, 5), [10, 10, 10, 10, 10]);
  assert.equal(out[5], 15, 'ceil(10 × 900 / 600)');
});

test('target tracking ignores 2 high datapoints out of 3, and a datapoint at the target', () => {
  assert.deepEqual(feed(tt(), [900, 900, 500, 900, 900, 600, 900], 10), Array(9).fill(10));
});

test('target tracking scales in only after 15 of 15 datapoints below 90 % of the target', () => {
  const low = 300; // half the target: ceil(20 × 300 / 600) = 10
  const fourteen = feed(tt(), [600, ...Array(14).fill(low)], 20);
  assert.ok(
    fourteen.every((n) => n === 20),
    '14 low datapoints are not enough',
  );
  const fifteen = feed(tt(), Array(15).fill(low), 20);
  assert.equal(fifteen.indexOf(10), 16, 'scales in when the 15th low datapoint is published');
});

test('target tracking does not scale in at exactly 90 % of the target', () => {
  assert.ok(feed(tt(), Array(20).fill(0.9 * TARGET), 20).every((n) => n === 20));
});

test('a scale-in cooldown holds the next scale-in for 300 s', () => {
  // Half the target for a long time: a scale-in every 5 minutes, not every minute.
  const policy = tt();
  const stream = new MetricStream(2);
  let desired = 64;
  const scaleIns: number[] = [];
  for (let minute = 0; minute < 40; minute += 1) {
    const next = policy.decide({
      minute,
      desired,
      healthy: desired,
      started: desired,
      metrics: stream.viewAt(minute),
    });
    if (next.tasks < desired) scaleIns.push(minute);
    desired = next.tasks;
    stream.record(minute, 300 * desired, desired);
  }
  assert.deepEqual(scaleIns, [16, 21, 26, 31, 36]);
});

test('a scale-out during a scale-in cooldown happens at once', () => {
  const policy = tt({ scaleInDatapoints: 3 });
  const out = feed(policy, [100, 100, 100, 1200, 1200, 1200], 12);
  // The scale-in at minute 4 (12 → 2) starts a cooldown until minute 9; three high datapoints are published by minute 7.
  assert.equal(out[4], 2);
  assert.equal(out[7], 4, 'ceil(2 × 1200 / 600), inside the scale-in cooldown');
});

test('during a scale-out cooldown a further scale-out happens only when larger, counted from the capacity before it', () => {
  const policy = tt();
  const stream = new MetricStream(2);
  const decide = (minute: number, desired: number) =>
    policy.decide({ minute, desired, healthy: desired, started: desired, metrics: stream.viewAt(minute) })
      .tasks;
  // Ten targets at 1200 each for minutes 0–2: scale-out at minute 4 to ceil(10 × 1200 / 600) = 20.
  for (let m = 0; m < 3; m += 1) stream.record(m, 12_000, 10);
  assert.equal(decide(4, 10), 20);
  // Minute 3 was still measured with 10 targets, at 1200: 10 × 1200 / 600 = 20, not larger than 20.
  stream.record(3, 12_000, 10);
  assert.equal(decide(5, 20), 20, 'a stale datapoint does not compound');
  // Minute 4: demand grew to 18,000 on the 10 targets: 10 × 1800 / 600 = 30 is larger.
  stream.record(4, 18_000, 10);
  assert.equal(decide(6, 20), 30);
  // Once the cooldown is over, capacity is the desired count again: 30 × 700 / 600 = 35.
  for (let m = 5; m < 13; m += 1) stream.record(m, 21_000, 30);
  assert.equal(decide(12, 30), 35);
});

// ----- tandem's autoscaler as the benchmark drives it -----

test('tandem carries its history across minutes: it scales in only after the scale-in gate of three windows', () => {
  const policy = tandemPolicy(tandemScalingPolicy({ minTasks: 1, maxTasks: 200 }));
  const requests = [...constant(10, 12_000), ...constant(20, 3000)];
  const run = simulate(requests, policy, model, 20);
  // Demand drops at minute 10 and is seen from minute 12; the recommendation of 20 held until
  // minute 12, so the gate keeps 20 tasks until it is 3 × 300 s old, at minute 27.
  assert.deepEqual(
    run.actions.map((a) => [a.minute, a.from, a.to]),
    [[27, 20, 5]],
  );
  assert.match(run.minutes[20]!.reason, /ScaleInStabilizing/);
});

test('flapping is a scale-in followed by a scale-out within the window', () => {
  const action = (minute: number, from: number, to: number) => ({ minute, from, to, reason: '' });
  assert.equal(flaps([action(10, 5, 4), action(15, 4, 5)], 5).length, 1);
  assert.equal(flaps([action(10, 5, 4), action(16, 4, 5)], 5).length, 0);
  assert.equal(flaps([action(10, 4, 5), action(12, 5, 4)], 5).length, 0, 'out then in is not a flap');
});

// ----- trace files -----

function ok(result: TraceResult) {
  if (!result.ok) assert.fail(result.error.message);
  return result.trace;
}

function error(result: TraceResult) {
  if (result.ok) assert.fail('expected an error');
  return result.error;
}

test('a trace file is minute,requests per line, with or without a header', () => {
  assert.deepEqual(ok(parseTraceCsv('minute,requests\n0,10\n1,20\n', 'a.csv')).requests, [10, 20]);
  const bare = ok(parseTraceCsv('5, 10\r\n6,20.5\n\n# a comment\n7,0', 'b.csv'));
  assert.deepEqual([bare.firstMinute, bare.requests], [5, [10, 20.5, 0]]);
});

test('a minute without requests publishes no datapoint: a policy sees a gap, not a zero', () => {
  const stream = new MetricStream(2);
  stream.record(0, 3000, 4);
  stream.record(1, 0, 4);
  stream.record(2, 0, 4);
  const view = stream.viewAt(4);
  assert.equal(view.at(1), undefined);
  assert.deepEqual(
    view.recent(3).map((p) => p.minute),
    [0],
  );
  assert.equal(view.latest()?.minute, 0, 'the newest published datapoint, however old');
});

test('target tracking does not scale in on minutes without requests', () => {
  const out = feed(tt(), [...Array(3).fill(300), ...Array(20).fill(0)], 20);
  assert.ok(out.every((n) => n === 20));
});

test('minutes missing from a trace count as minutes without requests, and the description says so', () => {
  const trace = ok(parseTraceCsv('0,10\n3,40\n', 'gaps.csv'));
  assert.deepEqual(trace.requests, [10, 0, 0, 40]);
  assert.match(trace.description, /2 missing minutes counted as 0 requests/);
});

test('a bad trace line is refused with its line number and what is wrong', async (t) => {
  const cases: [string, string, number | undefined, RegExp][] = [
    ['not a number', 'minute,requests\n0,10\n1,lots\n', 3, /requests "lots" is not a number/],
    ['negative requests', '0,10\n1,-5\n', 2, /requests -5 must be a non-negative number/],
    ['minutes going back', '0,1\n2,1\n2,1\n', 3, /minute 2 does not follow minute 2: minutes must increase/],
    ['a fractional minute', '0,1\n1.5,1\n', 2, /minute 1\.5 must be a whole number/],
    ['a negative minute', '-1,1\n', 1, /minute -1 must be a whole number, 0 or more/],
    ['three fields', '0,1\n1,2,3\n', 2, /expected "minute,requests" \(2 fields\), found 3/],
    ['a header after data', '0,1\nminute,requests\n', 2, /minute "minute" is not a number/],
    ['no data', 'minute,requests\n', undefined, /holds no "minute,requests" line/],
    ['a span beyond a year', '0,1\n600000,1\n', 2, /more than 527040 minutes/],
  ];
  for (const [name, text, line, message] of cases) {
    await t.test(name, () => {
      const e = error(parseTraceCsv(text, 'bad.csv'));
      assert.deepEqual([e.kind, e.source, e.line], ['InvalidTrace', 'bad.csv', line]);
      assert.match(e.message, message);
    });
  }
});

test('a trace file that does not exist is an error naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-trace-'));
  const missing = error(await readTraceFile(join(dir, 'nope.csv')));
  assert.deepEqual([missing.source, missing.message], [join(dir, 'nope.csv'), 'no such file']);
  await writeFile(join(dir, 'ok.csv'), '0,1\n1,2\n');
  assert.deepEqual(ok(await readTraceFile(join(dir, 'ok.csv'))).requests, [1, 2]);
});
