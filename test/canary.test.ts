import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  analyzeCanary,
  type CanaryAnalysisPolicy,
  type CanarySample,
  type CanaryState,
} from '../controller/decide/canary.ts';
import { decideSite, type PeerReport } from '../controller/decide/site.ts';
import { emptyStatus } from '../controller/model/status.ts';
import { propertyRuns } from './support/properties.ts';
import { demoDocument, valid } from './support/world.ts';

const policy: CanaryAnalysisPolicy = {
  intervalSeconds: 60,
  stepWeight: 10,
  maxWeight: 30,
  threshold: 2,
  minSuccessPercent: 99,
  maxP95LatencyMs: 500,
};
const T0 = 1_000_000_000;
const minute = (n: number) => T0 + n * 60_000;
const healthy: CanarySample = { requests: 1000, errors5xx: 2, p95LatencyMs: 120 };

function run(samples: (CanarySample | 'wait')[], start?: CanaryState): CanaryState[] {
  let state = start ?? analyzeCanary(policy, 'v2', undefined, {}, minute(0));
  const states = [state];
  samples.forEach((sample, i) => {
    const at = sample === 'wait' ? minute(i) + 30_000 : minute(i + 1);
    state = analyzeCanary(policy, 'v2', state, sample === 'wait' ? healthy : sample, at);
    states.push(state);
  });
  return states;
}

test('canary analysis', async (t) => {
  await t.test('a new canary starts at weight 0, progressing', () => {
    const state = analyzeCanary(policy, 'v2', undefined, healthy, minute(0));
    assert.deepEqual([state.phase, state.weight, state.failedChecks], ['Progressing', 0, 0]);
  });
  await t.test('the first step needs no check (there was no canary traffic to judge)', () => {
    assert.equal(run([{}])[1]!.weight, 10);
  });
  await t.test('passing checks step the weight up to maxWeight, then mark it ready to promote', () => {
    const states = run([{}, healthy, healthy, healthy]);
    assert.deepEqual(
      states.map((s) => [s.weight, s.phase]),
      [
        [0, 'Progressing'],
        [10, 'Progressing'],
        [20, 'Progressing'],
        [30, 'Progressing'],
        [30, 'Succeeded'],
      ],
    );
  });
  await t.test('nothing moves before the interval has passed', () => {
    const states = run([{}, 'wait']);
    assert.equal(states[2], states[1]);
  });
  await t.test('a failed check holds the weight; threshold failures roll back to 0', () => {
    const failing = { requests: 1000, errors5xx: 50, p95LatencyMs: 120 };
    const states = run([{}, healthy, failing, failing]);
    assert.deepEqual(
      states.slice(2).map((s) => [s.weight, s.phase, s.failedChecks]),
      [
        [20, 'Progressing', 0],
        [20, 'Progressing', 1],
        [0, 'Failed', 2],
      ],
    );
    assert.match(states.at(-1)!.message, /success rate 95\.00% is below 99%/);
  });
  await t.test('slow responses fail a check', () => {
    const states = run([{}, { requests: 1000, errors5xx: 0, p95LatencyMs: 900 }]);
    assert.match(states[2]!.message, /p95 latency 900 ms is above 500 ms/);
  });
  await t.test('no data counts as a failed check', () => {
    const states = run([{}, {}, { requests: 0, p95LatencyMs: 100 }]);
    assert.deepEqual([states[3]!.phase, states[3]!.weight], ['Failed', 0]);
    assert.match(states[2]!.message, /no data/);
  });
  await t.test('a failed canary stays rolled back until its tag changes', () => {
    const failed = run([{}, {}, {}]).at(-1)!;
    assert.equal(analyzeCanary(policy, 'v2', failed, healthy, minute(10)), failed);
    const next = analyzeCanary(policy, 'v3', failed, healthy, minute(10));
    assert.deepEqual([next.tag, next.phase, next.weight], ['v3', 'Progressing', 0]);
  });
});

