import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GET_METRIC_DATA_MAX, type MetricQuery } from '../../ports/metrics.ts';
import { DASHBOARD_HTML } from './dashboard-html.ts';
import type { DashboardSource } from './types.ts';
import { listen } from './listen.ts';

export interface DashboardPageOptions {
  /** What the page draws: the dashboard body, metrics, site status, regions and the CDN's counters. */
  source: DashboardSource;
  /** Interface to listen on. Default `127.0.0.1`: the page (and any extra routes) are for this machine only. */
  host?: string;
  /** Port to listen on. Default 0: any free port (the local cloud passes 8090). */
  port?: number;
  /**
   * Called for requests the page does not serve itself, so the local cloud can add its
   * control API on the same port. Return true if it handled (or will handle) the request;
   * false gives a 404.
   */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface DashboardPage {
  /** The port it listens on (the chosen one when `port` was 0). */
  port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** The largest request body the page reads; a full GetMetricData call is far smaller. */
export const MAX_REQUEST_BYTES = 1_000_000;
/** GetMetricData returns at most this many datapoints per query. */
const MAX_POINTS_PER_QUERY = 100_800;
const MAX_DIMENSIONS = 30;

/**
 * Serves the local dashboard: the same dashboard body the reconciler writes to
 * CloudWatch, drawn from the local cloud's metrics, with each site's status above it.
 */
export async function startDashboardPage(options: DashboardPageOptions): Promise<DashboardPage> {
  const host = options.host ?? '127.0.0.1';
  const assets = new Assets();
  const server = createServer((req, res) => {
    handle(req, res, options, host, assets).catch((error: unknown) => sendError(res, error));
  });
  const port = await listen(server, options.port ?? 0, host);
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

/** A request the page refuses, with the status and a message naming what is wrong. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: DashboardPageOptions,
  host: string,
  assets: Assets,
): Promise<void> {
  refuseOtherSites(req, host);
  const { source } = options;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = ROUTES.get(path);
  if (route === undefined) {
    if (options.extraRoutes?.(req, res) === true) return;
    throw new RequestError(404, `nothing at ${path}`);
  }
  if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
    res.setHeader('Allow', route.method === 'GET' ? 'GET, HEAD' : route.method);
    throw new RequestError(405, `${path} takes ${route.method}`);
  }
  switch (route.name) {
    case 'page':
      return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, {
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      });
    case 'chart.js':
      return sendAsset(req, res, await assets.chartJs(), 'public, max-age=86400');
    case 'client':
      return sendAsset(req, res, await assets.client(), 'no-cache');
    case 'dashboard': {
      const body = source.dashboardBody();
      return sendJson(res, 200, { periodSeconds: source.periodSeconds, body: parseBody(body) });
    }
    case 'sites':
      return sendJson(res, 200, {
        sites: await source.sites(),
        regions: source.regions(),
        cdn: source.cdn?.() ?? null,
      });
    case 'metric-data': {
      const request = parseMetricDataRequest(
        await readJson(req),
        source.regions().map((r) => r.name),
      );
      const series = await source.metricData(request.region, request.queries, request.start, request.end);
      return sendJson(res, 200, { series });
    }
  }
}

function parseBody(body: string | undefined): unknown {
  if (body === undefined) return null;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new Error(`the dashboard body is not valid JSON: ${(error as Error).message}`);
  }
}

type RouteName = 'page' | 'chart.js' | 'client' | 'dashboard' | 'sites' | 'metric-data';
const ROUTES: ReadonlyMap<string, { name: RouteName; method: 'GET' | 'POST' }> = new Map([
  ['/', { name: 'page', method: 'GET' }],
  ['/chart.js', { name: 'chart.js', method: 'GET' }],
  ['/dashboard.js', { name: 'client', method: 'GET' }],
  ['/api/dashboard', { name: 'dashboard', method: 'GET' }],
  ['/api/sites', { name: 'sites', method: 'GET' }],
  ['/api/metric-data', { name: 'metric-data', method: 'POST' }],
]);

// The page loads only its own scripts and talks only to this server.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Other web pages in the same browser must not drive the local cloud: a cross-origin
 * request is refused, and so is a loopback server reached by another name (DNS rebinding).
 */
function refuseOtherSites(req: IncomingMessage, host: string): void {
  const hostHeader = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostHeader}`)
    throw new RequestError(403, `requests from ${origin} are refused: the page serves only itself`);
  const boundToLoopback = LOOPBACK.test(host) || host === '::1';
  if (boundToLoopback && !LOOPBACK.test(hostnameOf(hostHeader)))
    throw new RequestError(403, `Host ${hostHeader || '(none)'} is not this machine`);
}

function hostnameOf(hostHeader: string): string {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return '';
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const tooLarge = () =>
    new RequestError(413, `body: larger than ${MAX_REQUEST_BYTES} bytes; send fewer queries a call`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new RequestError(400, 'body: not valid JSON');
  }
}

interface MetricDataRequest {
  region: string;
  queries: MetricQuery[];
  start: number;
  end: number;
}

// Records keyed by the union, so a value added to MetricQuery's types must be added here too.
const NAMESPACES: Record<MetricQuery['namespace'], true> = {
  'AWS/ApplicationELB': true,
  'AWS/ECS': true,
  'ECS/ContainerInsights': true,
};
const STATS: Record<MetricQuery['stat'], true> = { Sum: true, Average: true, Maximum: true, p95: true };
const QUERY_ID = /^[a-z][a-zA-Z0-9_]{0,254}$/;

/** The body of POST /api/metric-data, checked field by field: it comes from outside. */
function parseMetricDataRequest(body: unknown, regions: readonly string[]): MetricDataRequest {
  const bad = (field: string, message: string) => new RequestError(400, `${field}: ${message}`);
  if (!isRecord(body)) throw bad('body', 'must be a JSON object');
  const { region, queries, start, end } = body;
  if (typeof region !== 'string') throw bad('region', 'must be a string');
  if (!regions.includes(region))
    throw bad(
      'region',
      `unknown region ${JSON.stringify(region)}; the local cloud has ${regions.join(', ')}`,
    );
  if (typeof start !== 'number' || !Number.isFinite(start))
    throw bad('start', 'must be a number (epoch milliseconds)');
  if (typeof end !== 'number' || !Number.isFinite(end))
    throw bad('end', 'must be a number (epoch milliseconds)');
  if (end <= start) throw bad('end', 'must be after start');
  if (!Array.isArray(queries)) throw bad('queries', 'must be an array');
  if (queries.length > GET_METRIC_DATA_MAX)
    throw bad('queries', `at most ${GET_METRIC_DATA_MAX} a call, got ${queries.length}`);
  const ids = new Set<string>();
  const parsed = queries.map((query: unknown, i): MetricQuery => {
    const field = `queries[${i}]`;
    if (!isRecord(query)) throw bad(field, 'must be an object');
    const { id, namespace, metric, dimensions, stat, periodSeconds } = query;
    if (typeof id !== 'string' || !QUERY_ID.test(id))
      throw bad(`${field}.id`, 'must start with a lowercase letter, then letters, digits or _');
    if (ids.has(id)) throw bad(`${field}.id`, `${id} is used twice`);
    ids.add(id);
    if (typeof namespace !== 'string' || !Object.hasOwn(NAMESPACES, namespace))
      throw bad(`${field}.namespace`, `must be one of ${Object.keys(NAMESPACES).join(', ')}`);
    if (typeof metric !== 'string' || metric.length === 0 || metric.length > 255)
      throw bad(`${field}.metric`, 'must be a metric name of 1 to 255 characters');
    if (!isRecord(dimensions)) throw bad(`${field}.dimensions`, 'must be an object of names to values');
    const entries = Object.entries(dimensions);
    if (entries.length > MAX_DIMENSIONS) throw bad(`${field}.dimensions`, `at most ${MAX_DIMENSIONS}`);
    for (const [name, value] of entries) {
      if (typeof value !== 'string' || value.length === 0 || value.length > 1024)
        throw bad(`${field}.dimensions.${name}`, 'must be a string of 1 to 1024 characters');
    }
    if (typeof stat !== 'string' || !Object.hasOwn(STATS, stat))
      throw bad(`${field}.stat`, `must be one of ${Object.keys(STATS).join(', ')}`);
    if (typeof periodSeconds !== 'number' || !Number.isInteger(periodSeconds) || periodSeconds <= 0)
      throw bad(`${field}.periodSeconds`, 'must be a positive whole number of seconds');
    const points = (end - start) / (periodSeconds * 1000);
    if (points > MAX_POINTS_PER_QUERY)
      throw bad(
        `${field}.periodSeconds`,
        `start to end holds ${Math.ceil(points)} periods; at most ${MAX_POINTS_PER_QUERY}`,
      );
    return {
      id,
      namespace: namespace as MetricQuery['namespace'],
      metric,
      dimensions: dimensions as Record<string, string>,
      stat: stat as MetricQuery['stat'],
      periodSeconds,
    };
  });
  return { region, queries: parsed, start, end };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Asset {
  content: Buffer;
  contentType: string;
  etag: string;
}

/** Static files, read once on first use. */
class Assets {
  #chartJs: Promise<Asset> | undefined;
  #client: Promise<Asset> | undefined;

  chartJs(): Promise<Asset> {
    // chart.js exports no subpath for its browser build; it sits beside the CommonJS entry.
    this.#chartJs ??= load(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'));
    return this.#chartJs;
  }

  client(): Promise<Asset> {
    this.#client ??= load(fileURLToPath(new URL('./dashboard-client.js', import.meta.url)));
    return this.#client;
  }
}

async function load(path: string): Promise<Asset> {
  const content = await readFile(path);
  const etag = `"${createHash('sha256').update(content).digest('base64url').slice(0, 27)}"`;
  return { content, contentType: 'text/javascript; charset=utf-8', etag };
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, cacheControl: string): void {
  const headers = { 'Cache-Control': cacheControl, ETag: asset.etag };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  send(res, 200, asset.contentType, asset.content, headers);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), {
    'Cache-Control': 'no-store',
  });
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Refusals keep their status and message; anything else is a 500 with the message only, never a stack. */
function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const refused = error instanceof RequestError;
  const message = error instanceof Error ? error.message : String(error);
  if (refused && error.status === 413) res.setHeader('Connection', 'close');
  sendJson(res, refused ? error.status : 500, { error: refused ? message : `internal error: ${message}` });
}
