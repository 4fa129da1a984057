import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { urlToHttpOptions } from 'node:url';

const MAX_RPS = 10_000;
const MAX_DURATION_SECONDS = 86_400;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_IN_FLIGHT = 1000;
/** Idle connections kept for reuse; open ones are bounded by maxInFlight only. */
const MAX_FREE_SOCKETS = 256;
const PROGRESS_INTERVAL_MS = 1000;
const OVERLOADED = 'overloaded client';

export interface LoadOptions {
  /** The page to request; the CLI's default is the local CDN, http://localhost:8080/. */
  url: string;
  /** Requests per second, open loop: arrivals keep their schedule whether or not earlier ones finished. In (0, 10000]. */
  rps: number;
  /** How long to send for, in seconds. In (0, 86400]. The run sends at most floor(rps × durationSeconds) requests. */
  durationSeconds: number;
  /** Append a unique query (?tandem-load=<run>-<n>) so each request passes the CDN's cache and reaches a region; default true. */
  cacheBust?: boolean;
  /** Host header to send, to pick a distribution; default the url's host. */
  host?: string;
  /** Per request, from sending to the end of the body; default 10000. */
  timeoutMs?: number;
  /** Arrivals beyond this many unfinished requests are not sent but counted as errors ('overloaded client'); default 1000. */
  maxInFlight?: number;
  /** Stop sending early (Ctrl-C); the summary covers what was sent. */
  signal?: AbortSignal;
  /** Called about once a second while the run lasts. */
  onProgress?: (p: LoadProgress) => void;
  /** Called as each request settles: when it was sent (ms into the run), how long it took, and its status or error. */
  onResult?: (result: LoadResult) => void;
}

export interface LoadResult {
  sentAtMs: number;
  latencyMs: number;
  /** The status code, or the error ('timeout', ECONNRESET, ...). */
  outcome: number | string;
}

export interface LoadSummary {
  /** Arrivals: requests sent, plus those refused because too many were in flight. Always ok + failed. */
  sent: number;
  /** Answered 2xx or 3xx. */
  ok: number;
  failed: number;
  /** By status code; 'error' for network errors, timeouts and arrivals refused by the in-flight cap. */
  statuses: Record<string, number>;
  /** What the 'error' status was: an error code (ECONNREFUSED), 'timeout' or 'overloaded client'. */
  errors: Record<string, number>;
  /** Responses (any status) by their X-Tandem-Version header. */
  byVersion: Record<string, number>;
  /** Responses (any status) by their X-Tandem-Region header. */
  byRegion: Record<string, number>;
  /** From sending to the end of the body, over requests that got a response (errors excluded). */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Wall clock of the whole run, including waiting for the last responses. */
  durationSeconds: number;
  /** sent divided by the time spent sending (the planned duration, or until the abort). */
  achievedRps: number;
  /** ok as a percentage of sent; 0 when nothing was sent. */
  successPercent: number;
}

export interface LoadProgress {
  elapsedSeconds: number;
  sent: number;
  ok: number;
  failed: number;
  inFlight: number;
  /** Requests that finished since the previous report. */
  lastSecond: {
    ok: number;
    failed: number;
    p95Ms: number;
    byRegion: Record<string, number>;
    byVersion: Record<string, number>;
  };
}

/**
 * Latencies bucketed to three significant digits, so a day-long run at
 * 10000 rps needs a few thousand buckets instead of an array of every sample.
 */
class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private count = 0;
  max = 0;

  record(ms: number): void {
    const key = Number(ms.toPrecision(3));
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + 1);
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  /** Nearest rank; 0 when empty. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const key of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(key) ?? 0;
      if (seen >= rank) return key;
    }
    return this.max;
  }
}

/** Counts of one window (the whole run, or the last second). */
class Tally {
  ok = 0;
  failed = 0;
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly byVersion: Record<string, number> = {};
  readonly byRegion: Record<string, number> = {};
  readonly latency = new LatencyHistogram();

  response(status: number, version: string | undefined, region: string | undefined, ms: number): void {
    if (status >= 200 && status < 400) this.ok += 1;
    else this.failed += 1;
    increment(this.statuses, String(status));
    if (version !== undefined) increment(this.byVersion, version);
    if (region !== undefined) increment(this.byRegion, region);
    this.latency.record(ms);
  }

  error(reason: string): void {
    this.failed += 1;
    increment(this.statuses, 'error');
    increment(this.errors, reason);
  }
}

