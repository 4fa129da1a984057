import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../controller/errors.ts';
import type { MetricQuery } from '../controller/ports/metrics.ts';
import { LocalMetrics } from '../controller/providers/local/metrics.ts';
import type { TargetGroupRequest } from '../controller/providers/local/types.ts';

const REGION = 'us-east-1';
const LB = 'app/tandem/0123456789abcdef';
const TG = 'targetgroup/shop-stable/0123456789abcdef';
const OTHER_TG = 'targetgroup/shop-canary/0123456789abcdef';
const GROUP = { TargetGroup: TG, LoadBalancer: LB };
/** A minute boundary, so 5 s buckets and 60 s periods both start here. */
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A LocalMetrics on a fake clock that tests move by hand. */
function setup(
  options: { periodSeconds?: number; retentionSeconds?: number; failing?: (r: string) => boolean } = {},
) {
  const time = { now: T0 };
  const metrics = new LocalMetrics({ periodSeconds: 5, clock: () => time.now, ...options });
  const at = (ms: number) => {
    time.now = ms;
  };
  return { metrics, at, time };
}

function request(overrides: Partial<TargetGroupRequest> = {}): TargetGroupRequest {
  return {
    region: REGION,
    loadBalancerDimension: LB,
    targetGroupDimension: TG,
    status: 200,
    latencyMs: 10,
    ...overrides,
  };
}

function query(overrides: Partial<MetricQuery> = {}): MetricQuery {
  return {
    id: 'q',
    namespace: 'AWS/ApplicationELB',
    metric: 'RequestCount',
    dimensions: GROUP,
    stat: 'Sum',
    periodSeconds: 5,
    ...overrides,
  };
}

async function read(metrics: LocalMetrics, q: MetricQuery, start = T0 - MINUTE, end = T0 + 10 * MINUTE) {
  const [series] = await metrics.port().getMetricData(REGION, [q], start, end);
  assert.ok(series);
  assert.equal(series.id, q.id);
  return series.points;
}

test('requests are summed per aligned bucket, oldest first', async () => {
  const { metrics, at } = setup();
  at(T0 + 1 * SECOND);
  metrics.recordRequest(request());
  at(T0 + 4 * SECOND);
  metrics.recordRequest(request());
  at(T0 + 7 * SECOND);
  metrics.recordRequest(request());
  at(T0 + 20 * SECOND);
  assert.deepEqual(await read(metrics, query()), [
    { timestamp: T0, value: 2 },
    { timestamp: T0 + 5 * SECOND, value: 1 },
  ]);
});

test('the current, incomplete bucket is not returned', async () => {
  const { metrics, at } = setup();
  at(T0 + 1 * SECOND);
  metrics.recordRequest(request());
  at(T0 + 6 * SECOND);
  metrics.recordRequest(request());
  assert.deepEqual(await read(metrics, query()), [{ timestamp: T0, value: 1 }]);
  at(T0 + 10 * SECOND);
  assert.deepEqual(await read(metrics, query()), [
    { timestamp: T0, value: 1 },
    { timestamp: T0 + 5 * SECOND, value: 1 },
  ]);
});

test('only periods starting in [start, end) are returned', async () => {
  const { metrics, at } = setup();
  for (const s of [0, 5, 10]) {
    at(T0 + s * SECOND);
    metrics.recordRequest(request());
  }
  at(T0 + MINUTE);
  const points = await read(metrics, query(), T0 + 5 * SECOND, T0 + 10 * SECOND);
  assert.deepEqual(points, [{ timestamp: T0 + 5 * SECOND, value: 1 }]);
});

