import type { Logger } from 'pino';
import { asCloudError, type CloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { keepSitesDashboard } from '../dashboard/publish.ts';
import { dashboardSites } from '../dashboard/sites.ts';
import type { StoredSpec, StoredStatus } from '../ports/store.ts';
import { reconcilePass, type PassReport } from '../reconcile/pass.ts';
import { DEFAULT_CHUNK_SIZE, DEFAULT_SAFETY_MARGIN_MS } from './environment.ts';
import { passMetrics, type MetricsPublisher, type RegionCalls } from './metrics.ts';

/**
 * The sites an invocation ran out of time for, kept between invocations so
 * they go first in the next. The DynamoDB store keeps them in their own item.
 */
export interface CarryOverStore {
  getCarryOver(): Promise<string[]>;
  setCarryOver(sites: readonly string[]): Promise<void>;
}

export interface InvocationDependencies {
  ports: Ports;
  platform: Platform;
  carryOver: CarryOverStore;
  /** Who takes the lease; unique per invocation (the Lambda request id). */
  holder: string;
  /** Epoch milliseconds. */
  clock: () => number;
  /** Time left before the runtime stops the invocation (Lambda's `getRemainingTimeInMillis`). */
  remainingMs: () => number;
  log: Logger;
  metrics?: MetricsPublisher;
  /** API calls made since the last call, by region; read after each pass for the ApiCalls metric. */
  drainCalls?: () => readonly RegionCalls[];
}

export interface InvocationOptions {
  /** Sites per reconcile pass. Default 25. */
  chunkSize?: number;
  /**
   * No new chunk starts with less than this much time left, plus as long as
   * the slowest chunk so far took, so the last one ends before the deadline.
   * Default 10 s.
   */
  safetyMarginMs?: number;
  /** Most calls in flight per region. Default the pass's (10). */
  maxInFlightPerRegion?: number;
}

export interface InvocationResult {
  /** `skipped`: another invocation holds the lease; `partial`: time ran out; `failed`: the store could not be used. */
  outcome: 'completed' | 'partial' | 'skipped' | 'failed';
  /** One per pass, in order. */
  reconcileIds: string[];
  /** Sites reconciled, in the order they were. */
  reconciled: string[];
  /** Sites not reached; they go first next time. */
  notReached: string[];
  durationMs: number;
  error?: CloudError;
}

/**
 * One scheduled invocation: take the lease, reconcile every site in chunks
 * while time allows (the sites left over last time first), record the sites
 * not reached, release the lease. Never throws: a failure is logged and
 * returned, and the next invocation starts afresh a minute later.
 */
export async function runInvocation(
  deps: InvocationDependencies,
  options: InvocationOptions = {},
): Promise<InvocationResult> {
  const { ports, log, clock } = deps;
  const started = clock();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const safetyMarginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const result: InvocationResult = {
    outcome: 'completed',
    reconcileIds: [],
    reconciled: [],
    notReached: [],
    durationMs: 0,
  };
  const done = (outcome: InvocationResult['outcome'], error?: CloudError): InvocationResult => {
    result.outcome = outcome;
    if (error !== undefined) result.error = error;
    result.durationMs = clock() - started;
    return result;
  };

  // The lease lasts as long as this invocation can: a crashed one blocks the next only until its deadline.
  const ttlSeconds = Math.max(1, Math.ceil(deps.remainingMs() / 1000));
  let held: boolean;
  try {
    held = await ports.store.acquireLease(deps.holder, ttlSeconds, clock());
  } catch (error) {
    const e = asCloudError(error, 'lease');
    log.error(
      { holder: deps.holder, kind: e.kind, err: e.message },
      'cannot take the lease; nothing reconciled',
    );
    return done('failed', e);
  }
  if (!held) {
    log.info({ holder: deps.holder }, 'another reconciler holds the lease; this invocation does nothing');
    return done('skipped');
  }

  try {
    let order: string[];
    let carried: string[];
    let specs: StoredSpec[];
    let statuses: StoredStatus[];
    try {
      let previous: string[];
      [specs, statuses, previous] = await Promise.all([
        ports.store.listSpecs(),
        ports.store.listStatuses(),
        deps.carryOver.getCarryOver().catch((error: unknown) => {
          log.warn(
            { err: asCloudError(error, 'carry-over').message },
            'carry-over unreadable; starting in name order',
          );
          return [] as string[];
        }),
      ]);
      carried = previous;
      // Statuses without a spec are deleted sites still being cleaned up: they are reconciled too.
      const names = [...new Set([...specs.map((s) => s.name), ...statuses.map((s) => s.name)])].sort();
      const present = new Set(names);
      const first = [...new Set(carried.filter((n) => present.has(n)))];
      const firstSet = new Set(first);
      order = [...first, ...names.filter((n) => !firstSet.has(n))];
    } catch (error) {
      const e = asCloudError(error, 'store');
      log.error({ kind: e.kind, err: e.message }, 'cannot list the sites; nothing reconciled');
      return done('failed', e);
    }

    const reports: PassReport[] = [];
    let slowestChunkMs = 0;
    let next = 0;
    let failure: CloudError | undefined;
    while (next < order.length) {
      const remaining = deps.remainingMs();
      if (remaining < safetyMarginMs + slowestChunkMs) {
        log.warn(
          { remainingMs: remaining, safetyMarginMs, slowestChunkMs },
          'stopping: not enough time left for another chunk',
        );
        break;
      }
      const chunk = order.slice(next, next + chunkSize);
      const chunkStarted = clock();
      try {
        const inChunk = new Set(chunk);
        const report = await reconcilePass({
          ports,
          platform: deps.platform,
          sites: chunk,
          // Read once for the whole invocation: each site's spec and status belong to one chunk.
          specs: specs.filter((s) => inChunk.has(s.name)),
          statuses: statuses.filter((s) => inChunk.has(s.name)),
          log,
          now: () => new Date(clock()),
          ...(options.maxInFlightPerRegion === undefined
            ? {}
            : { maxInFlightPerRegion: options.maxInFlightPerRegion }),
        });
        const tookMs = clock() - chunkStarted;
        slowestChunkMs = Math.max(slowestChunkMs, tookMs);
        result.reconcileIds.push(report.reconcileId);
        reports.push(report);
        result.reconciled.push(...chunk);
        next += chunk.length;
        log.info(
          {
            reconcileId: report.reconcileId,
            sites: chunk.length,
            statusWrites: report.statusWrites,
            durationMs: tookMs,
          },
          'pass done',
        );
        const calls = deps.drainCalls?.() ?? [];
        if (calls.length > 0) log.info({ reconcileId: report.reconcileId, calls }, 'API calls this pass');
        await publish(deps, passMetrics(report, tookMs, calls));
      } catch (error) {
        // A pass throws only when the store cannot be read; the rest of the sites wait for the next invocation.
        failure = asCloudError(error, 'store');
        log.error({ kind: failure.kind, err: failure.message, sites: chunk }, 'pass failed; stopping');
        break;
      }
    }

    result.notReached = order.slice(next);
    if (!sameList(result.notReached, carried)) {
      try {
        await deps.carryOver.setCarryOver(result.notReached);
      } catch (error) {
        log.warn({ err: asCloudError(error, 'carry-over').message }, 'carry-over not written');
      }
    }
    await publish(deps, [
      { name: 'SitesNotReached', value: result.notReached.length, unit: 'Count', dimensions: {} },
    ]);
    const outcome = failure !== undefined ? 'failed' : result.notReached.length > 0 ? 'partial' : 'completed';
    const summary = {
      outcome,
      reconcileIds: result.reconcileIds,
      reconciled: result.reconciled.length,
      notReached: result.notReached,
      durationMs: clock() - started,
    };
    // The dashboard shows every site, so it is rewritten only after a pass over all of them.
    if (outcome === 'completed') await keepSitesDashboard(ports, dashboardSites(reports, deps.platform), log);
    if (outcome === 'completed') log.info(summary, 'every site reconciled');
    else log.warn(summary, 'some sites not reached; they go first in the next invocation');
    return done(outcome, failure);
  } finally {
    try {
      await ports.store.releaseLease(deps.holder);
    } catch (error) {
      // It expires at this invocation's deadline anyway.
      log.warn({ err: asCloudError(error, 'lease').message }, 'lease not released');
    }
  }
}

async function publish(deps: InvocationDependencies, data: Parameters<MetricsPublisher['publish']>[0]) {
  if (deps.metrics === undefined) return;
  try {
    await deps.metrics.publish(data);
  } catch (error) {
    deps.log.warn({ err: (error as Error).message }, 'metrics not published');
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
