import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { CloudError } from '../controller/errors.ts';
import { DEFAULT_THROTTLE, specHash } from '../controller/providers/sim/cloud.ts';
import { emptyStatus } from '../controller/model/status.ts';
import type { StoredStatus } from '../controller/ports/store.ts';
import type { Action } from '../controller/model/actions.ts';
import { applySitePlan } from '../controller/reconcile/apply.ts';
import { reconcilePass } from '../controller/reconcile/pass.ts';
import { Limiter } from '../controller/reconcile/limiter.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';
import {
  assertNothingOwned,
  assertWorldMatches,
  converge,
  demoDocument,
  editSpecInPlace,
  newSim,
  pass,
  simNow,
  siteView,
  statusItem,
  storeSpec,
  valid,
} from './support/world.ts';

const TWO_REGIONS = ['us-east-1', 'eu-west-1'];

test('removing the canary moves its traffic away first, then drains its service, then deletes it and its target group', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const next = demoDocument();
  delete next.spec.canary;
  await storeSpec(sim, next);

  const first = await pass(sim);
  const kinds = (report: typeof first) =>
    report.sites[0]!.plan!.actions.filter((a) => 'region' in a && a.region === 'us-east-1').map((a) =>
      `${a.kind} ${'name' in a ? a.name : ''}`.trim(),
    );
  assert.deepEqual(kinds(first), ['ModifyRule', 'UpdateService demo-stable', 'UpdateService demo-canary']);
  const canary = sim.world.regions['us-east-1']!.services['demo-canary']!;
  assert.equal(canary.desiredCount, 0);
  assert.equal(canary.runningCount, 1, 'still draining');

  sim.tick();
  const second = await pass(sim);
  assert.deepEqual(kinds(second), [
    'DeleteService demo-canary',
    'DeleteTargetGroup demo-canary',
    'DeregisterTaskDefinition',
  ]);
  sim.tick();
  assertWorldMatches(sim, valid(next));
});

test('deleting a site removes everything it owns in a safe order, then its status', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  await sim.store.deleteSpec('demo', 1);

  const order: string[] = [];
  for (let i = 0; i < 5 && siteView(sim, 'demo') !== undefined; i += 1) {
    const report = await pass(sim);
    order.push(
      ...report.sites[0]!.plan!.actions.filter((a) => !('region' in a) || a.region === 'us-east-1').map(
        (a) => a.kind,
      ),
    );
    if (i === 0) assert.equal(report.statuses.get('demo')!.conditions.Deleting?.status, 'True');
    sim.tick();
  }
  assert.deepEqual(order, [
    'DeleteRule',
    'UpdateService',
    'UpdateService',
    'UpdateDistribution', // disabled first
    'DeleteService',
    'DeleteService',
    'DeleteTargetGroup',
    'DeleteTargetGroup',
    'DeregisterTaskDefinition',
    'DeregisterTaskDefinition',
    'DeleteDistribution', // once the disable has deployed
  ]);
  assertNothingOwned(sim, 'demo');
  assert.equal(siteView(sim, 'demo'), undefined, 'the status goes with the site');
});

test('a paused site is observed and reported but nothing is changed', async () => {
  const sim = newSim(TWO_REGIONS);
  const document = demoDocument();
  document.spec.paused = true;
  await storeSpec(sim, document);
  const report = await pass(sim);
  assert.ok(report.sites[0]!.plan!.actions.length > 0, 'there is work waiting');
  assert.equal(sim.cloudWrites().length, 0);
  const status = siteView(sim, 'demo')!;
  assert.equal(status.conditions.Paused?.status, 'True');
  assert.equal(status.conditions.Ready?.reason, 'Paused');
});

test('status is written only when it changed', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const writes: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    writes.push((await pass(sim)).statusWrites);
    sim.tick();
  }
  // Each region writes its own status: both change on the first two passes, then neither.
  assert.deepEqual(writes, [2, 2, 0, 0]);
  assert.equal(statusItem(sim, 'demo', 'us-east-1')!.revision, 2);
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.revision, 2);
});

test('an edit made straight in the store without a generation bump is still reconciled', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const edited = demoDocument();
  edited.spec.canary!.weight = 40;
  // As a console edit would: the document changes, the generation does not.
  editSpecInPlace(sim, 'demo', edited);
  await converge(sim);
  assertWorldMatches(sim, valid(edited));
  assert.equal(siteView(sim, 'demo')!.observedGeneration, 1);
  assert.equal(siteView(sim, 'demo')!.observedHash, specHash(edited));
});

