import { OVERLOAD_GOAL, TARGET_TRACKING, type TraceResults } from './goals.ts';

/**
 * The overload goal's ratio is a ratio of small sums on the step trace, so one
 * noise draw can flatter either side. The spread reruns the goal traces with
 * other noise and start-delay seeds and reports the ratio's range.
 */
export interface Spread {
  trace: string;
  policy: string;
  /** Ratio to target tracking in each rerun; undefined when both were never overloaded. */
  ratios: (number | undefined)[];
}

export function overloadSpread(reruns: readonly TraceResults[][], policies: readonly string[]): Spread[] {
  const spreads: Spread[] = [];
  for (const trace of OVERLOAD_GOAL.traces) {
    for (const policy of policies) {
      const ratios = reruns.map((results) => {
        const r = results.find((x) => x.trace === trace);
        if (r === undefined) throw new Error(`trace ${trace} missing from a rerun`);
        const tt = r.runs.get(TARGET_TRACKING)!.overloadedTaskMinutes;
        const o = r.runs.get(policy)!.overloadedTaskMinutes;
        return tt === 0 ? (o === 0 ? undefined : Infinity) : o / tt;
      });
      spreads.push({ trace, policy, ratios });
    }
  }
  return spreads;
}

/** min / median / max of the defined ratios, and how many meet the goal. */
export function summarize(spread: Spread): { min: number; median: number; max: number; meeting: number } {
  const values = spread.ratios.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const meeting = spread.ratios.filter((r) => r === undefined || r <= OVERLOAD_GOAL.ratio).length;
  if (values.length === 0) return { min: 0, median: 0, max: 0, meeting };
  const mid = Math.floor(values.length / 2);
  const median = values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  return { min: values[0]!, median, max: values.at(-1)!, meeting };
}
