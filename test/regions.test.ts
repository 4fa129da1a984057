import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyStatus, type Condition, type SiteStatus } from '../controller/model/status.ts';
import type { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { mergeReports, siteViews } from '../controller/reconcile/view.ts';
import { findLostEdits } from '../controller/spec/edits.ts';
import {
  assertWorldMatches,
  demoDocument,
  leaseOf,
  newSim,
  pass,
  siteView,
  specItem,
  statusItem,
  T0,
  valid,
  views,
} from './support/world.ts';

const REGIONS = ['us-east-1', 'eu-west-1'];

function stableOnly() {
  const document = demoDocument();
  delete document.spec.canary;
  return document;
}

function desiredTasks(sim: SimulatedCloud, region: string): number {
  return Object.values(sim.world.regions[region]!.services)
    .filter((s) => s.status === 'ACTIVE' && s.tags['tandem:site'] === 'demo')
    .reduce((n, s) => n + s.desiredCount, 0);
}

/** A converged demo site whose primary serves `requests` a minute; returns the next minute. */
async function serving(sim: SimulatedCloud, requests: number): Promise<number> {
  await sim.storeIn('us-east-1').putSpec('demo', stableOnly(), 0);
  let m = 0;
  for (; m < 4; m += 1) {
    if (m === 2) sim.setTraffic('us-east-1', 'demo-stable', { requestsPerMinute: requests });
    await pass(sim);
    sim.tick();
  }
  return m;
}

test("each region's reconciler calls only its own region's ECS, ELB and CloudWatch", async () => {
  const sim = newSim(REGIONS);
  await sim.storeIn('us-east-1').putSpec('demo', demoDocument(), 0);
  sim.resetCalls();
  await pass(sim, { regions: ['eu-west-1'] });
  const foreign = sim.calls.filter(
    (c) => c.service !== 'cloudfront' && c.service !== 'store' && c.region !== 'eu-west-1',
  );
  assert.deepEqual(foreign, []);
  assert.ok(sim.calls.some((c) => c.service === 'ecs' && c.region === 'eu-west-1'));
  assert.ok(
    sim.calls.filter((c) => c.service === 'store').every((c) => c.region === 'eu-west-1'),
    'and only its own replica of the table',
  );
});

test('the primary holds the CDN; the failover region leaves it alone while the primary reports', async () => {
  const sim = newSim(REGIONS);
  await sim.storeIn('us-east-1').putSpec('demo', demoDocument(), 0);
  await pass(sim);
  sim.tick();
  sim.resetCalls();
  await pass(sim, { regions: ['eu-west-1'] });
  assert.equal(sim.calls.filter((c) => c.service === 'cloudfront').length, 0);
  assert.equal(statusItem(sim, 'demo', 'us-east-1')!.status.global, true);
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.status.global, false);
  assert.deepEqual(statusItem(sim, 'demo', 'eu-west-1')!.status.cdn, {});
});

test('with the primary lost whole, the failover region takes the CDN after 3 quiet intervals and carries its demand once', async () => {
  const sim = newSim(REGIONS);
  let m = await serving(sim, 3000); // 5 tasks at 600 a task
  assert.equal(desiredTasks(sim, 'us-east-1'), 5);
  const heartbeat = leaseOf(sim, 'us-east-1')!.heartbeatAt!;

  sim.loseRegion('us-east-1');
  // The CDN moves every viewer to eu-west-1 at once.
  sim.setTraffic('eu-west-1', 'demo-stable', { requestsPerMinute: 3000 });
  const owners: boolean[] = [];
  for (const end = m + 4; m < end; m += 1) {
    const report = await pass(sim);
    owners.push(report.sites.find((s) => s.region === 'eu-west-1')!.global);
    sim.tick();
  }
  // Quiet once more than 3 intervals have passed since its last heartbeat.
  const quietFrom = owners.findIndex(Boolean);
  assert.ok(quietFrom >= 0, 'eu-west-1 took over');
  assert.ok(T0 + (m - 4 + quietFrom) * 60_000 - heartbeat > 3 * 60_000);
  assert.equal(desiredTasks(sim, 'eu-west-1'), 5, 'ceil(3000 / 600): the moved demand counted once');
  // As `tandem describe --region eu-west-1` shows it, from the replica that is still there.
  const view = siteView(sim, 'demo', { region: 'eu-west-1' })!;
  assert.equal(view.conditions.FailoverActive?.status, 'True');
  assert.equal(view.reporters.find((r) => r.region === 'us-east-1')?.quiet, true);
  assert.equal(view.conditions.Degraded?.reason, 'ReconcilerQuiet');
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.status.global, true);
});

