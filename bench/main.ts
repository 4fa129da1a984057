import { Command } from 'commander';
import { runColdstartBenchmark } from './coldstart.ts';
import { runHangBenchmark } from './hang.ts';
import { runReconcileBenchmark } from './reconcile.ts';
import { runScalingBenchmark } from './scaling/run.ts';
import { runSpecEditBenchmark } from './spec-edit.ts';
import { runStartBenchmark } from './start.ts';

/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>...` runs the
 * named ones; options after a name go to that benchmark
 * (`npm run bench -- scaling --trace a.csv`). A benchmark prints its own
 * table, baseline and goals, and resolves false when a goal fails.
 */
interface Benchmark {
  description: string;
  /** `args`: the options given after the benchmark's name, e.g. `scaling --trace a.csv`. */
  run: (args: readonly string[]) => Promise<boolean>;
}

/** Every benchmark, by name, in the order `npm run bench` runs them. Register new ones here. */
const BENCHMARKS: Record<string, Benchmark> = {
  reconcile: {
    description: 'one reconcile pass, cold and steady, for 1–500 sites against the throttled simulated cloud',
    run: () => runReconcileBenchmark(),
  },
  coldstart: {
    description:
      'reconciler Lambda bundle size and import time against a bundle of the five bare SDK clients',
    run: () => runColdstartBenchmark(),
  },
  scaling: {
    description:
      "tandem's autoscaler against AWS target tracking and fixed capacity on request traces (--trace <csv>)",
    run: (args) => runScalingBenchmark(args),
  },
  'spec-edit': {
    description:
      'one UpdateItem of the canary weight to the split the CDN serves, 10 edits on the local cloud, against the scheduled pass alone',
    run: () => runSpecEditBenchmark(),
  },
  start: {
    description:
      'npm start in a fresh directory until the CDN serves the page, 20 times with a cold and a warm tsx cache (--runs <n>, --mode cold|warm|both)',
    run: (args) => runStartBenchmark(args),
  },
  hang: {
    description:
      'a primary that blackholes or hangs for 30 min on the simulated cloud: viewer-seconds lost with neither, DNS failover, the origin order, both',
    run: () => runHangBenchmark(),
  },
};

const names = Object.keys(BENCHMARKS);

const program = new Command('bench')
  .description('tandem benchmarks')
  .argument('[names...]', `benchmarks to run (default: all): ${names.join(', ')}`)
  .addHelpText(
    'after',
    `\nBenchmarks:\n${names.map((n) => `  ${n.padEnd(12)} ${BENCHMARKS[n]!.description}`).join('\n')}`,
  )
  // Options after a benchmark's name are that benchmark's, not bench's.
  .passThroughOptions()
  .action(async (tokens: string[]) => {
    const runs = groupArguments(tokens);
    const requested = runs.map((r) => r.name);
    const unknown = requested.filter((name) => !(name in BENCHMARKS));
    if (unknown.length > 0) {
      program.error(
        `bench: unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${names.join(', ')}`,
        {
          exitCode: 2,
        },
      );
    }
    const selected =
      runs.length === 0
        ? names.map((name) => ({ name, args: [] }))
        : runs.filter((run, i) => requested.indexOf(run.name) === i);
    const failed: string[] = [];
    for (const { name, args } of selected) {
      console.log(`=== ${name} ===`);
      if (!(await BENCHMARKS[name]!.run(args))) failed.push(name);
      console.log('');
    }
    if (failed.length > 0) {
      console.error(`bench: goals failed in ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  });

/**
 * Splits `scaling --trace a.csv reconcile` into runs: a name, then its
 * options — from the first token starting with "-" up to the next benchmark name.
 */
function groupArguments(tokens: readonly string[]): { name: string; args: string[] }[] {
  const runs: { name: string; args: string[] }[] = [];
  for (const token of tokens) {
    const current = runs.at(-1);
    const isOption = token.startsWith('-');
    if (current !== undefined && (isOption || (current.args.length > 0 && !(token in BENCHMARKS)))) {
      current.args.push(token);
    } else {
      runs.push({ name: token, args: [] });
    }
  }
  return runs;
}

await program.parseAsync();