test('a CloudFront update quotes the current ETag; a concurrent change makes it fail with Conflict and the next pass repairs it', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const next = demoDocument();
  next.spec.cdn!.defaultTtlSeconds = 5;
  await storeSpec(sim, next);

  // Someone changes the distribution between our read of its ETag and our update.
  const ports = sim.ports();
  const racing = {
    ...ports,
    cdn: {
      ...ports.cdn,
      getDistributionConfig: async (id: string) => {
        const answer = await ports.cdn.getDistributionConfig(id);
        await ports.cdn.updateDistribution(
          id,
          { ...answer.config, comment: answer.config.comment },
          answer.etag,
        );
        return answer;
      },
    },
  };
  const report = await reconcilePass({
    ports: racing,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  const error = report.sites[0]!.applied!.results.find((r) => r.error !== undefined)?.error;
  assert.ok(error instanceof CloudError);
  assert.equal(error.kind, 'Conflict');
  assert.match(error.message, /PreconditionFailed/);

  await converge(sim);
  assertWorldMatches(sim, valid(next));
});

test('DescribeServices is called with at most 10 services: 10 services take 1 call, 12 take 2', async () => {
  for (const [sites, calls] of [
    [5, 1],
    [6, 2],
  ] as const) {
    const sim = newSim(TWO_REGIONS);
    for (let i = 0; i < sites; i += 1) {
      const document = demoDocument();
      document.metadata.name = `site-${i}`;
      await storeSpec(sim, document);
    }
    await pass(sim);
    const describe = sim.calls.filter((c) => c.operation === 'DescribeServices' && c.region === 'us-east-1');
    assert.equal(describe.length, calls, `${sites * 2} services`);
  }
});

test('reads are batched at the AWS limits: 11 sites make 3 DescribeServices calls per region', async () => {
  const sim = newSim(TWO_REGIONS);
  for (let i = 0; i < 11; i += 1) {
    const document = demoDocument();
    document.metadata.name = `site-${i}`;
    await storeSpec(sim, document);
  }
  await converge(sim);
  sim.resetCalls();
  await pass(sim);
  const describe = sim.calls.filter((c) => c.operation === 'DescribeServices' && c.region === 'us-east-1');
  assert.equal(describe.length, 3); // 22 services, 10 a call
  const tags = sim.calls.filter((c) => c.operation === 'DescribeTags' && c.region === 'us-east-1');
  assert.equal(tags.length, 3); // 22 target groups in 2 calls and 11 rules in 1, 20 a call
  assert.equal(
    sim.calls.filter((c) => c.operation === 'ListTagsForResource').length,
    0,
    'owned distributions are known from status',
  );
});

test('at most the configured number of calls are in flight per region, and throttled calls are retried', async () => {
  const sim = newSim({
    regions: TWO_REGIONS,
    latencyMs: 2,
    throttle: { ...DEFAULT_THROTTLE, writeRate: 50, writeBurst: 5 },
  });
  for (let i = 0; i < 12; i += 1) {
    const document = demoDocument();
    document.metadata.name = `site-${i}`;
    await storeSpec(sim, document);
  }
  for (const region of TWO_REGIONS)
    await reconcilePass({
      ports: sim.ports(region),
      platform: sim.platform,
      region,
      maxInFlightPerRegion: 4,
      now: simNow(sim),
    });
  assert.ok(sim.callCounts().throttled > 0, 'the write burst was exceeded');
  for (const region of [...TWO_REGIONS, 'cloudfront', ...TWO_REGIONS.map((r) => `store:${r}`)])
    assert.ok((sim.maxInFlight.get(region) ?? 0) <= 4, `${region}: ${sim.maxInFlight.get(region)}`);
  sim.tick();
  await converge(sim);
  for (let i = 0; i < 12; i += 1) {
    const document = demoDocument();
    document.metadata.name = `site-${i}`;
    assertWorldMatches(sim, valid(document));
  }
});

test('the pass that creates a distribution records it, so later passes need no CloudFront tag reads', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await pass(sim);
  const created = Object.values(sim.world.distributions)[0]!;
  assert.equal(siteView(sim, 'demo')!.cdn.distributionId, created.id);
  sim.tick();
  sim.resetCalls();
  await pass(sim);
  assert.equal(sim.calls.filter((c) => c.operation === 'ListTagsForResource').length, 0);
});

