import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import {
  CloudWatchServiceException,
  GetDashboardCommand,
  PutDashboardCommand,
  type PutDashboardCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  dashboardBody,
  dashboardWidgets,
  DASHBOARD_MAX_WIDGETS,
  type DashboardSite,
  type MetricWidget,
} from '../controller/dashboard/body.ts';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsDashboard } from '../controller/providers/aws/dashboard.ts';
import { putDashboardIfChanged } from '../controller/dashboard/publish.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { FakeCloudWatch } from './support/aws-fake/cloudwatch.ts';

const ACCOUNT = '123456789012';

function region(
  name: string,
  role: 'primary' | 'failover',
  site: string,
  tracks: readonly ('stable' | 'canary')[] = ['stable', 'canary'],
) {
  const elb = `arn:aws:elasticloadbalancing:${name}:${ACCOUNT}`;
  const group = (track: string) =>
    `${elb}:targetgroup/${site}-${track}/0a1b2c3d4e5f${track === 'stable' ? '01' : '02'}`;
  return {
    region: name,
    role,
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    cluster: 'tandem',
    ...(tracks.includes('stable') ? { stableTargetGroupArn: group('stable') } : {}),
    ...(tracks.includes('canary') ? { canaryTargetGroupArn: group('canary') } : {}),
  };
}

function demo(): DashboardSite {
  return {
    site: 'demo',
    regions: [region('us-east-1', 'primary', 'demo'), region('eu-west-1', 'failover', 'demo')],
    canaryWeight: 15,
    distributionId: 'E2QWRUHAPOMQZL',
  };
}

function shop(): DashboardSite {
  return {
    site: 'shop',
    regions: [
      region('eu-west-1', 'failover', 'shop', ['stable']),
      region('ap-southeast-2', 'primary', 'shop', ['stable']),
    ],
  };
}

function metricWidgets(sites: DashboardSite[]): MetricWidget[] {
  return dashboardWidgets(sites).filter((w): w is MetricWidget => w.type === 'metric');
}

