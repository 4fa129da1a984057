import { get as httpGet } from 'node:http';
import { pino } from 'pino';
import { CloudError } from '../errors.ts';
import { LocalCloud } from '../providers/local/cloud.ts';
import type { RegionFault } from '../providers/local/types.ts';
import {
  ENDPOINTS_FILE,
  LocalCloudError,
  quietSdkNodeWarning,
  runningLocalCloud,
} from '../providers/local/endpoints.ts';
import type { PassReport } from '../reconcile/pass.ts';
import { formatProblems, validateSite } from '../spec/validate.ts';
import { orderedRegions } from './format.ts';
import { readSpecFile } from './spec-file.ts';

export interface UpOptions {
  dir: string;
  inMemory: boolean;
  host: string;
  cdnPort: number;
  dashboardPort: number;
  storePort: number;
  interval: number;
  period: number;
  /** Undefined: as many tasks as the specs ask for. */
  maxTasks?: number;
  /** A spec file applied when the store holds no site of its name; false for none. */
  spec: string | false;
  logLevel: string;
}

const DEMO_SPEC = new URL('../../specs/demo.json', import.meta.url);

/** How long `tandem up` waits for the site it applied to serve before it prints the banner anyway. */
const SERVE_TIMEOUT_MS = 60_000;

/**
 * `tandem up`: starts the local cloud, applies the demo spec on first start,
 * waits until the site serves through the CDN, prints where to look and what
 * each pass did, and on Ctrl-C stops every task and server before it exits.
 * An error before it is up stops everything it started and is thrown, so
 * the command exits non-zero instead of serving half a cloud.
 */
