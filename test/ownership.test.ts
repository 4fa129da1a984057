import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEALTH_RULE_PRIORITY } from '../controller/model/dns-failover.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { observe } from '../controller/reconcile/observe.ts';
import { converge, demoDocument, newSim, pass, siteView, specItem, storeSpec } from './support/world.ts';

/** Resources someone else made under the names tandem would use for site "demo". */
function addLookalikes(sim: SimulatedCloud): void {
  const east = sim.world.regions['us-east-1']!;
  const tgArn = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/demo-canary/human';
  east.targetGroups[tgArn] = {
    arn: tgArn,
    name: 'demo-canary',
    port: 80,
    healthCheckPath: '/',
    vpcId: 'vpc-x',
    tags: { team: 'web' },
  };
  east.services['demo-stable'] = {
    name: 'demo-stable',
    arn: 'arn:aws:ecs:us-east-1:000000000000:service/tandem/demo-stable',
    status: 'ACTIVE',
    taskDefinition: 'hand-made',
    deploymentFamilies: ['hand-made'],
    desiredCount: 5,
    runningCount: 5,
    pendingCount: 0,
    rolloutInProgress: false,
    targetGroupArn: tgArn,
    // Tagged, but for another site: still not demo's.
    tags: { 'tandem:managed-by': 'tandem', 'tandem:site': 'other' },
  };
  const ruleArn = `${sim.platform.regions['eu-west-1']!.listenerArn.replace(':listener/', ':listener-rule/')}/human`;
  sim.world.regions['eu-west-1']!.rules[ruleArn] = {
    arn: ruleArn,
    listenerArn: sim.platform.regions['eu-west-1']!.listenerArn,
    priority: 1,
    header: { name: sim.platform.originHeaderName, values: [`demo.${sim.platform.originSecret}`] },
    forward: [],
    tags: {},
  };
  sim.world.regions['eu-west-1']!.taskDefinitions.push({
    family: 'tandem-demo-0123456789ab',
    revision: 1,
    arn: 'arn:aws:ecs:eu-west-1:000000000000:task-definition/tandem-demo-0123456789ab:1',
    spec: {
      family: 'tandem-demo-0123456789ab',
      image: 'x',
      cpu: 256,
      memory: 512,
      architecture: 'X86_64',
      containerPort: 80,
      healthCheckPath: '/',
      readOnlyRootFilesystem: false,
      environment: {},
      executionRoleArn: '',
      taskRoleArn: '',
      logGroup: '',
    },
    tags: {},
    active: true,
  });
  sim.world.distributions['EHUMAN'] = {
    id: 'EHUMAN',
    arn: 'arn:aws:cloudfront::000000000000:distribution/EHUMAN',
    domainName: 'dhuman.cloudfront.sim',
    status: 'Deployed',
    etag: 'E1',
    config: {
      ...structuredClone(Object.values(sim.world.distributions)[0]?.config ?? emptyConfig()),
      comment: 'tandem site demo',
      enabled: true,
    },
    tags: {},
  };
}

function emptyConfig() {
  return {
    comment: '',
    enabled: true,
    aliases: [],
    priceClass: 'PriceClass_100' as const,
    origins: [],
    targetOriginId: 'x',
    viewerProtocolPolicy: 'redirect-to-https' as const,
    defaultTtlSeconds: 0,
  };
}

function lookalikes(sim: SimulatedCloud) {
  return {
    tg: Object.values(sim.world.regions['us-east-1']!.targetGroups).find((t) => t.arn.endsWith('/human')),
    service: sim.world.regions['us-east-1']!.services['demo-stable'],
    rule: Object.values(sim.world.regions['eu-west-1']!.rules).find((r) => r.arn.endsWith('/human')),
    td: sim.world.regions['eu-west-1']!.taskDefinitions.find((t) => t.family === 'tandem-demo-0123456789ab'),
    distribution: sim.world.distributions['EHUMAN'],
  };
}

