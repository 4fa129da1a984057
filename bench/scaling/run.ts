import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fixedPolicy, fixedTasks } from './fixed.ts';
import {
  EVENT_GOAL,
  evaluateGoals,
  FIXED,
  FLAP_WINDOW_MINUTES,
  goalSummary,
  JUMP_GOAL,
  median,
  ORACLE,
  TANDEM,
  TANDEM_SCHEDULED,
  TARGET_TRACKING,
  type TraceResults,
} from './goals.ts';
import { REGION_MODEL, type RegionModel } from './model.ts';
import { ORACLE_SCALE_IN_DATAPOINTS, oracleReactivePolicy } from './oracle.ts';
import type { PolicyEntry } from './policy.ts';
import { printGoals, printResults, printTable, printTimeline, printVariants } from './report.ts';
import { simulate, type RunResult } from './simulator.ts';
import { overloadSpread, summarize } from './spread.ts';
import { BENCH_REGION, tandemPolicy, tandemScalingPolicy } from './tandem.ts';
import { TARGET_TRACKING_DEFAULTS, targetTrackingPolicy } from './target-tracking.ts';
import { describeTraceError, readTraceFile, type Trace } from './trace.ts';
import {
  FLASH_CROWDS,
  HERD_EVENT,
  NASA_TRACE_URL,
  nasaTrace,
  STEP_LEVELS,
  STEP_MINUTES,
  syntheticTraces,
} from './traces.ts';

/**
 * `npm run bench -- scaling [--trace <file>]...`: tandem's autoscaler, AWS
 * target tracking, fixed capacity and the oracle-reactive bound over the same
 * traces in one simulated region; prints the table, a diagnosis and the goals.
 */

const USAGE = 'usage: npm run bench -- scaling [--trace <minute,requests CSV file>]...';

/** A spec a user could write: every scaling field at its default, and a maxTasks large enough for the traces. */
const TANDEM_POLICY = tandemScalingPolicy({
  minTasks: REGION_MODEL.minTasks,
  maxTasks: REGION_MODEL.maxTasks,
});
/** One target for tandem and target tracking: the spec's default. */
const TARGET = TANDEM_POLICY.targetRequestsPerTask;
/** Diagnosis only, and not the shared stream: what a metric one minute fresher than the ALB's would give. */
const FRESHER = 'tandem, metric 1 min fresher';
/** Reruns of the jump traces for the spread and the jump goal's median. */
const SPREAD_RERUNS = 10;

/**
 * Autoscaled policies start warm at the trace's median: ceil(median / target)
 * tasks, already healthy. A trace that starts on a spike would otherwise hand
 * them capacity they would never have had.
 */
const warm = (requests: readonly number[]) => Math.ceil((median(requests) ?? 0) / TARGET);

