import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitTasks } from '../controller/decide/capacity.ts';
import { CloudError } from '../controller/errors.ts';
import type { ObservedRegion } from '../controller/model/observed.ts';
import type { ServiceState } from '../controller/ports/ecs.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import { planCdn } from '../controller/plan/cdn.ts';
import { desiredSite, siteTaskDefinitions } from '../controller/plan/desired.ts';
import { taskDefinitionFamily } from '../controller/model/naming.ts';
import { planRegion } from '../controller/plan/region.ts';
import { planSite, priorityAllocator } from '../controller/plan/site.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import { demoDocument, valid } from './support/world.ts';

test('tasks split between stable and canary by weight, the canary keeping at least one task while weighted, never above maxTasks', () => {
  const cases: [total: number, weight: number, max: number, stable: number, canary: number][] = [
    [3, 0, 12, 3, 0],
    [3, 15, 12, 2, 1],
    [10, 15, 12, 8, 2],
    [10, 50, 12, 5, 5],
    [4, 99, 12, 1, 3],
    [3, 100, 12, 0, 3],
    // One task decided: the canary gets a second one, as maxTasks allows it...
    [1, 15, 2, 1, 1],
    [1, 15, 12, 1, 1],
    // ...and none when it does not (a spec the schema refuses): the stable keeps serving.
    [1, 15, 1, 1, 0],
    [1, 50, 1, 1, 0],
    [0, 15, 12, 0, 0],
    [14, 15, 12, 10, 2],
  ];
  for (const [total, weight, max, stable, canary] of cases) {
    const split = splitTasks(total, weight, max);
    assert.deepEqual(split, { stable, canary }, `${total} tasks at ${weight}%, maxTasks ${max}`);
    assert.ok(split.stable + split.canary <= max, `${total} tasks at ${weight}% exceed maxTasks ${max}`);
  }
});

const platform = simPlatform(['us-east-1', 'eu-west-1']);
const demoSite = valid(demoDocument());
const demo = desiredSite(demoSite, platform, {
  regions: Object.fromEntries(
    demoSite.spec.regions.map((r) => [
      r.name,
      {
        tasks: r.minTasks,
        scaling: { history: [], decision: { tasks: r.minTasks, reason: 'AtMinimum', message: '' } },
      },
    ]),
  ),
  canaryWeight: 15,
  failing: [],
  failoverActive: false,
});
const east = demo.regions[0]!;

function observed(overrides: Partial<ObservedRegion> = {}): ObservedRegion {
  return {
    region: 'us-east-1',
    services: [],
    targetGroups: [],
    rules: [],
    taskDefinitions: [],
    traffic: { stable: {}, canary: {} },
    ...overrides,
  };
}

test('an empty region gets task definitions, then target groups, then the rule forwarding to them, then services', () => {
  const plan = planRegion('demo', east, observed(), () => 7);
  assert.deepEqual(
    plan.actions.map((a) => a.kind),
    [
      'RegisterTaskDefinition',
      'RegisterTaskDefinition',
      'CreateTargetGroup',
      'CreateTargetGroup',
      'CreateRule',
      'CreateService',
      'CreateService',
    ],
  );
  const rule = plan.actions.find((a) => a.kind === 'CreateRule')!;
  assert.ok(rule.kind === 'CreateRule');
  assert.equal(rule.priority, 7);
  assert.deepEqual(rule.forward, [
    { targetGroup: 'demo-stable', weight: 85 },
    { targetGroup: 'demo-canary', weight: 15 },
  ]);
});

test('with an HTTPS listener next to the HTTP one, each carries one rule: a missing one is created on its listener, and a removed site loses both', () => {
  const [http, https] = ['arn:listener/http', 'arn:listener/https'];
  const tags = ownershipTags('demo');
  const rule = (listenerArn: string, priority: number) => ({
    arn: `${listenerArn}/rule/${priority}`,
    priority,
    listenerArn,
    header: east.header,
    forward: [],
    tags,
  });
  const priorities = [7, 8];
  const plan = planRegion('demo', east, observed({ listeners: [http, https], rules: [rule(http, 3)] }), () =>
    priorities.shift()!,
  );
  const creates = plan.actions.filter((a) => a.kind === 'CreateRule');
  assert.deepEqual(
    creates.map((a) => a.kind === 'CreateRule' && [a.listenerArn, a.priority]),
    [[https, 7]],
  );
  assert.ok(
    plan.actions.every((a) => a.kind !== 'DeleteRule'),
    'the HTTP rule stays',
  );

  const removed = planRegion(
    'demo',
    undefined,
    observed({ listeners: [http, https], rules: [rule(http, 3), rule(https, 4)] }),
    () => 9,
  );
  assert.deepEqual(
    removed.actions.filter((a) => a.kind === 'DeleteRule').map((a) => a.kind === 'DeleteRule' && a.arn),
    [`${http}/rule/3`, `${https}/rule/4`],
  );
});

