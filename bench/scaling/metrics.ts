/**
 * The ALB metric stream as CloudWatch holds it. Every policy reads the same
 * RequestCount stream, late by the model's delay; RequestCountPerTarget divides
 * it by the region's own healthy targets in that minute, as the ALB does.
 */

/** One published one-minute datapoint. */
export interface Datapoint {
  /** Trace minute (0-based) the datapoint covers. */
  minute: number;
  /** RequestCount: requests the region received in that minute. */
  requests: number;
  /** Healthy targets serving in that minute. */
  healthyTargets: number;
  /** RequestCountPerTarget: requests ÷ healthy targets (all requests when none was healthy). */
  requestsPerTarget: number;
}

/** What a policy can read at one decision instant: only published datapoints. */
export interface MetricView {
  /** Newest minute with a published datapoint; undefined before the first is published. */
  readonly newestMinute: number | undefined;
  /** The newest published datapoint. */
  latest(): Datapoint | undefined;
  /** The newest `count` published datapoints, newest first (fewer near the start of a trace). */
  recent(count: number): Datapoint[];
  /** The datapoint of `minute`; a RangeError for a minute not yet published (the future). */
  at(minute: number): Datapoint;
}

export class MetricStream {
  private readonly points: Datapoint[] = [];

  constructor(private readonly delayMinutes: number) {}

  /** Records the minute just served; minutes must come in order, from 0. */
  record(minute: number, requests: number, healthyTargets: number): void {
    if (minute !== this.points.length) {
      throw new RangeError(`datapoint for minute ${minute} recorded after minute ${this.points.length - 1}`);
    }
    this.points.push({
      minute,
      requests,
      healthyTargets,
      requestsPerTarget: healthyTargets === 0 ? requests : requests / healthyTargets,
    });
  }

  /** The stream as readable at the start of `minute`: datapoints up to minute − delay. */
  viewAt(minute: number): MetricView {
    const newest = Math.min(minute - this.delayMinutes, this.points.length - 1);
    const points = this.points;
    const newestMinute = newest >= 0 ? newest : undefined;
    const at = (m: number): Datapoint => {
      if (newestMinute === undefined || m > newestMinute || m < 0 || !Number.isInteger(m)) {
        throw new RangeError(
          `minute ${m} is not published at the start of minute ${minute} (newest: ${newestMinute ?? 'none'})`,
        );
      }
      return points[m]!;
    };
    return {
      newestMinute,
      latest: () => (newestMinute === undefined ? undefined : points[newestMinute]),
      recent: (count) => {
        if (newestMinute === undefined) return [];
        const out: Datapoint[] = [];
        for (let m = newestMinute; m >= 0 && out.length < count; m -= 1) out.push(points[m]!);
        return out;
      },
      at,
    };
  }
}
