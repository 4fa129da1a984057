import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  formatProgress,
  formatSummary,
  runLoad,
  type LoadOptions,
  type LoadProgress,
  type LoadSummary,
} from '../controller/cli/load.ts';

/**
 * A stand-in for the CDN: answers alternately from v1/us-east-1 and
 * v2/us-west-2, 503 for every fifth request, and never answers /hang.
 */
interface FakeSite {
  url: string;
  urls: string[];
  hosts: string[];
  statuses: Record<string, number>;
  close(): Promise<void>;
}

async function startSite(): Promise<FakeSite> {
  const site = { urls: [] as string[], hosts: [] as string[], statuses: {} as Record<string, number> };
  let count = 0;
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/hang')) return;
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('slow'), 300);
      return;
    }
    count += 1;
    site.urls.push(req.url ?? '');
    site.hosts.push(req.headers.host ?? '');
    const status = count % 5 === 0 ? 503 : 200;
    site.statuses[status] = (site.statuses[status] ?? 0) + 1;
    res.writeHead(status, {
      'X-Tandem-Version': count % 2 === 0 ? 'v2' : 'v1',
      'X-Tandem-Region': count % 2 === 0 ? 'us-west-2' : 'us-east-1',
    });
    res.end('hello from tandem');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...site,
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

let site: FakeSite;
let summary: LoadSummary;
let seconds: number;
const progress: LoadProgress[] = [];

before(async () => {
  site = await startSite();
  const began = performance.now();
  summary = await runLoad({
    url: site.url,
    rps: 100,
    durationSeconds: 1.2,
    onProgress: (p) => progress.push(p),
  });
  seconds = (performance.now() - began) / 1000;
});
after(() => site.close());

test('sends exactly rps × duration requests, spread over about the duration', () => {
  assert.equal(summary.sent, 120);
  assert.equal(site.urls.length, 120);
  assert.ok(seconds > 0.95 && seconds < 3.5, `took ${seconds} s`);
  assert.ok(summary.achievedRps > 80 && summary.achievedRps <= 100.5, `achieved ${summary.achievedRps} rps`);
});

test('the summary counts what the server answered: statuses, versions, regions', () => {
  assert.deepEqual(summary.statuses, { '200': site.statuses[200], '503': site.statuses[503] });
  assert.deepEqual(summary.statuses, { '200': 96, '503': 24 });
  assert.equal(summary.ok, 96);
  assert.equal(summary.failed, 24);
  assert.equal(summary.successPercent, 80);
  assert.deepEqual(summary.byVersion, { v1: 60, v2: 60 });
  assert.deepEqual(summary.byRegion, { 'us-east-1': 60, 'us-west-2': 60 });
  const { p50, p95, p99, max } = summary.latencyMs;
  assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= max, JSON.stringify(summary.latencyMs));
});

test('cacheBust (the default) gives every request a unique query', () => {
  assert.equal(new Set(site.urls).size, 120);
  assert.ok(
    site.urls.every((url) => /^\/\?tandem-load=[0-9a-f]+-\d+$/.test(url)),
    site.urls[0],
  );
});

test('reports progress about once a second while it runs', () => {
  assert.equal(progress.length, 1);
  const [p] = progress;
  assert.ok(p !== undefined && p.sent >= 95 && p.sent <= 105, `sent ${p?.sent} after 1 s`);
  assert.ok(p.lastSecond.ok + p.lastSecond.failed >= 90);
  assert.ok((p.lastSecond.byVersion.v1 ?? 0) > 40 && (p.lastSecond.byRegion['us-west-2'] ?? 0) > 40);
});

test('cacheBust appends to an existing query; without it the url is sent as given, with the Host header', async () => {
  const before = site.urls.length;
  await runLoad({ url: `${site.url}page?a=1`, rps: 200, durationSeconds: 0.05 });
  const busted = site.urls.slice(before);
  assert.equal(busted.length, 10);
  assert.ok(
    busted.every((url) => /^\/page\?a=1&tandem-load=[0-9a-f]+-\d+$/.test(url)),
    busted[0],
  );

  const from = site.urls.length;
  await runLoad({
    url: `${site.url}page?a=1`,
    rps: 200,
    durationSeconds: 0.05,
    cacheBust: false,
    host: 'shop.test',
  });
  assert.deepEqual(site.urls.slice(from), Array(10).fill('/page?a=1'));
  assert.deepEqual(site.hosts.slice(from), Array(10).fill('shop.test'));
});

