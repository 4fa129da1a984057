import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  CreateServiceCommand,
  DeleteServiceCommand,
  type Deployment,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSServiceException,
  InvalidParameterException,
  LimitExceededException,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  ServerException,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsEcs } from '../controller/providers/aws/ecs.ts';
import type {
  EcsPort,
  ServiceCreate,
  TaskDefinitionId,
  TaskDefinitionSpec,
} from '../controller/ports/ecs.ts';
import { withTaskDefinitionTagCache } from '../controller/ports/task-definition-tags.ts';
import { FakeEcs, type TargetGroupStatus } from './support/aws-fake/ecs.ts';

const REGION = 'eu-west-1';
const CLUSTER = 'tandem';
const ACCOUNT = '123456789012';
const TAGS = { 'tandem:managed-by': 'tandem', 'tandem:site': 'demo' };
const TG_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/demo-stable/00000000000000aa`;
const TG_CANARY_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/demo-canary/00000000000000bb`;

function spec(family = 'tandem-demo-0123456789ab'): TaskDefinitionSpec {
  return {
    family,
    image: 'public.ecr.aws/tandem/site:v1',
    cpu: 256,
    memory: 512,
    architecture: 'X86_64',
    containerPort: 8080,
    healthCheckPath: '/healthz',
    readOnlyRootFilesystem: true,
    environment: { ZETA: 'last', ALPHA: 'first', MIDDLE: 'm' },
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-execution`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-task`,
    logGroup: `/tandem/${REGION}`,
  };
}

function serviceCreate(overrides: Partial<ServiceCreate> = {}): ServiceCreate {
  return {
    name: 'demo-stable',
    taskDefinition: 'tandem-demo-0123456789ab',
    desiredCount: 2,
    targetGroupArn: TG_ARN,
    containerPort: 8080,
    subnets: ['subnet-a', 'subnet-b'],
    securityGroups: ['sg-tasks'],
    assignPublicIp: true,
    tags: TAGS,
    ...overrides,
  };
}

