import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceState } from '../controller/ports/ecs.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { circuitBreakerThreshold } from '../controller/providers/sim/ecs.ts';
import { demoDocument, newSim, pass, storeSpec, type RoundReport } from './support/world.ts';

/**
 * The simulated cloud failing as AWS does (a deployment ECS's circuit breaker
 * gives up on, tasks that crash and are replaced, target health that lags),
 * and the reconciler over it: it reports what failed, and does not act on
 * what ECS is already repairing.
 */

const T0 = Date.parse('2026-11-28T00:00:00Z');
const REGIONS = ['us-east-1', 'eu-west-1'];
const IMAGE = 'public.ecr.aws/tandem/site';

/** Each region's pass at minute `m`, then a minute passes for the simulated cloud. */
async function passAt(sim: SimulatedCloud, m: number): Promise<RoundReport> {
  const report = await pass(sim, { now: () => new Date(T0 + m * 60_000) });
  sim.tick();
  return report;
}

function serviceIn(sim: SimulatedCloud, region: string, name: string): ServiceState {
  const service = sim.world.regions[region]!.services[name];
  assert.ok(service, `${name} in ${region}`);
  return service;
}

/** CloudWatch's HealthyHostCount for a target group, as the metrics port answers it. */
async function healthyHosts(sim: SimulatedCloud, region: string, group: string): Promise<number | undefined> {
  const tg = Object.values(sim.world.regions[region]!.targetGroups).find((g) => g.name === group)!;
  const dimension = `targetgroup/${group}/${tg.arn.split('/').at(-1)}`;
  const [series] = await sim.metrics.getMetricData(
    region,
    [
      {
        id: 'h',
        namespace: 'AWS/ApplicationELB',
        metric: 'HealthyHostCount',
        dimensions: { TargetGroup: dimension, LoadBalancer: 'app/tandem/0123456789abcdef' },
        stat: 'Average',
        periodSeconds: 60,
      },
    ],
    T0,
    T0 + 60_000,
  );
  return series?.points[0]?.value;
}

/** A site of one stable service per region, `tasks` tasks each. */
function stableSite(tasks: number, tag = 'v1') {
  const document = demoDocument();
  delete document.spec.canary;
  document.spec.image.tag = tag;
  for (const region of document.spec.regions) {
    region.minTasks = tasks;
    region.maxTasks = Math.max(tasks, 4);
  }
  return document;
}

/** Deployments (UpdateService with a task definition) sent in a round. */
function deploys(report: RoundReport) {
  return report.sites.flatMap((s) =>
    (s.plan?.actions ?? []).filter((a) => a.kind === 'UpdateService' && a.taskDefinition !== undefined),
  );
}

test("the circuit breaker's threshold is half the desired count, at least 3 and at most 200", () => {
  assert.deepEqual([1, 2, 6, 7, 10, 400, 1000].map(circuitBreakerThreshold), [3, 3, 3, 4, 5, 200, 200]);
});

test('a deployment whose tasks never become healthy stays in progress until as many tasks failed as the threshold, then rolls back', async () => {
  const sim = newSim(REGIONS);
  await storeSpec(sim, stableSite(1));
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);
  const working = serviceIn(sim, 'us-east-1', 'demo-stable').taskDefinition;

  sim.failTasksOf(`${IMAGE}:v2-broken`);
  await storeSpec(sim, stableSite(1, 'v2-broken'));
  await pass(sim, { now: () => new Date(T0 + 3 * 60_000) });
  const broken = serviceIn(sim, 'us-east-1', 'demo-stable').taskDefinition;
  assert.notEqual(broken, working);
  // One task a minute fails; the threshold for 1 desired task is 3.
  for (let tick = 1; tick <= 2; tick += 1) {
    sim.tick();
    const service = serviceIn(sim, 'us-east-1', 'demo-stable');
    assert.deepEqual(
      [service.taskDefinition, service.rolloutInProgress, service.failedRollout, service.runningCount],
      [broken, true, undefined, 1],
      `after ${tick} failed task(s) the deployment goes on; the old task serves`,
    );
  }
  sim.tick();
  const rolledBack = serviceIn(sim, 'us-east-1', 'demo-stable');
  assert.equal(rolledBack.taskDefinition, working, 'the third failed task trips the circuit breaker');
  assert.deepEqual(rolledBack.failedRollout, {
    taskDefinition: broken,
    reason: 'ECS deployment circuit breaker: tasks failed to start.',
  });
  assert.deepEqual(rolledBack.deploymentFamilies, [working, broken]);
});

