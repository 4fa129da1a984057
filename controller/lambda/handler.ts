import { pino, type Logger } from 'pino';
import { asCloudError, type CloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { CallCounter } from '../providers/aws/accounting.ts';
import { AwsClients } from '../providers/aws/clients.ts';
import { awsPorts } from '../providers/aws/index.ts';
import { loadPlatform, type LoadPlatformOptions } from '../providers/aws/platform.ts';
import { DynamoSpecStore } from '../providers/aws/store.ts';
import { readEnvironment, type ReconcilerEnvironment } from './environment.ts';
import { serveTrigger, type InvocationResult } from './invocation.ts';
import { embeddedMetricsPublisher, type MetricsPublisher } from './metrics.ts';
import { readTrigger } from './trigger.ts';

/**
 * The reconciler Lambda, deployed in every region and run there by
 * EventBridge every minute, and by its replica of the table's stream when a
 * spec item changes (trigger.ts). This module only wires the AWS pieces for its own
 * region; what an invocation does is `runInvocation`, which the tests drive
 * with the simulated cloud.
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

/** How long a loaded platform is trusted before it is read again; the bootstrap changes it rarely. */
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
  // This region's replica of the table: a region is managed from its own replica, whatever happens elsewhere.
  const store = new DynamoSpecStore(clients.dynamodb(env.region), env.tableName, env.region, {
    onMalformed: (error) =>
      log.warn({ item: error.resource, err: error.message }, 'malformed item in the table'),
  });
  wiring = {
    env,
    store,
    ports: awsPorts({ clients, tableName: env.tableName, region: env.region, store }),
    metrics: embeddedMetricsPublisher(),
    platform: new PlatformCache(
      (onRegionProblem) =>
        loadPlatform({
          clients,
          tableName: env.tableName,
          region: env.region,
          regions: env.regions,
          // The AWS Parameters and Secrets Lambda Extension (a layer): no Secrets Manager client in the bundle.
          secret: 'extension',
          onRegionProblem,
        }),
      log,
    ),
  };
  return wiring;
}

export const handler = async (event: unknown, context: LambdaContext): Promise<HandlerResult> => {
  const requestLog = log.child({ requestId: context.awsRequestId });
  const trigger = readTrigger(event);
  let w: Wiring;
  let platform: Platform;
  try {
    w = wire();
    platform = await w.platform.get(Date.now());
  } catch (error) {
    requestLog.fatal({ err: (error as Error).message }, 'the reconciler cannot start');
    throw error;
  }
  // A stream batch that cannot be served now throws, and the event source mapping retries it.
  const result = await serveTrigger(
    trigger,
    {
      ports: w.ports,
      platform,
      region: w.env.region,
      regionOrder: w.env.regions,
      intervalSeconds: w.env.intervalSeconds,
      carryOver: w.store,
      holder: `reconciler:${w.env.region}:${context.awsRequestId}`,
      clock: Date.now,
      remainingMs: () => context.getRemainingTimeInMillis(),
      log: requestLog,
      metrics: w.metrics,
      drainCalls: () => counter.drain(),
    },
    { chunkSize: w.env.chunkSize, safetyMarginMs: w.env.safetyMarginMs },
  );
  const { error, ...rest } = result;
  return error === undefined ? rest : { ...rest, error: plain(error) };
};

function plain(error: CloudError) {
  return { kind: error.kind, resource: error.resource, message: error.message };
}

type RegionProblemHandler = NonNullable<LoadPlatformOptions['onRegionProblem']>;

/**
 * The platform (platform items in the table, the origin secret through the
 * extension), read again every few minutes and whenever a region was left
 * out last time. A read that fails (the table or the extension throttled,
 * unavailable or refusing) keeps the platform read before, if there is one;
 * a region whose item is missing or malformed is left out and logged.
 */
export class PlatformCache {
  private platform: Platform | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly load: (onRegionProblem: RegionProblemHandler) => Promise<Platform>,
    private readonly log: Logger,
    private readonly refreshMs = PLATFORM_REFRESH_MS,
  ) {}

  async get(now: number): Promise<Platform> {
    if (this.platform !== undefined && now - this.loadedAt < this.refreshMs) return this.platform;
    let loaded: Platform;
    let leftOut = 0;
    try {
      loaded = await this.load((region, error) => {
        leftOut += 1;
        this.log.error(
          { region, kind: error.kind, err: error.message },
          'region left out of the platform; its sites are Stalled',
        );
      });
    } catch (error) {
      if (this.platform === undefined) throw error;
      const e = asCloudError(error, 'platform');
      this.log.error({ kind: e.kind, err: e.message }, 'platform not refreshed; using the one read before');
      return this.platform;
    }
    this.platform = loaded;
    // Read again next time while any region was left out.
    this.loadedAt = leftOut === 0 ? now : Number.NEGATIVE_INFINITY;
    return this.platform;
  }
}
