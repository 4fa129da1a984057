/**
 * One contract for the regional ports (ECS and the load balancer), run against
 * every implementation: the simulated cloud and the AWS adapters over fakes of
 * the SDK. The scenarios follow the AWS API reference, so the simulation the
 * core is tested on and the adapters that run in Lambda cannot drift apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessDeniedException, ECSServiceException, ServerException } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2ServiceException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsEcs } from '../controller/providers/aws/ecs.ts';
import { AwsLoadBalancer } from '../controller/providers/aws/load-balancer.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import type { EcsPort, ServiceCreate, TaskDefinitionSpec } from '../controller/ports/ecs.ts';
import type { LoadBalancerPort, RuleSettings, TargetGroupState } from '../controller/ports/load-balancer.ts';
import type { Page } from '../controller/ports/page.ts';
import { FakeEcs } from './support/aws-fake/ecs.ts';
import { FakeElbv2 } from './support/aws-fake/elbv2.ts';

/** One region of one implementation, with the platform the bootstrap would have deployed. */
interface RegionalWorld {
  ecs: EcsPort;
  loadBalancer: LoadBalancerPort;
  region: string;
  cluster: string;
  listenerArn: string;
  vpcId: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  /** A reconcile interval passes: rollouts complete, draining services become INACTIVE. */
  tick(): void;
  /** Tasks of this image never become healthy: a deployment of them fails at the next tick. */
  failTasksOf(image: string): void;
  /** From now on every call in the region fails the way AWS fails with this kind. */
  failEverything(kind: 'Unavailable' | 'AccessDenied' | 'Throttled'): void;
  dispose(): void;
}

interface Implementation {
  name: string;
  create: () => RegionalWorld;
}

const REGION = 'us-east-1';
const TAGS = { 'tandem:managed-by': 'tandem', 'tandem:site': 'demo' };
const FAMILY = 'tandem-demo-aaaaaaaaaaaa';
const FAMILY_2 = 'tandem-demo-bbbbbbbbbbbb';
const FAMILY_3 = 'tandem-demo-cccccccccccc';
const BROKEN_IMAGE = 'public.ecr.aws/tandem/site:broken';

function simulated(): RegionalWorld {
  const sim = new SimulatedCloud({ regions: [REGION, 'eu-west-1'] });
  const ports = sim.ports();
  const where = sim.platform.regions[REGION]!;
  return {
    ecs: ports.ecs,
    loadBalancer: ports.loadBalancer,
    region: REGION,
    cluster: where.cluster,
    listenerArn: where.listenerArn,
    vpcId: where.vpcId,
    subnets: where.subnets,
    securityGroups: where.securityGroups,
    tick: () => sim.tick(),
    failTasksOf: (image) => sim.failTasksOf(image),
    failEverything: (kind) => sim.failRegion(REGION, kind),
    dispose: () => undefined,
  };
}

function awsOverFakes(): RegionalWorld {
  const where = simPlatform([REGION]).regions[REGION]!;
  const elb = new FakeElbv2({
    listeners: [{ region: REGION, listenerArn: where.listenerArn, loadBalancerArn: where.loadBalancerArn }],
  });
  const ecs = new FakeEcs({
    clusters: { [REGION]: [where.cluster] },
    targetGroupStatus: (region, arn) => elb.targetGroupStatus(region, arn),
  });
  const clients = new AwsClients();
  return {
    ecs: new AwsEcs(clients),
    loadBalancer: new AwsLoadBalancer(clients),
    region: REGION,
    cluster: where.cluster,
    listenerArn: where.listenerArn,
    vpcId: where.vpcId,
    subnets: where.subnets,
    securityGroups: where.securityGroups,
    tick: () => ecs.tick(),
    failTasksOf: (image) => ecs.failTasksOf(image),
    failEverything: (kind) => {
      const [ecsError, elbError] = AWS_ERRORS[kind];
      ecs.fail(undefined, ecsError, Infinity);
      elb.fail(undefined, elbError, Infinity);
    },
    dispose: () => {
      ecs.restore();
      elb.restore();
    },
  };
}