test('a spec edit made in the failover replica while the primary is lost takes effect there; after the restore both regions converge and the CDN goes back', async () => {
  const sim = newSim(REGIONS);
  let m = await serving(sim, 600);
  sim.loseRegion('us-east-1');
  for (const end = m + 5; m < end; m += 1) {
    await pass(sim);
    sim.tick();
  }
  const west = sim.storeIn('eu-west-1');
  const edited = stableOnly();
  edited.spec.task = { ...edited.spec.task, environment: { GREETING: 'from eu-west-1' } };
  await west.putSpec('demo', edited, (await west.getSpec('demo'))!.generation);
  for (const end = m + 2; m < end; m += 1) {
    await pass(sim);
    sim.tick();
  }
  const westDefinitions = sim.world.regions['eu-west-1']!.taskDefinitions.filter(
    (td) => td.active && td.spec.environment['GREETING'] === 'from eu-west-1',
  );
  assert.equal(westDefinitions.length, 1, 'eu-west-1 runs the edit while us-east-1 is lost');
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.status.observedGeneration, 2);

  sim.restoreRegion('us-east-1');
  const holders: string[] = [];
  for (const end = m + 4; m < end; m += 1) {
    const report = await pass(sim);
    holders.push(
      report.sites
        .filter((s) => s.global)
        .map((s) => s.region)
        .join('+'),
    );
    sim.tick();
  }
  // The failover region stays first in the origin group until us-east-1 has been healthy for the window.
  assertWorldMatches(sim, valid(edited), {}, { eitherOriginFirst: true });
  assert.equal(specItem(sim, 'demo', 'us-east-1')!.generation, 2, 'the restored replica caught up');
  for (let wait = 0; wait < 12 && siteView(sim, 'demo')?.cdn.originOrder?.first !== 'us-east-1'; wait += 1) {
    await pass(sim);
    sim.tick();
  }
  await pass(sim);
  assertWorldMatches(sim, valid(edited));
  assert.deepEqual(holders.slice(-2), ['us-east-1', 'us-east-1'], 'the primary holds the CDN again');
  assert.ok(
    holders.every((h) => h === 'us-east-1'),
    `no region but the primary acted on the CDN once it was back: ${holders.join(', ')}`,
  );
});

test('two regions believing they hold the CDN at once leave it as one of them wants it, and converge', async () => {
  // Replication held back: eu-west-1 sees only a heartbeat of the primary from ten minutes before,
  // so it holds the duties too, while the primary, alive, holds them as well.
  const sim = newSim({ regions: REGIONS, replication: 'manual' });
  const east = sim.storeIn('us-east-1');
  await east.putSpec('demo', demoDocument(), 0);
  await east.acquireLease('before', 60, T0 - 10 * 60_000);
  await east.releaseLease('before', T0 - 10 * 60_000);
  sim.replicate();
  const wanted = valid(demoDocument());
  for (let m = 0; m < 4; m += 1) {
    const report = await pass(sim);
    assert.deepEqual(
      report.sites.filter((s) => s.global).map((s) => s.region),
      ['us-east-1', 'eu-west-1'],
      'both act on the CDN',
    );
    for (const d of Object.values(sim.world.distributions).filter((x) => x.config.enabled))
      assert.equal(d.config.comment, 'tandem site demo');
    sim.world.ticks = (sim.world.ticks ?? 0) + 1;
    for (const region of Object.values(sim.world.regions))
      for (const s of Object.values(region.services)) s.runningCount = s.desiredCount;
    for (const d of Object.values(sim.world.distributions)) d.status = 'Deployed';
  }
  sim.replicate();
  for (let m = 4; m < 8; m += 1) {
    await pass(sim);
    sim.tick();
  }
  assertWorldMatches(sim, wanted);
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.status.global, false, 'the failover region let go');
});

