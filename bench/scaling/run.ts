import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fixedPolicy, fixedTasks } from './fixed.ts';
import { reactiveFollowerPolicy } from './follower.ts';
import { headroomFrontier } from './frontier.ts';
import {
  COST_GOAL_RATIO,
  evaluateGoals,
  FIXED,
  OVERLOAD_GOAL,
  TANDEM,
  TARGET_TRACKING,
  type TraceResults,
} from './goals.ts';
import { REGION_MODEL, type RegionModel } from './model.ts';
import type { PolicyEntry } from './policy.ts';
import {
  printFrontier,
  printGoals,
  printResults,
  printTable,
  printTimeline,
  printVariants,
} from './report.ts';
import { simulate, type RunResult } from './simulator.ts';
import { overloadSpread, summarize } from './spread.ts';
import { tandemPolicy, tandemScalingPolicy } from './tandem.ts';
import { TARGET_TRACKING_DEFAULTS, targetTrackingPolicy } from './target-tracking.ts';
import { describeTraceError, readTraceFile, type Trace } from './trace.ts';
import {
  FLASH_CROWDS,
  NASA_TRACE_URL,
  nasaTrace,
  STEP_LEVELS,
  STEP_MINUTES,
  syntheticTraces,
} from './traces.ts';

/**
 * `npm run bench -- scaling [--trace <file>]...`: tandem's autoscaler, AWS
 * target tracking and fixed capacity over the same traces in one simulated
 * region; prints the table, a diagnosis and the goals.
 */

const USAGE = 'usage: npm run bench -- scaling [--trace <minute,requests CSV file>]...';

/** A spec a user could write: every scaling field at its default, and a maxTasks large enough for the traces. */
const TANDEM_POLICY = tandemScalingPolicy({
  minTasks: REGION_MODEL.minTasks,
  maxTasks: REGION_MODEL.maxTasks,
});
/** Flapping is a scale-in followed by a scale-out within tandem's stabilization window. */
const WINDOW_MINUTES = TANDEM_POLICY.scaleInStabilizationSeconds / 60;
/** One target for tandem and target tracking: the spec's default. */
const TARGET = TANDEM_POLICY.targetRequestsPerTask;
/** Diagnosis only: the same spec with maxScaleOutStep raised to maxTasks. */
const UNSTEPPED = `tandem, maxScaleOutStep ${REGION_MODEL.maxTasks}`;
const REACTIVE_FOLLOWER = 'reactive follower';
/** Diagnosis only, and not the shared stream: what a metric one minute fresher than the ALB's would give. */
const FRESHER = `tandem, maxScaleOutStep ${REGION_MODEL.maxTasks}, metric 1 min fresher`;
/** Reruns of the overload-goal traces for the spread. */
const SPREAD_RERUNS = 10;
/**
 * Diagnosis only: tandem's targets for the headroom frontier, from the default
 * down in steps of 60 to one below the first that meets both overload goals.
 */
const FRONTIER_TARGETS: readonly number[] = [600, 540, 480, 420, 360, 300, 240];

/** Autoscaled policies start warm: ceil(first minute / target) tasks, already healthy. */
const warmAt = (target: number) => (requests: readonly number[]) => Math.ceil((requests[0] ?? 0) / target);
const warm = warmAt(TARGET);

const POLICIES: readonly PolicyEntry[] = [
  { name: TANDEM, initialTasks: warm, create: () => tandemPolicy(TANDEM_POLICY) },
  {
    name: TARGET_TRACKING,
    initialTasks: warm,
    create: () => targetTrackingPolicy({ target: TARGET, ...TARGET_TRACKING_DEFAULTS }),
  },
  {
    name: FIXED,
    initialTasks: (requests) => fixedTasks(requests, TARGET),
    create: (requests) => fixedPolicy(fixedTasks(requests, TARGET)),
  },
  {
    name: UNSTEPPED,
    initialTasks: warm,
    create: () => tandemPolicy({ ...TANDEM_POLICY, maxScaleOutStep: REGION_MODEL.maxTasks }),
  },
  { name: REACTIVE_FOLLOWER, initialTasks: warm, create: () => reactiveFollowerPolicy(TARGET) },
  {
    name: FRESHER,
    initialTasks: warm,
    create: () => tandemPolicy({ ...TANDEM_POLICY, maxScaleOutStep: REGION_MODEL.maxTasks }),
    model: { metricDelayMinutes: REGION_MODEL.metricDelayMinutes - 1 },
  },
];

