import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoad, type LoadResult } from '../controller/cli/load.ts';
import type { RegionFault } from '../controller/providers/local/types.ts';
import { failoverOriginName } from '../controller/model/dns-failover.ts';
import { LOCAL_DNS_FAILOVER, LOCAL_DOMAIN } from '../controller/providers/local/cloud.ts';
import { startDemoCloud, status, waitFor } from './support/local-cloud.ts';

/**
 * The ways a region fails, on real processes: 50 requests a second through the CDN, every one a
 * cache miss; the primary fails in each mode for 8 s and heals. The CDN honours the spec's
 * connection timeout, attempts and response timeout, so the cost of each mode per request, until
 * DNS failover moves the primary's name (a few seconds of health checks and a 5 s TTL here) or the
 * holder asks the failover region first (a pass or two), is what the spec's defaults make it
 * (README, "When a region hangs"). Each mechanism is also shown alone: DNS failover with
 * CloudFront's API unreachable for the whole outage, the origin order on a platform without a domain.
 */

const RPS = 50;
const FAIL_AT = 3_000;
const HEAL_AT = 11_000;
const LOAD_SECONDS = 15;
const SLOW_MS = 3_000;

interface Second {
  second: number;
  requests: number;
  failed: number;
  p50: number;
  p95: number;
  max: number;
  slow: number;
}

function perSecond(results: readonly LoadResult[]): Second[] {
  const bySecond = new Map<number, LoadResult[]>();
  for (const r of results) {
    const second = Math.floor(r.sentAtMs / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), r]);
  }
  return [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, rs]) => {
      const sorted = rs.map((r) => r.latencyMs).sort((a, b) => a - b);
      const at = (q: number) =>
        Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
      return {
        second,
        requests: rs.length,
        failed: rs.filter((r) => !(typeof r.outcome === 'number' && r.outcome < 400)).length,
        p50: at(0.5),
        p95: at(0.95),
        max: Math.round(sorted.at(-1)!),
        slow: rs.filter((r) => r.latencyMs > SLOW_MS).length,
      };
    });
}

function table(mode: RegionFault, seconds: readonly Second[]): string {
  const rows = seconds.map((s) =>
    [s.second, s.requests, s.failed, s.p50, s.p95, s.max, s.slow].map((v) => String(v).padStart(7)).join(''),
  );
  const head = ['sent at s', 'reqs', 'failed', 'p50 ms', 'p95 ms', 'max ms', '>3 s']
    .map((h) => h.padStart(7))
    .join('');
  return [`primary failed as ${mode} from ${FAIL_AT / 1000} s to ${HEAL_AT / 1000} s`, head, ...rows].join(
    '\n',
  );
}