test("the CDN reaches a region over HTTPS only when the settings ask for it, that region has an HTTPS listener, and the site's rule is on it", () => {
  const regions = platform.regions;
  const withHttps = {
    ...platform,
    originProtocol: 'https-only' as const,
    regions: {
      ...regions,
      'us-east-1': {
        ...regions['us-east-1']!,
        httpsListenerArn: `${regions['us-east-1']!.listenerArn}-https`,
        httpsOriginName: 'origin-us-east-1.example.com',
      },
    },
  };
  const protocols = (p: typeof platform, httpsRules: string[]) =>
    desiredSite(demoSite, p, {
      regions: {},
      canaryWeight: 15,
      failing: [],
      failoverActive: false,
      httpsRules,
    }).distribution.origins.map((o) => [o.id, o.protocol]);
  const both = ['eu-west-1', 'us-east-1'];
  assert.deepEqual(protocols(withHttps, both), [
    ['us-east-1', 'https-only'],
    ['eu-west-1', 'http-only'],
  ]);
  assert.deepEqual(protocols(withHttps, ['eu-west-1']), [
    ['us-east-1', 'http-only'],
    ['eu-west-1', 'http-only'],
  ]);
  assert.deepEqual(protocols({ ...withHttps, originProtocol: 'http-only' }, both), [
    ['us-east-1', 'http-only'],
    ['eu-west-1', 'http-only'],
  ]);
  assert.deepEqual(protocols({ ...platform, originProtocol: 'https-only' }, both), [
    ['us-east-1', 'http-only'],
    ['eu-west-1', 'http-only'],
  ]);
});

test('an item from before both listeners (HTTPS only, at origin-<region>.<domain>) keeps HTTPS while the settings say so', () => {
  const regions = platform.regions;
  const before = {
    ...platform,
    originProtocol: 'https-only' as const,
    regions: {
      ...regions,
      'us-east-1': { ...regions['us-east-1']!, loadBalancerDnsName: 'origin-us-east-1.example.com' },
    },
  };
  const origins = desiredSite(demoSite, before, {
    regions: {},
    canaryWeight: 15,
    failing: [],
    failoverActive: false,
  }).distribution.origins.map((o) => [o.id, o.domainName, o.protocol]);
  assert.deepEqual(origins, [
    ['us-east-1', 'origin-us-east-1.example.com', 'https-only'],
    ['eu-west-1', regions['eu-west-1']!.loadBalancerDnsName, 'http-only'],
  ]);
});

test('the CDN connects through the DNS failover names only when every region behind it has one, reached by one protocol', () => {
  const regions = platform.regions;
  const named = (p: typeof platform, region: string) => ({
    ...p.regions[region]!,
    failoverOriginName: `${region}.failover.example.com`,
  });
  const withNames = {
    ...platform,
    regions: { 'us-east-1': named(platform, 'us-east-1'), 'eu-west-1': named(platform, 'eu-west-1') },
  };
  const origins = (p: typeof platform, order?: { first: string }, httpsRules: string[] = []) =>
    desiredSite(demoSite, p, {
      regions: {},
      canaryWeight: 15,
      failing: [],
      failoverActive: false,
      httpsRules,
      ...(order === undefined
        ? {}
        : {
            originOrder: {
              primary: 'us-east-1',
              failover: 'eu-west-1',
              first: order.first,
              reason: 'PrimaryFailing',
            },
          }),
    }).distribution.origins.map((o) => [o.id, o.domainName, o.protocol]);

  assert.deepEqual(origins(withNames), [
    ['us-east-1', 'us-east-1.failover.example.com', 'http-only'],
    ['eu-west-1', 'eu-west-1.failover.example.com', 'http-only'],
  ]);
  // Reordered by the holder: each region keeps its own name.
  assert.deepEqual(origins(withNames, { first: 'eu-west-1' }), [
    ['eu-west-1', 'eu-west-1.failover.example.com', 'http-only'],
    ['us-east-1', 'us-east-1.failover.example.com', 'http-only'],
  ]);
  // One region without a name: its name could not answer for the other, so neither is used.
  const oneNamed = { ...platform, regions: { ...regions, 'us-east-1': named(platform, 'us-east-1') } };
  assert.deepEqual(origins(oneNamed), [
    ['us-east-1', regions['us-east-1']!.loadBalancerDnsName, 'http-only'],
    ['eu-west-1', regions['eu-west-1']!.loadBalancerDnsName, 'http-only'],
  ]);
  // HTTPS in one region only: a name answered by the other region would meet a listener without the rule.
  const https = (region: string) => ({
    ...named(platform, region),
    httpsListenerArn: `${regions[region]!.listenerArn}-https`,
    httpsOriginName: `origin-${region}.example.com`,
  });
  const mixed = {
    ...withNames,
    originProtocol: 'https-only' as const,
    regions: { 'us-east-1': https('us-east-1'), 'eu-west-1': https('eu-west-1') },
  };
  assert.deepEqual(origins(mixed, undefined, ['us-east-1']), [
    ['us-east-1', 'origin-us-east-1.example.com', 'https-only'],
    ['eu-west-1', regions['eu-west-1']!.loadBalancerDnsName, 'http-only'],
  ]);
  assert.deepEqual(origins(mixed, undefined, ['us-east-1', 'eu-west-1']), [
    ['us-east-1', 'us-east-1.failover.example.com', 'https-only'],
    ['eu-west-1', 'eu-west-1.failover.example.com', 'https-only'],
  ]);
});

