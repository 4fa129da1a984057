import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  failoverAnswer,
  failoverOriginName,
  HealthCheckState,
  isFailoverOriginName,
  ROUTE53_FAILOVER,
  worstCaseFailoverSeconds,
  type DnsFailoverTiming,
} from '../controller/model/dns-failover.ts';
import { LocalDns } from '../controller/providers/local/dns.ts';

const TIMING: DnsFailoverTiming = {
  intervalSeconds: 10,
  failureThreshold: 3,
  ttlSeconds: 60,
  connectTimeoutSeconds: 4,
  answerTimeoutSeconds: 2,
};

test('a health check changes its mind only after the threshold of results in a row', () => {
  const check = new HealthCheckState(3);
  assert.equal(check.healthy, true);
  // Two failures, a pass: the streak starts over.
  assert.deepEqual(
    [check.record(false, 1), check.record(false, 2), check.record(true, 3)],
    [false, false, false],
  );
  assert.deepEqual([check.record(false, 4), check.record(false, 5)], [false, false]);
  assert.equal(check.record(false, 6), true);
  assert.equal(check.healthy, false);
  assert.equal(check.changedAt, 6);
  // Healthy again only after as many passes in a row.
  assert.deepEqual([check.record(true, 7), check.record(false, 8)], [false, false]);
  assert.deepEqual(
    [check.record(true, 9), check.record(true, 10), check.record(true, 11)],
    [false, false, true],
  );
  assert.equal(check.healthy, true);
  assert.equal(check.changedAt, 11);
});

test('a failover record set answers its primary while healthy, else a healthy secondary, else the primary', () => {
  const health = new Map([
    ['a', true],
    ['b', true],
  ]);
  const healthy = (t: string) => health.get(t) ?? false;
  assert.equal(failoverAnswer('a', ['b'], healthy), 'a');
  health.set('a', false);
  assert.equal(failoverAnswer('a', ['b'], healthy), 'b');
  health.set('b', false);
  assert.equal(failoverAnswer('a', ['b'], healthy), 'a');
});

test('failover names are the region under failover.<domain>, and recognised as such', () => {
  assert.equal(failoverOriginName('eu-west-1', 'example.com'), 'eu-west-1.failover.example.com');
  assert.equal(isFailoverOriginName('eu-west-1.failover.example.com'), true);
  assert.equal(isFailoverOriginName('origin-eu-west-1.example.com'), false);
  assert.equal(isFailoverOriginName('tandem-123.eu-west-1.elb.amazonaws.com'), false);
  // Route 53's fast checks: three failed in a row (30 s), the last one's timeouts, a 60 s answer.
  assert.equal(worstCaseFailoverSeconds(ROUTE53_FAILOVER), 96);
});

test('the local DNS moves a name after the failed checks in a row, and a resolver keeps its answer for the TTL', async () => {
  let now = 0;
  const up = new Map([
    ['lb-a', true],
    ['lb-b', true],
  ]);
  const dns = new LocalDns({
    records: [
      { name: 'a.failover.test', primary: 'lb-a', secondaries: ['lb-b'] },
      { name: 'b.failover.test', primary: 'lb-b', secondaries: ['lb-a'] },
    ],
    timing: TIMING,
    probe: (target) => Promise.resolve(up.get(target) ?? false),
    now: () => now,
  });
  assert.equal(dns.has('A.failover.test'), true);
  assert.equal(dns.has('lb-a'), false);
  assert.equal(dns.resolve('a.failover.test'), 'lb-a');

  up.set('lb-a', false);
  for (const t of [10_000, 20_000]) {
    now = t;
    await dns.checkAll();
  }
  assert.equal(dns.answer('a.failover.test'), 'lb-a', 'two failed checks change nothing');
  now = 30_000;
  await dns.checkAll();
  assert.equal(dns.answer('a.failover.test'), 'lb-b');
  assert.deepEqual(dns.state().endpoints['lb-a'], { healthy: false, changedAt: 30_000 });
  // The answer handed out at 0 is kept until 60 s.
  now = 59_999;
  assert.equal(dns.resolve('a.failover.test'), 'lb-a');
  now = 60_000;
  assert.equal(dns.resolve('a.failover.test'), 'lb-b');
  assert.equal(dns.resolve('b.failover.test'), 'lb-b');
  assert.deepEqual(dns.state().answers, { 'a.failover.test': 'lb-b', 'b.failover.test': 'lb-b' });

  // A probe that throws counts as a failed check, not a crashed checker.
  const broken = new LocalDns({
    records: [{ name: 'a.failover.test', primary: 'lb-a', secondaries: ['lb-b'] }],
    timing: { ...TIMING, failureThreshold: 1 },
    probe: (target) => (target === 'lb-a' ? Promise.reject(new Error('boom')) : Promise.resolve(true)),
    now: () => now,
  });
  await broken.checkAll();
  assert.equal(broken.answer('a.failover.test'), 'lb-b');
});
