import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpecStorePort } from '../controller/ports/store.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';
import { validateSite } from '../controller/spec/validate.ts';
import {
  demoDocument,
  newSim,
  pass,
  simNow,
  specItem,
  storeSpec,
  T0,
  TICK_MS,
  type RoundReport,
} from './support/world.ts';

/** Each region's pass at minute `m` of the world's clock, then a minute passes for the simulated cloud. */
async function passAt(sim: SimulatedCloud, m: number): Promise<RoundReport> {
  assert.equal(sim.now(), T0 + m * TICK_MS, `the simulated cloud is at minute ${m}`);
  const report = await pass(sim);
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

test('load above the target raises the region’s tasks; when it stops they return to minTasks after the scale-in gate', async () => {
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
  // The recommendation of 5 ended at minute 4; scale-in waits three 300 s windows from then.
  for (let m = 4; m <= 18; m += 1) {
    const held = await passAt(sim, m);
    assert.equal(desiredTasks(sim, 'us-east-1'), 5, `minute ${m}: inside the gate`);
    assert.equal(
      held.statuses.get('demo')!.regions['us-east-1']!.scaling!.decision.reason,
      'ScaleInStabilizing',
    );
  }
  await passAt(sim, 19);
  assert.equal(desiredTasks(sim, 'us-east-1'), 3, 'back to minTasks once the gate has passed');
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
  const restored: number[] = [];
  for (let m = 12; m <= 30; m += 1) {
    await passAt(sim, m);
    if (desiredTasks(sim, 'eu-west-1') === 3) restored.push(m);
  }
  // Its own recommendation of 8 ended at minute 7: scale-in waits three 300 s windows from then.
  assert.equal(restored[0], 22, 'restored to its own demand after a healthy window and the scale-in gate');
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

test('a 5xx share fails a region only from 20 requests a minute: 19 failed requests are noise, 20 are not', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, stableOnly()); // failoverErrorPercent 50 by default
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);

  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 19, errors5xxPerMinute: 19 });
  const quiet = await passAt(sim, 3);
  assert.equal(quiet.statuses.get('demo')!.conditions.FailoverActive, undefined, 'every one of 19 failed');
  assert.equal(quiet.statuses.get('demo')!.regions['us-east-1']!.scaling!.failingSince, undefined);

  sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: 23, errors5xxPerMinute: 12 });
  const failing = await passAt(sim, 4);
  assert.equal(failing.statuses.get('demo')!.conditions.FailoverActive?.status, 'True', '12 of 23 is 52 %');
});

test('the canary analysis judges the worst region’s p95: one slow region fails the checks while the other is fast', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, analysisSpec('manual')); // maxP95LatencyMs 500 by default, threshold 2
  const canaryStates: string[] = [];
  for (let m = 0; m < 6; m += 1) {
    sim.setTraffic('us-east-1', 'demo-canary', {
      requestsPerMinute: 300,
      errors5xxPerMinute: 0,
      p95LatencyMs: 80,
    });
    sim.setTraffic('eu-west-1', 'demo-canary', {
      requestsPerMinute: 300,
      errors5xxPerMinute: 0,
      p95LatencyMs: 900,
    });
    const canary = (await passAt(sim, m)).statuses.get('demo')!.canary!;
    canaryStates.push(`${canary.phase} ${canary.weight}`);
  }
  assert.ok(
    !canaryStates.includes('Progressing 40'),
    `never stepped past the first step: ${canaryStates.join(', ')}`,
  );
  const status = (await passAt(sim, 6)).statuses.get('demo')!;
  assert.equal(status.conditions.CanaryFailed?.status, 'True');
  assert.match(status.canary!.message, /p95 latency 900 ms is above 500 ms/);
});

test('a manual canary that passes every check is ready to promote, and the reconciler leaves the spec to a person', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, analysisSpec('manual'));
  let phase: string | undefined;
  for (let m = 0; m < 8; m += 1) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      sim.setTraffic(region, 'demo-canary', {
        requestsPerMinute: 300,
        errors5xxPerMinute: 0,
        p95LatencyMs: 80,
      });
    }
    phase = (await passAt(sim, m)).statuses.get('demo')!.canary!.phase;
  }
  assert.equal(phase, 'Succeeded', 'the same traffic that promote: auto promotes');
  assert.equal(specItem(sim, 'demo')!.generation, 1, 'the reconciler did not touch the spec');
  assert.deepEqual(specItem(sim, 'demo')!.document, analysisSpec('manual'));
});

/**
 * Minutes of a healthy canary under promote: auto until the spec changes (at most 8); `afterRead` runs
 * in each region's pass at the given minute, right after the pass read the specs.
 */
async function healthyCanaryUntilPromoted(
  sim: SimulatedCloud,
  afterRead?: { minute: number; run: () => Promise<void> },
): Promise<number> {
  for (let m = 0; m < 8; m += 1) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      sim.setTraffic(region, 'demo-canary', {
        requestsPerMinute: 300,
        errors5xxPerMinute: 0,
        p95LatencyMs: 80,
      });
    }
    await reconcileRound({
      platform: sim.platform,
      now: simNow(sim),
      portsOf: (region) => {
        const ports = sim.ports(region);
        if (afterRead?.minute !== m) return ports;
        const store: SpecStorePort = {
          ...ports.store,
          listSpecs: async () => {
            const specs = await ports.store.listSpecs();
            await afterRead.run();
            return specs;
          },
        };
        return { ...ports, store };
      },
    });
    sim.tick();
    if (specItem(sim, 'demo')!.generation !== 1) return m;
  }
  throw new Error('the canary was not promoted within 8 minutes');
}

test('auto-promotion never overwrites a person’s edit made while the pass ran: the edit wins', async () => {
  // The minute the canary is promoted when nobody edits.
  const twin = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(twin, analysisSpec('auto'));
  const minute = await healthyCanaryUntilPromoted(twin);
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, analysisSpec('auto'));
  const edit = analysisSpec('auto');
  edit.spec.canary = {
    tag: 'v3',
    analysis: { stepWeight: 20, maxWeight: 40, threshold: 2, promote: 'auto' },
  };
  let edits = 0;
  // In that minute a person applies an edit after the passes read the spec, before the promotion.
  await healthyCanaryUntilPromoted(sim, {
    minute,
    run: async () => {
      if (edits > 0) return;
      edits += 1;
      await sim.storeIn('us-east-1').putSpec('demo', edit, 1);
    },
  });
  assert.equal(edits, 1);
  assert.equal(specItem(sim, 'demo')!.generation, 2, 'one write: the person’s');
  assert.deepEqual(specItem(sim, 'demo')!.document, edit);
});
