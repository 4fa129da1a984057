import { readFileSync } from 'node:fs';
import { heartbeatsByRegion } from '../decide/ownership.ts';
import { SimulatedCloud } from '../providers/sim/cloud.ts';
import { reconcileRound } from '../reconcile/round.ts';
import { siteViews } from '../reconcile/view.ts';
import { describeStatus, planTable, redact } from './format.ts';

const DEMO_SPEC = new URL('../../specs/demo.json', import.meta.url);
const MAX_PASSES = 6;

/**
 * The reconciler's main job on a simulated cloud: store the demo spec, then
 * run each region's reconciler a minute apart until the site is Ready and a
 * round of passes changes nothing.
 */
export async function runDemo(): Promise<void> {
  const sim = new SimulatedCloud();
  const ports = sim.ports();
  const document = JSON.parse(readFileSync(DEMO_SPEC, 'utf8')) as unknown;
  await ports.store.putSpec('demo', document, 0);
  console.log(
    'Stored specs/demo.json as site "demo" in a simulated cloud (us-east-1 primary, eu-west-1 failover).\n',
  );

  for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
    sim.resetCalls();
    const now = Date.now();
    const reports = await reconcileRound({ portsOf: (region) => sim.ports(region), platform: sim.platform });
    const [statuses, heartbeats] = await Promise.all([
      ports.store.listStatuses(),
      ports.store.listHeartbeats(),
    ]);
    const status = siteViews(statuses, {
      heartbeats: heartbeatsByRegion(heartbeats),
      now,
      intervalMs: 60_000,
    }).get('demo')!;
    const counts = sim.callCounts((c) => c.service !== 'store');
    console.log(
      `Pass ${pass} (each region's reconciler once): ${counts.reads} reads, ${counts.writes} writes; Ready=${status.conditions.Ready?.status} (${status.conditions.Ready?.reason})`,
    );
    const actions = reports.flatMap((r) => r.sites[0]?.plan?.actions ?? []);
    if (actions.length > 0) console.log(`${planTable(actions.map(redact))}\n`);
    if (status.conditions.Ready?.status === 'True' && counts.writes === 0) {
      console.log(`\n${describeStatus(status, 1, [], now)}\n`);
      console.log('Converged: this round read the world and wrote nothing.');
      return;
    }
    sim.tick(); // a minute passes: ECS starts tasks, CloudFront deploys
  }
  throw new Error(`the demo site was not Ready after ${MAX_PASSES} passes`);
}
