import type { Policy } from './policy.ts';

/**
 * A reference, not a contender: ceil(newest requests / target) every minute,
 * with no step limit, window or alarm. On a single jump in demand no policy
 * reading the same delayed stream at the same target reacts sooner; on noisy
 * traffic it scales in on every dip and is overloaded often.
 */
export function reactiveFollowerPolicy(targetPerTask: number): Policy {
  return {
    decide(view) {
      const latest = view.metrics.latest();
      if (latest === undefined) return { tasks: view.desired, reason: 'NoData' };
      return { tasks: Math.ceil(latest.requests / targetPerTask), reason: 'Follow' };
    },
  };
}
