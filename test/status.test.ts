import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryState } from '../controller/decide/canary.ts';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import type { Action } from '../controller/model/actions.ts';
import type { ObservedRegion, ObservedSite } from '../controller/model/observed.ts';
import { emptyStatus, type Condition, type SiteStatus } from '../controller/model/status.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { DistributionSummary } from '../controller/ports/cdn.ts';
import type { ServiceState } from '../controller/ports/ecs.ts';
import { siteStatus, statusChanged, type SiteOutcome } from '../controller/reconcile/status.ts';
import { demoDocument, valid } from './support/world.ts';

// siteStatus is pure: an outcome of a pass in, the report out. Each case states the report by hand.

const NOW = new Date('2026-11-28T12:00:00.000Z');
const EARLIER = '2026-11-28T11:00:00.000Z';
const at = NOW.toISOString();

function outcome(over: Partial<SiteOutcome> = {}): SiteOutcome {
  return {
    name: 'demo',
    region: 'us-east-1',
    global: true,
    peers: [],
    stored: {},
    paused: false,
    spec: { generation: 3, hash: 'h3' },
    ...over,
  };
}

function region(over: Partial<ObservedRegion> = {}): ObservedRegion {
  return {
    region: 'us-east-1',
    services: [],
    targetGroups: [],
    rules: [],
    taskDefinitions: [],
    traffic: { stable: {}, canary: {} },
    ...over,
  };
}

function observed(over: Partial<ObservedRegion> = {}, cdn?: ObservedSite['cdn']): ObservedSite {
  return { name: 'demo', regions: { 'us-east-1': region(over) }, ...(cdn === undefined ? {} : { cdn }) };
}

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

/** What the spec wants in us-east-1 (the fields status reads). */
const desired = {
  name: 'demo',
  regions: [
    {
      region: 'us-east-1',
      role: 'primary' as const,
      tracks: [
        {
          track: 'stable' as const,
          service: 'demo-stable',
          targetGroup: 'demo-stable',
          desiredCount: 4,
          weight: 85,
        },
        {
          track: 'canary' as const,
          service: 'demo-canary',
          targetGroup: 'demo-canary',
          desiredCount: 1,
          weight: 15,
        },
      ] as never,
      header: { name: 'x', values: ['demo'] },
      healthCheckPath: '/',
      containerPort: 8080,
    },
  ],
  distribution: {} as never,
};

const condition = (status: Condition['status'], reason: string, message: string, time = at): Condition => ({
  status,
  reason,
  message,
  lastTransitionTime: time,
});

/** The conditions of a site that needs nothing: what each case changes is stated next to it. */
const CALM = {
  Stalled: condition('False', 'NotStalled', 'nothing needs a person'),
  Degraded: condition('False', 'AllRegionsHealthy', 'every region and the CDN converged'),
  Reconciling: condition('False', 'Converged', 'the world matches the spec'),
  Ready: condition('True', 'Converged', 'serving from every region as specified'),
};

const scale: Action = {
  site: 'demo',
  region: 'us-east-1',
  kind: 'UpdateService',
  name: 'demo-stable',
  desiredCount: 4,
};
const failed = (kind: CloudErrorKind, action: Action = scale) => ({
  action,
  error: new CloudError(kind, action.kind === 'UpdateService' ? action.name : 'cdn', `${kind} happened`),
});

test('a converged site: every condition calm, nothing reported beyond the spec it describes', () => {
  const status = siteStatus(outcome({ observed: observed() }), NOW);
  const expected: SiteStatus = {
    site: 'demo',
    region: 'us-east-1',
    global: true,
    observedGeneration: 3,
    observedHash: 'h3',
    conditions: CALM,
    regions: {},
    cdn: {},
    lastActions: [],
    errors: [],
  };
  assert.deepEqual(status, expected);
  assert.equal(statusChanged(undefined, status), true, 'a first report is a change');
  assert.equal(statusChanged(structuredClone(status), status), false);
  assert.equal(statusChanged({ ...status, observedGeneration: 2 }, status), true);
});