export async function runScalingBenchmark(args: readonly string[] = []): Promise<boolean> {
  const options = parseOptions(args);
  if (options === 'help') return true;
  if (options === undefined) return false;
  const started = performance.now();
  const traces = options.files.length > 0 ? await readTraces(options.files) : await builtInTraces();
  if (traces === undefined) return false;

  printModel();
  console.log('traces');
  for (const trace of traces) console.log(`  ${trace.name.padEnd(12)} ${trace.description}`);
  console.log('');

  const results = runAll(traces, REGION_MODEL);
  console.log('results (overload and cost ratios are to target tracking, measured in this run)');
  printResults(results, WINDOW_MINUTES);
  const c = REGION_MODEL.capacityPerTask;
  console.log(
    `  overloaded task-min: Σ max(0, demand / ${c} − healthy tasks) over minutes, the capacity missing;`,
  );
  console.log(
    `  SLO-violating min: minutes with demand / healthy tasks > ${c}; task-min: Σ started tasks (healthy or starting);`,
  );
  console.log(`  flaps: scale-ins followed by a scale-out within ${WINDOW_MINUTES} min; TT: target tracking`);
  console.log('');
  printDiagnosis(results);
  if (options.files.length === 0) {
    const spread = spreadCases();
    const reruns = spread.map((c) => runAll(c.traces, c.model));
    printSpread(reruns);
    printHeadroomFrontier(traces, results, spread, reruns);
  }

  const goals = evaluateGoals(results, WINDOW_MINUTES);
  console.log('goals');
  printGoals(goals);
  const ok = goals.every((g) => g.ok !== false);
  console.log('');
  console.log(
    `scaling: ${ok ? 'all goals PASS' : 'some goals FAIL'} (${((performance.now() - started) / 1000).toFixed(2)} s; ` +
      `${availableParallelism()} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)})`,
  );
  return ok;
}

/** The trace files to run, 'help' once usage is printed, or undefined after printing what is wrong. */
function parseOptions(args: readonly string[]): { files: string[] } | 'help' | undefined {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { trace: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      console.log(USAGE);
      console.log('  --trace <file>  run this trace (repeatable) instead of the built-in ones');
      return 'help';
    }
    return { files: values.trace ?? [] };
  } catch (error) {
    console.error(`scaling: ${(error as Error).message}\n${USAGE}`);
    return undefined;
  }
}

async function readTraces(files: readonly string[]): Promise<Trace[] | undefined> {
  const traces: Trace[] = [];
  for (const file of files) {
    const read = await readTraceFile(file);
    if (!read.ok) {
      console.error(`scaling: invalid trace ${describeTraceError(read.error)}`);
      return undefined;
    }
    traces.push(read.trace);
  }
  return traces;
}

/** The generated traces and the NASA week; a missing NASA file is skipped, a broken one fails. */
async function builtInTraces(): Promise<Trace[] | undefined> {
  const traces = syntheticTraces();
  const nasa = await nasaTrace();
  if (nasa.ok) return [...traces, nasa.trace];
  if (nasa.error.message === 'no such file') {
    console.log(`scaling: skipping the NASA trace: ${NASA_TRACE_URL.pathname} is missing`);
    return traces;
  }
  console.error(`scaling: the NASA trace cannot be used: ${describeTraceError(nasa.error)}`);
  return undefined;
}

/** Every policy over every trace, each run fresh. */
function runAll(
  traces: readonly Trace[],
  model: RegionModel,
  policies: readonly PolicyEntry[] = POLICIES,
): TraceResults[] {
  return traces.map((trace) => ({
    trace: trace.name,
    runs: new Map<string, RunResult>(
      policies.map((p) => [
        p.name,
        simulate(
          trace.requests,
          p.create(trace.requests),
          { ...model, ...p.model },
          p.initialTasks(trace.requests),
        ),
      ]),
    ),
  }));
}

/** The variants' overload, and minute-by-minute timelines of the overload-goal traces. */
function printDiagnosis(results: readonly TraceResults[]): void {
  console.log(
    `diagnosis: overloaded task-minutes (ratio to target tracking) of the same spec with maxScaleOutStep ${REGION_MODEL.maxTasks},`,
  );
  console.log(
    '  and of the reactive follower: ceil(newest datapoint / target) every minute with no step, window or alarm —',
  );
  console.log(
    '  on a single jump, the fastest reaction any policy reading the same delayed stream at the same target can have',
  );
  console.log(
    "  and, hypothetically (not the shared stream), of tandem reading a metric one minute fresher than the ALB's",
  );
  printVariants(results, [UNSTEPPED, REACTIVE_FOLLOWER, FRESHER]);
  console.log('');

  const flash = results.find((r) => r.trace === 'flash-crowd');
  if (flash !== undefined) {
    const start = FLASH_CROWDS[0].start;
    console.log(`flash-crowd, minute by minute from the first crowd (demand ×10 at minute ${start}):`);
    printTimeline(flash, start - 1, 14, REGION_MODEL.capacityPerTask);
    console.log(
      '  desired / healthy: after the decision at the start of the minute; req/task: demand / healthy, ! above C',
    );
    console.log('');
  }
  const step = results.find((r) => r.trace === 'step');
  if (step !== undefined) {
    // The step up to the highest level.
    const i = STEP_LEVELS.indexOf(Math.max(...STEP_LEVELS));
    console.log(
      `step, minute by minute from the step ${STEP_LEVELS[i - 1]!.toLocaleString('en-US')} → ${STEP_LEVELS[i]!.toLocaleString('en-US')} (minute ${i * STEP_MINUTES}):`,
    );
    printTimeline(step, i * STEP_MINUTES - 1, 9, REGION_MODEL.capacityPerTask);
    console.log('');
  }
}

