import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { readEnvironment } from '../controller/lambda/environment.ts';
import {
  runInvocation,
  serveTrigger,
  type CarryOverStore,
  type InvocationDependencies,
  type InvocationOptions,
} from '../controller/lambda/invocation.ts';
import {
  embeddedMetricsPublisher,
  emfDocument,
  passMetrics,
  type MetricDatum,
  type MetricsPublisher,
} from '../controller/lambda/metrics.ts';
import { readTrigger, WakeUpNotServed } from '../controller/lambda/trigger.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import { demoDocument, leaseOf, siteView } from './support/world.ts';

const REGIONS = ['us-east-1', 'eu-west-1'];

/** The carry-over kept in memory, counting writes. */
class MemoryCarryOver implements CarryOverStore {
  sites: string[] = [];
  writes = 0;
  async getCarryOver() {
    return [...this.sites];
  }
  async setCarryOver(sites: readonly string[]) {
    this.writes += 1;
    this.sites = [...sites];
  }
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capturingLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

async function seed(sim: SimulatedCloud, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
  const store = new SimulatedCloud({ world: sim.world }).store; // instant, so seeding costs no time
  for (const name of names) {
    const document = demoDocument();
    document.metadata.name = name;
    await store.putSpec(name, document, 0);
  }
  return names;
}

/** Dependencies for one invocation with `budgetMs` before its deadline. */
function invocation(
  sim: SimulatedCloud,
  carryOver: CarryOverStore,
  budgetMs: number,
  extra: Partial<InvocationDependencies> = {},
): InvocationDependencies & { lines: LogLine[]; deadline: number } {
  const { log, lines } = capturingLog();
  const deadline = Date.now() + budgetMs;
  return {
    ports: sim.ports('us-east-1'),
    platform: sim.platform,
    region: 'us-east-1',
    regionOrder: REGIONS,
    carryOver,
    holder: `invocation-${Math.random().toString(16).slice(2)}`,
    clock: Date.now,
    remainingMs: () => deadline - Date.now(),
    log,
    lines,
    deadline,
    ...extra,
  };
}

const SLOW: InvocationOptions = { chunkSize: 5, safetyMarginMs: 200 };

test('with a 2 s deadline and 50 slow sites, the invocation stops before the deadline and reports the sites it did not reach', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS, latencyMs: 20 });
  const names = await seed(sim, 50);
  const carryOver = new MemoryCarryOver();
  const deps = invocation(sim, carryOver, 2_000);

  const result = await runInvocation(deps, SLOW);

  assert.ok(Date.now() < deps.deadline, `finished ${Date.now() - deps.deadline} ms after the deadline`);
  assert.equal(result.outcome, 'partial');
  assert.ok(result.reconciled.length > 0, 'some sites were reconciled');
  assert.ok(result.notReached.length > 0, 'not every site fit');
  assert.deepEqual([...result.reconciled, ...result.notReached].sort(), names);
  assert.equal(result.reconcileIds.length, result.reconciled.length / 5, 'one pass per chunk of 5');
  // Reached sites have a status; the others were not touched at all.
  // The invocation runs on the wall clock, so its statuses are read at that time.
  for (const name of result.reconciled)
    assert.ok(siteView(sim, name, { now: Date.now() }) !== undefined, name);
  for (const name of result.notReached)
    assert.equal(siteView(sim, name, { now: Date.now() }), undefined, name);
  assert.deepEqual(carryOver.sites, result.notReached, 'kept for the next invocation');
  assert.equal(leaseOf(sim)?.holder, undefined, 'the lease is released');
  assert.ok(leaseOf(sim)?.heartbeatAt !== undefined, 'and the heartbeat recorded');

  const summary = deps.lines.find((l) => l.msg.startsWith('some sites not reached'));
  assert.deepEqual(summary?.['notReached'], result.notReached, 'the log names the sites not reached');
  assert.ok(deps.lines.some((l) => l.msg.startsWith('stopping: not enough time left')));
});

