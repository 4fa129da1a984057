import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../controller/errors.ts';
import type { Action } from '../controller/model/actions.ts';
import type { ObservedSite } from '../controller/model/observed.ts';
import type { Platform } from '../controller/model/platform.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { Ports } from '../controller/ports/index.ts';
import type { DistributionConfig } from '../controller/ports/cdn.ts';
import type { TaskDefinitionSpec } from '../controller/ports/ecs.ts';
import type { TargetGroupSettings } from '../controller/ports/load-balancer.ts';
import { applySitePlan, describeTarget } from '../controller/reconcile/apply.ts';

/*
 * applySitePlan over ports that record every call: what each action asks of which port, with
 * which arguments, in which order, and what a failure leaves undone. The expected calls are
 * written out here, not computed by the code under test.
 */

const US = 'us-east-1';
const EU = 'eu-west-1';
const TAGS = ownershipTags('demo');

const platform = {
  regions: Object.fromEntries(
    [US, EU].map((region) => [
      region,
      {
        region,
        cluster: `cluster-${region}`,
        listenerArn: `http-listener-${region}`,
        vpcId: `vpc-${region}`,
        subnets: [`subnet-${region}`],
        securityGroups: [`sg-${region}`],
        assignPublicIp: false,
      },
    ]),
  ),
} as unknown as Platform;

/** The site as observed: one target group in us-east-1, none in eu-west-1. */
const observed = {
  name: 'demo',
  regions: {
    [US]: { targetGroups: [{ name: 'demo-stable', arn: 'arn:tg/demo-stable' }] },
  },
} as unknown as ObservedSite;

type Call = [string, ...unknown[]];

/** Ports that record each call and answer from `answers` (by `port.method`), else with nothing. */
function recordingPorts(answers: Record<string, (...args: unknown[]) => unknown> = {}) {
  const calls: Call[] = [];
  const port = (name: string) =>
    new Proxy(
      {},
      {
        get: (_target, method) => {
          if (typeof method !== 'string' || method === 'then') return undefined;
          return async (...args: unknown[]) => {
            calls.push([`${name}.${method}`, ...args]);
            const answer = answers[`${name}.${method}`];
            return answer === undefined ? undefined : answer(...args);
          };
        },
      },
    );
  const ports = {
    ecs: port('ecs'),
    loadBalancer: port('loadBalancer'),
    cdn: port('cdn'),
    metrics: port('metrics'),
    store: port('store'),
  } as unknown as Ports;
  return { ports, calls };
}

const taskDefinition = { family: 'demo-stable' } as TaskDefinitionSpec;
const canaryGroup = { name: 'demo-canary', port: 8080 } as unknown as TargetGroupSettings;
const header = { name: 'X-Tandem-Origin', values: ['demo.s'] };
const configA = { comment: 'a', origins: [] } as unknown as DistributionConfig;
const configB = { comment: 'b', origins: [] } as unknown as DistributionConfig;

