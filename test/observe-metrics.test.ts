import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricQuery, MetricsPort } from '../controller/ports/metrics.ts';
import { observe } from '../controller/reconcile/observe.ts';
import { TODAY_MINUTES } from '../controller/decide/forecast.ts';
import { converge, demoDocument, newSim, storeSpec } from './support/world.ts';
import { CloudError } from '../controller/errors.ts';

/** A metrics port that records what it is asked and answers one datapoint per query. */
function recordingMetrics(value: (q: MetricQuery) => number) {
  const asked: { queries: readonly MetricQuery[]; start: number; end: number }[] = [];
  const port: MetricsPort = {
    getMetricData: (_region, queries, start, end) => {
      asked.push({ queries, start, end });
      return Promise.resolve(
        queries.map((q) => ({ id: q.id, points: [{ timestamp: start, value: value(q) }] })),
      );
    },
  };
  return { port, asked };
}

/** Sites of the demo spec under these names, converged in both regions. */
async function convergedSites(...names: string[]) {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  for (const name of names) {
    const document = demoDocument();
    document.metadata.name = name;
    await storeSpec(sim, document);
  }
  await converge(sim);
  return sim;
}

async function convergedDemo() {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await storeSpec(sim, demoDocument());
  await converge(sim);
  return sim;
}

const counts = (q: MetricQuery) =>
  q.metric === 'RequestCount' ? 100 : q.metric === 'HealthyHostCount' ? 3 : 1;

for (const { periodSeconds, perMinute } of [
  { periodSeconds: undefined, perMinute: 100 },
  { periodSeconds: 60, perMinute: 100 },
  { periodSeconds: 5, perMinute: 1200 },
]) {
  test(`with a ${periodSeconds ?? 'default'} s metric period, counts read per period are scaled to per minute (${perMinute})`, async () => {
    const sim = await convergedDemo();
    const metrics = recordingMetrics(counts);
    const now = Date.parse('2026-11-28T12:00:07.500Z');
    const platform =
      periodSeconds === undefined ? sim.platform : { ...sim.platform, metricPeriodSeconds: periodSeconds };
    const observation = await observe({ ...sim.ports(), metrics: metrics.port }, platform, {
      region: 'us-east-1',
      sites: ['demo'],
      cdnSites: [],
      knownDistributions: {},
      now,
    });

    const traffic = observation.sites.get('demo')?.regions['us-east-1']?.traffic.stable;
    assert.equal(traffic?.requestsPerMinute, perMinute);
    assert.deepEqual(traffic?.recentRequestsPerMinute, [perMinute], 'each period read, scaled alike');
    assert.equal(traffic?.errors5xxPerMinute, perMinute / 100, '5xx counts are scaled the same way');
    assert.equal(traffic?.healthyTargets, 3, 'gauges are not scaled');
    assert.equal(traffic?.p95LatencyMs, 1000);

    const period = (periodSeconds ?? 60) * 1000;
    const end = Math.floor(now / period) * period;
    for (const call of metrics.asked) {
      assert.equal(call.end, end, 'the window ends at the last complete period');
      assert.equal(
        call.start,
        end - 6 * period,
        'and reaches back six periods: five readable for the demand estimate',
      );
      assert.ok(call.queries.every((q) => q.periodSeconds === (periodSeconds ?? 60)));
    }
  });
}

test('the request counts of every period read are kept newest first, for the demand estimate', async () => {
  const sim = await convergedDemo();
  const port: MetricsPort = {
    getMetricData: (_region, queries, start) =>
      Promise.resolve(
        queries.map((q) => ({
          id: q.id,
          points:
            q.metric === 'RequestCount'
              ? [100, 200, 300].map((value, i) => ({ timestamp: start + i * 60_000, value }))
              : [],
        })),
      ),
  };
  const observation = await observe({ ...sim.ports(), metrics: port }, sim.platform, {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now: Date.parse('2026-11-28T12:00:07.500Z'),
  });
  const traffic = observation.sites.get('demo')?.regions['us-east-1']?.traffic.stable;
  assert.equal(traffic?.requestsPerMinute, 300, 'the newest');
  assert.deepEqual(traffic?.recentRequestsPerMinute, [300, 200, 100]);
});