/** A fake ECS with one cluster, and an adapter over it (a fresh one is a cold Lambda). */
function setup(t: TestContext, targetGroupStatus?: (region: string, arn: string) => TargetGroupStatus) {
  const fake = new FakeEcs({
    clusters: { [REGION]: [CLUSTER] },
    account: ACCOUNT,
    ...(targetGroupStatus === undefined ? {} : { targetGroupStatus }),
  });
  t.after(() => fake.restore());
  return { fake, ecs: new AwsEcs(new AwsClients()) };
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

async function listAll(ecs: EcsPort, family?: string): Promise<{ pages: TaskDefinitionId[][] }> {
  const pages: TaskDefinitionId[][] = [];
  let next: string | undefined;
  do {
    const page = await ecs.listTaskDefinitions(REGION, {
      ...(family === undefined ? {} : { family }),
      ...(next === undefined ? {} : { next }),
    });
    pages.push(page.items);
    next = page.next;
  } while (next !== undefined);
  return { pages };
}

// ----- task definitions -----

test('registerTaskDefinition sends the exact Fargate task definition with sorted environment and tags', async (t) => {
  const { fake, ecs } = setup(t);
  const ref = await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  const calls = fake.mock.commandCalls(RegisterTaskDefinitionCommand);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.args[0].input, {
    family: 'tandem-demo-0123456789ab',
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: '256',
    memory: '512',
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-execution`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-task`,
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    containerDefinitions: [
      {
        name: 'site',
        image: 'public.ecr.aws/tandem/site:v1',
        essential: true,
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
        environment: [
          { name: 'ALPHA', value: 'first' },
          { name: 'MIDDLE', value: 'm' },
          { name: 'ZETA', value: 'last' },
        ],
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': `/tandem/${REGION}`,
            'awslogs-region': REGION,
            'awslogs-stream-prefix': 'tandem-demo-0123456789ab',
          },
        },
        readonlyRootFilesystem: true,
        mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false }],
      },
    ],
    volumes: [{ name: 'tmp' }],
    tags: [
      { key: 'tandem:managed-by', value: 'tandem' },
      { key: 'tandem:site', value: 'demo' },
    ],
  });
  assert.deepEqual(ref, {
    arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tandem-demo-0123456789ab:1`,
    family: 'tandem-demo-0123456789ab',
    revision: 1,
    tags: TAGS,
  });
});

test('registerTaskDefinition gives the container the health check the spec names, which ECS runs instead of the Dockerfile HEALTHCHECK', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(
    REGION,
    { ...spec(), healthCheckCommand: ['CMD', 'node', 'healthcheck.mjs'] },
    TAGS,
  );
  const container = fake.mock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input
    .containerDefinitions![0]!;
  assert.deepEqual(container.healthCheck, {
    command: ['CMD', 'node', 'healthcheck.mjs'],
    interval: 10,
    timeout: 5,
    retries: 3,
    startPeriod: 10,
  });
});

test('registerTaskDefinition leaves the root filesystem writable, with no scratch volume, only when the spec says so', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, { ...spec(), readOnlyRootFilesystem: false }, TAGS);
  const input = fake.mock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
  assert.equal(input.containerDefinitions![0]!.readonlyRootFilesystem, false);
  assert.equal(input.containerDefinitions![0]!.mountPoints, undefined);
  assert.equal(input.containerDefinitions![0]!.healthCheck, undefined);
  assert.equal(input.volumes, undefined);
});

test('registerTaskDefinition treats an answer without a task definition ARN as Unavailable', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock
    .on(RegisterTaskDefinitionCommand)
    .resolves({ taskDefinition: { family: 'tandem-demo-0123456789ab' } });
  await rejectsWith(ecs.registerTaskDefinition(REGION, spec(), TAGS), 'Unavailable', /taskDefinitionArn/);
});

test('listTaskDefinitions pages through ListTaskDefinitions 100 at a time without familyPrefix: ARNs of every family, as ECS answers', async (t) => {
  const { fake, ecs } = setup(t);
  for (let i = 0; i < 250; i += 1)
    await ecs.registerTaskDefinition(
      REGION,
      spec(`tandem-site${String(i).padStart(3, '0')}-0123456789ab`),
      TAGS,
    );
  for (let i = 0; i < 30; i += 1) await ecs.registerTaskDefinition(REGION, spec(`other-app-${i}`), {});
  fake.mock.resetHistory();

  const { pages } = await listAll(ecs);

  const inputs = fake.mock.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input);
  assert.equal(inputs.length, 3, '280 task definitions are three pages of at most 100');
  assert.deepEqual(inputs[0], { status: 'ACTIVE', maxResults: 100 });
  for (const input of inputs.slice(1)) {
    assert.deepEqual(Object.keys(input).sort(), ['maxResults', 'nextToken', 'status']);
    assert.equal(input.status, 'ACTIVE');
    assert.equal(input.maxResults, 100);
  }
  const items = pages.flat();
  assert.equal(items.length, 280);
  assert.deepEqual(Object.keys(items[0]!).sort(), ['arn', 'family', 'revision'], 'no tags: ECS lists ARNs');
  assert.equal(fake.mock.commandCalls(DescribeTaskDefinitionCommand).length, 0);
});

test('listTaskDefinitions with a family passes it as familyPrefix, which ECS matches whole: not a prefix', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec('tandem-demo-0123456789ab'), TAGS);
  await ecs.registerTaskDefinition(REGION, spec('tandem-demo-0123456789ab'), TAGS);
  await ecs.registerTaskDefinition(REGION, spec('tandem-demo-0123456789ab-x'), TAGS);
  fake.mock.resetHistory();
  const items = (await listAll(ecs, 'tandem-demo-0123456789ab')).pages.flat();
  assert.deepEqual(
    items.map((td) => `${td.family}:${td.revision}`),
    ['tandem-demo-0123456789ab:1', 'tandem-demo-0123456789ab:2'],
  );
  assert.deepEqual(fake.mock.commandCalls(ListTaskDefinitionsCommand)[0]!.args[0].input, {
    status: 'ACTIVE',
    maxResults: 100,
    familyPrefix: 'tandem-demo-0123456789ab',
  });
  assert.deepEqual((await listAll(ecs, 'tandem-')).pages.flat(), [], 'a prefix is no family');
});

test('describeTaskDefinitionTags sends DescribeTaskDefinition with include TAGS, each call; the tag cache describes each task definition once per environment', async (t) => {
  const { fake } = setup(t);
  const warmUp = new AwsEcs(new AwsClients());
  for (let i = 0; i < 12; i += 1)
    await warmUp.registerTaskDefinition(REGION, spec(`tandem-site${i}-0123456789ab`), TAGS);
  fake.mock.resetHistory();

  const adapter = new AwsEcs(new AwsClients());
  const arns = (await listAll(adapter)).pages.flat().map((td) => td.arn);
  const tagsOf = (ecs: EcsPort) =>
    Promise.all(arns.map((arn) => ecs.describeTaskDefinitionTags(REGION, arn)));
  assert.ok((await tagsOf(adapter)).every((tags) => tags['tandem:site'] === 'demo'));
  await tagsOf(adapter);
  const describes = fake.mock.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input);
  assert.equal(describes.length, 24, 'the adapter itself keeps nothing');
  assert.deepEqual(describes[0], {
    taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tandem-site0-0123456789ab:1`,
    include: ['TAGS'],
  });

  fake.mock.resetHistory();
  const fresh = withTaskDefinitionTagCache(new AwsEcs(new AwsClients()));
  const first = await tagsOf(fresh);
  assert.equal(
    fake.mock.commandCalls(DescribeTaskDefinitionCommand).length,
    12,
    'a fresh environment: one each',
  );
  fake.mock.resetHistory();
  assert.deepEqual(await tagsOf(fresh), first);
  assert.equal(fake.mock.commandCalls(DescribeTaskDefinitionCommand).length, 0, 'a warm one: none');
  const registered = await fresh.registerTaskDefinition(REGION, spec('tandem-new-0123456789ab'), TAGS);
  assert.deepEqual(await fresh.describeTaskDefinitionTags(REGION, registered.arn), TAGS);
  assert.equal(fake.mock.commandCalls(DescribeTaskDefinitionCommand).length, 0, 'registered: known');
});

