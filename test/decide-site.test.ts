import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryState } from '../controller/decide/canary.ts';
import { CloudError } from '../controller/errors.ts';
import { decideSite, type PeerReport, type SiteContext } from '../controller/decide/site.ts';
import type { ObservedRegion, TrafficSample } from '../controller/model/observed.ts';
import { emptyStatus, type RegionScaling, type RegionStatus } from '../controller/model/status.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { ServiceState } from '../controller/ports/ecs.ts';
import { demoDocument, valid } from './support/world.ts';

// decideSite on one region's observation, the way a pass calls it: the demo site (us-east-1 primary,
// eu-west-1 failover, 3 to 12 tasks, 600 requests a task, a 300 s window, 5xx above 50 % fails a region).

const T = Date.parse('2026-11-28T12:00:00Z');
const MINUTE = 60_000;
const site = valid(demoDocument());

function service(name: string, over: Partial<ServiceState> = {}): ServiceState {
  return {
    name,
    arn: `arn:${name}`,
    status: 'ACTIVE',
    taskDefinition: `tandem-${name}`,
    deploymentFamilies: [`tandem-${name}`],
    desiredCount: 3,
    runningCount: 3,
    pendingCount: 0,
    rolloutInProgress: false,
    tags: ownershipTags('demo'),
    ...over,
  };
}

function region(over: Partial<ObservedRegion> = {}, stable: TrafficSample = {}): ObservedRegion {
  return {
    region: 'us-east-1',
    services: [service('demo-stable')],
    targetGroups: [],
    rules: [],
    taskDefinitions: [],
    traffic: { stable, canary: {} },
    ...over,
  };
}

function context(over: Partial<SiteContext> = {}): SiteContext {
  return { self: 'us-east-1', peers: [], global: false, now: T, wantedFamilies: new Set(), ...over };
}

/** This region's last report, with its scaling memory. */
function previous(scaling: Partial<RegionScaling>): SiteContext['previous'] {
  const report: RegionStatus = {
    role: 'primary',
    stable: { desired: 3, running: 3, pending: 0 },
    canary: { desired: 0, running: 0, pending: 0 },
    canaryWeight: 0,
    scaling: { history: [], decision: { tasks: 3, reason: 'AtMinimum', message: '' }, ...scaling },
  };
  return { ...emptyStatus('demo', 'us-east-1'), regions: { 'us-east-1': report } };
}

/** Another region's report; `scaling` fills its region's entry. */
function peer(name: string, entry: Partial<RegionStatus> = {}, quiet = false): PeerReport {
  const report: RegionStatus = {
    role: 'failover',
    stable: { desired: 3, running: 3, pending: 0 },
    canary: { desired: 0, running: 0, pending: 0 },
    canaryWeight: 0,
    ...entry,
  };
  return { region: name, status: { ...emptyStatus('demo', name), regions: { [name]: report } }, quiet };
}

function decide(seen: ObservedRegion | undefined, over: Partial<SiteContext> = {}) {
  return decideSite(
    site,
    { name: 'demo', regions: seen === undefined ? {} : { 'us-east-1': seen } },
    context(over),
  );
}

test('a region fails on its 5xx share only above the threshold and only from 20 requests a minute, both tracks counted', () => {
  const cases: [name: string, stable: TrafficSample, canary: TrafficSample, failing: boolean][] = [
    ['51 % of 100 requests', { requestsPerMinute: 100, errors5xxPerMinute: 51 }, {}, true],
    ['exactly 50 % is not above it', { requestsPerMinute: 100, errors5xxPerMinute: 50 }, {}, false],
    ['19 requests all failed are noise', { requestsPerMinute: 19, errors5xxPerMinute: 19 }, {}, false],
    ['20 requests, 11 failed', { requestsPerMinute: 20, errors5xxPerMinute: 11 }, {}, true],
    [
      '10 + 10 requests, 6 + 5 failed: the tracks add up',
      { requestsPerMinute: 10, errors5xxPerMinute: 6 },
      { requestsPerMinute: 10, errors5xxPerMinute: 5 },
      true,
    ],
    ['failed requests with none counted', { errors5xxPerMinute: 40 }, {}, false],
    ['no metrics at all', {}, {}, false],
  ];
  for (const [name, stable, canary, failing] of cases) {
    const decisions = decide(region({ traffic: { stable, canary } }));
    assert.deepEqual(decisions.failing, failing ? ['us-east-1'] : [], name);
    assert.equal(decisions.failoverActive, failing, `${name}: us-east-1 is the primary`);
    assert.equal(decisions.regions['us-east-1']!.scaling.failingSince, failing ? T : undefined, name);
  }
});

