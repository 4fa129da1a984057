import type { Logger } from 'pino';
import { asCloudError, type CloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { keepSitesDashboardAsHolder } from '../dashboard/publish.ts';
import { DEFAULT_INTERVAL_SECONDS, heartbeatsByRegion, type Liveness } from '../decide/ownership.ts';
import type { EditRecord, Heartbeat, StoredSpec, StoredStatus } from '../ports/store.ts';
import { reconcilePass, type PassReport } from '../reconcile/pass.ts';
import { DEFAULT_CHUNK_SIZE, DEFAULT_SAFETY_MARGIN_MS } from './environment.ts';
import { passMetrics, type MetricsPublisher, type RegionCalls } from './metrics.ts';
import { WakeUpNotServed, type Trigger } from './trigger.ts';

/**
 * The sites an invocation ran out of time for, kept between invocations so
 * they go first in the next. The DynamoDB store keeps them in an item of
 * their region's own.
 */
export interface CarryOverStore {
  getCarryOver(): Promise<string[]>;
  setCarryOver(sites: readonly string[]): Promise<void>;
}

export interface InvocationDependencies {
  /** Ports of the region this reconciler manages; its store is that region's replica of the table. */
  ports: Ports;
  platform: Platform;
  /** The region this reconciler manages. */
  region: string;
  /**
   * Every platform region, primary first: the order in which they take the
   * platform's global duty (the sites' dashboard) when one goes quiet.
   */
  regionOrder: readonly string[];
  /** Seconds between two scheduled invocations. Default 60. */
  intervalSeconds?: number;
  carryOver: CarryOverStore;
  /** Who takes the region's lease; unique per invocation (the Lambda request id). */
  holder: string;
  /** Epoch milliseconds. */
  clock: () => number;
  /** Time left before the runtime stops the invocation (Lambda's `getRemainingTimeInMillis`). */
  remainingMs: () => number;
  log: Logger;
  metrics?: MetricsPublisher;
  /** API calls made since the last call, by region; read after each pass for the ApiCalls metric. */
  drainCalls?: () => readonly RegionCalls[];
  /**
   * Reconcile only these sites: an invocation woken by spec edits. The
   * carry-over and the sites' dashboard are the scheduled invocation's, which
   * reconciles every site; this one neither reads nor changes them.
   */
  sites?: readonly string[];
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
  /** `skipped`: another invocation holds the lease; `partial`: time ran out; `failed`: the store could not be used, or a pass threw. */
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
 * One scheduled invocation of a region's reconciler: take the region's lease,
 * reconcile every site in chunks while time allows (the sites left over last
 * time first), record the sites not reached, keep the sites' dashboard if
 * this region holds that duty, and release the lease, which records the
 * region's heartbeat. Never throws: a failure is logged and returned, and the
 * next invocation starts afresh a minute later.
 */
export async function runInvocation(
  deps: InvocationDependencies,
  options: InvocationOptions = {},
): Promise<InvocationResult> {
  const { log, clock } = deps;
  const started = clock();
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

  const lease = await takeLease(deps);
  if (lease !== 'held') return lease === 'taken' ? done('skipped') : done('failed', lease);
  try {
    let fleet: Fleet;
    try {
      fleet = await readFleet(deps);
    } catch (error) {
      const e = asCloudError(error, 'store');
      log.error({ kind: e.kind, err: e.message }, 'cannot list the sites; nothing reconciled');
      return done('failed', e);
    }
    const { reports, failure } = await reconcileInChunks(deps, options, fleet, result);
    await recordNotReached(deps, result.notReached, fleet.carried);
    const outcome = failure !== undefined ? 'failed' : result.notReached.length > 0 ? 'partial' : 'completed';
    const durationMs = clock() - started;
    if (outcome === 'completed' && deps.sites === undefined) await keepDashboard(deps, fleet, reports);
    logOutcome(deps, outcome, result, durationMs);
    return done(outcome, failure);
  } finally {
    await releaseLease(deps);
  }
}

/** What an invocation reads once, before its passes: the region's replica of the table, and the order to reach the sites in. */
interface Fleet {
  specs: StoredSpec[];
  statuses: StoredStatus[];
  edits: EditRecord[];
  heartbeats: Heartbeat[];
  /** The sites the last invocation did not reach, as it recorded them. */
  carried: string[];
  /** The sites to reconcile, in the order to reach them. */
  order: string[];
}

/**
 * `held` when this invocation took the region's lease, `taken` when another
 * holds it, the error when the store could not be asked.
 */
async function takeLease(deps: InvocationDependencies): Promise<'held' | 'taken' | CloudError> {
  // The lease lasts as long as this invocation can: a crashed one blocks the next only until its deadline.
  const ttlSeconds = Math.max(1, Math.ceil(deps.remainingMs() / 1000));
  try {
    if (await deps.ports.store.acquireLease(deps.holder, ttlSeconds, deps.clock())) return 'held';
  } catch (error) {
    const e = asCloudError(error, 'lease');
    deps.log.error(
      { holder: deps.holder, kind: e.kind, err: e.message },
      'cannot take the lease; nothing reconciled',
    );
    return e;
  }
  deps.log.info({ holder: deps.holder }, 'another reconciler holds the lease; this invocation does nothing');
  return 'taken';
}

async function releaseLease(deps: InvocationDependencies): Promise<void> {
  try {
    await deps.ports.store.releaseLease(deps.holder, deps.clock());
  } catch (error) {
    // It expires at this invocation's deadline anyway.
    deps.log.warn({ err: asCloudError(error, 'lease').message }, 'lease not released');
  }
}

/** Reads specs, statuses, edits, heartbeats and the carry-over; throws when the store cannot be read. */
async function readFleet(deps: InvocationDependencies): Promise<Fleet> {
  const { store } = deps.ports;
  const [specs, statuses, edits, heartbeats, carried] = await Promise.all([
    store.listSpecs(),
    store.listStatuses(),
    store.listEdits(),
    store.listHeartbeats(),
    deps.sites !== undefined ? Promise.resolve([]) : readCarryOver(deps),
  ]);
  return { specs, statuses, edits, heartbeats, carried, order: siteOrder(deps, specs, statuses, carried) };
}

/** The carry-over, or none when it cannot be read: every site is still reached, in name order. */
function readCarryOver(deps: InvocationDependencies): Promise<string[]> {
  return deps.carryOver.getCarryOver().catch((error: unknown) => {
    deps.log.warn(
      { err: asCloudError(error, 'carry-over').message },
      'carry-over unreadable; starting in name order',
    );
    return [] as string[];
  });
}

/** The sites left over last time first, then the rest in name order; a woken invocation's sites only. */
function siteOrder(
  deps: InvocationDependencies,
  specs: readonly StoredSpec[],
  statuses: readonly StoredStatus[],
  carried: readonly string[],
): string[] {
  const woken = deps.sites === undefined ? undefined : new Set(deps.sites);
  // Statuses without a spec are deleted sites still being cleaned up: they are reconciled too.
  const names = [...new Set([...specs.map((s) => s.name), ...statuses.map((s) => s.name)])]
    .filter((name) => woken === undefined || woken.has(name))
    .sort();
  const present = new Set(names);
  const first = [...new Set(carried.filter((n) => present.has(n)))];
  const firstSet = new Set(first);
  return [...first, ...names.filter((n) => !firstSet.has(n))];
}

/**
 * One reconcile pass per chunk of sites, in order, until every site is
 * reached, time runs short or a pass throws. Records each pass in `result`
 * and leaves the sites not reached in `result.notReached`.
 */
async function reconcileInChunks(
  deps: InvocationDependencies,
  options: InvocationOptions,
  fleet: Fleet,
  result: InvocationResult,
): Promise<{ reports: PassReport[]; failure?: CloudError }> {
  const { log, clock } = deps;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const safetyMarginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const { order } = fleet;
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
      const report = await reconcileChunk(deps, options, fleet, chunk);
      const tookMs = clock() - chunkStarted;
      slowestChunkMs = Math.max(slowestChunkMs, tookMs);
      result.reconcileIds.push(report.reconcileId);
      reports.push(report);
      result.reconciled.push(...chunk);
      next += chunk.length;
      await reportPass(deps, report, chunk.length, tookMs);
    } catch (error) {
      // A pass reports every site's trouble in its status; one that throws met something unforeseen.
      failure = asCloudError(error, `reconcile pass of ${chunk.join(', ')}`);
      log.error({ kind: failure.kind, err: failure.message, sites: chunk }, 'pass failed; stopping');
      break;
    }
  }
  result.notReached = order.slice(next);
  return failure === undefined ? { reports } : { reports, failure };
}