for (const mode of ['errors', 'refuse', 'blackhole', 'hang'] as const) {
  // A cloud of its own for each mode: once the holder has moved the primary second, it returns it
  // only after a healthy window that doubles with each move, so the modes cannot share one.
  test(`a primary that fails as ${mode}: every request is answered, at the cost the CDN timeouts set until tandem acts`, async () => {
    const { cloud, spec, stop } = await startDemoCloud({ intervalSeconds: 5, periodSeconds: 5 });
    try {
      const { connectionTimeoutSeconds, connectionAttempts, responseTimeoutSeconds } = spec.spec.cdn;
      const connectCostMs = connectionTimeoutSeconds * connectionAttempts * 1000;

      const results: LoadResult[] = [];
      const t0 = Date.now();
      const load = runLoad({
        url: cloud.endpoints!.cdn,
        rps: RPS,
        durationSeconds: LOAD_SECONDS,
        timeoutMs: (responseTimeoutSeconds + 10) * 1000,
        onResult: (r) => results.push(r),
      });
      await sleep(FAIL_AT - (Date.now() - t0));
      cloud.failRegion('us-east-1', mode);
      await sleep(HEAL_AT - (Date.now() - t0));
      cloud.healRegion('us-east-1');
      const summary = await load;

      const during = results.filter((r) => r.sentAtMs >= FAIL_AT + 500 && r.sentAtMs < HEAL_AT - 500);
      const slowShare = during.filter((r) => r.latencyMs > SLOW_MS).length / during.length;
      console.log(
        `${table(mode, perSecond(results))}\n${mode}: ${summary.ok}/${summary.sent} ok (${summary.successPercent.toFixed(2)} %), ` +
          `${(slowShare * 100).toFixed(1)} % of requests sent during the outage slower than 3 s\n`,
      );

      assert.ok(
        summary.successPercent >= 99.9,
        `${mode}: ${summary.successPercent} % ok (${JSON.stringify(summary.statuses)})`,
      );
      const slowest = Math.max(...during.map((r) => r.latencyMs));
      if (mode === 'errors' || mode === 'refuse') {
        // Told no at once: the CDN asks the failover region without waiting.
        assert.ok(slowShare <= 0.001, `${mode}: ${slowShare} slower than 3 s`);
      } else if (mode === 'blackhole') {
        // Nothing answers: each request waits out its connection attempts, then fails over.
        assert.ok(
          slowest >= connectCostMs - 100,
          `blackhole: slowest ${slowest} ms, attempts cost ${connectCostMs} ms`,
        );
        assert.ok(slowest < connectCostMs + 2_000, `blackhole: slowest ${slowest} ms`);
        assert.ok(
          slowShare <= 0.01,
          `blackhole: ${slowShare} slower than 3 s with ${connectCostMs} ms of attempts`,
        );
      } else {
        // Connected, never answered: each request waits out the spec's response timeout, not CloudFront's 30 s.
        assert.ok(slowest >= responseTimeoutSeconds * 1000 - 100, `hang: slowest ${slowest} ms`);
        assert.ok(slowest < responseTimeoutSeconds * 1000 + 2_000, `hang: slowest ${slowest} ms`);
      }
    } finally {
      await stop();
    }
  });
}

test('a hanging primary without DNS failover: once the holder asks the failover region first, requests are as fast as before the outage', async () => {
  // No domain: the origin order alone, as on a platform without one.
  const { cloud, stop } = await startDemoCloud({ intervalSeconds: 5, periodSeconds: 5, dnsFailover: false });
  try {
    const first = () => Object.values(cloud.sim.world.distributions)[0]?.config.originGroup?.primaryOriginId;
    assert.equal(first(), 'us-east-1');

    const results: LoadResult[] = [];
    const t0 = Date.now();
    const load = runLoad({
      url: cloud.endpoints!.cdn,
      rps: RPS,
      durationSeconds: 60,
      timeoutMs: 30_000,
      onResult: (r) => results.push(r),
    });
    await sleep(5_000 - (Date.now() - t0));
    cloud.failRegion('us-east-1', 'hang');
    const reordered = await waitFor(
      'the failover region to be asked first',
      () => (first() === 'eu-west-1' ? Date.now() - t0 : undefined),
      50_000,
    );
    const summary = await load;
    cloud.healRegion('us-east-1');

    const healthy = p95(results.filter((r) => r.sentAtMs < 5_000));
    const after = results.filter((r) => r.sentAtMs >= reordered.value + 1_000);
    console.log(
      `${table('hang', perSecond(results))}\nhang, then the origin group reordered at ${(reordered.value / 1000).toFixed(1)} s: ` +
        `p95 ${Math.round(p95(after))} ms after it against ${Math.round(healthy)} ms before the outage; ` +
        `${summary.ok}/${summary.sent} ok (${summary.successPercent.toFixed(2)} %)\n`,
    );
    assert.ok(summary.successPercent >= 99.9, `${summary.successPercent} % ok`);
    assert.ok(after.length >= 500, `${after.length} requests after the reorder`);
    // Within 2× the healthy p95; a floor of 100 ms for a few ms of scheduling jitter on a shared machine.
    assert.ok(
      p95(after) <= Math.max(2 * healthy, 100),
      `p95 ${p95(after)} ms after the reorder, ${healthy} ms before`,
    );
  } finally {
    await stop();
  }
});

