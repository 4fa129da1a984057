import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { validateSite } from '../controller/spec/validate.ts';
import { demoDocument, newSim, pass, specItem, storeSpec, type RoundReport } from './support/world.ts';

const T0 = Date.parse('2026-11-28T00:00:00Z');

/** Each region's pass at minute `m`, then a minute passes for the simulated cloud. */
async function passAt(sim: SimulatedCloud, m: number): Promise<RoundReport> {
  const report = await pass(sim, { now: () => new Date(T0 + m * 60_000) });
  sim.tick();
  return report;
}

function desiredTasks(sim: SimulatedCloud, region: string, site = 'demo'): number {
  return Object.values(sim.world.regions[region]!.services)
    .filter((s) => s.status === 'ACTIVE' && s.tags['tandem:site'] === site)
    .reduce((n, s) => n + s.desiredCount, 0);
}

function stableOnly() {
  const document = demoDocument();
  delete document.spec.canary;
  return document;
}

test('load above the target raises the region’s tasks; when it stops they return to minTasks after the window', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly()); // minTasks 3, target 600 requests per task per minute, window 300 s
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);
  assert.equal(desiredTasks(sim, 'us-east-1'), 3);

  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 3000 });
  const up = await passAt(sim, 3);
  assert.equal(desiredTasks(sim, 'us-east-1'), 5, 'ceil(3 × (3000 / 3) / 600)');
  assert.equal(up.statuses.get('demo')!.regions['us-east-1']!.scaling!.decision.reason, 'ScaleOut');
  assert.equal(desiredTasks(sim, 'eu-west-1'), 3, 'the other region is unaffected');

  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 0 });
  for (let m = 4; m <= 8; m += 1) {
    const held = await passAt(sim, m);
    assert.equal(desiredTasks(sim, 'us-east-1'), 5, `minute ${m}: inside the window`);
    assert.equal(
      held.statuses.get('demo')!.regions['us-east-1']!.scaling!.decision.reason,
      'ScaleInStabilizing',
    );
  }
  await passAt(sim, 9);
  assert.equal(desiredTasks(sim, 'us-east-1'), 3, 'back to minTasks once the window has passed');
});

test('a steady status is not rewritten while demand is unchanged', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly());
  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 1500 });
  const writes: number[] = [];
  for (let m = 0; m < 8; m += 1) writes.push((await passAt(sim, m)).statusWrites);
  assert.deepEqual(writes.slice(-3), [0, 0, 0]);
});

test('a failing primary raises the failover region to carry its demand, until it has been healthy for a window', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly());
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);
  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 4800 });
  await passAt(sim, 3);
  await passAt(sim, 4);
  assert.equal(desiredTasks(sim, 'us-east-1'), 8);

  // Every target in us-east-1 starts failing with 5xx.
  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 4800, errors5xxPerMinute: 4000 });
  const failing = await passAt(sim, 5);
  const status = failing.statuses.get('demo')!;
  assert.equal(status.conditions.FailoverActive?.status, 'True');
  assert.equal(status.regions['us-east-1']!.degraded?.reason, 'RegionFailing');
  assert.equal(
    desiredTasks(sim, 'eu-west-1'),
    8,
    'ceil(4800 / 600): the failover region takes the whole demand',
  );

  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 0 });
  sim.setTraffic('eu-west-1', 'demo-stable', { requestsPerMinute: 4800 });
  await passAt(sim, 6);
  assert.equal(desiredTasks(sim, 'eu-west-1'), 8);

  // us-east-1 recovers; traffic returns to it.
  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 4800 });
  sim.setTraffic('eu-west-1', 'demo-stable', { requestsPerMinute: 0 });
  const healed = await passAt(sim, 7);
  assert.equal(healed.statuses.get('demo')!.conditions.FailoverActive?.status, 'False');
  for (let m = 8; m <= 11; m += 1) {
    await passAt(sim, m);
    assert.equal(
      desiredTasks(sim, 'eu-west-1'),
      8,
      `minute ${m}: the floor holds while us-east-1 proves itself`,
    );
  }
  for (let m = 12; m <= 20; m += 1) await passAt(sim, m);
  assert.equal(desiredTasks(sim, 'eu-west-1'), 3, 'restored to its own demand after a healthy window');
});