test('edits made in two replicas at once are reported, naming both generations, until one is applied again', async () => {
  const sim = newSim({ regions: REGIONS, replication: 'manual' });
  const east = sim.storeIn('us-east-1');
  const west = sim.storeIn('eu-west-1');
  await east.putSpec('demo', stableOnly(), 0);
  sim.replicate();
  // A partition: each side edits generation 1 into its own generation 2.
  const a = stableOnly();
  a.spec.image.tag = 'v7';
  const b = stableOnly();
  b.spec.image.tag = 'v8';
  await east.putSpec('demo', a, 1);
  await west.putSpec('demo', b, 1);
  sim.replicate(); // the replicas meet: the last writer (eu-west-1) wins

  const spec = (await east.getSpec('demo'))!;
  assert.equal((spec.document as typeof b).spec.image.tag, 'v8');
  const lost = findLostEdits(spec, await east.listEdits());
  assert.deepEqual(
    lost.map((l) => [l.lost.region, l.lost.generation, l.winner.region, l.winner.generation]),
    [['us-east-1', 2, 'eu-west-1', 2]],
  );

  await pass(sim);
  const conflict = siteView(sim, 'demo')!.conditions.SpecConflict!;
  assert.equal(conflict.status, 'True');
  assert.equal(conflict.reason, 'ConcurrentEdits');
  assert.match(
    conflict.message,
    /us-east-1 .*generation 2.* overwritten by the one made in eu-west-1 \(generation 2\)/,
  );

  await east.putSpec('demo', a, 2); // a person settles it by applying the one they want
  sim.tick(); // a minute later, the replicas caught up
  await pass(sim);
  sim.replicate();
  assert.equal(siteView(sim, 'demo')!.conditions.SpecConflict?.status, 'False');
});

test('an edit that overwrites another region’s edit it had seen is no conflict', async () => {
  const sim = newSim(REGIONS);
  const east = sim.storeIn('us-east-1');
  const west = sim.storeIn('eu-west-1');
  await east.putSpec('demo', stableOnly(), 0);
  const read = (await west.getSpec('demo'))!;
  await west.putSpec('demo', { ...stableOnly(), note: 'west' }, read.generation);
  const again = (await east.getSpec('demo'))!;
  await east.putSpec('demo', { ...stableOnly(), note: 'east' }, again.generation);
  assert.deepEqual(findLostEdits((await east.getSpec('demo'))!, await east.listEdits()), []);
  await pass(sim);
  assert.equal(views(sim).get('demo')!.conditions.SpecConflict, undefined);
});

test('the region that takes over the CDN knows the distribution from the status of the one that held it: no tag reads', async () => {
  const sim = newSim(REGIONS);
  let m = await serving(sim, 600);
  sim.loseRegion('us-east-1');
  sim.resetCalls();
  for (const end = m + 5; m < end; m += 1) {
    await pass(sim);
    sim.tick();
  }
  assert.equal(statusItem(sim, 'demo', 'eu-west-1')!.status.global, true, 'eu-west-1 took over');
  assert.equal(sim.calls.filter((c) => c.operation === 'ListTagsForResource').length, 0);
  assert.equal(
    statusItem(sim, 'demo', 'eu-west-1')!.status.cdn.distributionId,
    statusItem(sim, 'demo', 'us-east-1')!.status.cdn.distributionId,
  );
});

// ----- one site's view from every region's report -----

function report(region: string, over: Partial<SiteStatus> = {}): SiteStatus {
  const entry = (role: 'primary' | 'failover') => ({
    role,
    stable: { desired: 3, running: 3, pending: 0 },
    canary: { desired: 0, running: 0, pending: 0 },
    canaryWeight: 0,
  });
  return {
    ...emptyStatus('demo', region),
    observedGeneration: 4,
    observedHash: `h-${region}`,
    // Each report may hold a stale entry of the other region: only its own counts.
    regions: {
      'us-east-1': entry(region === 'us-east-1' ? 'primary' : 'failover'),
      'eu-west-1': entry(region === 'eu-west-1' ? 'failover' : 'primary'),
    },
    ...over,
  };
}

const condition = (status: Condition['status'], reason: string, message: string): Condition => ({
  status,
  reason,
  message,
  lastTransitionTime: '2026-11-28T00:00:00.000Z',
});

