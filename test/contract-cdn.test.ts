/**
 * One contract for CdnPort and MetricsPort, run against the simulated cloud
 * and against the AWS adapters on the SDK fakes, so the two cannot drift
 * apart: what the reconciler learns to rely on in the simulator is what
 * CloudFront and CloudWatch do.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { CdnPort, DistributionConfig, DistributionSummary } from '../controller/ports/cdn.ts';
import type { MetricQuery, MetricsPort } from '../controller/ports/metrics.ts';
import { AwsCdn } from '../controller/providers/aws/cdn.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { AwsMetrics } from '../controller/providers/aws/metrics.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { FakeCloudFront } from './support/aws-fake/cloudfront.ts';
import { FakeCloudWatch } from './support/aws-fake/cloudwatch.ts';

interface Backend {
  cdn: CdnPort;
  metrics: MetricsPort;
  /** Every pending CloudFront change finishes deploying. */
  settle(): void;
  /** `value` requests in the minute starting at `at`, for one target group behind one load balancer. */
  seedRequests(
    region: string,
    targetGroup: string,
    loadBalancer: string,
    value: number,
    at: number,
  ): Promise<void>;
  close(): void;
}

const BACKENDS: Record<string, () => Backend> = {
  'the simulated cloud': () => {
    const sim = new SimulatedCloud({ regions: ['us-east-1', 'eu-west-1'] });
    const ports = sim.ports();
    return {
      cdn: ports.cdn,
      metrics: ports.metrics,
      settle: () => sim.tick(),
      // The simulator reports a target group's traffic once it has existed for a whole interval.
      seedRequests: async (region, targetGroup, _loadBalancer, value) => {
        const name = /^targetgroup\/([^/]+)\//.exec(targetGroup)![1]!;
        const vpcId = sim.platform.regions[region]!.vpcId;
        await ports.loadBalancer.createTargetGroup(
          region,
          vpcId,
          { name, port: 80, healthCheckPath: '/' },
          {},
        );
        sim.tick();
        sim.setTraffic(region, name, { requestsPerMinute: value });
      },
      close: () => undefined,
    };
  },
  'the AWS adapters': () => {
    const cloudfront = new FakeCloudFront();
    const cloudwatch = new FakeCloudWatch();
    const clients = new AwsClients();
    return {
      cdn: new AwsCdn(clients),
      metrics: new AwsMetrics(clients),
      settle: () => cloudfront.deploy(),
      seedRequests: async (region, targetGroup, loadBalancer, value, at) =>
        cloudwatch.putData(
          region,
          {
            namespace: 'AWS/ApplicationELB',
            metric: 'RequestCount',
            dimensions: { TargetGroup: targetGroup, LoadBalancer: loadBalancer },
            stat: 'Sum',
          },
          [{ timestamp: at, value }],
        ),
      close: () => {
        cloudfront.restore();
        cloudwatch.restore();
      },
    };
  },
};

function config(site: string): DistributionConfig {
  const origin = (region: string) => ({
    id: region,
    domainName: `tandem-${region}.elb.example`,
    protocol: 'http-only' as const,
    connectionTimeoutSeconds: 5,
    connectionAttempts: 2,
    responseTimeoutSeconds: 10,
    customHeaders: { 'X-Tandem-Origin': `${site}.s3cret` },
  });
  return {
    comment: `tandem site ${site}`,
    enabled: true,
    aliases: [`${site}.example.com`, `www.${site}.example.com`],
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-contract',
    priceClass: 'PriceClass_100',
    origins: [origin('us-east-1'), origin('eu-west-1')],
    originGroup: {
      id: 'failover-group',
      primaryOriginId: 'us-east-1',
      failoverOriginId: 'eu-west-1',
      statusCodes: [500, 502, 503, 504],
    },
    targetOriginId: 'failover-group',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 60,
  };
}

async function rejectsWith(promise: Promise<unknown>, kind: CloudErrorKind): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return true;
  });
}

async function listAll(cdn: CdnPort): Promise<{ pages: DistributionSummary[][] }> {
  const pages: DistributionSummary[][] = [];
  let next: string | undefined;
  do {
    const page = await cdn.listDistributions(next);
    pages.push(page.items);
    next = page.next;
  } while (next !== undefined);
  return { pages };
}

