// End to end on the local cloud: real task processes, real load balancers and CDN on sockets, the
// spec store on dynalite, and the CLI run as a user runs it. Slow by nature (about a minute and a half).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCALE_IN_GATE_WINDOWS } from '../controller/decide/autoscaler.ts';
import { runLoad, type LoadSummary } from '../controller/cli/load.ts';
import type { LocalCloud } from '../controller/providers/local/cloud.ts';
import { artifactsDir, launchChromium } from './support/browser.ts';
import {
  ready,
  siteSummary,
  specFile,
  startTestCloud,
  status,
  tandem,
  waitFor,
} from './support/local-cloud.ts';

const INTERVAL_SECONDS = 3;
const interval = INTERVAL_SECONDS * 1000;

/** A local cloud whose passes and metric periods are INTERVAL_SECONDS apart. */
const startCloud = () =>
  startTestCloud({ intervalSeconds: INTERVAL_SECONDS, periodSeconds: INTERVAL_SECONDS });

const share = (summary: LoadSummary, key: 'byVersion' | 'byRegion', value: string) =>
  ((summary[key][value] ?? 0) / summary.sent) * 100;

describe('the demo site on the local cloud', () => {
  let cloud: LocalCloud;
  let dir: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ cloud, dir, stop } = await startCloud());
    const applied = await tandem(dir, ['apply', '-f', 'specs/demo.json']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /site demo created \(generation 1\) in the local cloud \(/);
    await waitFor('the demo site to be ready', () => ready(cloud, 'demo'), 60_000);
  });

  after(() => stop());

  test('tandem get and describe read the local store while the local cloud runs, and say so', async () => {
    const get = await tandem(dir, ['get']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.split('\n')[0], `From the local cloud (${dir}):`);
    assert.match(get.stdout, /demo\s+1\s+1\s+True\s+Converged/);
    const describe = await tandem(dir, ['describe', 'demo']);
    assert.equal(describe.stdout.split('\n')[0], `From the local cloud (${dir}):`);
    assert.match(describe.stdout, /us-east-1\s+primary/);
    assert.match(describe.stdout, /eu-west-1\s+failover/);
    // The local cloud has a domain, so the CDN reaches each region through its DNS failover name.
    assert.match(describe.stdout, /DNS failover: on/);
  });

  test('with the demo canary at 15 %, v2 serves 15 % ± 3 % of 2000 requests through the CDN', async () => {
    const summary = await runLoad({ url: cloud.endpoints!.cdn, rps: 200, durationSeconds: 10 });
    assert.equal(summary.sent, 2000);
    assert.equal(summary.ok, 2000, JSON.stringify(summary.statuses));
    const v2 = share(summary, 'byVersion', 'v2');
    assert.ok(Math.abs(v2 - 15) <= 3, `v2 served ${v2.toFixed(1)} %`);
  });

  test('after tandem apply with weight 50, v2 serves 50 % ± 4 % within 3 reconcile intervals', async () => {
    const file = specFile(dir, 'demo-50', (d) => {
      d.spec.canary!.weight = 50;
    });
    const applied = await tandem(dir, ['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const { elapsedMs } = await waitFor(
      'the canary weight to reach 50 in both regions',
      async () => {
        const s = await status(cloud, 'demo');
        const weights = Object.values(s?.regions ?? {}).map((r) => r.canaryWeight);
        return weights.length === 2 && weights.every((w) => w === 50) ? true : undefined;
      },
      3 * interval + 2000,
    );
    assert.ok(elapsedMs <= 3 * interval + 1000, `took ${elapsedMs} ms`);
    const summary = await runLoad({ url: cloud.endpoints!.cdn, rps: 200, durationSeconds: 10 });
    assert.equal(summary.ok, 2000, JSON.stringify(summary.statuses));
    const v2 = share(summary, 'byVersion', 'v2');
    assert.ok(Math.abs(v2 - 50) <= 4, `v2 served ${v2.toFixed(1)} %`);
  });

  test('fail-region us-east-1 under 50 rps: at least 99.9 % succeed from eu-west-1, and FailoverActive shows', async () => {
    const load = tandem(dir, ['load', '--rps', '50', '--duration', '16', '-o', 'json']);
    await sleep(4000);
    const failed = await tandem(dir, ['fail-region', 'us-east-1']);
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(failed.stdout, /us-east-1 is failed/);
    await waitFor(
      'FailoverActive',
      async () =>
        (await status(cloud, 'demo'))?.conditions.FailoverActive?.status === 'True' ? true : undefined,
      3 * interval,
    );
    const result = await load;
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as LoadSummary;
    assert.equal(summary.sent, 800);
    assert.ok(summary.successPercent >= 99.9, `only ${summary.successPercent} % succeeded`);
    assert.ok(
      (summary.byRegion['eu-west-1'] ?? 0) > 400,
      `eu-west-1 served ${summary.byRegion['eu-west-1']}`,
    );

    const healed = await tandem(dir, ['heal-region', 'us-east-1']);
    assert.equal(healed.code, 0, healed.stderr);
    // The holder asked eu-west-1 first while us-east-1 failed; us-east-1 is first again once it has
    // been healthy for 10 metric periods (50 s here), not at its first good minute.
    const first = () => Object.values(cloud.sim.world.distributions)[0]?.config.originGroup?.primaryOriginId;
    await waitFor(
      'us-east-1 to be asked first again',
      () => (first() === 'us-east-1' ? true : undefined),
      120_000,
    );
    const after = await runLoad({ url: cloud.endpoints!.cdn, rps: 50, durationSeconds: 2 });
    assert.equal(after.byRegion['us-east-1'], after.sent, 'heal-region returns traffic to us-east-1');
    await waitFor(
      'FailoverActive to clear',
      async () =>
        (await status(cloud, 'demo'))?.conditions.FailoverActive?.status === 'False' ? true : undefined,
      3 * interval,
    );
  });

  test('tandem promote under 30 rps rolls every region over to v2 without a failed request', async () => {
    // The earlier loads scaled the regions up to the local cloud's capacity; a short window brings
    // them back down, leaving room for the rollout's new tasks beside the old ones (as on Fargate).
    const file = specFile(dir, 'demo-short-window', (d) => {
      d.spec.canary!.weight = 50;
      d.spec.scaling['scaleInStabilizationSeconds'] = 2 * INTERVAL_SECONDS;
    });
    assert.equal((await tandem(dir, ['apply', '-f', file])).code, 0);
    await waitFor(
      'the regions to scale back in',
      async () => {
        const s = await ready(cloud, 'demo');
        const tasks = Object.values(s?.regions ?? {}).map((r) => r.stable.desired + r.canary.desired);
        return tasks.length === 2 && tasks.every((n) => n <= 4) ? true : undefined;
      },
      20 * interval,
      () => siteSummary(cloud, 'demo'),
    );

    const load = runLoad({ url: cloud.endpoints!.cdn, rps: 30, durationSeconds: 8 * INTERVAL_SECONDS });
    await sleep(2000);
    const promoted = await tandem(dir, ['promote', 'demo']);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /canary promoted to stable/);
    const summary = await load;
    assert.equal(summary.failed, 0, JSON.stringify(summary.statuses));
    const { value: done } = await waitFor(
      'the rollout to finish',
      async () => {
        const s = await ready(cloud, 'demo');
        return s !== undefined && Object.values(s.regions).every((r) => r.canary.desired === 0)
          ? s
          : undefined;
      },
      10 * interval,
      () => siteSummary(cloud, 'demo'),
    );
    assert.ok(done);
    const after = await runLoad({ url: cloud.endpoints!.cdn, rps: 50, durationSeconds: 2 });
    assert.equal(after.byVersion['v2'], after.sent, 'every request is served by v2');
  });

  test('fail-region names the regions when given one the local cloud does not have', async () => {
    const result = await tandem(dir, ['fail-region', 'ap-south-1']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /no region ap-south-1 in the local cloud; its regions are us-east-1, eu-west-1/,
    );
  });

  test('fail-region --mode says how the load balancer fails, and refuses a mode it does not know', async () => {
    const hang = await tandem(dir, ['fail-region', 'eu-west-1', '--mode', 'hang']);
    try {
      assert.equal(hang.code, 0, hang.stderr);
      assert.match(hang.stdout, /accepts connections and never answers/);
      assert.match(
        hang.stdout,
        /after each request's response timeout \(the spec's cdn.responseTimeoutSeconds\)/,
      );
    } finally {
      assert.equal((await tandem(dir, ['heal-region', 'eu-west-1'])).code, 0);
    }
    const bad = await tandem(dir, ['fail-region', 'eu-west-1', '--mode', 'slow']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Allowed choices are refuse, blackhole, hang, errors/);
    const heal = await tandem(dir, ['heal-region', 'eu-west-1', '--mode', 'hang']);
    assert.equal(heal.code, 1, 'heal-region takes no mode');
  });

  test("fail-cdn-api makes CloudFront's API unreachable until heal-cdn-api; the CDN keeps serving", async () => {
    const down = await tandem(dir, ['fail-cdn-api']);
    try {
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /CloudFront's API is unreachable/);
      assert.match(down.stdout, /only DNS failover moves traffic/);
      await assert.rejects(cloud.sim.cdn.listDistributions(), { kind: 'Unavailable' });
      assert.equal((await fetch(cloud.endpoints!.cdn)).status, 200);
    } finally {
      const up = await tandem(dir, ['heal-cdn-api']);
      assert.equal(up.code, 0, up.stderr);
    }
    assert.ok((await cloud.sim.cdn.listDistributions()).items.length > 0);
  });

  test('in a real browser, the site shows its text and image, and the dashboard charts both regions', async () => {
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(cloud.endpoints!.cdn);
      assert.match((await page.textContent('h1')) ?? '', /Welcome to version v[12]/);
      // Evaluated in the page (a string: this project's TypeScript has no DOM types).
      await page.waitForFunction(
        "(() => { const img = document.querySelector('img'); return img !== null && img.complete && img.naturalWidth > 0; })()",
      );
      await page.screenshot({ path: join(artifactsDir(), 'local-cloud-site.png'), fullPage: true });

      await page.goto(cloud.endpoints!.dashboard);
      for (const region of ['us-east-1', 'eu-west-1']) {
        await page.waitForSelector(`canvas[data-points][data-widget-title*="${region}"]`, {
          timeout: 20_000,
        });
      }
      assert.match((await page.textContent('body')) ?? '', /FailoverActive|Ready/);
      await page.screenshot({ path: join(artifactsDir(), 'local-cloud-dashboard.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});

describe('the scaling loop on the local cloud', () => {
  let cloud: LocalCloud;
  let dir: string;
  let stop: () => Promise<void>;
  const window = 12;

  before(async () => {
    ({ cloud, dir, stop } = await startCloud());
    const file = specFile(dir, 'scaling', (d) => {
      d.metadata.name = 'scaling';
      delete d.spec.canary;
      d.spec.regions = [
        { name: 'us-east-1', role: 'primary', minTasks: 1, maxTasks: 4 },
        { name: 'eu-west-1', role: 'failover', minTasks: 1, maxTasks: 2 },
      ];
      d.spec.scaling = { targetRequestsPerTaskPerMinute: 300, scaleInStabilizationSeconds: window };
    });
    const applied = await tandem(dir, ['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor('the site to be ready', () => ready(cloud, 'scaling'), 60_000);
  });

  after(() => stop());

  const running = () => cloud.sim.world.regions['us-east-1']?.services['scaling-stable']?.runningCount ?? 0;

  test('load above the target raises the primary region’s running tasks within 3 intervals; after the load stops they return to minTasks after the scale-in gate', async () => {
    assert.equal(running(), 1);
    // 20 requests a second is 1200 a minute: four tasks at 300 each.
    const load = runLoad({ url: cloud.endpoints!.cdn, rps: 20, durationSeconds: 4 * INTERVAL_SECONDS + 6 });
    const up = await waitFor(
      'more running tasks',
      () => (running() > 1 ? running() : undefined),
      3 * interval + 2000,
    );
    assert.ok(up.elapsedMs <= 3 * interval + 1000, `took ${up.elapsedMs} ms`);
    const summary = await load;
    assert.ok(summary.successPercent >= 99.9, `${summary.successPercent} % succeeded during scale-out`);
    assert.equal(running(), 4, 'the load needs four tasks');

    const stoppedAt = Date.now();
    // Scale-in waits for the gate: three stabilization windows of lower recommendations.
    const gate = SCALE_IN_GATE_WINDOWS * window;
    const down = await waitFor(
      'back to minTasks',
      () => (running() === 1 ? true : undefined),
      (gate + 6 * INTERVAL_SECONDS) * 1000,
    );
    const seconds = (Date.now() - stoppedAt) / 1000;
    assert.ok(seconds >= gate - INTERVAL_SECONDS, `scaled in after ${seconds} s, inside the ${gate} s gate`);
    assert.ok(down.value);
  });
});

describe('progressive delivery on the local cloud', () => {
  let cloud: LocalCloud;
  let dir: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ cloud, dir, stop } = await startCloud());
  });

  after(() => stop());

  test('under real traffic the canary steps up to maxWeight on the measured metrics, then promote: auto makes it stable', async () => {
    const document = JSON.parse(readFileSync('specs/progressive.json', 'utf8')) as {
      spec: { canary: { analysis: Record<string, unknown> } };
    };
    document.spec.canary.analysis['intervalSeconds'] = 10; // the schema's shortest
    const file = join(dir, 'progressive.json');
    writeFileSync(file, JSON.stringify(document));
    // Traffic from the start: a check with no canary traffic to judge fails, as in Flagger.
    const stopLoad = new AbortController();
    const load = runLoad({
      url: cloud.endpoints!.cdn,
      rps: 20,
      durationSeconds: 120,
      signal: stopLoad.signal,
    });
    assert.equal((await tandem(dir, ['apply', '-f', file])).code, 0);

    const weights = new Set<number>();
    const watch = setInterval(() => {
      void status(cloud, 'shop').then((s) => {
        if (s?.canary !== undefined) weights.add(s.canary.weight);
      });
    }, 500);
    try {
      await waitFor(
        'the canary to be promoted',
        async () => {
          const stored = await cloud.portsOf('us-east-1').store.getSpec('shop');
          const spec = (stored?.document as { spec: { image: { tag: string }; canary?: unknown } }).spec;
          return spec.image.tag === 'v2' && spec.canary === undefined ? true : undefined;
        },
        90_000,
        () => siteSummary(cloud, 'shop'),
      );
    } finally {
      clearInterval(watch);
      stopLoad.abort();
    }
    // 10 a step up to 50, each after a passing check of the canary's success rate and p95 latency.
    assert.deepEqual(
      [...weights].filter((w) => w > 0).sort((a, b) => a - b),
      [10, 20, 30, 40, 50],
    );
    const summary = await load;
    // The CDN answers 503 until the site's distribution exists; after that nothing fails.
    assert.ok(summary.ok > 0.8 * summary.sent, JSON.stringify(summary.statuses));
  });
});

// Keeps the browser's screenshots findable from the CI log.
after(() =>
  writeFileSync(join(artifactsDir(), 'README.txt'), 'Screenshots from test/local-cloud.test.ts.\n'),
);