test('a 60 s query aggregates the 5 s buckets inside it', async (t) => {
  const { metrics, at } = setup();
  // Minute one: 20 requests, latencies 1..20 ms over four buckets; gauges 1, 2, 3 and 10.
  for (let i = 1; i <= 20; i += 1) {
    at(T0 + (i % 4) * 5 * SECOND + 1);
    metrics.recordRequest(request({ latencyMs: i }));
  }
  [1, 2, 3, 10].forEach((value, i) => {
    at(T0 + i * 15 * SECOND);
    metrics.recordGauge(REGION, 'AWS/ECS', 'CPUUtilization', { ClusterName: 'c', ServiceName: 's' }, value);
  });
  at(T0 + MINUTE + SECOND);
  metrics.recordRequest(request());
  at(T0 + 2 * MINUTE);

  const cpu: Partial<MetricQuery> = {
    namespace: 'AWS/ECS',
    metric: 'CPUUtilization',
    dimensions: { ClusterName: 'c', ServiceName: 's' },
  };
  const cases: { name: string; q: Partial<MetricQuery>; points: { timestamp: number; value: number }[] }[] = [
    {
      name: 'Sum adds the buckets',
      q: {},
      points: [
        { timestamp: T0, value: 20 },
        { timestamp: T0 + MINUTE, value: 1 },
      ],
    },
    {
      name: 'Average is the mean of all samples',
      q: { ...cpu, stat: 'Average' },
      points: [{ timestamp: T0, value: 4 }],
    },
    {
      name: 'Maximum is the largest sample',
      q: { ...cpu, stat: 'Maximum' },
      points: [{ timestamp: T0, value: 10 }],
    },
    {
      name: 'p95 is the nearest-rank 95th percentile of all samples, in seconds',
      q: { metric: 'TargetResponseTime', stat: 'p95' },
      points: [
        { timestamp: T0, value: 0.019 },
        { timestamp: T0 + MINUTE, value: 0.01 },
      ],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      assert.deepEqual(await read(metrics, query({ periodSeconds: 60, ...c.q })), c.points);
    });
  }
});

test('p95 stays close when a bucket holds more samples than its reservoir', async () => {
  const time = { now: T0 };
  const metrics = new LocalMetrics({ periodSeconds: 5, clock: () => time.now, samplesPerBucket: 200 });
  for (let i = 1; i <= 10_000; i += 1) metrics.recordRequest(request({ latencyMs: i % 1000 }));
  time.now = T0 + 5 * SECOND;
  const [count] = await read(metrics, query());
  const [p95] = await read(metrics, query({ metric: 'TargetResponseTime', stat: 'p95' }));
  assert.equal(count?.value, 10_000, 'counts stay exact');
  assert.ok(p95 !== undefined && Math.abs(p95.value - 0.95) < 0.05, `p95 ${p95?.value} near 0.95 s`);
});

test('request counts read 0 for a target group in use, and missing for one that is not', async (t) => {
  const { metrics, at } = setup();
  at(T0 + SECOND);
  metrics.recordRequest(request());
  at(T0 + 6 * SECOND);
  metrics.recordGauge(REGION, 'AWS/ApplicationELB', 'HealthyHostCount', GROUP, 2);
  at(T0 + 11 * SECOND);
  metrics.recordGauge(
    REGION,
    'AWS/ApplicationELB',
    'HealthyHostCount',
    { LoadBalancer: LB, TargetGroup: OTHER_TG },
    1,
  );
  at(T0 + 20 * SECOND);

  const cases: { name: string; q: Partial<MetricQuery>; points: { timestamp: number; value: number }[] }[] = [
    {
      name: 'a bucket with a gauge and no requests reads 0',
      q: {},
      points: [
        { timestamp: T0, value: 1 },
        { timestamp: T0 + 5 * SECOND, value: 0 },
      ],
    },
    {
      name: 'a 5xx count with requests but no errors reads 0',
      q: { metric: 'HTTPCode_Target_5XX_Count' },
      points: [
        { timestamp: T0, value: 0 },
        { timestamp: T0 + 5 * SECOND, value: 0 },
      ],
    },
    {
      name: 'another target group with only a gauge reads 0 there, missing elsewhere',
      q: { dimensions: { TargetGroup: OTHER_TG, LoadBalancer: LB } },
      points: [{ timestamp: T0 + 10 * SECOND, value: 0 }],
    },
    {
      name: 'a target group with neither has no points',
      q: { dimensions: { TargetGroup: 'targetgroup/gone/1', LoadBalancer: LB } },
      points: [],
    },
    {
      name: 'latency is not zero-filled: no requests, no point',
      q: { metric: 'TargetResponseTime', stat: 'p95' },
      points: [{ timestamp: T0, value: 0.01 }],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      assert.deepEqual(await read(metrics, query(c.q)), c.points);
    });
  }
});

