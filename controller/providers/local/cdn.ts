import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { DistributionConfig, Origin } from '../../ports/cdn.ts';
import { Duplex } from 'node:stream';
import type { CdnView, LocalDistribution, OriginRoute } from './types.ts';
import { listen } from './listen.ts';

/**
 * The local cloud's CloudFront: one HTTP proxy serving every enabled distribution,
 * with origin-group failover and a small shared cache, behaving as CloudFront does
 * for the distributions tandem creates (see providers/aws/cdn.ts).
 */

export interface CdnProxyOptions {
  /** The distributions to serve and where origins listen; read on every request. */
  view: CdnView;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /**
   * One response timeout for every origin, in milliseconds (tests); by default each origin's own
   * (`responseTimeoutSeconds`, CloudFront's OriginReadTimeout).
   */
  originReadTimeoutMs?: number;
  /** Cache capacity in bytes; default 64 MiB. Objects over 1 MiB are not cached. */
  cacheBytes?: number;
  /** Milliseconds since the epoch, for cache expiry and Age; default Date.now. */
  clock?: () => number;
}

export interface CdnStats {
  /** Viewer requests received. */
  requests: number;
  /** Viewer requests answered from the cache. */
  cacheHits: number;
  /** Requests sent to origins (a failover counts twice; connection retries do not). */
  originRequests: number;
  /** Times the failover origin was asked because the primary failed. */
  failovers: number;
  /** Viewer responses with a 5xx status, from origins or from the CDN itself. */
  errors5xx: number;
  /** Viewer responses each origin answered, by origin id (cache hits excluded). */
  byOrigin: Record<string, number>;
}

export interface CdnProxy {
  port: number;
  stats(): CdnStats;
  /** Empties the cache (an invalidation of `/*`). */
  purge(): void;
  /** Stops accepting, drops origin and idle viewer connections, and resolves once closed. */
  close(): Promise<void>;
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
const MAX_CACHED_OBJECT_BYTES = 1024 * 1024;
/** GET/HEAD/OPTIONS bodies are held so they can be sent to a second origin; larger ones are refused. */
const MAX_REPLAYABLE_BODY_BYTES = 1024 * 1024;
/** How long close() lets in-flight answers finish before cutting their connections. */
const CLOSE_GRACE_MS = 500;
/** CloudFront fails over only for these methods. */
const FAILOVER_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

export async function startCdn(options: CdnProxyOptions): Promise<CdnProxy> {
  const host = options.host ?? '127.0.0.1';
  const agent = new http.Agent({ keepAlive: true });
  const cdn: Cdn = {
    view: options.view,
    clock: options.clock ?? Date.now,
    ...(options.originReadTimeoutMs === undefined ? {} : { readTimeoutMs: options.originReadTimeoutMs }),
    cache: new ResponseCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES),
    agent,
    stats: { requests: 0, cacheHits: 0, originRequests: 0, failovers: 0, errors5xx: 0, byOrigin: {} },
    servedOne: false,
    address: () => `http://${host}:${(server.address() as AddressInfo | null)?.port ?? 0}/`,
  };

  const server = http.createServer((req, res) => {
    req.on('error', ignore);
    res.on('error', ignore);
    handle(cdn, req, res).catch(() => reply(cdn, res, 502, 'the CDN failed to handle the request\n'));
  });
  const port = await listen(server, options.port ?? 0, host);

