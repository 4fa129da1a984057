import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import {
  CloudWatchServiceException,
  GetMetricDataCommand,
  InternalServiceFault,
  type GetMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import type { MetricQuery } from '../controller/ports/metrics.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsMetrics } from '../controller/providers/aws/metrics.ts';
import { FakeCloudWatch } from './support/aws-fake/cloudwatch.ts';

const START = Date.UTC(2026, 10, 28, 12, 0, 0);
const MINUTE = 60_000;
const LB = 'app/tandem/0123456789abcdef';
const tg = (name: string) => `targetgroup/${name}/0123456789abcdef`;

function requests(id: string, group: string): MetricQuery {
  return {
    id,
    namespace: 'AWS/ApplicationELB',
    metric: 'RequestCount',
    dimensions: { TargetGroup: tg(group), LoadBalancer: LB },
    stat: 'Sum',
    periodSeconds: 60,
  };
}

/** Stores one point a minute for `group`'s requests, starting at START, values from `first` up. */
function seed(fake: FakeCloudWatch, region: string, group: string, minutes: number, first = 0): void {
  fake.putData(
    region,
    {
      namespace: 'AWS/ApplicationELB',
      metric: 'RequestCount',
      dimensions: { LoadBalancer: LB, TargetGroup: tg(group) },
      stat: 'Sum',
    },
    Array.from({ length: minutes }, (_, i) => ({ timestamp: START + i * MINUTE, value: first + i })),
  );
}

let fake: FakeCloudWatch;
let metrics: AwsMetrics;

/** Replaces the fake with one whose pages hold at most `maxDatapoints` points. */
function install(maxDatapoints: number): void {
  fake.restore();
  fake = new FakeCloudWatch(maxDatapoints);
}

beforeEach(() => {
  fake = new FakeCloudWatch();
  metrics = new AwsMetrics(new AwsClients());
});

afterEach(() => fake.restore());

function sent(): GetMetricDataCommandInput[] {
  return fake.mock.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
}

async function rejectsWith(promise: Promise<unknown>, kind: CloudErrorKind, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

test('getMetricData sends each query as a MetricStat with sorted dimensions, the window and ScanBy ascending', async () => {
  await metrics.getMetricData(
    'eu-west-1',
    [
      requests('t0_0', 'demo-stable'),
      {
        id: 'c0',
        namespace: 'AWS/ECS',
        metric: 'CPUUtilization',
        dimensions: { ServiceName: 'demo-stable', ClusterName: 'tandem' },
        stat: 'Average',
        periodSeconds: 60,
      },
    ],
    START,
    START + 3 * MINUTE,
  );

  assert.deepEqual(sent(), [
    {
      MetricDataQueries: [
        {
          Id: 't0_0',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/ApplicationELB',
              MetricName: 'RequestCount',
              Dimensions: [
                { Name: 'LoadBalancer', Value: LB },
                { Name: 'TargetGroup', Value: tg('demo-stable') },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
          ReturnData: true,
        },
        {
          Id: 'c0',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/ECS',
              MetricName: 'CPUUtilization',
              Dimensions: [
                { Name: 'ClusterName', Value: 'tandem' },
                { Name: 'ServiceName', Value: 'demo-stable' },
              ],
            },
            Period: 60,
            Stat: 'Average',
          },
          ReturnData: true,
        },
      ],
      StartTime: new Date(START),
      EndTime: new Date(START + 3 * MINUTE),
      ScanBy: 'TimestampAscending',
      NextToken: undefined,
    },
  ]);
});

test('pages are followed by NextToken and merged per id, oldest point first', async () => {
  install(4);
  seed(fake, 'us-east-1', 'a-stable', 5, 100);
  seed(fake, 'us-east-1', 'b-stable', 5, 200);
  seed(fake, 'us-east-1', 'c-stable', 5, 300);

  const series = await metrics.getMetricData(
    'us-east-1',
    [requests('qa', 'a-stable'), requests('qb', 'b-stable'), requests('qc', 'c-stable')],
    START,
    START + 5 * MINUTE,
  );

  const calls = sent();
  assert.equal(calls.length, 4, '15 points, 4 a page');
  assert.equal(calls[0]!.NextToken, undefined);
  assert.ok(calls.slice(1).every((c) => typeof c.NextToken === 'string'));
  const expected = (first: number) =>
    Array.from({ length: 5 }, (_, i) => ({ timestamp: START + i * MINUTE, value: first + i }));
  assert.deepEqual(series, [
    { id: 'qa', points: expected(100) },
    { id: 'qb', points: expected(200) },
    { id: 'qc', points: expected(300) },
  ]);
});

test('every query is answered once, in the order asked, and a query without data gets no points', async () => {
  seed(fake, 'us-east-1', 'busy', 2, 7);

  const series = await metrics.getMetricData(
    'us-east-1',
    [requests('quiet', 'quiet'), requests('busy', 'busy')],
    START,
    START + 2 * MINUTE,
  );

  assert.deepEqual(series, [
    { id: 'quiet', points: [] },
    {
      id: 'busy',
      points: [
        { timestamp: START, value: 7 },
        { timestamp: START + MINUTE, value: 8 },
      ],
    },
  ]);
});

test('the window is [start, end): the point at end is left for the next read', async () => {
  seed(fake, 'us-east-1', 'demo', 3);

  const [series] = await metrics.getMetricData(
    'us-east-1',
    [requests('q', 'demo')],
    START,
    START + 2 * MINUTE,
  );

  assert.deepEqual(
    series!.points.map((p) => p.timestamp),
    [START, START + MINUTE],
  );
});

test('a query reads the region it is asked about', async () => {
  seed(fake, 'us-east-1', 'demo', 1, 42);

  const [east] = await metrics.getMetricData('us-east-1', [requests('q', 'demo')], START, START + MINUTE);
  const [west] = await metrics.getMetricData('eu-west-1', [requests('q', 'demo')], START, START + MINUTE);

  assert.deepEqual(east!.points, [{ timestamp: START, value: 42 }]);
  assert.deepEqual(west!.points, []);
});

test('more than 500 queries are refused as Invalid without calling CloudWatch', async () => {
  const queries = Array.from({ length: 501 }, (_, i) => requests(`q${i}`, 'demo'));

  await rejectsWith(
    metrics.getMetricData('us-east-1', queries, START, START + MINUTE),
    'Invalid',
    /at most 500/,
  );
  assert.equal(sent().length, 0);
});

test('exactly 500 queries go in one call', async () => {
  const queries = Array.from({ length: 500 }, (_, i) => requests(`q${i}`, 'demo'));

  const series = await metrics.getMetricData('us-east-1', queries, START, START + MINUTE);

  assert.equal(series.length, 500);
  assert.equal(sent().length, 1);
});

test('repeated query ids are refused as Invalid', async () => {
  await rejectsWith(
    metrics.getMetricData('us-east-1', [requests('q', 'a'), requests('q', 'b')], START, START + MINUTE),
    'Invalid',
    /unique/,
  );
});

test('no queries make no call', async () => {
  assert.deepEqual(await metrics.getMetricData('us-east-1', [], START, START + MINUTE), []);
  assert.equal(sent().length, 0);
});

const sdkError = (name: string, status: number, fault: 'client' | 'server' = 'client') =>
  new CloudWatchServiceException({
    name,
    $fault: fault,
    message: `${name} (simulated)`,
    $metadata: { httpStatusCode: status },
  });

test('CloudWatch errors map to the core’s kinds', async (t) => {
  const cases: {
    name: string;
    error?: Error;
    queries?: MetricQuery[];
    kind: CloudErrorKind;
    message: RegExp;
  }[] = [
    { name: 'throttling', error: sdkError('Throttling', 400), kind: 'Throttled', message: /Throttling/ },
    {
      name: 'access denied names the permission',
      error: sdkError('AccessDenied', 403),
      kind: 'AccessDenied',
      message: /Grant cloudwatch:GetMetricData on \*/,
    },
    {
      name: 'an internal fault',
      error: new InternalServiceFault({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
      kind: 'Unavailable',
      message: /InternalServiceFault/,
    },
    {
      name: 'an id CloudWatch refuses',
      queries: [requests('Upper', 'demo')],
      kind: 'Invalid',
      message: /InvalidParameterValueException/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      if (c.error !== undefined) fake.failNext('GetMetricData', c.error);
      await rejectsWith(
        metrics.getMetricData('us-east-1', c.queries ?? [requests('q', 'demo')], START, START + MINUTE),
        c.kind,
        c.message,
      );
    });
  }
});

test('a NextToken CloudWatch no longer accepts is Invalid', async () => {
  install(1);
  seed(fake, 'us-east-1', 'demo', 3);
  fake.replyNext('GetMetricData', {
    MetricDataResults: [{ Id: 'q', Timestamps: [new Date(START)], Values: [1], StatusCode: 'PartialData' }],
    NextToken: 'not-a-token-it-issued',
  });

  await rejectsWith(
    metrics.getMetricData('us-east-1', [requests('q', 'demo')], START, START + 3 * MINUTE),
    'Invalid',
    /InvalidNextToken/,
  );
});

test('answers the adapter cannot trust are errors, not data', async (t) => {
  const cases: { name: string; reply: unknown; kind: CloudErrorKind; message: RegExp }[] = [
    {
      name: 'a result for an id not asked about',
      reply: { MetricDataResults: [{ Id: 'other', Timestamps: [], Values: [], StatusCode: 'Complete' }] },
      kind: 'Unavailable',
      message: /not asked: other/,
    },
    {
      name: 'timestamps and values that do not pair up',
      reply: {
        MetricDataResults: [{ Id: 'q', Timestamps: [new Date(START)], Values: [], StatusCode: 'Complete' }],
      },
      kind: 'Unavailable',
      message: /1 timestamps and 0 values/,
    },
    {
      name: 'a query CloudWatch forbids',
      reply: {
        MetricDataResults: [
          {
            Id: 'q',
            StatusCode: 'Forbidden',
            Messages: [{ Code: 'Forbidden', Value: 'no access to this account' }],
          },
        ],
      },
      kind: 'AccessDenied',
      message: /cloudwatch:GetMetricData/,
    },
    {
      name: 'a query CloudWatch failed',
      reply: { MetricDataResults: [{ Id: 'q', StatusCode: 'InternalError' }] },
      kind: 'Unavailable',
      message: /failed query q/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      fake.replyNext('GetMetricData', c.reply);
      await rejectsWith(
        metrics.getMetricData('us-east-1', [requests('q', 'demo')], START, START + MINUTE),
        c.kind,
        c.message,
      );
    });
  }
});

test('a NextToken that repeats is treated as a broken answer', async () => {
  const page = {
    MetricDataResults: [{ Id: 'q', Timestamps: [], Values: [], StatusCode: 'PartialData' }],
    NextToken: 'same',
  };
  fake.replyNext('GetMetricData', page);
  fake.replyNext('GetMetricData', page);

  await rejectsWith(
    metrics.getMetricData('us-east-1', [requests('q', 'demo')], START, START + MINUTE),
    'Unavailable',
    /kept paginating/,
  );
});