const samples = fc.oneof(
  fc.constant<CanarySample>({}),
  fc.record({
    requests: fc.integer({ min: 0, max: 10_000 }),
    errors5xx: fc.integer({ min: 0, max: 500 }),
    p95LatencyMs: fc.integer({ min: 1, max: 2000 }),
  }),
);
const policies = fc
  .record({
    intervalSeconds: fc.integer({ min: 10, max: 600 }),
    stepWeight: fc.integer({ min: 1, max: 100 }),
    maxWeight: fc.integer({ min: 1, max: 100 }),
    threshold: fc.integer({ min: 1, max: 10 }),
    minSuccessPercent: fc.integer({ min: 0, max: 100 }),
    maxP95LatencyMs: fc.integer({ min: 1, max: 2000 }),
  })
  .filter((p) => p.stepWeight <= p.maxWeight);

test('the canary weight stays within [0, maxWeight] and moves only by stepWeight or to 0', () => {
  fc.assert(
    fc.property(
      policies,
      fc.array(fc.tuple(samples, fc.integer({ min: 0, max: 900 })), { maxLength: 60 }),
      (p, steps) => {
        let now = T0;
        let state = analyzeCanary(p, 'v2', undefined, {}, now);
        for (const [sample, seconds] of steps) {
          now += seconds * 1000;
          const next = analyzeCanary(p, 'v2', state, sample, now);
          if (next.weight < 0 || next.weight > p.maxWeight) return false;
          const delta = next.weight - state.weight;
          const allowed =
            delta === 0 || next.weight === 0 || delta === p.stepWeight || next.weight === p.maxWeight;
          if (!allowed || delta > p.stepWeight) return false;
          state = next;
        }
        return true;
      },
    ),
    { numRuns: propertyRuns(1000) },
  );
});

test("a region taking over the analysis goes on from the holder's published state, else from the freshest", () => {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: {} };
  const site = valid(document);
  // Finished states: the analysis returns them unchanged, so the result names the one it went on from.
  const state = (phase: CanaryState['phase'], lastCheckAt: number): CanaryState => ({
    tag: 'v2',
    phase,
    weight: phase === 'Succeeded' ? 50 : 0,
    failedChecks: 0,
    lastCheckAt,
    message: `${phase} at ${lastCheckAt}`,
  });
  const peer = (region: string, canary: CanaryState, global: boolean, quiet = false): PeerReport => ({
    region,
    status: { ...emptyStatus('demo', region), global, canary },
    quiet,
  });
  const older = state('Succeeded', minute(1));
  const newer = state('Failed', minute(2));
  const cases: { name: string; peers: PeerReport[]; from: CanaryState }[] = [
    {
      name: 'the holder, though another published later',
      peers: [peer('eu-west-1', newer, false), peer('us-west-2', older, true)],
      from: older,
    },
    {
      name: 'the holder, whichever order the reports come in',
      peers: [peer('us-west-2', older, true), peer('eu-west-1', newer, false)],
      from: older,
    },
    {
      name: 'no holder: the freshest',
      peers: [peer('us-west-2', older, false), peer('eu-west-1', newer, false)],
      from: newer,
    },
    {
      name: 'no holder: the freshest, whichever order',
      peers: [peer('eu-west-1', newer, false), peer('us-west-2', older, false)],
      from: newer,
    },
    {
      name: 'a quiet holder is no holder: the freshest',
      peers: [peer('us-west-2', older, true, true), peer('eu-west-1', newer, false)],
      from: newer,
    },
  ];
  for (const c of cases) {
    const decisions = decideSite(
      site,
      { name: 'demo', regions: {} },
      { self: 'us-east-1', peers: c.peers, global: true, now: minute(3), wantedFamilies: new Set() },
    );
    assert.deepEqual(decisions.canary, c.from, c.name);
    assert.equal(decisions.canaryWeight, c.from.weight, c.name);
  }
});

