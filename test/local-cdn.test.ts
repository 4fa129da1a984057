import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { DistributionConfig, Origin } from '../controller/ports/cdn.ts';
import { cacheTtlSeconds, startCdn } from '../controller/providers/local/cdn.ts';
import type { CdnProxy, CdnProxyOptions } from '../controller/providers/local/cdn.ts';
import type { CdnView, LocalDistribution, OriginRoute } from '../controller/providers/local/types.ts';

const SECRET_HEADER = 'X-Tandem-Origin';
const SECRET = 'demo.s3cret';
const PRIMARY = 'us-east-1';
const FAILOVER = 'us-west-2';

function origin(region: string, overrides: Partial<Origin> = {}): Origin {
  return {
    id: region,
    domainName: `tandem-${region}.elb.local`,
    protocol: 'http-only',
    connectionTimeoutSeconds: 1,
    connectionAttempts: 1,
    responseTimeoutSeconds: 10,
    customHeaders: { [SECRET_HEADER]: SECRET },
    ...overrides,
  };
}

/** Shaped like the planner's distribution for a two-region site; caching off unless a test turns it on. */
function siteConfig(overrides: Partial<DistributionConfig> = {}): DistributionConfig {
  return {
    comment: 'tandem site demo',
    enabled: true,
    aliases: ['shop.example.com'],
    priceClass: 'PriceClass_100',
    origins: [origin(PRIMARY), origin(FAILOVER)],
    originGroup: {
      id: 'demo-failover',
      primaryOriginId: PRIMARY,
      failoverOriginId: FAILOVER,
      statusCodes: [500, 502, 503, 504],
    },
    targetOriginId: 'demo-failover',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 0,
    ...overrides,
  };
}

function distribution(id: string, config: DistributionConfig = siteConfig()): LocalDistribution {
  return { id, domainName: `${id.toLowerCase()}.cloudfront.net`, config };
}

class FakeView implements CdnView {
  list: LocalDistribution[] = [];
  readonly addresses = new Map<string, { host: string; port: number }>();
  /** What the network does to connections to an origin (default open). */
  readonly paths = new Map<string, OriginRoute['path']>();
  distributions(): readonly LocalDistribution[] {
    return this.list;
  }
  resolveOrigin(domainName: string): OriginRoute | undefined {
    const address = this.addresses.get(domainName);
    return address === undefined ? undefined : { ...address, path: this.paths.get(domainName) ?? 'open' };
  }
}

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestOrigin {
  port: number;
  requests: SeenRequest[];
  /** Replaceable while the test runs. */
  handler: Handler;
}

const answer =
  (status: number, body: string, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };

async function startOrigin(t: TestContext, handler: Handler): Promise<TestOrigin> {
  const origin: TestOrigin = { port: 0, requests: [], handler };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      origin.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      origin.handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin.port = (server.address() as AddressInfo).port;
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return origin;
}

interface Site {
  cdn: CdnProxy;
  view: FakeView;
  primary: TestOrigin;
  failover: TestOrigin;
  /** The CDN's clock; tests move it forward. */
  clock: { now: number };
}