test('the next invocation starts with the sites the last one did not reach', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS, latencyMs: 20 });
  await seed(sim, 50);
  const carryOver = new MemoryCarryOver();
  const first = await runInvocation(invocation(sim, carryOver, 2_000), SLOW);
  assert.ok(first.notReached.length > 0);

  const second = await runInvocation(invocation(sim, carryOver, 2_000), SLOW);
  const head = second.reconciled.slice(0, first.notReached.length);
  assert.deepEqual(head, first.notReached.slice(0, head.length), 'left-over sites go first, in order');
  assert.ok(second.reconciled.length > 0);
});

test('a second concurrent invocation exits cleanly, saying another holds the lease', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS, latencyMs: 5 });
  await seed(sim, 3);
  const carryOver = new MemoryCarryOver();
  const a = invocation(sim, carryOver, 10_000);
  const b = invocation(sim, carryOver, 10_000);
  const results = await Promise.all([runInvocation(a, SLOW), runInvocation(b, SLOW)]);

  const skipped = results.filter((r) => r.outcome === 'skipped');
  assert.equal(skipped.length, 1, 'exactly one invocation yields');
  assert.deepEqual(skipped[0]!.reconciled, []);
  assert.equal(results.filter((r) => r.outcome === 'completed').length, 1);
  const skippedLines = results[0]!.outcome === 'skipped' ? a.lines : b.lines;
  assert.ok(
    skippedLines.some((l) => l.msg === 'another reconciler holds the lease; this invocation does nothing'),
  );
  assert.equal(leaseOf(sim)?.holder, undefined, 'the winner released the lease');
});

test('when every site fits the invocation completes, and an empty carry-over is not rewritten', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  const names = await seed(sim, 3);
  const carryOver = new MemoryCarryOver();
  const result = await runInvocation(invocation(sim, carryOver, 60_000), SLOW);
  assert.equal(result.outcome, 'completed');
  assert.deepEqual(result.reconciled, names);
  assert.deepEqual(result.notReached, []);
  assert.equal(carryOver.writes, 0);
});

test('a completed invocation keeps the sites’ dashboard; a partial one leaves it alone', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  const names = await seed(sim, 3);
  await runInvocation(invocation(sim, new MemoryCarryOver(), 60_000), SLOW);
  const body = sim.world.dashboards?.['tandem-sites'];
  assert.ok(body !== undefined, 'written after a pass over every site');
  for (const name of names) assert.ok(body.includes(name), `${name} is on the dashboard`);

  const partial = new SimulatedCloud({ regions: REGIONS, latencyMs: 20 });
  await seed(partial, 50);
  const result = await runInvocation(invocation(partial, new MemoryCarryOver(), 2_000), SLOW);
  assert.equal(result.outcome, 'partial');
  assert.equal(partial.world.dashboards?.['tandem-sites'], undefined);
});

test("with DNS failover, the sites' dashboard graphs each region's Route 53 health check from the platform items", async () => {
  const base = simPlatform(REGIONS);
  const ids = ['abcdef01-2345-6789-abcd-ef0123456789', '01234567-89ab-cdef-0123-456789abcdef'];
  const platform = {
    ...base,
    regions: Object.fromEntries(
      REGIONS.map((region, i) => [region, { ...base.regions[region]!, healthCheckId: ids[i]! }]),
    ),
  };
  const sim = new SimulatedCloud({ regions: REGIONS, platform });
  await seed(sim, 1);
  await runInvocation(invocation(sim, new MemoryCarryOver(), 60_000), SLOW);
  const body = sim.world.dashboards?.['tandem-sites'] ?? '';
  for (const id of ids) assert.ok(body.includes(`"HealthCheckStatus","HealthCheckId","${id}"`), id);
});

test('a carried-over site that was deleted meanwhile is simply dropped', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await seed(sim, 2);
  const carryOver = new MemoryCarryOver();
  carryOver.sites = ['gone', 'site-02'];
  const result = await runInvocation(invocation(sim, carryOver, 60_000), SLOW);
  assert.deepEqual(result.reconciled, ['site-02', 'site-01']);
  assert.deepEqual(carryOver.sites, []);
});

