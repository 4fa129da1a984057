import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ECSServiceException, LimitExceededException } from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { isOwnedBy, ownershipTags } from '../controller/model/tags.ts';
import type { EcsPort } from '../controller/ports/ecs.ts';
import { fromAwsError } from '../controller/providers/aws/errors.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';
import { applyDrift, drift, siteSpec } from './support/arbitraries.ts';
import {
  assertWorldMatches,
  cloudWrites,
  converge,
  demoDocument,
  newSim,
  pass,
  SIM_REGIONS,
  simNow,
  siteView,
  specItem,
  storeSpec,
  TICK_MS,
  valid,
} from './support/world.ts';
import { propertyRuns } from './support/properties.ts';

test('from any drifted world, at most 3 passes converge to any valid spec and the next pass plans nothing', async () => {
  await fc.assert(
    fc.asyncProperty(siteSpec('shop'), siteSpec('shop'), drift, async (before, after, drifts) => {
      const sim = newSim();
      await storeSpec(sim, before);
      await converge(sim);
      applyDrift(sim, 'shop', drifts);
      await storeSpec(sim, after);

      for (let i = 0; i < 3; i += 1) {
        await pass(sim);
        sim.tick();
      }
      assertWorldMatches(sim, valid(after));
      sim.resetCalls();
      const report = await pass(sim);
      assert.deepEqual(report.sites[0]!.plan?.actions, []);
      assert.equal(cloudWrites(sim), 0);
    }),
    { numRuns: propertyRuns(200) },
  );
});

test('steady passes over a converged world make zero writes while time moves: past stabilization windows, canary intervals and hold timers', async () => {
  const sim = newSim();
  await storeSpec(sim, demoDocument()); // a fixed canary at 15 %
  const blog = demoDocument();
  blog.metadata.name = 'blog';
  delete blog.spec.canary;
  await storeSpec(sim, blog);
  // A progressive canary that passes every check: it steps to its maxWeight and waits for a person.
  const shop = demoDocument();
  shop.metadata.name = 'shop';
  shop.spec.canary = {
    tag: 'v2',
    analysis: { intervalSeconds: 60, stepWeight: 20, maxWeight: 40, threshold: 2, promote: 'manual' },
  };
  await storeSpec(sim, shop);
  // Every group serves steady traffic, so the autoscaler and the analysis have metrics every pass;
  // the blog's primary serves 3000 a minute, 5 tasks' worth at 600 a task, above its minTasks.
  for (const region of ['us-east-1', 'eu-west-1'])
    for (const site of ['demo', 'blog', 'shop'])
      for (const track of ['stable', 'canary'])
        sim.setTraffic(region, `${site}-${track}`, {
          requestsPerMinute: site === 'blog' && region === 'us-east-1' ? 3000 : 900,
          errors5xxPerMinute: 0,
          p95LatencyMs: 80,
        });
  await converge(sim, 10);
  // The shop canary's analysis steps the weight a minute at a time; then every status settles.
  for (let m = 0; m < 6; m += 1) {
    await pass(sim);
    sim.tick();
  }
  assert.equal(siteView(sim, 'shop')!.canary?.phase, 'Succeeded', 'the shop canary waits at its maxWeight');
  const blogTasks = () =>
    Object.values(sim.world.regions['us-east-1']!.services)
      .filter((s) => s.name === 'blog-stable')
      .map((s) => s.desiredCount);
  assert.deepEqual(blogTasks(), [5], 'the blog runs above its minTasks for its demand');

  // Ten minutes of steady passes, a minute apart: twice the 300 s scale-in window, ten canary intervals.
  const started = sim.now();
  for (let m = 0; m < 10; m += 1) {
    sim.resetCalls();
    const report = await pass(sim);
    const at = `minute ${m} (${new Date(sim.now()).toISOString()})`;
    assert.deepEqual(
      sim.calls
        .filter((c) => c.write && !/Lease$/.test(c.operation))
        .map((c) => `${c.region} ${c.operation}`),
      [],
      `${at}: no write but the leases`,
    );
    // Each region's reconciler writes only its lease, whose release records its heartbeat.
    assert.equal(sim.callCounts((c) => c.write).writes, 2 * Object.keys(sim.world.regions).length);
    assert.equal(report.statusWrites, 0, `${at}: no status write`);
    assert.ok(sim.callCounts().reads > 0, 'the pass still read the world');
    for (const site of ['demo', 'blog', 'shop'])
      assert.equal(report.statuses.get(site)!.conditions.Ready?.status, 'True', `${at}: ${site} is Ready`);
    sim.tick();
  }
  assert.equal(sim.now() - started, 10 * TICK_MS, 'the passes ran ten minutes apart on the world clock');
});