  return {
    port,
    stats: () => ({ ...cdn.stats, byOrigin: { ...cdn.stats.byOrigin } }),
    purge: () => cdn.cache.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still waiting on origins fail at once and answer 502.
        agent.destroy();
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}

/** The proxy's state, shared by every request it handles. */
interface Cdn {
  view: CdnView;
  clock: () => number;
  /** Every origin's response timeout when set; else each origin's own. */
  readTimeoutMs?: number;
  cache: ResponseCache;
  /** Keeps origin connections alive between requests. */
  agent: http.Agent;
  stats: CdnStats;
  /** Once a distribution has been served, none means its site was deleted, not that one is coming. */
  servedOne: boolean;
  /** Where the proxy listens, for the unknown host page. */
  address: () => string;
}

/**
 * One viewer request: pick the distribution by Host, answer from the cache
 * when it can, else ask the primary origin and, when it fails and the method
 * allows, the failover origin; relay the answer or say why there is none.
 */
async function handle(cdn: Cdn, req: IncomingMessage, res: ServerResponse): Promise<void> {
  cdn.stats.requests += 1;
  const distribution = distributionFor(cdn, req, res);
  if (distribution === undefined) return;
  const via = `1.1 ${distribution.id}.cloudfront.net (tandem local CDN)`;
  const method = req.method ?? 'GET';
  const cacheKey = `${distribution.id} ${req.url ?? '/'}`;
  if (answeredFromCache(cdn, res, method, cacheKey, via)) return;

  const route = routeOf(distribution.config);
  if (typeof route === 'string') {
    reply(cdn, res, 502, `${route}\n`, via);
    return;
  }
  const viewerGone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) viewerGone.abort();
  });
  const failover = FAILOVER_METHODS.has(method) ? route.failover : undefined;
  const body = await requestBody(cdn, req, res, failover !== undefined, via);
  if (body === undefined) return;
  const request: ForwardedRequest = {
    method,
    path: req.url ?? '/',
    headers: forwardedHeaders(req, via),
    body,
    signal: viewerGone.signal,
  };

  const { outcome, answeredBy, allUnreachable } = await askWithFailover(cdn, route, failover, request);
  if (viewerGone.signal.aborted) {
    if (outcome.kind === 'response') outcome.response.destroy();
    return;
  }
  if (outcome.kind === 'unreachable') {
    const text = allUnreachable
      ? 'the CDN could not reach any origin\n'
      : `the CDN could not reach origin ${answeredBy.id}\n`;
    reply(cdn, res, 502, text, via);
    return;
  }
  if (outcome.kind === 'timeout') {
    reply(
      cdn,
      res,
      504,
      `origin ${answeredBy.id} did not answer within ${readTimeoutMs(cdn, answeredBy)} ms\n`,
      via,
    );
    return;
  }
  relay(cdn, res, outcome.response, {
    origin: answeredBy,
    via,
    cacheKey: method === 'GET' ? cacheKey : undefined,
    defaultTtlSeconds: distribution.config.defaultTtlSeconds,
  });
}

/** The distribution the Host names; undefined once the CDN has answered that there is none. */
function distributionFor(cdn: Cdn, req: IncomingMessage, res: ServerResponse): LocalDistribution | undefined {
  const distributions = cdn.view.distributions();
  if (distributions.length > 0) cdn.servedOne = true;
  const choice = chooseDistribution(distributions, req.headers.host);
  if (choice.kind === 'none') {
    reply(
      cdn,
      res,
      503,
      cdn.servedOne
        ? 'no distribution any more: its site was deleted (or the distribution disabled); tandem apply -f <spec> makes one again\n'
        : 'no distribution yet: the reconciler creates one within a few seconds of tandem apply; tandem get lists the stored sites\n',
    );
    return undefined;
  }
  if (choice.kind === 'unknownHost') {
    reply(cdn, res, 404, unknownHostText(req.headers.host, choice.distributions, cdn.address()));
    return undefined;
  }
  return choice.distribution;
}

/** Answers a GET or HEAD from the cache; true when it did. */
function answeredFromCache(
  cdn: Cdn,
  res: ServerResponse,
  method: string,
  cacheKey: string,
  via: string,
): boolean {
  // GET and HEAD share entries; only GET misses fill them (a HEAD answer has no body to keep).
  if (method !== 'GET' && method !== 'HEAD') return false;
  const now = cdn.clock();
  const hit = cdn.cache.get(cacheKey, now);
  if (!hit) return false;
  cdn.stats.cacheHits += 1;
  writeHead(cdn, res, 200, {
    ...hit.headers,
    'content-length': hit.body.length,
    age: String(Math.max(0, Math.floor((now - hit.storedAt) / 1000))),
    via: appendVia(hit.originVia, via),
    'x-cache': 'Hit from tandem-cdn',
    'x-tandem-origin-id': hit.originId,
  });
  res.end(method === 'HEAD' ? undefined : hit.body);
  return true;
}