test('running tasks with no healthy target fail a region from the second pass that sees it', () => {
  const none = { healthyTargets: 0 };
  const first = decide(region({}, none));
  assert.deepEqual(first.failing, [], 'one pass may read a datapoint from before the tasks turned healthy');
  assert.equal(first.regions['us-east-1']!.scaling.unhealthySince, T);

  const second = decide(region({}, none), { previous: previous({ unhealthySince: T - MINUTE }) });
  assert.deepEqual(second.failing, ['us-east-1']);
  assert.equal(second.regions['us-east-1']!.scaling.unhealthySince, T - MINUTE);
  assert.equal(second.regions['us-east-1']!.scaling.failingSince, T);

  const cases: [name: string, seen: ObservedRegion][] = [
    ['a healthy target', region({}, { healthyTargets: 1 })],
    ['a healthy canary target', region({ traffic: { stable: none, canary: { healthyTargets: 1 } } })],
    ['no healthy-host metric', region({}, {})],
    ['no task running', region({ services: [service('demo-stable', { runningCount: 0 })] }, none)],
    [
      'tasks of a rollout, which waits for health itself',
      region({ services: [service('demo-stable', { rolloutInProgress: true })] }, none),
    ],
    ['tasks of a service not ours', region({ services: [service('demo-stable', { tags: {} })] }, none)],
    [
      'tasks of a draining service',
      region({ services: [service('demo-stable', { status: 'DRAINING' })] }, none),
    ],
  ];
  for (const [name, seen] of cases) {
    const decisions = decide(seen, { previous: previous({ unhealthySince: T - MINUTE }) });
    assert.deepEqual(decisions.failing, [], name);
    assert.equal(decisions.regions['us-east-1']!.scaling.unhealthySince, undefined, name);
  }
});

test('a region that cannot be observed is failing and holds its last decision', () => {
  const unreachable = region({
    error: new CloudError('Unavailable', 'us-east-1', 'down'),
  });
  const decisions = decide(unreachable, {
    previous: previous({ decision: { tasks: 7, reason: 'ScaleOut', message: '' }, failingSince: T - MINUTE }),
  });
  assert.deepEqual(decisions.failing, ['us-east-1']);
  assert.deepEqual(decisions.regions['us-east-1']!.scaling.decision, {
    tasks: 7,
    reason: 'MetricsMissing',
    message: 'region unreachable; holding the last decision',
  });
  assert.equal(decisions.regions['us-east-1']!.tasks, 7);
  assert.equal(
    decisions.regions['us-east-1']!.scaling.failingSince,
    T - MINUTE,
    'failing since it first failed',
  );
});

test('a recovered region keeps healthySince for one stabilization window, then drops it', () => {
  const healthy = region({}, { requestsPerMinute: 1800, healthyTargets: 3 });
  const recovered = decide(healthy, { previous: previous({ failingSince: T - 10 * MINUTE }) });
  assert.deepEqual(recovered.failing, []);
  assert.equal(recovered.regions['us-east-1']!.scaling.healthySince, T);
  assert.equal(recovered.regions['us-east-1']!.scaling.failingSince, undefined);
  const inWindow = decide(healthy, { previous: previous({ healthySince: T - 5 * MINUTE + 1 }) });
  assert.equal(inWindow.regions['us-east-1']!.scaling.healthySince, T - 5 * MINUTE + 1);
  const after = decide(healthy, { previous: previous({ healthySince: T - 5 * MINUTE }) });
  assert.equal(after.regions['us-east-1']!.scaling.healthySince, undefined);
  const never = decide(healthy);
  assert.equal(never.regions['us-east-1']!.scaling.healthySince, undefined, 'it never failed');
});