test('listTaskDefinitions leaves out deregistered task definitions', async (t) => {
  const { ecs } = setup(t);
  const one = await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  const two = await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.deregisterTaskDefinition(REGION, one.arn);
  const items = (await listAll(ecs)).pages.flat();
  assert.deepEqual(
    items.map((td) => td.arn),
    [two.arn],
  );
});

test('listTaskDefinitions treats an ARN it cannot parse as Unavailable', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: ['tandem-demo-0123456789ab'] });
  await rejectsWith(ecs.listTaskDefinitions(REGION), 'Unavailable', /task definition ARN/);
});

test('deregisterTaskDefinition sends the ARN, and an unknown one is NotFound', async (t) => {
  const { fake, ecs } = setup(t);
  const ref = await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.deregisterTaskDefinition(REGION, ref.arn);
  assert.deepEqual(fake.mock.commandCalls(DeregisterTaskDefinitionCommand)[0]!.args[0].input, {
    taskDefinition: ref.arn,
  });
  await rejectsWith(
    ecs.deregisterTaskDefinition(REGION, ref.arn.replace(/:1$/, ':7')),
    'NotFound',
    /ecs:DeregisterTaskDefinition failed \(ClientException\)/,
  );
});

// ----- services -----

test('createService sends the exact Fargate service with circuit breaker, load balancer and tags', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  const created = await ecs.createService(REGION, CLUSTER, serviceCreate());
  assert.deepEqual(fake.mock.commandCalls(CreateServiceCommand)[0]!.args[0].input, {
    cluster: CLUSTER,
    serviceName: 'demo-stable',
    taskDefinition: 'tandem-demo-0123456789ab',
    desiredCount: 2,
    launchType: 'FARGATE',
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: ['subnet-a', 'subnet-b'],
        securityGroups: ['sg-tasks'],
        assignPublicIp: 'ENABLED',
      },
    },
    loadBalancers: [{ targetGroupArn: TG_ARN, containerName: 'site', containerPort: 8080 }],
    healthCheckGracePeriodSeconds: 30,
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      minimumHealthyPercent: 100,
      maximumPercent: 200,
    },
    enableECSManagedTags: true,
    propagateTags: 'SERVICE',
    tags: [
      { key: 'tandem:managed-by', value: 'tandem' },
      { key: 'tandem:site', value: 'demo' },
    ],
  });
  assert.deepEqual(created, {
    name: 'demo-stable',
    arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`,
    status: 'ACTIVE',
    taskDefinition: 'tandem-demo-0123456789ab',
    deploymentFamilies: ['tandem-demo-0123456789ab'],
    desiredCount: 2,
    runningCount: 0,
    pendingCount: 2,
    rolloutInProgress: true,
    targetGroupArn: TG_ARN,
    tags: TAGS,
  });
});

test('createService with private subnets asks for no public IP', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate({ assignPublicIp: false }));
  const input = fake.mock.commandCalls(CreateServiceCommand)[0]!.args[0].input;
  assert.equal(input.networkConfiguration?.awsvpcConfiguration?.assignPublicIp, 'DISABLED');
});

test('createService of a name in use is a Conflict, whether ACTIVE or still DRAINING', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate({ desiredCount: 0 }));
  await rejectsWith(ecs.createService(REGION, CLUSTER, serviceCreate()), 'Conflict', /not idempotent/);
  await ecs.deleteService(REGION, CLUSTER, 'demo-stable');
  await rejectsWith(ecs.createService(REGION, CLUSTER, serviceCreate()), 'Conflict', /still Draining/);
  fake.tick();
  const again = await ecs.createService(REGION, CLUSTER, serviceCreate());
  assert.equal(again.status, 'ACTIVE');
});

test('ECS refusing a target group no load balancer forwards to (yet: just after its rule is created) is a passing Conflict, on create and on update', async (t) => {
  let attached = false;
  const { ecs } = setup(t, () => (attached ? 'attached' : 'unattached'));
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await rejectsWith(
    ecs.createService(REGION, CLUSTER, serviceCreate()),
    'Conflict',
    /does not have an associated load balancer/,
  );
  attached = true;
  await ecs.createService(REGION, CLUSTER, serviceCreate());
  attached = false;
  await rejectsWith(
    ecs.updateService(REGION, CLUSTER, 'demo-stable', { targetGroupArn: TG_CANARY_ARN, containerPort: 8080 }),
    'Conflict',
    /does not have an associated load balancer/,
  );
});

test('other InvalidParameterExceptions from CreateService and UpdateService stay Invalid', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  fake.fail('CreateService', () => new InvalidParameterException({ message: 'bad subnet', $metadata: {} }));
  await rejectsWith(ecs.createService(REGION, CLUSTER, serviceCreate()), 'Invalid', /bad subnet/);
  await ecs.createService(REGION, CLUSTER, serviceCreate());
  fake.fail('UpdateService', () => new InvalidParameterException({ message: 'bad count', $metadata: {} }));
  await rejectsWith(
    ecs.updateService(REGION, CLUSTER, 'demo-stable', { desiredCount: 3 }),
    'Invalid',
    /bad count/,
  );
});

test('createService of a family with no ACTIVE task definition is Invalid', async (t) => {
  const { ecs } = setup(t);
  await rejectsWith(
    ecs.createService(REGION, CLUSTER, serviceCreate()),
    'Invalid',
    /TaskDefinition not found/,
  );
});

test('registerTaskDefinition asks Fargate for the spec’s CPU architecture', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, { ...spec(), architecture: 'ARM64' }, TAGS);
  const [call] = fake.mock.commandCalls(RegisterTaskDefinitionCommand);
  assert.deepEqual(call!.args[0].input.runtimePlatform, {
    operatingSystemFamily: 'LINUX',
    cpuArchitecture: 'ARM64',
  });
});

test('describeServices asks for tags and leaves out names ECS reports MISSING', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate());
  const services = await ecs.describeServices(REGION, CLUSTER, ['demo-stable', 'demo-canary']);
  assert.deepEqual(fake.mock.commandCalls(DescribeServicesCommand)[0]!.args[0].input, {
    cluster: CLUSTER,
    services: ['demo-stable', 'demo-canary'],
    include: ['TAGS'],
  });
  assert.deepEqual(
    services.map((s) => [s.name, s.tags]),
    [['demo-stable', TAGS]],
  );
});

test('describeServices of no names makes no call', async (t) => {
  const { fake, ecs } = setup(t);
  assert.deepEqual(await ecs.describeServices(REGION, CLUSTER, []), []);
  assert.equal(fake.mock.commandCalls(DescribeServicesCommand).length, 0);
});

test('describeServices passes ten names and lets ECS refuse eleven as Invalid', async (t) => {
  const { fake, ecs } = setup(t);
  const names = Array.from({ length: 11 }, (_, i) => `site${i}-stable`);
  assert.deepEqual(await ecs.describeServices(REGION, CLUSTER, names.slice(0, 10)), []);
  await rejectsWith(ecs.describeServices(REGION, CLUSTER, names), 'Invalid', /InvalidParameterException/);
  assert.equal(fake.mock.commandCalls(DescribeServicesCommand)[1]!.args[0].input.services?.length, 11);
});

test('describeServices fails a failure other than MISSING rather than report the service absent', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock.on(DescribeServicesCommand).resolves({
    services: [],
    failures: [
      { arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`, reason: 'INTERNAL' },
    ],
  });
  await rejectsWith(ecs.describeServices(REGION, CLUSTER, ['demo-stable']), 'Unavailable', /INTERNAL/);
});