function reconcileChunk(
  deps: InvocationDependencies,
  options: InvocationOptions,
  fleet: Fleet,
  chunk: string[],
): Promise<PassReport> {
  const inChunk = new Set(chunk);
  return reconcilePass({
    ports: deps.ports,
    platform: deps.platform,
    region: deps.region,
    sites: chunk,
    // Read once for the whole invocation: each site's spec and statuses belong to one chunk.
    specs: fleet.specs.filter((s) => inChunk.has(s.name)),
    statuses: fleet.statuses.filter((s) => inChunk.has(s.name)),
    edits: fleet.edits,
    heartbeats: fleet.heartbeats,
    intervalSeconds: deps.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
    log: deps.log,
    now: () => new Date(deps.clock()),
    ...(options.maxInFlightPerRegion === undefined
      ? {}
      : { maxInFlightPerRegion: options.maxInFlightPerRegion }),
  });
}

/** Logs a pass and the API calls it made, and publishes its metrics. */
async function reportPass(
  deps: InvocationDependencies,
  report: PassReport,
  sites: number,
  tookMs: number,
): Promise<void> {
  deps.log.info(
    { reconcileId: report.reconcileId, sites, statusWrites: report.statusWrites, durationMs: tookMs },
    'pass done',
  );
  const calls = deps.drainCalls?.() ?? [];
  if (calls.length > 0) deps.log.info({ reconcileId: report.reconcileId, calls }, 'API calls this pass');
  await publish(deps, passMetrics(report, tookMs, calls));
}