test('other regions fail as they report themselves, or when their reconciler is quiet; regions the spec does not name are ignored', () => {
  const cases: [name: string, peers: PeerReport[], failing: string[]][] = [
    [
      'a healthy peer',
      [peer('eu-west-1', { scaling: { history: [], decision: { tasks: 3, reason: '', message: '' } } })],
      [],
    ],
    [
      'a peer failing by its report',
      [
        peer('eu-west-1', {
          scaling: { history: [], decision: { tasks: 3, reason: '', message: '' }, failingSince: T },
        }),
      ],
      ['eu-west-1'],
    ],
    ['a quiet peer', [peer('eu-west-1', {}, true)], ['eu-west-1']],
    ['a quiet region the spec does not name', [peer('us-west-2', {}, true)], []],
    ['a report of this very region', [{ ...peer('us-east-1', {}, true) }], []],
  ];
  for (const [name, peers, failing] of cases) {
    const decisions = decide(region({}, { requestsPerMinute: 1800 }), { peers });
    assert.deepEqual(decisions.failing, failing, name);
    assert.equal(decisions.failoverActive, false, `${name}: the primary serves`);
  }
  // Seen from the failover region, a failing primary is a failover, and both failing regions are listed in order.
  const failover = decideSite(
    site,
    {
      name: 'demo',
      regions: {
        'eu-west-1': region({ region: 'eu-west-1' }, { requestsPerMinute: 100, errors5xxPerMinute: 90 }),
      },
    },
    context({ self: 'eu-west-1', peers: [peer('us-east-1', {}, true)] }),
  );
  assert.deepEqual(failover.failing, ['eu-west-1', 'us-east-1']);
  assert.equal(failover.failoverActive, true);
});

test('the failover region carries the failed primary’s last healthy demand; the primary carries no one', () => {
  const primaryFailing = peer('us-east-1', {
    scaling: {
      history: [],
      decision: { tasks: 8, reason: '', message: '' },
      failingSince: T - MINUTE,
      lastHealthyRequestsPerMinute: 4801,
    },
  });
  const seen = region({ region: 'eu-west-1', services: [service('demo-stable')] }, { requestsPerMinute: 0 });
  const failover = decideSite(
    site,
    { name: 'demo', regions: { 'eu-west-1': seen } },
    context({ self: 'eu-west-1', peers: [primaryFailing] }),
  );
  const scaling = failover.regions['eu-west-1']!.scaling;
  // 4801 requests at 600 a task: 9 tasks, not 8.
  assert.equal(failover.regions['eu-west-1']!.tasks, 9);
  assert.deepEqual(scaling.carrying, { regions: ['us-east-1'], requestsPerMinute: 4801, since: T });
  assert.equal(scaling.decision.reason, 'AtMinimum');
  assert.match(scaling.decision.message, /carrying us-east-1: 4801 requests a minute when last healthy/);

  const eastFailing = peer('eu-west-1', {
    scaling: {
      history: [],
      decision: { tasks: 8, reason: '', message: '' },
      failingSince: T - MINUTE,
      lastHealthyRequestsPerMinute: 4801,
    },
  });
  const primary = decide(region({}, { requestsPerMinute: 0 }), { peers: [eastFailing] });
  assert.equal(primary.regions['us-east-1']!.tasks, 3, 'the CDN sends the failover region’s viewers nowhere');
  assert.equal(primary.regions['us-east-1']!.scaling.carrying, undefined);
});

test('a failing region keeps its last healthy demand; a healthy one records its current demand', () => {
  const memory = { lastHealthyRequestsPerMinute: 2400 };
  const healthy = decide(region({}, { requestsPerMinute: 1800 }), { previous: previous(memory) });
  assert.equal(healthy.regions['us-east-1']!.scaling.lastHealthyRequestsPerMinute, 1800);
  const failing = decide(region({}, { requestsPerMinute: 100, errors5xxPerMinute: 90 }), {
    previous: previous(memory),
  });
  assert.equal(failing.regions['us-east-1']!.scaling.lastHealthyRequestsPerMinute, 2400);
  const unmeasured = decide(region({}, {}), { previous: previous(memory) });
  assert.equal(unmeasured.regions['us-east-1']!.scaling.lastHealthyRequestsPerMinute, 2400);
  const canaryToo = decide(
    region({ traffic: { stable: { requestsPerMinute: 1800 }, canary: { requestsPerMinute: 200 } } }),
  );
  assert.equal(canaryToo.regions['us-east-1']!.scaling.lastHealthyRequestsPerMinute, 2000);
});

