// The tandem demo site: a dependency-free Node HTTP server (plain ESM, Node 20+).
//
//   GET /                      HTML page: version, region, task id and an <img> of the site image
//   GET /assets/site.<h>.png   the image under a content-hashed name (h = first 12 hex of its SHA-256)
//   GET /healthz               200 "ok"; 503 "draining" once shutdown has begun
//   GET /slow?ms=N             test-only, when TANDEM_TEST_ROUTES=1: answers 200 after N ms (max 10000)
//   anything else              404 (405 for methods other than GET/HEAD on a known path)
//
// Environment: PORT (default 8080), HOST (default all interfaces), TANDEM_VERSION (default: the
// VERSION file next to this script, else v1), TANDEM_REGION (default "local"), TANDEM_TASK_ID
// (default <hostname>-<pid>), TANDEM_DRAIN_DELAY_MS (default 0), TANDEM_DRAIN_TIMEOUT_MS
// (default 10000), TANDEM_TEST_ROUTES.
//
// Shutdown (SIGTERM or SIGINT): /healthz turns 503 at once; the listener keeps accepting for
// TANDEM_DRAIN_DELAY_MS (so a load balancer's health check can see the 503 and stop sending
// traffic), then stops accepting; in-flight requests finish and the process exits 0. If that takes
// longer than TANDEM_DRAIN_TIMEOUT_MS (counted from the signal), remaining connections are cut and
// the process exits 1.
//
// Stdout carries JSON lines only: one {"event":"listening",...} line at startup (with the real
// port, so PORT=0 works), one line per request ({"method","path","status","ms",...}), and
// {"event":"draining"}, {"event":"closing"} and {"event":"exit","code":N} around shutdown.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { URL, URLSearchParams } from 'node:url';
import process from 'node:process';

const env = process.env;

function readVersionFile() {
  try {
    return readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim();
  } catch {
    return '';
  }
}

const VERSION = env.TANDEM_VERSION || readVersionFile() || 'v1';
const REGION = env.TANDEM_REGION || 'local';
const TASK_ID = env.TANDEM_TASK_ID || `${hostname()}-${process.pid}`;
const PORT = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
const HOST = env.HOST || undefined;
const DRAIN_DELAY_MS = Number(env.TANDEM_DRAIN_DELAY_MS || 0);
const DRAIN_TIMEOUT_MS = Number(env.TANDEM_DRAIN_TIMEOUT_MS || 10_000);
const TEST_ROUTES = env.TANDEM_TEST_ROUTES === '1';

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  process.stderr.write(`invalid PORT ${JSON.stringify(env.PORT)}\n`);
  process.exit(2);
}

// The HTML may be cached briefly (by the CDN and browsers) so a rollout shows within seconds;
// the image is immutable because its URL changes whenever its bytes do.
const HTML_CACHE = 'public, max-age=10';
const ASSET_CACHE = 'public, max-age=31536000, immutable';

const image = readFileSync(new URL('./assets/site.png', import.meta.url));
const imageHash = createHash('sha256').update(image).digest('hex').slice(0, 12);
const IMAGE_PATH = `/assets/site.${imageHash}.png`;

// Heading colour by version, so v1 and v2 are told apart at a glance.
const COLOURS = { v1: '#1f6feb', v2: '#2da44e' };
const colour = COLOURS[VERSION] ?? '#8250df';

const escapeHtml = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

const page = Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tandem ${escapeHtml(VERSION)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
  h1 { color: ${colour}; }
  dl { display: grid; grid-template-columns: max-content auto; gap: 0.25rem 1rem; }
  dt { font-weight: 600; }
</style>
</head>
<body data-version="${escapeHtml(VERSION)}">
<h1>Welcome to version ${escapeHtml(VERSION)}</h1>
<dl>
  <dt>Version</dt><dd id="version">${escapeHtml(VERSION)}</dd>
  <dt>Region</dt><dd id="region">${escapeHtml(REGION)}</dd>
  <dt>Task</dt><dd id="task">${escapeHtml(TASK_ID)}</dd>
</dl>
<img src="${IMAGE_PATH}" width="320" height="160" alt="tandem site image">
</body>
</html>
`);

const log = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);

let draining = false;

function send(req, res, status, headers, body) {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Length': buf.length,
    'X-Content-Type-Options': 'nosniff',
    'X-Tandem-Version': VERSION,
    'X-Tandem-Region': REGION,
    'X-Tandem-Task': TASK_ID,
    ...(draining ? { Connection: 'close' } : {}),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

const text = (cache) => ({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': cache });

function route(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  const known =
    path === '/' || path === IMAGE_PATH || path === '/healthz' || (TEST_ROUTES && path === '/slow');
  if (!known) return send(req, res, 404, text('no-store'), 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(req, res, 405, { ...text('no-store'), Allow: 'GET, HEAD' }, 'method not allowed\n');
  }
  switch (path) {
    case '/':
      return send(
        req,
        res,
        200,
        { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': HTML_CACHE },
        page,
      );
    case IMAGE_PATH:
      return send(
        req,
        res,
        200,
        { 'Content-Type': 'image/png', 'Cache-Control': ASSET_CACHE, ETag: `"${imageHash}"` },
        image,
      );
    case '/healthz':
      return draining
        ? send(req, res, 503, text('no-store'), 'draining\n')
        : send(req, res, 200, text('no-store'), 'ok\n');
    case '/slow': {
      const ms = Math.min(
        Math.max(Number(new URLSearchParams(req.url.split('?')[1] ?? '').get('ms')) || 0, 0),
        10_000,
      );
      log({ event: 'slow-start', ms }); // lets a test know the request is in flight
      setTimeout(() => send(req, res, 200, text('no-store'), `slept ${ms}ms\n`), ms);
      return;
    }
  }
}

const server = createServer((req, res) => {
  const start = performance.now();
  res.once('close', () => {
    log({
      method: req.method,
      path: (req.url ?? '/').split('?')[0],
      status: res.statusCode,
      ms: Math.round((performance.now() - start) * 10) / 10,
      ...(res.writableFinished ? {} : { aborted: true }),
    });
  });
  try {
    route(req, res);
  } catch (err) {
    process.stderr.write(`${err?.stack ?? err}\n`);
    if (!res.headersSent) send(req, res, 500, text('no-store'), 'internal error\n');
    else res.destroy();
  }
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  log({ event: 'listening', port, version: VERSION, region: REGION, task: TASK_ID, image: IMAGE_PATH });
});

function shutdown(signal) {
  if (draining) return;
  draining = true;
  log({ event: 'draining', signal, delayMs: DRAIN_DELAY_MS, timeoutMs: DRAIN_TIMEOUT_MS });
  setTimeout(() => {
    log({ event: 'exit', code: 1, reason: `drain timeout after ${DRAIN_TIMEOUT_MS}ms` });
    server.closeAllConnections();
    process.exit(1);
  }, DRAIN_TIMEOUT_MS).unref();
  setTimeout(() => {
    // Stop accepting connections and drop idle keep-alive ones; busy ones close after their
    // response (send() adds Connection: close while draining). close()'s callback runs once the
    // last connection has gone.
    server.close(() => {
      log({ event: 'exit', code: 0 });
      process.exit(0);
    });
    server.closeIdleConnections();
    log({ event: 'closing' }); // the listener is closed by now
  }, DRAIN_DELAY_MS);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
