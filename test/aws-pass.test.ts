/**
 * Whole reconcile passes through the AWS adapters (controller/providers/aws),
 * over the stateful SDK fakes (ECS, ELBv2, CloudFront, CloudWatch) and the
 * DynamoDB store on dynalite: the platform read from its items, two sites
 * (one with a canary) in two regions converge, and the next pass makes no
 * write at all but each region's lease.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { heartbeatsByRegion } from '../controller/decide/ownership.ts';
import type { RegionPlatform } from '../controller/model/platform.ts';
import { AwsClients, awsPorts, DynamoSpecStore } from '../controller/providers/aws/index.ts';
import { loadPlatform } from '../controller/providers/aws/platform.ts';
import { ensureSpecTable } from '../controller/providers/local/store.ts';
import { reconcileRound } from '../controller/reconcile/round.ts';
import type { PassReport } from '../controller/reconcile/pass.ts';
import { siteViews, type SiteView } from '../controller/reconcile/view.ts';
import { FakeCloudFront } from './support/aws-fake/cloudfront.ts';
import { FakeCloudWatch } from './support/aws-fake/cloudwatch.ts';
import { FakeEcs } from './support/aws-fake/ecs.ts';
import { FakeElbv2 } from './support/aws-fake/elbv2.ts';
import { demoDocument, T0, TICK_MS } from './support/world.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, number>) => Server;

const ACCOUNT = '123456789012';
const TABLE = 'tandem';
const REGIONS: readonly string[] = ['us-east-1', 'eu-west-1'];
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:tandem/origin-AbCdEf`;
const SECRET = 'origin-secret-value';

/** A region's platform item as its bootstrap stack writes it. */
function regionPlatform(region: string): RegionPlatform {
  const elb = `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}`;
  return {
    region,
    cluster: 'tandem',
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    loadBalancerDnsName: `tandem-1234567890.${region}.elb.amazonaws.com`,
    listenerArn: `${elb}:listener/app/tandem/0123456789abcdef/fedcba9876543210`,
    vpcId: 'vpc-0a1b2c',
    subnets: ['subnet-1', 'subnet-2'],
    securityGroups: ['sg-1'],
    assignPublicIp: true,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-execution`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-task`,
    logGroup: `/tandem/${region}`,
  };
}

function platformItem(sk: string, document: unknown): Record<string, AttributeValue> {
  return {
    pk: { S: 'platform' },
    sk: { S: sk },
    document: { S: JSON.stringify(document) },
    updatedAt: { S: new Date(T0).toISOString() },
  };
}

/** Every command a DynamoDB client sent: its name and the partition it wrote, if any. */
interface TableCall {
  region: string;
  command: string;
  partition?: string;
}

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const tableCalls: TableCall[] = [];
/** One client per region's replica (dynalite holds one table: a global table whose replication is instant). */
const dynamo = new Map<string, DynamoDBClient>();

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  for (const region of REGIONS) {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as {
          Key?: Record<string, AttributeValue>;
          Item?: Record<string, AttributeValue>;
        };
        const partition = (input.Key ?? input.Item)?.['pk']?.S;
        tableCalls.push({
          region,
          command: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
          ...(partition === undefined ? {} : { partition }),
        });
        return next(args);
      },
      { step: 'initialize', name: 'tableCallRecorder' },
    );
    dynamo.set(region, client);
  }
});