/** Disables, waits for the disable to deploy, then deletes: the only way CloudFront allows. */
async function retire(b: Backend, id: string): Promise<void> {
  const current = await b.cdn.getDistributionConfig(id);
  await b.cdn.updateDistribution(id, { ...current.config, enabled: false }, current.etag);
  b.settle();
  await b.cdn.deleteDistribution(id, (await b.cdn.getDistributionConfig(id)).etag);
}

const START = Date.UTC(2026, 10, 28, 12, 0, 0);
const LB = 'app/tandem/0123456789abcdef';

function requestQuery(id: string, group: string): MetricQuery {
  return {
    id,
    namespace: 'AWS/ApplicationELB',
    metric: 'RequestCount',
    dimensions: { TargetGroup: `targetgroup/${group}/0a1b2c3d4e5f6a7b`, LoadBalancer: LB },
    stat: 'Sum',
    periodSeconds: 60,
  };
}

for (const [name, make] of Object.entries(BACKENDS)) {
  describe(`CdnPort and MetricsPort on ${name}`, () => {
    let b: Backend;
    beforeEach(() => {
      b = make();
    });
    afterEach(() => b.close());

    test('a new distribution is InProgress until its change has deployed', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      assert.equal(created.status, 'InProgress');
      assert.equal((await b.cdn.listDistributions()).items[0]?.status, 'InProgress');

      b.settle();
      assert.equal((await b.cdn.listDistributions()).items[0]?.status, 'Deployed');
    });

    test('a distribution lists back, and reads back, as exactly the config it was created from', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));

      assert.deepEqual(created.config, config('demo'));
      const [listed] = (await b.cdn.listDistributions()).items;
      assert.deepEqual(listed, { ...created, config: config('demo') });
      assert.deepEqual((await b.cdn.getDistributionConfig(created.id)).config, config('demo'));
    });

    test('an update quoting the current ETag is applied, gets a new ETag and deploys again', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      b.settle();
      const before = await b.cdn.getDistributionConfig(created.id);
      const wanted = { ...config('demo'), defaultTtlSeconds: 300, aliases: ['demo.example.com'] };

      await b.cdn.updateDistribution(created.id, wanted, before.etag);

      const after = await b.cdn.getDistributionConfig(created.id);
      assert.deepEqual(after.config, wanted);
      assert.notEqual(after.etag, before.etag);
      assert.equal((await b.cdn.listDistributions()).items[0]?.status, 'InProgress');
    });

    test('an update quoting a stale ETag is a Conflict and changes nothing', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      const stale = (await b.cdn.getDistributionConfig(created.id)).etag;
      await b.cdn.updateDistribution(created.id, { ...config('demo'), defaultTtlSeconds: 120 }, stale);

      await rejectsWith(
        b.cdn.updateDistribution(created.id, { ...config('demo'), enabled: false }, stale),
        'Conflict',
      );
      assert.deepEqual((await b.cdn.getDistributionConfig(created.id)).config, {
        ...config('demo'),
        defaultTtlSeconds: 120,
      });
    });

    test('deleting an enabled distribution is a Conflict', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      b.settle();

      await rejectsWith(
        b.cdn.deleteDistribution(created.id, (await b.cdn.getDistributionConfig(created.id)).etag),
        'Conflict',
      );
    });

    test('a distribution is deleted only once it is disabled and the disable has deployed', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      const current = await b.cdn.getDistributionConfig(created.id);
      await b.cdn.updateDistribution(created.id, { ...config('demo'), enabled: false }, current.etag);
      const disabled = await b.cdn.getDistributionConfig(created.id);

      await rejectsWith(b.cdn.deleteDistribution(created.id, disabled.etag), 'Conflict');
      b.settle();
      await b.cdn.deleteDistribution(created.id, disabled.etag);

      await rejectsWith(b.cdn.getDistributionConfig(created.id), 'NotFound');
      assert.deepEqual((await b.cdn.listDistributions()).items, []);
    });

    test('deleting with a stale ETag is a Conflict', async () => {
      const created = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      const stale = (await b.cdn.getDistributionConfig(created.id)).etag;
      await b.cdn.updateDistribution(created.id, { ...config('demo'), enabled: false }, stale);
      b.settle();

      await rejectsWith(b.cdn.deleteDistribution(created.id, stale), 'Conflict');
    });

    test('every create makes a new distribution with its own id (deduplication is the planner’s job)', async () => {
      const first = await b.cdn.createDistribution(config('demo'), ownershipTags('demo'));
      const second = await b.cdn.createDistribution(
        { ...config('demo'), aliases: [] },
        ownershipTags('demo'),
      );
      assert.notEqual(first.id, second.id);
      assert.equal((await b.cdn.listDistributions()).items.length, 2);
    });

    test('more than 100 distributions are listed in pages of at most 100, each exactly once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 205; i += 1) {
        ids.push((await b.cdn.createDistribution(config(`site${i}`), ownershipTags(`site${i}`))).id);
      }

      const { pages } = await listAll(b.cdn);
      assert.deepEqual(
        pages.map((p) => p.length),
        [100, 100, 5],
      );
      assert.deepEqual(
        pages
          .flat()
          .map((d) => d.id)
          .sort(),
        [...ids].sort(),
      );
    });

    test('a distribution deleted between pages hides no other', async () => {
      for (let i = 0; i < 120; i += 1) await b.cdn.createDistribution(config(`site${i}`), {});
      const first = await b.cdn.listDistributions();
      const all = [...first.items];

      await retire(b, first.items[10]!.id);
      let next = first.next;
      while (next !== undefined) {
        const page = await b.cdn.listDistributions(next);
        all.push(...page.items);
        next = page.next;
      }

      assert.equal(new Set(all.map((d) => d.id)).size, 120, 'every distribution seen once');
    });

    test('tags given at creation are the tags listed', async () => {
      const created = await b.cdn.createDistribution(config('demo'), {
        ...ownershipTags('demo'),
        team: 'web',
      });

      assert.deepEqual(await b.cdn.listTags(created.arn), { ...ownershipTags('demo'), team: 'web' });
    });

    test('an unknown distribution is NotFound', async () => {
      await rejectsWith(b.cdn.getDistributionConfig('EUNKNOWN'), 'NotFound');
      await rejectsWith(b.cdn.updateDistribution('EUNKNOWN', config('demo'), 'E1'), 'NotFound');
      await rejectsWith(b.cdn.deleteDistribution('EUNKNOWN', 'E1'), 'NotFound');
      await rejectsWith(b.cdn.listTags('arn:aws:cloudfront::123456789012:distribution/EUNKNOWN'), 'NotFound');
    });

    test('metric answers are matched by id, whatever order the queries come in', async () => {
      await b.seedRequests('us-east-1', 'targetgroup/a-stable/0a1b2c3d4e5f6a7b', LB, 11, START);
      await b.seedRequests('us-east-1', 'targetgroup/b-stable/0a1b2c3d4e5f6a7b', LB, 22, START);

      const series = await b.metrics.getMetricData(
        'us-east-1',
        [requestQuery('qb', 'b-stable'), requestQuery('qa', 'a-stable')],
        START,
        START + 60_000,
      );

      const byId = new Map(series.map((s) => [s.id, s.points]));
      assert.equal(series.length, 2, 'one answer per query');
      assert.deepEqual(byId.get('qa'), [{ timestamp: START, value: 11 }]);
      assert.deepEqual(byId.get('qb'), [{ timestamp: START, value: 22 }]);
    });

    test('more than 500 metric queries are Invalid', async () => {
      const queries = Array.from({ length: 501 }, (_, i) => requestQuery(`q${i}`, 'a-stable'));

      await rejectsWith(b.metrics.getMetricData('us-east-1', queries, START, START + 60_000), 'Invalid');
    });

    test('a metric query id used twice is Invalid', async () => {
      await rejectsWith(
        b.metrics.getMetricData(
          'us-east-1',
          [requestQuery('q', 'a-stable'), requestQuery('q', 'b-stable')],
          START,
          START + 60_000,
        ),
        'Invalid',
      );
    });

    test('a metric query id that does not start with a lowercase letter is Invalid', async () => {
      await rejectsWith(
        b.metrics.getMetricData('us-east-1', [requestQuery('0q', 'a-stable')], START, START + 60_000),
        'Invalid',
      );
    });
  });
}