/** Worlds to interrupt: creation from nothing, repairing drift, and deleting a site. */
const CRASH_SCENARIOS: Record<string, (sim: SimulatedCloud) => Promise<void>> = {
  'creating the demo site': async (sim) => {
    await storeSpec(sim, demoDocument());
  },
  'repairing a drifted site and removing its canary': async (sim) => {
    await storeSpec(sim, demoDocument());
    await converge(sim);
    applyDrift(sim, 'demo', [
      { kind: 'scaleService', pick: 0, count: 7 },
      { kind: 'changeHealthCheck', pick: 1, count: 0 },
      { kind: 'changeTimeout', pick: 0, count: 3 },
      { kind: 'duplicateRule', pick: 1, count: 2 },
    ]);
    const next = demoDocument();
    delete next.spec.canary;
    next.spec.image.tag = 'v3';
    await storeSpec(sim, next);
  },
  'deleting a site': async (sim) => {
    await storeSpec(sim, demoDocument());
    await converge(sim);
    await sim.store.deleteSpec('demo', specItem(sim, 'demo')!.generation);
    await pass(sim); // drains the services
    sim.tick();
  },
};

for (const [scenario, setUp] of Object.entries(CRASH_SCENARIOS)) {
  test(`crash consistency while ${scenario}: a pass stopped after any write, then a full pass, ends where one pass ends`, async () => {
    const start = newSim();
    await setUp(start);
    const initial = structuredClone(start.world);

    const reference = newSim({ world: structuredClone(initial) });
    await pass(reference);
    const writes = cloudWrites(reference);
    assert.ok(writes > 0, 'the scenario must write');

    for (let k = 1; k <= writes; k += 1) {
      const sim = newSim({ world: structuredClone(initial) });
      sim.crashAfterWrites(k);
      await pass(sim);
      assert.equal(cloudWrites(sim), k, `the interrupted pass made exactly ${k} write(s)`);
      sim.recover();
      await pass(sim);
      assert.deepEqual(sim.snapshot(), reference.snapshot(), `stopped after write ${k} of ${writes}`);
    }
  });
}

test('with every call to one region failing, the other region and the CDN converge, and the failed one recovers', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  sim.failRegion('eu-west-1');

  await pass(sim);
  sim.tick();
  const report = await pass(sim);
  const status = report.statuses.get('demo')!;
  assert.equal(status.regions['eu-west-1']?.degraded?.reason, 'RegionUnreachable');
  assert.match(status.regions['eu-west-1']!.degraded!.message, /eu-west-1/);
  assert.equal(status.conditions.Degraded?.status, 'True');
  assert.equal(status.conditions.Ready?.status, 'False');
  assert.ok(status.errors.some((e) => e.region === 'eu-west-1' && e.kind === 'Unavailable'));
  assert.equal(status.regions['us-east-1']?.degraded, undefined);
  assert.equal(Object.keys(sim.world.regions['eu-west-1']!.services).length, 0);
  const primary = sim.world.regions['us-east-1']!;
  assert.equal(
    Object.values(primary.services).filter((s) => s.status === 'ACTIVE').length,
    2,
    'us-east-1 converged',
  );
  assert.equal(Object.values(sim.world.distributions).length, 1, 'the CDN converged');
  assert.equal(Object.values(sim.world.distributions)[0]!.config.origins.length, 2);

  sim.healRegion('eu-west-1');
  await converge(sim);
  assertWorldMatches(sim, valid(demoDocument()));
  const healed = await pass(sim);
  assert.equal(healed.statuses.get('demo')!.conditions.Ready?.status, 'True');
});