/**
 * The body to forward: held in full when a failover origin may need it too,
 * else streamed. Undefined when the viewer went away or the body is too large
 * to hold (answered 413).
 */
async function requestBody(
  cdn: Cdn,
  req: IncomingMessage,
  res: ServerResponse,
  replayable: boolean,
  via: string,
): Promise<Buffer | IncomingMessage | undefined> {
  if (!replayable) return req;
  const buffered = await readBody(req, MAX_REPLAYABLE_BODY_BYTES);
  if (buffered === 'aborted') return undefined;
  if (buffered === 'tooLarge') {
    reply(cdn, res, 413, 'request body too large\n', via);
    return undefined;
  }
  return buffered;
}

/** Asks the primary origin, then the failover origin when the primary's answer fails over. */
async function askWithFailover(
  cdn: Cdn,
  route: Route,
  failover: Origin | undefined,
  request: ForwardedRequest,
): Promise<{ outcome: OriginOutcome; answeredBy: Origin; allUnreachable: boolean }> {
  const outcome = await askOrigin(cdn, route.primary, request);
  if (failover === undefined || request.signal.aborted || !failsOver(outcome, route.statusCodes))
    return { outcome, answeredBy: route.primary, allUnreachable: outcome.kind === 'unreachable' };
  if (outcome.kind === 'response') outcome.response.resume();
  cdn.stats.failovers += 1;
  const second = await askOrigin(cdn, failover, request);
  return {
    outcome: second,
    answeredBy: failover,
    allUnreachable: outcome.kind === 'unreachable' && second.kind === 'unreachable',
  };
}

function writeHead(cdn: Cdn, res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
  if (status >= 500) cdn.stats.errors5xx += 1;
  res.writeHead(status, headers);
}

/** An answer from the CDN itself (never cached). */
function reply(cdn: Cdn, res: ServerResponse, status: number, text: string, via?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  writeHead(cdn, res, status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-cache': 'Error from tandem-cdn',
    ...(via === undefined ? {} : { via }),
  });
  res.end(text);
}

/** Asks one origin, retrying the connection up to its connectionAttempts. */
async function askOrigin(cdn: Cdn, origin: Origin, request: ForwardedRequest): Promise<OriginOutcome> {
  cdn.stats.originRequests += 1;
  const address = cdn.view.resolveOrigin(origin.domainName);
  if (!address) return { kind: 'unreachable' };
  const attempts = Math.max(1, Math.floor(origin.connectionAttempts));
  for (let attempt = 1; ; attempt += 1) {
    const result = await sendOnce(cdn, origin, address, request);
    if (result.kind !== 'connectFailed') return result;
    if (!result.retryable || attempt >= attempts || request.signal.aborted) return { kind: 'unreachable' };
  }
}

/**
 * One attempt at an origin: the connection under the origin's connect
 * timeout, then the answer under the read timeout. A failed connection is
 * retryable when the body can be sent again.
 */