test('each condition of a pass, by hand: status, reason and message', () => {
  const canary = (phase: CanaryState['phase']): CanaryState => ({
    tag: 'v2',
    phase,
    weight: 10,
    failedChecks: 0,
    lastCheckAt: 0,
    message: `canary ${phase}`,
  });
  const decisions = (over: Partial<NonNullable<SiteOutcome['decisions']>>) => ({
    regions: {},
    canaryWeight: 0,
    failing: [],
    failoverActive: false,
    ...over,
  });
  const withPrevious = (conditions: SiteStatus['conditions']) => ({
    ...emptyStatus('demo', 'us-east-1'),
    conditions,
  });
  const cases: { name: string; outcome: SiteOutcome; conditions: SiteStatus['conditions'] }[] = [
    {
      name: 'an invalid spec',
      outcome: outcome({
        problems: [
          { field: 'spec.regions', message: 'must not be empty' },
          { field: '', message: 'has an unknown key' },
        ],
      }),
      conditions: {
        Invalid: condition(
          'True',
          'InvalidSpec',
          'spec.regions must not be empty; document has an unknown key',
        ),
        Stalled: condition(
          'True',
          'InvalidSpec',
          'the spec is invalid; fix it and apply again (see Invalid)',
        ),
        Degraded: CALM.Degraded,
        Reconciling: CALM.Reconciling,
        Ready: condition('False', 'InvalidSpec', 'the spec is invalid'),
      },
    },
    {
      name: 'paused with an action waiting',
      outcome: outcome({ paused: true, plan: { actions: [scale], blockers: {} }, observed: observed() }),
      conditions: {
        Paused: condition('True', 'Paused', 'spec.paused is true: observing only, changing nothing'),
        ...CALM,
        Ready: condition('False', 'Paused', 'paused with changes waiting; unpause to apply them'),
      },
    },
    {
      name: 'paused with nothing to do',
      outcome: outcome({ paused: true, plan: { actions: [], blockers: {} }, observed: observed() }),
      conditions: {
        Paused: condition('True', 'Paused', 'spec.paused is true: observing only, changing nothing'),
        ...CALM,
      },
    },
    {
      name: 'a spec conflict that settled',
      outcome: outcome({
        observed: observed(),
        previous: withPrevious({ SpecConflict: condition('True', 'ConcurrentEdits', 'lost', EARLIER) }),
      }),
      conditions: {
        SpecConflict: condition('False', 'Settled', 'no edit of the spec was lost'),
        ...CALM,
      },
    },
    {
      name: 'a deleted spec',
      outcome: outcome({ spec: undefined, observed: observed() }),
      conditions: {
        Deleting: condition(
          'True',
          'SpecDeleted',
          'the spec was deleted; removing what tandem created for it',
        ),
        ...CALM,
        Ready: condition('False', 'Deleting', 'removing the site'),
      },
    },
    {
      name: 'the primary failing',
      outcome: outcome({
        observed: observed(),
        decisions: decisions({ failing: ['eu-west-1', 'us-east-1'], failoverActive: true }),
      }),
      conditions: {
        FailoverActive: condition(
          'True',
          'PrimaryFailing',
          'the primary region is failing (eu-west-1, us-east-1); the CDN serves from the failover region',
        ),
        ...CALM,
      },
    },
    {
      name: 'the primary back',
      outcome: outcome({
        observed: observed(),
        decisions: decisions({}),
        previous: withPrevious({ FailoverActive: condition('True', 'PrimaryFailing', 'x', EARLIER) }),
      }),
      conditions: {
        FailoverActive: condition('False', 'PrimaryHealthy', 'the primary region serves'),
        ...CALM,
      },
    },
    {
      name: 'a canary under analysis',
      outcome: outcome({ observed: observed(), decisions: decisions({ canary: canary('Progressing') }) }),
      conditions: {
        CanaryProgressing: condition('True', 'Analyzing', 'canary Progressing'),
        ...CALM,
        Reconciling: condition('True', 'CanaryAnalysis', 'canary Progressing'),
        Ready: condition('False', 'CanaryAnalysis', 'canary Progressing'),
      },
    },
    {
      name: 'a canary that failed',
      outcome: outcome({ observed: observed(), decisions: decisions({ canary: canary('Failed') }) }),
      conditions: {
        CanaryProgressing: condition('False', 'Failed', 'canary Failed'),
        CanaryFailed: condition('True', 'AnalysisFailed', 'canary Failed'),
        ...CALM,
      },
    },
    {
      name: 'a canary that succeeded and was promoted',
      outcome: outcome({
        observed: observed(),
        decisions: decisions({ canary: canary('Succeeded') }),
        promoted: true,
      }),
      conditions: {
        CanaryProgressing: condition('False', 'Promoted', 'promoted v2 to stable'),
        ...CALM,
      },
    },
    {
      name: 'a canary that succeeded, waiting for a person',
      outcome: outcome({ observed: observed(), decisions: decisions({ canary: canary('Succeeded') }) }),
      conditions: {
        CanaryProgressing: condition('False', 'Succeeded', 'canary Succeeded'),
        ...CALM,
      },
    },
    {
      name: 'stalled before planning',
      outcome: outcome({ stalled: { reason: 'NoPlatform', message: 'no tandem platform in us-west-2' } }),
      conditions: {
        ...CALM,
        Stalled: condition('True', 'NoPlatform', 'no tandem platform in us-west-2'),
        Ready: condition('False', 'NoPlatform', 'no tandem platform in us-west-2'),
      },
    },
    {
      name: 'actions applied this pass',
      outcome: outcome({
        observed: observed(),
        plan: { actions: [scale, scale], blockers: {} },
        applied: { results: [{ action: scale }, { action: scale }], skipped: [] },
      }),
      conditions: {
        ...CALM,
        Reconciling: condition('True', 'Converging', 'applied 2 action(s) this pass'),
        Ready: condition('False', 'Converging', 'applied 2 action(s) this pass'),
      },
    },
    {
      name: 'actions planned and not applied (a dry run)',
      outcome: outcome({ observed: observed(), plan: { actions: [scale], blockers: {} } }),
      conditions: {
        ...CALM,
        Reconciling: condition('True', 'Converging', 'actions remain; the next pass retries them'),
        Ready: condition('False', 'Converging', 'actions remain; the next pass retries them'),
      },
    },
    {
      name: 'ECS still starting tasks',
      outcome: outcome({ observed: observed({ services: [service('demo-stable', { runningCount: 2 })] }) }),
      conditions: {
        ...CALM,
        Reconciling: condition('True', 'RolloutInProgress', 'ECS is starting or stopping tasks'),
        Ready: condition('False', 'RolloutInProgress', 'ECS is starting or stopping tasks'),
      },
    },
    {
      name: 'a deployment in progress',
      outcome: outcome({
        observed: observed({ services: [service('demo-stable', { rolloutInProgress: true })] }),
      }),
      conditions: {
        ...CALM,
        Reconciling: condition('True', 'RolloutInProgress', 'ECS is starting or stopping tasks'),
        Ready: condition('False', 'RolloutInProgress', 'ECS is starting or stopping tasks'),
      },
    },
    {
      name: 'a draining service short of its count is no rollout',
      outcome: outcome({
        observed: observed({ services: [service('demo-canary', { status: 'DRAINING', runningCount: 1 })] }),
      }),
      conditions: CALM,
    },
    {
      name: 'CloudFront deploying',
      outcome: outcome({
        observed: observed({}, { distributions: [distribution('InProgress')] }),
      }),
      conditions: {
        ...CALM,
        Reconciling: condition('True', 'CdnDeploying', 'CloudFront is deploying the latest change'),
        Ready: condition('False', 'CdnDeploying', 'CloudFront is deploying the latest change'),
      },
    },
  ];
  for (const c of cases) assert.deepEqual(siteStatus(c.outcome, NOW).conditions, c.conditions, c.name);
});

