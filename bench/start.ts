import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../controller/lambda/bundle.ts';
import { readEndpoints } from '../controller/providers/local/endpoints.ts';

/**
 * How long a newcomer waits: `npm start` in a fresh directory, from the
 * command to the first 200 the CDN answers with the demo page, `--runs` times
 * (default 20) with tsx's compile cache cold, as on a fresh machine
 * (TSX_DISABLE_CACHE=1: every TypeScript file is compiled again), and as many
 * with it warm, as on every later start. Each run gets its own directory for
 * the store (on disk, as `npm start` keeps it) and free ports, and is stopped
 * with Ctrl-C (SIGINT to its process group), which must leave it clean.
 *
 * Baseline, in the same run: `npm start -- --help`, which starts npm, Node
 * and tsx and loads the CLI, then does nothing; what tandem's own start adds
 * is the rest.
 */

const GOAL_SECONDS = 10;
const DEFAULT_RUNS = 20;
const BASELINE_RUNS = 5;
/** A run that has not served by then has failed (and is stopped). */
const GIVE_UP_MS = 60_000;

type Mode = 'cold' | 'warm';

interface StartRun {
  /** From the command to the first 200 from the CDN, or undefined when it never served. */
  servedMs?: number;
  /** From the command to the banner saying the site is up. */
  bannerMs?: number;
  /** Ended by the Ctrl-C, after saying it stopped everything. */
  stoppedCleanly: boolean;
  problem?: string;
}