test('a store that cannot be read ends the invocation with an error, not a crash', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await seed(sim, 2);
  sim.failRegion('store', 'Unavailable');
  const deps = invocation(sim, new MemoryCarryOver(), 60_000);
  const result = await runInvocation(deps, SLOW);
  assert.equal(result.outcome, 'failed');
  assert.equal(result.error?.kind, 'Unavailable');
  assert.ok(deps.lines.some((l) => l.msg === 'cannot take the lease; nothing reconciled'));
});

test('each pass publishes its duration, actions, errors and tasks per site and region, and API calls per region', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await seed(sim, 1);
  const published: MetricDatum[] = [];
  const metrics: MetricsPublisher = { publish: async (data) => void published.push(...data) };
  const drainCalls = () => [
    { region: 'us-east-1', count: 4 },
    { region: 'us-east-1', count: 2 },
    { region: 'global', count: 1 },
  ];
  await runInvocation(invocation(sim, new MemoryCarryOver(), 60_000, { metrics, drainCalls }), SLOW);

  const find = (name: string, dimensions: Record<string, string>) =>
    published.find((d) => d.name === name && JSON.stringify(d.dimensions) === JSON.stringify(dimensions));
  assert.equal(find('PassDuration', {})?.unit, 'Milliseconds');
  assert.ok((find('Actions', { Site: 'site-01', Region: 'us-east-1' })?.value ?? 0) > 0);
  assert.equal(typeof find('Actions', { Site: 'site-01', Region: 'global' })?.value, 'number', 'the CDN');
  assert.equal(find('Errors', { Site: 'site-01', Region: 'us-east-1' })?.value, 0);
  assert.equal(find('Tasks', { Site: 'site-01', Region: 'us-east-1' })?.value, 0, 'nothing running yet');
  assert.equal(
    published.find((d) => d.dimensions['Region'] === 'eu-west-1'),
    undefined,
    "a region's reconciler publishes only its own region's metrics",
  );
  assert.equal(find('ApiCalls', { Region: 'us-east-1' })?.value, 6);
  assert.equal(find('SitesNotReached', {})?.value, 0);
  assert.equal(find('FailoverActive', { Site: 'site-01' })?.value, 0, 'the primary serves');
});

test('metrics are written as CloudWatch embedded metric format lines in the tandem namespace', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await seed(sim, 1);
  const { log } = capturingLog();
  const { reconcilePass } = await import('../controller/reconcile/pass.ts');
  const report = await reconcilePass({
    ports: sim.ports(),
    platform: sim.platform,
    region: 'us-east-1',
    log,
  });
  const printed: string[] = [];
  await embeddedMetricsPublisher(
    (line) => printed.push(line),
    () => 1_796_000_000_000,
  ).publish(passMetrics(report, 123));
  const documents = printed.map(
    (line) =>
      JSON.parse(line) as {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
        [key: string]: unknown;
      },
  );
  assert.ok(documents.every((d) => d._aws.CloudWatchMetrics[0]!.Namespace === 'tandem'));
  const perRegion = documents.find((d) => d['Site'] === 'site-01' && d['Region'] === 'us-east-1');
  assert.deepEqual(perRegion?._aws.CloudWatchMetrics[0]!.Dimensions, [['Site', 'Region']]);
  assert.ok(typeof perRegion?.['Actions'] === 'number');
  assert.ok(documents.some((d) => d['PassDuration'] === 123));
});

test('an embedded metric format document has what the format requires: the directive, each dimension and each metric on the root', () => {
  const line = emfDocument(
    [
      { name: 'Actions', value: 2, unit: 'Count', dimensions: { Site: 'demo', Region: 'us-east-1' } },
      { name: 'Errors', value: 0, unit: 'Count', dimensions: { Site: 'demo', Region: 'us-east-1' } },
    ],
    1_796_000_000_000,
  );
  assert.ok(!line.includes('\n'), 'one line');
  assert.deepEqual(JSON.parse(line), {
    _aws: {
      Timestamp: 1_796_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: 'tandem',
          Dimensions: [['Site', 'Region']],
          Metrics: [
            { Name: 'Actions', Unit: 'Count' },
            { Name: 'Errors', Unit: 'Count' },
          ],
        },
      ],
    },
    Site: 'demo',
    Region: 'us-east-1',
    Actions: 2,
    Errors: 0,
  });
  // A metric without dimensions (SitesNotReached, PassDuration) has one empty dimension set.
  const bare = JSON.parse(
    emfDocument([{ name: 'SitesNotReached', value: 0, unit: 'Count', dimensions: {} }], 1),
  ) as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] }; SitesNotReached: number };
  assert.deepEqual(bare._aws.CloudWatchMetrics[0]!.Dimensions, [[]]);
  assert.equal(bare.SitesNotReached, 0);
});

