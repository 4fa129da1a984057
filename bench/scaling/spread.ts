import { JUMP_GOAL, median, ORACLE, ratioOf, type TraceResults } from './goals.ts';

/**
 * A jump goal's ratio is a ratio of small sums on the step trace, so one noise
 * draw can flatter either side. The spread reruns the jump traces with other
 * noise and start-delay seeds and reports the ratio's range.
 */
export interface Spread {
  trace: string;
  policy: string;
  /** Ratio to the oracle-reactive bound in each rerun; undefined when both were never overloaded. */
  ratios: (number | undefined)[];
}

export function overloadSpread(
  reruns: readonly (readonly TraceResults[])[],
  policies: readonly string[],
): Spread[] {
  const spreads: Spread[] = [];
  for (const trace of JUMP_GOAL.traces) {
    for (const policy of policies) {
      const ratios = reruns.map((results) => {
        const r = results.find((x) => x.trace === trace);
        if (r === undefined) throw new Error(`trace ${trace} missing from a rerun`);
        return ratioOf(r.runs.get(policy)!.overloadedTaskMinutes, r.runs.get(ORACLE)!.overloadedTaskMinutes);
      });
      spreads.push({ trace, policy, ratios });
    }
  }
  return spreads;
}

/** min / median / max of the defined ratios, and how many meet the jump goal. */
export function summarize(spread: Spread): { min: number; median: number; max: number; meeting: number } {
  const values = spread.ratios.filter((r): r is number => r !== undefined).sort((a, b) => a - b);
  const meeting = spread.ratios.filter((r) => r === undefined || r <= JUMP_GOAL.ratio).length;
  if (values.length === 0) return { min: 0, median: 0, max: 0, meeting };
  return { min: values[0]!, median: median(values)!, max: values.at(-1)!, meeting };
}
