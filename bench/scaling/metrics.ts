/**
 * The ALB metric stream as CloudWatch holds it. Every policy reads the same
 * RequestCount stream, late by the model's delay; RequestCountPerTarget divides
 * it by the region's own healthy targets in that minute, as the ALB does. A
 * minute without requests has no datapoint at all: the ALB publishes none, and
 * a policy sees a gap, not a zero.
 */

/** One published one-minute datapoint. */
export interface Datapoint {
  /** Trace minute (0-based) the datapoint covers. */
  minute: number;
  /** RequestCount: requests the region received in that minute (never 0: such a minute has no datapoint). */
  requests: number;
  /** Healthy targets serving in that minute. */
  healthyTargets: number;
  /** RequestCountPerTarget: requests ÷ healthy targets (all requests when none was healthy). */
  requestsPerTarget: number;
}

/** What a policy can read at one decision instant: only published datapoints. */
export interface MetricView {
  /** Newest minute whose datapoint (if it has one) is readable; undefined before the first. */
  readonly newestMinute: number | undefined;
  /** The newest published datapoint, however old. */
  latest(): Datapoint | undefined;
  /**
   * The datapoints of the newest `count` readable minutes, newest first: fewer
   * near the start of a trace and where a minute had no requests.
   */
  recent(count: number): Datapoint[];
  /**
   * The datapoint of `minute`, undefined when that minute had no requests; a
   * RangeError for a minute not yet readable (the future) or before minute 0.
   */
  at(minute: number): Datapoint | undefined;
}

export class MetricStream {
  private readonly points: (Datapoint | undefined)[] = [];

  constructor(private readonly delayMinutes: number) {}

  /** Records the minute just served; minutes must come in order, from 0. */
  record(minute: number, requests: number, healthyTargets: number): void {
    if (minute !== this.points.length) {
      throw new RangeError(`datapoint for minute ${minute} recorded after minute ${this.points.length - 1}`);
    }
    this.points.push(
      requests > 0
        ? {
            minute,
            requests,
            healthyTargets,
            requestsPerTarget: healthyTargets === 0 ? requests : requests / healthyTargets,
          }
        : undefined,
    );
  }

  /** The stream as readable at the start of `minute`: datapoints up to minute − delay. */
  viewAt(minute: number): MetricView {
    const newest = Math.min(minute - this.delayMinutes, this.points.length - 1);
    const points = this.points;
    const newestMinute = newest >= 0 ? newest : undefined;
    const at = (m: number): Datapoint | undefined => {
      if (newestMinute === undefined || m > newestMinute || m < 0 || !Number.isInteger(m)) {
        throw new RangeError(
          `minute ${m} is not published at the start of minute ${minute} (newest: ${newestMinute ?? 'none'})`,
        );
      }
      return points[m];
    };
    return {
      newestMinute,
      latest: () => {
        for (let m = newestMinute ?? -1; m >= 0; m -= 1) if (points[m] !== undefined) return points[m];
        return undefined;
      },
      recent: (count) => {
        if (newestMinute === undefined) return [];
        const out: Datapoint[] = [];
        for (let m = newestMinute; m >= 0 && m > newestMinute - count; m -= 1) {
          const point = points[m];
          if (point !== undefined) out.push(point);
        }
        return out;
      },
      at,
    };
  }
}