function distribution(
  status: DistributionSummary['status'],
  id = 'E1',
): ObservedSite['cdn'] extends infer C ? (C extends { distributions: (infer D)[] } ? D : never) : never {
  return {
    id,
    arn: `arn:${id}`,
    domainName: `${id.toLowerCase()}.cloudfront.net`,
    status,
    config: { origins: [] } as unknown as DistributionSummary['config'],
    owned: true,
  };
}

test('errors: a terminal one stalls the site and names it; a passing one degrades the region; the CDN’s degrades the site', () => {
  const cases: {
    name: string;
    outcome: SiteOutcome;
    stalled?: [reason: string, message: string];
    degraded?: [reason: string, message: string];
    errors: SiteStatus['errors'];
  }[] = [
    {
      name: 'a quota',
      outcome: outcome({
        observed: observed(),
        plan: { actions: [scale], blockers: {} },
        applied: { results: [failed('QuotaExceeded')], skipped: [] },
      }),
      stalled: ['QuotaExceeded', 'demo-stable: QuotaExceeded happened'],
      degraded: ['RegionDegraded', 'us-east-1: demo-stable: QuotaExceeded happened'],
      errors: [
        {
          kind: 'QuotaExceeded',
          resource: 'demo-stable',
          message: 'QuotaExceeded happened',
          region: 'us-east-1',
        },
      ],
    },
    {
      name: 'throttling',
      outcome: outcome({
        observed: observed(),
        plan: { actions: [scale], blockers: {} },
        applied: { results: [failed('Throttled')], skipped: [] },
      }),
      degraded: ['RegionDegraded', 'us-east-1: demo-stable: Throttled happened'],
      errors: [
        { kind: 'Throttled', resource: 'demo-stable', message: 'Throttled happened', region: 'us-east-1' },
      ],
    },
    {
      name: 'the region unreachable',
      outcome: outcome({
        observed: observed({ error: new CloudError('Unavailable', 'us-east-1', 'timed out') }),
      }),
      degraded: ['RegionDegraded', 'us-east-1: timed out'],
      errors: [{ kind: 'Unavailable', resource: 'us-east-1', message: 'timed out', region: 'us-east-1' }],
    },
    {
      name: 'CloudFront unreachable',
      outcome: outcome({
        observed: observed(
          {},
          { distributions: [], error: new CloudError('Throttled', 'cloudfront', 'slow down') },
        ),
      }),
      degraded: ['CdnDegraded', 'cdn: slow down'],
      errors: [{ kind: 'Throttled', resource: 'cloudfront', message: 'slow down' }],
    },
    {
      name: 'a CDN action failed',
      outcome: outcome({
        observed: observed(),
        plan: { actions: [{ site: 'demo', kind: 'DeleteDistribution', id: 'E9' }], blockers: {} },
        applied: {
          results: [failed('Conflict', { site: 'demo', kind: 'DeleteDistribution', id: 'E9' })],
          skipped: [],
        },
      }),
      degraded: ['CdnDegraded', 'cdn: Conflict happened'],
      errors: [{ kind: 'Conflict', resource: 'cdn', message: 'Conflict happened' }],
    },
    {
      name: 'no capacity in the region',
      outcome: outcome({
        observed: observed({
          services: [
            service('demo-stable', { desiredCount: 3, runningCount: 3, placementFailure: 'no capacity' }),
            service('demo-canary', { status: 'DRAINING', placementFailure: 'draining' }),
          ],
        }),
      }),
      degraded: ['InsufficientCapacity', 'us-east-1: demo-stable: no capacity'],
      errors: [],
    },
    {
      name: 'no capacity, and CloudFront unreachable',
      outcome: outcome({
        observed: observed(
          { services: [service('demo-stable', { placementFailure: 'no capacity' })] },
          { distributions: [], error: new CloudError('Throttled', 'cloudfront', 'slow down') },
        ),
      }),
      degraded: ['RegionDegraded', 'us-east-1: demo-stable: no capacity; cdn: slow down'],
      errors: [{ kind: 'Throttled', resource: 'cloudfront', message: 'slow down' }],
    },
    {
      name: 'a name taken by someone else',
      outcome: outcome({
        observed: observed(),
        plan: {
          actions: [],
          blockers: {
            'us-east-1': [
              { kind: 'OwnershipConflict', resource: 'arn:a', message: 'a is not ours.' },
              { kind: 'OwnershipConflict', resource: 'arn:b', message: 'b is not ours.' },
            ],
          },
        },
      }),
      stalled: ['OwnershipConflict', 'a is not ours. b is not ours.'],
      degraded: ['RegionDegraded', 'us-east-1: a is not ours. b is not ours.'],
      errors: [],
    },
  ];
  for (const c of cases) {
    const status = siteStatus({ desired, ...c.outcome }, NOW);
    assert.deepEqual(
      [
        status.conditions.Stalled!.status,
        status.conditions.Stalled!.reason,
        status.conditions.Stalled!.message,
      ],
      c.stalled === undefined ? ['False', 'NotStalled', 'nothing needs a person'] : ['True', ...c.stalled],
      c.name,
    );
    assert.deepEqual(
      [
        status.conditions.Degraded!.status,
        status.conditions.Degraded!.reason,
        status.conditions.Degraded!.message,
      ],
      c.degraded === undefined
        ? ['False', 'AllRegionsHealthy', 'every region and the CDN converged']
        : ['True', ...c.degraded],
      c.name,
    );
    assert.deepEqual(status.errors, c.errors, c.name);
    const ready = status.conditions.Ready!;
    const first = c.stalled ?? c.degraded;
    assert.deepEqual(
      [ready.status, ready.reason],
      first === undefined ? ['True', 'Converged'] : ['False', first[0]],
      c.name,
    );
  }
});

