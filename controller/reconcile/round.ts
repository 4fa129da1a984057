import { asCloudError } from '../errors.ts';
import type { Logger } from 'pino';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { reconcilePass, type PassOptions, type PassReport } from './pass.ts';

export interface RegionPassOptions extends Omit<PassOptions, 'dryRun'> {
  /** Who takes the region's lease; unique per reconciler process. */
  holder: string;
  /** How long the lease holds if the pass never ends. */
  leaseSeconds: number;
}

/**
 * One pass of a region's reconciler as it runs on a schedule: under the
 * region's lease, which it then releases with its heartbeat (the other
 * regions learn from it that this one is alive). Undefined when another
 * holder has the lease.
 */
export async function regionPass(options: RegionPassOptions): Promise<PassReport | undefined> {
  const { ports, holder } = options;
  const now = options.now ?? (() => new Date());
  if (!(await ports.store.acquireLease(holder, options.leaseSeconds, now().getTime()))) return undefined;
  try {
    return await reconcilePass(options);
  } finally {
    try {
      await ports.store.releaseLease(holder, now().getTime());
    } catch (error) {
      // It expires by itself; the heartbeat is recorded by the next pass.
      options.log?.warn(
        { region: options.region, err: asCloudError(error, 'lease').message },
        'lease not released',
      );
    }
  }
}

export interface RoundOptions {
  /** Each region's ports: its store is that region's replica. */
  portsOf: (region: string) => Ports;
  platform: Platform;
  /** The regions whose reconcilers run, in this order. Default every platform region. */
  regions?: readonly string[];
  intervalSeconds?: number;
  now?: () => Date;
  log?: Logger;
  /** Who takes each region's lease; default `round`. */
  holder?: string;
  /** Reconcile only these sites; default all. */
  sites?: readonly string[];
}

/**
 * One pass of every region's reconciler in turn, as the regional Lambdas run
 * once a minute: what the CLI's `reconcile` and `demo` do on the simulated
 * cloud, and the tests' world. Regions whose lease is held, or whose pass
 * fails (it is logged), are left out: each region's reconciler is on its own.
 */
export async function reconcileRound(options: RoundOptions): Promise<PassReport[]> {
  const reports: PassReport[] = [];
  for (const region of options.regions ?? Object.keys(options.platform.regions)) {
    const report = await regionPass({
      ports: options.portsOf(region),
      platform: options.platform,
      region,
      holder: `${options.holder ?? 'round'}:${region}`,
      leaseSeconds: (options.intervalSeconds ?? 60) * 3,
      ...(options.intervalSeconds === undefined ? {} : { intervalSeconds: options.intervalSeconds }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.sites === undefined ? {} : { sites: options.sites }),
    }).catch((error: unknown) => {
      options.log?.error({ region, err: asCloudError(error, region).message }, 'reconcile pass failed');
      return undefined;
    });
    if (report !== undefined) reports.push(report);
  }
  return reports;
}