function sendOnce(
  cdn: Cdn,
  origin: Origin,
  address: OriginRoute,
  request: ForwardedRequest,
): Promise<OriginOutcome | { kind: 'connectFailed'; retryable: boolean }> {
  return new Promise((resolve) => {
    let connectTimer: NodeJS.Timeout | undefined;
    let readTimer: NodeJS.Timeout | undefined;
    let connected = false;
    let bodyStarted = false;
    let settled = false;
    const settle = (outcome: OriginOutcome | { kind: 'connectFailed'; retryable: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(readTimer);
      request.signal.removeEventListener('abort', onViewerGone);
      resolve(outcome);
    };

    const headers: OutgoingHttpHeaders = { ...request.headers, host: origin.domainName };
    for (const [name, value] of Object.entries(origin.customHeaders)) headers[name.toLowerCase()] = value;
    const path = address.path;
    const outgoing = http.request({
      host: address.host,
      port: address.port,
      method: request.method,
      path: request.path,
      headers,
      // A path that refuses or drops the connection gets a connection of its own that does so.
      agent: path === 'open' ? cdn.agent : BROKEN_PATHS[path],
    });
    const onViewerGone = (): void => {
      outgoing.destroy();
    };
    request.signal.addEventListener('abort', onViewerGone, { once: true });

    const sendBody = (): void => {
      connected = true;
      bodyStarted = true;
      if (Buffer.isBuffer(request.body)) outgoing.end(request.body);
      else request.body.pipe(outgoing);
    };
    outgoing.on('socket', (socket: Socket) => {
      if (!socket.connecting) {
        sendBody();
        return;
      }
      // A connect timer, not a response timer: a slow answer is the read timeout's business.
      connectTimer = setTimeout(
        () => outgoing.destroy(new Error('connect timeout')),
        origin.connectionTimeoutSeconds * 1000,
      );
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        sendBody();
      });
    });
    outgoing.on('finish', () => {
      readTimer = setTimeout(
        () => {
          settle({ kind: 'timeout' });
          outgoing.destroy();
        },
        readTimeoutMs(cdn, origin),
      );
    });
    outgoing.on('response', (response) => settle({ kind: 'response', response }));
    outgoing.on('error', () => {
      // A kept-alive socket the origin had already closed fails like a refused connection.
      if (!connected || outgoing.reusedSocket) {
        settle({ kind: 'connectFailed', retryable: Buffer.isBuffer(request.body) || !bodyStarted });
      } else {
        settle({ kind: 'unreachable' });
      }
    });
  });
}

/** Streams an origin's answer to the viewer, keeping a copy for the cache when it may be cached. */
function relay(
  cdn: Cdn,
  res: ServerResponse,
  response: IncomingMessage,
  context: { origin: Origin; via: string; cacheKey: string | undefined; defaultTtlSeconds: number },
): void {
  const { origin, via, cacheKey } = context;
  const status = response.statusCode ?? 502;
  const headers = responseHeaders(response.headers, origin);
  const originVia = headerText(response.headers.via);
  cdn.stats.byOrigin[origin.id] = (cdn.stats.byOrigin[origin.id] ?? 0) + 1;
  writeHead(cdn, res, status, {
    ...headers,
    via: appendVia(originVia, via),
    'x-cache': 'Miss from tandem-cdn',
    'x-tandem-origin-id': origin.id,
  });

  const ttlSeconds =
    cacheKey !== undefined && status === 200 && response.headers['set-cookie'] === undefined
      ? cacheTtlSeconds(headerText(response.headers['cache-control']), context.defaultTtlSeconds)
      : 0;
  if (cacheKey !== undefined && ttlSeconds > 0)
    keepForCache(cdn, response, cacheKey, ttlSeconds, { headers, originVia, originId: origin.id });
  cutOffWhenIdle(cdn, response, origin);
  response.on('error', ignore);
  response.on('close', () => {
    // The origin went away mid-answer: the status is sent, so cut the viewer off rather than end cleanly.
    if (!response.complete) res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) response.destroy();
  });
  response.pipe(res);
}

/** Collects the answer as it streams and caches it once complete, unless it grows over the object limit. */
function keepForCache(
  cdn: Cdn,
  response: IncomingMessage,
  cacheKey: string,
  ttlSeconds: number,
  meta: { headers: OutgoingHttpHeaders; originVia: string | undefined; originId: string },
): void {
  const declaredLength = Number(response.headers['content-length'] ?? 0);
  if (declaredLength > MAX_CACHED_OBJECT_BYTES) return;
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (!chunks) return;
    size += chunk.length;
    if (size > MAX_CACHED_OBJECT_BYTES) chunks = undefined;
    else chunks.push(chunk);
  });
  response.on('end', () => {
    if (!chunks) return;
    const storedAt = cdn.clock();
    const stored = { ...meta.headers };
    delete stored.age;
    cdn.cache.set(cacheKey, {
      headers: stored,
      body: Buffer.concat(chunks),
      originVia: meta.originVia,
      originId: meta.originId,
      storedAt,
      expiresAt: storedAt + ttlSeconds * 1000,
    });
  });
}

