import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { CloudError } from '../controller/errors.ts';
import { emptyStatus } from '../controller/model/status.ts';
import { isGone, reconcilePass } from '../controller/reconcile/pass.ts';
import { observe } from '../controller/reconcile/observe.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { ObservedSite } from '../controller/model/observed.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';
import {
  converge,
  demoDocument,
  newSim,
  pass,
  simNow,
  specItem,
  statusItem,
  storeSpec,
} from './support/world.ts';

/*
 * What one pass (reconcile/pass.ts) reads, touches and writes: a dry run writes nothing, a pass
 * over some sites leaves the others alone, an invalid spec changes nothing, and sites are taken in
 * the order of their names whatever order the store lists them in.
 */

const TWO_REGIONS = ['us-east-1', 'eu-west-1'];

function named(name: string) {
  const document = demoDocument();
  document.metadata.name = name;
  return document;
}

test('a dry run plans and reports, and writes nothing: no cloud call that changes anything, no status', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  sim.resetCalls();
  const report = await reconcilePass({
    ports: sim.ports('us-east-1'),
    platform: sim.platform,
    region: 'us-east-1',
    dryRun: true,
    now: simNow(sim),
  });
  assert.ok((report.sites[0]?.plan?.actions.length ?? 0) > 0, 'a new site has a plan');
  assert.equal(report.sites[0]?.applied, undefined);
  assert.deepEqual(sim.cloudWrites(), []);
  assert.equal(report.statusWrites, 0);
  assert.equal(statusItem(sim, 'demo'), undefined);
  assert.equal(report.statuses.get('demo')?.site, 'demo', 'the status it would write is reported');
});

test('a pass over some sites leaves the others alone, though their status items are read with the rest', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, named('alpha'));
  await storeSpec(sim, named('beta'));
  await converge(sim);
  sim.tick();
  sim.resetCalls();
  const round = await pass(sim, { sites: ['beta'] });
  assert.deepEqual(
    round.sites.map((s) => s.name),
    ['beta', 'beta'],
  );
  assert.deepEqual(sim.cloudWrites(), [], 'alpha is not taken for a deleted site');
});

test('an invalid edit of a running site plans nothing for it, in its regions or its CDN', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  sim.tick();
  const broken = demoDocument();
  broken.spec.regions[0]!.maxTasks = 1; // below minTasks
  await storeSpec(sim, broken);
  sim.resetCalls();
  const round = await pass(sim);
  assert.deepEqual(
    round.sites.map((s) => [s.region, s.global]),
    [
      ['us-east-1', true],
      ['eu-west-1', false],
    ],
    'each region still reports the duties it held',
  );
  for (const site of round.sites) {
    assert.ok(site.problems !== undefined);
    assert.equal(site.observed, undefined, `${site.region}: not even observed`);
    assert.equal(site.plan, undefined);
  }
  assert.deepEqual(sim.cloudWrites(), []);
});

test('sites are taken in the order of their names, whatever order the store lists them in', async () => {
  const sim = newSim(TWO_REGIONS);
  const spec = (name: string) => ({ name, generation: 1, hash: name, document: named(name) });
  const report = await reconcilePass({
    ports: sim.ports('us-east-1'),
    platform: sim.platform,
    region: 'us-east-1',
    specs: [spec('zeta'), spec('alpha'), spec('mu')],
    statuses: [],
    dryRun: true,
    now: simNow(sim),
  });
  assert.deepEqual(
    report.sites.map((s) => s.name),
    ['alpha', 'mu', 'zeta'],
  );
});

test('the request history behind the forecast is read on a site’s first pass, then once an hour', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  const readAt = async (at: number) => {
    await pass(sim, { now: () => new Date(at) });
    return statusItem(sim, 'demo')?.status.regions['us-east-1']?.scaling?.forecast?.readAt;
  };
  assert.equal(await readAt(T), T, 'read on the first pass');
  assert.equal(await readAt(T + 10 * 60_000), T, 'not again within the hour');
  assert.equal(await readAt(T + 61 * 60_000), T + 61 * 60_000, 'read again after an hour');
});

test('a deleted site’s CDN is removed by the region holding its duties only, in the order its reports give', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  sim.tick();
  await sim.ports('us-east-1').store.deleteSpec('demo', 1);
  sim.replicate();
  const [eu] = (await pass(sim, { regions: ['eu-west-1'] })).sites;
  assert.equal(eu?.global, false, 'us-east-1, the primary, is alive');
  assert.deepEqual(
    (eu?.plan?.actions ?? []).filter((a) => !('region' in a)),
    [],
    'eu-west-1 plans nothing for the CDN',
  );
  const [us] = (await pass(sim, { regions: ['us-east-1'] })).sites;
  assert.equal(us?.global, true);
});