test('a due history read gives each site its requests per minute over the last two hours and a day and a week earlier, both tracks added', async () => {
  const sim = await convergedDemo();
  const now = Date.parse('2026-11-28T12:00:07.500Z');
  const end = Date.parse('2026-11-28T12:00:00Z');
  const asked: [number, number][] = [];
  const port: MetricsPort = {
    getMetricData: (_region, queries, start, stop) => {
      if (queries.some((q) => q.id.startsWith('h'))) asked.push([start, stop]);
      return Promise.resolve(
        queries.map((q) => ({
          id: q.id,
          // Every target group: 5 requests two hours before now (the hourly season's earlier hour),
          // 10 in the minute a day before, 20 in the minute a week before.
          points: q.id.startsWith('h')
            ? [
                { timestamp: end - 2 * 3_600_000, value: 5 },
                { timestamp: end - 86_400_000, value: 10 },
                { timestamp: end - 7 * 86_400_000, value: 20 },
              ].filter((p) => p.timestamp >= start && p.timestamp < stop)
            : [],
        })),
      );
    },
  };
  const observation = await observe({ ...sim.ports(), metrics: port }, sim.platform, {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now,
    historyDue: new Set(['demo']),
  });
  const history = observation.sites.get('demo')?.regions['us-east-1']?.history;
  assert.equal(asked.length, 3, 'one call per range');
  assert.equal(history?.readAt, now);
  const at = (series: { from: number; requests: (number | undefined)[] }, t: number) =>
    series.requests[(t - series.from) / 60_000];
  assert.equal(at(history!.dayAgo, end - 86_400_000), 20, 'stable and canary added');
  assert.equal(at(history!.weekAgo, end - 7 * 86_400_000), 40);
  assert.equal(at(history!.today, end - 2 * 3_600_000), 10, 'two hours back: the hourly season');
  assert.equal(history!.today.from, end - TODAY_MINUTES * 60_000);
  assert.equal(at(history!.dayAgo, end - 86_400_000 + 60_000), undefined, 'no datapoint, no number');
});

test('metrics that cannot be read, or read as no number, leave the traffic empty and the region observed', async () => {
  const sim = await convergedDemo();
  const input = {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now: Date.parse('2026-11-28T12:00:00Z'),
  };
  const failing: MetricsPort = {
    getMetricData: () => Promise.reject(new CloudError('Throttled', 'GetMetricData', 'slow down')),
  };
  const failed = await observe({ ...sim.ports(), metrics: failing }, sim.platform, input);
  const region = failed.sites.get('demo')!.regions['us-east-1']!;
  assert.equal(region.error, undefined, 'missing metrics never fail the region');
  assert.deepEqual(region.traffic, { stable: {}, canary: {} });
  assert.equal(region.services.length, 2);

  const noNumbers = recordingMetrics((q) =>
    q.metric === 'RequestCount' ? Number.NaN : Number.POSITIVE_INFINITY,
  );
  const blank = await observe({ ...sim.ports(), metrics: noNumbers.port }, sim.platform, input);
  assert.deepEqual(blank.sites.get('demo')!.regions['us-east-1']!.traffic, { stable: {}, canary: {} });
});

test('a region with no platform observes nothing, and every site is still listed', async () => {
  const sim = await convergedDemo();
  const observation = await observe(sim.ports(), sim.platform, {
    region: 'ap-south-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now: 0,
  });
  assert.deepEqual(observation.sites.get('demo'), { name: 'demo', regions: {} });
  assert.deepEqual(observation.takenPriorities, {});
});