test('an unreachable target is an ELB 5xx of the load balancer, a target 5xx is the target group’s', async (t) => {
  const { metrics, at } = setup();
  metrics.recordRequest(request({ status: 502, latencyMs: 3, elbError: true }));
  metrics.recordRequest(request({ status: 503, latencyMs: 40 }));
  metrics.recordRequest(request({ status: 500, latencyMs: 20 }));
  metrics.recordRequest(request({ status: 404, latencyMs: 1 }));
  metrics.recordRequest(request({ status: 200, latencyMs: 1 }));
  at(T0 + 5 * SECOND);

  const cases: { name: string; q: Partial<MetricQuery>; value: number }[] = [
    { name: 'every request counts for the target group', q: {}, value: 5 },
    { name: 'target 5xx excludes the ELB error', q: { metric: 'HTTPCode_Target_5XX_Count' }, value: 2 },
    {
      name: 'ELB 5xx is under the load balancer alone',
      q: { metric: 'HTTPCode_ELB_5XX_Count', dimensions: { LoadBalancer: LB } },
      value: 1,
    },
    { name: '4xx per target group', q: { metric: 'HTTPCode_Target_4XX_Count' }, value: 1 },
    { name: '2xx per target group', q: { metric: 'HTTPCode_Target_2XX_Count' }, value: 1 },
    {
      name: 'response time leaves out the ELB error',
      q: { metric: 'TargetResponseTime', stat: 'Maximum' },
      value: 0.04,
    },
    {
      name: 'response time averages only answered requests',
      q: { metric: 'TargetResponseTime', stat: 'Average' },
      value: (0.04 + 0.02 + 0.001 + 0.001) / 4,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      assert.deepEqual(await read(metrics, query(c.q)), [{ timestamp: T0, value: c.value }]);
    });
  }
  await t.test('ELB 5xx reads 0 while the load balancer is in use without errors', async () => {
    at(T0 + 6 * SECOND);
    metrics.recordGauge(REGION, 'AWS/ApplicationELB', 'HealthyHostCount', GROUP, 1);
    at(T0 + 10 * SECOND);
    const points = await read(
      metrics,
      query({ metric: 'HTTPCode_ELB_5XX_Count', dimensions: { LoadBalancer: LB } }),
    );
    assert.deepEqual(points, [
      { timestamp: T0, value: 1 },
      { timestamp: T0 + 5 * SECOND, value: 0 },
    ]);
  });
  await t.test('the ELB 5xx is not under the target group', async () => {
    const points = await read(metrics, query({ metric: 'HTTPCode_ELB_5XX_Count' }));
    assert.deepEqual(points, []);
  });
});

test('dimensions match exactly: same names and values, in any order', async (t) => {
  const { metrics, at } = setup();
  metrics.recordRequest(request());
  at(T0 + 5 * SECOND);
  const cases: { name: string; dimensions: Record<string, string>; points: number }[] = [
    { name: 'same dimensions', dimensions: { TargetGroup: TG, LoadBalancer: LB }, points: 1 },
    { name: 'other order', dimensions: { LoadBalancer: LB, TargetGroup: TG }, points: 1 },
    { name: 'a subset', dimensions: { TargetGroup: TG }, points: 0 },
    {
      name: 'a superset',
      dimensions: { TargetGroup: TG, LoadBalancer: LB, AvailabilityZone: 'a' },
      points: 0,
    },
    { name: 'another value', dimensions: { TargetGroup: OTHER_TG, LoadBalancer: LB }, points: 0 },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      assert.equal((await read(metrics, query({ dimensions: c.dimensions }))).length, c.points);
    });
  }
  await t.test('another region has nothing', async () => {
    const [series] = await metrics.port().getMetricData('eu-west-1', [query()], T0, T0 + MINUTE);
    assert.deepEqual(series, { id: 'q', points: [] });
  });
});

