import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../controller/errors.ts';
import type { Tags } from '../controller/model/tags.ts';
import type { Ports } from '../controller/ports/index.ts';
import { withTaskDefinitionTagCache } from '../controller/ports/task-definition-tags.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { reconcilePass } from '../controller/reconcile/pass.ts';
import { converge, demoDocument, newSim, simNow, statusItem, storeSpec } from './support/world.ts';

/**
 * The simulated cloud records the calls the AWS adapters make for each port
 * call, so tests and the reconcile benchmark count what AWS would see.
 * Reading task definitions costs what it costs on AWS: ListTaskDefinitions
 * lists every ACTIVE task definition of the region (ECS has no prefix filter),
 * ARNs only, and each of the sites' is described for its tags, in a fresh
 * Lambda environment; a warm one has them already.
 */

const REGION = 'us-east-1';

async function passIn(sim: SimulatedCloud, ports: Ports): Promise<void> {
  await reconcilePass({ ports, platform: sim.platform, region: REGION, now: simNow(sim) });
}

function operations(sim: SimulatedCloud, operation: string): number {
  return sim.calls.filter((c) => c.operation === operation && c.region === REGION).length;
}

test('a fresh environment describes each of the sites’ task definitions once, others never; a warm one describes none', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  // Someone else's task definitions share the region: listed (there is no prefix filter), never described.
  const foreign = sim.world.regions[REGION]!.taskDefinitions[0]!;
  for (let i = 0; i < 150; i += 1) {
    const family = `other-app-${i}`;
    sim.world.regions[REGION]!.taskDefinitions.push({
      ...structuredClone(foreign),
      family,
      revision: 1,
      arn: foreign.arn.replace(/task-definition\/.*$/, `task-definition/${family}:1`),
      tags: {},
    });
  }
  const ours = sim.world.regions[REGION]!.taskDefinitions.filter(
    (td) => td.active && td.family.startsWith('tandem-'),
  );
  assert.equal(ours.length, 2, 'stable and canary');

  const cache = new Map<string, Tags>();
  const environment = (): Ports => {
    const ports = sim.ports(REGION);
    return { ...ports, ecs: withTaskDefinitionTagCache(ports.ecs, cache) };
  };
  sim.resetCalls();
  await passIn(sim, environment());
  assert.equal(operations(sim, 'ListTaskDefinitions'), 2, '152 task definitions: two pages of 100');
  assert.equal(
    operations(sim, 'DescribeTaskDefinition'),
    ours.length,
    'fresh: one per task definition of ours',
  );

  sim.resetCalls();
  await passIn(sim, environment());
  assert.equal(operations(sim, 'ListTaskDefinitions'), 2);
  assert.equal(operations(sim, 'DescribeTaskDefinition'), 0, 'warm: none');

  sim.resetCalls();
  await passIn(sim, sim.ports(REGION));
  assert.equal(operations(sim, 'DescribeTaskDefinition'), ours.length, 'without the cache, every pass');
});

test('the simulated ListTaskDefinitions answers as ECS does: ARNs of every family, a family matched whole', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const page = await sim.ecs.listTaskDefinitions(REGION);
  assert.ok(page.items.length > 0);
  for (const item of page.items) assert.deepEqual(Object.keys(item).sort(), ['arn', 'family', 'revision']);
  const family = page.items[0]!.family;
  assert.deepEqual(
    (await sim.ecs.listTaskDefinitions(REGION, { family })).items.map((td) => td.family),
    [family],
  );
  assert.deepEqual((await sim.ecs.listTaskDefinitions(REGION, { family: 'tandem-' })).items, []);
});

test('creating a target group is two calls, as the AWS adapter makes them: CreateTargetGroup, then ModifyTargetGroupAttributes', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const settings = { name: 'demo-stable', port: 8080, healthCheckPath: '/healthz' };
  await sim.loadBalancer.createTargetGroup(REGION, `vpc-${REGION}`, settings, {});
  assert.deepEqual(
    sim.calls.map((c) => `${c.operation}${c.write ? ' (write)' : ''}`),
    ['CreateTargetGroup (write)', 'ModifyTargetGroupAttributes (write)'],
  );

  // If the second call fails the adapter deletes the group again (here the process stopped, so that fails too).
  sim.resetCalls();
  sim.crashAfterWrites(1);
  await assert.rejects(
    sim.loadBalancer.createTargetGroup(REGION, `vpc-${REGION}`, { ...settings, name: 'demo-canary' }, {}),
  );
  sim.recover();
  assert.deepEqual(
    sim.calls.map((c) => `${c.operation} ${c.error ?? 'ok'}`),
    ['CreateTargetGroup ok', 'ModifyTargetGroupAttributes Unavailable', 'DeleteTargetGroup Unavailable'],
  );
});

test('a cold start whose DescribeTaskDefinition stays throttled still observes the region: nothing fails, and a task definition is deregistered only once its tags are read', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  await passIn(sim, sim.ports(REGION)); // the status settles
  // A second revision of the stable family: the first is now the site's to deregister.
  const stable = sim.world.regions[REGION]!.services['demo-stable']!.taskDefinition;
  const first = sim.world.regions[REGION]!.taskDefinitions.find((td) => td.family === stable)!;
  await sim.ecs.registerTaskDefinition(REGION, first.spec, first.tags);

  const throttled = (): Ports => {
    const ports = sim.ports(REGION);
    return {
      ...ports,
      ecs: {
        ...ports.ecs,
        describeTaskDefinitionTags: (_region, arn) =>
          Promise.reject(new CloudError('Throttled', arn, 'Rate exceeded')),
      },
    };
  };
  const before = statusItem(sim, 'demo', REGION)?.revision;
  sim.resetCalls();
  const report = await reconcilePass({
    ports: throttled(),
    platform: sim.platform,
    region: REGION,
    now: simNow(sim),
  });
  assert.equal(report.sites[0]!.observed?.regions[REGION]?.error, undefined, 'the region was observed');
  assert.equal(operations(sim, 'DeregisterTaskDefinition'), 0, 'tags unknown: not proven ours');
  assert.equal(statusItem(sim, 'demo', REGION)?.revision, before, 'the status is unchanged');

  await passIn(sim, sim.ports(REGION));
  assert.equal(operations(sim, 'DeregisterTaskDefinition'), 1, 'read, proven ours, deregistered');
  assert.equal(first.active, false);
});
