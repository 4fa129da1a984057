import type { RunResult, ScalingAction } from './simulator.ts';

/** Results of one trace: one run per policy, by policy name. */
export interface TraceResults {
  trace: string;
  runs: ReadonlyMap<string, RunResult>;
}

export interface Goal {
  name: string;
  /** Undefined when the traces it needs were not run. */
  ok: boolean | undefined;
  measured: string;
}

export const TANDEM = 'tandem';
export const TARGET_TRACKING = 'target tracking';
export const FIXED = 'fixed';

/** Traces whose overload tandem must at most halve, and the bound. */
export const OVERLOAD_GOAL = { traces: ['flash-crowd', 'step'], ratio: 0.5 } as const;
export const COST_GOAL_RATIO = 1.0;
export const STEADY_TRACE = 'steady';

/**
 * Flaps: a scale-in followed by a scale-out no more than `windowMinutes` later
 * (the autoscaler's stabilization window).
 */
export function flaps(
  actions: readonly ScalingAction[],
  windowMinutes: number,
): [ScalingAction, ScalingAction][] {
  const found: [ScalingAction, ScalingAction][] = [];
  for (const scaleIn of actions.filter((a) => a.to < a.from)) {
    const out = actions.find(
      (a) => a.to > a.from && a.minute > scaleIn.minute && a.minute - scaleIn.minute <= windowMinutes,
    );
    if (out !== undefined) found.push([scaleIn, out]);
  }
  return found;
}

/** b / a as text, "n/a" when a is 0 (and b too), "∞" when only a is. */
export function ratio(value: number, baseline: number): string {
  if (baseline === 0) return value === 0 ? 'n/a (both 0)' : '∞';
  return (value / baseline).toFixed(2);
}

export function evaluateGoals(results: readonly TraceResults[], windowMinutes: number): Goal[] {
  const goals: Goal[] = [];
  const run = (r: TraceResults, policy: string) => {
    const found = r.runs.get(policy);
    if (found === undefined) throw new Error(`no ${policy} run for ${r.trace}`);
    return found;
  };

  for (const name of OVERLOAD_GOAL.traces) {
    const r = results.find((x) => x.trace === name);
    const goal = `${name}: tandem's overloaded task-minutes ≤ ${OVERLOAD_GOAL.ratio}× target tracking's`;
    if (r === undefined) {
      goals.push({ name: goal, ok: undefined, measured: `trace ${name} not run` });
      continue;
    }
    const t = run(r, TANDEM).overloadedTaskMinutes;
    const tt = run(r, TARGET_TRACKING).overloadedTaskMinutes;
    goals.push({
      name: goal,
      ok: t <= OVERLOAD_GOAL.ratio * tt,
      measured: `${t.toFixed(1)} vs ${tt.toFixed(1)} = ${ratio(t, tt)}×`,
    });
  }

  const sum = (policy: string) => results.reduce((s, r) => s + run(r, policy).taskMinutes, 0);
  const tandem = sum(TANDEM);
  const tt = sum(TARGET_TRACKING);
  goals.push({
    name: `all traces run (sum): tandem's task-minutes ≤ ${COST_GOAL_RATIO.toFixed(1)}× target tracking's`,
    ok: results.length === 0 ? undefined : tandem <= COST_GOAL_RATIO * tt,
    measured: `${tandem.toLocaleString('en-US')} vs ${tt.toLocaleString('en-US')} = ${ratio(tandem, tt)}× over ${results.length} trace${results.length === 1 ? '' : 's'}`,
  });

  const steady = results.find((x) => x.trace === STEADY_TRACE);
  const steadyGoal = `${STEADY_TRACE}: no flapping (no scale-in followed by a scale-out within ${windowMinutes} min)`;
  if (steady === undefined) {
    goals.push({ name: steadyGoal, ok: undefined, measured: `trace ${STEADY_TRACE} not run` });
  } else {
    const found = flaps(run(steady, TANDEM).actions, windowMinutes);
    goals.push({
      name: steadyGoal,
      ok: found.length === 0,
      measured:
        `${found.length} flaps, ${run(steady, TANDEM).scalingActions} scaling actions` +
        (found.length === 0
          ? ''
          : `; first: in at minute ${found[0]![0].minute}, out at minute ${found[0]![1].minute}`),
    });
  }
  return goals;
}