test('a canary without a running task gets no traffic until one is up', () => {
  const tags = ownershipTags('demo');
  const group = (name: string) => ({
    arn: `arn:${name}`,
    name,
    port: 8080,
    healthCheckPath: '/healthz',
    vpcId: 'vpc',
    tags,
  });
  const service = (track: 'stable' | 'canary', running: number) => {
    const t = east.tracks.find((x) => x.track === track)!;
    return {
      name: t.service,
      arn: `arn:svc:${t.service}`,
      status: 'ACTIVE' as const,
      taskDefinition: t.taskDefinition.family,
      deploymentFamilies: [t.taskDefinition.family],
      desiredCount: t.desiredCount,
      runningCount: running,
      pendingCount: t.desiredCount - running,
      rolloutInProgress: running < t.desiredCount,
      targetGroupArn: `arn:${t.targetGroup}`,
      tags,
    };
  };
  const base = {
    targetGroups: [group('demo-stable'), group('demo-canary')],
    taskDefinitions: east.tracks.map((t) => ({
      family: t.taskDefinition.family,
      revision: 1,
      arn: `arn:td:${t.track}`,
      tags,
    })),
  };
  const weights = (canaryRunning: number) => {
    const plan = planRegion(
      'demo',
      east,
      observed({ ...base, services: [service('stable', 2), service('canary', canaryRunning)] }),
      () => 1,
    );
    const rule = plan.actions.find((a) => a.kind === 'CreateRule');
    return rule?.kind === 'CreateRule' ? rule.forward.map((f) => f.weight) : undefined;
  };
  assert.deepEqual(weights(0), [100, 0]);
  assert.deepEqual(weights(1), [85, 15]);
});

test('a task definition ECS failed to deploy is not sent again: the service stays where ECS rolled it back, its count still follows the spec', () => {
  const tags = ownershipTags('demo');
  const stable = east.tracks.find((t) => t.track === 'stable')!;
  const canary = east.tracks.find((t) => t.track === 'canary')!;
  const group = (name: string) => ({
    arn: `arn:${name}`,
    name,
    port: 8080,
    healthCheckPath: '/healthz',
    vpcId: 'vpc',
    tags,
  });
  const rolledBack = {
    name: stable.service,
    arn: `arn:svc:${stable.service}`,
    status: 'ACTIVE' as const,
    taskDefinition: 'tandem-demo-000000000000',
    deploymentFamilies: ['tandem-demo-000000000000'],
    desiredCount: stable.desiredCount + 1,
    runningCount: stable.desiredCount + 1,
    pendingCount: 0,
    rolloutInProgress: false,
    targetGroupArn: 'arn:demo-stable',
    tags,
  };
  const canaryService = {
    ...rolledBack,
    name: canary.service,
    arn: `arn:svc:${canary.service}`,
    taskDefinition: canary.taskDefinition.family,
    deploymentFamilies: [canary.taskDefinition.family],
    desiredCount: canary.desiredCount,
    runningCount: canary.desiredCount,
    targetGroupArn: 'arn:demo-canary',
  };
  const world = observed({
    services: [rolledBack, canaryService],
    targetGroups: [group('demo-stable'), group('demo-canary')],
    taskDefinitions: east.tracks.map((t) => ({
      family: t.taskDefinition.family,
      revision: 1,
      arn: `arn:td:${t.track}`,
      tags,
    })),
  });
  const updates = (desired: typeof east) =>
    planRegion('demo', desired, world, () => 1).actions.filter((a) => a.kind === 'UpdateService');

  const failed = { ...east, failedTaskDefinitions: [stable.taskDefinition.family] };
  assert.deepEqual(updates(failed), [
    {
      site: 'demo',
      region: 'us-east-1',
      kind: 'UpdateService',
      name: stable.service,
      desiredCount: stable.desiredCount,
    },
  ]);
  assert.deepEqual(
    updates(east).map((a) => (a.kind === 'UpdateService' ? a.taskDefinition : undefined)),
    [stable.taskDefinition.family],
    'without the failure, the same world is moved to the spec’s task definition',
  );
});

test('listener rule priorities are allocated lowest-free per region and never reused within a pass', () => {
  const allocate = priorityAllocator({ 'us-east-1': new Set([1, 2, 4]) });
  assert.deepEqual(
    [allocate('us-east-1'), allocate('us-east-1'), allocate('eu-west-1'), allocate('us-east-1')],
    [3, 5, 1, 6],
  );
});

test('a distribution to retire is disabled first, deleted once the disable has deployed, and left alone while deploying', () => {
  const config = { ...demo.distribution };
  const d = (id: string, enabled: boolean, status: 'InProgress' | 'Deployed') => ({
    id,
    arn: `arn:${id}`,
    domainName: `${id}.example`,
    status,
    config: { ...config, enabled },
    owned: true,
  });
  assert.deepEqual(
    planCdn('demo', undefined, { distributions: [d('E1', true, 'Deployed')] }).map((a) => a.kind),
    ['UpdateDistribution'],
  );
  assert.deepEqual(planCdn('demo', undefined, { distributions: [d('E1', false, 'InProgress')] }), []);
  assert.deepEqual(
    planCdn('demo', undefined, { distributions: [d('E1', false, 'Deployed')] }).map((a) => a.kind),
    ['DeleteDistribution'],
  );
  assert.deepEqual(planCdn('demo', config, { distributions: [d('E1', true, 'Deployed')] }), []);
  assert.deepEqual(
    planCdn('demo', config, { distributions: [d('E2', true, 'Deployed'), d('E1', true, 'Deployed')] }).map(
      (a) => `${a.kind} ${'id' in a ? a.id : ''}`,
    ),
    ['UpdateDistribution E2'],
    'the oldest is kept and the other retired',
  );
  assert.deepEqual(
    planCdn('demo', config, { distributions: [{ ...d('E1', true, 'Deployed'), owned: false }] }).map(
      (a) => a.kind,
    ),
    ['CreateDistribution'],
  );
});