test('the count starts from the last decision, else the services’ desired counts, else minTasks', () => {
  const noMetrics = (seen: ObservedRegion, over: Partial<SiteContext> = {}) =>
    decide(seen, over).regions['us-east-1']!.scaling.decision.tasks;
  assert.equal(
    noMetrics(region(), { previous: previous({ decision: { tasks: 7, reason: '', message: '' } }) }),
    7,
  );
  const two = region({
    services: [service('demo-stable', { desiredCount: 4 }), service('demo-canary', { desiredCount: 2 })],
  });
  assert.equal(noMetrics(two), 6);
  const notOurs = region({
    services: [
      service('demo-stable', { desiredCount: 4 }),
      service('demo-canary', { desiredCount: 5, tags: {} }),
      service('demo-canary', { desiredCount: 6, status: 'DRAINING' }),
    ],
  });
  assert.equal(noMetrics(notOurs), 4, 'only our active services count');
  assert.equal(noMetrics(region({ services: [] })), 3, 'minTasks');
});

test('missing metrics leave the recommendation history as it was; a recommendation from metrics joins it', () => {
  const history = [{ at: T - MINUTE, tasks: 5 }];
  const missing = decide(region(), { previous: previous({ history }) });
  assert.deepEqual(missing.regions['us-east-1']!.scaling.history, history);
  const measured = decide(region({}, { requestsPerMinute: 1800 }), { previous: previous({ history }) });
  assert.deepEqual(measured.regions['us-east-1']!.scaling.history, [...history, { at: T, tasks: 3 }]);
});

test('only a rollout this spec did not ask for holds scale-in', () => {
  const rolling = region(
    { services: [service('demo-stable', { desiredCount: 6, runningCount: 6, rolloutInProgress: true })] },
    { requestsPerMinute: 1800 },
  );
  const before = previous({ decision: { tasks: 6, reason: '', message: '' } });
  const old = decide(rolling, { previous: before });
  assert.equal(old.regions['us-east-1']!.scaling.decision.reason, 'ScaleInHeldDuringRollout');
  assert.equal(old.regions['us-east-1']!.scaling.heldSince, T);
  const wanted = decide(rolling, { previous: before, wantedFamilies: new Set(['tandem-demo-stable']) });
  assert.equal(wanted.regions['us-east-1']!.scaling.decision.reason, 'ScaleIn');
  assert.equal(wanted.regions['us-east-1']!.scaling.heldSince, undefined);
});

test('a region the spec does not name decides nothing for itself', () => {
  const decisions = decideSite(site, { name: 'demo', regions: {} }, context({ self: 'us-west-2' }));
  assert.deepEqual(decisions.regions, {});
  assert.deepEqual(decisions.failing, []);
});

test('failed rollouts are read from this region’s own active services only', () => {
  const failure = { taskDefinition: 'tandem-demo-stable', reason: 'circuit breaker' };
  const wantedFamilies = new Set(['tandem-demo-stable']);
  const ours = decide(
    region({ services: [service('demo-stable', { rolloutInProgress: true, failedRollout: failure })] }),
    {
      wantedFamilies,
    },
  );
  assert.deepEqual(ours.regions['us-east-1']!.failedRollouts, [
    { service: 'demo-stable', taskDefinition: 'tandem-demo-stable', reason: 'circuit breaker', since: T },
  ]);
  for (const over of [{ tags: {} }, { status: 'DRAINING' as const }]) {
    const other = decide(
      region({
        services: [service('demo-stable', { rolloutInProgress: true, failedRollout: failure, ...over })],
      }),
      {
        wantedFamilies,
      },
    );
    assert.equal(other.regions['us-east-1']!.failedRollouts, undefined, JSON.stringify(over));
  }
});

