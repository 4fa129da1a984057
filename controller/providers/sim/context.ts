import type { CloudErrorKind } from '../../errors.ts';
import type { Platform } from '../../model/platform.ts';
import type { Page } from '../../ports/page.ts';
import type { SimRegion, SimReplica, SimWorld } from './world.ts';

/** One API call as the simulated cloud recorded it. */
export interface CallRecord {
  service: 'ecs' | 'elbv2' | 'cloudfront' | 'cloudwatch' | 'store';
  operation: string;
  /** The region called; `global` for CloudFront. */
  region: string;
  write: boolean;
  /** Set when the call failed (throttled, outage, crash or an API error). */
  error?: CloudErrorKind;
}

/**
 * What each simulated API (ecs.ts, load-balancer.ts, cdn.ts, metrics.ts,
 * dashboard.ts, store.ts) needs from the simulated cloud: the world it
 * changes, and `call`, which records the call and applies latency, outages,
 * throttling and crashes before running its body.
 */
export interface SimContext {
  readonly world: SimWorld;
  readonly platform: Platform;
  call<T>(
    service: CallRecord['service'],
    operation: string,
    region: string,
    write: boolean,
    body: () => T,
  ): Promise<T>;
  /** The simulated region; an Invalid error for one that is not simulated. */
  region(name: string): SimRegion;
  /** A fresh id for ARNs and distribution ids. */
  nextId(): string;
  /** The region's replica of the table; an Invalid error for a region that is not simulated. */
  replica(region: string): SimReplica;
  /** The version of the next table write: higher than every one before, in any replica. */
  nextVersion(): number;
  /** Called after each table write: with immediate replication, the write reaches every replica now. */
  tableWritten(): void;
  /** Epoch milliseconds, from the cloud's clock. */
  now(): number;
}

/** One page of `items`; the token is the index the next page starts at. */
export function page<T>(items: T[], size: number, next: string | undefined): Page<T> {
  const start = next === undefined ? 0 : Number(next);
  const end = start + size;
  return end < items.length
    ? { items: items.slice(start, end), next: String(end) }
    : { items: items.slice(start) };
}