test('the distribution fails over from the primary to the failover region on the spec’s codes and redirects viewers to HTTPS', () => {
  const c = demo.distribution;
  assert.deepEqual(
    c.origins.map((o) => o.id),
    ['us-east-1', 'eu-west-1'],
  );
  assert.deepEqual(c.originGroup, {
    id: 'failover-group',
    primaryOriginId: 'us-east-1',
    failoverOriginId: 'eu-west-1',
    statusCodes: [403, 404, 500, 502, 503, 504],
  });
  assert.equal(c.targetOriginId, 'failover-group');
  assert.equal(c.viewerProtocolPolicy, 'redirect-to-https');
  assert.deepEqual(
    c.origins.map((o) => [o.connectionTimeoutSeconds, o.connectionAttempts, o.responseTimeoutSeconds]),
    [
      [2, 1, 10],
      [2, 1, 10],
    ],
  );
  assert.equal(c.origins[0]!.customHeaders['X-Tandem-Origin'], 'demo.sim-secret');
});

test('task.architecture ARM64 registers an ARM64 task definition under its own family; the X86_64 default keeps the family sites had before the setting', () => {
  const x86 = siteTaskDefinitions(demoSite, platform)['us-east-1']!.stable;
  assert.equal(x86.architecture, 'X86_64');
  const { family, architecture, ...before } = x86;
  assert.equal(architecture, 'X86_64');
  assert.equal(family, taskDefinitionFamily('demo', before), 'no rollover for a setting left at its default');

  const document = demoDocument() as { spec: { task?: Record<string, unknown> } };
  document.spec.task = { ...document.spec.task, architecture: 'ARM64' };
  const arm = siteTaskDefinitions(valid(document), platform)['us-east-1']!.stable;
  assert.equal(arm.architecture, 'ARM64');
  assert.notEqual(arm.family, x86.family, 'another architecture is another task definition');
});

test("task definitions have a read-only root filesystem unless the spec says otherwise, and the spec's container health check", () => {
  const stable = siteTaskDefinitions(demoSite, platform)['us-east-1']!.stable;
  assert.equal(stable.readOnlyRootFilesystem, true, 'read-only by default');
  assert.deepEqual(stable.healthCheckCommand, ['CMD', 'node', 'healthcheck.mjs'], "demo's spec names it");

  const document = demoDocument() as { spec: { task?: Record<string, unknown> } };
  const { healthCheckCommand: _, ...task } = document.spec.task ?? {};
  document.spec.task = { ...task, readOnlyRootFilesystem: false };
  const writable = siteTaskDefinitions(valid(document), platform)['us-east-1']!.stable;
  assert.equal(writable.readOnlyRootFilesystem, false);
  assert.equal(writable.healthCheckCommand, undefined, 'no health check unless the spec names one');
  assert.notEqual(writable.family, stable.family, 'a changed setting is another family');
});

// ----- planRegion from a converged region, one difference at a time -----

const FAMILY = {
  stable: east.tracks[0]!.taskDefinition.family,
  canary: east.tracks[1]!.taskDefinition.family,
};
const owned = ownershipTags('demo');
const tgArn = (name: string) => `arn:tg/${name}`;

function runningService(
  name: string,
  family: string,
  count: number,
  over: Partial<ServiceState> = {},
): ServiceState {
  return {
    name,
    arn: `arn:svc/${name}`,
    status: 'ACTIVE',
    taskDefinition: family,
    deploymentFamilies: [family],
    desiredCount: count,
    runningCount: count,
    pendingCount: 0,
    rolloutInProgress: false,
    targetGroupArn: tgArn(name),
    tags: owned,
    ...over,
  };
}

/** us-east-1 as the demo site wants it: nothing to do. */
function converged(): ObservedRegion {
  return observed({
    taskDefinitions: east.tracks.map((t) => ({
      family: t.taskDefinition.family,
      revision: 1,
      arn: `arn:td/${t.taskDefinition.family}:1`,
      tags: owned,
    })),
    targetGroups: east.tracks.map((t) => ({
      name: t.targetGroup,
      arn: tgArn(t.targetGroup),
      port: 8080,
      vpcId: 'vpc',
      healthCheckPath: '/healthz',
      tags: owned,
    })),
    rules: [
      {
        arn: 'arn:rule/1',
        priority: 1,
        header: east.header,
        forward: east.tracks.map((t) => ({ targetGroupArn: tgArn(t.targetGroup), weight: t.weight })),
        tags: owned,
      },
    ],
    services: east.tracks.map((t) => runningService(t.service, t.taskDefinition.family, t.desiredCount)),
  });
}