test('each region action asks its port for exactly that change, with the platform’s cluster, network and listener, the site’s ownership tags on what it creates, and target groups by ARN, one made earlier in the plan included', async () => {
  const at = { site: 'demo', region: US };
  const actions: Action[] = [
    { ...at, kind: 'RegisterTaskDefinition', taskDefinition },
    { ...at, kind: 'CreateTargetGroup', settings: canaryGroup },
    {
      ...at,
      kind: 'CreateService',
      name: 'demo-canary',
      taskDefinition: 'td:2',
      desiredCount: 1,
      targetGroup: 'demo-canary',
      containerPort: 8080,
    },
    { ...at, kind: 'UpdateService', name: 'demo-stable', desiredCount: 3 },
    { ...at, kind: 'UpdateService', name: 'demo-stable', taskDefinition: 'td:2' },
    { ...at, kind: 'UpdateService', name: 'demo-stable', targetGroup: 'demo-stable', containerPort: 8080 },
    {
      ...at,
      kind: 'CreateRule',
      priority: 7,
      header,
      forward: [
        { targetGroup: 'demo-stable', weight: 90 },
        { targetGroup: 'demo-canary', weight: 10 },
      ],
    },
    {
      ...at,
      kind: 'CreateRule',
      listenerArn: 'https-listener',
      priority: 8,
      header,
      forward: [{ targetGroup: 'demo-stable', weight: 100 }],
    },
    {
      ...at,
      kind: 'ModifyRule',
      arn: 'arn:rule/1',
      header,
      forward: [{ targetGroup: 'demo-canary', weight: 100 }],
    },
    {
      ...at,
      kind: 'ModifyTargetGroup',
      name: 'demo-stable',
      arn: 'arn:tg/demo-stable',
      healthCheckPath: '/up',
    },
    { ...at, kind: 'DeleteRule', arn: 'arn:rule/2' },
    { ...at, kind: 'DeleteService', name: 'demo-old' },
    { ...at, kind: 'DeleteTargetGroup', name: 'demo-old', arn: 'arn:tg/demo-old' },
    { ...at, kind: 'DeregisterTaskDefinition', family: 'demo-stable', arn: 'arn:td/demo-stable:1' },
  ];
  const { ports, calls } = recordingPorts({
    'loadBalancer.createTargetGroup': () => ({ name: 'demo-canary', arn: 'arn:tg/demo-canary' }),
  });
  const applied = await applySitePlan(ports, platform, observed, actions);
  assert.deepEqual(applied, { results: actions.map((action) => ({ action })), skipped: [] });
  const cluster = `cluster-${US}`;
  assert.deepEqual(calls, [
    ['ecs.registerTaskDefinition', US, taskDefinition, TAGS],
    ['loadBalancer.createTargetGroup', US, `vpc-${US}`, canaryGroup, TAGS],
    [
      'ecs.createService',
      US,
      cluster,
      {
        name: 'demo-canary',
        taskDefinition: 'td:2',
        desiredCount: 1,
        targetGroupArn: 'arn:tg/demo-canary',
        containerPort: 8080,
        subnets: [`subnet-${US}`],
        securityGroups: [`sg-${US}`],
        assignPublicIp: false,
        tags: TAGS,
      },
    ],
    ['ecs.updateService', US, cluster, 'demo-stable', { desiredCount: 3 }],
    ['ecs.updateService', US, cluster, 'demo-stable', { taskDefinition: 'td:2' }],
    [
      'ecs.updateService',
      US,
      cluster,
      'demo-stable',
      { targetGroupArn: 'arn:tg/demo-stable', containerPort: 8080 },
    ],
    [
      'loadBalancer.createRule',
      US,
      `http-listener-${US}`,
      7,
      {
        header,
        forward: [
          { targetGroupArn: 'arn:tg/demo-stable', weight: 90 },
          { targetGroupArn: 'arn:tg/demo-canary', weight: 10 },
        ],
      },
      TAGS,
    ],
    [
      'loadBalancer.createRule',
      US,
      'https-listener',
      8,
      { header, forward: [{ targetGroupArn: 'arn:tg/demo-stable', weight: 100 }] },
      TAGS,
    ],
    [
      'loadBalancer.modifyRule',
      US,
      'arn:rule/1',
      { header, forward: [{ targetGroupArn: 'arn:tg/demo-canary', weight: 100 }] },
    ],
    ['loadBalancer.modifyTargetGroup', US, 'arn:tg/demo-stable', { healthCheckPath: '/up' }],
    ['loadBalancer.deleteRule', US, 'arn:rule/2'],
    ['ecs.deleteService', US, cluster, 'demo-old'],
    ['loadBalancer.deleteTargetGroup', US, 'arn:tg/demo-old'],
    ['ecs.deregisterTaskDefinition', US, 'arn:td/demo-stable:1'],
  ]);
});

test('the CDN lane: a created distribution is returned for status; an update quotes the ETag just read and is skipped when the distribution already has the config; a delete quotes the ETag', async () => {
  const created = { id: 'E1', domainName: 'd1.cloudfront.net' };
  const { ports, calls } = recordingPorts({
    'cdn.createDistribution': () => created,
    'cdn.getDistributionConfig': (id) => ({
      config: id === 'E-same' ? configB : configA,
      etag: `etag-${String(id)}`,
    }),
  });
  const actions: Action[] = [
    { site: 'demo', kind: 'CreateDistribution', config: configA },
    { site: 'demo', kind: 'UpdateDistribution', id: 'E-same', config: configB },
    { site: 'demo', kind: 'UpdateDistribution', id: 'E-other', config: configB },
    { site: 'demo', kind: 'DeleteDistribution', id: 'E-gone' },
  ];
  const applied = await applySitePlan(ports, platform, observed, actions);
  assert.deepEqual(applied, {
    results: [
      { action: actions[0], created },
      { action: actions[1] },
      { action: actions[2] },
      { action: actions[3] },
    ],
    skipped: [],
  });
  assert.deepEqual(calls, [
    ['cdn.createDistribution', configA, TAGS],
    ['cdn.getDistributionConfig', 'E-same'],
    ['cdn.getDistributionConfig', 'E-other'],
    ['cdn.updateDistribution', 'E-other', configB, 'etag-E-other'],
    ['cdn.getDistributionConfig', 'E-gone'],
    ['cdn.deleteDistribution', 'E-gone', 'etag-E-gone'],
  ]);
});