test('a dimension set with more than 100 metrics is written as several documents, each within the format’s limit', async () => {
  const lines: string[] = [];
  const many = Array.from({ length: 250 }, (_, i) => ({
    name: 'Tasks' as const,
    value: i,
    unit: 'Count' as const,
    dimensions: { Site: `s${i}`, Region: 'us-east-1' },
  }));
  await embeddedMetricsPublisher((line) => lines.push(line)).publish(many);
  assert.equal(lines.length, 250, 'one document per dimension set');
  const sameSet = Array.from({ length: 150 }, (_, i) => ({
    name: (['Actions', 'Errors', 'Tasks'] as const)[i % 3]!,
    value: i,
    unit: 'Count' as const,
    dimensions: { Region: 'us-east-1' },
  }));
  const chunked: string[] = [];
  await embeddedMetricsPublisher((line) => chunked.push(line)).publish(sameSet);
  assert.equal(chunked.length, 2);
  for (const line of chunked) {
    const metrics = (JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: unknown[] }[] } })._aws
      .CloudWatchMetrics[0]!.Metrics;
    assert.ok(metrics.length <= 100);
  }
});

test('the environment is validated, every problem named with its variable', () => {
  assert.throws(
    () => readEnvironment({ TANDEM_REGIONS: 'us-east-1,mars-1', TANDEM_CHUNK_SIZE: '0' }),
    (e: Error) => {
      assert.match(e.message, /TANDEM_TABLE is not set/);
      assert.match(e.message, /neither TANDEM_REGION nor AWS_REGION is set/);
      assert.match(e.message, /TANDEM_REGIONS names "mars-1"/);
      assert.match(e.message, /TANDEM_CHUNK_SIZE is "0"/);
      return true;
    },
  );
  assert.deepEqual(
    readEnvironment({
      TANDEM_TABLE: 'tandem',
      AWS_REGION: 'us-east-1',
      TANDEM_REGIONS: ' us-east-1, eu-west-1 ,',
    }),
    {
      tableName: 'tandem',
      region: 'us-east-1',
      regions: ['us-east-1', 'eu-west-1'],
      intervalSeconds: 60,
      chunkSize: 25,
      safetyMarginMs: 10_000,
      logLevel: 'info',
    },
  );
});

test('a reconciler must be told its own region among the regions, and the schedule period is a whole number', () => {
  assert.throws(
    () =>
      readEnvironment({
        TANDEM_TABLE: 'tandem',
        TANDEM_REGION: 'ap-south-1',
        TANDEM_REGIONS: 'us-east-1,eu-west-1',
        TANDEM_INTERVAL_SECONDS: 'often',
      }),
    (e: Error) => {
      assert.match(e.message, /TANDEM_REGIONS \(us-east-1,eu-west-1\) does not name ap-south-1/);
      assert.match(e.message, /TANDEM_INTERVAL_SECONDS is "often"/);
      return true;
    },
  );
  const env = readEnvironment({
    TANDEM_TABLE: 'tandem',
    TANDEM_REGION: 'eu-west-1',
    AWS_REGION: 'us-east-1',
    TANDEM_REGIONS: 'us-east-1,eu-west-1',
  });
  assert.equal(env.region, 'eu-west-1', 'TANDEM_REGION wins over AWS_REGION');
});