test('the HTTPS rule: this region’s as observed on its second listener, the others’ as they report it', () => {
  const listeners = ['arn:http', 'arn:https'];
  const rule = (listenerArn: string) => ({
    arn: `arn:rule:${listenerArn}`,
    priority: 1,
    header: { name: 'x', values: ['y'] },
    forward: [],
    tags: ownershipTags('demo'),
    listenerArn,
  });
  const cases: [name: string, seen: ObservedRegion, peers: PeerReport[], https: string[] | undefined][] = [
    ['only on the HTTP listener', region({ listeners, rules: [rule('arn:http')] }), [], undefined],
    [
      'on the HTTPS listener',
      region({ listeners, rules: [rule('arn:http'), rule('arn:https')] }),
      [],
      ['us-east-1'],
    ],
    ['no HTTPS listener', region({ listeners: ['arn:http'], rules: [rule('arn:http')] }), [], undefined],
    [
      'a peer that reports it, and one that does not',
      region({ listeners, rules: [rule('arn:https')] }),
      [peer('eu-west-1', { httpsRule: true }), peer('us-west-2', {})],
      ['eu-west-1', 'us-east-1'],
    ],
  ];
  for (const [name, seen, peers, https] of cases)
    assert.deepEqual(decide(seen, { peers }).httpsRules, https, name);
});

test('the canary weight: the spec’s without analysis; with it, the holder’s analysis, which the others follow', () => {
  assert.equal(decide(region()).canaryWeight, 15);
  assert.equal(decide(region()).canary, undefined);
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: {} };
  const analysed = valid(document);
  const published = {
    ...emptyStatus('demo', 'eu-west-1'),
    global: true,
    canary: {
      tag: 'v2',
      phase: 'Progressing' as const,
      weight: 20,
      failedChecks: 0,
      lastCheckAt: T,
      message: '',
    },
  };
  const follower = decideSite(
    analysed,
    { name: 'demo', regions: { 'us-east-1': region() } },
    context({ peers: [{ region: 'eu-west-1', status: published, quiet: false }] }),
  );
  assert.deepEqual([follower.canaryWeight, follower.canary], [20, undefined]);
  const stale = { ...published, canary: { ...published.canary, tag: 'v1' } };
  const unknown = decideSite(
    analysed,
    { name: 'demo', regions: { 'us-east-1': region() } },
    context({ peers: [{ region: 'eu-west-1', status: stale, quiet: false }] }),
  );
  assert.equal(unknown.canaryWeight, 0, 'a state for another tag is not this analysis');
});

test('the holder judges the canary on every live region’s traffic: requests and 5xx summed, the worst p95', () => {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: { threshold: 1 } };
  const analysed = valid(document);
  const own = {
    tag: 'v2',
    phase: 'Progressing' as const,
    weight: 10,
    failedChecks: 0,
    lastCheckAt: T - MINUTE,
    message: '',
  };
  const mine = { ...emptyStatus('demo', 'us-east-1'), global: true, canary: own };
  const seen = region({
    traffic: { stable: {}, canary: { requestsPerMinute: 600, errors5xxPerMinute: 7, p95LatencyMs: 100 } },
  });
  const judge = (peers: PeerReport[]) =>
    decideSite(
      analysed,
      { name: 'demo', regions: { 'us-east-1': seen } },
      context({ global: true, previous: mine, peers }),
    ).canary!;
  // Alone: 7 failed of 600 is a success rate of 98.83 %, below 99 %.
  assert.equal(judge([]).phase, 'Failed');
  // With another region's 600 clean requests, 7 of 1200 is 99.42 %; its p95 of 400 ms is the worst, under 500.
  const clean = peer('eu-west-1', {
    canaryTraffic: { requestsPerMinute: 600, errors5xxPerMinute: 0, p95LatencyMs: 400 },
  });
  assert.equal(judge([clean]).weight, 20);
  assert.match(judge([clean]).message, /success 99\.42%, p95 400 ms/);
  // A slow region fails the check though this one is fast.
  const slow = peer('eu-west-1', {
    canaryTraffic: { requestsPerMinute: 600, errors5xxPerMinute: 0, p95LatencyMs: 900 },
  });
  assert.match(judge([slow]).message, /p95 latency 900 ms is above 500 ms/);
  // A quiet region's traffic is stale, and left out.
  assert.equal(judge([peer('eu-west-1', clean.status!.regions['eu-west-1'], true)]).phase, 'Failed');
});