test('the view merges every region’s report: its own region from each, the worst condition named by region, the CDN from the holder', () => {
  const east = report('us-east-1', {
    global: true,
    conditions: {
      Ready: condition('True', 'Converged', 'serving'),
      Degraded: condition('False', 'AllRegionsHealthy', 'fine'),
    },
    cdn: { distributionId: 'E1' },
    canary: { tag: 'v2', phase: 'Progressing', weight: 10, failedChecks: 0, lastCheckAt: 1, message: 'm' },
    lastActions: [{ kind: 'CreateRule', target: 'rule demo', region: 'us-east-1' }],
    errors: [{ kind: 'Throttled', resource: 'x', message: 'slow', region: 'us-east-1' }],
  });
  const west = report('eu-west-1', {
    observedGeneration: 3,
    conditions: {
      Ready: condition('False', 'Converging', 'applied 1 action(s) this pass'),
      Degraded: condition('True', 'RegionDegraded', 'eu-west-1: slow'),
    },
    cdn: { distributionId: 'E-stale' },
    lastActions: [{ kind: 'UpdateService', target: 'demo-stable', region: 'eu-west-1' }],
  });
  const liveness = { heartbeats: { 'us-east-1': T0, 'eu-west-1': T0 - 60_000 }, now: T0, intervalMs: 60_000 };
  const view = mergeReports('demo', [east, west], liveness);
  assert.deepEqual(view, {
    site: 'demo',
    observedGeneration: 3,
    observedHash: 'h-us-east-1',
    conditions: {
      Ready: { ...condition('False', 'Converging', 'eu-west-1: applied 1 action(s) this pass') },
      Degraded: { ...condition('True', 'RegionDegraded', 'eu-west-1: eu-west-1: slow') },
    },
    regions: { 'us-east-1': east.regions['us-east-1'], 'eu-west-1': west.regions['eu-west-1'] },
    cdn: { distributionId: 'E1' },
    canary: east.canary,
    lastActions: [...east.lastActions, ...west.lastActions],
    errors: east.errors,
    reporters: [
      { region: 'eu-west-1', global: false, quiet: false, lastPassAt: T0 - 60_000, observedGeneration: 3 },
      { region: 'us-east-1', global: true, quiet: false, lastPassAt: T0, observedGeneration: 4 },
    ],
  });
  // One report alone is not labelled with its region.
  assert.equal(
    mergeReports('demo', [west], liveness).conditions.Ready!.message,
    'applied 1 action(s) this pass',
  );
});

test('a quiet reconciler makes the site Degraded and not Ready, naming when it last finished a pass; the live reports speak', () => {
  const ready = { Ready: condition('True', 'Converged', 'serving') };
  const east = report('us-east-1', { global: true, conditions: ready, cdn: { distributionId: 'E1' } });
  const west = report('eu-west-1', {
    observedGeneration: 5,
    conditions: ready,
    cdn: { distributionId: 'E2' },
  });
  const lastPass = T0 - 10 * 60_000;
  const liveness = { heartbeats: { 'us-east-1': lastPass, 'eu-west-1': T0 }, now: T0, intervalMs: 60_000 };
  const view = mergeReports('demo', [east, west], liveness);
  const message = "us-east-1's reconciler is quiet (it last finished a pass at 2026-11-27T23:50:00.000Z)";
  const since = '2026-11-27T23:50:00.000Z';
  assert.deepEqual(view.conditions, {
    Ready: { status: 'False', reason: 'ReconcilerQuiet', message, lastTransitionTime: since },
    Degraded: { status: 'True', reason: 'ReconcilerQuiet', message, lastTransitionTime: since },
  });
  assert.equal(view.observedGeneration, 5, 'the live region’s generation');
  assert.equal(view.observedHash, 'h-eu-west-1');
  assert.deepEqual(view.cdn, { distributionId: 'E1' }, 'the last holder’s CDN, though quiet');
  assert.deepEqual(
    view.reporters.map((r) => [r.region, r.quiet]),
    [
      ['eu-west-1', false],
      ['us-east-1', true],
    ],
  );
  // Every reconciler quiet: the reports still speak, the latest pass dates the condition.
  const allQuiet = mergeReports('demo', [east, west], {
    ...liveness,
    heartbeats: { 'us-east-1': lastPass, 'eu-west-1': lastPass + 60_000 },
    now: T0 + 60 * 60_000,
  });
  assert.equal(allQuiet.observedGeneration, 4);
  assert.equal(allQuiet.conditions.Degraded!.lastTransitionTime, '2026-11-27T23:51:00.000Z');
  assert.equal(
    allQuiet.conditions.Degraded!.message,
    "eu-west-1's reconciler is quiet (it last finished a pass at 2026-11-27T23:51:00.000Z); us-east-1's reconciler is quiet (it last finished a pass at 2026-11-27T23:50:00.000Z)",
  );
});