for (const [field, service] of [
  ['serviceArn', { serviceName: 'demo-stable', status: 'ACTIVE', taskDefinition: 'x' }],
  ['serviceName', { serviceArn: 'arn:aws:ecs:eu-west-1:1:service/tandem/x', status: 'ACTIVE' }],
  ['a known status', { serviceName: 'demo-stable', serviceArn: 'arn:x', status: 'PAUSED' }],
  ['taskDefinition', { serviceName: 'demo-stable', serviceArn: 'arn:x', status: 'ACTIVE' }],
] as const) {
  test(`describeServices treats a service without ${field} as Unavailable`, async (t) => {
    const { fake, ecs } = setup(t);
    fake.mock.on(DescribeServicesCommand).resolves({ services: [service], failures: [] });
    await rejectsWith(
      ecs.describeServices(REGION, CLUSTER, ['demo-stable']),
      'Unavailable',
      new RegExp(field),
    );
  });
}

const tdArn = (family: string, revision = 1) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;

const rolloutCases: {
  name: string;
  deployments: Deployment[];
  running: number;
  expected: { families: string[]; rollout: boolean };
}[] = [
  {
    name: 'one completed deployment at its count',
    deployments: [{ status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'COMPLETED' }],
    running: 2,
    expected: { families: ['tandem-new'], rollout: false },
  },
  {
    name: 'a primary deployment still IN_PROGRESS',
    deployments: [{ status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'IN_PROGRESS' }],
    running: 2,
    expected: { families: ['tandem-new'], rollout: true },
  },
  {
    name: 'two deployments, the old one listed first',
    deployments: [
      { status: 'ACTIVE', taskDefinition: tdArn('tandem-old'), rolloutState: 'COMPLETED' },
      { status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'IN_PROGRESS' },
    ],
    running: 2,
    expected: { families: ['tandem-new', 'tandem-old'], rollout: true },
  },
  {
    name: 'a completed deployment still reaching a new desired count (scaling is not a rollout)',
    deployments: [{ status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'COMPLETED' }],
    running: 1,
    expected: { families: ['tandem-new'], rollout: false },
  },
  {
    name: 'two deployments of one family (a target group move)',
    deployments: [
      { status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'IN_PROGRESS' },
      { status: 'ACTIVE', taskDefinition: tdArn('tandem-new'), rolloutState: 'COMPLETED' },
    ],
    running: 2,
    expected: { families: ['tandem-new'], rollout: true },
  },
];