test('failing regions are listed in order, and the primary is found wherever the spec lists it', () => {
  const both = decide(region({}, { requestsPerMinute: 100, errors5xxPerMinute: 90 }), {
    peers: [peer('eu-west-1', {}, true)],
  });
  assert.deepEqual(both.failing, ['eu-west-1', 'us-east-1']);

  const document = demoDocument();
  document.spec.regions = [...document.spec.regions].reverse();
  const reordered = valid(document);
  assert.equal(reordered.spec.regions[0]!.role, 'failover');
  const primaryFailing = decideSite(
    reordered,
    { name: 'demo', regions: { 'eu-west-1': region({ region: 'eu-west-1' }, { requestsPerMinute: 100 }) } },
    context({ self: 'eu-west-1', peers: [peer('us-east-1', {}, true)] }),
  );
  assert.deepEqual([primaryFailing.failing, primaryFailing.failoverActive], [['us-east-1'], true]);
  const failoverFailing = decideSite(
    reordered,
    { name: 'demo', regions: { 'us-east-1': region({}, { requestsPerMinute: 100 }) } },
    context({ peers: [peer('eu-west-1', {}, true)] }),
  );
  assert.deepEqual([failoverFailing.failing, failoverFailing.failoverActive], [['eu-west-1'], false]);
});

test('a whole decision for a quiet site, and peers that never reported or report this region', () => {
  const never: PeerReport = { region: 'eu-west-1', quiet: false };
  const stale = peer('us-east-1', { httpsRule: true });
  const decisions = decide(region({}, { requestsPerMinute: 1800 }), { peers: [never, stale] });
  assert.deepEqual(decisions, {
    regions: {
      'us-east-1': {
        tasks: 3,
        scaling: {
          history: [{ at: T, tasks: 3 }],
          decision: {
            tasks: 3,
            reason: 'AtMinimum',
            message: 'held at the floor of 3 task(s); demand needs 3',
          },
          lastHealthyRequestsPerMinute: 1800,
        },
      },
    },
    canaryWeight: 15,
    originSecret: { acceptPrevious: false, sendPrevious: false },
    failing: [],
    failoverActive: false,
  });
});

test('a warm standby follows the primary’s current demand as it reports it, not its last healthy one', () => {
  const document = demoDocument();
  document.spec.scaling = { ...document.spec.scaling, standbyPercent: 50 };
  const standby = valid(document);
  const primary = peer('us-east-1', {
    requestsPerMinute: 6000,
    scaling: {
      history: [],
      decision: { tasks: 10, reason: '', message: '' },
      lastHealthyRequestsPerMinute: 1200,
    },
  });
  const decisions = decideSite(
    standby,
    { name: 'demo', regions: { 'eu-west-1': region({ region: 'eu-west-1' }, { requestsPerMinute: 0 }) } },
    context({ self: 'eu-west-1', peers: [primary] }),
  );
  // Half of 6000 requests a minute at 600 a task: 5 tasks.
  assert.equal(decisions.regions['eu-west-1']!.tasks, 5);
  assert.match(
    decisions.regions['eu-west-1']!.scaling.decision.message,
    /warm standby: 50% of 6000 requests a minute/,
  );
});

