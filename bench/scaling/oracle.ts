import type { Policy } from './policy.ts';

/** Datapoints whose highest need the oracle-reactive bound keeps when scaling in. */
export const ORACLE_SCALE_IN_DATAPOINTS = 5;

/**
 * The oracle-reactive bound: the best any policy reading the same delayed
 * stream can do on a jump. Each minute it asks for the highest need,
 * ceil(requests / target), of the newest five datapoints: the newest one is
 * acted on the moment it is visible, with no step limit or tolerance, and it
 * scales in only to what the last five minutes needed. A yardstick, not a
 * contender: it knows nothing a reactive policy could not.
 */
export function oracleReactivePolicy(targetPerTask: number): Policy {
  return {
    decide(view) {
      const points = view.metrics.recent(ORACLE_SCALE_IN_DATAPOINTS);
      if (points.length === 0) return { tasks: view.desired, reason: 'NoData' };
      const need = Math.max(...points.map((p) => Math.ceil(p.requests / targetPerTask)));
      return { tasks: need, reason: `Need ${need}` };
    },
  };
}
