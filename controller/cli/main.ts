import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { Command, InvalidArgumentError, Option } from 'commander';
import { keepSitesDashboardAsHolder } from '../dashboard/publish.ts';
import { heartbeatsByRegion } from '../decide/ownership.ts';
import { CloudError } from '../errors.ts';
import type { Action } from '../model/actions.ts';
import type { Platform } from '../model/platform.ts';
import type { SpecStorePort, StoredSpec } from '../ports/store.ts';
import { reconcilePass, type PassReport } from '../reconcile/pass.ts';
import { regionPass } from '../reconcile/round.ts';
import { siteViews, type SiteView } from '../reconcile/view.ts';
import { abortCanary, promoteCanary } from '../spec/promote.ts';
import { formatProblems, validateSite } from '../spec/validate.ts';
import { describeStatus, planTable, redact, reportersCell, table } from './format.ts';
import {
  BackendError,
  openBackend,
  withBackendOptions,
  type Backend,
  type BackendOptions,
} from './backend.ts';
import { runDemo } from './demo.ts';
import { SimStateError } from './sim-state.ts';
import { readSpecFile, SpecFileError } from './spec-file.ts';
import { DEFAULT_LOCAL_DIR, LocalCloudError, runningLocalCloud } from '../providers/local/endpoints.ts';
import { REGION_FAULTS, type RegionFault } from '../providers/local/types.ts';
import {
  formatProgress,
  formatSummary,
  LoadOptionsError,
  runLoad,
  validateLoadOptions,
  type LoadOptions,
  type LoadProgress,
} from './load.ts';
import type { UpOptions } from './local.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];

class CliError extends Error {}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number, 0–65535');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

export function program(): Command {
  const cli = new Command('tandem')
    .description('Run one website in two AWS regions behind one CDN.')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  addValidate(cli);
  addApply(cli);
  addPlan(cli);
  addReconcile(cli);
  addGet(cli);
  addDescribe(cli);
  addCanaryEdits(cli);
  addDelete(cli);
  addUp(cli);
  addLoad(cli);
  addRegionCommands(cli);
  addCdnApiCommands(cli);
  addDemo(cli);
  return cli;
}

/** `tandem validate <file>`: check a spec file without storing it. */
function addValidate(cli: Command): void {
  cli
    .command('validate')
    .description('check a spec file and print each problem with its field')
    .argument('<file>', 'site spec (JSON)')
    .action((file: string) => {
      const result = validateSite(readSpecFile(file));
      if (!result.ok) throw new CliError(`${file} is invalid:\n${formatProblems(result.problems)}`);
      console.log(`${file}: site ${result.site.metadata.name} is valid`);
    });
}

/** `tandem apply -f <file>`: validate a spec and store it. */
function addApply(cli: Command): void {
  withBackendOptions(
    cli
      .command('apply')
      .description('validate a spec and store it; the next reconcile pass converges the world to it')
      .requiredOption('-f, --file <file>', 'site spec (JSON)'),
  ).action(async (options: BackendOptions & { file: string }) => {
    const document = readSpecFile(options.file);
    const result = validateSite(document);
    if (!result.ok) {
      throw new CliError(
        `${options.file} is invalid; nothing was stored:\n${formatProblems(result.problems)}`,
      );
    }
    const backend = await openBackend(options, { storeOnly: true });
    const name = result.site.metadata.name;
    const current = await backend.ports.store.getSpec(name);
    // Conditional on the generation just read: a concurrent edit makes this fail, never lost.
    const stored = await backend.ports.store.putSpec(name, document, current?.generation ?? 0);
    backend.save();
    console.log(
      `site ${name} ${current === undefined ? 'created' : 'configured'} (generation ${stored.generation}) in ${backend.where}`,
    );
  });
}