export async function runUp(options: UpOptions): Promise<void> {
  quietSdkNodeWarning();
  // The spec is checked before anything starts, so a bad one leaves nothing running.
  const spec = options.spec === false ? undefined : readStartSpec(options.spec);
  const log = pino({ level: options.logLevel }, pino.destination(2));
  const cloud = await LocalCloud.start({
    dir: options.dir,
    inMemory: options.inMemory,
    host: options.host,
    cdnPort: options.cdnPort,
    dashboardPort: options.dashboardPort,
    storePort: options.storePort,
    intervalSeconds: options.interval,
    periodSeconds: options.period,
    ...(options.maxTasks === undefined ? {} : { maxTasksPerRegion: options.maxTasks }),
    // Stored before the first pass, so that pass converges it, not the next one an interval later.
    ...(spec === undefined ? {} : { applyOnStart: { name: spec.name, document: spec.document } }),
    log,
    onPass: passPrinter(),
  });
  let signalled = false;
  const stop = once(async (signal: string) => {
    signalled = true;
    console.log(`\n${signal}: stopping every task, load balancer, the CDN, the dashboard and the store...`);
    await cloud.stop();
    console.log('Stopped; no process is left running.');
  });
  process.once('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));

  try {
    await announce(cloud, options, spec, () => signalled);
  } catch (error) {
    // Ctrl-C while it waited for the site: the signal's handler stops everything and exits.
    if (signalled) return;
    await cloud.stop();
    const text =
      error instanceof CloudError ? `${error.kind} ${error.resource}: ${error.message}` : String(error);
    throw new LocalCloudError(`${text}\ntandem up could not start; everything it started is stopped.`);
  }
}

/** Waits for the start spec's site to serve (stored before the first pass), then prints where to look. */
async function announce(
  cloud: LocalCloud,
  options: UpOptions,
  spec: StartSpec | undefined,
  stopping: () => boolean,
): Promise<void> {
  const endpoints = cloud.endpoints!;
  const [primary, ...others] = endpoints.regions;
  // Since the process started, loading the CLI included: what the person waited for.
  const seconds = () => `${process.uptime().toFixed(1)} s`;
  let headline: string;
  if (spec === undefined) {
    headline = `tandem local cloud is up (${seconds()}); no spec applied: apply one with npx tandem apply -f <spec.json>.`;
  } else {
    const applied = cloud.appliedOnStart
      ? `Applied ${spec.file} as site "${spec.name}"`
      : `Site "${spec.name}" is already stored and keeps its spec`;
    console.log(
      `tandem local cloud started (${seconds()}): regions ${endpoints.regions.join(', ')}. ${applied}; waiting for it to serve...`,
    );
    const served = await waitUntilServed(cloud, spec.name, endpoints.cdn, SERVE_TIMEOUT_MS, stopping);
    if (stopping()) return;
    headline = served
      ? `tandem local cloud is up: site "${spec.name}" serves through the CDN (${seconds()} after start).`
      : `tandem local cloud is up, but site "${spec.name}" does not serve through the CDN after ${SERVE_TIMEOUT_MS / 1000} s: npx tandem describe ${spec.name} says why.`;
  }
  console.log(
    [
      headline,
      '',
      `  site       ${endpoints.cdn}   (the CDN: ${primary} first, failing over to ${others.join(', ')})`,
      `  dashboard  ${endpoints.dashboard}`,
      `  store      ${endpoints.store}   (DynamoDB API, table "${endpoints.table}"${options.inMemory ? ', in memory' : `, data in ${options.dir}/store`})`,
      '',
      `The reconciler runs every ${options.interval} s. In another terminal:`,
      '  npx tandem get                                   sites and whether they are ready',
      '  npx tandem describe demo                         conditions, tasks per region, last actions',
      '  npx tandem load --rps 20 --duration 30           traffic through the CDN',
      `${`  npx tandem fail-region ${primary}`.padEnd(51)}the CDN fails over; heal-region undoes it`,
      '  npx tandem apply -f <spec.json>                  change the site (e.g. canary.weight)',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

/**
 * Polls until the site answers 200 through the local CDN to every one of
 * `SERVED_IN_A_ROW` requests (by its domain name, so other sites do not get in
 * the way; each with its own query, so the CDN's cache does not answer): one
 * 200 may come from the stable tasks while the canary's are still starting.
 * False after `timeoutMs`.
 */
async function waitUntilServed(
  cloud: LocalCloud,
  site: string,
  cdn: string,
  timeoutMs: number,
  /** True once Ctrl-C is stopping the cloud: nothing more is asked of it. */
  stopping: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let sent = 0;
  while (Date.now() < deadline && !stopping()) {
    const domainName = (await cloud.views()).get(site)?.cdn.domainName;
    let inARow = 0;
    while (domainName !== undefined && inARow < SERVED_IN_A_ROW && !stopping()) {
      sent += 1;
      if ((await answers(new URL(`?tandem-up=${sent}`, cdn), domainName)) !== 200) break;
      inARow += 1;
    }
    if (inARow === SERVED_IN_A_ROW) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const SERVED_IN_A_ROW = 10;

/** The status code the CDN at `url` answers for `host`, or undefined when it cannot be reached. */
function answers(url: URL, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpGet(url, { headers: { host }, timeout: 2000 }, (res) => {
      // A body cut off (the CDN closing on Ctrl-C) must not become an uncaught error.
      res.on('error', () => undefined);
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

interface StartSpec {
  file: string;
  name: string;
  document: unknown;
}

/** The spec `tandem up` applies on start ('' for the demo's), read and validated; a bad one throws, naming the file. */
function readStartSpec(given: string): StartSpec {
  const file = given === '' ? 'specs/demo.json' : given;
  const document = readSpecFile(given === '' ? DEMO_SPEC : given);
  const result = validateSite(document);
  if (!result.ok)
    throw new LocalCloudError(
      `--spec ${file} is invalid; nothing was started:\n${formatProblems(result.problems)}`,
    );
  return { file, name: result.site.metadata.name, document };
}

/**
 * A line per site for each pass that acted or changed what the site reports,
 * so the terminal shows the system converge without repeating itself.
 */
function passPrinter(): (report: PassReport) => void {
  const last = new Map<string, string>();
  return (report) => {
    for (const outcome of report.sites) {
      const status = report.statuses.get(outcome.name);
      if (status === undefined) continue;
      const conditions = (
        ['Ready', 'FailoverActive', 'CanaryProgressing', 'CanaryFailed', 'Degraded'] as const
      )
        .flatMap((type) => {
          const c = status.conditions[type];
          if (c === undefined || (type !== 'Ready' && c.status !== 'True')) return [];
          return [type === 'Ready' ? `Ready=${c.status} (${c.reason})` : type];
        })
        .join(' ');
      const tasks = orderedRegions(status)
        .map(([region, r]) => {
          const track = (name: string, t: { running: number; desired: number }) =>
            `${name} ${t.running}/${t.desired}`;
          return `${region} ${track('stable', r.stable)}${r.canary.desired + r.canary.running > 0 ? `, ${track('canary', r.canary)}` : ''}`;
        })
        .join('; ');
      const state = `${conditions}; tasks running/desired: ${tasks}`;
      const results = outcome.applied?.results ?? [];
      if (results.length === 0 && last.get(outcome.name) === state) continue;
      last.set(outcome.name, state);
      const kinds = new Map<string, number>();
      for (const r of results) {
        const key = r.error === undefined ? r.action.kind : `${r.action.kind} (failed: ${r.error.kind})`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      const acted =
        results.length === 0
          ? 'no changes'
          : [...kinds].map(([kind, n]) => (n === 1 ? kind : `${kind} ×${n}`)).join(', ');
      console.log(`${new Date().toISOString().slice(11, 19)} ${outcome.name}: ${acted} | ${state}`);
    }
  };
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let done: Promise<void> | undefined;
  return (...args) => (done ??= fn(...args));
}

/** Fails or heals a region of the running local cloud; returns the sentence to print. */
/** How the load balancer of a failed or lost region fails, in words. */
const FAULT_WORDS: Record<RegionFault, string> = {
  refuse: 'connections to its load balancer are refused',
  blackhole: 'connections to its load balancer never open (every packet is dropped)',
  hang: 'its load balancer accepts connections and never answers',
  errors: 'its load balancer answers 503 to every request',
};

/** What the CDN does about it: at once when told no, only after its timeouts when nothing answers. */
const FAILOVER_WORDS: Record<RegionFault, (others: string) => string> = {
  refuse: (others) => `The CDN fails over to ${others} at once`,
  errors: (others) => `The CDN fails over to ${others} at once`,
  blackhole: (others) =>
    `The CDN fails over to ${others} after each request's connection timeout (the spec's cdn.connectionTimeoutSeconds × connectionAttempts)`,
  hang: (others) =>
    `The CDN fails over to ${others} after each request's response timeout (the spec's cdn.responseTimeoutSeconds)`,
};

/**
 * Makes CloudFront's API unreachable in the running local cloud, or reachable again
 * (`tandem fail-cdn-api`, `heal-cdn-api`); returns the sentence to print.
 */
export async function setCdnApiState(dir: string, reachable: boolean): Promise<string> {
  const local = await runningLocalCloud(dir);
  if (local === undefined)
    throw new LocalCloudError(
      `no local cloud is running on ${dir} (no live ${ENDPOINTS_FILE}); start one with npm start`,
    );
  const response = await fetch(new URL(`api/cdn-api/${reachable ? 'heal' : 'fail'}`, local.dashboard), {
    method: 'POST',
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { error?: string };
  if (!response.ok) throw new LocalCloudError(body.error ?? `the local cloud answered ${response.status}`);
  return reachable
    ? "CloudFront's API answers again: the reconcilers can change distributions."
    : "CloudFront's API is unreachable (as when us-east-1, where its control plane is, is lost): the CDN keeps serving " +
        'its configuration, the reconcilers cannot change it, and only DNS failover moves traffic off a failing region.\n' +
        'Undo it with: tandem heal-cdn-api';
}

/** What `tandem fail-region`, `heal-region`, `lose-region` and `restore-region` do to a region of the local cloud. */
export type RegionVerb = 'fail' | 'heal' | 'lose' | 'restore';

/** Fails, heals, loses or restores a region of the running local cloud; returns the sentence to print. */
export async function setRegionState(
  dir: string,
  region: string,
  verb: RegionVerb,
  mode?: RegionFault,
): Promise<string> {
  const local = await runningLocalCloud(dir);
  if (local === undefined)
    throw new LocalCloudError(
      `no local cloud is running on ${dir} (no live ${ENDPOINTS_FILE}); start one with npm start`,
    );
  const response = await fetch(
    new URL(
      `api/regions/${encodeURIComponent(region)}/${verb}${mode === undefined ? '' : `?mode=${mode}`}`,
      local.dashboard,
    ),
    {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    },
  );
  const body = (await response.json()) as { error?: string };
  if (!response.ok) throw new LocalCloudError(body.error ?? `the local cloud answered ${response.status}`);
  const others = local.regions.filter((r) => r !== region).join(', ');
  switch (verb) {
    case 'fail':
      return (
        `${region} is failed: ${FAULT_WORDS[mode ?? 'errors']} and its ECS, ELB and CloudWatch APIs fail.\n` +
        `${FAILOVER_WORDS[mode ?? 'errors'](others)}; the reconcilers mark FailoverActive within a pass or two and ${others} carries its demand.\n` +
        `Undo it with: tandem heal-region ${region}`
      );
    case 'heal':
      return (
        `${region} is healed: its load balancer serves again. If the reconcilers asked another region first meanwhile, ` +
        `the CDN asks ${region} first again once it has been healthy for 10 metric periods (tandem describe shows "CDN asks first").\n` +
        'FailoverActive clears on the next pass; the raised floor is released after the scale-in window.'
      );
    case 'lose':
      return (
        `${region} is lost: its tasks are gone, ${FAULT_WORDS[mode ?? 'refuse']}, its replica of the table answers nothing, and its reconciler has stopped.\n` +
        `${FAILOVER_WORDS[mode ?? 'refuse'](others)}; ${others}'s reconciler carries its demand as soon as it learns of the loss, and takes over the CDN once ${region} has missed 3 passes.\n` +
        `Edit the spec meanwhile in another replica: tandem apply -f <spec.json> --region ${local.regions.find((r) => r !== region) ?? '<region>'}\n` +
        `Bring it back with: tandem restore-region ${region}`
      );
    case 'restore':
      return (
        `${region} is back: its replica catches up with the others, its tasks start, and its reconciler takes back what it holds on its next pass.\n` +
        'The CDN returns to it once its tasks are healthy.'
      );
  }
}
