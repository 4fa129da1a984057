import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { runLoad } from '../controller/cli/load.ts';
import { isOwnedBy } from '../controller/model/tags.ts';
import type { LocalCloud } from '../controller/providers/local/cloud.ts';
import type { PassReport } from '../controller/reconcile/pass.ts';
import { startDemoCloud, TANDEM, waitFor } from './support/local-cloud.ts';

/**
 * Issue 12's acceptance on real processes: under 50 requests a second through
 * the CDN, us-east-1 is lost whole at 20 s, the spec is edited in eu-west-1's
 * replica at 60 s, and us-east-1 is restored at 120 s.
 */

const INTERVAL_SECONDS = 5;
const RPS = 50;
const TARGET = 600; // the demo spec's requests per task per minute
const LOSE_AT = 20_000;
const EDIT_AT = 60_000;
const RESTORE_AT = 120_000;
const LOAD_SECONDS = 150;

function desiredTasks(cloud: LocalCloud, region: string): number {
  return Object.values(cloud.sim.world.regions[region]!.services)
    .filter((s) => s.status === 'ACTIVE' && isOwnedBy(s.tags, 'demo'))
    .reduce((n, s) => n + s.desiredCount, 0);
}

function canaryWeight(cloud: LocalCloud, region: string): number | undefined {
  const r = cloud.sim.world.regions[region]!;
  const canary = Object.values(r.targetGroups).find((tg) => tg.name === 'demo-canary')?.arn;
  const rule = Object.values(r.rules).find((x) => isOwnedBy(x.tags, 'demo'));
  return rule?.forward.find((f) => f.targetGroupArn === canary)?.weight;
}

test('losing us-east-1 whole under load: eu-west-1 carries the demand once, takes an edit, and both converge after the restore', async () => {
  // Which regions' passes acted as the CDN's holder, in order.
  const claims: { at: number; region: string; global: boolean }[] = [];
  const started = Date.now();
  const { cloud, dir, spec, stop } = await startDemoCloud({
    intervalSeconds: INTERVAL_SECONDS,
    periodSeconds: INTERVAL_SECONDS,
    replicationDelayMs: 500,
    onPass: (report: PassReport) => {
      const demo = report.sites.find((s) => s.name === 'demo');
      if (demo !== undefined)
        claims.push({ at: Date.now() - started, region: report.region, global: demo.global });
    },
  });
  try {
    const t0 = Date.now();
    const at = () => Date.now() - t0;
    const load = runLoad({ url: cloud.endpoints!.cdn, rps: RPS, durationSeconds: LOAD_SECONDS });
    const needed = Math.ceil((RPS * 60) / TARGET);
    const westDesired: { at: number; tasks: number; passes: number }[] = [];
    const sampling = setInterval(
      () =>
        westDesired.push({
          at: at(),
          tasks: desiredTasks(cloud, 'eu-west-1'),
          passes: cloud.passesByRegion()['eu-west-1']!,
        }),
      250,
    );

    await sleep(LOSE_AT - at());
    await cloud.loseRegion('us-east-1');
    const lostAt = at();
    const westPassesAtLoss = cloud.passesByRegion()['eu-west-1']!;

    await sleep(EDIT_AT - at());
    const edited = structuredClone(spec);
    edited.spec.canary!.weight = 50;
    const file = join(dir, 'edited.json');
    writeFileSync(file, JSON.stringify(edited));
    const apply = await promisify(execFile)(
      process.execPath,
      [TANDEM, 'apply', '-f', file, '--region', 'eu-west-1', '--local', dir],
      { env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TANDEM_'))) },
    );
    assert.match(
      apply.stdout,
      /site demo configured \(generation 2\) in the local cloud .*eu-west-1's replica/,
    );
    const { elapsedMs: editTook } = await waitFor(
      'eu-west-1 to run the edit while us-east-1 is lost',
      () => (canaryWeight(cloud, 'eu-west-1') === 50 ? true : undefined),
      4 * INTERVAL_SECONDS * 1000,
    );
    assert.ok(at() < RESTORE_AT, 'the edit took effect while us-east-1 was still lost');

    await sleep(RESTORE_AT - at());
    const eastPassesAtRestore = cloud.passesByRegion()['us-east-1']!;
    cloud.restoreRegion('us-east-1');
    const { value: eastPasses } = await waitFor(
      'both regions to converge to the latest spec',
      () =>
        canaryWeight(cloud, 'us-east-1') === 50 && canaryWeight(cloud, 'eu-west-1') === 50
          ? cloud.passesByRegion()['us-east-1']! - eastPassesAtRestore
          : undefined,
      6 * INTERVAL_SECONDS * 1000,
    );

    const summary = await load;
    clearInterval(sampling);

    // Passes of eu-west-1 from the loss until its tasks reach what the whole demand needs.
    const reached = westDesired.find((s) => s.at >= lostAt && s.tasks >= needed);
    const peak = Math.max(
      ...westDesired.filter((s) => s.at >= lostAt && s.at < RESTORE_AT).map((s) => s.tasks),
    );
    // The CDN's owner over time: the region whose passes alone claim the global duties (a lost region claims nothing).
    const owners: string[] = [];
    const latest = new Map<string, boolean>();
    for (const claim of claims) {
      latest.set(claim.region, claim.global);
      const holding = [...latest].filter(([, global]) => global).map(([region]) => region);
      const lostNow = claim.at - (t0 - started) >= lostAt && claim.at - (t0 - started) < RESTORE_AT;
      const alive = holding.filter((r) => !(lostNow && r === 'us-east-1'));
      if (alive.length === 1 && owners.at(-1) !== alive[0]) owners.push(alive[0]!);
    }

    console.log(
      [
        `load: ${summary.sent} sent, ${summary.ok} ok (${summary.successPercent.toFixed(2)} %), by region ${JSON.stringify(summary.byRegion)}, errors ${JSON.stringify(summary.errors)}, statuses ${JSON.stringify(summary.statuses)}`,
        `eu-west-1 tasks: demand needs ${needed}; reached ${reached?.tasks ?? 'never'} ${reached === undefined ? '' : `${((reached.at - lostAt) / 1000).toFixed(1)} s and ${reached.passes - westPassesAtLoss} of its passes after the loss`}; most while us-east-1 was lost: ${peak}`,
        `the edit in eu-west-1 took effect ${(editTook / 1000).toFixed(1)} s after tandem apply`,
        `after the restore, both regions ran the latest spec after ${eastPasses} of us-east-1's passes`,
        `CDN owners in order: ${owners.join(' → ')}`,
      ].join('\n'),
    );

    assert.ok(summary.successPercent >= 99.9, `${summary.successPercent.toFixed(3)} % of requests succeeded`);
    assert.ok(reached !== undefined, `eu-west-1 reached ${needed} tasks`);
    assert.ok(
      reached.passes - westPassesAtLoss <= 3,
      `within 3 passes (took ${reached.passes - westPassesAtLoss})`,
    );
    assert.ok(peak <= needed + 1, `not twice the demand: at most ${needed + 1} tasks (saw ${peak})`);
    assert.ok(eastPasses <= 3, `converged within 3 passes of us-east-1 (took ${eastPasses})`);
    assert.deepEqual(
      owners,
      ['us-east-1', 'eu-west-1', 'us-east-1'],
      'the CDN owner changed twice: away and back',
    );
  } finally {
    await stop();
  }
});