test('a track the rule sends traffic to keeps it while ECS replaces its stopped tasks, and only then', () => {
  const base = converged();
  const [stable, canary] = base.services as [ServiceState, ServiceState];
  // The weights the pass writes, or 'kept' when it leaves the rule alone.
  const split = (
    stableNow: Partial<ServiceState>,
    canaryNow: Partial<ServiceState> = {},
    ruleWeights?: number[],
  ) => {
    const rules = base.rules.map((r) => ({
      ...r,
      forward: r.forward.map((f, i) => ({ ...f, weight: ruleWeights?.[i] ?? f.weight })),
    }));
    const plan = planRegion(
      'demo',
      east,
      {
        ...base,
        rules,
        services: [
          { ...stable, ...stableNow },
          { ...canary, ...canaryNow },
        ],
      },
      () => 9,
    );
    const modify = plan.actions.find((a) => a.kind === 'ModifyRule');
    return modify?.kind === 'ModifyRule' ? modify.forward.map((f) => f.weight) : 'kept';
  };
  const spec = east.tracks.map((t) => t.weight);
  // Its tasks stopped, nothing deploying, tasks asked for: ECS is replacing them; the weight stays.
  assert.equal(split({ runningCount: 0 }), 'kept');
  // Not replacing: a deployment under way, a deployment ECS failed, or no task asked for.
  assert.deepEqual(split({ runningCount: 0, rolloutInProgress: true }), [0, 100]);
  assert.deepEqual(
    split({ runningCount: 0, failedRollout: { taskDefinition: stable.taskDefinition, reason: 'failed' } }),
    [0, 100],
  );
  assert.deepEqual(split({ runningCount: 0, desiredCount: 0 }), [0, 100]);
  // A track the rule gave nothing gets nothing until a task of it runs.
  assert.deepEqual(split({}, { runningCount: 0 }, [100, 0]), 'kept');
  assert.deepEqual(split({ runningCount: 0 }, {}, [0, 100]), 'kept');
  // No track with a running task: every track keeps the spec's weight.
  assert.deepEqual(split({ runningCount: 0 }, { runningCount: 0 }, [100, 0]), spec);
  assert.ok(
    spec.every((w) => w > 0 && w < 100),
    `the spec splits: ${JSON.stringify(spec)}`,
  );
});

