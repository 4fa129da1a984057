import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { SiteView } from '../../controller/reconcile/view.ts';
import { LocalCloud, type LocalCloudOptions } from '../../controller/providers/local/cloud.ts';

export const TANDEM = fileURLToPath(new URL('../../bin/tandem.js', import.meta.url));

/** A local cloud on free ports with its store in memory, and a record of every task process it ran. */
export async function startTestCloud(
  options: Partial<LocalCloudOptions> = {},
): Promise<{ cloud: LocalCloud; dir: string; pids: Set<number>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-local-'));
  const cloud = await LocalCloud.start({
    dir,
    inMemory: true,
    cdnPort: 0,
    dashboardPort: 0,
    storePort: 0,
    log: pino({ level: process.env['TANDEM_TEST_LOG'] ?? 'silent' }),
    ...options,
  });
  const pids = new Set<number>();
  const watch = setInterval(() => cloud.taskPids().forEach((pid) => pids.add(pid)), 200);
  return {
    cloud,
    dir,
    pids,
    stop: async () => {
      clearInterval(watch);
      cloud.taskPids().forEach((pid) => pids.add(pid));
      await cloud.stop();
      assertNoTaskLeft(cloud.runId, pids);
    },
  };
}

/** Every task process the run started has exited, and none with its run id is left on the machine. */
export function assertNoTaskLeft(runId: string, pids: Iterable<number> = []): void {
  const alive = [...pids].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], 'task processes left running');
  const found = spawnSync('pgrep', ['-f', `--tandem-run=${runId}`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(found, '', `processes of run ${runId} left running`);
}

/**
 * Leaves a table `tandem` CREATING in a store on disk, as when a store stops
 * before its table turns ACTIVE. In another process: the table's timer would
 * otherwise keep this one alive.
 */
export function leaveTableCreating(dir: string): void {
  const script = `
    const dynalite = require('dynalite');
    const { DynamoDBClient, CreateTableCommand } = require('@aws-sdk/client-dynamodb');
    const server = dynalite({ path: ${JSON.stringify(dir)}, createTableMs: 3600000 });
    server.listen(0, '127.0.0.1', async () => {
      const client = new DynamoDBClient({
        endpoint: 'http://127.0.0.1:' + server.address().port,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      await client.send(new CreateTableCommand({
        TableName: 'tandem',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }));
      process.exit(0);
    });`;
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
}

/** Runs the tandem CLI as a user would, against the local cloud in `dir`. */
export function tandem(
  dir: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TANDEM, ...args],
      { env: { ...process.env, TANDEM_LOCAL_DIR: dir }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The demo spec with `edit` applied, written to a file in `dir`. */
export function specFile(dir: string, name: string, edit: (spec: DemoSpec) => void): string {
  const document = JSON.parse(
    readFileSync(new URL('../../specs/demo.json', import.meta.url), 'utf8'),
  ) as DemoSpec;
  delete (document as { $schema?: string }).$schema;
  edit(document);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(document, null, 2));
  return file;
}

export interface DemoSpec {
  metadata: { name: string };
  spec: {
    canary?: { tag: string; weight: number };
    regions: { name: string; role: string; minTasks: number; maxTasks: number }[];
    scaling: Record<string, number>;
    cdn: { connectionTimeoutSeconds: number; connectionAttempts: number; responseTimeoutSeconds: number };
  };
}

/**
 * A local cloud of its own running specs/demo.json (changed by `edit`, if given), once the site is
 * Ready; stopped again if it never is.
 */
export async function startDemoCloud(
  options: Partial<LocalCloudOptions> = {},
  edit: (spec: DemoSpec) => void = () => {},
): Promise<Awaited<ReturnType<typeof startTestCloud>> & { spec: DemoSpec }> {
  const started = await startTestCloud(options);
  const spec = JSON.parse(
    readFileSync(new URL('../../specs/demo.json', import.meta.url), 'utf8'),
  ) as DemoSpec;
  edit(spec);
  try {
    await started.cloud.applyIfAbsent('demo', spec);
    await waitFor(
      'the demo site to be Ready',
      () => ready(started.cloud, 'demo'),
      90_000,
      () => siteSummary(started.cloud, 'demo'),
    );
  } catch (error) {
    await started.stop();
    throw error;
  }
  return { ...started, spec };
}

/** The site as `tandem describe` shows it: every region's report merged. */
export async function status(cloud: LocalCloud, site: string): Promise<SiteView | undefined> {
  return (await cloud.views()).get(site);
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; returns it and when. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  /** What to say about the state of things when the wait times out. */
  explain?: () => Promise<unknown>,
): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, elapsedMs: Date.now() - start };
    if (Date.now() - start > timeoutMs) {
      const state = explain === undefined ? '' : `; ${JSON.stringify(await explain())}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await sleep(250);
  }
}

/** A site's conditions and task counts, for a failure message. */
export async function siteSummary(cloud: LocalCloud, site: string): Promise<unknown> {
  const s = await status(cloud, site);
  return {
    conditions: Object.fromEntries(
      Object.entries(s?.conditions ?? {}).map(([type, c]) => [type, `${c.status} ${c.reason}: ${c.message}`]),
    ),
    regions: s?.regions,
  };
}

/** The site is Ready with every task of every region running and healthy behind its load balancer. */
export async function ready(cloud: LocalCloud, site: string): Promise<SiteView | undefined> {
  const s = await status(cloud, site);
  if (s?.conditions.Ready?.status !== 'True') return undefined;
  const all = Object.values(s.regions).every(
    (r) =>
      r.stable.running === r.stable.desired && r.canary.running === r.canary.desired && r.stable.desired > 0,
  );
  return all ? s : undefined;
}