/** What ECS and ELBv2 answer when a region is failing, denying or throttling (after the SDK's retries). */
const AWS_ERRORS: Record<'Unavailable' | 'AccessDenied' | 'Throttled', [() => Error, () => Error]> = {
  Unavailable: [
    () => new ServerException({ message: 'Service unavailable', $metadata: { httpStatusCode: 500 } }),
    () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Service unavailable',
      }),
  ],
  AccessDenied: [
    () => new AccessDeniedException({ message: 'not authorized', $metadata: { httpStatusCode: 400 } }),
    () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized',
      }),
  ],
  Throttled: [
    () =>
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    () =>
      new ElasticLoadBalancingV2ServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
  ],
};

const IMPLEMENTATIONS: Implementation[] = [
  { name: 'simulated cloud', create: simulated },
  { name: 'AWS adapters over SDK fakes', create: awsOverFakes },
];

// ----- helpers -----

function taskDefinition(family = FAMILY): TaskDefinitionSpec {
  return {
    family,
    image: 'public.ecr.aws/tandem/site:v1',
    cpu: 256,
    memory: 512,
    architecture: 'X86_64',
    containerPort: 8080,
    healthCheckPath: '/healthz',
    readOnlyRootFilesystem: true,
    environment: { GREETING: 'hello' },
    executionRoleArn: 'arn:aws:iam::000000000000:role/tandem-execution',
    taskRoleArn: 'arn:aws:iam::000000000000:role/tandem-task',
    logGroup: `/tandem/${REGION}`,
  };
}

async function readAll<T>(
  read: (next?: string) => Promise<Page<T>>,
): Promise<{ items: T[]; pages: number[] }> {
  const items: T[] = [];
  const pages: number[] = [];
  let next: string | undefined;
  do {
    const page = await read(next);
    items.push(...page.items);
    pages.push(page.items.length);
    next = page.next;
  } while (next !== undefined);
  return { items, pages };
}