test('planRegion: a converged region plans nothing; each difference plans exactly its fix', () => {
  assert.deepEqual(
    planRegion('demo', east, converged(), () => 9),
    { actions: [], blockers: [] },
  );
  const scope = { site: 'demo', region: 'us-east-1' };
  const base = converged();
  const stable = base.services[0]!;
  const canary = base.services[1]!;
  const cases: { name: string; observed: ObservedRegion; actions: unknown[] }[] = [
    {
      name: 'a health check path changed',
      observed: {
        ...base,
        targetGroups: [{ ...base.targetGroups[0]!, healthCheckPath: '/old' }, base.targetGroups[1]!],
      },
      actions: [
        {
          ...scope,
          kind: 'ModifyTargetGroup',
          name: 'demo-stable',
          arn: tgArn('demo-stable'),
          healthCheckPath: '/healthz',
        },
      ],
    },
    {
      name: 'a count changed by hand',
      observed: { ...base, services: [{ ...stable, desiredCount: 5 }, canary] },
      actions: [{ ...scope, kind: 'UpdateService', name: 'demo-stable', desiredCount: 2 }],
    },
    {
      name: 'a service moved to another target group',
      observed: { ...base, services: [{ ...stable, targetGroupArn: 'arn:tg/elsewhere' }, canary] },
      actions: [
        {
          ...scope,
          kind: 'UpdateService',
          name: 'demo-stable',
          targetGroup: 'demo-stable',
          containerPort: 8080,
        },
      ],
    },
    {
      name: 'a service on another task definition',
      observed: { ...base, services: [stable, { ...canary, taskDefinition: FAMILY.stable }] },
      actions: [{ ...scope, kind: 'UpdateService', name: 'demo-canary', taskDefinition: FAMILY.canary }],
    },
    {
      name: 'a service draining after a delete is left until ECS has finished',
      observed: { ...base, services: [stable, { ...canary, status: 'DRAINING' }] },
      actions: [],
    },
    {
      name: 'an inactive service is created again, and its traffic waits for its first task',
      observed: { ...base, services: [stable, { ...canary, status: 'INACTIVE' }] },
      actions: [
        {
          ...scope,
          kind: 'ModifyRule',
          arn: 'arn:rule/1',
          header: east.header,
          forward: [
            { targetGroup: 'demo-stable', weight: 100 },
            { targetGroup: 'demo-canary', weight: 0 },
          ],
        },
        {
          ...scope,
          kind: 'CreateService',
          name: 'demo-canary',
          taskDefinition: FAMILY.canary,
          desiredCount: 1,
          targetGroup: 'demo-canary',
          containerPort: 8080,
        },
      ],
    },
    {
      name: 'the rule’s header changed',
      observed: { ...base, rules: [{ ...base.rules[0]!, header: { ...east.header, values: ['stale'] } }] },
      actions: [
        {
          ...scope,
          kind: 'ModifyRule',
          arn: 'arn:rule/1',
          header: east.header,
          forward: [
            { targetGroup: 'demo-stable', weight: 85 },
            { targetGroup: 'demo-canary', weight: 15 },
          ],
        },
      ],
    },
    {
      name: 'the rule’s header name changed',
      observed: { ...base, rules: [{ ...base.rules[0]!, header: { ...east.header, name: 'X-Other' } }] },
      actions: [
        {
          ...scope,
          kind: 'ModifyRule',
          arn: 'arn:rule/1',
          header: east.header,
          forward: [
            { targetGroup: 'demo-stable', weight: 85 },
            { targetGroup: 'demo-canary', weight: 15 },
          ],
        },
      ],
    },
    {
      name: 'a second rule: the lowest priority is kept, the other deleted',
      observed: { ...base, rules: [{ ...base.rules[0]!, arn: 'arn:rule/9', priority: 9 }, base.rules[0]!] },
      actions: [{ ...scope, kind: 'DeleteRule', arn: 'arn:rule/9' }],
    },
    {
      name: 'an older revision of a wanted family is deregistered, the newest kept',
      observed: {
        ...base,
        taskDefinitions: [
          ...base.taskDefinitions,
          { family: FAMILY.stable, revision: 2, arn: `arn:td/${FAMILY.stable}:2`, tags: owned },
        ],
      },
      actions: [
        {
          ...scope,
          kind: 'DeregisterTaskDefinition',
          family: FAMILY.stable,
          arn: `arn:td/${FAMILY.stable}:1`,
        },
      ],
    },
    {
      name: 'a family no one wants is deregistered, unless a live service still deploys it, or it is not ours',
      observed: {
        ...base,
        services: [{ ...stable, deploymentFamilies: [FAMILY.stable, 'tandem-demo-0000000000bb'] }, canary],
        taskDefinitions: [
          ...base.taskDefinitions,
          { family: 'tandem-demo-0000000000aa', revision: 3, arn: 'arn:td/old:3', tags: owned },
          { family: 'tandem-demo-0000000000bb', revision: 1, arn: 'arn:td/rb:1', tags: owned },
          { family: 'tandem-demo-0000000000cc', revision: 1, arn: 'arn:td/foreign:1', tags: {} },
          { family: 'tandem-other-0000000000aa', revision: 1, arn: 'arn:td/other:1', tags: owned },
        ],
      },
      actions: [
        {
          ...scope,
          kind: 'DeregisterTaskDefinition',
          family: 'tandem-demo-0000000000aa',
          arn: 'arn:td/old:3',
        },
      ],
    },
    {
      name: 'a service no longer wanted drains to zero first',
      observed: {
        ...base,
        services: [...base.services, runningService('demo-old', 'tandem-demo-0000000000aa', 2)],
      },
      actions: [{ ...scope, kind: 'UpdateService', name: 'demo-old', desiredCount: 0 }],
    },
    {
      name: 'a drained service still stopping tasks is waited for',
      observed: {
        ...base,
        services: [
          ...base.services,
          runningService('demo-old', 'tandem-demo-0000000000aa', 0, { pendingCount: 1 }),
        ],
      },
      actions: [],
    },
    {
      name: 'a drained service is deleted, and its target group and task definition with it',
      observed: {
        ...base,
        services: [...base.services, runningService('demo-old', 'tandem-demo-0000000000aa', 0)],
        targetGroups: [
          ...base.targetGroups,
          {
            name: 'demo-old',
            arn: tgArn('demo-old'),
            port: 8080,
            vpcId: 'vpc',
            healthCheckPath: '/',
            tags: owned,
          },
        ],
        taskDefinitions: [
          ...base.taskDefinitions,
          { family: 'tandem-demo-0000000000aa', revision: 1, arn: 'arn:td/old:1', tags: owned },
        ],
      },
      actions: [
        { ...scope, kind: 'DeleteService', name: 'demo-old' },
        { ...scope, kind: 'DeleteTargetGroup', name: 'demo-old', arn: tgArn('demo-old') },
        {
          ...scope,
          kind: 'DeregisterTaskDefinition',
          family: 'tandem-demo-0000000000aa',
          arn: 'arn:td/old:1',
        },
      ],
    },
    {
      name: 'a target group a live service still registers into is kept; a service not ours is left alone',
      observed: {
        ...base,
        services: [
          ...base.services,
          runningService('demo-old', 'tandem-demo-0000000000aa', 0, { tags: {}, runningCount: 1 }),
        ],
        targetGroups: [
          ...base.targetGroups,
          {
            name: 'demo-old',
            arn: tgArn('demo-old'),
            port: 8080,
            vpcId: 'vpc',
            healthCheckPath: '/',
            tags: owned,
          },
        ],
      },
      actions: [],
    },
  ];
  for (const c of cases) {
    const plan = planRegion('demo', east, c.observed, () => 9);
    assert.deepEqual(plan.blockers, [], c.name);
    assert.deepEqual(plan.actions, c.actions, c.name);
  }
});