function increment(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Throws an Error naming the CLI flag when an option is out of range. */
/** A load option out of range; the message names the flag. */
export class LoadOptionsError extends Error {}

export function validateLoadOptions(options: LoadOptions): void {
  const { rps, durationSeconds, url, timeoutMs, host, maxInFlight } = options;
  if (typeof rps !== 'number' || !Number.isFinite(rps) || rps <= 0 || rps > MAX_RPS) {
    throw new LoadOptionsError(
      `--rps must be a number greater than 0 and at most ${MAX_RPS}, got ${String(rps)}`,
    );
  }
  if (
    typeof durationSeconds !== 'number' ||
    !Number.isFinite(durationSeconds) ||
    durationSeconds <= 0 ||
    durationSeconds > MAX_DURATION_SECONDS
  ) {
    throw new LoadOptionsError(
      `--duration must be a number of seconds greater than 0 and at most ${MAX_DURATION_SECONDS}, got ${String(durationSeconds)}`,
    );
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new LoadOptionsError(`--url must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new LoadOptionsError(
      `--timeout must be a positive number of milliseconds, got ${String(timeoutMs)}`,
    );
  }
  if (host !== undefined && !/^[^\s/]+$/.test(host)) {
    throw new LoadOptionsError(
      `--host must be a host name (optionally with :port), got ${JSON.stringify(host)}`,
    );
  }
  if (maxInFlight !== undefined && (!Number.isInteger(maxInFlight) || maxInFlight <= 0)) {
    throw new LoadOptionsError(`--max-in-flight must be a positive integer, got ${String(maxInFlight)}`);
  }
}

/**
 * Sends GETs at a fixed rate (request n at start + n/rps s) for the duration,
 * then waits for the ones in flight and summarises what came back.
 */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  validateLoadOptions(options);
  const { rps, durationSeconds, signal, onProgress } = options;
  const cacheBust = options.cacheBust ?? true;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  // The epsilon keeps e.g. 0.29 × 100 (28.999…) at 29 requests.
  const total = Math.floor(rps * durationSeconds + 1e-9);

  const target = new URL(options.url);
  const secure = target.protocol === 'https:';
  const client = secure ? https : http;
  // As many connections as requests in flight: a request waiting for a free socket would count
  // the wait as the server's latency, and an open loop must not queue (a hanging origin holds each one).
  const agent = new client.Agent({
    keepAlive: true,
    maxSockets: maxInFlight,
    maxFreeSockets: MAX_FREE_SOCKETS,
  });
  const base = urlToHttpOptions(target);
  const basePath = base.path ?? '/';
  const bustPrefix = `${basePath}${target.search === '' ? '?' : '&'}tandem-load=${randomBytes(4).toString('hex')}-`;
  const headers: Record<string, string> = options.host === undefined ? {} : { host: options.host };
  const tlsName = options.host?.replace(/:\d+$/, '');

  const all = new Tally();
  let window = new Tally();
  let sent = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();

  const send = (n: number): void => {
    sent += 1;
    if (inFlight >= maxInFlight) {
      all.error(OVERLOADED);
      window.error(OVERLOADED);
      return;
    }
    inFlight += 1;
    const done = request(n).finally(() => {
      inFlight -= 1;
      pending.delete(done);
    });
    pending.add(done);
  };

  const request = (n: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const began = performance.now();
      let settled = false;
      const settle = (outcome: { status: number; res: http.IncomingMessage } | { error: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.onResult?.({
          sentAtMs: began - start,
          latencyMs: performance.now() - began,
          outcome: 'error' in outcome ? outcome.error : outcome.status,
        });
        if ('error' in outcome) {
          all.error(outcome.error);
          window.error(outcome.error);
        } else {
          const ms = performance.now() - began;
          const version = header(outcome.res, 'x-tandem-version');
          const region = header(outcome.res, 'x-tandem-region');
          all.response(outcome.status, version, region, ms);
          window.response(outcome.status, version, region, ms);
        }
        resolve();
      };
      let req: http.ClientRequest | undefined;
      const timer = setTimeout(() => {
        settle({ error: 'timeout' });
        req?.destroy();
      }, timeoutMs);
      try {
        req = client.request({
          ...base,
          path: cacheBust ? `${bustPrefix}${n}` : basePath,
          method: 'GET',
          agent,
          headers,
          ...(secure && tlsName !== undefined ? { servername: tlsName } : {}),
        });
      } catch (error) {
        settle({ error: reason(error) });
        return;
      }
      req.on('error', (error) => settle({ error: reason(error) }));
      req.on('response', (res) => {
        res.on('error', (error) => settle({ error: reason(error) }));
        res.on('end', () => settle({ status: res.statusCode ?? 0, res }));
        res.on('close', () => {
          if (!res.complete) settle({ error: 'response cut short' });
        });
        res.resume(); // read the body so the socket goes back to the pool
      });
      req.end();
    });

  const start = performance.now();
  const elapsedSeconds = (): number => (performance.now() - start) / 1000;
  const progress = setInterval(() => {
    const last = window;
    window = new Tally();
    onProgress?.({
      elapsedSeconds: elapsedSeconds(),
      sent,
      ok: all.ok,
      failed: all.failed,
      inFlight,
      lastSecond: {
        ok: last.ok,
        failed: last.failed,
        p95Ms: last.latency.percentile(95),
        byRegion: last.byRegion,
        byVersion: last.byVersion,
      },
    });
  }, PROGRESS_INTERVAL_MS);

  let aborted = false;
  let lastSendSeconds = 0;
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let next = 0;
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      aborted = true;
      lastSendSeconds = elapsedSeconds();
      stop();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // setTimeout only promises "not before", so each tick sends every arrival that is due by now.
    const tick = (): void => {
      const elapsedMs = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsedMs * rps) / 1000) + 1);
      while (next < due) send(next++);
      if (next >= total) {
        lastSendSeconds = elapsedMs / 1000;
        return stop();
      }
      const wait = start + (next * 1000) / rps - performance.now();
      timer = setTimeout(tick, Math.max(0, wait));
    };
    tick();
  });

  // Each request settles by its own timeout, so this waits at most timeoutMs.
  while (pending.size > 0) await Promise.all(pending);
  clearInterval(progress);
  agent.destroy();

  const sendingSeconds = aborted ? lastSendSeconds : Math.max(durationSeconds, lastSendSeconds);
  return {
    sent,
    ok: all.ok,
    failed: all.failed,
    statuses: all.statuses,
    errors: all.errors,
    byVersion: all.byVersion,
    byRegion: all.byRegion,
    latencyMs: {
      p50: all.latency.percentile(50),
      p95: all.latency.percentile(95),
      p99: all.latency.percentile(99),
      max: all.latency.max,
    },
    durationSeconds: elapsedSeconds(),
    achievedRps: sendingSeconds > 0 ? sent / sendingSeconds : 0,
    successPercent: sent > 0 ? (all.ok / sent) * 100 : 0,
  };
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' ? code : error.message;
  }
  return String(error);
}

/** Keys in a stable order, so v1 comes before v2 and regions read alphabetically. */
function entries(record: Record<string, number>): Array<[string, number]> {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
}

function formatMs(ms: number): string {
  return ms < 10 ? `${Number(ms.toFixed(1))} ms` : `${Math.round(ms)} ms`;
}

/** One line, e.g. "  12s  sent 600  ok 600  failed 0  in flight 2  | last 1s: us-east-1 50, v1 43 v2 7, p95 4 ms". */
export function formatProgress(p: LoadProgress): string {
  const { lastSecond } = p;
  const counts = (record: Record<string, number>): string =>
    entries(record)
      .map(([key, count]) => `${key} ${count}`)
      .join(' ');
  const parts = [counts(lastSecond.byRegion), counts(lastSecond.byVersion)].filter((part) => part !== '');
  if (lastSecond.failed > 0) parts.push(`failed ${lastSecond.failed}`);
  if (lastSecond.ok + lastSecond.failed === 0) parts.push('no responses');
  else parts.push(`p95 ${formatMs(lastSecond.p95Ms)}`);
  const elapsed = `${Math.round(p.elapsedSeconds)}s`.padStart(5);
  return `${elapsed}  sent ${p.sent}  ok ${p.ok}  failed ${p.failed}  in flight ${p.inFlight}  | last 1s: ${parts.join(', ')}`;
}

/** A few lines: totals, success, statuses, shares by version and region, latency percentiles. */
export function formatSummary(s: LoadSummary): string {
  const shares = (record: Record<string, number>, headerName: string): string => {
    const sum = Object.values(record).reduce((a, b) => a + b, 0);
    if (sum === 0) return `(no ${headerName} headers)`;
    return entries(record)
      .map(([key, count]) => `${key} ${((count / sum) * 100).toFixed(1)}% (${count})`)
      .join(', ');
  };
  const statuses = entries(s.statuses)
    .map(([status, count]) => {
      if (status !== 'error' || Object.keys(s.errors).length === 0) return `${status} ${count}`;
      const why = entries(s.errors)
        .map(([error, n]) => `${error} ${n}`)
        .join(', ');
      return `${status} ${count} (${why})`;
    })
    .join(', ');
  const { p50, p95, p99, max } = s.latencyMs;
  return [
    `Sent ${s.sent} requests in ${s.durationSeconds.toFixed(1)} s (${s.achievedRps.toFixed(1)} req/s): ok ${s.ok}, failed ${s.failed}, ${s.successPercent.toFixed(1)}% success`,
    `Statuses: ${statuses === '' ? '(none)' : statuses}`,
    `By version: ${shares(s.byVersion, 'X-Tandem-Version')}`,
    `By region: ${shares(s.byRegion, 'X-Tandem-Region')}`,
    `Latency: p50 ${formatMs(p50)}, p95 ${formatMs(p95)}, p99 ${formatMs(p99)}, max ${formatMs(max)}`,
  ].join('\n');
}