test('a condition keeps the time it last changed status; a changed one takes the pass’s time', () => {
  const previous: SiteStatus = {
    ...emptyStatus('demo', 'us-east-1'),
    conditions: {
      Ready: condition('True', 'Converged', 'old message', EARLIER),
      Reconciling: condition('True', 'Converging', 'applied 1 action(s) this pass', EARLIER),
    },
  };
  const status = siteStatus(outcome({ observed: observed(), previous }), NOW);
  assert.equal(status.conditions.Ready!.lastTransitionTime, EARLIER, 'still True');
  assert.equal(status.conditions.Reconciling!.lastTransitionTime, at, 'True to False');
  assert.equal(status.conditions.Stalled!.lastTransitionTime, at, 'new');
});

test('this region’s entry: task counts, the canary’s share, traffic, target groups and why it is degraded', () => {
  const seen = region({
    services: [
      service('demo-stable', { desiredCount: 4, runningCount: 3, pendingCount: 1 }),
      service('demo-canary', { desiredCount: 1, runningCount: 1 }),
      service('demo-canary', { status: 'DRAINING', desiredCount: 0, runningCount: 9 }),
    ],
    targetGroups: [
      {
        name: 'demo-stable',
        arn: 'arn:tg/stable',
        port: 8080,
        vpcId: 'vpc-1',
        healthCheckPath: '/',
        tags: ownershipTags('demo'),
      },
      {
        name: 'demo-canary',
        arn: 'arn:tg/canary',
        port: 8080,
        vpcId: 'vpc-1',
        healthCheckPath: '/',
        tags: ownershipTags('demo'),
      },
      {
        name: 'other-stable',
        arn: 'arn:tg/other',
        port: 8080,
        vpcId: 'vpc-1',
        healthCheckPath: '/',
        tags: {},
      },
    ],
    rules: [
      {
        arn: 'arn:rule',
        priority: 1,
        header: { name: 'x', values: ['demo'] },
        forward: [
          { targetGroupArn: 'arn:tg/stable', weight: 85 },
          { targetGroupArn: 'arn:tg/canary', weight: 15 },
        ],
        tags: ownershipTags('demo'),
      },
    ],
    traffic: {
      stable: { requestsPerMinute: 900, healthyTargets: 3 },
      canary: { requestsPerMinute: 100, healthyTargets: 1, errors5xxPerMinute: 2, p95LatencyMs: 80 },
    },
  });
  const status = siteStatus(
    outcome({ observed: { name: 'demo', regions: { 'us-east-1': seen } }, desired }),
    NOW,
  );
  assert.deepEqual(status.regions, {
    'us-east-1': {
      role: 'primary',
      stable: { desired: 4, running: 3, pending: 1 },
      canary: { desired: 1, running: 1, pending: 0 },
      canaryWeight: 15,
      requestsPerMinute: 1000,
      healthyTargets: 4,
      targetGroups: { stable: 'arn:tg/stable', canary: 'arn:tg/canary' },
    },
  });

  // A rule written this pass is the share, not the one observed before it.
  const modify: Action = {
    site: 'demo',
    region: 'us-east-1',
    kind: 'ModifyRule',
    arn: 'arn:rule',
    header: { name: 'x', values: ['demo'] },
    forward: [
      { targetGroup: 'demo-stable', weight: 70 },
      { targetGroup: 'demo-canary', weight: 30 },
    ],
  };
  const written = siteStatus(
    outcome({
      observed: { name: 'demo', regions: { 'us-east-1': seen } },
      desired,
      applied: { results: [{ action: scale }, { action: modify }], skipped: [] },
    }),
    NOW,
  );
  assert.equal(written.regions['us-east-1']!.canaryWeight, 30);
  const refused = siteStatus(
    outcome({
      observed: { name: 'demo', regions: { 'us-east-1': seen } },
      desired,
      applied: { results: [failed('Throttled', modify)], skipped: [] },
    }),
    NOW,
  );
  assert.equal(refused.regions['us-east-1']!.canaryWeight, 15, 'a write that failed changed nothing');
});