test('lanes: a region’s actions run in plan order however the plan interleaves the regions, and a failure skips only the rest of its own lane', async () => {
  const { ports, calls } = recordingPorts({
    'ecs.deleteService': (region, _cluster, name) => {
      if (region === EU && name === 'demo-fails')
        throw new CloudError('Throttled', 'demo-fails', 'Rate exceeded');
    },
    'cdn.getDistributionConfig': () => ({ config: configA, etag: 'etag' }),
  });
  const del = (region: string, name: string): Action => ({
    site: 'demo',
    region,
    kind: 'DeleteService',
    name,
  });
  const actions: Action[] = [
    del(US, 'demo-1'),
    del(EU, 'demo-eu-1'),
    del(EU, 'demo-fails'),
    del(US, 'demo-2'),
    del(EU, 'demo-never'),
    { site: 'demo', kind: 'DeleteDistribution', id: 'E1' },
    del(US, 'demo-3'),
  ];
  const applied = await applySitePlan(ports, platform, observed, actions);
  const deleted = (region: string) =>
    calls.filter((c) => c[0] === 'ecs.deleteService' && c[1] === region).map((c) => c[3]);
  assert.deepEqual(deleted(US), ['demo-1', 'demo-2', 'demo-3']);
  assert.deepEqual(deleted(EU), ['demo-eu-1', 'demo-fails']);
  assert.deepEqual(applied.skipped, [actions[4]]);
  assert.deepEqual(
    applied.results.map((r) => [r.action, r.error?.kind, r.error?.resource]),
    [
      [actions[0], undefined, undefined],
      [actions[3], undefined, undefined],
      [actions[6], undefined, undefined],
      [actions[1], undefined, undefined],
      [actions[2], 'Throttled', 'demo-fails'],
      [actions[5], undefined, undefined],
    ],
  );
});

test('what a failed action is reported against: the name of what it changes', () => {
  const at = { site: 'demo', region: US };
  const cases: [Action, string][] = [
    [{ ...at, kind: 'RegisterTaskDefinition', taskDefinition }, 'demo-stable'],
    [{ ...at, kind: 'DeregisterTaskDefinition', family: 'demo-canary', arn: 'arn:td' }, 'demo-canary'],
    [{ ...at, kind: 'CreateTargetGroup', settings: canaryGroup }, 'demo-canary'],
    [{ ...at, kind: 'ModifyTargetGroup', name: 'tg-1', arn: 'a', healthCheckPath: '/' }, 'tg-1'],
    [{ ...at, kind: 'DeleteTargetGroup', name: 'tg-2', arn: 'a' }, 'tg-2'],
    [
      {
        ...at,
        kind: 'CreateService',
        name: 'svc-1',
        taskDefinition: 'td',
        desiredCount: 1,
        targetGroup: 'tg',
        containerPort: 80,
      },
      'svc-1',
    ],
    [{ ...at, kind: 'UpdateService', name: 'svc-2' }, 'svc-2'],
    [{ ...at, kind: 'DeleteService', name: 'svc-3' }, 'svc-3'],
    [{ ...at, kind: 'CreateRule', priority: 4, header, forward: [] }, 'rule demo (priority 4)'],
    [{ ...at, kind: 'ModifyRule', arn: 'a', header, forward: [] }, 'rule demo'],
    [{ ...at, kind: 'DeleteRule', arn: 'a' }, 'rule demo'],
    [{ site: 'demo', kind: 'CreateDistribution', config: configA }, 'distribution demo'],
    [{ site: 'demo', kind: 'UpdateDistribution', id: 'E7', config: configA }, 'distribution E7'],
    [{ site: 'demo', kind: 'DeleteDistribution', id: 'E8' }, 'distribution E8'],
  ];
  for (const [action, target] of cases) assert.equal(describeTarget(action), target, action.kind);
});

test('an action in a region with no platform item, or naming a target group that is not there, fails without a call', async () => {
  const { ports, calls } = recordingPorts();
  const actions: Action[] = [
    { site: 'demo', region: 'ap-south-1', kind: 'DeleteRule', arn: 'arn:rule/1' },
    {
      site: 'demo',
      region: EU,
      kind: 'ModifyRule',
      arn: 'arn:rule/2',
      header,
      forward: [{ targetGroup: 'demo-stable', weight: 100 }],
    },
  ];
  const applied = await applySitePlan(ports, platform, observed, actions);
  assert.deepEqual(calls, []);
  assert.deepEqual(
    applied.results.map((r) => [r.error?.kind, r.error?.message]),
    [
      ['Invalid', 'no tandem platform in ap-south-1'],
      ['NotFound', `target group demo-stable does not exist in ${EU}`],
    ],
  );
});