for (const { name, deployments, running, expected } of rolloutCases) {
  test(`describeServices maps ${name}`, async (t) => {
    const { fake, ecs } = setup(t);
    fake.mock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'demo-stable',
          serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`,
          status: 'ACTIVE',
          taskDefinition: tdArn('tandem-new'),
          deployments,
          desiredCount: 2,
          runningCount: running,
          pendingCount: 2 - running,
          loadBalancers: [{ targetGroupArn: TG_ARN, containerName: 'site', containerPort: 8080 }],
          tags: [{ key: 'tandem:site', value: 'demo' }],
        },
      ],
      failures: [],
    });
    const [state] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
    assert.deepEqual(state, {
      name: 'demo-stable',
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`,
      status: 'ACTIVE',
      taskDefinition: 'tandem-new',
      deploymentFamilies: expected.families,
      desiredCount: 2,
      runningCount: running,
      pendingCount: 2 - running,
      rolloutInProgress: expected.rollout,
      targetGroupArn: TG_ARN,
      tags: { 'tandem:site': 'demo' },
    });
  });
}

const CIRCUIT_BREAKER = 'ECS deployment circuit breaker: tasks failed to start.';

function serviceWith(taskDefinition: string, deployments: Deployment[], running = 2) {
  return {
    serviceName: 'demo-stable',
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`,
    status: 'ACTIVE',
    taskDefinition: tdArn(taskDefinition),
    deployments,
    desiredCount: 2,
    runningCount: running,
    pendingCount: 0,
    tags: [{ key: 'tandem:site', value: 'demo' }],
  };
}

test('describeServices reads a deployment the circuit breaker failed while ECS rolls the service back', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock.on(DescribeServicesCommand).resolves({
    services: [
      serviceWith('tandem-old', [
        // The rollback is the new PRIMARY, on the last completed task definition.
        { status: 'PRIMARY', taskDefinition: tdArn('tandem-old'), rolloutState: 'IN_PROGRESS' },
        {
          status: 'ACTIVE',
          taskDefinition: tdArn('tandem-new'),
          rolloutState: 'FAILED',
          rolloutStateReason: CIRCUIT_BREAKER,
        },
      ]),
    ],
    failures: [],
  });
  const [state] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(state!.taskDefinition, 'tandem-old', 'the service runs what it was rolled back to');
  assert.deepEqual(state!.failedRollout, { taskDefinition: 'tandem-new', reason: CIRCUIT_BREAKER });
  assert.equal(state!.rolloutInProgress, true);
});

test('describeServices reads a failed primary deployment with nothing to roll back to, and the newest of two failures', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock
    .on(DescribeServicesCommand)
    .resolvesOnce({
      services: [
        serviceWith(
          'tandem-new',
          [{ status: 'PRIMARY', taskDefinition: tdArn('tandem-new'), rolloutState: 'FAILED' }],
          0,
        ),
      ],
    })
    .resolvesOnce({
      services: [
        serviceWith('tandem-old', [
          { status: 'PRIMARY', taskDefinition: tdArn('tandem-old'), rolloutState: 'IN_PROGRESS' },
          {
            status: 'ACTIVE',
            taskDefinition: tdArn('tandem-first'),
            rolloutState: 'FAILED',
            rolloutStateReason: 'first',
            createdAt: new Date('2026-01-01T00:00:00Z'),
          },
          {
            status: 'ACTIVE',
            taskDefinition: tdArn('tandem-second'),
            rolloutState: 'FAILED',
            rolloutStateReason: 'second',
            createdAt: new Date('2026-01-01T00:10:00Z'),
          },
        ]),
      ],
    });
  const [stuck] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.deepEqual(stuck!.failedRollout, {
    taskDefinition: 'tandem-new',
    reason: 'ECS marked the deployment FAILED',
  });
  const [twice] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.deepEqual(twice!.failedRollout, { taskDefinition: 'tandem-second', reason: 'second' });
});

test('describeServices reports no failed rollout once ECS lists only completed or running deployments', async (t) => {
  const { fake, ecs } = setup(t);
  fake.mock.on(DescribeServicesCommand).resolves({
    services: [
      serviceWith('tandem-old', [
        { status: 'PRIMARY', taskDefinition: tdArn('tandem-old'), rolloutState: 'COMPLETED' },
      ]),
    ],
  });
  const [state] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(state!.failedRollout, undefined);
});

test('describeServices reports why ECS cannot place tasks while they are missing, from its newest event', async (t) => {
  const { fake, ecs } = setup(t);
  const unable =
    '(service demo-stable) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone.';
  const service = (running: number, events: string[]) => ({
    serviceName: 'demo-stable',
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${CLUSTER}/demo-stable`,
    status: 'ACTIVE',
    taskDefinition: tdArn('tandem-new'),
    desiredCount: 3,
    runningCount: running,
    pendingCount: 0,
    events: events.map((message, i) => ({ id: String(i), message })),
  });
  fake.mock
    .on(DescribeServicesCommand)
    .resolvesOnce({ services: [service(1, [unable, '(service demo-stable) has started 1 tasks'])] })
    .resolvesOnce({ services: [service(3, [unable])] })
    .resolvesOnce({ services: [service(1, ['(service demo-stable) has started 1 tasks', unable])] });
  const [starved] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(starved!.placementFailure, unable);
  const [placed] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(placed!.placementFailure, undefined, 'every task runs: an old event is history');
  const [started] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(started!.placementFailure, undefined, 'a newer event replaced it');
});