after(async () => {
  for (const client of dynamo.values()) client.destroy();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

/** A read by its name, as AWS names them; everything else changes something. */
const READ = /^(Describe|List|Get|Query|Scan|BatchGet)/;

test('passes through the AWS adapters over the SDK fakes converge two sites in two regions, and the next passes make zero writes and report Ready', async () => {
  const platforms = Object.fromEntries(REGIONS.map((r) => [r, regionPlatform(r)]));
  const elb = new FakeElbv2({
    listeners: REGIONS.map((region) => ({
      region,
      listenerArn: platforms[region]!.listenerArn,
      loadBalancerArn: platforms[region]!.loadBalancerArn,
    })),
  });
  const ecs = new FakeEcs({
    clusters: Object.fromEntries(REGIONS.map((r) => [r, ['tandem']])),
    targetGroupStatus: (region, arn) => elb.targetGroupStatus(region, arn),
  });
  const cloudfront = new FakeCloudFront();
  const cloudwatch = new FakeCloudWatch();
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN, SecretString: SECRET });
  try {
    // The bootstrap's items: the settings and both regions' platform items.
    const east = dynamo.get('us-east-1')!;
    await ensureSpecTable(east, TABLE);
    await east.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: platformItem('settings', {
          originHeaderName: 'X-Tandem-Origin',
          originProtocol: 'http-only',
          originSecretArn: SECRET_ARN,
        }),
      }),
    );
    for (const region of REGIONS)
      await east.send(
        new PutItemCommand({ TableName: TABLE, Item: platformItem(region, platforms[region]) }),
      );
    const tables = { dynamodb: (region: string) => dynamo.get(region)! };
    const problems: string[] = [];
    const platform = await loadPlatform({
      clients: tables,
      tableName: TABLE,
      region: 'us-east-1',
      regions: REGIONS,
      secret: 'sdk',
      onRegionProblem: (region, error) => problems.push(`${region}: ${error.message}`),
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(Object.keys(platform.regions).sort(), [...REGIONS].sort());

    // The sites: demo with its canary at 15 %, blog without one.
    const stores = new Map(REGIONS.map((r) => [r, new DynamoSpecStore(dynamo.get(r)!, TABLE, r)]));
    const demo = demoDocument();
    const blog = demoDocument();
    blog.metadata.name = 'blog';
    delete blog.spec.canary;
    blog.spec.regions = [
      { name: 'us-east-1', role: 'primary', minTasks: 2, maxTasks: 6 },
      { name: 'eu-west-1', role: 'failover', minTasks: 1, maxTasks: 6 },
    ] as typeof blog.spec.regions;
    await stores.get('us-east-1')!.putSpec('demo', demo, 0);
    await stores.get('us-east-1')!.putSpec('blog', blog, 0);

    // Each region's reconciler with the Lambda's ports, on one set of SDK clients.
    const clients = new AwsClients({ maxAttempts: 1 });
    const portsOf = (region: string) =>
      awsPorts({ clients, tableName: TABLE, region, store: stores.get(region)! });
    let now = T0;
    const round = async (): Promise<PassReport[]> => {
      const reports = await reconcileRound({ portsOf, platform, now: () => new Date(now) });
      assert.deepEqual(
        reports.map((r) => r.region),
        [...REGIONS],
        'every region’s reconciler ran its pass',
      );
      return reports;
    };
    /** A minute passes: ECS finishes its rollouts and CloudFront deploys its changes. */
    const minute = () => {
      ecs.tick();
      cloudfront.deploy();
      now += TICK_MS;
    };
    const planned = (reports: PassReport[]) =>
      reports.flatMap((r) =>
        r.sites.flatMap((s) => (s.plan?.actions ?? []).map((a) => `${r.region} ${a.kind}`)),
      );

    /**
     * CloudWatch's datapoints for every target group and service, a minute
     * apart for the test's hour, as ALB and ECS publish them: each group
     * serves 600 requests a minute (blog's in us-east-1, 1800: three tasks'
     * worth at 600 a task, one above its minTasks), no 5xx, a p95 of 80 ms,
     * healthy targets and 20 % CPU.
     */
    const serveTraffic = () => {
      const minutes = Array.from({ length: 70 }, (_, i) => T0 - 10 * TICK_MS + i * TICK_MS);
      for (const region of REGIONS)
        for (const service of ecs.services(region)) {
          const name = service.serviceName;
          const arn = service.loadBalancers?.[0]?.targetGroupArn ?? '';
          // CloudWatch's dimensions are the ARNs' resource parts: targetgroup/<name>/<id>, app/<name>/<id>.
          const dimensions = {
            TargetGroup: arn.slice(arn.indexOf(':targetgroup/') + 1),
            LoadBalancer: platforms[region]!.loadBalancerArn.split(':loadbalancer/')[1]!,
          };
          const requests = name === 'blog-stable' && region === 'us-east-1' ? 1800 : 600;
          const alb = (metric: string, stat: string, value: number) =>
            cloudwatch.putData(
              region,
              { namespace: 'AWS/ApplicationELB', metric, dimensions, stat },
              minutes.map((timestamp) => ({ timestamp, value })),
            );
          alb('RequestCount', 'Sum', requests);
          alb('HTTPCode_Target_5XX_Count', 'Sum', 0);
          alb('HealthyHostCount', 'Average', 1);
          alb('TargetResponseTime', 'p95', 0.08);
          cloudwatch.putData(
            region,
            {
              namespace: 'AWS/ECS',
              metric: 'CPUUtilization',
              dimensions: { ClusterName: 'tandem', ServiceName: name },
              stat: 'Average',
            },
            minutes.map((timestamp) => ({ timestamp, value: 20 })),
          );
        }
    };

    let passes = 0;
    for (; passes < 8; passes += 1) {
      const reports = await round();
      if (passes === 0) serveTraffic();
      minute();
      if (passes > 0 && planned(reports).length === 0) break;
    }
    assert.ok(passes < 8, 'converged within 8 passes');
    // The world holds what the specs ask for.
    for (const region of REGIONS) {
      const services = ecs.services(region).filter((s) => s.status === 'ACTIVE');
      const counts = Object.fromEntries(services.map((s) => [s.serviceName, s.desiredCount]));
      // demo: 3 tasks at 15 % are 2 stable and 1 canary; blog has no canary, and 1800 / 600 tasks in us-east-1.
      assert.deepEqual(
        counts,
        { 'demo-stable': 2, 'demo-canary': 1, 'blog-stable': region === 'us-east-1' ? 3 : 1 },
        region,
      );
    }
    assert.equal(cloudfront.distributions.size, 2, 'a distribution per site');

    // The next passes, a minute apart: reads only, but for each region's lease, and Ready.
    const mocks = [ecs.mock, elb.mock, cloudfront.mock, cloudwatch.mock];
    for (let steady = 0; steady < 3; steady += 1) {
      const at = `steady pass ${steady + 1}`;
      const cloudBefore = mocks.map((mock) => mock.calls().length);
      const tableBefore = tableCalls.length;
      const reports = await round();
      // Every command the fakes received during the pass, by its name.
      const cloud = mocks.flatMap((mock, i) =>
        mock
          .calls()
          .slice(cloudBefore[i])
          .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, '')),
      );
      const table = tableCalls.slice(tableBefore);
      assert.deepEqual(
        cloud.filter((c) => !READ.test(c)),
        [],
        `${at}: no write to ECS, ELB, CloudFront or CloudWatch`,
      );
      assert.ok(cloud.includes('GetMetricData'), `${at}: the pass read the cloud, metrics included`);
      assert.deepEqual(
        table.filter((c) => !READ.test(c.command) && c.partition !== 'lease'),
        [],
        `${at}: no table write but the leases`,
      );
      // Each region's reconciler takes its lease and releases it, recording its heartbeat.
      assert.deepEqual(
        table.filter((c) => !READ.test(c.command)).map((c) => `${c.region} ${c.command} ${c.partition}`),
        REGIONS.flatMap((r) => [`${r} UpdateItem lease`, `${r} UpdateItem lease`]),
        at,
      );
      assert.deepEqual(planned(reports), [], at);
      assert.equal(
        reports.reduce((n, r) => n + r.statusWrites, 0),
        0,
        `${at}: no status write`,
      );

      // Its status, as `tandem describe` reads it from the table: Ready.
      const store = stores.get('us-east-1')!;
      const [statuses, heartbeats] = await Promise.all([store.listStatuses(), store.listHeartbeats()]);
      const views: Map<string, SiteView> = siteViews(statuses, {
        heartbeats: heartbeatsByRegion(heartbeats),
        now,
        intervalMs: TICK_MS,
      });
      for (const site of ['demo', 'blog']) {
        const view = views.get(site);
        assert.equal(
          view?.conditions.Ready?.status,
          'True',
          `${at}: ${site}: ${JSON.stringify(view?.conditions)}`,
        );
        assert.deepEqual(view?.errors, [], `${at}: ${site}: no error`);
      }
      minute();
    }
  } finally {
    for (const fake of [ecs, elb, cloudfront, cloudwatch]) fake.restore();
    secrets.restore();
  }
});