/** `tandem plan [site]`: the actions the next pass would take, changing nothing. */
function addPlan(cli: Command): void {
  withBackendOptions(
    cli
      .command('plan')
      .description('print the actions the next pass would take for a site; changes nothing')
      .argument('[site]', 'stored site name')
      .option('-f, --file <file>', 'plan this spec file instead of the stored spec (it is not stored)')
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
      ),
  ).action(
    async (
      site: string | undefined,
      options: BackendOptions & { file?: string; output: 'table' | 'json' },
    ) => {
      const backend = await openBackend(options);
      const { name, specs } = await specsToPlan(backend.ports.store, site, options.file);
      const plan = await dryRun(backend, name, specs);
      if (options.output === 'json') {
        console.log(JSON.stringify({ site: name, from: backend.where, ...plan }, null, 2));
        return;
      }
      printPlan(backend, plan);
    },
  );
}

/** The spec to plan: the file's (not stored), else the stored site's. */
async function specsToPlan(
  store: SpecStorePort,
  site: string | undefined,
  file: string | undefined,
): Promise<{ name: string; specs: StoredSpec[] }> {
  if (file !== undefined) {
    const document = readSpecFile(file);
    const result = validateSite(document);
    if (!result.ok) throw new CliError(`${file} is invalid:\n${formatProblems(result.problems)}`);
    const name = result.site.metadata.name;
    const current = await store.getSpec(name);
    return { name, specs: [{ name, generation: current?.generation ?? 0, hash: '', document }] };
  }
  if (site === undefined) throw new CliError('name a site, or give a spec file with -f');
  const stored = await store.getSpec(site);
  if (stored === undefined)
    throw new CliError(`no site ${site} is stored; apply it first or plan a file with -f`);
  return { name: site, specs: [stored] };
}

interface DryRunPlan {
  actions: Action[];
  blockers: Record<string, { message: string }[]>;
  stalled: { reason: string; message: string } | undefined;
}

/** A dry-run pass by each region's reconciler: its own region, and the CDN if it holds the site's global duties. */
async function dryRun(backend: Backend, name: string, specs: StoredSpec[]): Promise<DryRunPlan> {
  const platform = await backend.platform();
  const outcomes = [];
  for (const region of backend.reconcilers) {
    const report = await reconcilePass({
      ports: backend.portsOf(region),
      platform,
      region,
      dryRun: true,
      specs,
      sites: [name],
    });
    outcomes.push(report.sites[0]!);
  }
  const problems = outcomes.find((o) => o.problems !== undefined)?.problems;
  if (problems !== undefined) throw new CliError(`site ${name} is invalid:\n${formatProblems(problems)}`);
  const actions = outcomes.flatMap((o) => o.plan?.actions ?? []).map(redact);
  const blockers = Object.assign({}, ...outcomes.map((o) => o.plan?.blockers ?? {})) as Record<
    string,
    { message: string }[]
  >;
  const stalled = outcomes.find((o) => o.stalled !== undefined)?.stalled;
  return { actions, blockers, stalled };
}

function printPlan(backend: Backend, { actions, blockers, stalled }: DryRunPlan): void {
  console.log(`From ${backend.where}:`);
  if (backend.reconcilers.length === 1)
    console.log(`The plan of ${backend.reconcilers[0]}'s reconciler (each region plans its own):`);
  if (stalled !== undefined) console.log(`Stalled: ${stalled.message}`);
  for (const [region, list] of Object.entries(blockers)) {
    for (const b of list) console.log(`Blocked in ${region}: ${b.message}`);
  }
  console.log(planTable(actions));
}

