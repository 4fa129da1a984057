import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dashboardBody, type DashboardRegion } from '../controller/dashboard/body.ts';
import type { SiteView } from '../controller/reconcile/view.ts';
import type { MetricQuery, MetricSeries } from '../controller/ports/metrics.ts';
import type { CdnStats } from '../controller/providers/local/cdn.ts';
import { MAX_REQUEST_BYTES, startDashboardPage } from '../controller/providers/local/dashboard-page.ts';
import type { DashboardSource } from '../controller/providers/local/types.ts';
import type { Page } from 'playwright-core';
import { artifactsDir, launchChromium, type LaunchedBrowser } from './support/browser.ts';

const PERIOD_SECONDS = 1;
const ACCOUNT = '123456789012';
// Shown as text by the page, never parsed as markup.
const HOSTILE_MESSAGE = 'deploy <img src=x onerror="window.__pwned=1"> failed';

function region(name: string, role: 'primary' | 'failover'): DashboardRegion {
  const elb = `arn:aws:elasticloadbalancing:${name}:${ACCOUNT}`;
  return {
    region: name,
    role,
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    cluster: 'tandem',
    stableTargetGroupArn: `${elb}:targetgroup/demo-stable/0a1b2c3d4e5f0001`,
    canaryTargetGroupArn: `${elb}:targetgroup/demo-canary/0a1b2c3d4e5f0002`,
  };
}

const BODY = dashboardBody([
  {
    site: 'demo',
    regions: [region('us-east-1', 'primary'), region('eu-west-1', 'failover')],
    canaryWeight: 10,
    distributionId: 'E2QWRUHAPOMQZL',
  },
]);

const STATUS: SiteView = {
  site: 'demo',
  reporters: [
    { region: 'us-east-1', global: true, quiet: false, lastPassAt: 1_735_732_860_000, observedGeneration: 3 },
    {
      region: 'eu-west-1',
      global: false,
      quiet: false,
      lastPassAt: 1_735_732_855_000,
      observedGeneration: 3,
    },
  ],
  observedGeneration: 3,
  observedHash: 'abc123',
  conditions: {
    Ready: {
      status: 'True',
      reason: 'Converged',
      message: 'Both regions serve the spec.',
      lastTransitionTime: '2025-01-01T12:00:00Z',
    },
    CanaryProgressing: {
      status: 'True',
      reason: 'WeightRaised',
      message: 'Canary v2 takes 10 % of requests.',
      lastTransitionTime: '2025-01-01T12:01:00Z',
    },
    FailoverActive: {
      status: 'False',
      reason: 'PrimaryHealthy',
      message: 'The primary region serves.',
      lastTransitionTime: '2025-01-01T12:00:00Z',
    },
  },
  regions: {
    'us-east-1': {
      role: 'primary',
      stable: { desired: 3, running: 3, pending: 0 },
      canary: { desired: 1, running: 1, pending: 0 },
      canaryWeight: 10,
      requestsPerMinute: 120,
      healthyTargets: 4,
    },
    'eu-west-1': {
      role: 'failover',
      stable: { desired: 2, running: 1, pending: 1 },
      canary: { desired: 1, running: 0, pending: 1 },
      canaryWeight: 10,
    },
  },
  cdn: { distributionId: 'E2QWRUHAPOMQZL', domainName: 'd111111abcdef8.cloudfront.net', state: 'Deployed' },
  canary: {
    tag: 'v2',
    phase: 'Progressing',
    weight: 10,
    failedChecks: 0,
    lastCheckAt: 0,
    message: 'step 1 of 4',
  },
  lastActions: [{ kind: 'UpdateService', target: 'demo-canary', region: 'us-east-1' }],
  errors: [{ kind: 'Unavailable', resource: 'demo-stable', message: HOSTILE_MESSAGE, region: 'eu-west-1' }],
};

const REGIONS = [
  { name: 'us-east-1', failed: false, dns: { healthy: true, answers: 'us-east-1' } },
  { name: 'eu-west-1', failed: true, dns: { healthy: false, answers: 'us-east-1' } },
];

interface FakeSource extends DashboardSource {
  body: string | undefined;
  calls: { region: string; queries: readonly MetricQuery[]; start: number; end: number }[];
  failSites: boolean;
  /** The CDN's counters as last read. */
  cdnStats: CdnStats;
  /** The origin that answers the CDN's traffic; each read of the counters adds a refresh's worth. */
  cdnOrigin: string;
}

/** What the fake CDN serves between two reads: 10 requests, 2 from the cache, 8 answered by `cdnOrigin`. */
function serveTraffic(source: FakeSource): void {
  const stats = source.cdnStats;
  // While the primary is down every miss tries it first, then fails over.
  const failingOver = source.cdnOrigin !== 'us-east-1';
  stats.requests += 10;
  stats.cacheHits += 2;
  stats.originRequests += failingOver ? 16 : 8;
  stats.failovers += failingOver ? 8 : 0;
  stats.byOrigin[source.cdnOrigin] = (stats.byOrigin[source.cdnOrigin] ?? 0) + 8;
}

