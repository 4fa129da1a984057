import { HEALTH_CHECK_BODY, HEALTH_CHECK_PATH } from '../controller/model/dns-failover.ts';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { NO_RULE_MATCHES, startLoadBalancer } from '../controller/providers/local/load-balancer.ts';
import type { RuleState, WeightedTarget } from '../controller/ports/load-balancer.ts';
import type {
  LoadBalancerView,
  LocalTarget,
  RegionFault,
  TargetGroupRequest,
} from '../controller/providers/local/types.ts';

const REGION = 'us-east-1';
const LOAD_BALANCER_DIMENSION = 'app/tandem/0123456789abcdef';
const TG = `arn:aws:elasticloadbalancing:${REGION}:123456789012:targetgroup`;
const STABLE = `${TG}/demo-stable/1111111111111111`;
const CANARY = `${TG}/demo-canary/2222222222222222`;
const OTHER = `${TG}/other-stable/3333333333333333`;
const ORIGIN_HEADER = 'X-Tandem-Origin';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A task process: answers with headers naming its group and itself, unless given a handler. */
async function startTarget(
  t: TestContext,
  group: string,
  id: string,
  handler?: Handler,
): Promise<LocalTarget> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (handler) return handler(req, res, body);
      res.writeHead(200, { 'x-group': group, 'x-target': id, 'content-type': 'text/plain' });
      res.end(`${group}/${id}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { id, host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class FakeView implements LoadBalancerView {
  region = REGION;
  loadBalancerDimension = LOAD_BALANCER_DIMENSION;
  currentRules: RuleState[] = [];
  targets = new Map<string, LocalTarget[]>();
  currentFault: RegionFault | undefined = undefined;

  rules(): readonly RuleState[] {
    return this.currentRules;
  }
  healthyTargets(targetGroupArn: string): readonly LocalTarget[] {
    return this.targets.get(targetGroupArn) ?? [];
  }
  fault(): RegionFault | undefined {
    return this.currentFault;
  }
}

function rule(priority: number, value: string, forward: WeightedTarget[]): RuleState {
  return { arn: `rule/${priority}`, priority, header: { name: ORIGIN_HEADER, values: [value] }, forward };
}

async function setup(t: TestContext, options: { targetTimeoutMs?: number } = {}) {
  const view = new FakeView();
  const requests: TargetGroupRequest[] = [];
  const lb = await startLoadBalancer({ view, onRequest: (request) => requests.push(request), ...options });
  t.after(() => lb.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  t.after(() => agent.destroy());
  return { view, requests, lb, agent };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  options: {
    path?: string;
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string;
    agent?: http.Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const viaCdn = (value = 'site-demo') => ({ [ORIGIN_HEADER]: value });

test('weighted forward splits requests exactly by weight', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1')]);
  view.targets.set(CANARY, [await startTarget(t, 'canary', 'c1')]);
  view.currentRules = [
    rule(1, 'site-demo', [
      { targetGroupArn: STABLE, weight: 85 },
      { targetGroupArn: CANARY, weight: 15 },
    ]),
  ];

  const replies = await Promise.all(
    Array.from({ length: 200 }, () => send(lb.port, { headers: viaCdn(), agent })),
  );

  const counts = { stable: 0, canary: 0 };
  for (const reply of replies) counts[reply.headers['x-group'] as 'stable' | 'canary'] += 1;
  assert.deepEqual(counts, { stable: 170, canary: 30 });
});

test('a weight-0 target group never gets traffic, and all weights 0 is a 503', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1')]);
  view.targets.set(CANARY, [await startTarget(t, 'canary', 'c1')]);
  view.currentRules = [
    rule(1, 'site-demo', [
      { targetGroupArn: STABLE, weight: 1 },
      { targetGroupArn: CANARY, weight: 0 },
    ]),
  ];
  for (let i = 0; i < 10; i++) {
    assert.equal((await send(lb.port, { headers: viaCdn(), agent })).headers['x-group'], 'stable');
  }

  view.currentRules = [
    rule(1, 'site-demo', [
      { targetGroupArn: STABLE, weight: 0 },
      { targetGroupArn: CANARY, weight: 0 },
    ]),
  ];
  assert.equal((await send(lb.port, { headers: viaCdn(), agent })).status, 503);
});

test('the first rule whose header matches picks the target group; header names are case-insensitive', async (t) => {
  const { view, lb } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'demo', 'd1')]);
  view.targets.set(OTHER, [await startTarget(t, 'other', 'o1')]);
  view.currentRules = [
    rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }]),
    rule(2, 'site-other', [{ targetGroupArn: OTHER, weight: 1 }]),
    { ...rule(3, 'site-other', [{ targetGroupArn: STABLE, weight: 1 }]), arn: 'rule/shadowed' },
  ];

  assert.equal(
    (await send(lb.port, { headers: { 'x-tandem-origin': 'site-demo' } })).headers['x-group'],
    'demo',
  );
  assert.equal(
    (await send(lb.port, { headers: { 'X-TANDEM-ORIGIN': 'site-other' } })).headers['x-group'],
    'other',
  );
});

test('a request without the origin header, or with a wrong value, gets the default 403', async (t) => {
  const { view, lb, requests } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1')]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  for (const headers of [{}, viaCdn('site-wrong'), viaCdn('SITE-DEMO')]) {
    const reply = await send(lb.port, { headers });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.trim(), NO_RULE_MATCHES);
  }
  assert.deepEqual(requests, []);
});

test('targets within a group take turns', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1'), await startTarget(t, 'stable', 's2')]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  const seen: unknown[] = [];
  for (let i = 0; i < 4; i++)
    seen.push((await send(lb.port, { headers: viaCdn(), agent })).headers['x-target']);
  assert.deepEqual(seen, ['s1', 's2', 's1', 's2']);
});

test('a target group without healthy targets answers 503, reported as an ELB error', async (t) => {
  const { view, lb, requests } = await setup(t);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  const reply = await send(lb.port, { headers: viaCdn() });

  assert.equal(reply.status, 503);
  assert.match(reply.body, /no healthy targets/);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.status, 503);
  assert.equal(requests[0]?.elbError, true);
  assert.equal(requests[0]?.targetGroupDimension, 'targetgroup/demo-stable/1111111111111111');
});

/** A load balancer with one rule forwarding to one target; `contacted` says whether the target was asked. */
async function serving(t: TestContext) {
  const world = await setup(t);
  let asked = false;
  world.view.targets.set(STABLE, [
    await startTarget(t, 'stable', 's1', (_req, res) => {
      asked = true;
      res.end();
    }),
  ]);
  world.view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];
  return { ...world, contacted: () => asked };
}

test('a failed region answers 503 without contacting a target or recording a request', async (t) => {
  const { view, lb, requests, contacted } = await serving(t);
  view.currentFault = 'errors';

  const reply = await send(lb.port, { headers: viaCdn() });

  assert.equal(reply.status, 503);
  assert.match(reply.body, /failed/);
  assert.equal(contacted(), false);
  assert.deepEqual(requests, []);
});

test('the load balancer itself answers the DNS health check, also while its targets fail, and never while it hangs', async (t) => {
  const { view, lb, requests, contacted } = await serving(t);

  const healthy = await send(lb.port, { path: HEALTH_CHECK_PATH });
  assert.deepEqual([healthy.status, healthy.body], [200, `${HEALTH_CHECK_BODY}\n`]);
  // Only the health path is open without the origin header, and only to GET and HEAD.
  assert.equal((await send(lb.port, { path: '/' })).status, 403);
  assert.equal((await send(lb.port, { path: HEALTH_CHECK_PATH, method: 'POST' })).status, 403);

  view.currentFault = 'errors';
  assert.equal((await send(lb.port, { path: HEALTH_CHECK_PATH })).status, 200);

  view.currentFault = 'hang';
  const hung = await Promise.race([
    send(lb.port, { path: HEALTH_CHECK_PATH }).then((reply) => `answered ${reply.status}`),
    new Promise<string>((resolve) => setTimeout(() => resolve('no answer after 500 ms'), 500)),
  ]);
  assert.equal(hung, 'no answer after 500 ms');
  assert.equal(contacted(), false);
  assert.deepEqual(requests, []);
});

test('a hanging region reads the request and never answers; a refusing one cuts the connection as it opens', async (t) => {
  const { view, lb, requests, contacted } = await serving(t);

  view.currentFault = 'hang';
  const hung = await Promise.race([
    send(lb.port, { headers: viaCdn() }).then((reply) => `answered ${reply.status}`),
    new Promise<string>((resolve) => setTimeout(() => resolve('no answer after 1 s'), 1000)),
  ]);
  assert.equal(hung, 'no answer after 1 s');

  view.currentFault = 'refuse';
  await assert.rejects(send(lb.port, { headers: viaCdn() }), /ECONNRESET|socket hang up/);
  assert.equal(contacted(), false);
  assert.deepEqual(requests, []);
});

test('a target that refuses the connection gets a 502, reported as an ELB error', async (t) => {
  const { view, lb, requests } = await setup(t);
  view.targets.set(STABLE, [{ id: 'gone', host: '127.0.0.1', port: await closedPort() }]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  const reply = await send(lb.port, { headers: viaCdn() });

  assert.equal(reply.status, 502);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.status, 502);
  assert.equal(requests[0]?.elbError, true);
});

test('a target that does not answer in time gets a 504, reported as an ELB error', async (t) => {
  const { view, lb, requests } = await setup(t, { targetTimeoutMs: 100 });
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1', () => {})]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  const reply = await send(lb.port, { headers: viaCdn() });

  assert.equal(reply.status, 504);
  assert.equal(requests[0]?.status, 504);
  assert.equal(requests[0]?.elbError, true);
});

test('a change to the rules applies to the next request', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1')]);
  view.targets.set(CANARY, [await startTarget(t, 'canary', 'c1')]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];
  assert.equal((await send(lb.port, { headers: viaCdn(), agent })).headers['x-group'], 'stable');

  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: CANARY, weight: 1 }])];
  assert.equal((await send(lb.port, { headers: viaCdn(), agent })).headers['x-group'], 'canary');

  view.currentRules = [];
  assert.equal((await send(lb.port, { headers: viaCdn(), agent })).status, 403);
});

test('each forwarded request is reported with its dimensions, the target status and the latency', async (t) => {
  const { view, lb, requests } = await setup(t);
  view.targets.set(CANARY, [
    await startTarget(t, 'canary', 'c1', (_req, res) => {
      setTimeout(() => res.writeHead(418).end('teapot'), 30);
    }),
  ]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: CANARY, weight: 1 }])];

  const reply = await send(lb.port, { headers: viaCdn() });

  assert.equal(reply.status, 418);
  assert.equal(reply.body, 'teapot');
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.ok(request);
  const { latencyMs, ...rest } = request;
  assert.deepEqual(rest, {
    region: REGION,
    loadBalancerDimension: LOAD_BALANCER_DIMENSION,
    targetGroupDimension: 'targetgroup/demo-canary/2222222222222222',
    status: 418,
  });
  assert.ok(latencyMs >= 25 && latencyMs < 1000, `latency ${latencyMs}`);
});

test('the request is forwarded with its method, path, body and headers, minus hop-by-hop, plus X-Forwarded-*', async (t) => {
  const { view, lb } = await setup(t);
  let seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string } | undefined;
  view.targets.set(STABLE, [
    await startTarget(t, 'stable', 's1', (req, res, body) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(201, { 'x-reply': 'yes', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic' });
      res.end('created');
    }),
  ]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  const reply = await send(lb.port, {
    method: 'POST',
    path: '/orders?id=7',
    headers: {
      ...viaCdn(),
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.9',
      'proxy-authorization': 'secret',
      te: 'trailers',
      connection: 'x-drop-me',
      'x-drop-me': '1',
    },
    body: '{"n":1}',
  });

  assert.equal(reply.status, 201);
  assert.equal(reply.body, 'created');
  assert.equal(reply.headers['x-reply'], 'yes');
  assert.equal(reply.headers['proxy-authenticate'], undefined);
  assert.ok(seen);
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/orders?id=7');
  assert.equal(seen.body, '{"n":1}');
  assert.equal(seen.headers['content-type'], 'application/json');
  assert.equal(seen.headers['x-tandem-origin'], 'site-demo');
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-port'], String(lb.port));
  assert.match(String(seen.headers['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  for (const dropped of ['proxy-authorization', 'te', 'x-drop-me'])
    assert.equal(seen.headers[dropped], undefined);
});

test('a client that gives up mid-request does not disturb the next one', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [
    await startTarget(t, 'stable', 's1', (req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 100);
      else res.end('fast');
    }),
  ]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];

  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: lb.port, path: '/slow', headers: viaCdn() });
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => req.destroy(), 20);
  });

  const reply = await send(lb.port, { headers: viaCdn(), agent });
  assert.equal(reply.body, 'fast');
});

test('close() resolves promptly while keep-alive clients are connected', async (t) => {
  const { view, lb, agent } = await setup(t);
  view.targets.set(STABLE, [await startTarget(t, 'stable', 's1')]);
  view.currentRules = [rule(1, 'site-demo', [{ targetGroupArn: STABLE, weight: 1 }])];
  await Promise.all([1, 2, 3].map(() => send(lb.port, { headers: viaCdn(), agent })));

  const started = performance.now();
  await lb.close();

  assert.ok(performance.now() - started < 500, 'closed without waiting for idle clients');
  await assert.rejects(send(lb.port, { headers: viaCdn() }), { code: 'ECONNREFUSED' });
});
