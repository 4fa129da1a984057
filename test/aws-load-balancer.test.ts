import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DuplicateTargetGroupNameException,
  type ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  ListenerNotFoundException,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  PriorityInUseException,
  ResourceInUseException,
  RuleNotFoundException,
  TargetGroupNotFoundException,
  TooManyRulesException,
  TooManyTargetsException,
  TooManyUniqueTargetGroupsPerLoadBalancerException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsLoadBalancer } from '../controller/providers/aws/load-balancer.ts';
import type { RuleSettings } from '../controller/ports/load-balancer.ts';
import type { Page } from '../controller/ports/page.ts';
import { FakeElbv2 } from './support/aws-fake/elbv2.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ELB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;
const LOAD_BALANCER = `${ELB}:loadbalancer/app/tandem/0123456789abcdef`;
const LISTENER = `${ELB}:listener/app/tandem/0123456789abcdef/fedcba9876543210`;
const VPC = 'vpc-0123';
const TAGS = { 'tandem:site': 'demo', 'tandem:managed-by': 'tandem' };
const ELB_TAGS = [
  { Key: 'tandem:managed-by', Value: 'tandem' },
  { Key: 'tandem:site', Value: 'demo' },
];

function setup(t: TestContext) {
  const fake = new FakeElbv2({
    listeners: [{ region: REGION, listenerArn: LISTENER, loadBalancerArn: LOAD_BALANCER }],
    account: ACCOUNT,
  });
  t.after(() => fake.restore());
  return { fake, elb: new AwsLoadBalancer(new AwsClients()) };
}

