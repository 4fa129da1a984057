import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { HEALTH_CHECK_BODY, HEALTH_CHECK_PATH } from '../../model/dns-failover.ts';
import { targetGroupDimension } from '../../model/naming.ts';
import type { RuleState } from '../../ports/load-balancer.ts';
import type { LoadBalancerView, LocalTarget, TargetGroupRequest } from './types.ts';
import { listen } from './listen.ts';

/**
 * One region's Application Load Balancer as a real HTTP proxy: tandem's
 * listener rules (header match, weighted forward), target groups of task
 * processes, and the status codes an ALB answers with itself.
 */

export interface LoadBalancerProxyOptions {
  /** What to route by; read on every request, so changes apply at once. */
  view: LoadBalancerView;
  /** Called once per request forwarded to a target group (for CloudWatch-like metrics). */
  onRequest: (request: TargetGroupRequest) => void;
  /** Where to listen; default 127.0.0.1. */
  host?: string;
  /** Where to listen; default 0 (any free port). */
  port?: number;
  /** How long to wait for a target's response before answering 504; default 60 s (ALB idle timeout). */
  targetTimeoutMs?: number;
}

export interface LoadBalancerProxy {
  /** The port it listens on. */
  port: number;
  /** Stops accepting, closes keep-alive connections, and resolves once the server is closed. */
  close(): Promise<void>;
}

const DEFAULT_TARGET_TIMEOUT_MS = 60_000;
/** How long close() lets in-flight requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 1_000;
export const NO_RULE_MATCHES = 'no site matches this request (missing or wrong origin header)';

/** Headers that belong to one connection, not to the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Request headers the load balancer sets itself; `expect` because the listener already answered 100 Continue. */
const SET_BY_LOAD_BALANCER = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-amzn-trace-id',
  'expect',
]);

