import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The site container's server, run as a real child process on a real socket.

const SITE_DIR = fileURLToPath(new URL('../containers/site/', import.meta.url));
const SERVER = join(SITE_DIR, 'server.mjs');
const PNG_FILE = join(SITE_DIR, 'assets', 'site.png');

type LogLine = Record<string, unknown>;

/** Every test is bounded, so a server that fails to drain fails the test instead of hanging the suite. */
const BOUNDED = { timeout: 5_000 };

interface Site {
  child: ChildProcessWithoutNullStreams;
  port: number;
  lines: LogLine[];
  /** Resolves with the first log line matching `pred` (already seen or yet to come). */
  waitFor(pred: (l: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];

async function startSite(env: Record<string, string> = {}): Promise<Site> {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stdout }).on('line', (raw) => {
    const line = JSON.parse(raw) as LogLine; // stdout must be JSON lines only
    lines.push(line);
    for (const w of waiters.splice(0)) {
      if (w.pred(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const waitFor = (pred: (l: LogLine) => boolean) =>
    new Promise<LogLine>((resolve) => {
      const seen = lines.find(pred);
      if (seen) resolve(seen);
      else waiters.push({ pred, resolve });
    });
  const listening = await Promise.race([
    waitFor((l) => l.event === 'listening'),
    exited.then((code) => {
      throw new Error(`site exited with ${code} before listening: ${stderr}`);
    }),
  ]);
  return { child, port: listening.port as number, lines, waitFor, exited };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a fresh connection (no agent, no keep-alive pooling). */
function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function run(args: string[], env: Record<string, string> = {}): Promise<number | null> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const imgSrc = (html: string) => /<img[^>]*\ssrc="([^"]+)"/.exec(html)?.[1];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined,
    ),
  );
  for (const c of children) {
    assert.throws(() => process.kill(c.pid!, 0), { code: 'ESRCH' }, `site process ${c.pid} is still running`);
  }
});

describe('site v1', BOUNDED, () => {
  let site: Site;
  before(async () => {
    site = await startSite({ TANDEM_REGION: 'eu-west-1', TANDEM_TASK_ID: 'task-abc123' });
  });
  after(async () => {
    site.child.kill('SIGTERM');
    assert.equal(await site.exited, 0);
  });

  test('GET / serves the page with version, region and task id, briefly cacheable', BOUNDED, async () => {
    const res = await get(site.port, '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'public, max-age=10');
    const html = res.body.toString();
    assert.match(html, /Welcome to version v1/);
    assert.match(html, /eu-west-1/);
    assert.match(html, /task-abc123/);
    assert.equal(res.headers['x-tandem-version'], 'v1');
  });

  test('the page references the image by its content hash', BOUNDED, async () => {
    const html = (await get(site.port, '/')).body.toString();
    const hash = createHash('sha256').update(readFileSync(PNG_FILE)).digest('hex').slice(0, 12);
    assert.equal(imgSrc(html), `/assets/site.${hash}.png`);
  });

  test(
    'the image is served with its exact bytes, image/png and an immutable cache header',
    BOUNDED,
    async () => {
      const src = imgSrc((await get(site.port, '/')).body.toString());
      assert.ok(src);
      const res = await get(site.port, src);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.deepEqual(res.body, readFileSync(PNG_FILE));
    },
  );

  test('HEAD answers with the headers and no body', BOUNDED, async () => {
    const res = await get(site.port, '/', 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(Number(res.headers['content-length']) > 0);
    assert.equal(res.body.length, 0);
  });

  test('/healthz answers 200 ok, and the container healthcheck passes', BOUNDED, async () => {
    const res = await get(site.port, '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString().trim(), 'ok');
    assert.equal(await run([join(SITE_DIR, 'healthcheck.mjs')], { PORT: String(site.port) }), 0);
  });

  test('unknown paths answer 404, other methods 405, test routes are off by default', BOUNDED, async () => {
    assert.equal((await get(site.port, '/nope')).status, 404);
    assert.equal((await get(site.port, '/assets/site.000000000000.png')).status, 404);
    assert.equal((await get(site.port, '/slow?ms=1')).status, 404);
    const post = await get(site.port, '/', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
  });

  test('each request is logged as one JSON line with method, path, status and ms', BOUNDED, async () => {
    await get(site.port, '/nope?x=1');
    const line = await site.waitFor((l) => l.path === '/nope' && l.method === 'GET');
    assert.equal(line.status, 404);
    assert.equal(typeof line.ms, 'number');
  });
});

test('TANDEM_VERSION=v2 shows v2 with a different heading colour', BOUNDED, async () => {
  const v1 = await startSite();
  const v2 = await startSite({ TANDEM_VERSION: 'v2' });
  const html1 = (await get(v1.port, '/')).body.toString();
  const html2 = (await get(v2.port, '/')).body.toString();
  assert.match(html2, /Welcome to version v2/);
  assert.doesNotMatch(html2, /version v1/);
  const colour = (html: string) => /h1 \{ color: ([^;]+);/.exec(html)?.[1];
  assert.ok(colour(html1));
  assert.notEqual(colour(html1), colour(html2));
  // Without TANDEM_TASK_ID the task id is hostname-pid.
  assert.match(html1, new RegExp(`-${v1.child.pid}<`));
  v1.child.kill('SIGTERM');
  v2.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([v1.exited, v2.exited]), [0, 0]);
});

test(
  'SIGTERM drains: the in-flight request completes, new connections are refused, exit 0',
  BOUNDED,
  async () => {
    const site = await startSite({ TANDEM_TEST_ROUTES: '1' });
    const slow = get(site.port, '/slow?ms=400');
    await site.waitFor((l) => l.event === 'slow-start'); // the slow request is in flight
    site.child.kill('SIGTERM');
    await site.waitFor((l) => l.event === 'closing');
    await assert.rejects(get(site.port, '/healthz'), { code: 'ECONNREFUSED' });
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(await site.exited, 0);
    assert.ok(site.lines.some((l) => l.path === '/slow' && l.status === 200));
  },
);

test('during the drain delay /healthz answers 503 while pages still serve', BOUNDED, async () => {
  const site = await startSite({ TANDEM_DRAIN_DELAY_MS: '300' });
  site.child.kill('SIGTERM');
  await site.waitFor((l) => l.event === 'draining');
  const health = await get(site.port, '/healthz');
  assert.equal(health.status, 503);
  assert.equal((await get(site.port, '/')).status, 200);
  assert.equal(await site.exited, 0);
});

test('a drain that outlasts the timeout cuts connections and exits 1', BOUNDED, async () => {
  const site = await startSite({ TANDEM_TEST_ROUTES: '1', TANDEM_DRAIN_TIMEOUT_MS: '200' });
  const slow = get(site.port, '/slow?ms=5000').catch((e: Error) => e);
  await site.waitFor((l) => l.event === 'slow-start');
  site.child.kill('SIGTERM');
  assert.equal(await site.exited, 1);
  assert.ok((await slow) instanceof Error);
});

test('the committed PNG is what make-image.mjs generates, 320x160 with a valid IHDR', BOUNDED, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-site-'));
  try {
    const out = join(dir, 'site.png');
    assert.equal(await run([join(SITE_DIR, 'make-image.mjs'), out]), 0);
    const png = readFileSync(PNG_FILE);
    assert.deepEqual(readFileSync(out), png);
    assert.deepEqual(png.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    assert.equal(png.readUInt32BE(16), 320);
    assert.equal(png.readUInt32BE(20), 160);
    assert.equal(png.subarray(-8, -4).toString('ascii'), 'IEND');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