test('with CloudFront failing, both regions still converge and the status names the CDN', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  sim.failRegion('cloudfront');
  await pass(sim);
  sim.tick();
  const report = await pass(sim);
  const status = report.statuses.get('demo')!;
  assert.equal(status.conditions.Degraded?.reason, 'CdnDegraded');
  assert.match(status.cdn.error ?? '', /cloudfront is failing/);
  for (const region of ['us-east-1', 'eu-west-1']) {
    assert.equal(
      Object.values(sim.world.regions[region]!.services).filter((s) => s.status === 'ACTIVE').length,
      2,
    );
    assert.equal(status.regions[region]?.degraded, undefined);
  }

  sim.healRegion('cloudfront');
  await converge(sim);
  assertWorldMatches(sim, valid(demoDocument()));
});

test('crash consistency from random drifted worlds: for every k, stopped after write k then a full pass equals one pass', async () => {
  await fc.assert(
    fc.asyncProperty(siteSpec('shop'), siteSpec('shop'), drift, async (before, after, drifts) => {
      const start = newSim();
      await storeSpec(start, before);
      await converge(start);
      applyDrift(start, 'shop', drifts);
      await storeSpec(start, after);
      const initial = structuredClone(start.world);

      const reference = newSim({
        regions: Object.keys(initial.regions),
        world: structuredClone(initial),
      });
      await pass(reference);
      const writes = cloudWrites(reference);
      for (let k = 1; k <= writes; k += 1) {
        const sim = newSim({
          regions: Object.keys(initial.regions),
          world: structuredClone(initial),
        });
        sim.crashAfterWrites(k);
        await pass(sim);
        sim.recover();
        await pass(sim);
        assert.deepEqual(sim.snapshot(), reference.snapshot(), `stopped after write ${k} of ${writes}`);
      }
    }),
    { numRuns: propertyRuns(40) },
  );
});

test('crash consistency when no track has a running task: a stable service scaled up from none is not "replacing" a task, so the pass after a crash writes the spec\'s weights as one pass does', async () => {
  // Two worlds fast-check found: a failover region (no tasks) made primary with a canary, and a site moved to
  // a region it did not run in. In both, a crashed pass scales the stable service up from none; the pass after
  // it must not keep the rule's old 100 % on it as if ECS were replacing a stopped task.
  const site = (regions: object[], canary?: object) => ({
    apiVersion: 'tandem.dev/v1',
    kind: 'Site',
    metadata: { name: 'shop' },
    spec: {
      image: { repository: 'public.ecr.aws/tandem/site', tag: 'v1' },
      ...(canary === undefined ? {} : { canary }),
      regions,
      task: { cpu: 1024, memory: 4096, healthCheckPath: '/healthz' },
      cdn: {
        failoverStatusCodes: [504],
        connectionTimeoutSeconds: 1,
        connectionAttempts: 1,
        defaultTtlSeconds: 0,
        priceClass: 'PriceClass_100',
      },
    },
  });
  const region = (name: string, role: string, minTasks: number, maxTasks: number) => ({
    name,
    role,
    minTasks,
    maxTasks,
  });
  const worlds = [
    [
      site([region('us-east-1', 'primary', 1, 1), region('eu-west-1', 'failover', 0, 1)]),
      site([region('eu-west-1', 'primary', 1, 2)], { tag: 'v2', weight: 1 }),
    ],
    [
      site([region('us-west-2', 'primary', 1, 1), region('eu-west-1', 'failover', 0, 1)]),
      site([region('eu-west-1', 'primary', 1, 2), region('us-east-1', 'failover', 0, 2)], {
        tag: 'v2',
        weight: 1,
      }),
    ],
  ];
  for (const [before, after] of worlds) {
    const start = newSim();
    await storeSpec(start, before as never);
    await converge(start);
    await storeSpec(start, after as never);
    const initial = structuredClone(start.world);
    const reference = newSim({ regions: Object.keys(initial.regions), world: structuredClone(initial) });
    await pass(reference);
    const writes = cloudWrites(reference);
    for (let k = 1; k <= writes; k += 1) {
      const sim = newSim({ regions: Object.keys(initial.regions), world: structuredClone(initial) });
      sim.crashAfterWrites(k);
      await pass(sim);
      sim.recover();
      await pass(sim);
      assert.deepEqual(sim.snapshot(), reference.snapshot(), `stopped after write ${k} of ${writes}`);
    }
  }
});

