import {
  FIXED,
  flaps,
  ORACLE,
  ratio,
  TANDEM,
  TANDEM_SCHEDULED,
  TARGET_TRACKING,
  type Goal,
  type TraceResults,
} from './goals.ts';

/** Prints a Markdown table, padded so it reads in a terminal too. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[], left = 2): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const cell = (text: string, i: number) => (i < left ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
  console.log(`| ${header.map(cell).join(' | ')} |`);
  console.log(
    `| ${widths.map((w, i) => (i < left ? `${'-'.repeat(w)}` : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
  );
  for (const row of rows) console.log(`| ${row.map(cell).join(' | ')} |`);
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const oneDecimal = (n: number) =>
  n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/**
 * The main table: every trace, the policies compared (and tandem with a
 * declared event where one was run), and the ratios to target tracking; flaps are scale-ins followed by a scale-out within `windowMinutes`.
 */
export function printResults(results: readonly TraceResults[], windowMinutes: number): void {
  const rows: string[][] = [];
  for (const r of results) {
    const tt = r.runs.get(TARGET_TRACKING)!;
    for (const policy of [TANDEM, TARGET_TRACKING, FIXED, ORACLE, TANDEM_SCHEDULED]) {
      const run = r.runs.get(policy);
      if (run === undefined) continue;
      const compared = policy !== TARGET_TRACKING;
      rows.push([
        r.trace,
        policy,
        oneDecimal(run.overloadedTaskMinutes),
        int(run.violationMinutes),
        int(run.taskMinutes),
        int(run.scalingActions),
        int(flaps(run.actions, windowMinutes).length),
        compared ? ratio(run.overloadedTaskMinutes, tt.overloadedTaskMinutes) : '',
        compared ? ratio(run.taskMinutes, tt.taskMinutes) : '',
      ]);
    }
  }
  printTable(
    [
      'trace',
      'policy',
      'overloaded task-min',
      'SLO-violating min',
      'task-min',
      'scaling actions',
      'flaps',
      'overload / TT',
      'task-min / TT',
    ],
    rows,
  );
}

/** Diagnosis rows: named policies against a baseline policy, overload only. */
export function printVariants(
  results: readonly TraceResults[],
  baseline: string,
  variants: readonly string[],
): void {
  const rows = results.map((r) => {
    const b = r.runs.get(baseline)!.overloadedTaskMinutes;
    return [
      r.trace,
      oneDecimal(b),
      ...variants.map((v) => {
        const o = r.runs.get(v)!.overloadedTaskMinutes;
        return `${oneDecimal(o)} (${ratio(o, b)})`;
      }),
    ];
  });
  printTable(['trace', baseline, ...variants], rows, 1);
}

/** Minute by minute around `from`, for tandem and target tracking. */
export function printTimeline(results: TraceResults, from: number, minutes: number, capacity: number): void {
  const tandem = results.runs.get(TANDEM)!;
  const tt = results.runs.get(TARGET_TRACKING)!;
  const rows: string[][] = [];
  for (let m = from; m < from + minutes && m < tandem.minutes.length; m += 1) {
    const a = tandem.minutes[m]!;
    const b = tt.minutes[m]!;
    rows.push([
      `${m} (${clock(m)})`,
      int(a.demand),
      a.seen === undefined ? '—' : int(a.seen),
      `${a.desired} / ${a.healthy}`,
      perTask(a.demand, a.healthy, capacity),
      a.reason,
      `${b.desired} / ${b.healthy}`,
      perTask(b.demand, b.healthy, capacity),
      b.reason,
    ]);
  }
  printTable(
    [
      'minute',
      'demand',
      'newest datapoint',
      'tandem desired / healthy',
      'req/task',
      'tandem decision',
      'TT desired / healthy',
      'req/task',
      'TT decision',
    ],
    rows,
    1,
  );
}

export function printGoals(goals: readonly Goal[]): void {
  for (const goal of goals) {
    const mark = goal.ok === undefined ? 'NOT EVALUATED' : goal.ok ? 'PASS' : 'FAIL';
    console.log(`  ${mark}  ${goal.name}\n        measured: ${goal.measured}`);
  }
}

/** Requests per healthy task, marked when above the capacity C. */
function perTask(demand: number, healthy: number, capacity: number): string {
  const load = healthy === 0 ? Infinity : demand / healthy;
  return `${Number.isFinite(load) ? int(load) : '∞'}${load > capacity ? ' !' : ''}`;
}

function clock(minute: number): string {
  const m = minute % (24 * 60);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
