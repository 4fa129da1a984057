import { Command } from 'commander';
import { runColdstartBenchmark } from './coldstart.ts';
import { runReconcileBenchmark } from './reconcile.ts';

/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name>...` runs the
 * named ones. A benchmark prints its own table, baseline and goals, and
 * resolves false when a goal fails.
 */
interface Benchmark {
  description: string;
  run: () => Promise<boolean>;
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
};

const names = Object.keys(BENCHMARKS);

const program = new Command('bench')
  .description('tandem benchmarks')
  .argument('[names...]', `benchmarks to run (default: all): ${names.join(', ')}`)
  .addHelpText(
    'after',
    `\nBenchmarks:\n${names.map((n) => `  ${n.padEnd(12)} ${BENCHMARKS[n]!.description}`).join('\n')}`,
  )
  .action(async (requested: string[]) => {
    const unknown = requested.filter((name) => !(name in BENCHMARKS));
    if (unknown.length > 0) {
      program.error(
        `bench: unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${names.join(', ')}`,
        {
          exitCode: 2,
        },
      );
    }
    const selected = requested.length === 0 ? names : [...new Set(requested)];
    const failed: string[] = [];
    for (const name of selected) {
      console.log(`=== ${name} ===`);
      if (!(await BENCHMARKS[name]!.run())) failed.push(name);
      console.log('');
    }
    if (failed.length > 0) {
      console.error(`bench: goals failed in ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
