import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evaluateGoals,
  goalSummary,
  ORACLE,
  TANDEM,
  TARGET_TRACKING,
  type TraceResults,
} from '../bench/scaling/goals.ts';
import { MetricStream } from '../bench/scaling/metrics.ts';
import { oracleReactivePolicy } from '../bench/scaling/oracle.ts';
import type { RunResult } from '../bench/scaling/simulator.ts';
import { parseTraceCsv } from '../bench/scaling/trace.ts';

function run(overloadedTaskMinutes: number, taskMinutes: number): RunResult {
  return {
    overloadedTaskMinutes,
    violationMinutes: 0,
    taskMinutes,
    scalingActions: 0,
    actions: [],
    minutes: [],
  };
}

function trace(name: string, runs: Record<string, [number, number]>): TraceResults {
  return { trace: name, runs: new Map(Object.entries(runs).map(([p, [o, c]]) => [p, run(o, c)])) };
}

const capacity = { capacityPerTask: 1000 };

test('a jump goal compares tandem with the oracle-reactive bound, up to 1.05×, on the seed and the reruns’ median', () => {
  const at = (t: number) =>
    trace('step', { [TANDEM]: [t, 100], [TARGET_TRACKING]: [50, 100], [ORACLE]: [10, 100] });
  const goal = (results: TraceResults[], reruns: TraceResults[][] = []) =>
    evaluateGoals(results, { ...capacity, reruns }).find((g) => g.name.startsWith('step:'))!;
  assert.equal(goal([at(10.5)]).ok, true);
  assert.equal(goal([at(10.6)]).ok, false);
  assert.equal(goal([at(10)], [[at(20)], [at(20)], [at(10)]]).ok, false, 'the median of the reruns fails');
  assert.match(goal([at(10)], [[at(10)]]).measured, /median of 1 reruns 1\.00×/);
});

test('a goal whose trace was not run says so and is not counted as evaluated', () => {
  const goals = evaluateGoals(
    [trace('steady', { [TANDEM]: [0, 90], [TARGET_TRACKING]: [0, 100] })],
    capacity,
  );
  const flash = goals.find((g) => g.name.startsWith('flash-crowd'))!;
  assert.deepEqual([flash.ok, flash.measured], [undefined, 'not evaluated: trace flash-crowd not run']);
  const summary = goalSummary(goals);
  const evaluated = goals.filter((g) => g.ok !== undefined).length;
  assert.equal(summary.ok, true);
  assert.equal(
    summary.text,
    `all ${evaluated} evaluated goals PASS (${goals.length - evaluated} not evaluated)`,
  );
});

test('the summary fails when one evaluated goal fails', () => {
  const summary = goalSummary([
    { name: 'a', ok: true, measured: '' },
    { name: 'b', ok: false, measured: '' },
    { name: 'c', ok: undefined, measured: '' },
  ]);
  assert.deepEqual(summary, { ok: false, text: '1 of 2 evaluated goals FAIL (1 not evaluated)' });
});

test('a trace from a file gets the flap goal against target tracking', () => {
  const goals = evaluateGoals([trace('mine.csv', { [TANDEM]: [0, 90], [TARGET_TRACKING]: [0, 100] })], {
    ...capacity,
    fileTraces: ['mine.csv'],
  });
  const flap = goals.find((g) => g.name.startsWith('mine.csv'))!;
  assert.deepEqual([flap.ok, flap.measured], [true, '0 vs 0']);
});

test('the oracle-reactive bound asks for the newest need at once and keeps the highest of five', () => {
  const stream = new MetricStream(0);
  const oracle = oracleReactivePolicy(600);
  const decide = (minute: number) =>
    oracle.decide({ minute, desired: 1, healthy: 1, started: 1, metrics: stream.viewAt(minute) }).tasks;
  [6000, 600, 600, 600, 600, 600].forEach((r, m) => stream.record(m, r, 1));
  assert.equal(decide(0), 10, 'at once, no step or tolerance');
  assert.equal(decide(4), 10, 'the jump is still among the newest five');
  assert.equal(decide(5), 1, 'and is forgotten after them');
});

test('a trace file may start with a byte-order mark and quote its fields', () => {
  const read = parseTraceCsv('\uFEFF"minute","requests"\n"0","10"\n1,20\n', 'quoted.csv');
  assert.ok(read.ok);
  assert.deepEqual(read.trace.requests, [10, 20]);
});
