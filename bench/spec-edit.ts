import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { LocalCloud } from '../controller/providers/local/cloud.ts';
import { quietSdkNodeWarning } from '../controller/providers/local/endpoints.ts';

/**
 * From a spec edit in the table to the traffic split it asks for, on the
 * local cloud: an `UpdateItem` straight to us-east-1's replica (as
 * `aws dynamodb update-item` or the console makes it: one nested field, no
 * generation bump) sets the demo's canary weight; probes through the CDN see
 * when the split has changed; then 2,000 requests measure it.
 *
 * Baseline, in the same run: the same edits with the spec watch off, so only
 * the scheduled pass (every 5 s) applies them.
 */

/** Requests per probe: the load balancer's weighted round robin splits any 20 in a row to within one. */
const PROBE_REQUESTS = 20;
/** Requests that measure the split once it has changed. */
const MEASURE_REQUESTS = 2_000;
/** An edit not seen by then has failed. */
const GIVE_UP_MS = 30_000;
const GOAL_P95_MS = 5_000;
const EDITS = 10;
/** The reconcile interval of the local cloud the edits are made on (its default). */
const INTERVAL_MS = 5_000;

export interface EditMeasurement {
  from: number;
  to: number;
  /** From the write to the end of the first of two probes in a row that see the new split. */
  latencyMs: number;
  /** us-east-1's passes woken by the edit (counted once the split was measured). */
  wakePasses: number;
  /** The canary's share of the 2,000 requests measured then (of those answered), in percent. */
  canaryPercent: number;
  /** Responses of those 2,000 that were not 2xx or 3xx. */
  failed: number;
  /** Those of the 2,000 not answered 2xx or 3xx: by status code, or the error of one that got no answer. */
  statuses: Record<string, number>;
}

/** Sets `site`'s canary weight in `region`'s replica with one UpdateItem, as a person would. */
export async function setCanaryWeight(
  cloud: LocalCloud,
  site: string,
  weight: number,
  region = 'us-east-1',
): Promise<void> {
  const endpoints = cloud.endpoints!;
  const client = new DynamoDBClient({
    endpoint: endpoints.stores[region]!,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: endpoints.table,
        Key: { pk: { S: 'spec' }, sk: { S: site } },
        UpdateExpression: 'SET #d.#s.#c.#w = :w',
        ConditionExpression: 'attribute_exists(#d.#s.#c)',
        ExpressionAttributeNames: { '#d': 'spec', '#s': 'spec', '#c': 'canary', '#w': 'weight' },
        ExpressionAttributeValues: { ':w': { N: String(weight) } },
      }),
    );
  } finally {
    client.destroy();
  }
}

interface Sent {
  /** Answers by their X-Tandem-Version header. */
  versions: Map<string, number>;
  /** Answered 2xx or 3xx. */
  ok: number;
  /** By status code, or the error of a request that got no answer. */
  failures: Record<string, number>;
}

/**
 * `n` requests through the CDN, at most `inFlight` at a time, each a cache
 * miss. Closed-loop: a machine too busy to answer fast makes the measurement
 * slower, never a request refused by the client.
 */