test('planRegion: resources under the site’s names that are not its own block the region, each named', () => {
  const base = converged();
  const plan = planRegion(
    'demo',
    east,
    {
      ...base,
      services: [{ ...base.services[0]!, tags: {} }, base.services[1]!],
      targetGroups: [base.targetGroups[0]!, { ...base.targetGroups[1]!, tags: ownershipTags('other') }],
    },
    () => 9,
  );
  assert.deepEqual(plan, {
    actions: [],
    blockers: [
      {
        kind: 'OwnershipConflict',
        resource: 'arn:svc/demo-stable',
        message:
          "ECS service demo-stable exists without tandem's tags for site demo; tandem will not touch it. Rename or delete it.",
      },
      {
        kind: 'OwnershipConflict',
        resource: tgArn('demo-canary'),
        message:
          "target group demo-canary exists without tandem's tags for site demo; tandem will not touch it. Rename or delete it.",
      },
    ],
  });
});

test('planSite: a region that could not be observed gets no actions; the CDN only when observed without error', () => {
  const unreachable = { ...observed(), error: new CloudError('Unavailable', 'us-east-1', 'down') };
  const plan = planSite(demo, { name: 'demo', regions: { 'us-east-1': unreachable } }, () => 1);
  assert.deepEqual(plan, { actions: [], blockers: {} });
  const cdnDown = planSite(
    demo,
    {
      name: 'demo',
      regions: {},
      cdn: { distributions: [], error: new CloudError('Throttled', 'cloudfront', 'slow') },
    },
    () => 1,
  );
  assert.deepEqual(cdnDown.actions, []);
  const cdnUp = planSite(demo, { name: 'demo', regions: {}, cdn: { distributions: [] } }, () => 1);
  assert.deepEqual(
    cdnUp.actions.map((a) => a.kind),
    ['CreateDistribution'],
  );
  const blocked = planSite(
    demo,
    {
      name: 'demo',
      regions: { 'us-east-1': { ...converged(), services: [{ ...converged().services[0]!, tags: {} }] } },
    },
    () => 1,
  );
  assert.deepEqual(Object.keys(blocked.blockers), ['us-east-1']);
});

test('an ARM64 task definition’s family follows its content like any other: another image is another family', () => {
  const arm = (tag: string) => {
    const document = demoDocument() as { spec: { task?: Record<string, unknown>; image: { tag: string } } };
    document.spec.task = { ...document.spec.task, architecture: 'ARM64' };
    document.spec.image.tag = tag;
    return siteTaskDefinitions(valid(document), platform)['us-east-1']!.stable;
  };
  assert.notEqual(arm('v1').family, arm('v3').family);
  assert.equal(arm('v1').family, arm('v1').family);
});

test('a task definition without a container health check has no such field at all', () => {
  const document = demoDocument() as { spec: { task?: Record<string, unknown> } };
  const { healthCheckCommand: _, ...task } = document.spec.task ?? {};
  document.spec.task = task;
  const stable = siteTaskDefinitions(valid(document), platform)['us-east-1']!.stable;
  assert.equal('healthCheckCommand' in stable, false);
});

test('of several distributions the site owns, the lowest id is kept and the others retired, whatever order they are listed in', () => {
  const config = demo.distribution;
  const d = (id: string) => ({
    id,
    arn: `arn:${id}`,
    domainName: `${id}.cloudfront.net`,
    status: 'Deployed' as const,
    config,
    owned: true,
  });
  for (const distributions of [
    [d('E2'), d('E1'), d('E3')],
    [d('E3'), d('E1'), d('E2')],
    [d('E1'), d('E2'), d('E3')],
  ]) {
    assert.deepEqual(
      planCdn('demo', config, { distributions }).map((a) => [a.kind, 'id' in a ? a.id : undefined]),
      [
        ['UpdateDistribution', 'E2'],
        ['UpdateDistribution', 'E3'],
      ],
      distributions.map((x) => x.id).join(','),
    );
  }
});

test('a region with no failed rollout names none; one with failures names their task definitions', () => {
  assert.equal('failedTaskDefinitions' in east, false);
  const failing = desiredSite(demoSite, platform, {
    regions: {
      'us-east-1': {
        tasks: 3,
        scaling: { history: [], decision: { tasks: 3, reason: 'AtMinimum', message: '' } },
        failedRollouts: [
          { service: 'demo-canary', taskDefinition: 'tandem-demo-0000000000ff', reason: 'x', since: 1 },
        ],
      },
    },
    canaryWeight: 15,
    failing: [],
    failoverActive: false,
  });
  assert.deepEqual(failing.regions[0]!.failedTaskDefinitions, ['tandem-demo-0000000000ff']);
  assert.equal('failedTaskDefinitions' in failing.regions[1]!, false);
});

test('the distribution in full, whatever order the spec lists regions, aliases and failover codes in', () => {
  const document = demoDocument() as ReturnType<typeof demoDocument> & {
    spec: { cdn: Record<string, unknown>; regions: unknown[] };
  };
  document.spec.regions = [...document.spec.regions].reverse();
  document.spec.cdn = {
    ...document.spec.cdn,
    aliases: ['www.example.com', 'example.com'],
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
    failoverStatusCodes: [504, 403, 500],
  };
  const decisions = { regions: {}, canaryWeight: 0, failing: [], failoverActive: false };
  const origin = (region: string) => ({
    id: region,
    domainName: `tandem-${region}.elb.sim`,
    protocol: 'http-only',
    connectionTimeoutSeconds: 2,
    connectionAttempts: 1,
    responseTimeoutSeconds: 10,
    customHeaders: { 'X-Tandem-Origin': 'demo.sim-secret' },
  });
  assert.deepEqual(desiredSite(valid(document), platform, decisions).distribution, {
    comment: 'tandem site demo',
    enabled: true,
    aliases: ['example.com', 'www.example.com'],
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
    priceClass: 'PriceClass_100',
    origins: [origin('us-east-1'), origin('eu-west-1')],
    originGroup: {
      id: 'failover-group',
      primaryOriginId: 'us-east-1',
      failoverOriginId: 'eu-west-1',
      statusCodes: [403, 500, 504],
    },
    targetOriginId: 'failover-group',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 60,
  });
  assert.equal('certificateArn' in demo.distribution, false, 'no certificate unless the spec names one');
});

