import { COST_GOAL_RATIO, OVERLOAD_GOAL, TANDEM, TARGET_TRACKING, type TraceResults } from './goals.ts';
import type { RunResult } from './simulator.ts';
import { overloadSpread, summarize } from './spread.ts';

/**
 * The headroom frontier: tandem run at targets below the spec's default, so
 * with more standing headroom, against target tracking at its own target. On
 * the ALB's delayed metric no reactive policy at the same target meets the
 * overload goal (the spread shows it); headroom can, and costs task-minutes
 * every minute. Each row says what it buys, what it costs and which goals it
 * meets. A diagnosis: the goals stay measured on tandem at the default.
 */

/** tandem's runs at one target. */
export interface FrontierPoint {
  /** tandem's targetRequestsPerTask. */
  target: number;
  /** tandem's run on every trace of the main run. */
  runs: readonly TraceResults[];
  /** tandem's runs on each spread rerun, in the spread's order; empty for no reruns. */
  reruns: readonly (readonly TraceResults[])[];
}

/** Target tracking's runs the rows are measured against: the main run's and the spread's. */
export interface FrontierBaseline {
  runs: readonly TraceResults[];
  reruns: readonly (readonly TraceResults[])[];
}

export interface FrontierOverload {
  trace: string;
  /** tandem's overloaded task-minutes / TT's on the default seed; undefined when both are 0. */
  ratio: number | undefined;
  /** The median of that ratio over the reruns; undefined without reruns. */
  median: number | undefined;
  /** The overload goal holds on the default seed, as the goals measure it. */
  met: boolean;
}

export interface FrontierRow {
  target: number;
  /** C / target: the factor demand can rise by over the target before tasks are overloaded. */
  headroom: number;
  /** One per overload-goal trace, in the goal's order. */
  overload: FrontierOverload[];
  /** tandem's task-minutes / TT's, summed over every trace of the main run. */
  cost: number;
  /** The cost goal holds. */
  costMet: boolean;
}

export function headroomFrontier(
  points: readonly FrontierPoint[],
  baseline: FrontierBaseline,
  capacityPerTask: number,
): FrontierRow[] {
  return points.map((point) => {
    if (point.reruns.length !== 0 && point.reruns.length !== baseline.reruns.length) {
      throw new Error(
        `target ${point.target}: ${point.reruns.length} reruns against ${baseline.reruns.length} of target tracking`,
      );
    }
    const runs = paired(point.runs, baseline.runs);
    // The spread's ratio, so a row's overload is measured as the spread measures it.
    const onSeed = overloadSpread([runs], [TANDEM]);
    const overReruns =
      point.reruns.length === 0
        ? undefined
        : overloadSpread(
            point.reruns.map((rerun, i) => paired(rerun, baseline.reruns[i]!)),
            [TANDEM],
          );
    const overload = onSeed.map((spread, i) => {
      const ratio = spread.ratios[0];
      return {
        trace: spread.trace,
        ratio,
        median: overReruns === undefined ? undefined : summarize(overReruns[i]!).median,
        met: ratio === undefined || ratio <= OVERLOAD_GOAL.ratio,
      };
    });
    const sum = (policy: string) => runs.reduce((s, r) => s + run(r, policy).taskMinutes, 0);
    const tandem = sum(TANDEM);
    const tt = sum(TARGET_TRACKING);
    return {
      target: point.target,
      headroom: capacityPerTask / point.target,
      overload,
      cost: tandem / tt,
      costMet: tandem <= COST_GOAL_RATIO * tt,
    };
  });
}

/** Each trace of `tandem` with target tracking's run of the same trace from `baseline`. */
function paired(tandem: readonly TraceResults[], baseline: readonly TraceResults[]): TraceResults[] {
  return tandem.map((t) => {
    const b = baseline.find((x) => x.trace === t.trace);
    if (b === undefined) throw new Error(`trace ${t.trace} has no target tracking run to compare with`);
    return {
      trace: t.trace,
      runs: new Map([
        [TANDEM, run(t, TANDEM)],
        [TARGET_TRACKING, run(b, TARGET_TRACKING)],
      ]),
    };
  });
}

function run(r: TraceResults, policy: string): RunResult {
  const found = r.runs.get(policy);
  if (found === undefined) throw new Error(`no ${policy} run for ${r.trace}`);
  return found;
}