async function send(cdn: string, n: number, inFlight = 50): Promise<Sent> {
  const sent: Sent = { versions: new Map(), ok: 0, failures: {} };
  let next = 0;
  const one = async (): Promise<void> => {
    for (; next < n;) {
      next += 1;
      const url = new URL(`/?tandem-probe=${Math.random().toString(16).slice(2)}`, cdn);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        const version = response.headers.get('x-tandem-version') ?? 'none';
        sent.versions.set(version, (sent.versions.get(version) ?? 0) + 1);
        if (response.status < 400) sent.ok += 1;
        else sent.failures[response.status] = (sent.failures[response.status] ?? 0) + 1;
      } catch (error) {
        const why = (error as Error).name;
        sent.failures[why] = (sent.failures[why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, one));
  return sent;
}

/** The canary's share, in percent, of the answered requests. */
function canaryShare(sent: Sent, canaryTag: string): number {
  return ((sent.versions.get(canaryTag) ?? 0) / Math.max(1, sent.ok)) * 100;
}

/** The canary's share, in percent, of `n` requests sent at once through the CDN. */
async function probe(cdn: string, canaryTag: string, n: number): Promise<number> {
  return canaryShare(await send(cdn, n, n), canaryTag);
}

/**
 * Edits the demo's canary weight from `from` to `to` and measures how long
 * until the CDN's traffic follows, then the split over 2,000 requests.
 */
export async function measureWeightEdit(
  cloud: LocalCloud,
  options: { site: string; canaryTag: string; from: number; to: number },
): Promise<EditMeasurement> {
  const cdn = cloud.endpoints!.cdn;
  const nearer = (share: number) => Math.abs(share - options.to) < Math.abs(share - options.from);
  const woken = () => cloud.wakePassesByRegion()['us-east-1'] ?? 0;
  const wokenAtWrite = woken();
  const written = performance.now();
  await setCanaryWeight(cloud, options.site, options.to);
  let seenAt: number | undefined;
  for (;;) {
    const share = await probe(cdn, options.canaryTag, PROBE_REQUESTS);
    const at = performance.now();
    if (!nearer(share)) seenAt = undefined;
    else if (seenAt === undefined) seenAt = at;
    else break;
    if (at - written > GIVE_UP_MS)
      throw new Error(`the split did not follow the edit to ${options.to} within ${GIVE_UP_MS} ms`);
    await sleep(25);
  }
  const latencyMs = seenAt - written;
  const measured = await send(cdn, MEASURE_REQUESTS);
  const wakePasses = woken() - wokenAtWrite;
  return {
    from: options.from,
    to: options.to,
    latencyMs,
    wakePasses,
    canaryPercent: canaryShare(measured, options.canaryTag),
    failed: MEASURE_REQUESTS - measured.ok,
    statuses: measured.failures,
  };
}

/** The `p`th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface DemoDocument {
  spec: { canary?: { tag: string; weight: number } };
}

/**
 * `edits` edits of the demo's canary weight, alternating between its own
 * weight and 50, on a local cloud started with `watchMs` (0: no watch).
 */
export async function editRun(
  options: { watchMs?: number; edits?: number; log?: (line: string) => void } = {},
): Promise<EditMeasurement[]> {
  const document = JSON.parse(
    readFileSync(new URL('../specs/demo.json', import.meta.url), 'utf8'),
  ) as DemoDocument;
  const canary = document.spec.canary!;
  const cloud = await LocalCloud.start({
    dir: mkdtempSync(join(tmpdir(), 'tandem-spec-edit-')),
    inMemory: true,
    cdnPort: 0,
    dashboardPort: 0,
    storePort: 0,
    log: pino({ level: 'silent' }),
    applyOnStart: { name: 'demo', document },
    intervalSeconds: INTERVAL_MS / 1000,
    ...(options.watchMs === undefined ? {} : { watchMs: options.watchMs }),
  });
  try {
    // Ready: the CDN serves the canary at its weight.
    const readySince = performance.now();
    while (Math.abs((await probe(cloud.endpoints!.cdn, canary.tag, 100)) - canary.weight) > 1) {
      if (performance.now() - readySince > 120_000)
        throw new Error('the demo site did not serve within 2 minutes');
      await sleep(500);
    }
    // The first load a fresh cloud sees opens every connection; it is not part of any edit.
    await send(cloud.endpoints!.cdn, MEASURE_REQUESTS);
    const results: EditMeasurement[] = [];
    for (let i = 0; i < (options.edits ?? EDITS); i += 1) {
      // At a random point of the reconcile interval: an edit every measurement's length apart would
      // fall at the same point of it every time, and the scheduled pass would look as quick as the watch.
      await sleep(Math.random() * INTERVAL_MS);
      const [from, to] = i % 2 === 0 ? [canary.weight, 50] : [50, canary.weight];
      const result = await measureWeightEdit(cloud, { site: 'demo', canaryTag: canary.tag, from, to });
      options.log?.(
        `  edit ${i + 1}: weight ${from} → ${to}: split followed in ${Math.round(result.latencyMs)} ms; ${result.canaryPercent.toFixed(1)} % of ${MEASURE_REQUESTS} to the canary${result.failed === 0 ? '' : `; ${result.failed} failed (${JSON.stringify(result.statuses)})`}`,
      );
      results.push(result);
    }
    return results;
  } finally {
    await cloud.stop();
  }
}

/** `npm run bench -- spec-edit`. */
export async function runSpecEditBenchmark(): Promise<boolean> {
  quietSdkNodeWarning();
  console.log(
    `${EDITS} edits of the demo's canary weight (15 ↔ 50), each one UpdateItem to us-east-1's replica, on the local cloud (passes every 5 s)`,
  );
  console.log('with the spec watch (every 500 ms):');
  const watched = await editRun({ log: console.log });
  console.log('baseline, the same edits with the watch off (the scheduled pass only):');
  const scheduled = await editRun({ watchMs: 0, log: console.log });
  const p = (runs: EditMeasurement[], q: number) =>
    percentile(
      runs.map((r) => r.latencyMs),
      q,
    );
  const within = (r: EditMeasurement) => Math.abs(r.canaryPercent - r.to) <= 3;
  console.log('');
  console.log('| run | p50 | p95 | max | splits within ±3 % |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, runs] of [
    ['watch (every 500 ms)', watched],
    ['schedule only', scheduled],
  ] as const)
    console.log(
      `| ${name} | ${Math.round(p(runs, 50))} ms | ${Math.round(p(runs, 95))} ms | ${Math.round(p(runs, 100))} ms | ${runs.filter(within).length}/${runs.length} |`,
    );
  const ratio = p(watched, 95) / p(scheduled, 95);
  console.log(`p95 with the watch / schedule only: ${ratio.toFixed(2)}×`);
  const goals = [
    {
      name: `p95 from the write to the new split is at most ${GOAL_P95_MS / 1000} s`,
      ok: p(watched, 95) <= GOAL_P95_MS,
      measured: `${Math.round(p(watched, 95))} ms`,
    },
    {
      name: 'every measured split is within ±3 % of the new weight',
      ok: watched.every(within),
      measured: `${watched.filter(within).length}/${watched.length}`,
    },
    {
      name: 'at most 1 % of the measuring requests fail',
      ok: watched.every((r) => r.failed <= MEASURE_REQUESTS / 100),
      measured: `at most ${Math.max(...watched.map((r) => r.failed))} of ${MEASURE_REQUESTS}`,
    },
  ];
  for (const goal of goals) console.log(`${goal.ok ? 'PASS' : 'FAIL'}  ${goal.name}: ${goal.measured}`);
  return goals.every((g) => g.ok);
}