test('the failover floor: only the CDN’s failover region carries the primary, counting its own demand and the recovery window', () => {
  const primaryFailing = (failing: boolean) =>
    peer('us-east-1', {
      scaling: {
        history: [],
        decision: { tasks: 8, reason: '', message: '' },
        lastHealthyRequestsPerMinute: 3000,
        ...(failing ? { failingSince: T - MINUTE } : {}),
      },
    });
  const three = demoDocument();
  three.spec.regions = [
    { name: 'us-west-2', role: 'failover', minTasks: 3, maxTasks: 12 },
    { name: 'us-east-1', role: 'primary', minTasks: 3, maxTasks: 12 },
    { name: 'eu-west-1', role: 'failover', minTasks: 3, maxTasks: 12 },
  ];
  const site3 = valid(three);
  const at = (self: string, traffic: TrafficSample, over: Partial<SiteContext> = {}) =>
    decideSite(
      site3,
      { name: 'demo', regions: { [self]: region({ region: self }, traffic) } },
      context({ self, ...over }),
    ).regions[self]!;
  // us-west-2, listed first, is the CDN's failover origin: it carries 3000 + its own 600 beyond them.
  const carrying = at('us-west-2', { requestsPerMinute: 3600 }, { peers: [primaryFailing(true)] });
  assert.equal(carrying.tasks, 6);
  assert.deepEqual(carrying.scaling.carrying, { regions: ['us-east-1'], requestsPerMinute: 3000, since: T });
  // Its own demand counts in the floor even where its metrics alone keep the count: 6 tasks at 630 requests
  // each are within tolerance, yet 3780 requests, 3000 of them the primary's, need 7.
  const six = decideSite(
    site3,
    {
      name: 'demo',
      regions: {
        'us-west-2': region(
          { region: 'us-west-2', services: [service('demo-stable', { desiredCount: 6, runningCount: 6 })] },
          { requestsPerMinute: 3780 },
        ),
      },
    },
    context({ self: 'us-west-2', peers: [primaryFailing(true)] }),
  ).regions['us-west-2']!;
  assert.deepEqual([six.tasks, six.scaling.decision.reason], [7, 'AtMinimum']);
  // eu-west-1 is a warm standby outside the CDN: nothing moves to it.
  const standby = at('eu-west-1', { requestsPerMinute: 0 }, { peers: [primaryFailing(true)] });
  assert.deepEqual([standby.tasks, standby.scaling.carrying], [3, undefined]);
  // A minute after the primary recovered, inside the 300 s window, us-west-2 still holds the floor.
  const recovered = at(
    'us-west-2',
    { requestsPerMinute: 0 },
    {
      peers: [primaryFailing(false)],
      previous: {
        ...emptyStatus('demo', 'us-west-2'),
        regions: {
          'us-west-2': {
            role: 'failover',
            stable: { desired: 5, running: 5, pending: 0 },
            canary: { desired: 0, running: 0, pending: 0 },
            canaryWeight: 0,
            scaling: {
              history: [],
              decision: { tasks: 5, reason: 'AtMinimum', message: '' },
              carrying: {
                regions: ['us-east-1'],
                requestsPerMinute: 3000,
                since: T - 10 * MINUTE,
                healthySince: T - MINUTE,
              },
            },
          },
        },
      },
    },
  );
  assert.equal(recovered.tasks, 5);
  assert.equal(recovered.scaling.carrying?.healthySince, T - MINUTE);
});

test('the scale-in hold: counted from when it began, by any service in a rollout this spec did not ask for; none running is tasks not running yet', () => {
  const rolling = region(
    {
      services: [
        service('demo-stable', { desiredCount: 6, runningCount: 6, rolloutInProgress: true }),
        service('demo-canary', { desiredCount: 1, runningCount: 1 }),
      ],
    },
    { requestsPerMinute: 1800 },
  );
  const deciding = (heldSince?: number) =>
    decide(rolling, {
      previous: previous({
        decision: { tasks: 7, reason: '', message: '' },
        ...(heldSince === undefined ? {} : { heldSince }),
      }),
    }).regions['us-east-1']!.scaling;
  assert.deepEqual([deciding().decision.reason, deciding().heldSince], ['ScaleInHeldDuringRollout', T]);
  assert.deepEqual(
    [deciding(T - 4 * MINUTE).decision.reason, deciding(T - 4 * MINUTE).heldSince],
    ['ScaleInHeldDuringRollout', T - 4 * MINUTE],
  );
  assert.equal(deciding(T - 5 * MINUTE).decision.reason, 'ScaleIn', 'the hold lasts one window');
  // No service yet: minTasks asked for, none running, so scale-in waits for them.
  const empty = decide(region({ services: [] }, { requestsPerMinute: 600 })).regions['us-east-1']!.scaling
    .decision;
  assert.deepEqual([empty.tasks, empty.reason], [3, 'ScaleInHeldDuringRollout']);
});

test('CPU: a track without a datapoint or without running tasks is left out; a draining service of the same name is not counted', () => {
  // The recommendation (the newest in the window): a rise this small is acted on once a second one agrees.
  const cpuOf = (services: ServiceState[], stable: TrafficSample, canary: TrafficSample) => ({
    tasks: decide(region({ services, traffic: { stable, canary } })).regions['us-east-1']!.scaling.history.at(
      -1,
    )?.tasks,
  });
  const two = [
    service('demo-stable', { runningCount: 4, desiredCount: 4 }),
    service('demo-canary', { runningCount: 1, desiredCount: 1 }),
  ];
  // 5 tasks at 98 %: 40 % above the 70 % target, 7 tasks. A canary without CPU data counts for nothing.
  assert.equal(cpuOf(two, { cpuPercent: 98 }, {}).tasks, 7);
  // A canary with a datapoint but no task running counts for nothing either: 4 stable tasks at 98 % ask for 6.
  const noCanaryTask = [two[0]!, service('demo-canary', { runningCount: 0, desiredCount: 1 })];
  assert.equal(cpuOf(noCanaryTask, { cpuPercent: 98 }, { cpuPercent: 10 }).tasks, 6);
  // A draining service listed first under the stable name does not weigh: 4 active tasks at 98 % and one at
  // 28 % average 84 %, 20 % above the target: 6 tasks (the draining service's 20 tasks would make it 7).
  const draining = [
    service('demo-stable', { status: 'DRAINING', runningCount: 20, desiredCount: 0 }),
    ...two,
  ];
  assert.equal(cpuOf(draining, { cpuPercent: 98 }, { cpuPercent: 28 }).tasks, 6);
});