for (const mode of ['blackhole', 'hang'] as const) {
  test(`a primary that fails as ${mode} while CloudFront's API is unreachable: DNS failover alone brings latency back`, async () => {
    // The failover region keeps the primary's demand ready (scaling.standbyPercent), so what is
    // measured after the move is the path, not tasks starting on this 2-core machine.
    const { cloud, stop } = await startDemoCloud({ intervalSeconds: 5, periodSeconds: 5 }, (spec) => {
      spec.spec.scaling['standbyPercent'] = 100;
    });
    try {
      const distribution = () => Object.values(cloud.sim.world.distributions)[0];
      const primaryName = failoverOriginName('us-east-1', LOCAL_DOMAIN);
      // The origins connect through the failover names, and the status says so.
      assert.deepEqual(
        distribution()?.config.origins.map((o) => o.domainName),
        [primaryName, failoverOriginName('eu-west-1', LOCAL_DOMAIN)],
      );
      assert.equal((await status(cloud, 'demo'))?.cdn.dnsFailover, true);
      const primaryBalancer = cloud.dnsState()!.answers[primaryName]!;

      const results: LoadResult[] = [];
      const t0 = Date.now();
      const load = runLoad({
        url: cloud.endpoints!.cdn,
        rps: RPS,
        durationSeconds: 30,
        timeoutMs: 30_000,
        onResult: (r) => results.push(r),
      });
      await sleep(5_000 - (Date.now() - t0));
      // CloudFront's control plane is in us-east-1: lose it with the region, and for the whole outage.
      cloud.setCdnApi(false);
      const before = structuredClone(distribution()!.config);
      cloud.failRegion('us-east-1', mode);
      const moved = await waitFor(
        'the primary failover name to answer the other region',
        () => (cloud.dnsState()!.answers[primaryName] !== primaryBalancer ? Date.now() - t0 : undefined),
        20_000,
      );
      // The dashboard page's view: us-east-1's check fails and its name answers eu-west-1.
      assert.deepEqual(cloud.dnsAnswers()?.['us-east-1'], { healthy: false, answers: 'eu-west-1' });
      // Answers handed out before the move are kept for the TTL; after it every resolver has the new one.
      const acted = moved.value + LOCAL_DNS_FAILOVER.ttlSeconds * 1000;
      const summary = await load;
      cloud.healRegion('us-east-1');
      cloud.setCdnApi(true);

      const healthy = p95(results.filter((r) => r.sentAtMs < 5_000));
      const during = results.filter((r) => r.sentAtMs >= 5_000);
      const slowShare = during.filter((r) => r.latencyMs > SLOW_MS).length / during.length;
      const after = results.filter((r) => r.sentAtMs >= acted + 500);
      console.log(
        `${table(mode, perSecond(results))}\n${mode} with CloudFront's API unreachable: the primary's name moved at ` +
          `${(moved.value / 1000).toFixed(1)} s, every answer by ${(acted / 1000).toFixed(1)} s; p95 ${Math.round(p95(after))} ms after ` +
          `against ${Math.round(healthy)} ms before the outage; ${(slowShare * 100).toFixed(1)} % of requests from the failure on slower than 3 s; ` +
          `${summary.ok}/${summary.sent} ok (${summary.successPercent.toFixed(2)} %)\n`,
      );
      assert.ok(summary.successPercent >= 99.9, `${summary.successPercent} % ok`);
      // Nothing reached CloudFront's API: the distribution is as it was, so DNS did it alone.
      assert.deepEqual(distribution()!.config, before);
      assert.ok(after.length >= 400, `${after.length} requests after DNS failover acted`);
      // Within 2× the healthy p95; a floor of 100 ms for a few ms of scheduling jitter on a shared machine.
      assert.ok(
        p95(after) <= Math.max(2 * healthy, 100),
        `p95 ${p95(after)} ms after DNS failover, ${healthy} ms before`,
      );
    } finally {
      await stop();
    }
  });
}

function p95(results: readonly LoadResult[]): number {
  const sorted = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  return sorted[Math.floor(0.95 * (sorted.length - 1))]!;
}