test('updateService sends only what changes', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.registerTaskDefinition(REGION, spec('tandem-demo-bbbbbbbbbbbb'), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate());
  await ecs.updateService(REGION, CLUSTER, 'demo-stable', { desiredCount: 5 });
  await ecs.updateService(REGION, CLUSTER, 'demo-stable', { taskDefinition: 'tandem-demo-bbbbbbbbbbbb' });
  await ecs.updateService(REGION, CLUSTER, 'demo-stable', {
    targetGroupArn: TG_CANARY_ARN,
    containerPort: 8080,
  });
  assert.deepEqual(
    fake.mock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input),
    [
      { cluster: CLUSTER, service: 'demo-stable', desiredCount: 5 },
      { cluster: CLUSTER, service: 'demo-stable', taskDefinition: 'tandem-demo-bbbbbbbbbbbb' },
      {
        cluster: CLUSTER,
        service: 'demo-stable',
        loadBalancers: [{ targetGroupArn: TG_CANARY_ARN, containerName: 'site', containerPort: 8080 }],
      },
    ],
  );
  const [state] = await ecs.describeServices(REGION, CLUSTER, ['demo-stable']);
  assert.equal(state!.targetGroupArn, TG_CANARY_ARN);
  assert.deepEqual(state!.deploymentFamilies, ['tandem-demo-bbbbbbbbbbbb', 'tandem-demo-0123456789ab']);
});