test('tasks that crash dip the running count for an interval while ECS starts their replacements', async () => {
  const sim = newSim(REGIONS);
  await storeSpec(sim, stableSite(3));
  for (let m = 0; m < 3; m += 1) await passAt(sim, m);
  sim.crashTasksOf(`${IMAGE}:v1`, { tasks: 1, everyTicks: 2 });
  const seen: [number, number][] = [];
  for (let i = 0; i < 4; i += 1) {
    sim.tick();
    const service = serviceIn(sim, 'us-east-1', 'demo-stable');
    seen.push([service.runningCount, service.pendingCount]);
    assert.equal(service.rolloutInProgress, false, 'a replaced task is no deployment');
  }
  // world.ticks runs on from 3: ticks 4 and 6 crash a task, 5 and 7 run its replacement.
  assert.deepEqual(seen, [
    [2, 1],
    [3, 0],
    [2, 1],
    [3, 0],
  ]);
});

test("lagging target health: a new task's target is initial for interval × healthy threshold, and a deployment completes only once its tasks are healthy", async () => {
  const sim = newSim(REGIONS);
  sim.lagTargetHealth({ intervalSeconds: 30, healthyThresholdCount: 5 }); // ELB's defaults: 150 s, 3 ticks
  await storeSpec(sim, stableSite(2));
  await passAt(sim, 0); // creates everything; the services' tasks start at the tick after
  const seen: [boolean, number, number | undefined][] = [];
  for (let m = 1; m < 5; m += 1) {
    const service = serviceIn(sim, 'us-east-1', 'demo-stable');
    seen.push([
      service.rolloutInProgress,
      service.runningCount,
      await healthyHosts(sim, 'us-east-1', 'demo-stable'),
    ]);
    sim.tick();
  }
  assert.deepEqual(seen, [
    [true, 2, 0],
    [true, 2, 0],
    [true, 2, 0],
    [false, 2, 2],
  ]);
});

test('the reconciler over a failing image: one deployment, Reconciling while ECS tries, then Degraded and Stalled with ECS’s reason, no deployment sent again; a new generation tries again', async () => {
  const sim = newSim(REGIONS);
  await storeSpec(sim, stableSite(1));
  let m = 0;
  for (; m < 3; m += 1) await passAt(sim, m);

  sim.failTasksOf(`${IMAGE}:v2-broken`);
  await storeSpec(sim, stableSite(1, 'v2-broken'));
  const rounds: RoundReport[] = [];
  for (let i = 0; i < 8; i += 1, m += 1) rounds.push(await passAt(sim, m));
  assert.equal(
    rounds.flatMap(deploys).length,
    REGIONS.length,
    'one UpdateService with the broken task definition per region, never again',
  );
  const during = rounds[1]!.statuses.get('demo')!;
  assert.equal(during.conditions.Stalled?.status, 'False', 'ECS is still trying: not stalled yet');
  assert.equal(during.conditions.Ready?.status, 'False');

  const after = rounds.at(-1)!.statuses.get('demo')!;
  assert.equal(after.conditions.Stalled?.status, 'True');
  assert.equal(after.conditions.Stalled?.reason, 'RolloutFailed');
  assert.match(after.conditions.Stalled!.message, /ECS deployment circuit breaker: tasks failed to start/);
  assert.equal(after.conditions.Degraded?.status, 'True');
  for (const region of REGIONS) assert.equal(after.regions[region]?.degraded?.reason, 'RolloutFailed');
  sim.resetCalls();
  const steady = await passAt(sim, m++);
  assert.equal(sim.cloudWrites().length, 0, 'the pass after writes nothing to the cloud');
  assert.equal(steady.statusWrites, 0, 'and the status is steady');

  await storeSpec(sim, stableSite(1, 'v3'));
  const retry = await passAt(sim, m++);
  assert.equal(deploys(retry).length, REGIONS.length, 'a new generation deploys its task definition');
  let ready = retry;
  for (let i = 0; i < 3; i += 1) ready = await passAt(sim, m++);
  const view = ready.statuses.get('demo')!;
  assert.equal(view.conditions.Ready?.status, 'True');
  assert.equal(view.conditions.Stalled?.status, 'False');
  assert.ok(serviceIn(sim, 'us-east-1', 'demo-stable').runningCount >= 1);
});