test('a CloudFront tag read that fails leaves only its own site unobserved', async () => {
  const sim = newSim(TWO_REGIONS);
  for (const name of ['alpha', 'beta']) {
    const document = demoDocument();
    document.metadata.name = name;
    await storeSpec(sim, document);
  }
  await converge(sim);
  // Forget which distributions are ours.
  for (const name of ['alpha', 'beta'])
    for (const replica of Object.values(sim.world.replicas)) delete replica.items[`status|${name}#us-east-1`];
  const ports = sim.ports();
  const alphaArn = Object.values(sim.world.distributions).find(
    (d) => d.config.comment === 'tandem site alpha',
  )!.arn;
  const flaky = {
    ...ports,
    cdn: {
      ...ports.cdn,
      listTags: (arn: string) =>
        arn === alphaArn
          ? Promise.reject(new CloudError('Throttled', arn, 'Rate exceeded'))
          : ports.cdn.listTags(arn),
    },
  };
  sim.resetCalls();
  const report = await reconcilePass({
    ports: flaky,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  assert.equal(report.statuses.get('alpha')!.conditions.Degraded?.reason, 'CdnDegraded');
  assert.equal(report.statuses.get('beta')!.conditions.Degraded?.status, 'False');
  assert.equal(sim.cloudWrites().length, 0, 'alpha gets no second distribution');
});

test('the report a pass goes on from: its own, what of an unreadable one still reads, else the site’s item from before statuses were per region', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const ports = sim.ports('us-east-1');
  const stored = await ports.store.listStatuses();
  const own = stored.find((s) => s.region === 'us-east-1')!;
  const others = stored.filter((s) => s !== own);
  const run = async (statuses: StoredStatus[]) =>
    (
      await reconcilePass({
        ports,
        platform: sim.platform,
        region: 'us-east-1',
        statuses,
        dryRun: true,
        now: simNow(sim),
      })
    ).sites[0]!;

  const readable = await run(stored);
  assert.deepEqual([readable.previous, readable.statusUnreadable], [own.status, undefined]);

  const salvaged = await run([...others, { ...own, unreadable: true }]);
  assert.deepEqual([salvaged.previous, salvaged.statusUnreadable], [own.status, 'salvaged']);
  const cdnOnly = { ...emptyStatus('demo', 'us-east-1'), cdn: { distributionId: 'E1' } };
  assert.equal(
    (await run([...others, { ...own, status: cdnOnly, unreadable: true }])).statusUnreadable,
    'salvaged',
  );

  const lost = await run([...others, { ...own, status: emptyStatus('demo', 'us-east-1'), unreadable: true }]);
  assert.deepEqual([lost.previous, lost.statusUnreadable], [undefined, 'lost']);

  const legacyItem: StoredStatus = {
    name: 'demo',
    revision: 4,
    status: { ...own.status, region: '', global: true },
  };
  const upgraded = await run([...others, legacyItem]);
  assert.deepEqual(upgraded.previous, { ...own.status, region: 'us-east-1', global: false });
  assert.deepEqual(upgraded.stored, { legacy: legacyItem });
  const unreadableLegacy = await run([...others, { ...legacyItem, unreadable: true }]);
  assert.equal(unreadableLegacy.previous, undefined);
  assert.deepEqual(unreadableLegacy.stored, {});
});

test('a spec stored under a name its metadata does not give is invalid, and says both names', async () => {
  const sim = newSim(TWO_REGIONS);
  const report = await reconcilePass({
    ports: sim.ports('us-east-1'),
    platform: sim.platform,
    region: 'us-east-1',
    specs: [{ name: 'other', generation: 1, hash: 'h', document: demoDocument() }],
    statuses: [],
    dryRun: true,
    now: simNow(sim),
  });
  assert.deepEqual(report.sites[0]!.problems, [
    { field: 'metadata.name', message: 'is "demo" but the item is stored as "other"; they must match' },
  ]);
});

test('a spec naming a region with no platform stalls, naming the region, and changes nothing', async () => {
  const sim = newSim(['us-east-1']);
  await storeSpec(sim, demoDocument());
  const round = await pass(sim);
  assert.deepEqual(round.sites[0]!.stalled, {
    reason: 'NoPlatform',
    message: 'no tandem platform in eu-west-1: deploy the bootstrap there or remove the region from the spec',
  });
  assert.equal(round.sites[0]!.plan, undefined);
  assertNothingOwned(sim, 'demo');
});

test('a pass logs each action applied and each that failed, an invalid spec, and a status it could not write', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const ports = sim.ports('us-east-1');
  const refusing = {
    ...ports,
    ecs: Object.assign(Object.create(ports.ecs) as typeof ports.ecs, {
      createService: () => Promise.reject(new CloudError('Throttled', 'demo-stable', 'slow down')),
    }),
    store: Object.assign(Object.create(ports.store) as typeof ports.store, {
      putStatus: () => Promise.reject(new CloudError('Unavailable', 'status', 'table unreachable')),
    }),
  };
  const report = await reconcilePass({
    ports: refusing,
    platform: sim.platform,
    region: 'us-east-1',
    log,
    now: simNow(sim),
  });
  const pick = (line: Record<string, unknown>) => {
    const { level, msg, site, region, action, kind, err, reconcileId } = line;
    return { level, msg, site, region, action, kind, err, reconcileId };
  };
  const seen = lines.map(pick);
  const common = { site: 'demo', region: 'us-east-1', reconcileId: report.reconcileId };
  assert.deepEqual(
    seen.find((l) => l.msg === 'applied'),
    {
      ...common,
      level: 30,
      msg: 'applied',
      action: 'RegisterTaskDefinition',
      kind: undefined,
      err: undefined,
    },
  );
  assert.deepEqual(
    seen.find((l) => l.msg === 'action failed'),
    {
      ...common,
      level: 50,
      msg: 'action failed',
      action: 'CreateService',
      kind: 'Throttled',
      err: 'slow down',
    },
  );
  const unwritten = lines.find((l) => l['msg'] === 'status not written; the next pass writes it');
  assert.equal(unwritten?.['level'], 40);
  assert.equal(unwritten?.['site'], 'demo');
  assert.match(JSON.stringify(unwritten?.['err']), /table unreachable/);
  assert.equal(report.statusWrites, 0);

  const invalid = demoDocument();
  invalid.spec.regions = [];
  await storeSpec(sim, invalid);
  lines.length = 0;
  await reconcilePass({ ports, platform: sim.platform, region: 'us-east-1', log, now: simNow(sim) });
  const warned = lines.find((l) => l['msg'] === 'spec is invalid; nothing applied');
  assert.equal(warned?.['level'], 40);
  assert.equal(warned?.['site'], 'demo');
  assert.ok(Array.isArray(warned?.['problems']) && warned['problems'].length > 0, JSON.stringify(warned));
});