test('an unreachable region counts as failing too', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly());
  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 3000 });
  for (let m = 0; m < 4; m += 1) await passAt(sim, m);
  sim.failRegion('us-east-1');
  const report = await passAt(sim, 4);
  assert.equal(report.statuses.get('demo')!.conditions.FailoverActive?.status, 'True');
  assert.equal(desiredTasks(sim, 'eu-west-1'), 5, 'ceil(3000 / 600)');
});

test('running tasks with no healthy target fail the region only when two passes in a row see it', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly());
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);

  // The healthy-host datapoint is a period behind: tasks that just turned healthy read as none, once.
  sim.setTraffic('us-east-1', 'demo-stable', { healthyTargets: 0 });
  const once = (await passAt(sim, 3)).statuses.get('demo')!;
  assert.equal(once.conditions.FailoverActive, undefined, 'one pass is not a failure');
  assert.equal(once.regions['us-east-1']!.scaling!.unhealthySince, T0 + 3 * 60_000);
  const twice = (await passAt(sim, 4)).statuses.get('demo')!;
  assert.equal(twice.conditions.FailoverActive?.status, 'True', 'the second pass in a row is');

  sim.setTraffic('us-east-1', 'demo-stable', {});
  const healthy = (await passAt(sim, 5)).statuses.get('demo')!;
  assert.equal(healthy.conditions.FailoverActive?.status, 'False');
  assert.equal(healthy.regions['us-east-1']!.scaling!.unhealthySince, undefined);
});

test('a region whose tasks are still rolling out is not failing for want of healthy targets', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly());
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);
  sim.setTraffic('us-east-1', 'demo-stable', { healthyTargets: 0 });
  for (const service of Object.values(sim.world.regions['us-east-1']!.services))
    service.rolloutInProgress = true;
  for (let m = 3; m < 6; m += 1) {
    const report = await pass(sim, { now: () => new Date(T0 + m * 60_000) });
    assert.equal(report.statuses.get('demo')!.conditions.FailoverActive, undefined, `minute ${m}`);
  }
});

function analysisSpec(promote: 'manual' | 'auto') {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: { stepWeight: 20, maxWeight: 40, threshold: 2, promote } };
  return document;
}

test('progressive delivery: the weight steps up while the canary is healthy, and promote: auto promotes it', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, analysisSpec('auto'));
  const weights: number[] = [];
  for (let m = 0; m < 8 && specItem(sim, 'demo')!.generation === 1; m += 1) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      sim.setTraffic(region, 'demo-canary', {
        requestsPerMinute: 300,
        errors5xxPerMinute: 0,
        p95LatencyMs: 80,
      });
    }
    const report = await passAt(sim, m);
    weights.push(report.statuses.get('demo')!.canary!.weight);
  }
  assert.deepEqual(weights.slice(0, 4), [0, 20, 40, 40]);
  const promoted = validateSite(specItem(sim, 'demo')!.document);
  assert.ok(promoted.ok);
  assert.equal(promoted.site.spec.image.tag, 'v2', 'the canary became stable');
  assert.equal(promoted.site.spec.canary, undefined);
  assert.equal(specItem(sim, 'demo')!.generation, 2);
});

test('a failing canary is rolled back to 0 and marked CanaryFailed; a manual one is never promoted', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, analysisSpec('manual'));
  let report: RoundReport | undefined;
  for (let m = 0; m < 6; m += 1) {
    sim.setTraffic('us-east-1', 'demo-canary', {
      requestsPerMinute: 300,
      errors5xxPerMinute: 60,
      p95LatencyMs: 80,
    });
    report = await passAt(sim, m);
  }
  const status = report!.statuses.get('demo')!;
  assert.equal(status.conditions.CanaryFailed?.status, 'True');
  assert.equal(status.canary?.weight, 0);
  assert.equal(status.regions['us-east-1']!.canaryWeight, 0);
  const rule = Object.values(sim.world.regions['us-east-1']!.rules)[0]!;
  assert.deepEqual(
    rule.forward.map((f) => f.weight),
    [100, 0],
  );
  assert.equal(specItem(sim, 'demo')!.generation, 1, 'the reconciler did not touch the spec');
});