/** An origin that goes quiet mid-answer for the read timeout is cut off. */
function cutOffWhenIdle(cdn: Cdn, response: IncomingMessage, origin: Origin): void {
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdleTimer = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => response.destroy(), readTimeoutMs(cdn, origin));
  };
  armIdleTimer();
  response.on('data', armIdleTimer);
  response.on('close', () => clearTimeout(idleTimer));
}

interface ForwardedRequest {
  method: string;
  path: string;
  /** The viewer's headers without hop-by-hop ones, with Via and X-Forwarded-For; Host and custom headers are per origin. */
  headers: OutgoingHttpHeaders;
  /** Buffered when it may be sent to two origins; otherwise streamed, once. */
  body: Buffer | IncomingMessage;
  /** Aborts when the viewer goes away. */
  signal: AbortSignal;
}

type OriginOutcome =
  | { kind: 'response'; response: IncomingMessage }
  /** Could not connect within the origin's attempts, or the connection broke before an answer. */
  | { kind: 'unreachable' }
  /** Connected, but no response headers within the origin read timeout. */
  | { kind: 'timeout' };

function failsOver(outcome: OriginOutcome, statusCodes: ReadonlySet<number>): boolean {
  if (outcome.kind !== 'response') return true;
  return statusCodes.has(outcome.response.statusCode ?? 0);
}

type DistributionChoice =
  | { kind: 'serve'; distribution: LocalDistribution }
  | { kind: 'none' }
  | { kind: 'unknownHost'; distributions: readonly LocalDistribution[] };

/** By Host (domain name or alias); failing that, the only enabled distribution, so `localhost` works in the demo. */
export function chooseDistribution(
  distributions: readonly LocalDistribution[],
  hostHeader: string | undefined,
): DistributionChoice {
  const enabled = distributions.filter((d) => d.config.enabled);
  if (enabled.length === 0) return { kind: 'none' };
  const host = hostName(hostHeader ?? '');
  const byHost = enabled.find(
    (d) => d.domainName.toLowerCase() === host || d.config.aliases.some((a) => a.toLowerCase() === host),
  );
  if (byHost) return { kind: 'serve', distribution: byHost };
  const [only] = enabled;
  if (only && enabled.length === 1) return { kind: 'serve', distribution: only };
  return { kind: 'unknownHost', distributions: enabled };
}

function hostName(hostHeader: string): string {
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0] ?? '';
}

function unknownHostText(
  hostHeader: string | undefined,
  distributions: readonly LocalDistribution[],
  address: string,
): string {
  const lines = distributions.map((d) =>
    d.config.aliases.length > 0 ? `  ${d.domainName} (${d.config.aliases.join(', ')})` : `  ${d.domainName}`,
  );
  const example = distributions[0]?.domainName ?? '<domain>';
  return [
    `no distribution serves host "${hostHeader ?? ''}"; this CDN serves:`,
    ...lines,
    `pick one with the Host header, e.g. curl -H 'Host: ${example}' ${address}`,
    '',
  ].join('\n');
}

interface Route {
  primary: Origin;
  /** Set when the target is an origin group. */
  failover?: Origin;
  statusCodes: ReadonlySet<number>;
}

/** The origins the default cache behavior targets, or why there are none. */
function routeOf(config: DistributionConfig): Route | string {
  const byId = (id: string): Origin | undefined => config.origins.find((o) => o.id === id);
  const group = config.originGroup;
  if (group && group.id === config.targetOriginId) {
    const primary = byId(group.primaryOriginId);
    const failover = byId(group.failoverOriginId);
    if (!primary || !failover)
      return `origin group ${group.id} names an origin the distribution does not have`;
    return { primary, failover, statusCodes: new Set(group.statusCodes) };
  }
  const primary = byId(config.targetOriginId);
  if (!primary) return `the distribution has no origin or origin group ${config.targetOriginId}`;
  return { primary, statusCodes: new Set() };
}

/** Header names to drop: the hop-by-hop set plus any the Connection header names. */
function hopByHop(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set(HOP_BY_HOP);
  for (const token of (headers.connection ?? '').split(',')) {
    if (token.trim() !== '') names.add(token.trim().toLowerCase());
  }
  return names;
}