/** `tandem reconcile`: run reconcile passes, each region's reconciler in turn. */
function addReconcile(cli: Command): void {
  withBackendOptions(
    cli
      .command('reconcile')
      .description('run reconcile passes over every stored site')
      .option('--once', 'run one pass and exit')
      .option('--interval <seconds>', 'seconds between passes', positiveInt, 60)
      .addOption(
        new Option('--log-level <level>', 'structured logs on stderr').choices(LOG_LEVELS).default('warn'),
      ),
  ).action(async (options: BackendOptions & { once?: boolean; interval: number; logLevel: string }) => {
    const log = pino({ level: options.logLevel }, pino.destination(2));
    const holder = `${hostname()}:${process.pid}`;
    for (let first = true; ; first = false) {
      const backend = await openBackend(options);
      if (first) console.log(`Reconciling ${backend.where}:`);
      backend.beforePass();
      const platform = await backend.platform();
      // Each region's reconciler in turn, under its region's lease, as the regional Lambdas run.
      for (const region of backend.reconcilers)
        await reconcileRegion(backend, platform, region, `${holder}:${region}`, options.interval, log);
      backend.save();
      if (options.once) return;
      await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
    }
  });
}

/** One pass of a region's reconciler under the region's lease, then the sites' dashboard if it holds that duty. */
async function reconcileRegion(
  backend: Backend,
  platform: Platform,
  region: string,
  holder: string,
  intervalSeconds: number,
  log: Logger,
): Promise<void> {
  const ports = backend.portsOf(region);
  const report = await regionPass({
    ports,
    platform,
    region,
    holder,
    leaseSeconds: intervalSeconds * 2,
    intervalSeconds,
    log,
  });
  if (report === undefined) {
    console.log(`${region}: another reconciler holds the lease; this pass is skipped`);
    return;
  }
  const [statuses, heartbeats] = await Promise.all([
    ports.store.listStatuses(),
    ports.store.listHeartbeats(),
  ]);
  await keepSitesDashboardAsHolder({
    region,
    ports,
    platform,
    regionOrder: backend.reconcilers,
    statuses,
    liveness: {
      heartbeats: heartbeatsByRegion(heartbeats),
      now: Date.now(),
      intervalMs: intervalSeconds * 1000,
    },
    log,
  });
  const calls = backend.drainCalls();
  log.info({ reconcileId: report.reconcileId, region, calls }, 'API calls this pass');
  printPass(report, calls);
}

/** `tandem get`: the stored sites and whether they are ready. */
function addGet(cli: Command): void {
  withBackendOptions(
    cli.command('get').description('list the stored sites and whether they are ready'),
  ).action(async (options: BackendOptions) => {
    const backend = await openBackend(options, { storeOnly: true });
    const { store } = backend.ports;
    const [specs, statusOf] = await Promise.all([store.listSpecs(), views(backend)]);
    const names = [...new Set([...specs.map((s) => s.name), ...statusOf.keys()])].sort();
    const rows = names.map((name) => {
      const spec = specs.find((s) => s.name === name);
      const status = statusOf.get(name);
      const ready = status?.conditions.Ready;
      return [
        name,
        spec === undefined ? 'deleted' : String(spec.generation),
        String(status?.observedGeneration ?? '-'),
        ready === undefined ? 'Unknown' : ready.status,
        ready?.reason ?? 'NotYetReconciled',
        status?.cdn.domainName ?? '-',
        reportersCell(status?.reporters ?? []),
      ];
    });
    console.log(`From ${backend.where}:`);
    console.log(
      rows.length === 0
        ? 'No sites.'
        : table(['SITE', 'GENERATION', 'OBSERVED', 'READY', 'REASON', 'CDN', 'REPORTED BY'], rows),
    );
  });
}

/** `tandem describe <site>`: one site's status in full. */
function addDescribe(cli: Command): void {
  withBackendOptions(
    cli
      .command('describe')
      .description("print a site's conditions, per-region task counts, last actions and errors")
      .argument('<site>'),
  ).action(async (site: string, options: BackendOptions) => {
    const backend = await openBackend(options, { storeOnly: true });
    const { store } = backend.ports;
    const [spec, all] = await Promise.all([store.getSpec(site), views(backend)]);
    const status = all.get(site);
    if (spec === undefined && status === undefined) throw new CliError(`no site ${site} in ${backend.where}`);
    console.log(`From ${backend.where}:`);
    if (status === undefined) {
      console.log(`Site: ${site}\nGeneration: ${spec!.generation}\nNot reconciled yet.`);
      return;
    }
    const valid = spec === undefined ? undefined : validateSite(spec.document);
    const order = valid?.ok ? valid.site.spec.regions.map((r) => r.name) : undefined;
    console.log(describeStatus(status, spec?.generation, order));
  });
}