test('a region is degraded for the most pressing reason first', () => {
  const blockers = {
    'us-east-1': [{ kind: 'OwnershipConflict' as const, resource: 'arn:x', message: 'x is not ours.' }],
  };
  const rollout = [
    { service: 'demo-stable', taskDefinition: 'tandem-demo-bad', reason: 'tasks failed', since: 1 },
  ];
  const scaling = { history: [], decision: { tasks: 3, reason: 'AtMinimum', message: '' } };
  const decisions = (failing: string[], failedRollouts?: typeof rollout) => ({
    regions: {
      'us-east-1': { tasks: 3, scaling, ...(failedRollouts === undefined ? {} : { failedRollouts }) },
    },
    canaryWeight: 0,
    failing,
    failoverActive: false,
  });
  const seen = { services: [service('demo-stable', { placementFailure: 'no capacity' })] };
  const cases: [name: string, outcome: SiteOutcome, degraded: [string, string]][] = [
    [
      'unreachable',
      outcome({ observed: observed({ error: new CloudError('Unavailable', 'us-east-1', 'down') }) }),
      ['RegionUnreachable', 'down'],
    ],
    [
      'a name taken',
      outcome({
        observed: observed(seen),
        plan: { actions: [], blockers },
        decisions: decisions(['us-east-1']),
      }),
      ['OwnershipConflict', 'x is not ours.'],
    ],
    [
      'failing',
      outcome({ observed: observed(seen), decisions: decisions(['us-east-1'], rollout) }),
      ['RegionFailing', 'no healthy targets, or too many 5xx responses; the other regions carry its demand'],
    ],
    [
      'an action failed',
      outcome({
        observed: observed(seen),
        decisions: decisions([], rollout),
        applied: { results: [failed('Throttled'), failed('Conflict')], skipped: [] },
      }),
      ['ActionFailed', 'demo-stable: Throttled happened; demo-stable: Conflict happened'],
    ],
    [
      'a rollout ECS failed',
      outcome({ observed: observed(seen), decisions: decisions([], rollout) }),
      [
        'RolloutFailed',
        'ECS failed to deploy task definition tandem-demo-bad to demo-stable (tasks failed) and rolled the service back to what it ran before, if anything; tandem will not deploy it again: fix the image or the task settings and apply the spec, whose new task definition is then deployed',
      ],
    ],
    [
      'no capacity',
      outcome({ observed: observed(seen), decisions: decisions([]) }),
      ['InsufficientCapacity', 'demo-stable: no capacity'],
    ],
  ];
  for (const [name, o, degraded] of cases) {
    assert.deepEqual(
      siteStatus({ desired, ...o }, NOW).regions['us-east-1']?.degraded,
      { reason: degraded[0], message: degraded[1] },
      name,
    );
  }
  // A failed rollout also stalls the site, naming the region.
  const stalled = siteStatus(
    outcome({ desired, observed: observed(), decisions: decisions([], rollout) }),
    NOW,
  ).conditions.Stalled!;
  assert.equal(stalled.reason, 'RolloutFailed');
  assert.match(
    stalled.message,
    /^us-east-1: ECS failed to deploy task definition tandem-demo-bad to demo-stable/,
  );
});