test('each owned target group is read as CloudWatch publishes it: four ALB metrics, its service’s CPU, and the history’s request count', async () => {
  const sim = await convergedDemo();
  const region = sim.platform.regions['us-east-1']!;
  const asked: MetricQuery[] = [];
  const port: MetricsPort = {
    getMetricData: (_region, queries, start) => {
      asked.push(...queries);
      return Promise.resolve(
        queries.map((q) => ({
          id: q.id,
          points: [{ timestamp: start, value: q.metric === 'CPUUtilization' ? 42 : 7 }],
        })),
      );
    },
  };
  const observation = await observe({ ...sim.ports(), metrics: port }, sim.platform, {
    region: 'us-east-1',
    sites: ['demo'],
    cdnSites: [],
    knownDistributions: {},
    now: Date.parse('2026-11-28T12:00:07.500Z'),
    historyDue: new Set(['demo']),
  });
  const stable = observation.sites.get('demo')!.regions['us-east-1']!;
  const tg = stable.targetGroups.find((g) => g.name === 'demo-stable')!;
  const dimensions = {
    TargetGroup: tg.arn.slice(tg.arn.indexOf('targetgroup/')),
    LoadBalancer: region.loadBalancerArn.slice(region.loadBalancerArn.indexOf('app/')),
  };
  const forStable = asked
    .filter(
      (q) =>
        q.dimensions['TargetGroup'] === dimensions.TargetGroup ||
        q.dimensions['ServiceName'] === 'demo-stable',
    )
    .map(({ namespace, metric, stat, dimensions: d }) => ({ namespace, metric, stat, dimensions: d }));
  assert.deepEqual(
    forStable.sort((a, b) => `${a.metric}${a.stat}`.localeCompare(`${b.metric}${b.stat}`)),
    [
      {
        namespace: 'AWS/ECS',
        metric: 'CPUUtilization',
        stat: 'Average',
        dimensions: { ClusterName: region.cluster, ServiceName: 'demo-stable' },
      },
      { namespace: 'AWS/ApplicationELB', metric: 'HealthyHostCount', stat: 'Average', dimensions },
      { namespace: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', stat: 'Sum', dimensions },
      // The traffic's, and the history's (three ranges: today, a day and a week earlier).
      ...Array.from({ length: 4 }, () => ({
        namespace: 'AWS/ApplicationELB',
        metric: 'RequestCount',
        stat: 'Sum',
        dimensions,
      })),
      { namespace: 'AWS/ApplicationELB', metric: 'TargetResponseTime', stat: 'p95', dimensions },
    ],
  );
  assert.equal(stable.traffic.stable.cpuPercent, 42, 'the service’s CPU is the track’s');
});

test('a pass reads only its own sites’ rules, target groups, services and task definitions, and its own distribution', async () => {
  const sim = await convergedSites('alpha', 'beta');
  const observation = await observe(sim.ports('us-east-1'), sim.platform, {
    region: 'us-east-1',
    sites: ['alpha'],
    cdnSites: ['alpha'],
    knownDistributions: {},
    now: Date.parse('2026-11-28T12:00:07.500Z'),
  });
  assert.deepEqual([...observation.sites.keys()], ['alpha'], 'beta is not observed');
  const alpha = observation.sites.get('alpha')!.regions['us-east-1']!;
  assert.deepEqual(alpha.targetGroups.map((g) => g.name).sort(), ['alpha-canary', 'alpha-stable']);
  assert.deepEqual(alpha.services.map((s) => s.name).sort(), ['alpha-canary', 'alpha-stable']);
  assert.ok(
    alpha.rules.length > 0 && alpha.rules.every((r) => r.tags['tandem:site'] === 'alpha'),
    'only alpha’s rules',
  );
  assert.ok(
    alpha.taskDefinitions.length > 0 &&
      alpha.taskDefinitions.every((td) => td.family.startsWith('tandem-alpha-')),
  );
  const cdn = observation.sites.get('alpha')!.cdn!;
  assert.ok(cdn.distributions.length > 0 && cdn.distributions.every((d) => d.owned));
});

test('the history read: readings that are no number are gaps, a read that fails leaves the site without history, a metric with no datapoint leaves its field out', async () => {
  const sim = await convergedDemo();
  const now = Date.parse('2026-11-28T12:00:07.500Z');
  const end = Date.parse('2026-11-28T12:00:00Z');
  const read = (history: 'nan' | 'fails') =>
    observe(
      {
        ...sim.ports(),
        metrics: {
          getMetricData: (_region, queries) => {
            if (history === 'fails' && queries.some((q) => q.id.startsWith('h')))
              return Promise.reject(new CloudError('Throttled', 'cloudwatch', 'slow down'));
            return Promise.resolve(
              queries.map((q) => ({
                id: q.id,
                points: q.id.startsWith('h')
                  ? [
                      { timestamp: end - 60_000, value: Number.NaN },
                      { timestamp: end - 120_000, value: 5 },
                    ]
                  : [],
              })),
            );
          },
        },
      },
      sim.platform,
      {
        region: 'us-east-1',
        sites: ['demo'],
        cdnSites: [],
        knownDistributions: {},
        now,
        historyDue: new Set(['demo']),
      },
    );
  const nan = (await read('nan')).sites.get('demo')!.regions['us-east-1']!;
  const today = nan.history!.today;
  const at = (t: number) => today.requests[(t - today.from) / 60_000];
  assert.equal(at(end - 60_000), undefined, 'NaN is no reading');
  assert.equal(at(end - 120_000), 10, 'both tracks');
  assert.equal('requestsPerMinute' in nan.traffic.stable, false, 'no datapoint, no field');
  const failed = (await read('fails')).sites.get('demo')!.regions['us-east-1']!;
  assert.equal(failed.history, undefined, 'the next pass reads it again');
  assert.equal(failed.error, undefined, 'the region is observed all the same');
});

test('a history read is attached only to the sites it was due for', async () => {
  const sim = await convergedSites('alpha', 'beta');
  const observation = await observe(sim.ports('us-east-1'), sim.platform, {
    region: 'us-east-1',
    sites: ['alpha', 'beta'],
    cdnSites: [],
    knownDistributions: {},
    now: Date.parse('2026-11-28T12:00:07.500Z'),
    historyDue: new Set(['alpha']),
  });
  assert.notEqual(observation.sites.get('alpha')!.regions['us-east-1']!.history, undefined);
  assert.equal('history' in observation.sites.get('beta')!.regions['us-east-1']!, false);
});