test("the failover region's invocation leaves the sites' dashboard to the primary while it reports, and keeps it once the primary is quiet", async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await seed(sim, 2);
  const now = Date.now();
  const primary = invocation(sim, new MemoryCarryOver(), 60_000);
  await runInvocation(primary, SLOW);
  const written = sim.world.dashboards?.['tandem-sites'];
  assert.ok(written !== undefined, 'the primary keeps it');
  delete sim.world.dashboards!['tandem-sites'];

  const failover = (at: number) =>
    invocation(sim, new MemoryCarryOver(), 60_000, {
      ports: sim.ports('eu-west-1'),
      region: 'eu-west-1',
      clock: () => at,
    });
  await runInvocation(failover(now), SLOW);
  assert.equal(sim.world.dashboards?.['tandem-sites'], undefined, 'the failover region leaves it');
  assert.ok(leaseOf(sim, 'eu-west-1')?.heartbeatAt !== undefined, 'but records its own heartbeat');

  // Four minutes on, the primary has not finished a pass for longer than 3 intervals.
  await runInvocation(failover(now + 4 * 60_000), SLOW);
  assert.ok(sim.world.dashboards?.['tandem-sites'] !== undefined, 'the failover region took it over');
});

// ----- woken by the table's stream -----

/** A DynamoDB Streams record for an item of the table, as the event source mapping delivers it. */
function streamRecord(pk: string, sk: string, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'MODIFY') {
  return {
    eventID: `${pk}-${sk}-${Math.random()}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_796_000_000,
      Keys: { pk: { S: pk }, sk: { S: sk } },
      SequenceNumber: '111',
      SizeBytes: 26,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/tandem/stream/2026-12-01T00:00:00.000',
  };
}

/** The canary weight each site's rule in us-east-1 gives its canary target group. */
function canaryWeights(sim: SimulatedCloud): Record<string, number> {
  const world = sim.snapshot() as {
    regions: Record<string, { rules: { forward: { targetGroup?: string; weight: number }[] }[] }>;
  };
  return Object.fromEntries(
    world.regions['us-east-1']!.rules.flatMap((rule) =>
      rule.forward
        .filter((f) => f.targetGroup?.endsWith('-canary'))
        .map((f) => [f.targetGroup!.replace(/-canary$/, ''), f.weight]),
    ),
  );
}

/** Seeds `count` sites and converges them with scheduled invocations; returns their names. */
async function converged(sim: SimulatedCloud, count: number): Promise<string[]> {
  const names = await seed(sim, count);
  for (let i = 0; i < 3; i += 1) await runInvocation(invocation(sim, new MemoryCarryOver(), 30_000));
  return names;
}

async function setCanaryWeight(sim: SimulatedCloud, site: string, weight: number): Promise<void> {
  const spec = (await sim.store.getSpec(site))!;
  const document = structuredClone(spec.document) as ReturnType<typeof demoDocument>;
  document.spec.canary!.weight = weight;
  await sim.store.putSpec(site, document, spec.generation);
}

test('a stream batch of spec changes runs a pass for exactly those sites', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  const names = await converged(sim, 5);
  for (const name of names) await setCanaryWeight(sim, name, 50);
  const carryOver = new MemoryCarryOver();
  const deps = invocation(sim, carryOver, 30_000);
  const batch = {
    Records: [
      streamRecord('spec', 'site-02'),
      streamRecord('spec', 'site-04', 'INSERT'),
      streamRecord('spec', 'site-02'),
    ],
  };
  const result = await serveTrigger(readTrigger(batch), deps);

  assert.equal(result.outcome, 'completed');
  assert.deepEqual(result.reconciled, ['site-02', 'site-04']);
  assert.deepEqual(canaryWeights(sim), {
    'site-01': 15,
    'site-02': 50,
    'site-03': 15,
    'site-04': 50,
    'site-05': 15,
  });
  assert.equal(carryOver.writes, 0, 'the carry-over is the scheduled invocation’s');
  assert.ok(deps.lines.some((l) => l.msg === 'every edited site reconciled'));
  assert.equal(leaseOf(sim)?.holder, undefined, 'the lease is released');
});

test('a stream batch arriving while the lease is held runs no pass and throws for a retry; the retry applies the edit', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await converged(sim, 3);
  await setCanaryWeight(sim, 'site-01', 50);
  // A scheduled invocation is in the middle of its pass.
  assert.equal(await sim.ports('us-east-1').store.acquireLease('scheduled', 60, Date.now()), true);
  sim.resetCalls();
  const batch = { Records: [streamRecord('spec', 'site-01')] };

  await assert.rejects(
    serveTrigger(readTrigger(batch), invocation(sim, new MemoryCarryOver(), 30_000)),
    (e) => e instanceof WakeUpNotServed && /site-01/.test(e.message) && /lease/.test(e.message),
  );
  assert.equal(sim.cloudWrites().length, 0, 'no second pass acted');
  assert.equal(canaryWeights(sim)['site-01'], 15);
  assert.equal(leaseOf(sim)?.holder, 'scheduled', 'the holder keeps its lease');

  // The scheduled invocation ends; the event source mapping retries the batch.
  await sim.ports('us-east-1').store.releaseLease('scheduled', Date.now());
  const retried = await serveTrigger(readTrigger(batch), invocation(sim, new MemoryCarryOver(), 30_000));
  assert.deepEqual(retried.reconciled, ['site-01']);
  assert.equal(canaryWeights(sim)['site-01'], 50);
});

test('a stream batch whose retries ran out loses nothing: the next scheduled pass applies the edit', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await converged(sim, 2);
  await setCanaryWeight(sim, 'site-02', 40);
  await sim.ports('us-east-1').store.acquireLease('stuck', 60, Date.now());
  const batch = { Records: [streamRecord('spec', 'site-02')] };
  for (let attempt = 0; attempt < 3; attempt += 1)
    await assert.rejects(
      serveTrigger(readTrigger(batch), invocation(sim, new MemoryCarryOver(), 30_000)),
      WakeUpNotServed,
    );
  await sim.ports('us-east-1').store.releaseLease('stuck', Date.now());
  const scheduled = await serveTrigger(
    readTrigger({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
    invocation(sim, new MemoryCarryOver(), 30_000),
  );
  assert.deepEqual(scheduled.reconciled, ['site-01', 'site-02']);
  assert.equal(canaryWeights(sim)['site-02'], 40);
});

test('a stream record for a status, lease, edit or platform item does nothing: no lease, no pass', async () => {
  const sim = new SimulatedCloud({ regions: REGIONS });
  await converged(sim, 2);
  await setCanaryWeight(sim, 'site-01', 50);
  const before = leaseOf(sim);
  sim.resetCalls();
  const batch = {
    Records: [
      streamRecord('status', 'site-01#us-east-1'),
      streamRecord('lease', 'us-east-1'),
      streamRecord('edit', 'site-01#us-east-1'),
      streamRecord('platform', 'us-east-1', 'INSERT'),
    ],
  };
  const trigger = readTrigger(batch);
  assert.deepEqual(trigger, { kind: 'stream', sites: [], ignored: 4, unreadable: [] });
  const result = await serveTrigger(trigger, invocation(sim, new MemoryCarryOver(), 30_000));
  assert.deepEqual(result.reconciled, []);
  assert.deepEqual(sim.callCounts(), { reads: 0, writes: 0, throttled: 0 });
  assert.deepEqual(leaseOf(sim), before, 'the lease was not even taken');
  assert.equal(canaryWeights(sim)['site-01'], 15, 'the edit waits for its own record or the schedule');
});

test('a stream record that cannot be read is named with its path and skipped; the rest of the batch is served', () => {
  const trigger = readTrigger({
    Records: [
      streamRecord('spec', 'alpha'),
      { eventSource: 'aws:dynamodb', eventName: 'MODIFY', dynamodb: { Keys: { pk: { N: '1' } } } },
      { ...streamRecord('spec', 'beta'), eventSource: 'aws:sqs' },
    ],
  });
  assert.equal(trigger.kind, 'stream');
  if (trigger.kind !== 'stream') return;
  assert.deepEqual(trigger.sites, ['alpha']);
  assert.equal(trigger.unreadable.length, 2);
  assert.match(trigger.unreadable[0]!, /^Records\[1\]\.dynamodb\.Keys\.pk/);
  assert.match(trigger.unreadable[1]!, /^Records\[2\]\.eventSource/);
  assert.deepEqual(readTrigger({}), { kind: 'schedule' });
  assert.deepEqual(readTrigger(null), { kind: 'schedule' });
});