test('a status that could not be read is said in the errors, salvaged or lost', () => {
  const record = (message: string) => ({
    kind: 'MalformedStatus',
    resource: 'status demo#us-east-1',
    region: 'us-east-1',
    message,
  });
  assert.deepEqual(siteStatus(outcome({ observed: observed(), statusUnreadable: 'salvaged' }), NOW).errors, [
    record(
      'the stored status could not be read (the reconciler logs the field); its task counts, scaling memory and CDN were kept, its conditions and last actions start afresh',
    ),
  ]);
  assert.deepEqual(siteStatus(outcome({ observed: observed(), statusUnreadable: 'lost' }), NOW).errors, [
    record('the stored status could not be read (the reconciler logs the field); its history starts afresh'),
  ]);
});

test('an invalid spec keeps the last valid report: its region, CDN and canary, and says so', () => {
  const kept: SiteStatus = {
    ...emptyStatus('demo', 'us-east-1'),
    observedGeneration: 2,
    regions: {
      'us-east-1': {
        role: 'primary',
        stable: { desired: 3, running: 3, pending: 0 },
        canary: { desired: 0, running: 0, pending: 0 },
        canaryWeight: 0,
      },
    },
    cdn: { distributionId: 'E1', domainName: 'e1.cloudfront.net', state: 'Deployed' },
    canary: { tag: 'v2', phase: 'Progressing', weight: 10, failedChecks: 0, lastCheckAt: 0, message: '' },
    lastActions: [{ kind: 'UpdateService', target: 'demo-stable', region: 'us-east-1' }],
  };
  const invalid = outcome({ previous: kept, problems: [{ field: 'spec.task.cpu', message: 'must be 256' }] });
  const status = siteStatus(invalid, NOW);
  assert.deepEqual(status.regions, kept.regions);
  assert.deepEqual(status.cdn, kept.cdn);
  assert.deepEqual(status.canary, kept.canary);
  assert.deepEqual(status.lastActions, kept.lastActions);
  assert.equal(status.observedGeneration, 3, 'the generation it read, though it could not apply it');
  assert.equal(
    status.conditions.Invalid!.message,
    "spec.task.cpu must be 256. Nothing was changed: the tasks, scaling and CDN shown are the last valid spec's, which keeps serving",
  );
  // A last report with nothing in it is nothing to keep.
  const empty = siteStatus(
    outcome({ previous: emptyStatus('demo', 'us-east-1'), problems: invalid.problems! }),
    NOW,
  );
  assert.equal(empty.conditions.Invalid!.message, 'spec.task.cpu must be 256');
  // Only the region's reconciler that holds the global duties reports the CDN.
  assert.deepEqual(siteStatus({ ...invalid, global: false }, NOW).cdn, {});
});