test('an edit the stored spec lost is reported as a conflict; with none lost there is no conflict', async () => {
  const sim = newSim(TWO_REGIONS);
  const spec = {
    name: 'demo',
    generation: 3,
    hash: 'h3',
    document: demoDocument(),
    lineage: { region: 'eu-west-1', seen: { 'us-east-1': 1 } },
  };
  const edit = (seq: number) => ({
    site: 'demo',
    region: 'us-east-1',
    seq,
    generation: 2,
    hash: 'h2',
    at: '2026-12-07T00:00:00Z',
  });
  const run = async (seq: number) =>
    (
      await reconcilePass({
        ports: sim.ports('us-east-1'),
        platform: sim.platform,
        region: 'us-east-1',
        specs: [spec],
        statuses: [],
        edits: [edit(seq)],
        dryRun: true,
        now: simNow(sim),
      })
    ).sites[0]!;
  const lost = await run(2);
  assert.deepEqual(lost.lostEdits, [{ lost: edit(2), winner: { region: 'eu-west-1', generation: 3 } }]);
  const seen = await run(1);
  assert.equal(seen.lostEdits, undefined);
});

test('an unreadable status of a region that holds no CDN still gives back what could be read: its regions', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const ports = sim.ports('eu-west-1');
  const stored = await ports.store.listStatuses();
  const own = stored.find((s) => s.region === 'eu-west-1')!;
  assert.equal(own.status.cdn.distributionId, undefined, 'the failover region reports no distribution');
  const report = await reconcilePass({
    ports,
    platform: sim.platform,
    region: 'eu-west-1',
    statuses: [...stored.filter((s) => s !== own), { ...own, unreadable: true }],
    dryRun: true,
    now: simNow(sim),
  });
  assert.deepEqual([report.sites[0]!.statusUnreadable, report.sites[0]!.previous], ['salvaged', own.status]);
});

test('an invalid spec costs no reads for the CDN nor for the request history', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const T = sim.now();
  await converge(sim);
  const broken = demoDocument();
  broken.spec.regions[0]!.maxTasks = 1;
  await storeSpec(sim, broken);
  const cloudwatchCalls = async (at: number) => {
    sim.resetCalls();
    await pass(sim, { now: () => new Date(at) });
    assert.deepEqual(
      sim.calls.filter((c) => c.service === 'cloudfront'),
      [],
    );
    return sim.calls.filter((c) => c.service === 'cloudwatch').length;
  };
  const withinTheHour = await cloudwatchCalls(T + 10 * 60_000);
  assert.equal(await cloudwatchCalls(T + 2 * 60 * 60_000), withinTheHour, 'an hour later: no history read');
});

test('a site invalid from its first spec: no region claims its duties', async () => {
  const sim = newSim(TWO_REGIONS);
  const broken = demoDocument();
  broken.spec.regions[0]!.maxTasks = 1;
  await storeSpec(sim, broken);
  const round = await pass(sim);
  assert.deepEqual(
    round.sites.map((s) => [s.region, s.global]),
    [
      ['us-east-1', false],
      ['eu-west-1', false],
    ],
  );
});

test('a spec item the store could not read whole is invalid with the store’s problems, though what was read validates', async () => {
  const sim = newSim(TWO_REGIONS);
  const problems = [{ field: 'spec.image.tag', message: 'is a set of numbers, which JSON has no value for' }];
  const report = await reconcilePass({
    ports: sim.ports('us-east-1'),
    platform: sim.platform,
    region: 'us-east-1',
    specs: [{ name: 'demo', generation: 1, hash: 'h', document: demoDocument(), problems }],
    statuses: [],
    dryRun: true,
    now: simNow(sim),
  });
  assert.deepEqual(report.sites[0]!.problems, problems);
});

test('the primary holds a site’s duties first even where the spec lists a failover region before it', async () => {
  const sim = newSim(TWO_REGIONS);
  const document = demoDocument();
  document.spec.regions.reverse();
  assert.equal(document.spec.regions[0]!.role, 'failover');
  await storeSpec(sim, document);
  const round = await pass(sim);
  assert.deepEqual(
    round.sites.map((s) => [s.region, s.global]),
    [
      ['us-east-1', true],
      ['eu-west-1', false],
    ],
  );
});

