/**
 * How many runs a property test makes: `runs`, or a tenth of it (at least
 * 10) under `npm run mutate`, which sets TANDEM_MUTATION_RUN. There every
 * mutant that survives runs every test file that reaches it, and the few
 * property tests that drive whole passes would take most of the run: a mutant
 * a property catches at all, it nearly always catches in the first runs
 * (docs/testing.md).
 */
export function propertyRuns(runs: number): number {
  return process.env.TANDEM_MUTATION_RUN === undefined ? runs : Math.max(10, Math.ceil(runs / 10));
}