test('applying: a failure stops its own lane only, and names what failed; an action naming no known target group or platform fails', async () => {
  const sim = newSim(TWO_REGIONS);
  const observedSite = { name: 'demo', regions: {} };
  const scope = { site: 'demo', region: 'us-east-1' };
  const actions: Action[] = [
    { ...scope, kind: 'UpdateService', name: 'demo-stable', targetGroup: 'demo-stable', containerPort: 8080 },
    { ...scope, kind: 'DeleteService', name: 'demo-stable' },
    { site: 'demo', region: 'ap-south-1', kind: 'DeleteService', name: 'demo-stable' },
    { site: 'demo', kind: 'DeleteDistribution', id: 'E404' },
  ];
  const applied = await applySitePlan(sim.ports('us-east-1'), sim.platform, observedSite, actions);
  const failures = applied.results.map((r) => [r.action.kind, r.error?.kind, r.error?.message]);
  assert.deepEqual(failures.slice(0, 2), [
    ['UpdateService', 'NotFound', 'target group demo-stable does not exist in us-east-1'],
    ['DeleteService', 'Invalid', 'no tandem platform in ap-south-1'],
  ]);
  assert.equal(failures[2]![0], 'DeleteDistribution');
  assert.notEqual(failures[2]![1], undefined, 'no such distribution');
  assert.deepEqual(applied.skipped, [actions[1]], 'only the rest of the failed lane is skipped');
  assert.equal(applied.results[0]!.error?.resource, 'demo-stable', 'the error names the action’s target');
});

test('a round: only the sites asked for, a region whose pass fails is logged and left out, a lease not released is logged', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const other = demoDocument();
  other.metadata.name = 'other';
  await storeSpec(sim, other);
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );

  const only = await reconcileRound({
    portsOf: (r) => sim.ports(r),
    platform: sim.platform,
    sites: ['other'],
    log,
  });
  assert.deepEqual(
    only.map((r) => [r.region, [...r.statuses.keys()]]),
    [
      ['us-east-1', ['other']],
      ['eu-west-1', ['other']],
    ],
  );

  const broken = (region: string) => {
    const ports = sim.ports(region);
    if (region !== 'eu-west-1') return ports;
    return {
      ...ports,
      store: Object.assign(Object.create(ports.store) as typeof ports.store, {
        listSpecs: () => Promise.reject(new CloudError('Unavailable', 'store', 'replica down')),
        releaseLease: () => Promise.reject(new CloudError('Unavailable', 'store', 'replica down')),
      }),
    };
  };
  lines.length = 0;
  const round = await reconcileRound({ portsOf: broken, platform: sim.platform, intervalSeconds: 10, log });
  assert.deepEqual(
    round.map((r) => r.region),
    ['us-east-1'],
  );
  const failed = lines.find((l) => l['msg'] === 'reconcile pass failed');
  assert.deepEqual(
    [failed?.['level'], failed?.['region'], failed?.['err']],
    [50, 'eu-west-1', 'replica down'],
  );
  const lease = lines.find((l) => l['msg'] === 'lease not released');
  assert.deepEqual([lease?.['level'], lease?.['region'], lease?.['err']], [40, 'eu-west-1', 'replica down']);
});

test('a limiter of no calls, or of part of one, is refused with the limit named', () => {
  for (const limit of [0, 1.5, -1]) {
    assert.throws(
      () => new Limiter(limit),
      new RegExp(`^RangeError: limit must be a positive integer, got ${limit}$`),
    );
  }
});