async function rejectsWith(promise: Promise<unknown>, kind: CloudErrorKind): Promise<void> {
  const error = await promise.then(
    () => assert.fail(`expected a ${kind} error`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
}

function forwardTo(...targets: [TargetGroupState, number][]): RuleSettings {
  return {
    header: { name: 'X-Tandem-Origin', values: ['demo.secret'] },
    forward: targets.map(([tg, weight]) => ({ targetGroupArn: tg.arn, weight })),
  };
}

function createTargetGroup(w: RegionalWorld, name: string, healthCheckPath = '/healthz') {
  return w.loadBalancer.createTargetGroup(w.region, w.vpcId, { name, port: 8080, healthCheckPath }, TAGS);
}

/**
 * What a region holds before tandem creates services: the task definitions and
 * two target groups that the site's rule already forwards to.
 */
async function readyForServices(w: RegionalWorld) {
  await w.ecs.registerTaskDefinition(w.region, taskDefinition(FAMILY), TAGS);
  await w.ecs.registerTaskDefinition(w.region, taskDefinition(FAMILY_2), TAGS);
  const stable = await createTargetGroup(w, 'demo-stable');
  const canary = await createTargetGroup(w, 'demo-canary');
  const rule = await w.loadBalancer.createRule(
    w.region,
    w.listenerArn,
    10,
    forwardTo([stable, 100], [canary, 0]),
    TAGS,
  );
  return { stable, canary, rule };
}

function service(w: RegionalWorld, targetGroup: TargetGroupState, overrides: Partial<ServiceCreate> = {}) {
  return {
    name: 'demo-stable',
    taskDefinition: FAMILY,
    desiredCount: 2,
    targetGroupArn: targetGroup.arn,
    containerPort: 8080,
    subnets: w.subnets,
    securityGroups: w.securityGroups,
    assignPublicIp: true,
    tags: TAGS,
    ...overrides,
  };
}

async function describeOne(w: RegionalWorld, name = 'demo-stable') {
  const [state] = await w.ecs.describeServices(w.region, w.cluster, [name]);
  assert.ok(state !== undefined, `${name} should be described`);
  return state;
}

// ----- the contract -----

type Scenario = [name: string, run: (w: RegionalWorld) => Promise<void>];

const SCENARIOS: Scenario[] = [
  // ECS: task definitions
  [
    'a registered task definition is listed with its family, revision and ARN, no tags; describing it gives its tags',
    async (w) => {
      const ref = await w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS);
      assert.deepEqual({ ...ref, arn: '' }, { arn: '', family: FAMILY, revision: 1, tags: TAGS });
      assert.match(ref.arn, new RegExp(`^arn:aws:ecs:${w.region}:\\d{12}:task-definition/${FAMILY}:1$`));
      const { items } = await readAll((next) => w.ecs.listTaskDefinitions(w.region, { next }));
      assert.deepEqual(items, [{ family: FAMILY, revision: 1, arn: ref.arn }]);
      assert.deepEqual(await w.ecs.describeTaskDefinitionTags(w.region, ref.arn), TAGS);
    },
  ],
  [
    'listing answers every family; a family given is matched whole, not as a prefix (ListTaskDefinitions familyPrefix)',
    async (w) => {
      await w.ecs.registerTaskDefinition(w.region, taskDefinition('tandem-a-aaaaaaaaaaaa'), TAGS);
      await w.ecs.registerTaskDefinition(w.region, taskDefinition('tandem-b-bbbbbbbbbbbb'), TAGS);
      await w.ecs.registerTaskDefinition(w.region, taskDefinition('other-app'), {});
      const families = async (family?: string) =>
        (
          await readAll((next) =>
            w.ecs.listTaskDefinitions(w.region, { next, ...(family ? { family } : {}) }),
          )
        ).items
          .map((td) => td.family)
          .sort();
      assert.deepEqual(await families(), ['other-app', 'tandem-a-aaaaaaaaaaaa', 'tandem-b-bbbbbbbbbbbb']);
      assert.deepEqual(await families('tandem-a-aaaaaaaaaaaa'), ['tandem-a-aaaaaaaaaaaa']);
      assert.deepEqual(await families('tandem-'), [], 'a prefix is no family');
      assert.deepEqual(await families('tandem-a'), []);
    },
  ],
  [
    'listing pages through more than 100 task definitions, at most 100 a page',
    async (w) => {
      for (let i = 0; i < 130; i += 1)
        await w.ecs.registerTaskDefinition(w.region, taskDefinition(`tandem-s${i}-aaaaaaaaaaaa`), TAGS);
      const { items, pages } = await readAll((next) => w.ecs.listTaskDefinitions(w.region, { next }));
      assert.ok(pages.length >= 2, `130 task definitions need more than one page, got ${pages.join('+')}`);
      assert.ok(
        pages.every((n) => n <= 100),
        `pages hold at most 100: ${pages.join('+')}`,
      );
      assert.equal(new Set(items.map((td) => td.arn)).size, 130);
    },
  ],
  [
    'revisions count up per family and continue after a deregistration',
    async (w) => {
      const one = await w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS);
      const two = await w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS);
      await w.ecs.deregisterTaskDefinition(w.region, two.arn);
      const three = await w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS);
      assert.deepEqual([one.revision, two.revision, three.revision], [1, 2, 3]);
      const { items } = await readAll((next) => w.ecs.listTaskDefinitions(w.region, { next }));
      assert.deepEqual(items.map((td) => td.revision).sort(), [1, 3]);
    },
  ],
  [
    'a deregistered task definition is no longer listed, and an unknown one cannot be deregistered',
    async (w) => {
      const ref = await w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS);
      await w.ecs.deregisterTaskDefinition(w.region, ref.arn);
      const { items } = await readAll((next) => w.ecs.listTaskDefinitions(w.region, { next }));
      assert.deepEqual(items, []);
      await rejectsWith(w.ecs.deregisterTaskDefinition(w.region, ref.arn.replace(/:1$/, ':9')), 'NotFound');
    },
  ],

  // ECS: services
  [
    'describing services leaves out names that do not exist',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      const described = await w.ecs.describeServices(w.region, w.cluster, [
        'demo-canary',
        'demo-stable',
        'nope',
      ]);
      assert.deepEqual(
        described.map((s) => s.name),
        ['demo-stable'],
      );
      assert.deepEqual(await w.ecs.describeServices(w.region, w.cluster, []), []);
    },
  ],
  [
    'describing more than 10 services in one call is Invalid',
    async (w) => {
      const names = Array.from({ length: 11 }, (_, i) => `s${i}-stable`);
      assert.deepEqual(await w.ecs.describeServices(w.region, w.cluster, names.slice(0, 10)), []);
      await rejectsWith(w.ecs.describeServices(w.region, w.cluster, names), 'Invalid');
    },
  ],
  [
    'a new service is ACTIVE and rolling out to its count, then steady after a tick',
    async (w) => {
      const { stable } = await readyForServices(w);
      const created = await w.ecs.createService(w.region, w.cluster, service(w, stable));
      const expected = {
        name: 'demo-stable',
        arn: created.arn,
        status: 'ACTIVE',
        taskDefinition: FAMILY,
        deploymentFamilies: [FAMILY],
        desiredCount: 2,
        runningCount: 0,
        pendingCount: 2,
        rolloutInProgress: true,
        targetGroupArn: stable.arn,
        tags: TAGS,
      };
      assert.deepEqual(created, expected);
      assert.deepEqual(await describeOne(w), expected);
      w.tick();
      assert.deepEqual(await describeOne(w), {
        ...expected,
        runningCount: 2,
        pendingCount: 0,
        rolloutInProgress: false,
      });
    },
  ],
  [
    'a task definition change runs both families, the new one first, until the rollout completes',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      w.tick();
      await w.ecs.updateService(w.region, w.cluster, 'demo-stable', { taskDefinition: FAMILY_2 });
      const during = await describeOne(w);
      assert.equal(during.taskDefinition, FAMILY_2);
      assert.deepEqual(during.deploymentFamilies, [FAMILY_2, FAMILY]);
      assert.equal(during.rolloutInProgress, true);
      w.tick();
      const after = await describeOne(w);
      assert.deepEqual(after.deploymentFamilies, [FAMILY_2]);
      assert.equal(after.rolloutInProgress, false);
    },
  ],
  [
    'a deployment whose tasks never become healthy fails, is rolled back, and is no longer listed once the rollback completes',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.registerTaskDefinition(
        w.region,
        { ...taskDefinition(FAMILY_3), image: BROKEN_IMAGE },
        TAGS,
      );
      w.failTasksOf(BROKEN_IMAGE);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      w.tick();
      await w.ecs.updateService(w.region, w.cluster, 'demo-stable', { taskDefinition: FAMILY_3 });
      w.tick();
      const failing = await describeOne(w);
      assert.deepEqual(
        [failing.taskDefinition, failing.rolloutInProgress, failing.failedRollout, failing.runningCount],
        [FAMILY_3, true, undefined, 2],
        "2 failed tasks are below the circuit breaker's threshold of 3: the deployment goes on, the old tasks serve",
      );
      w.tick();
      const rollingBack = await describeOne(w);
      assert.deepEqual(
        [rollingBack.taskDefinition, rollingBack.deploymentFamilies, rollingBack.rolloutInProgress],
        [FAMILY, [FAMILY, FAMILY_3], true],
        'the service goes back to the previous task definition',
      );
      assert.equal(rollingBack.failedRollout?.taskDefinition, FAMILY_3);
      assert.match(rollingBack.failedRollout.reason, /circuit breaker/);
      assert.equal(rollingBack.runningCount, 2, 'the old tasks kept serving');
      w.tick();
      const after = await describeOne(w);
      assert.deepEqual(
        [after.taskDefinition, after.deploymentFamilies, after.rolloutInProgress, after.failedRollout],
        [FAMILY, [FAMILY], false, undefined],
      );
    },
  ],
  [
    'a new service whose tasks never become healthy stays on its failed deployment with no task running',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.registerTaskDefinition(
        w.region,
        { ...taskDefinition(FAMILY_3), image: BROKEN_IMAGE },
        TAGS,
      );
      w.failTasksOf(BROKEN_IMAGE);
      await w.ecs.createService(w.region, w.cluster, service(w, stable, { taskDefinition: FAMILY_3 }));
      w.tick();
      w.tick();
      const state = await describeOne(w);
      assert.deepEqual(
        [
          state.taskDefinition,
          state.runningCount,
          state.rolloutInProgress,
          state.failedRollout?.taskDefinition,
        ],
        [FAMILY_3, 0, false, FAMILY_3],
      );
    },
  ],
  [
    'a desired-count change alone is not a rollout',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      w.tick();
      await w.ecs.updateService(w.region, w.cluster, 'demo-stable', { desiredCount: 4 });
      const state = await describeOne(w);
      assert.deepEqual(
        [state.desiredCount, state.runningCount, state.rolloutInProgress, state.deploymentFamilies],
        [4, 2, false, [FAMILY]],
      );
      w.tick();
      assert.equal((await describeOne(w)).runningCount, 4);
    },
  ],
  [
    'moving a service to another target group is a rollout of the same family',
    async (w) => {
      const { stable, canary } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      w.tick();
      await w.ecs.updateService(w.region, w.cluster, 'demo-stable', {
        targetGroupArn: canary.arn,
        containerPort: 8080,
      });
      const state = await describeOne(w);
      assert.deepEqual(
        [state.targetGroupArn, state.rolloutInProgress, state.deploymentFamilies],
        [canary.arn, true, [FAMILY]],
      );
    },
  ],
  [
    'a service that still wants tasks cannot be deleted',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      await rejectsWith(w.ecs.deleteService(w.region, w.cluster, 'demo-stable'), 'Invalid');
      assert.equal((await describeOne(w)).status, 'ACTIVE');
    },
  ],
  [
    'a deleted service is DRAINING, then INACTIVE, and can be neither updated nor deleted again',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      w.tick();
      await w.ecs.updateService(w.region, w.cluster, 'demo-stable', { desiredCount: 0 });
      w.tick();
      await w.ecs.deleteService(w.region, w.cluster, 'demo-stable');
      assert.equal((await describeOne(w)).status, 'DRAINING');
      await rejectsWith(
        w.ecs.updateService(w.region, w.cluster, 'demo-stable', { desiredCount: 1 }),
        'NotFound',
      );
      await rejectsWith(w.ecs.deleteService(w.region, w.cluster, 'demo-stable'), 'NotFound');
      w.tick();
      const gone = await describeOne(w);
      assert.deepEqual([gone.status, gone.runningCount], ['INACTIVE', 0]);
    },
  ],
  [
    'a service name in use cannot be created again until the old service is INACTIVE',
    async (w) => {
      const { stable } = await readyForServices(w);
      await w.ecs.createService(w.region, w.cluster, service(w, stable, { desiredCount: 0 }));
      await rejectsWith(w.ecs.createService(w.region, w.cluster, service(w, stable)), 'Conflict');
      await w.ecs.deleteService(w.region, w.cluster, 'demo-stable');
      await rejectsWith(w.ecs.createService(w.region, w.cluster, service(w, stable)), 'Conflict');
      w.tick();
      const again = await w.ecs.createService(w.region, w.cluster, service(w, stable));
      assert.equal(again.status, 'ACTIVE');
      assert.equal((await describeOne(w)).status, 'ACTIVE');
    },
  ],
  [
    'a service cannot run a family that has no ACTIVE task definition',
    async (w) => {
      const { stable } = await readyForServices(w);
      await rejectsWith(
        w.ecs.createService(
          w.region,
          w.cluster,
          service(w, stable, { taskDefinition: 'tandem-demo-cccccccccccc' }),
        ),
        'Invalid',
      );
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      await rejectsWith(
        w.ecs.updateService(w.region, w.cluster, 'demo-stable', {
          taskDefinition: 'tandem-demo-cccccccccccc',
        }),
        'Invalid',
      );
    },
  ],
  [
    // A Conflict, which passes: right after the rule is created ECS may still not see it (the next pass retries).
    'a service can neither start in nor move to a target group no listener rule forwards to (yet)',
    async (w) => {
      const { stable } = await readyForServices(w);
      const lonely = await createTargetGroup(w, 'demo-other');
      await rejectsWith(w.ecs.createService(w.region, w.cluster, service(w, lonely)), 'Conflict');
      await w.ecs.createService(w.region, w.cluster, service(w, stable));
      await rejectsWith(
        w.ecs.updateService(w.region, w.cluster, 'demo-stable', {
          targetGroupArn: lonely.arn,
          containerPort: 8080,
        }),
        'Conflict',
      );
      assert.equal((await describeOne(w)).targetGroupArn, stable.arn);
    },
  ],
  [
    'services of an unknown cluster or name are NotFound',
    async (w) => {
      await rejectsWith(w.ecs.describeServices(w.region, 'no-such-cluster', ['demo-stable']), 'NotFound');
      await rejectsWith(w.ecs.updateService(w.region, w.cluster, 'nope', { desiredCount: 1 }), 'NotFound');
      await rejectsWith(w.ecs.deleteService(w.region, w.cluster, 'nope'), 'NotFound');
    },
  ],

  // Load balancer: target groups
  [
    'a created target group is listed and its tags read back',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      assert.deepEqual(
        { ...tg, arn: '' },
        { arn: '', name: 'demo-stable', port: 8080, healthCheckPath: '/healthz', vpcId: w.vpcId },
      );
      const { items } = await readAll((next) => w.loadBalancer.describeTargetGroups(w.region, next));
      assert.deepEqual(items, [tg]);
      assert.deepEqual(await w.loadBalancer.describeTags(w.region, [tg.arn]), { [tg.arn]: TAGS });
    },
  ],
  [
    'creating a target group again answers the same group for the same settings and Conflict for others',
    async (w) => {
      const first = await createTargetGroup(w, 'demo-stable');
      assert.equal((await createTargetGroup(w, 'demo-stable')).arn, first.arn);
      await rejectsWith(createTargetGroup(w, 'demo-stable', '/other'), 'Conflict');
      const { items } = await readAll((next) => w.loadBalancer.describeTargetGroups(w.region, next));
      assert.equal(items.length, 1);
    },
  ],
  [
    'a target group name ELB would refuse is Invalid',
    async (w) => {
      await rejectsWith(createTargetGroup(w, 'a'.repeat(33)), 'Invalid');
      await rejectsWith(createTargetGroup(w, '-demo-stable'), 'Invalid');
      await rejectsWith(createTargetGroup(w, 'demo_stable'), 'Invalid');
      assert.equal((await createTargetGroup(w, 'a'.repeat(32))).name, 'a'.repeat(32));
    },
  ],
  [
    'a target group health check path can be changed; an unknown group is NotFound',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      await w.loadBalancer.modifyTargetGroup(w.region, tg.arn, { healthCheckPath: '/ready' });
      const { items } = await readAll((next) => w.loadBalancer.describeTargetGroups(w.region, next));
      assert.equal(items[0]!.healthCheckPath, '/ready');
      await rejectsWith(
        w.loadBalancer.modifyTargetGroup(w.region, tg.arn.replace(/\/[^/]+$/, '/ffffffffffffffff'), {
          healthCheckPath: '/',
        }),
        'NotFound',
      );
    },
  ],
  [
    'a target group a rule forwards to cannot be deleted until the rule is gone',
    async (w) => {
      const stable = await createTargetGroup(w, 'demo-stable');
      const canary = await createTargetGroup(w, 'demo-canary');
      const rule = await w.loadBalancer.createRule(
        w.region,
        w.listenerArn,
        10,
        forwardTo([stable, 100], [canary, 0]),
        TAGS,
      );
      await rejectsWith(w.loadBalancer.deleteTargetGroup(w.region, canary.arn), 'Conflict');
      await w.loadBalancer.modifyRule(w.region, rule.arn, forwardTo([stable, 100]));
      await w.loadBalancer.deleteTargetGroup(w.region, canary.arn);
      const { items } = await readAll((next) => w.loadBalancer.describeTargetGroups(w.region, next));
      assert.deepEqual(
        items.map((tg) => tg.name),
        ['demo-stable'],
      );
    },
  ],
  [
    'target groups page at most 400 at a time',
    async (w) => {
      for (let i = 0; i < 410; i += 1) await createTargetGroup(w, `s${i}-stable`);
      const { items, pages } = await readAll((next) => w.loadBalancer.describeTargetGroups(w.region, next));
      assert.ok(pages.length >= 2 && pages.every((n) => n <= 400), pages.join('+'));
      assert.equal(new Set(items.map((tg) => tg.arn)).size, 410);
    },
  ],

  // Load balancer: rules
  [
    "a created rule is listed, without the listener's default rule, and its tags read back",
    async (w) => {
      const stable = await createTargetGroup(w, 'demo-stable');
      const canary = await createTargetGroup(w, 'demo-canary');
      const settings = forwardTo([stable, 85], [canary, 15]);
      const rule = await w.loadBalancer.createRule(w.region, w.listenerArn, 10, settings, TAGS);
      assert.deepEqual({ ...rule, arn: '' }, { arn: '', priority: 10, ...settings });
      const { items } = await readAll((next) => w.loadBalancer.describeRules(w.region, w.listenerArn, next));
      assert.deepEqual(items, [rule]);
      assert.deepEqual(await w.loadBalancer.describeTags(w.region, [rule.arn, stable.arn]), {
        [rule.arn]: TAGS,
        [stable.arn]: TAGS,
      });
    },
  ],
  [
    'a priority in use is a Conflict and one outside 1 to 50000 is Invalid',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      await w.loadBalancer.createRule(w.region, w.listenerArn, 10, forwardTo([tg, 100]), TAGS);
      await rejectsWith(
        w.loadBalancer.createRule(w.region, w.listenerArn, 10, forwardTo([tg, 100]), TAGS),
        'Conflict',
      );
      await rejectsWith(
        w.loadBalancer.createRule(w.region, w.listenerArn, 0, forwardTo([tg, 100]), TAGS),
        'Invalid',
      );
      await rejectsWith(
        w.loadBalancer.createRule(w.region, w.listenerArn, 50_001, forwardTo([tg, 100]), TAGS),
        'Invalid',
      );
      await w.loadBalancer.createRule(w.region, w.listenerArn, 50_000, forwardTo([tg, 100]), TAGS);
    },
  ],
  [
    'a rule forwarding to an unknown target group, or on an unknown listener, is NotFound',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      const unknown = { ...tg, arn: tg.arn.replace(/\/[^/]+$/, '/ffffffffffffffff') };
      await rejectsWith(
        w.loadBalancer.createRule(w.region, w.listenerArn, 10, forwardTo([unknown, 100]), TAGS),
        'NotFound',
      );
      const otherListener = w.listenerArn.replace(/\/[^/]+$/, '/0000000000000000');
      await rejectsWith(
        w.loadBalancer.createRule(w.region, otherListener, 10, forwardTo([tg, 100]), TAGS),
        'NotFound',
      );
      await rejectsWith(w.loadBalancer.describeRules(w.region, otherListener), 'NotFound');
    },
  ],
  [
    'a rule can be changed in header and weights; an unknown rule is NotFound',
    async (w) => {
      const stable = await createTargetGroup(w, 'demo-stable');
      const canary = await createTargetGroup(w, 'demo-canary');
      const rule = await w.loadBalancer.createRule(
        w.region,
        w.listenerArn,
        10,
        forwardTo([stable, 100]),
        TAGS,
      );
      const changed = {
        ...forwardTo([stable, 60], [canary, 40]),
        // Two values while the origin secret rotates: ALB matches either, and reads them back as written.
        header: { name: 'X-Tandem-Origin', values: ['demo.new', 'demo.old'] },
      };
      await w.loadBalancer.modifyRule(w.region, rule.arn, changed);
      const { items } = await readAll((next) => w.loadBalancer.describeRules(w.region, w.listenerArn, next));
      assert.deepEqual(items, [{ arn: rule.arn, priority: 10, ...changed }]);
      await w.loadBalancer.deleteRule(w.region, rule.arn);
      await rejectsWith(w.loadBalancer.modifyRule(w.region, rule.arn, changed), 'NotFound');
    },
  ],
  [
    'a deleted rule is gone and cannot be deleted again',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      const rule = await w.loadBalancer.createRule(w.region, w.listenerArn, 10, forwardTo([tg, 100]), TAGS);
      await w.loadBalancer.deleteRule(w.region, rule.arn);
      const { items } = await readAll((next) => w.loadBalancer.describeRules(w.region, w.listenerArn, next));
      assert.deepEqual(items, []);
      await rejectsWith(w.loadBalancer.deleteRule(w.region, rule.arn), 'NotFound');
    },
  ],
  [
    'rules page at most 400 at a time',
    async (w) => {
      const tg = await createTargetGroup(w, 'demo-stable');
      for (let priority = 1; priority <= 410; priority += 1)
        await w.loadBalancer.createRule(w.region, w.listenerArn, priority, forwardTo([tg, 100]), TAGS);
      const { items, pages } = await readAll((next) =>
        w.loadBalancer.describeRules(w.region, w.listenerArn, next),
      );
      assert.ok(pages.length >= 2 && pages.every((n) => n <= 400), pages.join('+'));
      assert.deepEqual(
        items.map((r) => r.priority),
        Array.from({ length: 410 }, (_, i) => i + 1),
      );
    },
  ],

  // Load balancer: tags
  [
    'tags are read for at most 20 resources a call, and an unknown target group is NotFound',
    async (w) => {
      const arns: string[] = [];
      for (let i = 0; i < 21; i += 1) arns.push((await createTargetGroup(w, `s${i}-stable`)).arn);
      assert.equal(Object.keys(await w.loadBalancer.describeTags(w.region, arns.slice(0, 20))).length, 20);
      await rejectsWith(w.loadBalancer.describeTags(w.region, arns), 'Invalid');
      await w.loadBalancer.deleteTargetGroup(w.region, arns[0]!);
      await rejectsWith(w.loadBalancer.describeTags(w.region, [arns[0]!]), 'NotFound');
    },
  ],

  // Errors
  ...(['Unavailable', 'AccessDenied', 'Throttled'] as const).map((kind): Scenario => [
    `a region whose calls fail as ${kind} reports ${kind} from both ports`,
    async (w) => {
      w.failEverything(kind);
      await rejectsWith(w.ecs.describeServices(w.region, w.cluster, ['demo-stable']), kind);
      // One throttled call is enough: the simulated client retries it with backoff first, as the SDK does.
      if (kind !== 'Throttled') {
        await rejectsWith(w.loadBalancer.describeTargetGroups(w.region), kind);
        await rejectsWith(w.ecs.registerTaskDefinition(w.region, taskDefinition(), TAGS), kind);
        await rejectsWith(createTargetGroup(w, 'demo-stable'), kind);
      }
    },
  ]),
];

for (const implementation of IMPLEMENTATIONS) {
  for (const [name, run] of SCENARIOS) {
    test(`${implementation.name}: ${name}`, async () => {
      const world = implementation.create();
      try {
        await run(world);
      } finally {
        world.dispose();
      }
    });
  }
}