export async function startLoadBalancer(options: LoadBalancerProxyOptions): Promise<LoadBalancerProxy> {
  const {
    view,
    onRequest,
    host = '127.0.0.1',
    port = 0,
    targetTimeoutMs = DEFAULT_TARGET_TIMEOUT_MS,
  } = options;
  const agent = new http.Agent({ keepAlive: true });
  const groups = new SmoothWeightedRoundRobin();
  const targets = new RoundRobin();

  function report(targetGroupArn: string, status: number, latencyMs: number, elbError: boolean): void {
    const request: TargetGroupRequest = {
      region: view.region,
      loadBalancerDimension: view.loadBalancerDimension,
      targetGroupDimension: targetGroupDimension(targetGroupArn),
      status,
      latencyMs,
    };
    if (elbError) request.elbError = true;
    try {
      onRequest(request);
    } catch {
      // A failing metrics sink must not take the data plane down with it.
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => {}); // a client abort; the response's 'close' cleans up
    const fault = view.fault();
    if (fault !== undefined && fault !== 'errors') {
      // Hanging (or any other fault reached anyway, as by a client that ignores the path): read
      // the request and never answer; the client's timeout, or closing the load balancer, ends it.
      req.resume();
      return;
    }
    const rules = view.rules();
    const rule = rules.find((candidate) => headerMatches(req, candidate.header));
    if (!rule) {
      // The platform's own rule after the sites': the load balancer itself answers the health
      // checks behind DNS failover, whatever its targets do (model/dns-failover.ts).
      if (isHealthCheck(req)) answer(res, 200, HEALTH_CHECK_BODY);
      else answer(res, 403, NO_RULE_MATCHES);
      return;
    }
    if (fault === 'errors') {
      answer(res, 503, `region ${view.region} is failed (simulated outage)`);
      return;
    }
    groups.forgetRulesOtherThan(rules);
    const groupArn = groups.pick(rule);
    if (groupArn === undefined) {
      answer(res, 503, 'every target group of the matching rule has weight 0');
      return;
    }
    const target = targets.pick(groupArn, view.healthyTargets(groupArn));
    if (!target) {
      report(groupArn, 503, 0, true);
      answer(res, 503, 'no healthy targets');
      return;
    }
    forward(req, res, groupArn, target, true);
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    groupArn: string,
    target: LocalTarget,
    mayRetry: boolean,
  ): void {
    const started = performance.now();
    const hasBody = requestHasBody(req);
    let timedOut = false;
    const proxyReq = http.request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req),
      agent,
      timeout: targetTimeoutMs,
    });
    res.on('close', () => {
      if (!res.writableFinished) proxyReq.destroy(); // the client went away
    });
    proxyReq.on('timeout', () => {
      timedOut = true;
      proxyReq.destroy();
    });
    proxyReq.on('response', (proxyRes) => {
      const status = proxyRes.statusCode ?? 502;
      report(groupArn, status, performance.now() - started, false);
      if (res.destroyed) {
        proxyRes.destroy();
        return;
      }
      res.writeHead(status, proxyRes.statusMessage, withoutHopByHop(proxyRes.rawHeaders));
      pipeline(proxyRes, res, () => {}); // errors on either side destroy both; nothing left to answer
    });
    proxyReq.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // A pooled connection the target closed while idle: the request never reached it, so send it again.
      if (mayRetry && !hasBody && !timedOut && proxyReq.reusedSocket && error.code === 'ECONNRESET') {
        forward(req, res, groupArn, target, false);
        return;
      }
      const status = timedOut ? 504 : 502;
      report(groupArn, status, performance.now() - started, true);
      answer(
        res,
        status,
        timedOut
          ? 'the target did not respond in time'
          : `the target is unreachable (${error.code ?? error.message})`,
      );
    });
    if (hasBody) {
      req.pipe(proxyReq);
    } else {
      req.resume();
      proxyReq.end();
    }
  }

  const server = http.createServer(handle);
  // A refusing region cuts every connection as it opens (the CDN's path refuses it before that).
  server.on('connection', (socket) => {
    if (view.fault() === 'refuse') socket.destroy();
  });
  const listening = await listen(server, port, host);

  let closing: Promise<void> | undefined;
  return {
    port: listening,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(grace);
          agent.destroy();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * nginx's smooth weighted round-robin, with state per rule: deterministic, and
 * every run of sum(weights) picks from a reset splits exactly by weight.
 */
class SmoothWeightedRoundRobin {
  private readonly state = new Map<string, { forward: string; current: number[] }>();

  /** The target group for the next request, or undefined when every weight is 0. */
  pick(rule: RuleState): string | undefined {
    const forward = JSON.stringify(rule.forward.map((target) => [target.targetGroupArn, target.weight]));
    let state = this.state.get(rule.arn);
    if (!state || state.forward !== forward) {
      state = { forward, current: rule.forward.map(() => 0) };
      this.state.set(rule.arn, state);
    }
    const current = state.current;
    let total = 0;
    let best = -1;
    rule.forward.forEach(({ weight }, index) => {
      if (weight <= 0) return;
      current[index] = (current[index] ?? 0) + weight;
      total += weight;
      if (best < 0 || (current[index] ?? 0) > (current[best] ?? 0)) best = index;
    });
    if (best < 0) return undefined;
    current[best] = (current[best] ?? 0) - total;
    return rule.forward[best]?.targetGroupArn;
  }

  /** Drops the state of deleted rules. */
  forgetRulesOtherThan(rules: readonly RuleState[]): void {
    if (this.state.size <= rules.length) return;
    const live = new Set(rules.map((rule) => rule.arn));
    for (const arn of this.state.keys()) if (!live.has(arn)) this.state.delete(arn);
  }
}

/** Plain round-robin over a list that may change between picks. */
class RoundRobin {
  private readonly next = new Map<string, number>();

  pick<T>(key: string, items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined;
    const index = (this.next.get(key) ?? 0) % items.length;
    this.next.set(key, index + 1);
    return items[index];
  }
}

function isHealthCheck(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && req.url?.split('?')[0] === HEALTH_CHECK_PATH;
}

function headerMatches(req: IncomingMessage, header: RuleState['header']): boolean {
  const value = req.headers[header.name.toLowerCase()];
  const sent = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return sent.some((v) => header.values.includes(v));
}

function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The client's headers minus hop-by-hop ones, plus what an ALB adds. */
function forwardedHeaders(req: IncomingMessage): string[] {
  const headers = withoutHopByHop(req.rawHeaders, SET_BY_LOAD_BALANCER);
  const client = req.socket.remoteAddress ?? '';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers.push('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${client}` : client);
  headers.push('X-Forwarded-Proto', 'http');
  headers.push('X-Forwarded-Port', String(req.socket.localPort ?? ''));
  headers.push('X-Amzn-Trace-Id', traceId(String(req.headers['x-amzn-trace-id'] ?? '')));
  return headers;
}

/** `Root=1-<epoch seconds hex>-<96 random bits hex>`; a request that already has a Root keeps it and gets a Self, as ALB does. */
function traceId(existing: string): string {
  const id = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  if (existing.includes('Root=')) {
    const kept = existing
      .split(';')
      .filter((field) => !field.trim().startsWith('Self='))
      .join(';');
    return `${kept};Self=${id}`;
  }
  return `Root=${id}`;
}

/** Filters a flat raw header list (`[name, value, name, value, …]`). */
function withoutHopByHop(rawHeaders: readonly string[], alsoDrop: ReadonlySet<string> = new Set()): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]?.split(',') ?? []) named.add(token.trim().toLowerCase());
  }
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || named.has(lower) || alsoDrop.has(lower))
      continue;
    kept.push(name, rawHeaders[i + 1] ?? '');
  }
  return kept;
}

/** A response the load balancer makes itself. */
function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