test('each step of the analysis in full: weight, phase, failed checks, time and the message status shows', () => {
  const state = (over: Partial<CanaryState>): CanaryState => ({
    tag: 'v2',
    phase: 'Progressing',
    weight: 10,
    failedChecks: 0,
    lastCheckAt: minute(0),
    message: '',
    ...over,
  });
  const cases: { name: string; from?: CanaryState; sample: CanarySample; at: number; to: CanaryState }[] = [
    {
      name: 'a new analysis',
      sample: healthy,
      at: minute(0),
      to: state({ weight: 0, message: 'analysis of v2 started' }),
    },
    {
      name: 'the first step, exactly one interval later',
      from: state({ weight: 0 }),
      sample: {},
      at: minute(1),
      to: state({ weight: 10, lastCheckAt: minute(1), message: 'first step; weight 0% → 10%' }),
    },
    {
      name: 'a check exactly at the lowest success rate and the highest p95 passes',
      from: state({}),
      sample: { requests: 1000, errors5xx: 10, p95LatencyMs: 500 },
      at: minute(1),
      to: state({
        weight: 20,
        lastCheckAt: minute(1),
        message: 'success 99.00%, p95 500 ms; weight 10% → 20%',
      }),
    },
    {
      name: 'a success rate just below fails a check and holds the weight',
      from: state({ weight: 20 }),
      sample: { requests: 1000, errors5xx: 11, p95LatencyMs: 100 },
      at: minute(1),
      to: state({
        weight: 20,
        failedChecks: 1,
        lastCheckAt: minute(1),
        message: 'check failed (1 of 2): success rate 98.90% is below 99%; holding 20%',
      }),
    },
    {
      name: 'a p95 just above, at the threshold, rolls back',
      from: state({ weight: 20, failedChecks: 1 }),
      sample: { requests: 1000, errors5xx: 0, p95LatencyMs: 500.6 },
      at: minute(1),
      to: state({
        phase: 'Failed',
        weight: 0,
        failedChecks: 2,
        lastCheckAt: minute(1),
        message: 'rolled back after 2 failed checks; last: p95 latency 501 ms is above 500 ms',
      }),
    },
    {
      name: 'no requests is no data',
      from: state({}),
      sample: { requests: 0, errors5xx: 0, p95LatencyMs: 100 },
      at: minute(1),
      to: state({
        failedChecks: 1,
        lastCheckAt: minute(1),
        message: 'check failed (1 of 2): no data for the canary; holding 10%',
      }),
    },
    {
      name: 'requests without a p95 is no data',
      from: state({}),
      sample: { requests: 1000, errors5xx: 0 },
      at: minute(1),
      to: state({
        failedChecks: 1,
        lastCheckAt: minute(1),
        message: 'check failed (1 of 2): no data for the canary; holding 10%',
      }),
    },
    {
      name: 'a p95 without requests is no data',
      from: state({}),
      sample: { p95LatencyMs: 100 },
      at: minute(1),
      to: state({
        failedChecks: 1,
        lastCheckAt: minute(1),
        message: 'check failed (1 of 2): no data for the canary; holding 10%',
      }),
    },
    {
      name: 'missing 5xx counts are none',
      from: state({}),
      sample: { requests: 1000, p95LatencyMs: 120 },
      at: minute(1),
      to: state({
        weight: 20,
        lastCheckAt: minute(1),
        message: 'success 100.00%, p95 120 ms; weight 10% → 20%',
      }),
    },
    {
      name: 'a passing check at maxWeight succeeds',
      from: state({ weight: 30 }),
      sample: healthy,
      at: minute(1),
      to: state({
        phase: 'Succeeded',
        weight: 30,
        lastCheckAt: minute(1),
        message: 'passed every check up to 30%; ready to promote (success 99.80%, p95 120 ms)',
      }),
    },
    {
      name: 'a finished analysis stays as it is',
      from: state({ phase: 'Failed', weight: 0, failedChecks: 2 }),
      sample: healthy,
      at: minute(5),
      to: state({ phase: 'Failed', weight: 0, failedChecks: 2 }),
    },
    {
      name: 'nothing moves a millisecond before the interval ends',
      from: state({}),
      sample: healthy,
      at: minute(1) - 1,
      to: state({}),
    },
  ];
  for (const c of cases) assert.deepEqual(analyzeCanary(policy, 'v2', c.from, c.sample, c.at), c.to, c.name);
  // A step never goes past maxWeight.
  assert.deepEqual(
    analyzeCanary({ ...policy, stepWeight: 20 }, 'v2', state({ weight: 20 }), healthy, minute(1)),
    state({ weight: 30, lastCheckAt: minute(1), message: 'success 99.80%, p95 120 ms; weight 20% → 30%' }),
  );
});
