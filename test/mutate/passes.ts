/**
 * `npm run mutate`'s second suite: whole passes on the simulated cloud, in one
 * process (see units.ts for why the files are grouped).
 */
import '../ownership.test.ts';
import '../lifecycle.test.ts';
import '../domain-order.test.ts';
import '../scaling-loop.test.ts';
import '../reconcile.test.ts';
import '../region-loss.test.ts';
import '../round.test.ts';
import '../pass.test.ts';