test('the CDN as the holder reports it: the distribution observed or created this pass, and its error', () => {
  const created: DistributionSummary = {
    id: 'E7',
    arn: 'arn:E7',
    domainName: 'e7.cloudfront.net',
    status: 'InProgress',
    config: { origins: [] } as unknown as DistributionSummary['config'],
  };
  const create: Action = {
    site: 'demo',
    kind: 'CreateDistribution',
    config: { origins: [] } as unknown as DistributionSummary['config'],
  };
  const status = siteStatus(
    outcome({
      observed: observed({}, { distributions: [] }),
      applied: { results: [{ action: create, created }], skipped: [] },
    }),
    NOW,
  );
  assert.deepEqual(status.cdn, {
    distributionId: 'E7',
    domainName: 'e7.cloudfront.net',
    state: 'InProgress',
  });
  assert.deepEqual(status.lastActions, [{ kind: 'CreateDistribution', target: 'distribution demo' }]);
  const seen = siteStatus(
    outcome({ observed: observed({}, { distributions: [distribution('Deployed', 'E2')] }) }),
    NOW,
  );
  assert.deepEqual(seen.cdn, { distributionId: 'E2', domainName: 'e2.cloudfront.net', state: 'Deployed' });
  // Origins reached through their DNS failover names: the report says DNS failover is on; any other name, it is not.
  const origin = (domainName: string) =>
    ({ id: domainName, domainName }) as DistributionSummary['config']['origins'][0];
  const through = (names: string[]) =>
    siteStatus(
      outcome({
        observed: observed(
          {},
          {
            distributions: [
              {
                ...distribution('Deployed', 'E2'),
                config: { origins: names.map(origin) } as unknown as DistributionSummary['config'],
              },
            ],
          },
        ),
      }),
      NOW,
    ).cdn.dnsFailover;
  assert.equal(through(['us-east-1.failover.example.com', 'eu-west-1.failover.example.com']), true);
  assert.equal(
    through(['us-east-1.failover.example.com', 'tandem-1.eu-west-1.elb.amazonaws.com']),
    undefined,
  );
  const failing = siteStatus(
    outcome({
      observed: observed({}, { distributions: [], error: new CloudError('Throttled', 'cloudfront', 'slow') }),
    }),
    NOW,
  );
  assert.deepEqual(failing.cdn, { error: 'slow' });
  assert.deepEqual(siteStatus(outcome({ global: false, observed: observed() }), NOW).cdn, {});
});

test('last actions: this pass’s when it acted, else the last pass’s that did', () => {
  const previous = {
    ...emptyStatus('demo', 'us-east-1'),
    lastActions: [{ kind: 'DeleteService', target: 'x', region: 'us-east-1' }],
  };
  assert.deepEqual(
    siteStatus(outcome({ observed: observed(), previous }), NOW).lastActions,
    previous.lastActions,
  );
  const acted = siteStatus(
    outcome({
      observed: observed(),
      previous,
      applied: { results: [{ action: scale }, failed('Throttled')], skipped: [] },
    }),
    NOW,
  );
  assert.deepEqual(acted.lastActions, [
    { kind: 'UpdateService', target: 'demo-stable', region: 'us-east-1' },
  ]);
});

test('this region’s traffic: what either track read, added; nothing where neither read; the canary’s, for its analysis, as read', () => {
  const document = demoDocument();
  document.spec.canary = { tag: 'v2', analysis: {} };
  const site = valid(document);
  const entry = (traffic: ObservedRegion['traffic'], targetGroups: ObservedRegion['targetGroups'] = []) =>
    siteStatus(outcome({ site, desired, observed: observed({ traffic, targetGroups }) }), NOW).regions[
      'us-east-1'
    ]!;
  const stableOnly = entry({ stable: { requestsPerMinute: 900, healthyTargets: 2 }, canary: {} });
  assert.equal(stableOnly.requestsPerMinute, 900);
  assert.equal(stableOnly.healthyTargets, 2);
  assert.deepEqual(stableOnly.canaryTraffic, {}, 'the canary read nothing');
  const canaryOnly = entry({ stable: {}, canary: { requestsPerMinute: 100, errors5xxPerMinute: 3 } });
  assert.equal(canaryOnly.requestsPerMinute, 100);
  assert.equal('healthyTargets' in canaryOnly, false, 'neither track read its healthy targets');
  assert.deepEqual(canaryOnly.canaryTraffic, { requestsPerMinute: 100, errors5xxPerMinute: 3 });
  const none = entry({ stable: {}, canary: {} });
  assert.equal('requestsPerMinute' in none, false);
  assert.equal('targetGroups' in none, false, 'no target group observed');
  const tg = {
    arn: 'arn:tg/canary',
    port: 8080,
    vpcId: 'vpc-1',
    healthCheckPath: '/',
    tags: ownershipTags('demo'),
  };
  const canaryGroup = entry({ stable: {}, canary: {} }, [{ ...tg, name: 'demo-canary' }]);
  assert.deepEqual(
    canaryGroup.targetGroups,
    { canary: 'arn:tg/canary' },
    'one track’s group is reported alone',
  );
});