test('one series per query, in the order asked', async () => {
  const { metrics, at } = setup();
  metrics.recordRequest(request());
  at(T0 + 5 * SECOND);
  const series = await metrics
    .port()
    .getMetricData(REGION, [query({ id: 'b' }), query({ id: 'a', metric: 'Nothing' })], T0, T0 + MINUTE);
  assert.deepEqual(series, [
    { id: 'b', points: [{ timestamp: T0, value: 1 }] },
    { id: 'a', points: [] },
  ]);
});

test('invalid queries are rejected with a message that names the fix', async (t) => {
  const { metrics } = setup();
  const many = Array.from({ length: 501 }, (_, i) => query({ id: `q${i}` }));
  const cases: { name: string; queries: MetricQuery[]; start?: number; message: RegExp }[] = [
    {
      name: 'more than 500 queries',
      queries: many,
      message: /at most 500 queries a call; got 501: split them/,
    },
    {
      name: 'an id starting upper case',
      queries: [query({ id: 'Q1' })],
      message: /must start with a lowercase letter/,
    },
    { name: 'an id with a dash', queries: [query({ id: 'q-1' })], message: /only letters, digits and _/ },
    {
      name: 'an id too long',
      queries: [query({ id: `q${'x'.repeat(255)}` })],
      message: /at most 255 characters/,
    },
    {
      name: 'duplicate ids',
      queries: [query(), query()],
      message: /query id q is used twice: query ids must be unique/,
    },
    {
      name: 'a period not a multiple of the local one',
      queries: [query({ periodSeconds: 7 })],
      message: /use a positive multiple of the local period, 5 s/,
    },
    { name: 'a zero period', queries: [query({ periodSeconds: 0 })], message: /positive multiple/ },
    {
      name: 'start not before end',
      queries: [query()],
      start: T0 + MINUTE,
      message: /start time must be before the end/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      await assert.rejects(
        metrics.port().getMetricData(REGION, c.queries, c.start ?? T0, T0 + MINUTE),
        (error: unknown) =>
          error instanceof CloudError &&
          error.kind === 'Invalid' &&
          error.resource === 'GetMetricData' &&
          c.message.test(error.message),
      );
    });
  }
  await t.test('500 queries are accepted', async () => {
    const series = await metrics.port().getMetricData(REGION, many.slice(0, 500), T0, T0 + MINUTE);
    assert.equal(series.length, 500);
  });
});

test('a failing region answers Unavailable, naming how to heal it; others answer', async () => {
  const { metrics } = setup({ failing: (region) => region === REGION });
  await assert.rejects(
    metrics.port().getMetricData(REGION, [query()], T0, T0 + MINUTE),
    (error: unknown) =>
      error instanceof CloudError &&
      error.kind === 'Unavailable' &&
      error.message ===
        `${REGION} is failing (tandem fail-region); heal it with tandem heal-region ${REGION}`,
  );
  assert.deepEqual(await metrics.port().getMetricData('eu-west-1', [query()], T0, T0 + MINUTE), [
    { id: 'q', points: [] },
  ]);
});

test('buckets older than the retention are dropped on the next write', async () => {
  const { metrics, at } = setup({ retentionSeconds: 60 });
  metrics.recordRequest(request());
  at(T0 + 30 * SECOND);
  metrics.recordRequest(request());
  at(T0 + 61 * SECOND);
  const before = await read(metrics, query());
  assert.deepEqual(before, [
    { timestamp: T0, value: 1 },
    { timestamp: T0 + 30 * SECOND, value: 1 },
  ]);
  metrics.recordGauge(REGION, 'AWS/ECS', 'CPUUtilization', { ClusterName: 'c', ServiceName: 's' }, 1);
  at(T0 + 65 * SECOND);
  assert.deepEqual(await read(metrics, query()), [{ timestamp: T0 + 30 * SECOND, value: 1 }]);
});

test('a local period that is not a whole number of seconds is refused', () => {
  assert.throws(() => new LocalMetrics({ periodSeconds: 0 }), /positive whole number of seconds/);
  assert.throws(() => new LocalMetrics({ periodSeconds: 2.5 }), /positive whole number of seconds/);
});