test('crashing tasks, stable and canary, make no cloud write and no scale change: ECS replaces them', async () => {
  const sim = newSim(REGIONS);
  await storeSpec(sim, demoDocument()); // 3 tasks a region: 2 stable, 1 canary
  let m = 0;
  for (; m < 4; m += 1) await passAt(sim, m);
  const desired = () =>
    REGIONS.map((r) => ['demo-stable', 'demo-canary'].map((s) => serviceIn(sim, r, s).desiredCount));
  const before = desired();
  // Demand 5 % above 3 tasks' target: within the 10 % tolerance with 3 tasks, far outside it with 2.
  for (const region of REGIONS) {
    sim.setTraffic(region, 'demo-stable', { requestsPerMinute: 1600, cpuPercent: 40 });
    sim.setTraffic(region, 'demo-canary', { requestsPerMinute: 290, cpuPercent: 40 });
  }
  await passAt(sim, m++);
  await passAt(sim, m++);
  assert.deepEqual(desired(), before, 'demand within tolerance');

  sim.crashTasksOf(`${IMAGE}:v1`, { tasks: 1, everyTicks: 2 });
  sim.crashTasksOf(`${IMAGE}:v2`, { tasks: 1, everyTicks: 3 });
  sim.resetCalls();
  let dips = 0;
  for (let i = 0; i < 12; i += 1) {
    dips += Number(serviceIn(sim, 'us-east-1', 'demo-canary').runningCount === 0);
    const report = await passAt(sim, m++);
    const view = report.statuses.get('demo')!;
    assert.equal(view.conditions.FailoverActive?.status ?? 'False', 'False', `pass ${i}: no failover`);
  }
  assert.ok(dips > 0, 'passes saw the canary with no running task');
  assert.deepEqual(
    sim.cloudWrites().map((c) => `${c.region} ${c.operation}`),
    [],
    'no cloud write while ECS replaces crashed tasks',
  );
  assert.deepEqual(desired(), before, 'no scale change');
});

test('lagging target health makes the reconciler flip nothing: no failover, no weight moved, no write once converged', async () => {
  const sim = newSim(REGIONS);
  sim.lagTargetHealth({ intervalSeconds: 30, healthyThresholdCount: 5 });
  await storeSpec(sim, demoDocument());
  let m = 0;
  const rounds: RoundReport[] = [];
  for (; m < 8; m += 1) rounds.push(await passAt(sim, m));
  // A rollout of a new canary image and a scale-out both start tasks whose targets are initial.
  const document = demoDocument();
  document.spec.canary!.tag = 'v3';
  await storeSpec(sim, document);
  for (const region of REGIONS) sim.setTraffic(region, 'demo-stable', { requestsPerMinute: 3000 });
  for (let i = 0; i < 8; i += 1, m += 1) rounds.push(await passAt(sim, m));
  for (const [i, round] of rounds.entries()) {
    const view = round.statuses.get('demo')!;
    assert.equal(view.conditions.FailoverActive?.status ?? 'False', 'False', `round ${i}: no failover`);
    for (const region of REGIONS) {
      assert.equal(view.regions[region]?.scaling?.unhealthySince, undefined, `round ${i} ${region}`);
      assert.equal(
        view.regions[region]?.scaling?.carrying,
        undefined,
        `round ${i} ${region}: carries nothing`,
      );
    }
  }
  const ruleWrites = rounds.flatMap((r) =>
    r.sites.flatMap((s) => (s.plan?.actions ?? []).filter((a) => a.kind === 'ModifyRule')),
  );
  assert.ok(ruleWrites.length <= REGIONS.length, `the rule is not flipped: ${ruleWrites.length} ModifyRule`);
  sim.resetCalls();
  await passAt(sim, m++);
  assert.deepEqual(
    sim.cloudWrites().map((c) => c.operation),
    [],
    'converged: no write',
  );
});