/** A point a minute per query over [start, end), on whole periods, each query its own wave. */
function fakeSource(): FakeSource {
  const source: FakeSource = {
    periodSeconds: PERIOD_SECONDS,
    body: BODY,
    calls: [],
    failSites: false,
    cdnStats: { requests: 0, cacheHits: 0, originRequests: 0, failovers: 0, errors5xx: 0, byOrigin: {} },
    cdnOrigin: 'us-east-1',
    dashboardBody: () => source.body,
    metricData: (region, queries, start, end) => {
      source.calls.push({ region, queries, start, end });
      const step = PERIOD_SECONDS * 1000;
      const first = Math.ceil(start / 60_000) * 60_000;
      const times: number[] = [];
      for (let t = first; t < end; t += 60_000) times.push(Math.floor(t / step) * step);
      return Promise.resolve(
        queries.map((q, i): MetricSeries => ({
          id: q.id,
          points: times.map((timestamp, k) => ({
            timestamp,
            value: Math.round((8 + 4 * i + 3 * Math.sin(k / 2 + i)) * 10) / 10,
          })),
        })),
      );
    },
    sites: () =>
      source.failSites ? Promise.reject(new Error('status table unreachable')) : Promise.resolve([STATUS]),
    regions: () => REGIONS,
    cdn: () => {
      serveTraffic(source);
      return structuredClone(source.cdnStats);
    },
  };
  return source;
}

async function withPage<T>(
  run: (url: string, source: FakeSource) => Promise<T>,
  extraRoutes?: Parameters<typeof startDashboardPage>[0]['extraRoutes'],
): Promise<T> {
  const source = fakeSource();
  const page = await startDashboardPage({ source, ...(extraRoutes ? { extraRoutes } : {}) });
  try {
    return await run(`http://127.0.0.1:${page.port}`, source);
  } finally {
    await page.close();
  }
}

const QUERY: MetricQuery = {
  id: 'm0',
  namespace: 'AWS/ApplicationELB',
  metric: 'RequestCount',
  dimensions: { LoadBalancer: 'app/tandem/0123456789abcdef' },
  stat: 'Sum',
  periodSeconds: PERIOD_SECONDS,
};

