import { pino } from 'pino';
import type { CloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { CallCounter } from '../providers/aws/accounting.ts';
import { AwsClients } from '../providers/aws/clients.ts';
import { awsPorts } from '../providers/aws/index.ts';
import { loadPlatform, regionParameter } from '../providers/aws/platform.ts';
import { DynamoSpecStore } from '../providers/aws/store.ts';
import { readEnvironment, type ReconcilerEnvironment } from './environment.ts';
import { runInvocation, type InvocationResult } from './invocation.ts';
import { embeddedMetricsPublisher, type MetricsPublisher } from './metrics.ts';

/**
 * The reconciler Lambda, run by EventBridge every minute. This module only
 * wires the AWS pieces; what an invocation does is `runInvocation`, which the
 * tests drive with the simulated cloud.
 */

/** The part of Lambda's context the handler uses. */
export interface LambdaContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** What the handler returns (and Lambda records): the invocation's result with a plain error. */
export type HandlerResult = Omit<InvocationResult, 'error'> & {
  error?: { kind: string; resource: string; message: string };
};

/** How long a loaded platform is trusted before SSM is read again; the bootstrap changes it rarely. */
const PLATFORM_REFRESH_MS = 5 * 60_000;
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

// Created once per execution environment and reused by every invocation it serves.
const counter = new CallCounter();
const clients = new AwsClients({ counter });
const requestedLevel = process.env['TANDEM_LOG_LEVEL'] ?? 'info';
const log = pino({
  level: LOG_LEVELS.has(requestedLevel) ? requestedLevel : 'info',
  base: { service: 'tandem-reconciler' },
});

interface Wiring {
  env: ReconcilerEnvironment;
  store: DynamoSpecStore;
  ports: Ports;
  metrics: MetricsPublisher;
  platform: PlatformCache;
}

let wiring: Wiring | undefined;

/** Reads the environment and builds the ports on the first invocation, so a bad setting is reported, not a crash at import. */
function wire(): Wiring {
  if (wiring !== undefined) return wiring;
  const env = readEnvironment(process.env);
  const store = new DynamoSpecStore(clients.dynamodb(env.controlRegion), env.tableName, {
    onMalformed: (error) =>
      log.warn({ item: error.resource, err: error.message }, 'malformed item in the table'),
  });
  wiring = {
    env,
    store,
    ports: awsPorts({ clients, tableName: env.tableName, controlRegion: env.controlRegion, store }),
    metrics: embeddedMetricsPublisher(),
    platform: new PlatformCache(env),
  };
  return wiring;
}

export const handler = async (_event: unknown, context: LambdaContext): Promise<HandlerResult> => {
  const requestLog = log.child({ requestId: context.awsRequestId });
  let w: Wiring;
  let platform: Platform;
  try {
    w = wire();
    platform = await w.platform.get(Date.now());
  } catch (error) {
    requestLog.fatal({ err: (error as Error).message }, 'the reconciler cannot start');
    throw error;
  }
  const result = await runInvocation(
    {
      ports: w.ports,
      platform,
      carryOver: w.store,
      holder: `reconciler:${context.awsRequestId}`,
      clock: Date.now,
      remainingMs: () => context.getRemainingTimeInMillis(),
      log: requestLog,
      metrics: w.metrics,
      drainCalls: () => counter.drain().map((c) => ({ region: c.region, count: c.count })),
    },
    { chunkSize: w.env.chunkSize, safetyMarginMs: w.env.safetyMarginMs },
  );
  const { error, ...rest } = result;
  return error === undefined ? rest : { ...rest, error: plain(error) };
};

function plain(error: CloudError) {
  return { kind: error.kind, resource: error.resource, message: error.message };
}

/**
 * The platform from SSM, read again every few minutes. A region that could
 * not be read this time (SSM throttled or failing) keeps what was read
 * before; a region whose parameter is gone or malformed is left out and logged.
 */
class PlatformCache {
  private platform: Platform | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly env: ReconcilerEnvironment) {}

  async get(now: number): Promise<Platform> {
    if (this.platform !== undefined && now - this.loadedAt < PLATFORM_REFRESH_MS) return this.platform;
    let loaded: Awaited<ReturnType<typeof loadPlatform>>;
    try {
      loaded = await loadPlatform(clients, {
        regions: this.env.regions,
        controlRegion: this.env.controlRegion,
      });
    } catch (error) {
      if (this.platform === undefined) throw error;
      log.error({ err: (error as Error).message }, 'platform not refreshed; using the one read before');
      return this.platform;
    }
    const regions = { ...loaded.platform.regions };
    for (const problem of loaded.problems) {
      const region = this.env.regions.find((r) => problem.resource.includes(regionParameter(r)));
      const previous = region === undefined ? undefined : this.platform?.regions[region];
      const transient = problem.kind === 'Throttled' || problem.kind === 'Unavailable';
      if (region !== undefined && previous !== undefined && transient) regions[region] = previous;
      log.error(
        { region, kind: problem.kind, err: problem.message },
        transient && previous !== undefined
          ? 'platform parameter unreadable; using the one read before'
          : 'region left out of the platform; its sites are Stalled',
      );
    }
    this.platform = { ...loaded.platform, regions };
    // Read again next time while anything was missing.
    this.loadedAt = loaded.problems.length === 0 ? now : Number.NEGATIVE_INFINITY;
    return this.platform;
  }
}