test('network errors count as failed under "error", with the cause', async () => {
  const s = await runLoad({ url: await closedPortUrl(), rps: 100, durationSeconds: 0.1 });
  assert.equal(s.sent, 10);
  assert.equal(s.failed, 10);
  assert.equal(s.ok, 0);
  assert.deepEqual(s.statuses, { error: 10 });
  assert.deepEqual(s.errors, { ECONNREFUSED: 10 });
  assert.equal(s.successPercent, 0);
});

test('a request that outlives timeoutMs counts as an error and does not hold up the end', async () => {
  const began = performance.now();
  const s = await runLoad({ url: `${site.url}hang`, rps: 100, durationSeconds: 0.02, timeoutMs: 150 });
  assert.deepEqual(s.statuses, { error: 2 });
  assert.deepEqual(s.errors, { timeout: 2 });
  assert.ok(performance.now() - began < 1000);
});

test('arrivals beyond maxInFlight are counted as an overloaded client, not queued', async () => {
  const s = await runLoad({ url: `${site.url}slow`, rps: 100, durationSeconds: 0.1, maxInFlight: 3 });
  assert.equal(s.sent, 10);
  assert.equal(s.ok, 3);
  assert.deepEqual(s.statuses, { '200': 3, error: 7 });
  assert.deepEqual(s.errors, { 'overloaded client': 7 });
});

test('aborting through the signal stops sending early; the summary covers what was sent', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const began = performance.now();
  const s = await runLoad({ url: site.url, rps: 100, durationSeconds: 30, signal: controller.signal });
  assert.ok(performance.now() - began < 1000);
  assert.ok(s.sent >= 10 && s.sent <= 30, `sent ${s.sent}`);
  assert.equal(s.ok + s.failed, s.sent);
  assert.ok(s.achievedRps > 50 && s.achievedRps < 150, `achieved ${s.achievedRps}`);
});

test('invalid options are refused with a message naming the flag', async () => {
  const valid: LoadOptions = { url: 'http://localhost:8080/', rps: 10, durationSeconds: 1 };
  const cases: Array<[Partial<LoadOptions>, RegExp]> = [
    [{ rps: 0 }, /^--rps must be/],
    [{ rps: -5 }, /^--rps must be/],
    [{ rps: Number.NaN }, /^--rps must be/],
    [{ rps: 10_001 }, /^--rps must be/],
    [{ durationSeconds: 0 }, /^--duration must be/],
    [{ durationSeconds: 86_401 }, /^--duration must be/],
    [{ durationSeconds: Number.POSITIVE_INFINITY }, /^--duration must be/],
    [{ url: 'ftp://localhost/' }, /^--url must be/],
    [{ url: 'localhost:8080' }, /^--url must be/],
    [{ url: 'not a url' }, /^--url must be/],
    [{ timeoutMs: 0 }, /^--timeout must be/],
    [{ host: 'a host' }, /^--host must be/],
  ];
  for (const [override, message] of cases) {
    await assert.rejects(runLoad({ ...valid, ...override }), { message }, JSON.stringify(override));
  }
});

test('formatProgress shows totals and the last second by region, version and p95', () => {
  const line = formatProgress({
    elapsedSeconds: 12.04,
    sent: 600,
    ok: 600,
    failed: 0,
    inFlight: 2,
    lastSecond: {
      ok: 50,
      failed: 0,
      p95Ms: 4.04,
      byRegion: { 'us-east-1': 50 },
      byVersion: { v2: 7, v1: 43 },
    },
  });
  assert.equal(
    line,
    '  12s  sent 600  ok 600  failed 0  in flight 2  | last 1s: us-east-1 50, v1 43 v2 7, p95 4 ms',
  );
});

test('formatSummary shows success, statuses with error causes, shares by version and region, latency', () => {
  const text = formatSummary({
    sent: 1000,
    ok: 980,
    failed: 20,
    statuses: { '200': 980, '503': 15, error: 5 },
    errors: { ECONNREFUSED: 5 },
    byVersion: { v1: 860, v2: 135 },
    byRegion: { 'us-east-1': 600, 'eu-west-1': 395 },
    latencyMs: { p50: 1.23, p95: 4.5, p99: 12.4, max: 250 },
    durationSeconds: 10.02,
    achievedRps: 100,
    successPercent: 98,
  });
  assert.match(text, /Sent 1000 requests in 10\.0 s \(100\.0 req\/s\): ok 980, failed 20, 98\.0% success/);
  assert.match(text, /Statuses: 200 980, 503 15, error 5 \(ECONNREFUSED 5\)/);
  assert.match(text, /By version: v1 86\.4% \(860\), v2 13\.6% \(135\)/);
  assert.match(text, /By region: eu-west-1 39\.7% \(395\), us-east-1 60\.3% \(600\)/);
  assert.match(text, /Latency: p50 1\.2 ms, p95 4\.5 ms, p99 12 ms, max 250 ms/);
});