function forwardedHeaders(req: IncomingMessage, via: string): OutgoingHttpHeaders {
  const drop = hopByHop(req.headers);
  drop.add('host');
  // Node's client does not wait for 100 Continue; the body is sent once the origin is connected.
  drop.add('expect');
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !drop.has(name)) headers[name] = value;
  }
  headers.via = appendVia(headerText(req.headers.via), via);
  const client = req.socket.remoteAddress ?? 'unknown';
  const forwardedFor = headerText(req.headers['x-forwarded-for']);
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${client}` : client;
  return headers;
}

/** The origin's headers for the viewer: no hop-by-hop ones, and never the origin's secret header echoed back. */
function responseHeaders(headers: IncomingHttpHeaders, origin: Origin): OutgoingHttpHeaders {
  const drop = hopByHop(headers);
  drop.add('via');
  for (const name of Object.keys(origin.customHeaders)) drop.add(name.toLowerCase());
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  return out;
}

function appendVia(existing: string | undefined, via: string): string {
  return existing ? `${existing}, ${via}` : via;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * How long a 200 may be cached, as CloudFront reads Cache-Control: no-store, private
 * and no-cache forbid it; s-maxage wins over max-age; neither means the default TTL.
 */
export function cacheTtlSeconds(cacheControl: string | undefined, defaultTtlSeconds: number): number {
  const directives = new Map<string, string | undefined>();
  for (const part of (cacheControl ?? '').split(',')) {
    const [name = '', value] = part.split('=', 2);
    if (name.trim() !== '') directives.set(name.trim().toLowerCase(), value?.trim().replace(/^"|"$/g, ''));
  }
  if (directives.has('no-store') || directives.has('private') || directives.has('no-cache')) return 0;
  for (const directive of ['s-maxage', 'max-age']) {
    const seconds = Number(directives.get(directive));
    if (directives.has(directive) && Number.isFinite(seconds)) return Math.max(0, seconds);
  }
  return Math.max(0, defaultTtlSeconds);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'aborted' | 'tooLarge'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('tooLarge');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('close', () => {
      if (!req.complete) resolve('aborted');
    });
  });
}

interface CachedResponse {
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** The origin's own Via, which the CDN appends to. */
  originVia: string | undefined;
  originId: string;
  storedAt: number;
  expiresAt: number;
}

/** Least recently used entries go first once the bytes exceed the capacity. */
class ResponseCache {
  private readonly entries = new Map<string, CachedResponse & { size: number }>();
  private bytes = 0;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get(key: string, now: number): CachedResponse | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.delete(key);
    if (now >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    this.bytes += entry.size;
    return entry;
  }

  set(key: string, response: CachedResponse): void {
    const size = response.body.length + JSON.stringify(response.headers).length + key.length;
    if (response.body.length > MAX_CACHED_OBJECT_BYTES || size > this.capacity) return;
    this.delete(key);
    this.entries.set(key, { ...response, size });
    this.bytes += size;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.capacity) break;
      this.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}

function ignore(): void {}

/** How long an origin has to answer once connected: its response timeout, unless the CDN was started with one for every origin. */
function readTimeoutMs(cdn: Cdn, origin: Origin): number {
  return cdn.readTimeoutMs ?? origin.responseTimeoutSeconds * 1000;
}

/**
 * Connections over a path that fails them: `refused` errors at once (ECONNREFUSED), as a host
 * with nothing listening answers; `dropped` never opens, as when every packet is lost, so only
 * the connect timeout ends it. Each looks to the request like a socket still connecting.
 */
class BrokenPathAgent extends http.Agent {
  constructor(private readonly path: 'refused' | 'dropped') {
    super({ keepAlive: false });
  }

  override createConnection(): Duplex {
    return brokenConnection(this.path);
  }
}

const BROKEN_PATHS = { refused: new BrokenPathAgent('refused'), dropped: new BrokenPathAgent('dropped') };

function brokenConnection(path: 'refused' | 'dropped'): Duplex {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });
  Object.assign(socket, { connecting: true, setNoDelay() {}, setKeepAlive() {}, setTimeout() {} });
  if (path === 'refused')
    process.nextTick(() =>
      socket.destroy(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    );
  return socket;
}