async function rejectsWith(
  promise: Promise<unknown>,
  kind: CloudErrorKind,
  message?: RegExp,
): Promise<CloudError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${kind} error`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}

async function readPages<T>(read: (next?: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let next: string | undefined;
  do {
    const page = await read(next);
    pages.push(page.items);
    next = page.next;
  } while (next !== undefined);
  return pages;
}

function rule(stable: string, canary?: string, weight = 15): RuleSettings {
  return {
    header: { name: 'X-Tandem-Origin', values: ['demo.secret'] },
    forward: [
      { targetGroupArn: stable, weight: 100 - (canary === undefined ? 0 : weight) },
      ...(canary === undefined ? [] : [{ targetGroupArn: canary, weight }]),
    ],
  };
}

const settings = (name = 'demo-stable') => ({ name, port: 8080, healthCheckPath: '/healthz' });

// ----- target groups -----

test('createTargetGroup sends the exact HTTP ip target group, then a 30 s deregistration delay', async (t) => {
  const { fake, elb } = setup(t);
  const created = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  assert.deepEqual(fake.mock.commandCalls(CreateTargetGroupCommand)[0]!.args[0].input, {
    Name: 'demo-stable',
    Protocol: 'HTTP',
    Port: 8080,
    VpcId: VPC,
    TargetType: 'ip',
    HealthCheckProtocol: 'HTTP',
    HealthCheckPath: '/healthz',
    HealthCheckIntervalSeconds: 10,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 3,
    Matcher: { HttpCode: '200' },
    Tags: ELB_TAGS,
  });
  assert.deepEqual(fake.mock.commandCalls(ModifyTargetGroupAttributesCommand)[0]!.args[0].input, {
    TargetGroupArn: created.arn,
    Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
  });
  assert.match(
    created.arn,
    /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/demo-stable\//,
  );
  assert.deepEqual(
    { ...created, arn: '' },
    { arn: '', name: 'demo-stable', port: 8080, vpcId: VPC, healthCheckPath: '/healthz' },
  );
  assert.equal(fake.attributes(REGION, created.arn)?.['deregistration_delay.timeout_seconds'], '30');
});

test('createTargetGroup deletes the new group again when its deregistration delay cannot be set', async (t) => {
  const { fake, elb } = setup(t);
  fake.fail(
    'ModifyTargetGroupAttributes',
    () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
  );
  await rejectsWith(elb.createTargetGroup(REGION, VPC, settings(), TAGS), 'Throttled');
  const created = fake.mock.commandCalls(CreateTargetGroupCommand).length;
  assert.equal(created, 1);
  assert.equal(fake.mock.commandCalls(DeleteTargetGroupCommand).length, 1);
  assert.deepEqual((await elb.describeTargetGroups(REGION)).items, []);
});

test('createTargetGroup with identical settings answers the existing group, as CreateTargetGroup is idempotent', async (t) => {
  const { elb } = setup(t);
  const first = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const second = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  assert.equal(second.arn, first.arn);
});

test('createTargetGroup of a name taken with other settings is a Conflict', async (t) => {
  const { elb } = setup(t);
  await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  await rejectsWith(
    elb.createTargetGroup(REGION, VPC, { ...settings(), healthCheckPath: '/other' }, TAGS),
    'Conflict',
    /DuplicateTargetGroupNameException/,
  );
});

test('createTargetGroup treats an answer without the group ARN as Unavailable, before touching attributes', async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(CreateTargetGroupCommand).resolves({ TargetGroups: [{ TargetGroupName: 'demo-stable' }] });
  await rejectsWith(elb.createTargetGroup(REGION, VPC, settings(), TAGS), 'Unavailable', /TargetGroupArn/);
  assert.equal(fake.mock.commandCalls(ModifyTargetGroupAttributesCommand).length, 0);
});

test('describeTargetGroups pages 400 at a time through markers', async (t) => {
  const { fake, elb } = setup(t);
  for (let i = 0; i < 810; i += 1)
    await elb.createTargetGroup(REGION, VPC, settings(`site${i}-stable`), TAGS);
  fake.mock.resetHistory();
  const pages = await readPages((next) => elb.describeTargetGroups(REGION, next));
  assert.deepEqual(
    pages.map((p) => p.length),
    [400, 400, 10],
  );
  const inputs = fake.mock.commandCalls(DescribeTargetGroupsCommand).map((c) => c.args[0].input);
  assert.deepEqual(inputs[0], { PageSize: 400 });
  for (const input of inputs.slice(1)) {
    assert.deepEqual(Object.keys(input).sort(), ['Marker', 'PageSize']);
    assert.equal(input.PageSize, 400);
  }
  assert.equal(new Set(pages.flat().map((tg) => tg.arn)).size, 810);
});

test("describeTargetGroups keeps other tools' groups that have no port or VPC", async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(DescribeTargetGroupsCommand).resolves({
    TargetGroups: [
      { TargetGroupArn: `${ELB}:targetgroup/fn/1`, TargetGroupName: 'fn', TargetType: 'lambda' },
    ],
  });
  assert.deepEqual((await elb.describeTargetGroups(REGION)).items, [
    { arn: `${ELB}:targetgroup/fn/1`, name: 'fn', port: 0, vpcId: '', healthCheckPath: '' },
  ]);
});

for (const [field, group] of [
  ['TargetGroupArn', { TargetGroupName: 'demo-stable' }],
  ['TargetGroupName', { TargetGroupArn: `${ELB}:targetgroup/demo-stable/1` }],
] as const) {
  test(`describeTargetGroups treats a group without ${field} as Unavailable`, async (t) => {
    const { fake, elb } = setup(t);
    fake.mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [group] });
    await rejectsWith(elb.describeTargetGroups(REGION), 'Unavailable', new RegExp(field));
  });
}

test('modifyTargetGroup sends only the health check path', async (t) => {
  const { fake, elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  await elb.modifyTargetGroup(REGION, tg.arn, { healthCheckPath: '/ready' });
  assert.deepEqual(fake.mock.commandCalls(ModifyTargetGroupCommand)[0]!.args[0].input, {
    TargetGroupArn: tg.arn,
    HealthCheckPath: '/ready',
  });
  assert.equal((await elb.describeTargetGroups(REGION)).items[0]!.healthCheckPath, '/ready');
});

test('modifyTargetGroup of an unknown group is NotFound', async (t) => {
  const { elb } = setup(t);
  await rejectsWith(
    elb.modifyTargetGroup(REGION, `${ELB}:targetgroup/gone/1`, { healthCheckPath: '/' }),
    'NotFound',
    /TargetGroupNotFoundException/,
  );
});

test('deleteTargetGroup sends the ARN, and is a Conflict while a rule forwards to the group', async (t) => {
  const { fake, elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const created = await elb.createRule(REGION, LISTENER, 10, rule(tg.arn), TAGS);
  await rejectsWith(elb.deleteTargetGroup(REGION, tg.arn), 'Conflict', /ResourceInUseException/);
  await elb.deleteRule(REGION, created.arn);
  await elb.deleteTargetGroup(REGION, tg.arn);
  assert.deepEqual(
    fake.mock.commandCalls(DeleteTargetGroupCommand).map((c) => c.args[0].input),
    [{ TargetGroupArn: tg.arn }, { TargetGroupArn: tg.arn }],
  );
  assert.deepEqual((await elb.describeTargetGroups(REGION)).items, []);
});

// ----- rules -----

test('createRule sends the exact header condition, weighted forward and tags', async (t) => {
  const { fake, elb } = setup(t);
  const stable = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const canary = await elb.createTargetGroup(REGION, VPC, settings('demo-canary'), TAGS);
  const created = await elb.createRule(REGION, LISTENER, 7, rule(stable.arn, canary.arn), TAGS);
  assert.deepEqual(fake.mock.commandCalls(CreateRuleCommand)[0]!.args[0].input, {
    ListenerArn: LISTENER,
    Priority: 7,
    Conditions: [
      {
        Field: 'http-header',
        HttpHeaderConfig: { HttpHeaderName: 'X-Tandem-Origin', Values: ['demo.secret'] },
      },
    ],
    Actions: [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: stable.arn, Weight: 85 },
            { TargetGroupArn: canary.arn, Weight: 15 },
          ],
        },
      },
    ],
    Tags: ELB_TAGS,
  });
  assert.deepEqual({ ...created, arn: '' }, { arn: '', priority: 7, ...rule(stable.arn, canary.arn) });
  assert.match(created.arn, /:listener-rule\/app\/tandem\//);
});

test('createRule at a priority in use is a Conflict', async (t) => {
  const { elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  await elb.createRule(REGION, LISTENER, 7, rule(tg.arn), TAGS);
  await rejectsWith(
    elb.createRule(REGION, LISTENER, 7, rule(tg.arn), TAGS),
    'Conflict',
    /PriorityInUseException/,
  );
});

test('createRule treats an answer without the rule ARN as Unavailable', async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(CreateRuleCommand).resolves({ Rules: [{ Priority: '7' }] });
  await rejectsWith(
    elb.createRule(REGION, LISTENER, 7, rule(`${ELB}:targetgroup/x/1`), TAGS),
    'Unavailable',
    /RuleArn/,
  );
});

test('describeRules pages 400 at a time and leaves out the default rule', async (t) => {
  const { fake, elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  for (let priority = 1; priority <= 850; priority += 1)
    await elb.createRule(REGION, LISTENER, priority, rule(tg.arn), TAGS);
  fake.mock.resetHistory();
  const pages = await readPages((next) => elb.describeRules(REGION, LISTENER, next));
  assert.deepEqual(
    pages.map((p) => p.length),
    [400, 400, 50],
    'the third page read 51 rules, the default among them',
  );
  const inputs = fake.mock.commandCalls(DescribeRulesCommand).map((c) => c.args[0].input);
  assert.deepEqual(inputs[0], { ListenerArn: LISTENER, PageSize: 400 });
  for (const input of inputs.slice(1)) {
    assert.deepEqual(Object.keys(input).sort(), ['ListenerArn', 'Marker', 'PageSize']);
  }
  assert.deepEqual(
    pages.flat().map((r) => r.priority),
    Array.from({ length: 850 }, (_, i) => i + 1),
  );
});

test('describeRules reads header and weights, a plain forward as weight 1, and no header as empty', async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(DescribeRulesCommand).resolves({
    Rules: [
      {
        RuleArn: `${ELB}:listener-rule/app/tandem/x/1`,
        Priority: '3',
        IsDefault: false,
        Conditions: [
          {
            Field: 'http-header',
            HttpHeaderConfig: { HttpHeaderName: 'X-Tandem-Origin', Values: ['demo.s'] },
          },
        ],
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: 'tg-a', Weight: 90 },
                { TargetGroupArn: 'tg-b', Weight: 10 },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      },
      {
        RuleArn: `${ELB}:listener-rule/app/tandem/x/2`,
        Priority: '4',
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/admin/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: 'tg-c' }],
      },
      {
        RuleArn: `${ELB}:listener-rule/app/tandem/x/3`,
        Priority: '5',
        Conditions: [
          {
            Field: 'http-header',
            HttpHeaderConfig: { HttpHeaderName: 'X-Tandem-Origin', Values: ['a.s', 'b.s'] },
          },
        ],
        Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403' } }],
      },
      { RuleArn: `${ELB}:listener-rule/app/tandem/x/d`, Priority: 'default', IsDefault: true, Actions: [] },
    ],
  });
  assert.deepEqual((await elb.describeRules(REGION, LISTENER)).items, [
    {
      arn: `${ELB}:listener-rule/app/tandem/x/1`,
      priority: 3,
      header: { name: 'X-Tandem-Origin', values: ['demo.s'] },
      forward: [
        { targetGroupArn: 'tg-a', weight: 90 },
        { targetGroupArn: 'tg-b', weight: 10 },
      ],
    },
    {
      arn: `${ELB}:listener-rule/app/tandem/x/2`,
      priority: 4,
      header: { name: '', values: [] },
      forward: [{ targetGroupArn: 'tg-c', weight: 1 }],
    },
    {
      arn: `${ELB}:listener-rule/app/tandem/x/3`,
      priority: 5,
      header: { name: 'X-Tandem-Origin', values: ['a.s', 'b.s'] },
      forward: [],
    },
  ]);
});

test('describeRules treats a rule without an ARN or numeric priority as Unavailable', async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(DescribeRulesCommand).resolves({ Rules: [{ Priority: '3' }] });
  await rejectsWith(elb.describeRules(REGION, LISTENER), 'Unavailable', /RuleArn/);
  fake.mock.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: 'arn:rule', Priority: 'x' }] });
  await rejectsWith(elb.describeRules(REGION, LISTENER), 'Unavailable', /Priority/);
});

test('describeRules of an unknown listener is NotFound', async (t) => {
  const { elb } = setup(t);
  await rejectsWith(elb.describeRules(REGION, `${LISTENER}0`), 'NotFound', /ListenerNotFoundException/);
});

test('modifyRule sends the whole condition and forward', async (t) => {
  const { fake, elb } = setup(t);
  const stable = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const canary = await elb.createTargetGroup(REGION, VPC, settings('demo-canary'), TAGS);
  const created = await elb.createRule(REGION, LISTENER, 7, rule(stable.arn), TAGS);
  await elb.modifyRule(REGION, created.arn, rule(stable.arn, canary.arn, 40));
  assert.deepEqual(fake.mock.commandCalls(ModifyRuleCommand)[0]!.args[0].input, {
    RuleArn: created.arn,
    Conditions: [
      {
        Field: 'http-header',
        HttpHeaderConfig: { HttpHeaderName: 'X-Tandem-Origin', Values: ['demo.secret'] },
      },
    ],
    Actions: [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: stable.arn, Weight: 60 },
            { TargetGroupArn: canary.arn, Weight: 40 },
          ],
        },
      },
    ],
  });
  const [read] = (await elb.describeRules(REGION, LISTENER)).items;
  assert.deepEqual(read!.forward, rule(stable.arn, canary.arn, 40).forward);
});

test('modifyRule and deleteRule of an unknown rule are NotFound', async (t) => {
  const { elb } = setup(t);
  const gone = `${ELB}:listener-rule/app/tandem/0123456789abcdef/fedcba9876543210/ffff`;
  await rejectsWith(elb.modifyRule(REGION, gone, rule('x')), 'NotFound', /RuleNotFoundException/);
  await rejectsWith(elb.deleteRule(REGION, gone), 'NotFound', /RuleNotFoundException/);
});

test('deleteRule sends the rule ARN', async (t) => {
  const { fake, elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const created = await elb.createRule(REGION, LISTENER, 7, rule(tg.arn), TAGS);
  await elb.deleteRule(REGION, created.arn);
  assert.deepEqual(fake.mock.commandCalls(DeleteRuleCommand)[0]!.args[0].input, { RuleArn: created.arn });
  assert.deepEqual((await elb.describeRules(REGION, LISTENER)).items, []);
});

// ----- tags -----

test('describeTags sends the ARNs and answers tags for each, target groups and rules alike', async (t) => {
  const { fake, elb } = setup(t);
  const tg = await elb.createTargetGroup(REGION, VPC, settings(), TAGS);
  const other = await elb.createTargetGroup(REGION, VPC, settings('theirs'), {});
  const created = await elb.createRule(REGION, LISTENER, 7, rule(tg.arn), { 'tandem:site': 'demo' });
  const tags = await elb.describeTags(REGION, [tg.arn, other.arn, created.arn]);
  assert.deepEqual(fake.mock.commandCalls(DescribeTagsCommand)[0]!.args[0].input, {
    ResourceArns: [tg.arn, other.arn, created.arn],
  });
  assert.deepEqual(tags, { [tg.arn]: TAGS, [other.arn]: {}, [created.arn]: { 'tandem:site': 'demo' } });
});

test('describeTags of no ARNs makes no call', async (t) => {
  const { fake, elb } = setup(t);
  assert.deepEqual(await elb.describeTags(REGION, []), {});
  assert.equal(fake.mock.commandCalls(DescribeTagsCommand).length, 0);
});

test('describeTags passes twenty ARNs and lets ELB refuse twenty-one as Invalid', async (t) => {
  const { elb } = setup(t);
  const arns: string[] = [];
  for (let i = 0; i < 21; i += 1)
    arns.push((await elb.createTargetGroup(REGION, VPC, settings(`s${i}-stable`), TAGS)).arn);
  assert.equal(Object.keys(await elb.describeTags(REGION, arns.slice(0, 20))).length, 20);
  await rejectsWith(elb.describeTags(REGION, arns), 'Invalid', /ValidationError/);
});

test('describeTags of an unknown target group is NotFound', async (t) => {
  const { elb } = setup(t);
  await rejectsWith(elb.describeTags(REGION, [`${ELB}:targetgroup/gone/1`]), 'NotFound');
});

test('describeTags treats an answer that skips an ARN as Unavailable, not as untagged', async (t) => {
  const { fake, elb } = setup(t);
  fake.mock.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: 'arn:a', Tags: [] }] });
  await rejectsWith(elb.describeTags(REGION, ['arn:a', 'arn:b']), 'Unavailable', /arn:b/);
});

// ----- errors -----

const elbErrors: { name: string; error: () => Error; kind: CloudErrorKind; message?: RegExp }[] = [
  {
    name: 'Throttling',
    error: () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    kind: 'Throttled',
  },
  {
    name: 'AccessDenied',
    error: () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'User is not authorized to perform: elasticloadbalancing:CreateRule',
      }),
    kind: 'AccessDenied',
    message: /Grant elasticloadbalancing:CreateRule on /,
  },
  {
    name: 'ServiceUnavailable',
    error: () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'try later',
      }),
    kind: 'Unavailable',
  },
  {
    name: 'an unmodelled 500',
    error: () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'oops',
      }),
    kind: 'Unavailable',
  },
  {
    name: 'PriorityInUseException',
    error: () => new PriorityInUseException({ message: 'Priority in use', $metadata: {} }),
    kind: 'Conflict',
  },
  {
    name: 'TargetGroupNotFoundException',
    error: () => new TargetGroupNotFoundException({ message: 'not found', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'ListenerNotFoundException',
    error: () => new ListenerNotFoundException({ message: 'not found', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'RuleNotFoundException',
    error: () => new RuleNotFoundException({ message: 'not found', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'ResourceInUseException',
    error: () => new ResourceInUseException({ message: 'in use', $metadata: {} }),
    kind: 'Conflict',
  },
  {
    name: 'DuplicateTargetGroupNameException',
    error: () => new DuplicateTargetGroupNameException({ message: 'dup', $metadata: {} }),
    kind: 'Conflict',
  },
  {
    name: 'ValidationError',
    error: () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'bad',
      }),
    kind: 'Invalid',
  },
  {
    name: 'TooManyRulesException (a quota, not bad input)',
    error: () =>
      new TooManyRulesException({
        message: 'You’ve reached the limit on the number of rules',
        $metadata: {},
      }),
    kind: 'QuotaExceeded',
    message:
      /reached a quota \(TooManyRulesException: Rules per Application Load Balancer\).*Ask for more in Service Quotas/,
  },
  {
    name: 'TooManyUniqueTargetGroupsPerLoadBalancerException (a quota Service Quotas cannot raise)',
    error: () =>
      new TooManyUniqueTargetGroupsPerLoadBalancerException({
        message: 'You’ve reached the limit on the number of unique target groups per load balancer',
        $metadata: {},
      }),
    kind: 'QuotaExceeded',
    message:
      /reached a quota \(TooManyUniqueTargetGroupsPerLoadBalancerException: Target groups per Application Load Balancer\).*It cannot be raised: free some, or spread the sites over more/,
  },
  {
    name: 'TooManyTargetsException',
    error: () => new TooManyTargetsException({ message: 'too many targets', $metadata: {} }),
    kind: 'QuotaExceeded',
    message: /Targets per Application Load Balancer/,
  },
];

for (const { name, error, kind, message } of elbErrors) {
  test(`an ELB ${name} is a ${kind} CloudError naming the operation`, async (t) => {
    const { fake, elb } = setup(t);
    fake.fail('CreateRule', error);
    const e = await rejectsWith(elb.createRule(REGION, LISTENER, 7, rule('tg'), TAGS), kind, message);
    assert.match(e.message, /elasticloadbalancing:CreateRule/);
    assert.match(e.resource, /priority 7/);
  });
}

test('every ELB operation reports its own name when access is denied', async (t) => {
  const { fake, elb } = setup(t);
  const denied = () =>
    new ElasticLoadBalancingV2ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'no',
    });
  const tg = `${ELB}:targetgroup/demo-stable/1`;
  const calls: [string, () => Promise<unknown>][] = [
    ['DescribeTargetGroups', () => elb.describeTargetGroups(REGION)],
    ['DescribeRules', () => elb.describeRules(REGION, LISTENER)],
    ['DescribeTags', () => elb.describeTags(REGION, [tg])],
    ['CreateTargetGroup', () => elb.createTargetGroup(REGION, VPC, settings(), TAGS)],
    ['ModifyTargetGroup', () => elb.modifyTargetGroup(REGION, tg, { healthCheckPath: '/' })],
    ['DeleteTargetGroup', () => elb.deleteTargetGroup(REGION, tg)],
    ['ModifyRule', () => elb.modifyRule(REGION, 'arn:rule', rule(tg))],
    ['DeleteRule', () => elb.deleteRule(REGION, 'arn:rule')],
  ];
  for (const [operation, call] of calls) {
    fake.fail(operation, denied);
    await rejectsWith(call(), 'AccessDenied', new RegExp(`Grant elasticloadbalancing:${operation} `));
  }
  fake.fail('ModifyTargetGroupAttributes', denied);
  await rejectsWith(
    elb.createTargetGroup(REGION, VPC, settings(), TAGS),
    'AccessDenied',
    /Grant elasticloadbalancing:ModifyTargetGroupAttributes /,
  );
});

test('the adapter uses the client of the region it is asked about', async (t) => {
  const fake = new FakeElbv2({
    listeners: [
      { region: REGION, listenerArn: LISTENER, loadBalancerArn: LOAD_BALANCER },
      { region: 'eu-west-1', listenerArn: LISTENER.replace(REGION, 'eu-west-1'), loadBalancerArn: 'lb' },
    ],
  });
  t.after(() => fake.restore());
  const elb = new AwsLoadBalancer(new AwsClients());
  await elb.createTargetGroup('eu-west-1', VPC, settings(), TAGS);
  assert.equal((await elb.describeTargetGroups(REGION)).items.length, 0);
  assert.equal((await elb.describeTargetGroups('eu-west-1')).items.length, 1);
  const client = fake.mock.commandCalls(CreateTargetGroupCommand)[0]!
    .thisValue as ElasticLoadBalancingV2Client;
  assert.equal(await client.config.region(), 'eu-west-1');
});