async function rejectsWith(promise: Promise<unknown>, kind: CloudErrorKind, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

// ----- the body -----

test('the body is byte-identical for the same sites, in whatever order they and their regions come', () => {
  const reordered: DashboardSite[] = [{ ...shop(), regions: [...shop().regions].reverse() }, demo()];

  assert.equal(dashboardBody([demo(), shop()]), dashboardBody(reordered));
  assert.equal(dashboardBody([demo(), shop()]), dashboardBody([demo(), shop()]));
});

test('each site gets a header, then per region (primary first) requests, 5xx, p95 latency and tasks', () => {
  const widgets = dashboardWidgets([shop(), demo()]);

  assert.deepEqual(
    widgets.map((w) =>
      w.type === 'text' ? `text:${w.properties.markdown.split('\n')[0]}` : w.properties.title,
    ),
    [
      'text:## demo',
      'demo · us-east-1 (primary) · requests',
      'demo · us-east-1 (primary) · target 5xx',
      'demo · us-east-1 (primary) · p95 latency',
      'demo · us-east-1 (primary) · tasks',
      'demo · eu-west-1 (failover) · requests',
      'demo · eu-west-1 (failover) · target 5xx',
      'demo · eu-west-1 (failover) · p95 latency',
      'demo · eu-west-1 (failover) · tasks',
      'text:## shop',
      'shop · ap-southeast-2 (primary) · requests',
      'shop · ap-southeast-2 (primary) · target 5xx',
      'shop · ap-southeast-2 (primary) · p95 latency',
      'shop · ap-southeast-2 (primary) · tasks',
      'shop · eu-west-1 (failover) · requests',
      'shop · eu-west-1 (failover) · target 5xx',
      'shop · eu-west-1 (failover) · p95 latency',
      'shop · eu-west-1 (failover) · tasks',
    ],
  );
});

test('the header names the site, its canary weight and its distribution', () => {
  const [header] = dashboardWidgets([demo()]);

  assert.equal(header?.type, 'text');
  assert.match(
    header.type === 'text' ? header.properties.markdown : '',
    /## demo\nCanary: 15 % of requests · CDN: \[E2QWRUHAPOMQZL\]\(https:\/\/.*E2QWRUHAPOMQZL\) · Regions: us-east-1 \(primary\), eu-west-1 \(failover\)/,
  );
  const [bare] = dashboardWidgets([shop()]);
  assert.match(bare?.type === 'text' ? bare.properties.markdown : '', /Canary: none · CDN: not created yet/);
});

test('each graph reads its own region, with stable and canary as separate lines', () => {
  const [requests, errors, latency, tasks] = metricWidgets([demo()]);
  const dims = (tg: string) => ({
    LoadBalancer: 'app/tandem/0123456789abcdef',
    TargetGroup: `targetgroup/demo-${tg}/0a1b2c3d4e5f${tg === 'stable' ? '01' : '02'}`,
  });

  assert.deepEqual(requests?.properties.metrics, [
    { namespace: 'AWS/ApplicationELB', metric: 'RequestCount', dimensions: dims('stable'), label: 'stable' },
    { namespace: 'AWS/ApplicationELB', metric: 'RequestCount', dimensions: dims('canary'), label: 'canary' },
  ]);
  assert.deepEqual(
    [requests, errors, latency, tasks].map((w) => [
      w?.properties.region,
      w?.properties.stat,
      w?.properties.period,
    ]),
    [
      ['us-east-1', 'Sum', 60],
      ['us-east-1', 'Sum', 60],
      ['us-east-1', 'p95', 60],
      ['us-east-1', 'Average', 60],
    ],
  );
  assert.deepEqual(
    errors?.properties.metrics.map((m) => m.metric),
    ['HTTPCode_Target_5XX_Count', 'HTTPCode_Target_5XX_Count'],
  );
  assert.deepEqual(
    latency?.properties.metrics.map((m) => m.metric),
    ['TargetResponseTime', 'TargetResponseTime'],
  );
  const taskLine = (metric: string, track: string, label: string) => ({
    namespace: 'ECS/ContainerInsights',
    metric,
    dimensions: { ClusterName: 'tandem', ServiceName: `demo-${track}` },
    label,
  });
  assert.deepEqual(tasks?.properties.metrics, [
    taskLine('RunningTaskCount', 'stable', 'stable'),
    taskLine('DesiredTaskCount', 'stable', 'stable desired'),
    taskLine('RunningTaskCount', 'canary', 'canary'),
    taskLine('DesiredTaskCount', 'canary', 'canary desired'),
  ]);
});

test('without a canary target group, graphs have only the stable lines', () => {
  for (const widget of metricWidgets([shop()])) {
    assert.deepEqual(
      widget.properties.metrics.map((m) => m.label),
      widget.properties.title.endsWith('· tasks') ? ['stable', 'stable desired'] : ['stable'],
      widget.properties.title,
    );
  }
});

test('a region without target groups gets a note instead of empty graphs, and its tasks graph', () => {
  const site: DashboardSite = { site: 'fresh', regions: [region('us-east-1', 'primary', 'fresh', [])] };

  const widgets = dashboardWidgets([site]);
  assert.deepEqual(
    widgets.map((w) => w.type),
    ['text', 'text', 'metric'],
  );
  assert.match(widgets[1]?.type === 'text' ? widgets[1].properties.markdown : '', /No target groups yet/);
});

test('the body uses CloudWatch’s documented structure: metric arrays, grid positions inside 24 columns', () => {
  const body = JSON.parse(dashboardBody([demo()])) as {
    widgets: {
      type: string;
      x: number;
      y: number;
      width: number;
      height: number;
      properties: Record<string, unknown>;
    }[];
  };

  const requests = body.widgets[1]!;
  assert.deepEqual(requests, {
    type: 'metric',
    x: 0,
    y: 3,
    width: 6,
    height: 6,
    properties: {
      title: 'demo · us-east-1 (primary) · requests',
      view: 'timeSeries',
      stacked: false,
      region: 'us-east-1',
      stat: 'Sum',
      period: 60,
      metrics: [
        [
          'AWS/ApplicationELB',
          'RequestCount',
          'LoadBalancer',
          'app/tandem/0123456789abcdef',
          'TargetGroup',
          'targetgroup/demo-stable/0a1b2c3d4e5f01',
          { label: 'stable' },
        ],
        [
          'AWS/ApplicationELB',
          'RequestCount',
          'LoadBalancer',
          'app/tandem/0123456789abcdef',
          'TargetGroup',
          'targetgroup/demo-canary/0a1b2c3d4e5f02',
          { label: 'canary' },
        ],
      ],
      yAxis: { left: { min: 0, label: 'requests per minute', showUnits: false } },
    },
  });
  for (const w of body.widgets) {
    assert.ok(w.x >= 0 && w.x + w.width <= 24 && w.height >= 1, JSON.stringify(w));
  }
  // Rows do not overlap: every widget starts at or below the end of the row before it.
  const rows = [...new Set(body.widgets.map((w) => w.y))];
  assert.deepEqual(rows, [0, 3, 9]);
});

test("with DNS failover, a first row graphs each region's Route 53 health check, read in us-east-1, above the sites", () => {
  const checks = [
    { region: 'us-east-1', healthCheckId: 'abcdef01-2345-6789-abcd-ef0123456789' },
    { region: 'eu-west-1', healthCheckId: '01234567-89ab-cdef-0123-456789abcdef' },
  ];
  const body = JSON.parse(dashboardBody([demo()], checks)) as {
    widgets: { type: string; y: number; width: number; properties: Record<string, unknown> }[];
  };
  const first = body.widgets[0]!;
  assert.equal(first.type, 'metric');
  assert.deepEqual([first.y, first.width], [0, 24]);
  assert.equal(first.properties['region'], 'us-east-1');
  assert.equal(first.properties['stat'], 'Minimum');
  assert.deepEqual(first.properties['metrics'], [
    ['AWS/Route53', 'HealthCheckStatus', 'HealthCheckId', checks[1]!.healthCheckId, { label: 'eu-west-1' }],
    ['AWS/Route53', 'HealthCheckStatus', 'HealthCheckId', checks[0]!.healthCheckId, { label: 'us-east-1' }],
  ]);
  // The sites' rows start below it; without health checks the body is as before.
  assert.equal(body.widgets[1]!.y, 6);
  assert.equal(dashboardBody([demo()], []), dashboardBody([demo()]));
});

test('as many sites as 500 widgets hold fit; one more is refused with the limit named', () => {
  // A two-region site takes 9 widgets: 55 sites take 495.
  const sites = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...demo(), site: `site${String(i).padStart(2, '0')}` }));

  assert.equal(dashboardWidgets(sites(55)).length, 495);
  assert.ok(dashboardWidgets(sites(55)).length <= DASHBOARD_MAX_WIDGETS);
  assert.throws(
    () => dashboardBody(sites(56)),
    (error: unknown) =>
      error instanceof CloudError &&
      error.kind === 'Invalid' &&
      /504 widgets.*at most 500/.test(error.message),
  );
});