test('a deployment ECS fails and rolls back is reported as Stalled, not sent again pass after pass, and a new task definition is deployed', async () => {
  const sim = newSim();
  const document = demoDocument();
  delete document.spec.canary;
  await storeSpec(sim, document);
  await converge(sim);
  const east = () => sim.world.regions['us-east-1']!.services['demo-stable']!;
  const working = east().taskDefinition;

  document.spec.image.tag = 'v3-broken';
  sim.failTasksOf(`${document.spec.image.repository}:v3-broken`);
  await storeSpec(sim, document);
  await pass(sim);
  sim.tick();
  assert.equal(east().taskDefinition, working, 'ECS rolled the service back');
  assert.equal(east().failedRollout?.taskDefinition !== undefined, true);
  const failed = east().failedRollout!.taskDefinition;

  // Every later pass, during the rollback and after it, leaves the service alone.
  for (let i = 0; i < 3; i += 1) {
    sim.resetCalls();
    const report = await pass(sim);
    const deploys = report.sites.flatMap((s) =>
      (s.plan?.actions ?? []).filter((a) => a.kind === 'UpdateService' && a.taskDefinition !== undefined),
    );
    assert.deepEqual(deploys, [], `pass ${i + 1} deploys nothing`);
    if (i > 0) assert.equal(cloudWrites(sim), 0, `pass ${i + 1} writes nothing to the cloud`);
    const view = report.statuses.get('demo')!;
    assert.equal(view.conditions.Stalled?.status, 'True');
    assert.equal(view.conditions.Stalled?.reason, 'RolloutFailed');
    assert.match(view.conditions.Stalled!.message, /circuit breaker: tasks failed to start/);
    assert.match(view.conditions.Stalled!.message, new RegExp(failed));
    assert.equal(view.conditions.Degraded?.status, 'True');
    assert.equal(view.regions['us-east-1']?.degraded?.reason, 'RolloutFailed');
    assert.equal(view.conditions.Ready?.status, 'False');
    if (i === 2) assert.equal(report.statusWrites, 0, 'the report is steady');
    sim.tick();
  }
  assert.equal(east().failedRollout, undefined, 'ECS no longer lists the failed deployment');

  document.spec.image.tag = 'v4';
  await storeSpec(sim, document);
  await converge(sim);
  assertWorldMatches(sim, valid(document));
  const view = (await pass(sim)).statuses.get('demo')!;
  assert.equal(view.conditions.Stalled?.status, 'False');
  assert.equal(view.conditions.Ready?.status, 'True');
  assert.equal(view.regions['us-east-1']?.failedRollouts, undefined);
});