/** The spread's reruns: the overload-goal traces with other noise, in a region with another start-delay seed. */
function spreadCases(): { traces: Trace[]; model: RegionModel }[] {
  return Array.from({ length: SPREAD_RERUNS }, (_, i) => ({
    traces: syntheticTraces(i + 1).filter((t) =>
      (OVERLOAD_GOAL.traces as readonly string[]).includes(t.name),
    ),
    model: { ...REGION_MODEL, seed: REGION_MODEL.seed + i + 1 },
  }));
}

/** The overload goal's ratio over reruns with other noise and start-delay seeds. */
function printSpread(reruns: readonly TraceResults[][]): void {
  console.log(
    `spread: overload / target tracking over ${SPREAD_RERUNS} reruns with other noise and start-delay seeds (goal ≤ ${OVERLOAD_GOAL.ratio})`,
  );
  const rows = overloadSpread(reruns, [TANDEM, UNSTEPPED, REACTIVE_FOLLOWER, FRESHER]).map((spread) => {
    const s = summarize(spread);
    return [
      spread.trace,
      spread.policy,
      s.min.toFixed(2),
      s.median.toFixed(2),
      s.max.toFixed(2),
      `${s.meeting} of ${SPREAD_RERUNS}`,
    ];
  });
  printTable(['trace', 'policy', 'min', 'median', 'max', 'reruns ≤ goal'], rows);
  console.log('');
}

/**
 * tandem at each FRONTIER_TARGETS target on the main run's traces and the
 * spread's reruns, against target tracking's runs at TARGET from those runs.
 */
function printHeadroomFrontier(
  traces: readonly Trace[],
  results: readonly TraceResults[],
  spread: readonly { traces: Trace[]; model: RegionModel }[],
  reruns: readonly TraceResults[][],
): void {
  const points = FRONTIER_TARGETS.map((target) => {
    // The cap scaled with the target, to leave the main run's room above each trace's peak.
    const maxTasks = Math.ceil((REGION_MODEL.maxTasks * TARGET) / target);
    const tandem: PolicyEntry = {
      name: TANDEM,
      initialTasks: warmAt(target),
      create: () =>
        tandemPolicy(
          tandemScalingPolicy(
            { minTasks: REGION_MODEL.minTasks, maxTasks },
            { targetRequestsPerTask: target },
          ),
        ),
      model: { maxTasks },
    };
    return {
      target,
      runs: runAll(traces, REGION_MODEL, [tandem]),
      reruns: spread.map((c) => runAll(c.traces, c.model, [tandem])),
    };
  });
  console.log(
    `headroom frontier: what standing headroom (a lower target) buys in overload and costs in task-minutes — ` +
      `tandem at each target, target tracking at ${TARGET}`,
  );
  printFrontier(headroomFrontier(points, { runs: results, reruns }, REGION_MODEL.capacityPerTask));
  console.log(
    `  headroom: C / target; overload / TT on the default seed (median over the ${SPREAD_RERUNS} reruns), goal ≤ ${OVERLOAD_GOAL.ratio};`,
  );
  console.log(
    `  task-min / TT over all traces, goal ≤ ${COST_GOAL_RATIO.toFixed(1)}; maxTasks ⌈${REGION_MODEL.maxTasks} × ${TARGET} / target⌉ in each row;`,
  );
  console.log(`  a diagnosis: the goals below stay measured on tandem at ${TARGET}`);
  console.log('');
}

function printModel(): void {
  const m = REGION_MODEL;
  const tt = TARGET_TRACKING_DEFAULTS;
  console.log(
    'scaling: one region, minute by minute; every policy on the same traces and the same delayed metrics',
  );
  printTable(
    ['model', 'value'],
    [
      [
        'task capacity C',
        `${m.capacityPerTask} requests/min; a minute breaks the SLO when demand / healthy tasks > C`,
      ],
      ['target', `${TARGET} requests/task/min (spec default), for tandem and target tracking`],
      ['metric delay', `at the start of minute t the newest datapoint is minute t − ${m.metricDelayMinutes}`],
      [
        'task start',
        `a task started at t serves from t + ${m.startDelayMinutes.join(' or t + ')} (seeded draw)`,
      ],
      ['bounds', `minTasks ${m.minTasks}, maxTasks ${m.maxTasks}`],
      [
        'tandem',
        `decideTasks with the spec defaults: tolerance ${TANDEM_POLICY.tolerance}, window ${TANDEM_POLICY.scaleInStabilizationSeconds} s, maxScaleOutStep ${TANDEM_POLICY.maxScaleOutStep}`,
      ],
      [
        'target tracking',
        `out: ${tt.scaleOutDatapoints} of ${tt.scaleOutDatapoints} > target; in: ${tt.scaleInDatapoints} of ${tt.scaleInDatapoints} < ${tt.scaleInRatio} × target; cooldowns ${tt.scaleOutCooldownMinutes * 60} s / ${tt.scaleInCooldownMinutes * 60} s`,
      ],
      ['fixed', 'ceil(trace mean / target), from minute 0'],
    ],
  );
  console.log('');
}
