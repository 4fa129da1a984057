import type { Policy } from './policy.ts';

/** Application Auto Scaling target tracking on ALBRequestCountPerTarget, as documented for ECS. */
export interface TargetTrackingOptions {
  /** TargetValue: requests per target per minute. */
  target: number;
  /** The scale-out alarm (AlarmHigh): this many of this many datapoints above the target. */
  scaleOutDatapoints: number;
  /** The scale-in alarm (AlarmLow): this many of this many datapoints below `scaleInRatio` × target. */
  scaleInDatapoints: number;
  scaleInRatio: number;
  scaleOutCooldownMinutes: number;
  scaleInCooldownMinutes: number;
}

/** The fixed alarms AWS creates for a target tracking policy, and the ECS default cooldowns (300 s). */
export const TARGET_TRACKING_DEFAULTS: Omit<TargetTrackingOptions, 'target'> = {
  scaleOutDatapoints: 3,
  scaleInDatapoints: 15,
  scaleInRatio: 0.9,
  scaleOutCooldownMinutes: 5,
  scaleInCooldownMinutes: 5,
};

/**
 * Each minute the alarms evaluate the newest published datapoints; an alarm in
 * ALARM invokes the policy every minute it stays there (CloudWatch re-invokes
 * Auto Scaling actions each period). On an invocation the new capacity is
 * ceil(capacity × metric / target), from the newest datapoint.
 *
 * Cooldowns, as documented: a scale-out cooldown (after a scale-out) lets a
 * further scale-out through only when it is larger, and "the capacity added by
 * the initiating scale-out is calculated as part of the desired capacity for
 * the next scale-out": inside the cooldown the capacity multiplied is the one
 * before the initiating scale-out (the one the still-stale datapoints were
 * measured with), so stale datapoints do not compound. A scale-out inside the
 * cooldown restarts it and keeps that base. A scale-in cooldown blocks further
 * scale-in only; a scale-out ends it at once. Neither cooldown blocks the other
 * direction.
 */
export function targetTrackingPolicy(options: TargetTrackingOptions): Policy {
  let scaleOutCooldownEnds = -Infinity;
  let scaleInCooldownEnds = -Infinity;
  /** Capacity before the scale-out that began the current scale-out cooldown. */
  let cooldownBase = 0;
  return {
    decide(view) {
      // A minute without requests has no datapoint: it breaches neither alarm, so missing data never scales in.
      const outPoints = view.metrics.recent(options.scaleOutDatapoints);
      const inPoints = view.metrics.recent(options.scaleInDatapoints);
      const latest = view.metrics.latest();
      if (latest === undefined) return { tasks: view.desired, reason: 'INSUFFICIENT_DATA' };
      const high =
        outPoints.length === options.scaleOutDatapoints &&
        outPoints.every((p) => p.requestsPerTarget > options.target);
      const low =
        inPoints.length === options.scaleInDatapoints &&
        inPoints.every((p) => p.requestsPerTarget < options.scaleInRatio * options.target);
      const capacityFor = (capacity: number) =>
        Math.ceil((capacity * latest.requestsPerTarget) / options.target);

      if (high) {
        const inCooldown = view.minute < scaleOutCooldownEnds;
        const base = inCooldown ? cooldownBase : view.desired;
        const wanted = capacityFor(base);
        if (wanted <= view.desired) {
          const why = inCooldown ? ' (scale-out cooldown)' : '';
          return { tasks: view.desired, reason: `AlarmHigh, ${wanted} not larger${why}` };
        }
        cooldownBase = base;
        scaleOutCooldownEnds = view.minute + options.scaleOutCooldownMinutes;
        scaleInCooldownEnds = -Infinity;
        return {
          tasks: wanted,
          reason: `AlarmHigh: ceil(${base} × ${Math.round(latest.requestsPerTarget)} / target)`,
        };
      }
      if (low) {
        if (view.minute < scaleInCooldownEnds)
          return { tasks: view.desired, reason: 'AlarmLow, scale-in cooldown' };
        const wanted = capacityFor(view.desired);
        if (wanted >= view.desired) return { tasks: view.desired, reason: 'AlarmLow, nothing to remove' };
        scaleInCooldownEnds = view.minute + options.scaleInCooldownMinutes;
        return {
          tasks: wanted,
          reason: `AlarmLow: ceil(${view.desired} × ${Math.round(latest.requestsPerTarget)} / target)`,
        };
      }
      return { tasks: view.desired, reason: 'OK' };
    },
  };
}