test('a quota ECS reports (LimitExceededException) stalls the site with reason QuotaExceeded and the quota named, where throttling would only wait', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const document = demoDocument();
  delete document.spec.canary;
  await storeSpec(sim, document);
  const withCreateServiceFailing = (error: Error) => async () => {
    const reports = await reconcileRound({
      portsOf: (region) => {
        const ports = sim.ports(region);
        const ecs: EcsPort = {
          ...ports.ecs,
          createService: () => Promise.reject(fromAwsError(error, 'ecs', 'CreateService', 'demo-stable')),
        };
        return { ...ports, ecs };
      },
      platform: sim.platform,
      now: simNow(sim),
    });
    assert.ok(reports.length > 0);
    return siteView(sim, 'demo')!;
  };

  const quota = await withCreateServiceFailing(
    new LimitExceededException({ message: 'The limit for the resource was exceeded.', $metadata: {} }),
  )();
  assert.equal(quota.conditions.Stalled?.status, 'True');
  assert.equal(quota.conditions.Stalled?.reason, 'QuotaExceeded');
  assert.match(quota.conditions.Stalled!.message, /demo-stable: ecs:CreateService reached a quota/);
  assert.match(quota.conditions.Stalled!.message, /Service Quotas/);

  const throttled = await withCreateServiceFailing(
    new ECSServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'Rate exceeded',
    }),
  )();
  assert.equal(throttled.conditions.Stalled?.status, 'False');
  assert.equal(throttled.conditions.Degraded?.status, 'True');
});

test('resources under the very names tandem uses for a site, but not tagged for it, are never touched: while the site runs, or once it is deleted', async () => {
  const foreignTags = fc.constantFrom<Record<string, string>[]>(
    { team: 'other' },
    { ...ownershipTags('shop-2'), team: 'other' },
  );
  await fc.assert(
    fc.asyncProperty(
      siteSpec('shop'),
      fc.subarray(SIM_REGIONS, { minLength: 1 }),
      foreignTags,
      async (spec, regions, tags) => {
        const document = structuredClone(spec);
        delete document.spec.canary;
        const sim = newSim();
        // Someone else's target group and service named shop-canary, and task definition in a shop family.
        for (const region of regions) {
          const world = sim.world.regions[region]!;
          const arn = `arn:aws:elasticloadbalancing:${region}:000000000000:targetgroup/shop-canary/f00`;
          world.targetGroups[arn] = {
            arn,
            name: 'shop-canary',
            port: 80,
            healthCheckPath: '/',
            vpcId: 'vpc-x',
            tags,
          };
          world.services['shop-canary'] = {
            name: 'shop-canary',
            arn: `arn:aws:ecs:${region}:000000000000:service/tandem/shop-canary`,
            status: 'ACTIVE',
            // Neither registered into the group nor running the family: neither is in use by it.
            taskDefinition: 'other-app',
            deploymentFamilies: ['other-app'],
            desiredCount: 2,
            runningCount: 2,
            pendingCount: 0,
            rolloutInProgress: false,
            tags,
          };
          world.taskDefinitions.push({
            family: 'tandem-shop-0123456789ab',
            revision: 1,
            arn: `arn:aws:ecs:${region}:000000000000:task-definition/tandem-shop-0123456789ab:1`,
            spec: {
              family: 'tandem-shop-0123456789ab',
              image: 'public.ecr.aws/other/app:1',
              cpu: 256,
              memory: 512,
              architecture: 'X86_64',
              containerPort: 80,
              healthCheckPath: '/',
              environment: {},
              readOnlyRootFilesystem: true,
              executionRoleArn: 'arn:aws:iam::000000000000:role/other',
              taskRoleArn: 'arn:aws:iam::000000000000:role/other',
              logGroup: '/other',
            },
            tags,
            active: true,
          });
        }
        const foreign = () =>
          regions.map((region) => {
            const world = sim.world.regions[region]!;
            return {
              targetGroups: Object.values(world.targetGroups).filter((tg) => !isOwnedBy(tg.tags, 'shop')),
              service: world.services['shop-canary'],
              taskDefinitions: world.taskDefinitions.filter((td) => !isOwnedBy(td.tags, 'shop')),
            };
          });
        const planted = structuredClone(foreign());

        await storeSpec(sim, document);
        await converge(sim);
        assert.deepEqual(foreign(), planted, 'while the site runs');
        await sim.store.deleteSpec('shop', specItem(sim, 'shop')!.generation);
        await converge(sim);
        assert.deepEqual(foreign(), planted, 'once the site is deleted');
      },
    ),
    { numRuns: propertyRuns(30) },
  );
});