test('with no holder, the CDN comes from a report that names a distribution; an item from before per-region statuses is the holder', () => {
  const liveness = { heartbeats: {}, now: T0, intervalMs: 60_000 };
  const view = mergeReports(
    'demo',
    [report('eu-west-1'), report('us-east-1', { cdn: { distributionId: 'E3' } })],
    liveness,
  );
  assert.deepEqual(view.cdn, { distributionId: 'E3' });
  assert.deepEqual(mergeReports('demo', [report('eu-west-1')], liveness).cdn, {});

  const legacy = report('', { cdn: { distributionId: 'E4' } });
  const views = siteViews(
    [
      { name: 'demo', revision: 1, status: legacy },
      { name: 'gone', revision: 1, status: report('us-east-1'), unreadable: true },
    ],
    liveness,
  );
  assert.deepEqual([...views.keys()], ['demo'], 'an unreadable item is no report');
  const view2 = views.get('demo')!;
  assert.deepEqual(view2.cdn, { distributionId: 'E4' });
  assert.deepEqual(view2.reporters, [{ region: '', global: true, quiet: false, observedGeneration: 4 }]);
  assert.deepEqual(
    Object.keys(view2.regions).sort(),
    ['eu-west-1', 'us-east-1'],
    'the old item held every region',
  );
  // Once a region writes its own report, the old item no longer counts.
  const both = siteViews(
    [
      { name: 'demo', revision: 1, status: legacy },
      { name: 'demo', region: 'eu-west-1', revision: 1, status: report('eu-west-1') },
    ],
    liveness,
  ).get('demo')!;
  assert.deepEqual(
    both.reporters.map((r) => r.region),
    ['eu-west-1'],
  );
  // Sites come in name order.
  const ordered = siteViews(
    [
      { name: 'b', region: 'us-east-1', revision: 1, status: { ...report('us-east-1'), site: 'b' } },
      { name: 'a', region: 'us-east-1', revision: 1, status: { ...report('us-east-1'), site: 'a' } },
    ],
    liveness,
  );
  assert.deepEqual([...ordered.keys()], ['a', 'b']);
});

test('views and reporters come in name order whatever order the store gives; a quiet reconciler leaves a site not Ready with its own reason', () => {
  const liveness = {
    heartbeats: { 'us-east-1': T0, 'ap-south-1': T0 - 60 * 60_000 },
    now: T0,
    intervalMs: 60_000,
  };
  const item = (name: string, region: string) => ({
    name,
    region,
    revision: 1,
    status: { ...report(region), site: name },
  });
  const views = siteViews(
    [item('c', 'us-east-1'), item('a', 'us-east-1'), item('d', 'us-east-1'), item('b', 'us-east-1')],
    liveness,
  );
  assert.deepEqual([...views.keys()], ['a', 'b', 'c', 'd']);
  const regions = ['us-west-2', 'eu-west-1', 'us-east-1', 'ap-south-1'];
  const view = mergeReports(
    'demo',
    regions.map((r) => report(r, { conditions: { Ready: condition('False', 'Converging', 'applying') } })),
    liveness,
  );
  assert.deepEqual(
    view.reporters.map((r) => r.region),
    ['ap-south-1', 'eu-west-1', 'us-east-1', 'us-west-2'],
  );
  assert.equal(view.conditions.Degraded!.reason, 'ReconcilerQuiet');
  assert.equal(view.conditions.Ready!.reason, 'Converging', 'not Ready already: its own reason stays');
});