/** `tandem promote <site>` and `tandem abort <site>`: edit the spec's canary. */
function addCanaryEdits(cli: Command): void {
  const editCanary = (verb: 'promote' | 'abort', edit: (document: unknown) => unknown, done: string) =>
    withBackendOptions(
      cli
        .command(verb)
        .description(
          verb === 'promote'
            ? "make the site's canary its stable image (the spec is rewritten; the canary drains)"
            : "roll the site's canary back: remove it from the spec so its traffic returns to stable",
        )
        .argument('<site>'),
    ).action(async (site: string, options: BackendOptions) => {
      const backend = await openBackend(options, { storeOnly: true });
      const { store } = backend.ports;
      const spec = await storedSpec(store, site);
      let next: unknown;
      try {
        next = edit(spec.document);
      } catch (error) {
        throw new CliError(`site ${site}: ${(error as Error).message}`);
      }
      const result = validateSite(next);
      if (!result.ok)
        throw new CliError(`the edited spec would be invalid:\n${formatProblems(result.problems)}`);
      // Conditional on the generation read: an edit made meanwhile wins and this one fails cleanly.
      const stored = await store.putSpec(site, next, spec.generation);
      backend.save();
      console.log(`site ${site}: ${done} (generation ${stored.generation}) in ${backend.where}`);
    });
  editCanary('promote', promoteCanary, 'canary promoted to stable');
  editCanary('abort', abortCanary, 'canary removed; its traffic returns to stable');
}

/** `tandem delete <site>`: delete the spec; the passes remove what tandem created. */
function addDelete(cli: Command): void {
  withBackendOptions(
    cli
      .command('delete')
      .description('delete a site: the next passes remove everything tandem created for it')
      .argument('<site>'),
  ).action(async (site: string, options: BackendOptions) => {
    const backend = await openBackend(options, { storeOnly: true });
    const { store } = backend.ports;
    const spec = await storedSpec(store, site);
    await store.deleteSpec(site, spec.generation);
    backend.save();
    console.log(`site ${site} deleted from ${backend.where}; its resources are removed over the next passes`);
  });
}

/** `tandem up`: the local cloud on this machine. */
function addUp(cli: Command): void {
  cli
    .command('up')
    .description(
      'run tandem on this machine: the spec store, two regions of real processes, load balancers, the CDN, the dashboard and the reconciler',
    )
    .addOption(
      new Option('--dir <dir>', 'keep the store and the endpoints file here')
        .env('TANDEM_LOCAL_DIR')
        .default(DEFAULT_LOCAL_DIR),
    )
    .option('--in-memory', 'keep the spec store in memory: nothing survives a restart', false)
    .option('--host <address>', 'interface every port listens on', '127.0.0.1')
    .option('--cdn-port <port>', 'the CDN, where the site is served (0: any free port)', port, 8080)
    .option('--dashboard-port <port>', 'the dashboard page and the control API', port, 8090)
    .option('--store-port <port>', "the spec store's DynamoDB endpoint", port, 8000)
    .option('--interval <seconds>', 'seconds between reconcile passes', positiveInt, 5)
    .option('--period <seconds>', 'seconds per metric datapoint (CloudWatch: 60)', positiveInt, 5)
    .option(
      '--max-tasks <n>',
      'cap the tasks running at once per region, for a small machine (default: as many as the specs ask for)',
      positiveInt,
    )
    .option('--spec <file>', 'apply this spec on start unless its site is stored (default specs/demo.json)')
    .option('--no-spec', 'apply no spec on start')
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr').choices(LOG_LEVELS).default('warn'),
    )
    .action(async (options: Omit<UpOptions, 'spec'> & { spec?: string | boolean }) => {
      const { runUp } = await import('./local.ts');
      const spec = options.spec === undefined || options.spec === true ? '' : options.spec;
      await runUp({ ...options, spec });
      await new Promise(() => undefined); // runs until Ctrl-C
    });
}