const POLICIES: readonly PolicyEntry[] = [
  { name: TANDEM, initialTasks: warm, create: () => tandemPolicy(TANDEM_POLICY, { forecast: true }) },
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
  { name: ORACLE, initialTasks: warm, create: () => oracleReactivePolicy(TARGET) },
  {
    name: TANDEM_SCHEDULED,
    initialTasks: warm,
    create: () =>
      tandemPolicy(TANDEM_POLICY, {
        forecast: true,
        schedule: [
          {
            name: HERD_EVENT.name,
            cron: HERD_EVENT.cron,
            durationMinutes: HERD_EVENT.durationMinutes,
            minTasks: { [BENCH_REGION]: HERD_EVENT.minTasks },
          },
        ],
      }),
    traces: [EVENT_GOAL.trace],
  },
  {
    name: FRESHER,
    initialTasks: warm,
    create: () => tandemPolicy(TANDEM_POLICY, { forecast: true }),
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
  printResults(results, FLAP_WINDOW_MINUTES);
  const c = REGION_MODEL.capacityPerTask;
  console.log(
    `  overloaded task-min: Σ max(0, demand / ${c} − healthy tasks) over minutes, the capacity missing;`,
  );
  console.log(
    `  SLO-violating min: minutes with demand / healthy tasks > ${c}; task-min: Σ started tasks (healthy or starting);`,
  );
  console.log(
    `  flaps: scale-ins followed by a scale-out within ${FLAP_WINDOW_MINUTES} min, counted on every trace; TT: target tracking`,
  );
  console.log(
    `  ${ORACLE}: ceil(requests / target) of the newest datapoint at once, no step or tolerance, scale-in to the highest of the newest ${ORACLE_SCALE_IN_DATAPOINTS}`,
  );
  console.log('  a minute without requests has no datapoint, for every policy');
  console.log('');
  printDiagnosis(results);
  let reruns: TraceResults[][] = [];
  if (options.files.length === 0) {
    reruns = spreadCases().map((c) => runAll(c.traces, c.model));
    printSpread(reruns);
  }

  const goals = evaluateGoals(results, {
    capacityPerTask: REGION_MODEL.capacityPerTask,
    reruns,
    fileTraces: options.files.length === 0 ? [] : traces.map((t) => t.name),
  });
  console.log('goals');
  printGoals(goals);
  const summary = goalSummary(goals);
  console.log('');
  console.log(
    `scaling: ${summary.text} (${((performance.now() - started) / 1000).toFixed(2)} s; ` +
      `${availableParallelism()} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)})`,
  );
  return summary.ok;
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
      policies
        .filter((p) => p.traces === undefined || p.traces.includes(trace.name))
        .map((p) => [
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
    `diagnosis: overloaded task-minutes (ratio to the ${ORACLE}) of target tracking, tandem and, hypothetically`,
  );
  console.log("  (not the shared stream), of tandem reading a metric one minute fresher than the ALB's");
  printVariants(results, ORACLE, [TARGET_TRACKING, TANDEM, FRESHER]);
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

/** The spread's reruns: the jump traces with other noise, in a region with another start-delay seed. */
function spreadCases(): { traces: Trace[]; model: RegionModel }[] {
  return Array.from({ length: SPREAD_RERUNS }, (_, i) => ({
    traces: syntheticTraces(i + 1).filter((t) => (JUMP_GOAL.traces as readonly string[]).includes(t.name)),
    model: { ...REGION_MODEL, seed: REGION_MODEL.seed + i + 1 },
  }));
}

/** The jump goal's ratio over reruns with other noise and start-delay seeds. */
function printSpread(reruns: readonly TraceResults[][]): void {
  console.log(
    `spread: overload / ${ORACLE} over ${SPREAD_RERUNS} reruns with other noise and start-delay seeds (goal ≤ ${JUMP_GOAL.ratio})`,
  );
  const rows = overloadSpread(reruns, [TANDEM, TARGET_TRACKING, FRESHER]).map((spread) => {
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
        `decideTasks with the spec defaults and the hourly forecast: tolerance ${TANDEM_POLICY.tolerance}, window ${TANDEM_POLICY.scaleInStabilizationSeconds} s, maxScaleOutStep ${TANDEM_POLICY.maxScaleOutStep}`,
      ],
      [
        'target tracking',
        `out: ${tt.scaleOutDatapoints} of ${tt.scaleOutDatapoints} > target; in: ${tt.scaleInDatapoints} of ${tt.scaleInDatapoints} < ${tt.scaleInRatio} × target; cooldowns ${tt.scaleOutCooldownMinutes * 60} s / ${tt.scaleInCooldownMinutes * 60} s`,
      ],
      ['fixed', 'ceil(trace mean / target), from minute 0'],
      [
        ORACLE,
        `the newest datapoint's need at once, scale-in to the highest need of the newest ${ORACLE_SCALE_IN_DATAPOINTS}`,
      ],
      ['start', 'autoscaled policies start warm: ceil(trace median / target) tasks, healthy'],
      [
        TANDEM_SCHEDULED,
        `herd only: scaling.schedule [{ cron: "${HERD_EVENT.cron}", durationMinutes: ${HERD_EVENT.durationMinutes}, minTasks: ${HERD_EVENT.minTasks} }]`,
      ],
    ],
  );
  console.log('');
}
