import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_SCENARIO,
  regionOfOrigin,
  requestCost,
  runHangScenario,
  type HangScenario,
} from '../bench/hang.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import type { DistributionConfig, Origin } from '../controller/ports/cdn.ts';
import { SimulatedCloud } from '../controller/providers/sim/cloud.ts';

function origin(id: string, domainName: string): Origin {
  return {
    id,
    domainName,
    protocol: 'http-only',
    connectionTimeoutSeconds: 2,
    connectionAttempts: 1,
    responseTimeoutSeconds: 10,
    customHeaders: {},
  };
}

function config(first: string, second: string): DistributionConfig {
  return {
    comment: 'test',
    enabled: true,
    aliases: [],
    priceClass: 'PriceClass_100',
    origins: [origin('a', 'a.example'), origin('b', 'b.example')],
    originGroup: { id: 'group', primaryOriginId: first, failoverOriginId: second, statusCodes: [503] },
    targetOriginId: 'group',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 60,
  };
}

test('the simulated CloudFront deploys a change at the next tick by default, or after cdnDeployTicks; the edges keep the last Deployed config until then', async () => {
  const quick = new SimulatedCloud();
  const made = await quick.cdn.createDistribution(config('a', 'b'), {});
  assert.equal(quick.edgeConfig(made.id), undefined, 'nothing at the edges before the first deploy');
  quick.tick();
  assert.equal(quick.world.distributions[made.id]!.status, 'Deployed');
  assert.equal(quick.edgeConfig(made.id)?.originGroup?.primaryOriginId, 'a');

  const slow = new SimulatedCloud({ cdnDeployTicks: 3 });
  const d = await slow.cdn.createDistribution(config('a', 'b'), {});
  slow.tick();
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'InProgress', 'two ticks: still deploying');
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'Deployed');
  const { etag } = await slow.cdn.getDistributionConfig(d.id);
  await slow.cdn.updateDistribution(d.id, config('b', 'a'), etag);
  slow.tick();
  slow.tick();
  assert.equal(slow.world.distributions[d.id]!.status, 'InProgress');
  assert.equal(slow.edgeConfig(d.id)?.originGroup?.primaryOriginId, 'a', 'the edges keep the old order');
  slow.tick();
  assert.equal(slow.edgeConfig(d.id)?.originGroup?.primaryOriginId, 'b');
});

test("a request's cost: each origin reached at a failed region pays its timeout, the first healthy one answers", () => {
  const [a, b] = [origin('a', 'a.example'), origin('b', 'b.example')];
  const region = (o: Origin) => (o.id === 'a' ? 'P' : 'F');
  const failed = (r: string) => r === 'P';
  assert.deepEqual(requestCost([a, b], region, failed, 'blackhole', 0.1), {
    latencySeconds: 2.1,
    answeredBy: 'F',
  });
  assert.deepEqual(requestCost([a, b], region, failed, 'hang', 0.1), {
    latencySeconds: 10.1,
    answeredBy: 'F',
  });
  assert.deepEqual(requestCost([b, a], region, failed, 'hang', 0.1), {
    latencySeconds: 0.1,
    answeredBy: 'F',
  });
  // Both names resolving to the failed region (DNS still answering it): every attempt waits, then a 504.
  assert.deepEqual(
    requestCost([a, b], () => 'P', failed, 'blackhole', 0.1),
    { latencySeconds: 4, answeredBy: undefined },
  );
  const attempts = { ...a, connectionAttempts: 3 };
  // An origin is its region's whether it carries the load balancer's name or the region's failover name.
  const platform = simPlatform(['us-east-1', 'eu-west-1']);
  assert.equal(regionOfOrigin(platform, origin('x', 'tandem-eu-west-1.elb.sim')), 'eu-west-1');
  assert.equal(regionOfOrigin(platform, origin('x', 'us-east-1.failover.example.com')), 'us-east-1');
  assert.equal(requestCost([attempts, b], region, failed, 'blackhole', 0).latencySeconds, 6);
});

/**
 * Two minutes of outage at 6 requests a second (one resolver each, refreshing
 * every 60 s at seconds 0, 10, …, 50 of the minute), the fault at a whole
 * minute. Route 53's checks start at second 1 of each 10: those at +1, +11 and
 * +21 fail, known after the 4 s connect timeout (blackhole) or the 2 s answer
 * timeout (hang), so the primary is unhealthy from +25 (+23). A resolver
 * refreshing at +0, +10 or +20 keeps the primary's answer until +60, +70, +80;
 * one at +30, +40 or +50 held the answer fetched before the fault until then:
 * 60 + 70 + 80 + 30 + 40 + 50 = 330 requests reach the hanging primary, of 720.
 * CloudFront's API is down throughout, so the origin order cannot help.
 */
test('hand-computed: a two-minute outage with DNS failover alone and with neither', async () => {
  const scenario = (mode: HangScenario['mode'], dnsFailover: boolean): HangScenario => ({
    ...DEFAULT_SCENARIO,
    mode,
    dnsFailover,
    cdnApiDown: true,
    outageMinutes: 2,
    afterMinutes: 2,
    requestsPerSecond: 6,
    checkPhaseSeconds: 1,
  });
  const cases: [HangScenario, number, number, number | undefined][] = [
    // scenario, viewer-seconds lost, requests slower than 3 s, seconds until Route 53 moved the answer
    [scenario('blackhole', false), 720 * 2, 0, undefined],
    [scenario('blackhole', true), 330 * 2, 0, 25],
    [scenario('hang', false), 720 * 10, 720, undefined],
    [scenario('hang', true), 330 * 10, 330, 23],
  ];
  for (const [s, lost, slow, moved] of cases) {
    const result = await runHangScenario(s);
    const what = `${s.mode}, DNS ${s.dnsFailover ? 'on' : 'off'}`;
    assert.equal(result.outageRequests, 720, what);
    assert.ok(Math.abs(result.lostViewerSeconds - lost) < 1e-6, `${what}: lost ${result.lostViewerSeconds}`);
    assert.equal(result.slowRequests, slow, what);
    assert.equal(result.failedRequests, 0, what);
    assert.equal(result.dnsSwitchedAfterSeconds, moved, what);
    assert.equal(result.edgeOrderChanges, 0, `${what}: CloudFront's API is down`);
  }
});

test('the origin order alone cannot help an outage shorter than its detection and CloudFront deploy', async () => {
  const result = await runHangScenario({
    ...DEFAULT_SCENARIO,
    mode: 'blackhole',
    dnsFailover: false,
    cdnApiDown: false,
    outageMinutes: 2,
    afterMinutes: 2,
    requestsPerSecond: 6,
  });
  assert.ok(Math.abs(result.lostViewerSeconds - 720 * 2) < 1e-6, `lost ${result.lostViewerSeconds}`);
  assert.equal(result.edgesReorderedAfterMinutes, undefined);
});