test('only an item from before both listeners, named origin-<region>.<domain>, keeps HTTPS without a rule on an HTTPS listener', () => {
  const decisions = { regions: {}, canaryWeight: 0, failing: [], failoverActive: false };
  const protocolOf = (
    over: Partial<NonNullable<(typeof platform.regions)[string]>>,
    originProtocol: 'https-only' | 'http-only',
  ) => {
    const east = { ...platform.regions['us-east-1']!, ...over };
    const withEast = { ...platform, originProtocol, regions: { ...platform.regions, 'us-east-1': east } };
    return desiredSite(demoSite, withEast, decisions).distribution.origins[0]!.protocol;
  };
  assert.equal(
    protocolOf({ loadBalancerDnsName: 'origin-us-east-1.example.com' }, 'https-only'),
    'https-only',
  );
  assert.equal(protocolOf({ loadBalancerDnsName: 'origin-us-east-1.example.com' }, 'http-only'), 'http-only');
  assert.equal(
    protocolOf({ loadBalancerDnsName: 'lb-origin-us-east-1.example.com' }, 'https-only'),
    'http-only',
  );
  assert.equal(
    protocolOf(
      {
        loadBalancerDnsName: 'origin-us-east-1.example.com',
        httpsListenerArn: 'arn:listener/https',
        httpsOriginName: 'origin-us-east-1.example.com',
      },
      'https-only',
    ),
    'http-only',
    'with both listeners, HTTPS waits for the rule on the HTTPS one',
  );
});

test('planRegion edges: a rule on the HTTP listener names none, a draining service is never resized, a service whose group is gone is moved to the new one, and an unweighted track that serves draws no traffic', () => {
  const base = converged();
  const create = planRegion('demo', east, { ...base, rules: [] }, () => 9).actions.find(
    (a) => a.kind === 'CreateRule',
  );
  assert.equal(create !== undefined && 'listenerArn' in create, false);

  const draining = { ...base.services[1]!, status: 'DRAINING' as const, desiredCount: 0, runningCount: 1 };
  assert.deepEqual(
    planRegion('demo', east, { ...base, services: [base.services[0]!, draining] }, () => 9).actions,
    [],
  );

  const groupGone = planRegion(
    'demo',
    east,
    { ...base, targetGroups: [base.targetGroups[1]!] },
    () => 9,
  ).actions;
  assert.deepEqual(
    groupGone.filter((a) => a.kind === 'UpdateService'),
    [
      {
        site: 'demo',
        region: 'us-east-1',
        kind: 'UpdateService',
        name: 'demo-stable',
        targetGroup: 'demo-stable',
        containerPort: 8080,
      },
    ],
  );

  // The canary at weight 0 runs a task and the stable none yet: the stable keeps its 100 %.
  const unweighted = desiredSite(demoSite, platform, {
    regions: {},
    canaryWeight: 0,
    failing: [],
    failoverActive: false,
  }).regions[0]!;
  const starting = {
    ...base,
    rules: [],
    services: [{ ...base.services[0]!, runningCount: 0 }, base.services[1]!],
  };
  const rule = planRegion('demo', unweighted, starting, () => 9).actions.find((a) => a.kind === 'CreateRule');
  assert.deepEqual(rule?.kind === 'CreateRule' && rule.forward, [
    { targetGroup: 'demo-stable', weight: 100 },
    { targetGroup: 'demo-canary', weight: 0 },
  ]);
});

test('planSite lists blockers only for regions that have some; a rule whose weights alone differ is modified', () => {
  assert.deepEqual(
    planSite(demo, { name: 'demo', regions: { 'us-east-1': converged() } }, () => 1),
    {
      actions: [],
      blockers: {},
    },
  );
  const base = converged();
  const half = { ...base.rules[0]!, forward: base.rules[0]!.forward.map((f) => ({ ...f, weight: 50 })) };
  assert.deepEqual(
    planRegion('demo', east, { ...base, rules: [half] }, () => 9).actions.map(
      (a) => a.kind === 'ModifyRule' && a.forward,
    ),
    [
      [
        { targetGroup: 'demo-stable', weight: 85 },
        { targetGroup: 'demo-canary', weight: 15 },
      ],
    ],
  );
});

test('a rule listing the same weights in another order is left as it is', () => {
  const base = converged();
  const reversed = { ...base.rules[0]!, forward: [...base.rules[0]!.forward].reverse() };
  assert.deepEqual(planRegion('demo', east, { ...base, rules: [reversed] }, () => 9).actions, []);
});