test('the site’s rule is on the HTTPS listener after a pass when seen there, or created there by it without error', async (t) => {
  const HTTP = 'arn:listener/http';
  const HTTPS = 'arn:listener/https';
  const create = (over: Record<string, unknown> = {}): Action =>
    ({
      site: 'demo',
      region: 'us-east-1',
      kind: 'CreateRule',
      listenerArn: HTTPS,
      priority: 7,
      header: { name: 'x', values: ['demo'] },
      forward: [{ targetGroup: 'demo-stable', weight: 100 }],
      ...over,
    }) as Action;
  const seenRule = {
    arn: 'arn:rule/https',
    priority: 7,
    header: { name: 'x', values: ['demo'] },
    forward: [],
    tags: ownershipTags('demo'),
    listenerArn: HTTPS,
  };
  const cases: [string, Partial<ObservedRegion>, SiteOutcome['applied'] | undefined, boolean][] = [
    ['no HTTPS listener in the region', {}, { results: [{ action: create() }], skipped: [] }, false],
    ['seen on the HTTPS listener', { listeners: [HTTP, HTTPS], rules: [seenRule] }, undefined, true],
    [
      'created there this pass',
      { listeners: [HTTP, HTTPS] },
      { results: [{ action: create() }], skipped: [] },
      true,
    ],
    ['nothing applied', { listeners: [HTTP, HTTPS] }, undefined, false],
    [
      'created there, but refused',
      { listeners: [HTTP, HTTPS] },
      { results: [failed('Throttled', create())], skipped: [] },
      false,
    ],
    [
      'created on the HTTP listener',
      { listeners: [HTTP, HTTPS] },
      { results: [{ action: create({ listenerArn: HTTP }) }], skipped: [] },
      false,
    ],
    [
      'created in another region',
      { listeners: [HTTP, HTTPS] },
      { results: [{ action: create({ region: 'eu-west-1' }) }], skipped: [] },
      false,
    ],
    [
      'modified, not created',
      { listeners: [HTTP, HTTPS] },
      {
        results: [
          {
            action: {
              site: 'demo',
              region: 'us-east-1',
              kind: 'ModifyRule',
              arn: 'arn:rule/https',
              header: { name: 'x', values: ['demo'] },
              forward: [],
            } as Action,
          },
        ],
        skipped: [],
      },
      false,
    ],
  ];
  for (const [name, seen, applied, expected] of cases) {
    await t.test(name, () => {
      const status = siteStatus(
        outcome({ desired, observed: observed(seen), ...(applied === undefined ? {} : { applied }) }),
        NOW,
      );
      assert.equal(status.regions['us-east-1']!.httpsRule ?? false, expected);
    });
  }
});

test('a region the pass could not observe at all (no platform there yet) still reports what the spec asks of it', () => {
  const status = siteStatus(outcome({ desired, observed: { name: 'demo', regions: {} } }), NOW);
  const entry = status.regions['us-east-1']!;
  assert.deepEqual(
    [entry.role, entry.stable.running, entry.canary.running, entry.canaryWeight],
    ['primary', 0, 0, 0],
  );
  assert.equal('requestsPerMinute' in entry || 'targetGroups' in entry || 'httpsRule' in entry, false);
});

test('a deleted site’s region is reported while anything of it is observed there, or while its last report stands', async (t) => {
  const tg = {
    name: 'demo-stable',
    arn: 'arn:tg/stable',
    port: 8080,
    vpcId: 'vpc-1',
    healthCheckPath: '/',
    tags: ownershipTags('demo'),
  };
  const rule = {
    arn: 'arn:rule',
    priority: 1,
    header: { name: 'x', values: ['demo'] },
    forward: [],
    tags: ownershipTags('demo'),
  };
  const previous = { ...emptyStatus('demo', 'us-east-1'), regions: { 'us-east-1': { role: 'primary' } } };
  const cases: [string, Partial<SiteOutcome>, boolean][] = [
    ['nothing observed, no report before', { observed: observed() }, false],
    ['a service', { observed: observed({ services: [service('demo-stable')] }) }, true],
    ['a target group', { observed: observed({ targetGroups: [tg] }) }, true],
    ['a rule', { observed: observed({ rules: [rule] }) }, true],
    [
      'a task definition',
      { observed: observed({ taskDefinitions: [{ family: 'tandem-demo-1', arn: 'arn:td', revision: 1 }] }) },
      true,
    ],
    [
      'a region that could not be read, no report before',
      {
        observed: observed({
          error: new CloudError('Unavailable', 'us-east-1', 'down'),
          services: [service('demo-stable')],
        }),
      },
      false,
    ],
    ['its last report', { observed: observed(), previous: previous as unknown as SiteStatus }, true],
  ];
  for (const [name, over, reported] of cases) {
    await t.test(name, () => {
      const status = siteStatus(outcome({ spec: undefined, ...over }), NOW);
      assert.equal(status.regions['us-east-1'] !== undefined, reported);
    });
  }
});