test('the analysis state a region goes on from: its own while it holds the duties, else the published one, never another tag’s', () => {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: {} };
  const analysed = valid(document);
  const state = (tag: string, weight: number): CanaryState => ({
    tag,
    phase: 'Succeeded',
    weight,
    failedChecks: 0,
    lastCheckAt: T,
    message: `${tag} at ${weight}`,
  });
  const mine = (canary: CanaryState) => ({ ...emptyStatus('demo', 'us-east-1'), global: true, canary });
  const published = (region: string, canary?: CanaryState): PeerReport => ({
    region,
    status: { ...emptyStatus('demo', region), global: true, ...(canary === undefined ? {} : { canary }) },
    quiet: false,
  });
  const peers = [
    { region: 'us-west-2', quiet: false },
    published('ap-south-1'),
    published('us-east-1', state('v2', 40)),
    published('eu-west-1', state('v2', 20)),
  ];
  const holding = decideSite(
    analysed,
    { name: 'demo', regions: {} },
    context({ global: true, previous: mine(state('v2', 30)), peers }),
  );
  assert.equal(holding.canaryWeight, 30, 'its own state, not the one another region published');
  const taking = decideSite(analysed, { name: 'demo', regions: {} }, context({ global: true, peers }));
  assert.equal(taking.canaryWeight, 20, 'the other region’s, never a stale report of its own region');
  const following = decideSite(
    analysed,
    { name: 'demo', regions: {} },
    context({ previous: mine(state('v1', 50)), peers: [] }),
  );
  assert.equal(following.canaryWeight, 0, 'its own state of another tag is no state');
  const alone = decideSite(
    analysed,
    { name: 'demo', regions: {} },
    context({ previous: mine(state('v2', 50)), peers: [] }),
  );
  assert.equal(alone.canaryWeight, 50, 'its own state of this tag, when no one else published one');
});

test('the canary sample: this region’s own traffic, not a stale report of it; p95 only where measured, none when none is', () => {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: { threshold: 1 } };
  const analysed = valid(document);
  const own = {
    tag: 'v2',
    phase: 'Progressing' as const,
    weight: 10,
    failedChecks: 0,
    lastCheckAt: T - MINUTE,
    message: '',
  };
  const mine = { ...emptyStatus('demo', 'us-east-1'), global: true, canary: own };
  const judge = (canary: TrafficSample, peers: PeerReport[]) =>
    decideSite(
      analysed,
      { name: 'demo', regions: { 'us-east-1': region({ traffic: { stable: {}, canary } }) } },
      context({ global: true, previous: mine, peers }),
    ).canary!.message;
  const fast = { requestsPerMinute: 600, errors5xxPerMinute: 0, p95LatencyMs: 100 };
  // A report of this very region (stale, slow) is not counted twice.
  const staleSelf = peer('us-east-1', {
    canaryTraffic: { requestsPerMinute: 600, errors5xxPerMinute: 600, p95LatencyMs: 900 },
  });
  assert.match(judge(fast, [staleSelf]), /success 100\.00%, p95 100 ms/);
  // A region that measured requests but no p95 leaves the p95 to the others.
  const noP95 = peer('eu-west-1', { canaryTraffic: { requestsPerMinute: 600, errors5xxPerMinute: 0 } });
  assert.match(judge(fast, [noP95]), /success 100\.00%, p95 100 ms/);
  // No region measured a p95: no data.
  assert.match(judge({ requestsPerMinute: 600, errors5xxPerMinute: 0 }, [noP95]), /no data for the canary/);
});