test('updateService sends every change at once', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate());
  await ecs.updateService(REGION, CLUSTER, 'demo-stable', {
    desiredCount: 3,
    taskDefinition: 'tandem-demo-0123456789ab',
    targetGroupArn: TG_CANARY_ARN,
    containerPort: 8080,
  });
  assert.deepEqual(fake.mock.commandCalls(UpdateServiceCommand)[0]!.args[0].input, {
    cluster: CLUSTER,
    service: 'demo-stable',
    desiredCount: 3,
    taskDefinition: 'tandem-demo-0123456789ab',
    loadBalancers: [{ targetGroupArn: TG_CANARY_ARN, containerName: 'site', containerPort: 8080 }],
  });
});

test('updateService refuses a target group move without a container port, before calling ECS', async (t) => {
  const { fake, ecs } = setup(t);
  await rejectsWith(
    ecs.updateService(REGION, CLUSTER, 'demo-stable', { targetGroupArn: TG_CANARY_ARN }),
    'Invalid',
    /containerPort/,
  );
  assert.equal(fake.mock.commandCalls(UpdateServiceCommand).length, 0);
});

test('updateService of a missing or draining service is NotFound', async (t) => {
  const { ecs } = setup(t);
  await rejectsWith(
    ecs.updateService(REGION, CLUSTER, 'demo-stable', { desiredCount: 1 }),
    'NotFound',
    /ServiceNotFoundException/,
  );
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate({ desiredCount: 0 }));
  await ecs.deleteService(REGION, CLUSTER, 'demo-stable');
  await rejectsWith(
    ecs.updateService(REGION, CLUSTER, 'demo-stable', { desiredCount: 1 }),
    'NotFound',
    /ServiceNotActiveException/,
  );
});

test('deleteService sends cluster and name, and leaves the service DRAINING then INACTIVE', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate({ desiredCount: 0 }));
  await ecs.deleteService(REGION, CLUSTER, 'demo-stable');
  assert.deepEqual(fake.mock.commandCalls(DeleteServiceCommand)[0]!.args[0].input, {
    cluster: CLUSTER,
    service: 'demo-stable',
  });
  assert.equal((await ecs.describeServices(REGION, CLUSTER, ['demo-stable']))[0]!.status, 'DRAINING');
  fake.tick();
  assert.equal((await ecs.describeServices(REGION, CLUSTER, ['demo-stable']))[0]!.status, 'INACTIVE');
});

test('deleteService while tasks are wanted is Invalid, as ECS refuses it without force', async (t) => {
  const { fake, ecs } = setup(t);
  await ecs.registerTaskDefinition(REGION, spec(), TAGS);
  await ecs.createService(REGION, CLUSTER, serviceCreate({ desiredCount: 1 }));
  await rejectsWith(ecs.deleteService(REGION, CLUSTER, 'demo-stable'), 'Invalid', /scaled above 0/);
  assert.equal(fake.mock.commandCalls(DeleteServiceCommand)[0]!.args[0].input.force, undefined);
});