/** A two-region site behind the CDN: primary answers "primary", failover answers "failover". */
async function startSite(
  t: TestContext,
  config: DistributionConfig = siteConfig(),
  options: Pick<CdnProxyOptions, 'originReadTimeoutMs' | 'cacheBytes'> = {},
): Promise<Site> {
  const primary = await startOrigin(t, answer(200, 'primary'));
  const failover = await startOrigin(t, answer(200, 'failover'));
  const view = new FakeView();
  view.list = [distribution('E1DEMO', config)];
  view.addresses.set(`tandem-${PRIMARY}.elb.local`, { host: '127.0.0.1', port: primary.port });
  view.addresses.set(`tandem-${FAILOVER}.elb.local`, { host: '127.0.0.1', port: failover.port });
  const clock = { now: 1_700_000_000_000 };
  const cdn = await startCdn({ view, clock: () => clock.now, ...options });
  t.after(() => cdn.close());
  return { cdn, view, primary, failover, clock };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  path = '/',
  options: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A port whose connections never complete: a worker thread listens with a tiny backlog and then
 * blocks its event loop, so nothing is accepted; once the kernel's accept queue is full, new
 * connects hang (SYNs dropped) as they would to a black-holed address.
 */
async function unacceptingPort(t: TestContext): Promise<number> {
  const release = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       while (Atomics.load(workerData, 0) === 0) Atomics.wait(workerData, 0, 0, 50);
       server.close();
     });`,
    { eval: true, workerData: release, execArgv: [] },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: net.Socket[] = [];
  t.after(async () => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(release, 0, 1);
    await worker.terminate();
  });
  // Fill the accept queue: stop once a connect no longer completes.
  for (let i = 0; i < 16; i += 1) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 50);
    });
    if (!connected) return port;
  }
  throw new Error('could not fill the accept queue');
}

test('serves the only distribution whatever the Host header', async (t) => {
  const { cdn } = await startSite(t);
  for (const host of ['localhost:8080', 'whatever.example', 'e1demo.cloudfront.net']) {
    const reply = await request(cdn.port, '/', { host });
    assert.equal(reply.status, 200, host);
    assert.equal(reply.body, 'primary');
  }
});

test('picks the distribution by domain name or alias when there are several', async (t) => {
  const site = await startSite(t);
  const other = await startOrigin(t, answer(200, 'other site'));
  site.view.addresses.set('other.elb.local', { host: '127.0.0.1', port: other.port });
  const otherOrigin = origin('eu-west-1', { domainName: 'other.elb.local' });
  site.view.list = [
    ...site.view.list,
    distribution(
      'E2OTHER',
      siteConfig({
        aliases: ['blog.example.com'],
        origins: [otherOrigin],
        originGroup: undefined,
        targetOriginId: 'eu-west-1',
      }),
    ),
  ];

  assert.equal((await request(site.cdn.port, '/', { host: 'e2other.cloudfront.net' })).body, 'other site');
  assert.equal((await request(site.cdn.port, '/', { host: 'BLOG.example.com:8080' })).body, 'other site');
  assert.equal((await request(site.cdn.port, '/', { host: 'shop.example.com' })).body, 'primary');
  assert.equal((await request(site.cdn.port, '/', { host: 'e1demo.cloudfront.net' })).body, 'primary');
});

test('answers 404 naming the distributions when the Host picks none of several', async (t) => {
  const site = await startSite(t);
  site.view.list = [...site.view.list, distribution('E2OTHER')];
  const reply = await request(site.cdn.port, '/', { host: 'localhost' });
  assert.equal(reply.status, 404);
  assert.match(reply.body, /e1demo\.cloudfront\.net/);
  assert.match(reply.body, /e2other\.cloudfront\.net/);
  assert.match(reply.body, /curl -H 'Host: /);
});

test('answers 503 before the reconciler has created a distribution', async (t) => {
  const site = await startSite(t);
  site.view.list = [];
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.status, 503);
  assert.match(reply.body, /no distribution yet/);
});

test('answers 503 saying the site was deleted once the distribution it served is gone', async (t) => {
  const site = await startSite(t);
  assert.equal((await request(site.cdn.port, '/')).status, 200);
  site.view.list = [];
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.status, 503);
  assert.match(reply.body, /no distribution any more: its site was deleted/);
  assert.doesNotMatch(reply.body, /creates one/);
});

test('sends the origin its domain as Host, the custom header, Via and X-Forwarded-For', async (t) => {
  const { cdn, primary } = await startSite(t);
  const reply = await request(cdn.port, '/cart?item=7', {
    host: 'shop.example.com',
    headers: { 'x-viewer': 'kept', connection: 'keep-alive, x-hop', 'x-hop': 'dropped' },
  });
  assert.equal(reply.status, 200);
  const [seen] = primary.requests;
  assert.ok(seen);
  assert.equal(seen.url, '/cart?item=7');
  assert.equal(seen.headers.host, `tandem-${PRIMARY}.elb.local`);
  assert.equal(seen.headers[SECRET_HEADER.toLowerCase()], SECRET);
  assert.equal(seen.headers['x-viewer'], 'kept');
  assert.equal(seen.headers['x-hop'], undefined);
  assert.equal(seen.headers.via, '1.1 E1DEMO.cloudfront.net (tandem local CDN)');
  assert.match(String(seen.headers['x-forwarded-for']), /127\.0\.0\.1/);
  assert.equal(reply.headers.via, '1.1 E1DEMO.cloudfront.net (tandem local CDN)');
  assert.equal(reply.headers['x-tandem-origin-id'], PRIMARY);
  assert.ok(!JSON.stringify(reply).includes(SECRET), 'the secret is never echoed to the viewer');
});

test('fails over when the primary answers a status in statusCodes', async (t) => {
  const { cdn, primary, failover } = await startSite(t);
  primary.handler = answer(503, 'primary down');
  const reply = await request(cdn.port, '/');
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'failover');
  assert.equal(reply.headers['x-tandem-origin-id'], FAILOVER);
  assert.equal(failover.requests[0]?.headers[SECRET_HEADER.toLowerCase()], SECRET);
  const stats = cdn.stats();
  assert.equal(stats.failovers, 1);
  assert.equal(stats.originRequests, 2);
  assert.deepEqual(stats.byOrigin, { [FAILOVER]: 1 });
});

test('does not fail over on a status outside statusCodes', async (t) => {
  const { cdn, primary, failover } = await startSite(t);
  primary.handler = answer(404, 'not here');
  const reply = await request(cdn.port, '/missing');
  assert.equal(reply.status, 404);
  assert.equal(reply.body, 'not here');
  assert.equal(failover.requests.length, 0);
  assert.equal(cdn.stats().failovers, 0);
});

test('serves the failover answer even when it is an error too', async (t) => {
  const { cdn, primary, failover } = await startSite(t);
  primary.handler = answer(503, 'primary down');
  failover.handler = answer(500, 'failover broken');
  const reply = await request(cdn.port, '/');
  assert.equal(reply.status, 500);
  assert.equal(reply.body, 'failover broken');
  assert.equal(cdn.stats().errors5xx, 1);
});

test('fails over when the primary refuses connections, after its connection attempts', async (t) => {
  const site = await startSite(
    t,
    siteConfig({ origins: [origin(PRIMARY, { connectionAttempts: 3 }), origin(FAILOVER)] }),
  );
  site.view.addresses.set(`tandem-${PRIMARY}.elb.local`, { host: '127.0.0.1', port: await closedPort() });
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['x-tandem-origin-id'], FAILOVER);
});

test('fails over when the primary does not resolve', async (t) => {
  const site = await startSite(t);
  site.view.addresses.delete(`tandem-${PRIMARY}.elb.local`);
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.body, 'failover');
});

test('fails over when the primary does not accept within the connect timeout', async (t) => {
  const site = await startSite(t);
  site.view.addresses.set(`tandem-${PRIMARY}.elb.local`, {
    host: '127.0.0.1',
    port: await unacceptingPort(t),
  });
  const started = Date.now();
  const reply = await request(site.cdn.port, '/');
  const elapsed = Date.now() - started;
  assert.equal(reply.body, 'failover');
  assert.ok(elapsed >= 900 && elapsed < 2500, `failed over after ${elapsed} ms, expected about 1 s`);
});

test('a slow answer is not a connect timeout: it waits for the read timeout', async (t) => {
  const { cdn, primary, failover } = await startSite(
    t,
    siteConfig({ origins: [origin(PRIMARY, { connectionTimeoutSeconds: 0.05 }), origin(FAILOVER)] }),
  );
  primary.handler = (req, res) => setTimeout(() => answer(200, 'slow primary')(req, res), 200);
  const reply = await request(cdn.port, '/');
  assert.equal(reply.body, 'slow primary');
  assert.equal(failover.requests.length, 0);
});

test('fails over when the primary does not answer within the read timeout', async (t) => {
  const { cdn, primary } = await startSite(t, siteConfig(), { originReadTimeoutMs: 100 });
  primary.handler = () => {}; // connected, never answers
  const reply = await request(cdn.port, '/');
  assert.equal(reply.body, 'failover');
});

test('answers 504 when the last origin does not answer within the read timeout', async (t) => {
  const { cdn, primary, failover } = await startSite(t, siteConfig(), { originReadTimeoutMs: 100 });
  primary.handler = () => {};
  failover.handler = () => {};
  const reply = await request(cdn.port, '/');
  assert.equal(reply.status, 504);
});

test("each origin's own response timeout decides when the CDN stops waiting for it (CloudFront's OriginReadTimeout)", async (t) => {
  const { cdn, primary } = await startSite(
    t,
    siteConfig({ origins: [origin(PRIMARY, { responseTimeoutSeconds: 0.2 }), origin(FAILOVER)] }),
  );
  primary.handler = () => {}; // connected, never answers
  const started = Date.now();
  const reply = await request(cdn.port, '/');
  assert.equal(reply.body, 'failover');
  const waited = Date.now() - started;
  assert.ok(waited >= 200 && waited < 5000, `waited ${waited} ms for the primary`);
});

test('a path that drops every packet costs each connection attempt its whole connection timeout, then the CDN fails over', async (t) => {
  const site = await startSite(
    t,
    siteConfig({
      origins: [origin(PRIMARY, { connectionTimeoutSeconds: 0.2, connectionAttempts: 2 }), origin(FAILOVER)],
    }),
  );
  site.view.paths.set(`tandem-${PRIMARY}.elb.local`, 'dropped');
  const started = Date.now();
  const reply = await request(site.cdn.port, '/');
  const waited = Date.now() - started;
  assert.equal(reply.body, 'failover');
  assert.equal(site.primary.requests.length, 0, 'nothing reached the primary');
  assert.ok(waited >= 400 && waited < 5000, `two attempts of 200 ms each: waited ${waited} ms`);
});

test('a path that refuses connections fails over at once, whatever the connection timeout', async (t) => {
  const site = await startSite(
    t,
    siteConfig({
      origins: [origin(PRIMARY, { connectionTimeoutSeconds: 10, connectionAttempts: 3 }), origin(FAILOVER)],
    }),
  );
  site.view.paths.set(`tandem-${PRIMARY}.elb.local`, 'refused');
  const started = Date.now();
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.body, 'failover');
  assert.ok(Date.now() - started < 2000);
});

test('answers 502 when neither origin can be reached', async (t) => {
  const site = await startSite(t);
  site.view.addresses.set(`tandem-${PRIMARY}.elb.local`, { host: '127.0.0.1', port: await closedPort() });
  site.view.addresses.set(`tandem-${FAILOVER}.elb.local`, { host: '127.0.0.1', port: await closedPort() });
  const reply = await request(site.cdn.port, '/');
  assert.equal(reply.status, 502);
  assert.equal(reply.body, 'the CDN could not reach any origin\n');
  assert.equal(site.cdn.stats().errors5xx, 1);
});

test('does not fail over a POST: it goes to the primary only, body intact', async (t) => {
  const { cdn, primary, failover } = await startSite(t);
  primary.handler = answer(503, 'primary down');
  const body = 'x'.repeat(100_000);
  const reply = await request(cdn.port, '/orders', { method: 'POST', body });
  assert.equal(reply.status, 503);
  assert.equal(primary.requests[0]?.body, body);
  assert.equal(failover.requests.length, 0);
});

test('caches a 200 for its max-age, then refetches it once expired', async (t) => {
  const { cdn, primary, clock } = await startSite(t);
  primary.handler = answer(200, 'v1', { 'cache-control': 'max-age=60' });
  const first = await request(cdn.port, '/page');
  assert.equal(first.headers['x-cache'], 'Miss from tandem-cdn');

  primary.handler = answer(200, 'v2', { 'cache-control': 'max-age=60' });
  clock.now += 30_000;
  const hit = await request(cdn.port, '/page');
  assert.equal(hit.body, 'v1');
  assert.equal(hit.headers['x-cache'], 'Hit from tandem-cdn');
  assert.equal(hit.headers.age, '30');
  assert.equal(hit.headers['x-tandem-origin-id'], PRIMARY);

  clock.now += 31_000;
  const refetched = await request(cdn.port, '/page');
  assert.equal(refetched.body, 'v2');
  assert.equal(refetched.headers['x-cache'], 'Miss from tandem-cdn');
  assert.equal(primary.requests.length, 2);
  assert.equal(cdn.stats().cacheHits, 1);
});

test('serves HEAD from a cached GET', async (t) => {
  const { cdn, primary } = await startSite(t);
  primary.handler = answer(200, 'page', { 'cache-control': 'max-age=60' });
  await request(cdn.port, '/page');
  const head = await request(cdn.port, '/page', { method: 'HEAD' });
  assert.equal(head.headers['x-cache'], 'Hit from tandem-cdn');
  assert.equal(head.headers['content-length'], '4');
  assert.equal(head.body, '');
  assert.equal(primary.requests.length, 1);
});

test('does not cache no-store, private, Set-Cookie or error answers', async (t) => {
  const { cdn, primary } = await startSite(t, siteConfig({ defaultTtlSeconds: 60 }));
  const uncacheable: Record<string, Handler> = {
    '/no-store': answer(200, 'x', { 'cache-control': 'no-store' }),
    '/private': answer(200, 'x', { 'cache-control': 'private, max-age=60' }),
    '/cookie': answer(200, 'x', { 'set-cookie': 'session=1' }),
    '/missing': answer(404, 'x'),
  };
  primary.handler = (req, res) => uncacheable[req.url ?? '']?.(req, res);
  for (const path of Object.keys(uncacheable)) {
    await request(cdn.port, path);
    const second = await request(cdn.port, path);
    assert.equal(second.headers['x-cache'], 'Miss from tandem-cdn', path);
  }
  assert.equal(primary.requests.length, 8);
  assert.equal(cdn.stats().cacheHits, 0);
});

test('uses the default TTL when the origin sends no Cache-Control', async (t) => {
  const { cdn, clock } = await startSite(t, siteConfig({ defaultTtlSeconds: 10 }));
  await request(cdn.port, '/');
  assert.equal((await request(cdn.port, '/')).headers['x-cache'], 'Hit from tandem-cdn');
  clock.now += 10_000;
  assert.equal((await request(cdn.port, '/')).headers['x-cache'], 'Miss from tandem-cdn');
});

test('keys the cache by query string, so a unique query bypasses it', async (t) => {
  const { cdn, primary } = await startSite(t, siteConfig({ defaultTtlSeconds: 60 }));
  await request(cdn.port, '/?n=1');
  await request(cdn.port, '/?n=2');
  assert.equal((await request(cdn.port, '/?n=1')).headers['x-cache'], 'Hit from tandem-cdn');
  assert.equal(primary.requests.length, 2);
});

test('purge() empties the cache', async (t) => {
  const { cdn, primary } = await startSite(t, siteConfig({ defaultTtlSeconds: 60 }));
  await request(cdn.port, '/');
  cdn.purge();
  assert.equal((await request(cdn.port, '/')).headers['x-cache'], 'Miss from tandem-cdn');
  assert.equal(primary.requests.length, 2);
});

test('reads Cache-Control as CloudFront does', () => {
  const cases: [string | undefined, number][] = [
    [undefined, 86_400],
    ['public', 86_400],
    ['max-age=60', 60],
    ['max-age=60, s-maxage=5', 5],
    ['public, max-age=0', 0],
    ['no-store', 0],
    ['no-cache', 0],
    ['private, max-age=60', 0],
  ];
  for (const [header, ttl] of cases) assert.equal(cacheTtlSeconds(header, 86_400), ttl, String(header));
});

test('close() resolves with a kept-alive viewer connection open', async (t) => {
  const { cdn } = await startSite(t);
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: cdn.port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  await cdn.close();
  await assert.rejects(request(cdn.port, '/'), { code: 'ECONNREFUSED' });
});

test('evicts the least recently used objects once the cache is full', async (t) => {
  // Room for two 1000-byte objects with their headers, not three.
  const { cdn, primary } = await startSite(t, siteConfig({ defaultTtlSeconds: 60 }), { cacheBytes: 2600 });
  primary.handler = answer(200, 'x'.repeat(1000));
  await request(cdn.port, '/a');
  await request(cdn.port, '/b');
  await request(cdn.port, '/a'); // a is now the most recently used
  await request(cdn.port, '/c'); // over capacity: b goes
  assert.equal((await request(cdn.port, '/a')).headers['x-cache'], 'Hit from tandem-cdn');
  assert.equal((await request(cdn.port, '/b')).headers['x-cache'], 'Miss from tandem-cdn');
});

test('does not cache an object over 1 MiB', async (t) => {
  const { cdn, primary } = await startSite(t, siteConfig({ defaultTtlSeconds: 60 }));
  const big = 'x'.repeat(1024 * 1024 + 1);
  primary.handler = answer(200, big);
  assert.equal((await request(cdn.port, '/big')).body.length, big.length);
  assert.equal((await request(cdn.port, '/big')).headers['x-cache'], 'Miss from tandem-cdn');
});

test('keeps serving after a viewer hangs up while the origin is still answering', async (t) => {
  const { cdn, primary } = await startSite(t);
  primary.handler = (req, res) => setTimeout(() => answer(200, 'late')(req, res), 100);
  await new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: cdn.port, path: '/slow', agent: false });
    req.on('error', () => resolve());
    setTimeout(() => req.destroy(), 20);
  });
  primary.handler = answer(200, 'primary');
  assert.equal((await request(cdn.port, '/')).body, 'primary');
  assert.equal(cdn.stats().requests, 2);
});

test('close() resolves while a request waits on an origin that never answers', async (t) => {
  const { cdn, primary } = await startSite(
    t,
    siteConfig({ originGroup: undefined, targetOriginId: PRIMARY }),
  );
  primary.handler = () => {};
  const pending = request(cdn.port, '/').catch((error: Error) => error);
  while (primary.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = Date.now();
  await cdn.close();
  assert.ok(Date.now() - started < 1000);
  const outcome = await pending;
  assert.ok(outcome instanceof Error || outcome.status === 502);
});