/** `tandem load`: requests through the CDN at a fixed rate. */
function addLoad(cli: Command): void {
  cli
    .command('load')
    .description('send requests through the CDN at a fixed rate and show where they were served')
    .requiredOption('--rps <n>', 'requests per second', Number)
    .requiredOption('--duration <seconds>', 'how long to send', Number)
    .option(
      '--url <url>',
      "where to send (default: the running local cloud's CDN, else http://localhost:8080/)",
    )
    .option('--host <host>', 'Host header, to pick one of several sites')
    .option('--no-cache-bust', 'send the same URL every time, so the CDN may answer from its cache')
    .addOption(
      new Option('-o, --output <format>', 'summary format').choices(['text', 'json']).default('text'),
    )
    .addOption(
      new Option('--local <dir>', 'the local cloud to send to')
        .env('TANDEM_LOCAL_DIR')
        .default(DEFAULT_LOCAL_DIR),
    )
    .action(sendLoad);
}

interface LoadCommandOptions {
  rps: number;
  duration: number;
  url?: string;
  host?: string;
  cacheBust: boolean;
  output: 'text' | 'json';
  local: string;
}

/** Sends the load, printing progress unless the summary is JSON; fails when not one request succeeded. */
async function sendLoad(options: LoadCommandOptions): Promise<void> {
  const url = options.url ?? (await runningLocalCloud(options.local))?.cdn ?? 'http://localhost:8080/';
  const json = options.output === 'json';
  const load: LoadOptions = {
    url,
    rps: options.rps,
    durationSeconds: options.duration,
    cacheBust: options.cacheBust,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(json ? {} : { onProgress: (p: LoadProgress) => console.log(formatProgress(p)) }),
  };
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    // Checked before anything is printed, so a bad option is never echoed as if it were sent.
    validateLoadOptions(load);
    if (!json)
      console.log(
        `Sending ${options.rps} requests a second to ${url} for ${options.duration} s (Ctrl-C stops).`,
      );
    const summary = await runLoad({ ...load, signal: abort.signal });
    console.log(json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    if (summary.sent > 0 && summary.ok === 0)
      throw new CliError(
        `every one of the ${summary.sent} requests failed (${Object.entries(summary.statuses)
          .map(([status, n]) => `${status} ×${n}`)
          .join(', ')}): is a site served at ${url}?`,
      );
  } catch (error) {
    if (error instanceof LoadOptionsError) throw new CliError(error.message);
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** `tandem fail-region`, `heal-region`, `lose-region`, `restore-region`: act on a local cloud's region. */
function addRegionCommands(cli: Command): void {
  const regionCommands = [
    [
      'fail-region',
      'fail',
      "simulate a region's outage in the local cloud: its load balancer answers 503 and its APIs fail",
    ],
    ['heal-region', 'heal', 'end a simulated outage: the region serves again'],
    [
      'lose-region',
      'lose',
      'lose a region of the local cloud whole: its tasks, load balancer, reconciler and replica of the table',
    ],
    [
      'restore-region',
      'restore',
      'bring a lost region back: its replica catches up and its reconciler resumes',
    ],
  ] as const;
  for (const [name, verb, description] of regionCommands) {
    const command = cli
      .command(name)
      .description(description)
      .argument('<region>')
      .addOption(
        new Option('--local <dir>', 'the local cloud to act on')
          .env('TANDEM_LOCAL_DIR')
          .default(DEFAULT_LOCAL_DIR),
      );
    if (verb === 'fail' || verb === 'lose')
      command.addOption(
        new Option(
          '--mode <mode>',
          'how its load balancer fails: refuse (connections refused), blackhole (connections never open), ' +
            'hang (connections open, nothing answered), errors (503 to every request)',
        )
          .choices(REGION_FAULTS)
          .default(verb === 'fail' ? 'errors' : 'refuse'),
      );
    command.action(async (region: string, options: { local: string; mode?: RegionFault }) => {
      const { setRegionState } = await import('./local.ts');
      console.log(await setRegionState(options.local, region, verb, options.mode));
    });
  }
}

/** `tandem fail-cdn-api`, `heal-cdn-api`: CloudFront's API in a local cloud. */
function addCdnApiCommands(cli: Command): void {
  for (const [name, reachable, description] of [
    ['fail-cdn-api', false, "make CloudFront's API unreachable in the local cloud (the CDN keeps serving)"],
    ['heal-cdn-api', true, "make CloudFront's API reachable again in the local cloud"],
  ] as const) {
    cli
      .command(name)
      .description(description)
      .addOption(
        new Option('--local <dir>', 'the local cloud to act on')
          .env('TANDEM_LOCAL_DIR')
          .default(DEFAULT_LOCAL_DIR),
      )
      .action(async (options: { local: string }) => {
        const { setCdnApiState } = await import('./local.ts');
        console.log(await setCdnApiState(options.local, reachable));
      });
  }
}

/** `tandem demo`: the simulated cloud, pass by pass. */
function addDemo(cli: Command): void {
  cli
    .command('demo')
    .description('reconcile specs/demo.json against an in-memory simulated cloud and show each pass')
    .action(async () => {
      await runDemo();
    });
}

/** Every site as the backend's replica shows it: all regions' reports merged (reconcile/view.ts). */
async function views(backend: Backend): Promise<Map<string, SiteView>> {
  const { store } = backend.ports;
  const [statuses, heartbeats] = await Promise.all([store.listStatuses(), store.listHeartbeats()]);
  return siteViews(statuses, {
    heartbeats: heartbeatsByRegion(heartbeats),
    now: Date.now(),
    intervalMs: backend.intervalSeconds * 1000,
  });
}

/** The site's stored spec, or a CliError saying it is not stored. */
async function storedSpec(store: SpecStorePort, site: string): Promise<StoredSpec> {
  const spec = await store.getSpec(site);
  if (spec === undefined) throw new CliError(`no site ${site} is stored`);
  return spec;
}

function printPass(report: PassReport, calls: readonly { service: string; count: number }[]): void {
  for (const outcome of report.sites) {
    const status = report.statuses.get(outcome.name)!;
    const applied = outcome.applied?.results.filter((r) => r.error === undefined).length ?? 0;
    const failed = outcome.applied?.results.filter((r) => r.error !== undefined).length ?? 0;
    const ready = status.conditions.Ready;
    console.log(
      `${report.region} ${outcome.name}: ${applied} applied, ${failed} failed; Ready=${ready?.status} (${ready?.reason})`,
    );
  }
  if (report.sites.length === 0) console.log('no sites stored; apply one with tandem apply -f <file>');
  const byService = new Map<string, number>();
  for (const c of calls) byService.set(c.service, (byService.get(c.service) ?? 0) + c.count);
  console.log(`API calls: ${[...byService].map(([service, n]) => `${service} ${n}`).join(', ') || 'none'}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync(argv as string[], { from: 'node' });
    return 0;
  } catch (error) {
    if (
      error instanceof CliError ||
      error instanceof BackendError ||
      error instanceof LocalCloudError ||
      error instanceof SpecFileError ||
      error instanceof SimStateError
    )
      console.error(`error: ${error.message}`);
    else if (error instanceof CloudError) {
      console.error(`error: ${error.kind} ${error.resource}: ${error.message}`);
      // A region down takes its replica with it; every other replica still takes reads and writes.
      if (error.kind === 'Unavailable' && /dynamodb:/.test(error.message))
        console.error(
          "hint: if that region's replica of the table is unreachable, use another one with --region <region>",
        );
    } else console.error(error);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv);
}