test('a body over 1 MB is refused with its size named', () => {
  const huge: DashboardSite = {
    site: 'huge',
    regions: [{ ...region('us-east-1', 'primary', 'huge'), cluster: 'c'.repeat(600_000) }],
  };

  assert.throws(
    () => dashboardBody([huge]),
    (error: unknown) =>
      error instanceof CloudError &&
      error.kind === 'Invalid' &&
      /bytes; CloudWatch takes at most 1000000/.test(error.message),
  );
});

test('a site listed twice is refused rather than drawn in input order', () => {
  assert.throws(() => dashboardWidgets([demo(), demo()]), /listed twice/);
});

// ----- the AWS adapter -----

let fake: FakeCloudWatch;
let dashboards: AwsDashboard;

beforeEach(() => {
  fake = new FakeCloudWatch();
  dashboards = new AwsDashboard(new AwsClients(), 'us-east-1');
});

afterEach(() => fake.restore());

function puts(): PutDashboardCommandInput[] {
  return fake.mock.commandCalls(PutDashboardCommand).map((c) => c.args[0].input);
}

test('putDashboard sends exactly the name and the body, in us-east-1, and CloudWatch accepts the body', async () => {
  const body = dashboardBody([demo(), shop()]);

  await dashboards.putDashboard('tandem', body);

  assert.deepEqual(puts(), [{ DashboardName: 'tandem', DashboardBody: body }]);
  assert.deepEqual(fake.dashboardRegions, ['us-east-1']);
  assert.equal(fake.dashboards.get('tandem'), body);
});