function postMetricData(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/metric-data`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('the page server', () => {
  test('GET /api/dashboard returns the local period and the parsed dashboard body', () =>
    withPage(async (url) => {
      const response = await fetch(`${url}/api/dashboard`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { periodSeconds: PERIOD_SECONDS, body: JSON.parse(BODY) });
    }));

  test('GET /api/dashboard returns a null body before the reconciler writes one', () =>
    withPage(async (url, source) => {
      source.body = undefined;
      assert.deepEqual(await (await fetch(`${url}/api/dashboard`)).json(), {
        periodSeconds: PERIOD_SECONDS,
        body: null,
      });
    }));

  test('GET /api/sites returns the sites, regions and CDN counters the source gives', () =>
    withPage(async (url, source) => {
      const body = (await (await fetch(`${url}/api/sites`)).json()) as unknown;
      assert.deepEqual(body, { sites: [STATUS], regions: REGIONS, cdn: source.cdnStats });
      assert.deepEqual(source.cdnStats.byOrigin, { 'us-east-1': 8 }, 'read once');
    }));

  test('GET /api/sites returns a null cdn when the source has no CDN', () =>
    withPage(async (url, source) => {
      delete source.cdn;
      assert.deepEqual(await (await fetch(`${url}/api/sites`)).json(), {
        sites: [STATUS],
        regions: REGIONS,
        cdn: null,
      });
    }));

  test('POST /api/metric-data passes the request to the source and returns its series', () =>
    withPage(async (url, source) => {
      const response = await postMetricData(url, {
        region: 'us-east-1',
        queries: [QUERY],
        start: 0,
        end: 60_000,
      });
      assert.equal(response.status, 200);
      const { series } = (await response.json()) as { series: MetricSeries[] };
      assert.equal(series.length, 1);
      assert.equal(series[0]!.id, 'm0');
      assert.deepEqual(source.calls, [{ region: 'us-east-1', queries: [QUERY], start: 0, end: 60_000 }]);
    }));

  const valid = { region: 'us-east-1', queries: [QUERY], start: 0, end: 60_000 };
  const badBodies: [string, unknown, number, string][] = [
    ['not JSON', '{"region":', 400, 'body:'],
    ['an array', [], 400, 'body:'],
    ['no region', { ...valid, region: undefined }, 400, 'region:'],
    ['an unknown region', { ...valid, region: 'mars-1' }, 400, 'region:'],
    ['a string start', { ...valid, start: '0' }, 400, 'start:'],
    ['end before start', { ...valid, end: -1 }, 400, 'end:'],
    ['queries not an array', { ...valid, queries: {} }, 400, 'queries:'],
    [
      '501 queries',
      { ...valid, queries: Array.from({ length: 501 }, (_, i) => ({ ...QUERY, id: `m${i}` })) },
      400,
      'queries:',
    ],
    [
      'a query id with a capital first',
      { ...valid, queries: [{ ...QUERY, id: 'M0' }] },
      400,
      'queries[0].id:',
    ],
    ['a repeated id', { ...valid, queries: [QUERY, QUERY] }, 400, 'queries[1].id:'],
    [
      'an unknown namespace',
      { ...valid, queries: [{ ...QUERY, namespace: 'AWS/EC2' }] },
      400,
      'queries[0].namespace:',
    ],
    ['an empty metric', { ...valid, queries: [{ ...QUERY, metric: '' }] }, 400, 'queries[0].metric:'],
    [
      'a number dimension',
      { ...valid, queries: [{ ...QUERY, dimensions: { LoadBalancer: 7 } }] },
      400,
      'queries[0].dimensions.LoadBalancer:',
    ],
    ['an unknown stat', { ...valid, queries: [{ ...QUERY, stat: 'p99.9' }] }, 400, 'queries[0].stat:'],
    [
      'a fractional period',
      { ...valid, queries: [{ ...QUERY, periodSeconds: 1.5 }] },
      400,
      'queries[0].periodSeconds:',
    ],
    ['too many periods', { ...valid, end: 1e12 }, 400, 'queries[0].periodSeconds:'],
    ['a body over 1 MB', 'x'.repeat(MAX_REQUEST_BYTES + 1), 413, 'body:'],
  ];
  for (const [name, body, status, field] of badBodies) {
    test(`POST /api/metric-data refuses ${name} with ${status} naming ${field.replace(/:$/, '')}`, () =>
      withPage(async (url, source) => {
        const response = await postMetricData(url, body);
        assert.equal(response.status, status);
        const { error } = (await response.json()) as { error: string };
        assert.ok(error.startsWith(field), error);
        assert.equal(source.calls.length, 0);
      }));
  }

  test('GET /chart.js serves the Chart.js browser build with cache headers', () =>
    withPage(async (url) => {
      const response = await fetch(`${url}/chart.js`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /javascript/);
      assert.match(response.headers.get('cache-control') ?? '', /max-age=\d+/);
      assert.match(await response.text(), /Chart\.js v4\./);
      const again = await fetch(`${url}/chart.js`, {
        headers: { 'If-None-Match': response.headers.get('etag')! },
      });
      assert.equal(again.status, 304);
    }));

  test('unknown paths are 404 and extra routes see them first', () =>
    withPage(
      async (url) => {
        assert.equal((await fetch(`${url}/api/fail-region`)).status, 204);
        const missing = await fetch(`${url}/nope`);
        assert.equal(missing.status, 404);
        assert.match(((await missing.json()) as { error: string }).error, /nope/);
      },
      (req, res) => {
        if (req.url !== '/api/fail-region') return false;
        res.writeHead(204).end();
        return true;
      },
    ));

  test('a failing source is a 500 with its message and no stack', () =>
    withPage(async (url, source) => {
      source.failSites = true;
      const response = await fetch(`${url}/api/sites`);
      assert.equal(response.status, 500);
      const text = await response.text();
      assert.deepEqual(JSON.parse(text), { error: 'internal error: status table unreachable' });
      assert.doesNotMatch(text, /at .*\.ts/);
    }));

  test('requests from other web pages are refused', () =>
    withPage(async (url) => {
      const crossOrigin = await fetch(`${url}/api/sites`, { headers: { Origin: 'http://evil.example' } });
      assert.equal(crossOrigin.status, 403);
      // A page at evil.example whose name was rebound to 127.0.0.1 is same-origin to itself; its Host gives it away.
      const rebound = await new Promise<number | undefined>((resolve, reject) =>
        request(`${url}/api/sites`, { headers: { Host: 'evil.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end(),
      );
      assert.equal(rebound, 403);
    }));
});

describe('the page in a browser', () => {
  let chromium: LaunchedBrowser;
  let page: Page;
  /** Console errors and warnings, page errors and failed requests since the last `open`. */
  const problems: string[] = [];
  before(async () => {
    chromium = await launchChromium();
    // One page for all tests: a new page costs about a second on a busy machine.
    page = await chromium.browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
  });
  after(() => chromium?.close());

  /** Shows the page at `url` for `run`, then leaves it before the server stops, so no refresh fails. */
  async function open(url: string, run: () => Promise<void>): Promise<void> {
    problems.length = 0;
    await page.goto(url);
    try {
      await run();
    } finally {
      await page.goto('about:blank');
    }
  }

  test('shows the conditions, tasks and both regions charts with data, without console errors', () =>
    withPage((url) =>
      open(url, async () => {
        for (const name of ['us-east-1', 'eu-west-1']) {
          await page.waitForSelector(`canvas[data-widget-title*="${name}"][data-points]`, { timeout: 5000 });
        }
        const ready = page.locator('[data-site="demo"] [data-condition="Ready"]');
        assert.match(await ready.innerText(), /Ready: True[\s\S]*Both regions serve the spec\./);
        assert.equal(await ready.getAttribute('data-status'), 'True');
        assert.match(await page.locator('[data-condition="CanaryProgressing"]').innerText(), /WeightRaised/);
        const euRow = await page.locator('[data-site="demo"] tr[data-region="eu-west-1"]').innerText();
        const [where, ...cells] = euRow.split('\t');
        assert.match(where!, /eu-west-1 \(failover\)\s+FAILED/);
        assert.deepEqual(cells, ['2', '1', '1', '1', '0', '1', '10', '–', '–']);
        assert.match(await page.locator('#regions [data-region="eu-west-1"]').innerText(), /FAILED/);
        // DNS failover: the failed region's name answers the other region.
        assert.match(await page.locator('#regions [data-region="eu-west-1"]').innerText(), /DNS → us-east-1/);
        assert.doesNotMatch(await page.locator('#regions [data-region="us-east-1"]').innerText(), /→/);
        assert.equal(await page.locator('canvas[data-widget-title]').count(), 8);
        assert.equal(await page.locator('h2', { hasText: /^demo$/ }).count(), 1, 'the text widget heading');
        await page.screenshot({ path: join(artifactsDir(), 'local-dashboard.png'), fullPage: true });
        assert.deepEqual(problems, []);
      }),
    ));

  test('shows text from the source as text, never as markup', () =>
    withPage((url) =>
      open(url, async () => {
        await page.waitForSelector('[data-site="demo"]');
        assert.match(await page.locator('[data-site="demo"] ul.errors').innerText(), /deploy <img src=x/);
        assert.equal(await page.locator('img').count(), 0);
        assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
      }),
    ));

  test('the CDN panel shows traffic moving from us-east-1 to eu-west-1 when us-east-1 fails', () =>
    withPage((url, source) =>
      open(url, async () => {
        const share = (origin: string) => page.locator(`#cdn [data-origin="${origin}"]`);
        // Shares need two reads of the counters: the first refresh has nothing to compare with.
        await page.waitForSelector('#cdn [data-origin="us-east-1"][data-share="100"]', { timeout: 5000 });
        assert.equal(await share('eu-west-1').innerText(), 'eu-west-1 0 %');

        source.regions = () => [
          { name: 'us-east-1', failed: true },
          { name: 'eu-west-1', failed: false },
        ];
        source.cdnOrigin = 'eu-west-1';
        await page.waitForSelector('#cdn [data-origin="eu-west-1"][data-share="100"]', { timeout: 5000 });
        assert.equal(await share('eu-west-1').innerText(), 'eu-west-1 100 %');
        assert.equal(await share('us-east-1').innerText(), 'us-east-1 0 %');
        const panel = await page.locator('#cdn').innerText();
        assert.match(panel, /\d+\.\d req\/s/);
        assert.match(panel, /20 % cache hits/);
        assert.match(panel, /[1-9]\d*\.\d failovers\/s/);
        assert.match(panel, /0\.0 5xx\/s/);
        assert.match(panel, /since start: \d+ requests · 20 % from cache · [1-9]\d* failovers · 0 5xx/);
        await page.screenshot({ path: join(artifactsDir(), 'local-dashboard-cdn.png'), fullPage: true });
        assert.deepEqual(problems, []);
      }),
    ));

  test('waits for the first dashboard, then redraws when the reconciler writes a new one', () =>
    withPage((url, source) => {
      source.body = undefined;
      return open(url, async () => {
        await page.getByText("waiting for the reconciler's first dashboard").waitFor({ timeout: 5000 });
        source.body = BODY;
        await page.waitForSelector('canvas[data-points]', { timeout: 5000 });
        assert.deepEqual(problems, []);
        source.body = dashboardBody([{ site: 'demo', regions: [region('us-east-1', 'primary')] }]);
        await page.waitForSelector('canvas[data-widget-title*="eu-west-1"]', {
          state: 'detached',
          timeout: 5000,
        });
        assert.equal(await page.locator('canvas').count(), 4);
        const charts = await page.evaluate(
          () =>
            Object.keys((globalThis as unknown as { Chart: { instances: object } }).Chart.instances).length,
        );
        assert.equal(charts, 4, 'the charts of the old body are destroyed');
      });
    }));
});
