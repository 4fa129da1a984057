// The local cloud's capacity: by default every task the specs ask for runs; under a --max-tasks
// cap a site that cannot get its tasks says so (InsufficientCapacity, with the numbers), and a site
// applied later never takes the slots of one running before it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { LocalCloud } from '../controller/providers/local/cloud.ts';
import { ready, siteSummary, specFile, startTestCloud, status, waitFor } from './support/local-cloud.ts';

const INTERVAL_SECONDS = 2;

/** Stores a site without a canary, with `primary` tasks (min and max) in us-east-1 and one in eu-west-1. */
async function applySite(cloud: LocalCloud, dir: string, name: string, primary: [number, number]) {
  const file = specFile(dir, name, (d) => {
    d.metadata.name = name;
    delete d.spec.canary;
    d.spec.regions = [
      { name: 'us-east-1', role: 'primary', minTasks: primary[0], maxTasks: primary[1] },
      { name: 'eu-west-1', role: 'failover', minTasks: 1, maxTasks: 1 },
    ];
  });
  await cloud.portsOf('us-east-1').store.putSpec(name, JSON.parse(readFileSync(file, 'utf8')), 0);
}

const running = (cloud: LocalCloud, service: string) =>
  cloud.sim.world.regions['us-east-1']?.services[service]?.runningCount ?? 0;

/** Process ids of the service's tasks in us-east-1, found by the task id each task carries. */
function servicePids(cloud: LocalCloud, service: string): number[] {
  return cloud.taskPids().filter((pid) => {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return environ.some((e) => e.startsWith(`TANDEM_TASK_ID=${service}-us-east-1-`));
    } catch {
      return false;
    }
  });
}

test('without --max-tasks, a region runs every task its spec asks for, more than the 8 it was once capped at', async () => {
  const { cloud, dir, stop } = await startTestCloud({
    intervalSeconds: INTERVAL_SECONDS,
    periodSeconds: INTERVAL_SECONDS,
  });
  try {
    await applySite(cloud, dir, 'wide', [10, 12]);
    await waitFor(
      'the site to be ready',
      () => ready(cloud, 'wide'),
      90_000,
      () => siteSummary(cloud, 'wide'),
    );
    assert.equal(running(cloud, 'wide-stable'), 10);
  } finally {
    await stop();
  }
});

test('under a --max-tasks cap, a site short of tasks reports InsufficientCapacity with the numbers, and cannot take the slots of a site running before it', async () => {
  const { cloud, dir, stop } = await startTestCloud({
    intervalSeconds: INTERVAL_SECONDS,
    periodSeconds: INTERVAL_SECONDS,
    maxTasksPerRegion: 4,
  });
  try {
    await applySite(cloud, dir, 'first', [3, 3]);
    await waitFor(
      'the first site to be ready',
      () => ready(cloud, 'first'),
      60_000,
      () => siteSummary(cloud, 'first'),
    );

    // One slot is left in us-east-1 for the second site's three tasks.
    await applySite(cloud, dir, 'second', [3, 3]);
    const { value: short } = await waitFor(
      'the second site to report its shortfall',
      async () => {
        const s = await status(cloud, 'second');
        return s?.conditions.Ready?.reason === 'InsufficientCapacity' &&
          s.regions['us-east-1']?.stable.running === 1
          ? s
          : undefined;
      },
      60_000,
      () => siteSummary(cloud, 'second'),
    );
    assert.equal(short.conditions.Ready?.status, 'False');
    assert.equal(short.conditions.Degraded?.reason, 'InsufficientCapacity');
    assert.equal(short.regions['us-east-1']?.degraded?.reason, 'InsufficientCapacity');
    assert.equal(
      short.regions['us-east-1']?.degraded?.message,
      'second-stable: 2 of 3 task(s) cannot be placed: us-east-1 runs at most 4 tasks at once (tandem up --max-tasks 4), and every one is taken',
    );
    assert.equal(short.regions['eu-west-1']?.degraded, undefined, 'eu-west-1 has room for both');
    assert.equal((await status(cloud, 'first'))?.conditions.Ready?.status, 'True');

    // A task of the first site dies: its replacement gets the slot, not the second site's pending tasks.
    const [victim] = servicePids(cloud, 'first-stable');
    assert.ok(victim !== undefined, 'a task of first-stable runs');
    process.kill(victim, 'SIGKILL');
    await waitFor(
      'the first site to lose a task',
      () => (running(cloud, 'first-stable') < 3 ? true : undefined),
      10_000,
    );
    await waitFor(
      'the first site to run three tasks again',
      () => (running(cloud, 'first-stable') === 3 ? true : undefined),
      30_000,
    );
    assert.equal(running(cloud, 'second-stable'), 1, 'the second site did not take the freed slot');
  } finally {
    await stop();
  }
});