test('getDashboard answers the stored body, or undefined when there is no dashboard', async () => {
  assert.equal(await dashboards.getDashboard('tandem'), undefined);
  fake.dashboards.set('tandem', '{"widgets":[]}');

  assert.equal(await dashboards.getDashboard('tandem'), '{"widgets":[]}');
  assert.deepEqual(
    fake.mock.commandCalls(GetDashboardCommand).map((c) => c.args[0].input),
    [{ DashboardName: 'tandem' }, { DashboardName: 'tandem' }],
  );
  assert.deepEqual(fake.dashboardRegions, ['us-east-1', 'us-east-1']);
});

test('putDashboardIfChanged writes only when the stored body differs', async () => {
  const first = dashboardBody([demo()]);
  const second = dashboardBody([demo(), shop()]);

  assert.equal(await putDashboardIfChanged(dashboards, 'tandem', first), true, 'no dashboard yet');
  assert.equal(await putDashboardIfChanged(dashboards, 'tandem', first), false, 'unchanged');
  assert.equal(await putDashboardIfChanged(dashboards, 'tandem', second), true, 'changed');
  assert.deepEqual(
    puts().map((p) => p.DashboardBody),
    [first, second],
  );
});

test('a body CloudWatch refuses is Invalid, with CloudWatch’s reasons', async () => {
  await rejectsWith(
    dashboards.putDashboard(
      'tandem',
      JSON.stringify({
        widgets: [{ type: 'metric', x: 20, width: 6, properties: { metrics: [], region: 'us-east-1' } }],
      }),
    ),
    'Invalid',
    /\/widgets\/0\/width: Should be 1–24 and fit the grid; \/widgets\/0\/properties\/metrics: Should have 1–500 items/,
  );
});

test('dashboard errors map to the core’s kinds, naming the permission when denied', async (t) => {
  const error = (name: string, status: number) =>
    new CloudWatchServiceException({
      name,
      $fault: 'client',
      message: `${name} (simulated)`,
      $metadata: { httpStatusCode: status },
    });
  const cases: {
    name: string;
    command: string;
    error: Error;
    call: () => Promise<unknown>;
    kind: CloudErrorKind;
    message: RegExp;
  }[] = [
    {
      name: 'get denied',
      command: 'GetDashboard',
      error: error('AccessDenied', 403),
      call: () => dashboards.getDashboard('tandem'),
      kind: 'AccessDenied',
      message: /Grant cloudwatch:GetDashboard on dashboard\/tandem/,
    },
    {
      name: 'put denied',
      command: 'PutDashboard',
      error: error('AccessDenied', 403),
      call: () => dashboards.putDashboard('tandem', '{"widgets":[]}'),
      kind: 'AccessDenied',
      message: /Grant cloudwatch:PutDashboard on dashboard\/tandem/,
    },
    {
      name: 'put throttled',
      command: 'PutDashboard',
      error: error('Throttling', 400),
      call: () => dashboards.putDashboard('tandem', '{"widgets":[]}'),
      kind: 'Throttled',
      message: /Throttling/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      fake.failNext(c.command, c.error);
      await rejectsWith(c.call(), c.kind, c.message);
    });
  }
});

// ----- the simulated cloud -----

test('the simulated cloud keeps dashboards and counts the calls as CloudWatch in us-east-1', async () => {
  const sim = new SimulatedCloud({ regions: ['us-east-1', 'eu-west-1'] });
  const body = dashboardBody([demo()]);

  assert.equal(await putDashboardIfChanged(sim.dashboard, 'tandem', body), true);
  assert.equal(await putDashboardIfChanged(sim.dashboard, 'tandem', body), false);

  assert.equal(sim.world.dashboards?.['tandem'], body);
  assert.deepEqual(
    sim.calls.map((c) => [c.service, c.operation, c.region, c.write]),
    [
      ['cloudwatch', 'GetDashboard', 'us-east-1', false],
      ['cloudwatch', 'PutDashboard', 'us-east-1', true],
      ['cloudwatch', 'GetDashboard', 'us-east-1', false],
    ],
  );
  await rejectsWith(sim.dashboard.putDashboard('not a name', body), 'Invalid');
});
