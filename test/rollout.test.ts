import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedRollouts } from '../controller/decide/rollout.ts';
import type { ServiceState } from '../controller/ports/ecs.ts';

const OLD = 'tandem-demo-aaaaaaaaaaaa';
const BROKEN = 'tandem-demo-bbbbbbbbbbbb';
const FIXED = 'tandem-demo-cccccccccccc';
const REASON = 'ECS deployment circuit breaker: tasks failed to start.';

function service(overrides: Partial<ServiceState> = {}): ServiceState {
  return {
    name: 'demo-stable',
    arn: 'arn:svc',
    status: 'ACTIVE',
    taskDefinition: OLD,
    deploymentFamilies: [OLD],
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    rolloutInProgress: false,
    tags: {},
    ...overrides,
  };
}

const rollingBack = service({
  deploymentFamilies: [OLD, BROKEN],
  rolloutInProgress: true,
  failedRollout: { taskDefinition: BROKEN, reason: REASON },
});
const remembered = { service: 'demo-stable', taskDefinition: BROKEN, reason: REASON, since: 1000 };

test('a deployment ECS lists as FAILED is recorded when the spec wants its task definition', () => {
  assert.deepEqual(failedRollouts([rollingBack], undefined, new Set([BROKEN]), 1000), [remembered]);
});

test('a recorded failure outlives the failed deployment, which ECS stops listing once the rollback completes', () => {
  assert.deepEqual(failedRollouts([service()], [remembered], new Set([BROKEN]), 5000), [remembered]);
  assert.deepEqual(
    failedRollouts([rollingBack], [remembered], new Set([BROKEN]), 5000),
    [remembered],
    'seen again, it keeps the time it was first seen (a steady status)',
  );
});

test('a spec that wants another task definition drops the failure, so that one is deployed', () => {
  assert.deepEqual(failedRollouts([service()], [remembered], new Set([FIXED]), 5000), []);
  assert.deepEqual(failedRollouts([rollingBack], undefined, new Set([FIXED]), 5000), []);
});

test('a failure is dropped once a service runs that task definition to completion after all', () => {
  const running = service({ taskDefinition: BROKEN, deploymentFamilies: [BROKEN] });
  assert.deepEqual(failedRollouts([running], [remembered], new Set([BROKEN]), 5000), []);
  const stuck = service({
    taskDefinition: BROKEN,
    deploymentFamilies: [BROKEN],
    runningCount: 0,
    failedRollout: { taskDefinition: BROKEN, reason: REASON },
  });
  assert.deepEqual(
    failedRollouts([stuck], [remembered], new Set([BROKEN]), 5000),
    [remembered],
    'a service left on its failed deployment does not run it',
  );
});

test('several failed task definitions are listed by name, whatever order the services come in', () => {
  const A = 'tandem-demo-111111111111';
  const Z = 'tandem-demo-999999999999';
  const canary = service({ name: 'demo-canary', failedRollout: { taskDefinition: A, reason: REASON } });
  const stable = service({ failedRollout: { taskDefinition: Z, reason: REASON } });
  const expected = [
    { service: 'demo-canary', taskDefinition: A, reason: REASON, since: 1000 },
    { service: 'demo-stable', taskDefinition: Z, reason: REASON, since: 1000 },
  ];
  for (const services of [
    [stable, canary],
    [canary, stable],
  ]) {
    assert.deepEqual(failedRollouts(services, undefined, new Set([A, Z]), 1000), expected);
  }
});