// ----- errors -----

const ecsErrors: { name: string; error: () => Error; kind: CloudErrorKind; message?: RegExp }[] = [
  {
    name: 'ThrottlingException',
    error: () =>
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    kind: 'Throttled',
  },
  {
    name: 'AccessDeniedException',
    error: () => new AccessDeniedException({ message: 'not authorized', $metadata: { httpStatusCode: 400 } }),
    kind: 'AccessDenied',
    message: /Grant ecs:CreateService on demo-stable/,
  },
  {
    name: 'ServerException',
    error: () => new ServerException({ message: 'Service unavailable', $metadata: { httpStatusCode: 500 } }),
    kind: 'Unavailable',
  },
  {
    name: 'an unmodelled 503',
    error: () =>
      new ECSServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'try later',
      }),
    kind: 'Unavailable',
  },
  {
    name: 'ClusterNotFoundException',
    error: () => new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'ServiceNotFoundException',
    error: () => new ServiceNotFoundException({ message: 'Service not found.', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'ServiceNotActiveException',
    error: () => new ServiceNotActiveException({ message: 'Service was not ACTIVE.', $metadata: {} }),
    kind: 'NotFound',
  },
  {
    name: 'InvalidParameterException',
    error: () => new InvalidParameterException({ message: 'bad subnet', $metadata: {} }),
    kind: 'Invalid',
  },
  {
    name: 'ClientException',
    error: () => new ClientException({ message: 'bad role', $metadata: {} }),
    kind: 'Invalid',
  },
  {
    name: 'LimitExceededException (a quota: waiting does not raise it)',
    error: () =>
      new LimitExceededException({ message: 'The limit for the resource was exceeded.', $metadata: {} }),
    kind: 'QuotaExceeded',
    message:
      /reached a quota \(LimitExceededException\): The limit for the resource was exceeded\. Ask for more in Service Quotas/,
  },
];

for (const { name, error, kind, message } of ecsErrors) {
  test(`an ECS ${name} is a ${kind} CloudError naming the operation and resource`, async (t) => {
    const { fake, ecs } = setup(t);
    fake.fail('CreateService', error);
    const e = await rejectsWith(ecs.createService(REGION, CLUSTER, serviceCreate()), kind, message);
    assert.equal(e.resource, 'demo-stable');
    assert.match(e.message, /ecs:CreateService/);
    assert.equal((e.cause as Error).name, error().name);
  });
}

test('every ECS operation reports its own name when access is denied', async (t) => {
  const { fake, ecs } = setup(t);
  const denied = () => new AccessDeniedException({ message: 'no', $metadata: {} });
  const calls: [string, () => Promise<unknown>][] = [
    ['ListTaskDefinitions', () => ecs.listTaskDefinitions(REGION)],
    ['RegisterTaskDefinition', () => ecs.registerTaskDefinition(REGION, spec(), TAGS)],
    ['DeregisterTaskDefinition', () => ecs.deregisterTaskDefinition(REGION, tdArn('tandem-x'))],
    ['DescribeServices', () => ecs.describeServices(REGION, CLUSTER, ['demo-stable'])],
    ['UpdateService', () => ecs.updateService(REGION, CLUSTER, 'demo-stable', { desiredCount: 1 })],
    ['DeleteService', () => ecs.deleteService(REGION, CLUSTER, 'demo-stable')],
  ];
  for (const [operation, call] of calls) {
    fake.fail(operation, denied);
    await rejectsWith(call(), 'AccessDenied', new RegExp(`Grant ecs:${operation} `));
  }
});

test('DescribeTaskDefinition denied while reading tags names that permission', async (t) => {
  const { fake } = setup(t);
  const ref = await new AwsEcs(new AwsClients()).registerTaskDefinition(REGION, spec(), TAGS);
  fake.fail('DescribeTaskDefinition', () => new AccessDeniedException({ message: 'no', $metadata: {} }));
  await rejectsWith(
    new AwsEcs(new AwsClients()).describeTaskDefinitionTags(REGION, ref.arn),
    'AccessDenied',
    /Grant ecs:DescribeTaskDefinition /,
  );
});
