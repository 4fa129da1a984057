import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headroomFrontier, type FrontierBaseline, type FrontierPoint } from '../bench/scaling/frontier.ts';
import { TANDEM, TARGET_TRACKING, type TraceResults } from '../bench/scaling/goals.ts';
import type { RunResult } from '../bench/scaling/simulator.ts';

/** A run with only the two sums the frontier reads. */
function run(overloadedTaskMinutes: number, taskMinutes: number): RunResult {
  return {
    overloadedTaskMinutes,
    violationMinutes: overloadedTaskMinutes > 0 ? 1 : 0,
    taskMinutes,
    scalingActions: 0,
    actions: [],
    minutes: [],
  };
}

/** One policy's runs by trace: [overloaded task-minutes, task-minutes]. */
function results(policy: string, runs: Record<string, [number, number]>): TraceResults[] {
  return Object.entries(runs).map(([trace, [overloaded, taskMinutes]]) => ({
    trace,
    runs: new Map([[policy, run(overloaded, taskMinutes)]]),
  }));
}

/** Target tracking: 100 overloaded task-minutes on each goal trace, 1,000 task-minutes on every trace. */
const baseline: FrontierBaseline = {
  runs: results(TARGET_TRACKING, {
    steady: [0, 1000],
    'flash-crowd': [100, 1000],
    step: [100, 1000],
  }),
  reruns: [],
};

const point = (target: number, runs: Record<string, [number, number]>): FrontierPoint => ({
  target,
  runs: results(TANDEM, runs),
  reruns: [],
});

test('a row’s overload is tandem’s over target tracking’s on each overload-goal trace, in the goal’s order', () => {
  const [row] = headroomFrontier(
    [point(600, { steady: [0, 950], step: [30, 1000], 'flash-crowd': [60, 1000] })],
    baseline,
    1000,
  );
  assert.deepEqual(
    row!.overload.map((o) => [o.trace, o.ratio]),
    [
      ['flash-crowd', 0.6],
      ['step', 0.3],
    ],
  );
});

test('an overload goal is met at exactly 0.5× target tracking’s and not above', () => {
  const [row] = headroomFrontier(
    [point(480, { steady: [0, 1000], 'flash-crowd': [50, 1000], step: [50.1, 1000] })],
    baseline,
    1000,
  );
  assert.deepEqual(
    row!.overload.map((o) => o.met),
    [true, false],
  );
});

test('a trace on which neither policy is overloaded has no ratio and meets its goal', () => {
  const [row] = headroomFrontier(
    [point(300, { steady: [0, 1000], 'flash-crowd': [0, 1000], step: [0, 1000] })],
    {
      ...baseline,
      runs: results(TARGET_TRACKING, { steady: [0, 1000], 'flash-crowd': [0, 900], step: [0, 900] }),
    },
    1000,
  );
  assert.deepEqual(
    row!.overload.map((o) => [o.ratio, o.met]),
    [
      [undefined, true],
      [undefined, true],
    ],
  );
});

test('cost is tandem’s task-minutes over target tracking’s summed over every trace, met at 1.0× and not above', () => {
  const rows = headroomFrontier(
    [
      point(600, { steady: [0, 900], 'flash-crowd': [60, 1100], step: [30, 1000] }),
      point(540, { steady: [0, 1000], 'flash-crowd': [55, 1100], step: [0, 1000] }),
    ],
    baseline,
    1000,
  );
  assert.deepEqual(
    rows.map((r) => [r.target, r.cost, r.costMet]),
    [
      [600, 1, true],
      [540, 3100 / 3000, false],
    ],
  );
});

test('headroom is the task capacity over the row’s target', () => {
  const rows = headroomFrontier(
    [600, 300].map((target) =>
      point(target, { steady: [0, 1000], 'flash-crowd': [0, 1000], step: [0, 1000] }),
    ),
    baseline,
    1000,
  );
  assert.deepEqual(
    rows.map((r) => r.headroom),
    [1000 / 600, 1000 / 300],
  );
});

test('the median is over the reruns, each against target tracking’s run of the same rerun', () => {
  // Target tracking's overload differs per rerun, so pairing rerun i with rerun j would change the ratios.
  const tt = [10, 20, 40].map((o) => results(TARGET_TRACKING, { 'flash-crowd': [o, 100], step: [o, 100] }));
  const tandem = [4, 10, 32].map((o) => results(TANDEM, { 'flash-crowd': [o, 100], step: [o / 2, 100] }));
  const [row] = headroomFrontier(
    [{ ...point(600, { steady: [0, 1000], 'flash-crowd': [60, 1000], step: [30, 1000] }), reruns: tandem }],
    { ...baseline, reruns: tt },
    1000,
  );
  // Ratios 0.4, 0.5, 0.8 on the flash crowd and half that on the step; the default seed's stay 0.6 and 0.3.
  assert.deepEqual(
    row!.overload.map((o) => [o.ratio, o.median]),
    [
      [0.6, 0.5],
      [0.3, 0.25],
    ],
  );
});

test('without reruns a row has no median', () => {
  const [row] = headroomFrontier(
    [point(600, { steady: [0, 1000], 'flash-crowd': [60, 1000], step: [30, 1000] })],
    baseline,
    1000,
  );
  assert.deepEqual(
    row!.overload.map((o) => o.median),
    [undefined, undefined],
  );
});

test('a trace target tracking did not run, or a different number of reruns, is an error, not a row', () => {
  assert.throws(
    () => headroomFrontier([point(600, { steady: [0, 1000], diurnal: [0, 1000] })], baseline, 1000),
    /trace diurnal has no target tracking run/,
  );
  const rerun = results(TANDEM, { 'flash-crowd': [1, 10], step: [1, 10] });
  assert.throws(
    () =>
      headroomFrontier(
        [{ ...point(600, { steady: [0, 1000], 'flash-crowd': [1, 10], step: [1, 10] }), reruns: [rerun] }],
        baseline,
        1000,
      ),
    /1 reruns against 0 of target tracking/,
  );
});
