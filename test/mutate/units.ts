/**
 * `npm run mutate`'s first suite: the unit tests of the deciding and planning
 * functions, in one process. Stryker's tap runner starts a process per test
 * file and runs every file that reaches a mutant until one fails; on two cores,
 * the start-up of a dozen files per surviving mutant took most of the run, so
 * the files are grouped in two suites, the fast units first (docs/testing.md).
 */
import '../rollout.test.ts';
import '../handover.test.ts';
import '../decide-site.test.ts';
import '../canary.test.ts';
import '../autoscaler.test.ts';
import '../forecast.test.ts';
import '../schedule.test.ts';
import '../scaling-sim.test.ts';
import '../plan.test.ts';
import '../status.test.ts';
import '../image.test.ts';
import '../regions.test.ts';
import '../observe-metrics.test.ts';
import '../origin-secret.test.ts';
import '../origin-order.test.ts';
import '../apply.test.ts';
import '../limiter.test.ts';