export async function runStartBenchmark(args: readonly string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      runs: { type: 'string', default: String(DEFAULT_RUNS) },
      mode: { type: 'string', default: 'both' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number of at least 1, got ${values.runs}`);
  if (!['cold', 'warm', 'both'].includes(values.mode!))
    throw new Error(`--mode must be cold, warm or both, got ${values.mode}`);
  const modes: Mode[] = values.mode === 'both' ? ['cold', 'warm'] : [values.mode as Mode];

  console.log(
    `npm start in a fresh directory, ${runs} run(s) per mode, on ${cpus().length} core(s) (${cpus()[0]?.model.trim()}), ` +
      `Node.js ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the start`,
  );
  console.log('');

  const results = new Map<Mode, { runs: StartRun[]; baselineMs: number }>();
  for (const mode of modes) {
    const baselineMs = median(Array.from({ length: BASELINE_RUNS }, () => helpOnce(mode)));
    const done: StartRun[] = [];
    for (let i = 0; i < runs; i += 1) {
      const run = await startOnce(mode);
      done.push(run);
      const served = run.servedMs === undefined ? 'never served' : `served in ${seconds(run.servedMs)}`;
      console.log(
        `  ${mode} ${String(i + 1).padStart(2)}: ${served}` +
          `${run.bannerMs === undefined ? '' : `, banner at ${seconds(run.bannerMs)}`}` +
          `${run.stoppedCleanly ? '' : ', did NOT stop cleanly'}${run.problem === undefined ? '' : ` (${run.problem})`}`,
      );
    }
    results.set(mode, { runs: done, baselineMs });
    console.log('');
  }

  const rows = [...results].map(([mode, { runs: done, baselineMs }]) => {
    const served = done.flatMap((r) => (r.servedMs === undefined ? [] : [r.servedMs]));
    const under = served.filter((ms) => ms < GOAL_SECONDS * 1000).length;
    return [
      mode,
      String(done.length),
      `${under}/${done.length}`,
      ...(served.length === 0
        ? ['-', '-', '-', '-']
        : [
            seconds(Math.min(...served)),
            seconds(quantile(served, 0.5)),
            seconds(quantile(served, 0.9)),
            seconds(Math.max(...served)),
          ]),
      seconds(baselineMs),
      served.length === 0 ? '-' : `${(quantile(served, 0.5) / baselineMs).toFixed(1)}×`,
    ];
  });
  printTable(
    [
      'tsx cache',
      'runs',
      `served < ${GOAL_SECONDS} s`,
      'min',
      'median',
      'p90',
      'max',
      'baseline (--help)',
      'median / baseline',
    ],
    rows,
  );
  console.log('');
  for (const [mode, { runs: done }] of results) {
    console.log(`  ${mode}: seconds to the page, by whole second`);
    for (const line of histogram(done.flatMap((r) => (r.servedMs === undefined ? [] : [r.servedMs]))))
      console.log(`    ${line}`);
  }
  console.log('');

  const all = [...results.values()].flatMap((r) => r.runs);
  const goals = [
    {
      name: `every start serves the page within ${GOAL_SECONDS} s`,
      ok: all.every((r) => r.servedMs !== undefined && r.servedMs < GOAL_SECONDS * 1000),
      measured: `${all.filter((r) => r.servedMs !== undefined && r.servedMs < GOAL_SECONDS * 1000).length} of ${all.length}`,
    },
    {
      name: 'Ctrl-C stops every start cleanly',
      ok: all.every((r) => r.stoppedCleanly),
      measured: `${all.filter((r) => r.stoppedCleanly).length} of ${all.length}`,
    },
  ];
  console.log('goals');
  for (const goal of goals)
    console.log(`  ${goal.ok ? 'PASS' : 'FAIL'}  ${goal.name}\n        measured: ${goal.measured}`);
  const ok = goals.every((g) => g.ok);
  console.log('');
  console.log(`start: ${ok ? 'all goals PASS' : 'some goals FAIL'}`);
  return ok;
}

function environment(mode: Mode): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TANDEM_')));
  if (mode === 'cold') env['TSX_DISABLE_CACHE'] = '1';
  else delete env['TSX_DISABLE_CACHE'];
  return env;
}

/** The baseline: npm, Node, tsx and the CLI, doing nothing. */
function helpOnce(mode: Mode): number {
  const started = performance.now();
  const result = spawnSync('npm', ['start', '--', '--help'], {
    cwd: ROOT,
    env: environment(mode),
    stdio: 'ignore',
  });
  if (result.status !== 0) throw new Error(`npm start -- --help exited with ${result.status}`);
  return performance.now() - started;
}

/** One `npm start` in a fresh directory: until the CDN serves the page, then Ctrl-C. */
async function startOnce(mode: Mode): Promise<StartRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-start-'));
  const localDir = join(dir, 'local');
  const started = performance.now();
  const child = spawn(
    'npm',
    ['start', '--', '--dir', localDir, '--cdn-port', '0', '--dashboard-port', '0', '--store-port', '0'],
    { cwd: ROOT, env: environment(mode), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const run: StartRun = { stoppedCleanly: false };
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (run.bannerMs === undefined && /local cloud is up/.test(output))
      run.bannerMs = performance.now() - started;
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // npm re-raises the SIGINT it got: it ends by that signal, not with a code.
  let ending = '';
  const exited = new Promise<boolean>((resolve) =>
    child.once('exit', (code, signal) => {
      ending = signal === null ? `exit code ${code}` : `ended by ${signal}`;
      resolve(code === 0 || signal === 'SIGINT');
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    while (run.servedMs === undefined && !gone && performance.now() - started < GIVE_UP_MS) {
      const cdn = readEndpoints(localDir)?.cdn;
      if (cdn !== undefined && (await status(cdn)) === 200) run.servedMs = performance.now() - started;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (run.servedMs === undefined) run.problem = gone ? `exited early: ${why(output)}` : 'gave up waiting';
  } finally {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, 20_000);
    const endedByCtrlC = await exited;
    clearTimeout(timer);
    run.stoppedCleanly = endedByCtrlC && /Stopped; no process is left running/.test(output);
    if (!run.stoppedCleanly) run.problem ??= `after Ctrl-C, ${ending}: ${why(output)}`;
    rmSync(dir, { recursive: true, force: true });
  }
  return run;
}

async function status(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** The line that says what went wrong: the first naming an error, else the last. */
function why(output: string): string {
  const lines = output.trim().split('\n');
  return lines.find((line) => /\berror\b/i.test(line)) ?? lines.at(-1) ?? '';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The nearest-rank quantile: the smallest value with at least q of the values at or below it. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** One line per whole second from the fastest to the slowest, with a mark per run. */
function histogram(values: readonly number[]): string[] {
  if (values.length === 0) return ['(none served)'];
  const low = Math.floor(Math.min(...values) / 1000);
  const high = Math.floor(Math.max(...values) / 1000);
  const lines: string[] = [];
  for (let s = low; s <= high; s += 1) {
    const n = values.filter((v) => Math.floor(v / 1000) === s).length;
    lines.push(
      `${String(s).padStart(2)}–${String(s + 1).padEnd(2)} s  ${'#'.repeat(n)}${n > 0 ? ` ${n}` : ''}`,
    );
  }
  return lines;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    '  ' + cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