test('a deleted site’s duties pass, once its primary is quiet, to its failover regions in the order of their names', async () => {
  const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
  const sim = newSim(regions);
  const document = demoDocument();
  document.spec.regions.push({ name: 'ap-southeast-2', role: 'failover', minTasks: 1, maxTasks: 4 });
  await storeSpec(sim, document);
  await converge(sim);
  await sim.ports('us-east-1').store.deleteSpec('demo', 1);
  sim.replicate();
  // us-east-1 passes no more: ten minutes on, it is quiet; the two others pass, one after the other.
  const later = () => new Date(sim.now() + 10 * 60_000);
  const [ap] = (await pass(sim, { regions: ['ap-southeast-2'], now: later })).sites;
  sim.replicate();
  const [eu] = (await pass(sim, { regions: ['eu-west-1'], now: later })).sites;
  assert.deepEqual(
    [ap?.global, eu?.global],
    [true, false],
    'ap-southeast-2 before eu-west-1: the failover regions by name',
  );
});

test('a deleted site whose reports name no region’s role still has a duty holder: the reporting regions, by name', async () => {
  const sim = newSim(TWO_REGIONS);
  const statuses = ['us-east-1', 'eu-west-1'].map((region) => ({
    name: 'demo',
    region,
    revision: 1,
    status: emptyStatus('demo', region),
  }));
  const holder = async (region: string) =>
    (
      await reconcilePass({
        ports: sim.ports(region),
        platform: sim.platform,
        region,
        specs: [],
        statuses,
        heartbeats: [],
        dryRun: true,
        now: simNow(sim),
      })
    ).sites[0]!.global;
  assert.deepEqual([await holder('eu-west-1'), await holder('us-east-1')], [true, false]);
});

test('a canary deployment ECS fails and rolls back is not sent again pass after pass', async () => {
  const sim = newSim(TWO_REGIONS);
  const document = demoDocument(); // canary v2 at 15 %
  await storeSpec(sim, document);
  await converge(sim);
  document.spec.canary!.tag = 'v3-broken';
  sim.failTasksOf(`${document.spec.image.repository}:v3-broken`);
  await storeSpec(sim, document);
  await pass(sim);
  sim.tick();
  for (let i = 0; i < 3; i += 1) {
    const report = await pass(sim);
    const deploys = report.sites.flatMap((s) =>
      (s.plan?.actions ?? []).filter(
        (a) => a.kind === 'UpdateService' && a.name === 'demo-canary' && a.taskDefinition !== undefined,
      ),
    );
    assert.deepEqual(deploys, [], `pass ${i + 1} deploys nothing to the canary`);
    sim.tick();
  }
});

test('promote: auto is carried out by the holder of the site’s duties only, and not while the site is paused; it is logged, and reported, and a write that fails is logged and retried', async () => {
  const run = async (options: { paused?: boolean; refuse?: number; log?: boolean }) => {
    const sim = newSim(TWO_REGIONS);
    const document = demoDocument();
    document.spec.canary = {
      tag: 'v2',
      analysis: { stepWeight: 20, maxWeight: 40, threshold: 2, promote: 'auto' },
    };
    await storeSpec(sim, document);
    const writers: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    let reason: string | undefined;
    const regionsReported: number[] = [];
    for (let m = 0; m < 8; m += 1) {
      for (const region of TWO_REGIONS)
        sim.setTraffic(region, 'demo-canary', {
          requestsPerMinute: 300,
          errors5xxPerMinute: 0,
          p95LatencyMs: 80,
        });
      if (options.paused === true && m === 3) {
        // The weight is at its maximum: the next minutes' analysis succeeds. Paused meanwhile.
        const stopped = structuredClone(document);
        stopped.spec.paused = true;
        await storeSpec(sim, stopped);
      }
      const reports = await reconcileRound({
        platform: sim.platform,
        now: simNow(sim),
        ...(options.log === true ? { log } : {}),
        portsOf: (region) => {
          const ports = sim.ports(region);
          const store = Object.assign(Object.create(ports.store) as typeof ports.store, {
            putSpec: (name: string, doc: unknown, generation: number) => {
              writers.push(region);
              if (writers.length <= (options.refuse ?? 0))
                return Promise.reject(
                  new CloudError('Conflict', name, 'spec demo changed since it was read'),
                );
              return ports.store.putSpec(name, doc, generation);
            },
          });
          return { ...ports, store };
        },
      });
      regionsReported.push(reports.length);
      reason = reports[0]?.statuses.get('demo')?.conditions.CanaryProgressing?.reason;
      sim.tick();
      if (options.paused !== true && specItem(sim, 'demo')!.generation !== 1) break;
    }
    return { writers, generation: specItem(sim, 'demo')!.generation, reason, regionsReported, lines };
  };
  const promoted = await run({ log: true });
  assert.deepEqual([promoted.writers, promoted.generation, promoted.reason], [['us-east-1'], 2, 'Promoted']);
  const info = promoted.lines.find((l) => l['msg'] === 'canary promoted');
  assert.deepEqual([info?.['level'], info?.['site'], info?.['tag']], [30, 'demo', 'v2']);

  const paused = await run({ paused: true });
  assert.deepEqual([paused.writers, paused.generation], [[], 2], 'paused: only the person’s edit');

  const refused = await run({ refuse: 1, log: true });
  assert.deepEqual(
    [refused.writers, refused.generation],
    [['us-east-1', 'us-east-1'], 2],
    'retried the next pass',
  );
  const warned = refused.lines.find((l) => l['msg'] === 'canary not promoted; the next pass retries');
  assert.deepEqual(
    [warned?.['level'], warned?.['site'], warned?.['err']],
    [40, 'demo', 'spec demo changed since it was read'],
  );
  const unlogged = await run({ refuse: 1 });
  assert.equal(unlogged.generation, 2);
  assert.ok(
    unlogged.regionsReported.every((n) => n === 2),
    'a refused promotion fails no pass, logger or not',
  );
});