test('resources without tandem’s tags for the site are never changed or deleted, even under its names', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  addLookalikes(sim);
  const before = structuredClone(lookalikes(sim));
  await storeSpec(sim, demoDocument());

  for (let i = 0; i < 4; i += 1) {
    await pass(sim);
    sim.tick();
  }
  assert.deepEqual(lookalikes(sim), before);

  const status = siteView(sim, 'demo')!;
  assert.equal(status.conditions.Stalled?.reason, 'OwnershipConflict');
  assert.match(
    status.regions['us-east-1']!.degraded!.message,
    /ECS service demo-stable exists without tandem's tags/,
  );
  assert.match(status.regions['us-east-1']!.degraded!.message, /target group demo-canary/);
  assert.equal(status.regions['eu-west-1']!.degraded, undefined, 'the other region converges');
  assert.equal(
    Object.values(sim.world.regions['eu-west-1']!.services).filter((s) => s.status === 'ACTIVE').length,
    2,
  );
  assert.ok(
    Object.values(sim.world.regions['eu-west-1']!.rules).some((r) => r.tags['tandem:site'] === 'demo'),
    'demo gets its own rule',
  );
  assert.equal(
    Object.values(sim.world.distributions).filter((d) => d.tags['tandem:site'] === 'demo').length,
    1,
  );
});

test('deleting a site leaves resources it does not own', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  addLookalikes(sim); // replaces demo's own stable service with another site's
  const before = structuredClone(lookalikes(sim));

  await sim.store.deleteSpec('demo', specItem(sim, 'demo')!.generation);
  for (let i = 0; i < 5; i += 1) {
    await pass(sim);
    sim.tick();
  }
  assert.deepEqual(lookalikes(sim), before);
  assert.ok(before.service && before.tg && before.rule && before.td && before.distribution);
  const owned = Object.values(sim.world.regions).flatMap((r) => [
    ...Object.values(r.targetGroups),
    ...Object.values(r.rules),
  ]);
  assert.equal(
    owned.filter((r) => r.tags['tandem:site'] === 'demo').length,
    0,
    "demo's own resources are gone",
  );
});

test("the platform stack's health rule (no header, no tags, the last priority) is never changed or deleted, and no site's rule takes its priority, even before the rule exists", async () => {
  const before = newSim(['us-east-1']);
  const observation = await observe(before.ports(), before.platform, {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now: Date.now(),
  });
  assert.ok(
    observation.takenPriorities['us-east-1']!.has(HEALTH_RULE_PRIORITY),
    'taken with no rule at it: a domain turned on later puts the health rule there',
  );

  const sim = newSim(['us-east-1', 'eu-west-1']);
  const healthRules = () =>
    Object.values(sim.world.regions).flatMap((r) =>
      Object.values(r.rules).filter((rule) => rule.arn.endsWith('/health')),
    );
  for (const [region, where] of Object.entries(sim.platform.regions)) {
    const arn = `${where.listenerArn.replace(':listener/', ':listener-rule/')}/health`;
    sim.world.regions[region]!.rules[arn] = {
      arn,
      listenerArn: where.listenerArn,
      priority: HEALTH_RULE_PRIORITY,
      // What DescribeRules reads of a rule with only method and path conditions (aws/load-balancer.ts).
      header: { name: '', values: [] },
      forward: [],
      tags: {},
    };
  }
  const planted = structuredClone(healthRules());
  assert.equal(planted.length, 2);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  assert.deepEqual(healthRules(), planted, 'while the site runs');
  const demoRules = Object.values(sim.world.regions).flatMap((r) =>
    Object.values(r.rules).filter((rule) => rule.tags['tandem:site'] === 'demo'),
  );
  assert.equal(demoRules.length, 2);
  assert.ok(demoRules.every((rule) => rule.priority !== HEALTH_RULE_PRIORITY));
  await sim.store.deleteSpec('demo', specItem(sim, 'demo')!.generation);
  await converge(sim);
  assert.deepEqual(healthRules(), planted, 'once the site is deleted');
});