/**
 * The scheduled invocation records the sites it did not reach, so they go
 * first next time, and publishes how many; a woken one leaves both alone.
 */
async function recordNotReached(
  deps: InvocationDependencies,
  notReached: readonly string[],
  carried: readonly string[],
): Promise<void> {
  if (deps.sites !== undefined) return;
  if (!sameList(notReached, carried)) {
    try {
      await deps.carryOver.setCarryOver(notReached);
    } catch (error) {
      deps.log.warn({ err: asCloudError(error, 'carry-over').message }, 'carry-over not written');
    }
  }
  // Only the scheduled invocation, which has every site to reach, says how many it did not.
  await publish(deps, [{ name: 'SitesNotReached', value: notReached.length, unit: 'Count', dimensions: {} }]);
}

/** The dashboard shows every site, so it is rewritten only after a pass over all of them. */
async function keepDashboard(deps: InvocationDependencies, fleet: Fleet, reports: readonly PassReport[]) {
  const liveness: Liveness = {
    heartbeats: heartbeatsByRegion(fleet.heartbeats),
    now: deps.clock(),
    intervalMs: (deps.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000,
  };
  await keepSitesDashboardAsHolder({
    region: deps.region,
    ports: deps.ports,
    platform: deps.platform,
    regionOrder: deps.regionOrder,
    statuses: withReports(fleet.statuses, reports, deps.region),
    liveness,
    log: deps.log,
  });
}

function logOutcome(
  deps: InvocationDependencies,
  outcome: InvocationResult['outcome'],
  result: InvocationResult,
  durationMs: number,
): void {
  const summary = {
    outcome,
    reconcileIds: result.reconcileIds,
    reconciled: result.reconciled.length,
    notReached: result.notReached,
    durationMs,
  };
  const woken = deps.sites !== undefined;
  if (outcome === 'completed')
    deps.log.info(summary, woken ? 'every edited site reconciled' : 'every site reconciled');
  else if (!woken) deps.log.warn(summary, 'some sites not reached; they go first in the next invocation');
  else deps.log.warn(summary, 'some edited sites not reached; the scheduled invocation reconciles them');
}

/**
 * An invocation for what woke the reconciler. The schedule: every site. A
 * stream batch: the sites whose specs changed, and only if this invocation
 * can act on them now; when another invocation holds the region's lease, the
 * store cannot be read or a pass throws, it throws `WakeUpNotServed` so the event source
 * mapping retries the batch. Two passes never act at once in a region: each
 * takes the region's lease first (and the function's reserved concurrency of
 * 1 makes a second invocation wait besides). No edit is dropped: every pass
 * reads the specs from the table, so a wake-up that is retried, or given up
 * on after its retries, is served by the next scheduled pass at the latest.
 */
export async function serveTrigger(
  trigger: Trigger,
  deps: InvocationDependencies,
  options: InvocationOptions = {},
): Promise<InvocationResult> {
  if (trigger.kind === 'schedule') return runInvocation(deps, options);
  for (const problem of trigger.unreadable)
    deps.log.warn({ problem }, 'stream record unreadable; the scheduled pass reconciles every site anyway');
  if (trigger.sites.length === 0) {
    deps.log.info({ ignored: trigger.ignored }, 'stream batch names no spec item; nothing to do');
    return { outcome: 'completed', reconcileIds: [], reconciled: [], notReached: [], durationMs: 0 };
  }
  deps.log.info({ sites: trigger.sites }, 'woken by spec edits');
  const result = await runInvocation({ ...deps, sites: trigger.sites }, options);
  if (result.outcome === 'skipped')
    throw new WakeUpNotServed(trigger.sites, 'another invocation holds the region’s lease');
  if (result.outcome === 'failed')
    throw new WakeUpNotServed(trigger.sites, result.error?.message ?? 'the pass failed');
  return result;
}

async function publish(deps: InvocationDependencies, data: Parameters<MetricsPublisher['publish']>[0]) {
  if (deps.metrics === undefined) return;
  try {
    await deps.metrics.publish(data);
  } catch (error) {
    deps.log.warn({ err: (error as Error).message }, 'metrics not published');
  }
}

/** The statuses read at the start, with this region's as this invocation's passes left them. */
export function withReports(
  statuses: readonly StoredStatus[],
  reports: readonly PassReport[],
  region: string,
): StoredStatus[] {
  const mine = new Map(reports.flatMap((r) => [...r.statuses]));
  return [
    ...statuses.filter((s) => s.region !== region || !mine.has(s.name)),
    ...[...mine].map(([name, status]) => ({ name, region, revision: 0, status })),
  ];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