test('a status the store refuses fails no pass, logger or not: the next pass writes it', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  const ports = sim.ports('us-east-1');
  const refusing = {
    ...ports,
    store: Object.assign(Object.create(ports.store) as typeof ports.store, {
      putStatus: () => Promise.reject(new CloudError('Unavailable', 'status', 'table unreachable')),
    }),
  };
  const report = await reconcilePass({
    ports: refusing,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  assert.equal(report.statusWrites, 0);
  assert.equal(statusItem(sim, 'demo'), undefined);
  const next = await reconcilePass({ ports, platform: sim.platform, region: 'us-east-1', now: simNow(sim) });
  assert.equal(next.statusWrites, 1);
});

test('a deleted site’s item from before statuses were per region is removed by the duties’ holder only, once nothing remains', async () => {
  const sim = newSim(TWO_REGIONS);
  const legacy = {
    name: 'demo',
    revision: 4,
    status: {
      ...emptyStatus('demo', ''),
      regions: {
        'us-east-1': { role: 'primary' },
        'eu-west-1': { role: 'failover' },
      } as unknown as ReturnType<typeof emptyStatus>['regions'],
    },
  };
  const deletes = async (region: string) => {
    const calls: unknown[][] = [];
    const ports = sim.ports(region);
    const store = Object.assign(Object.create(ports.store) as typeof ports.store, {
      deleteStatus: async (...args: unknown[]) => {
        calls.push(args);
      },
    });
    const report = await reconcilePass({
      ports: { ...ports, store },
      platform: sim.platform,
      region,
      specs: [],
      statuses: [legacy],
      heartbeats: [],
      now: simNow(sim),
    });
    return [report.sites[0]?.global, calls];
  };
  assert.deepEqual(await deletes('us-east-1'), [true, [['demo', undefined, 4]]]);
  assert.deepEqual(await deletes('eu-west-1'), [false, []]);
});

test('a deleted site: each region removes its own report, and tries nothing it does not have', async () => {
  const sim = newSim(TWO_REGIONS);
  const own = {
    name: 'demo',
    region: 'us-east-1',
    revision: 2,
    status: {
      ...emptyStatus('demo', 'us-east-1'),
      regions: { 'us-east-1': { role: 'primary' } } as unknown as ReturnType<typeof emptyStatus>['regions'],
    },
  };
  const run = async (region: string) => {
    const calls: unknown[][] = [];
    const lines: Record<string, unknown>[] = [];
    const ports = sim.ports(region);
    const store = Object.assign(Object.create(ports.store) as typeof ports.store, {
      deleteStatus: async (...args: unknown[]) => {
        calls.push(args);
      },
    });
    await reconcilePass({
      ports: { ...ports, store },
      platform: sim.platform,
      region,
      specs: [],
      statuses: [own],
      heartbeats: [],
      now: simNow(sim),
      log: pino(
        { level: 'warn' },
        { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
      ),
    });
    return { calls, warnings: lines.map((l) => l['msg']) };
  };
  assert.deepEqual(await run('us-east-1'), { calls: [['demo', 'us-east-1', 2]], warnings: [] });
  assert.deepEqual(await run('eu-west-1'), { calls: [], warnings: [] });
});

test('a live site’s item from before statuses were per region is removed by the duties’ holder once its own report stands', async () => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const run = async (region: string) => {
    const stored = await sim.ports(region).store.listStatuses();
    const legacy = { name: 'demo', revision: 7, status: { ...stored[0]!.status, region: '', global: true } };
    const calls: unknown[][] = [];
    const ports = sim.ports(region);
    const store = Object.assign(Object.create(ports.store) as typeof ports.store, {
      deleteStatus: async (...args: unknown[]) => {
        calls.push(args);
      },
    });
    const report = await reconcilePass({
      ports: { ...ports, store },
      platform: sim.platform,
      region,
      statuses: [...stored, legacy],
      now: simNow(sim),
    });
    return [report.statusWrites, calls];
  };
  assert.deepEqual(await run('us-east-1'), [1, [['demo', undefined, 7]]]);
  assert.deepEqual(await run('eu-west-1'), [0, []]);
});

test('a deleted site is gone only when nothing of it remains and nothing failed: its status stays for any one leftover', async (t) => {
  const sim = newSim(TWO_REGIONS);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  const observation = await observe(sim.ports('us-east-1'), sim.platform, {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: ['demo'],
    knownDistributions: {},
    now: simNow(sim)().getTime(),
  });
  const live = observation.sites.get('demo')!;
  const region = live.regions['us-east-1']!;
  // What a live site leaves, as observed: each kind is there, tagged as the site's.
  assert.ok(region.services.length > 0 && region.targetGroups.length > 0 && region.rules.length > 0);
  assert.ok(region.taskDefinitions.length > 0 && live.cdn!.distributions.some((d) => d.owned));
  const theirs = ownershipTags('other');
  const gone: ObservedSite = {
    ...live,
    regions: {
      'us-east-1': {
        ...region,
        // ECS keeps a deleted service as INACTIVE; another owner's resources under the names stay.
        services: [
          { ...region.services[0]!, status: 'INACTIVE' },
          { ...region.services[0]!, name: 'demo-foreign', tags: theirs },
        ],
        targetGroups: [{ ...region.targetGroups[0]!, tags: theirs }],
        rules: [],
        taskDefinitions: [{ ...region.taskDefinitions[0]!, tags: theirs }],
      },
    },
    cdn: { distributions: live.cdn!.distributions.map((d) => ({ ...d, owned: false })) },
  };
  const leftOver = (change: (site: ObservedSite, r: ObservedSite['regions'][string]) => void) => {
    const site = structuredClone(gone);
    change(site, site.regions['us-east-1']!);
    return site;
  };
  assert.equal(
    isGone({ name: 'demo', observed: gone }),
    true,
    'only inactive services and others’ resources',
  );
  assert.equal(
    isGone({ name: 'demo', observed: { ...gone, cdn: undefined } as ObservedSite }),
    true,
    'a region without the duties does not see the CDN',
  );
  const cases: [string, ObservedSite | undefined][] = [
    ['not observed this pass', undefined],
    ['a service still ACTIVE', leftOver((_, r) => (r.services[0]!.status = 'ACTIVE'))],
    ['a service still DRAINING', leftOver((_, r) => (r.services[0]!.status = 'DRAINING'))],
    ['a target group', leftOver((_, r) => r.targetGroups.push(region.targetGroups[0]!))],
    ['a rule', leftOver((_, r) => r.rules.push(region.rules[0]!))],
    ['a task definition', leftOver((_, r) => r.taskDefinitions.push(region.taskDefinitions[0]!))],
    [
      'a task definition whose tags were not read',
      leftOver((_, r) => r.taskDefinitions.push({ ...region.taskDefinitions[0]!, tags: undefined })),
    ],
    ['the distribution', leftOver((site) => (site.cdn!.distributions[0]!.owned = true))],
    [
      'a CDN that could not be read',
      leftOver((site) => (site.cdn!.error = new CloudError('Unavailable', 'cloudfront', 'down'))),
    ],
    [
      'a region that could not be read',
      leftOver((_, r) => (r.error = new CloudError('Unavailable', 'us-east-1', 'down'))),
    ],
  ];
  for (const [name, observed] of cases) {
    await t.test(name, () => {
      assert.equal(isGone({ name: 'demo', ...(observed === undefined ? {} : { observed }) }), false);
    });
  }
});
