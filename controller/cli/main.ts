import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CloudError } from '../errors.ts';
import { reconcilePass, type PassReport } from '../reconcile/pass.ts';
import { abortCanary, promoteCanary } from '../spec/promote.ts';
import { formatProblems, validateSite } from '../spec/validate.ts';
import { describeStatus, planTable, redact, table } from './format.ts';
import { openSimState, saveSimState } from './sim-state.ts';
import { runDemo } from './demo.ts';

const DEFAULT_STATE = '.tandem/sim';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];

/** Reads and parses a JSON spec file, with errors that name the file. */
function readSpecFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

class CliError extends Error {}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

const stateOption = () =>
  new Option('--state <dir>', 'directory holding the simulated cloud (until the AWS providers land)').default(
    DEFAULT_STATE,
  );

export function program(): Command {
  const cli = new Command('tandem')
    .description('Run one website in two AWS regions behind one CDN.')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  cli
    .command('validate')
    .description('check a spec file and print each problem with its field')
    .argument('<file>', 'site spec (JSON)')
    .action((file: string) => {
      const result = validateSite(readSpecFile(file));
      if (!result.ok) throw new CliError(`${file} is invalid:\n${formatProblems(result.problems)}`);
      console.log(`${file}: site ${result.site.metadata.name} is valid`);
    });

  cli
    .command('apply')
    .description('validate a spec and store it; the next reconcile pass converges the world to it')
    .requiredOption('-f, --file <file>', 'site spec (JSON)')
    .addOption(stateOption())
    .action(async (options: { file: string; state: string }) => {
      const document = readSpecFile(options.file);
      const result = validateSite(document);
      if (!result.ok)
        throw new CliError(
          `${options.file} is invalid; nothing was stored:\n${formatProblems(result.problems)}`,
        );
      const sim = openSimState(options.state);
      const ports = sim.ports();
      const name = result.site.metadata.name;
      const current = await ports.store.getSpec(name);
      const stored = await ports.store.putSpec(name, document, current?.generation ?? 0);
      saveSimState(options.state, sim);
      console.log(
        `site ${name} ${current === undefined ? 'created' : 'configured'} (generation ${stored.generation})`,
      );
    });

  cli
    .command('plan')
    .description('print the actions the next pass would take for a site; changes nothing')
    .argument('[site]', 'stored site name')
    .option('-f, --file <file>', 'plan this spec file instead of the stored spec (it is not stored)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addOption(stateOption())
    .action(
      async (
        site: string | undefined,
        options: { file?: string; output: 'table' | 'json'; state: string },
      ) => {
        const sim = openSimState(options.state);
        const ports = sim.ports();
        let name = site;
        if (options.file !== undefined) {
          const result = validateSite(readSpecFile(options.file));
          if (!result.ok)
            throw new CliError(`${options.file} is invalid:\n${formatProblems(result.problems)}`);
          name = result.site.metadata.name;
          // Plan against a copy of the world holding this spec; the state on disk is never written.
          const current = await ports.store.getSpec(name);
          await ports.store.putSpec(name, readSpecFile(options.file), current?.generation ?? 0);
        }
        if (name === undefined) throw new CliError('name a site, or give a spec file with -f');
        if ((await ports.store.getSpec(name)) === undefined) {
          throw new CliError(`no site ${name} is stored; apply it first or plan a file with -f`);
        }
        const report = await reconcilePass({ ports, platform: sim.platform, dryRun: true, sites: [name] });
        const outcome = report.sites[0]!;
        if (outcome.problems !== undefined)
          throw new CliError(`site ${name} is invalid:\n${formatProblems(outcome.problems)}`);
        const actions = (outcome.plan?.actions ?? []).map(redact);
        if (options.output === 'json') {
          console.log(
            JSON.stringify(
              { site: name, actions, blockers: outcome.plan?.blockers ?? {}, stalled: outcome.stalled },
              null,
              2,
            ),
          );
          return;
        }
        if (outcome.stalled !== undefined) console.log(`Stalled: ${outcome.stalled.message}`);
        for (const [region, blockers] of Object.entries(outcome.plan?.blockers ?? {})) {
          for (const b of blockers) console.log(`Blocked in ${region}: ${b.message}`);
        }
        console.log(planTable(actions));
      },
    );

  cli
    .command('reconcile')
    .description('run reconcile passes over every stored site')
    .option('--once', 'run one pass and exit')
    .option('--interval <seconds>', 'seconds between passes', positiveInt, 60)
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr').choices(LOG_LEVELS).default('warn'),
    )
    .addOption(stateOption())
    .action(async (options: { once?: boolean; interval: number; logLevel: string; state: string }) => {
      const log = pino({ level: options.logLevel }, pino.destination(2));
      const holder = `${hostname()}:${process.pid}`;
      for (;;) {
        const sim = openSimState(options.state);
        sim.tick(); // a reconcile interval has passed since the last command: deployments progress
        const ports = sim.ports();
        // One reconciler acts at a time; the lease outlives a pass that hangs, never a crashed one for long.
        if (await ports.store.acquireLease(holder, options.interval * 2, Date.now())) {
          try {
            const report = await reconcilePass({ ports, platform: sim.platform, log });
            printPass(report);
          } finally {
            await ports.store.releaseLease(holder);
          }
        } else {
          console.log('another reconciler holds the lease; this pass is skipped');
        }
        saveSimState(options.state, sim);
        if (options.once) return;
        await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
      }
    });

  cli
    .command('get')
    .description('list the stored sites and whether they are ready')
    .addOption(stateOption())
    .action(async (options: { state: string }) => {
      const ports = openSimState(options.state).ports();
      const [specs, statuses] = await Promise.all([ports.store.listSpecs(), ports.store.listStatuses()]);
      const statusOf = new Map(statuses.map((s) => [s.name, s.status]));
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
        ];
      });
      console.log(
        rows.length === 0
          ? 'No sites.'
          : table(['SITE', 'GENERATION', 'OBSERVED', 'READY', 'REASON', 'CDN'], rows),
      );
    });

  cli
    .command('describe')
    .description("print a site's conditions, per-region task counts, last actions and errors")
    .argument('<site>')
    .addOption(stateOption())
    .action(async (site: string, options: { state: string }) => {
      const ports = openSimState(options.state).ports();
      const [spec, statuses] = await Promise.all([ports.store.getSpec(site), ports.store.listStatuses()]);
      const status = statuses.find((s) => s.name === site)?.status;
      if (spec === undefined && status === undefined) throw new CliError(`no site ${site}`);
      if (status === undefined) {
        console.log(`Site: ${site}\nGeneration: ${spec!.generation}\nNot reconciled yet.`);
        return;
      }
      console.log(describeStatus(status, spec?.generation));
    });

  const editCanary = (verb: 'promote' | 'abort', edit: (document: unknown) => unknown, done: string) =>
    cli
      .command(verb)
      .description(
        verb === 'promote'
          ? "make the site's canary its stable image (the spec is rewritten; the canary drains)"
          : "roll the site's canary back: remove it from the spec so its traffic returns to stable",
      )
      .argument('<site>')
      .addOption(stateOption())
      .action(async (site: string, options: { state: string }) => {
        const sim = openSimState(options.state);
        const ports = sim.ports();
        const spec = await ports.store.getSpec(site);
        if (spec === undefined) throw new CliError(`no site ${site} is stored`);
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
        const stored = await ports.store.putSpec(site, next, spec.generation);
        saveSimState(options.state, sim);
        console.log(`site ${site}: ${done} (generation ${stored.generation})`);
      });
  editCanary('promote', promoteCanary, 'canary promoted to stable');
  editCanary('abort', abortCanary, 'canary removed; its traffic returns to stable');

  cli
    .command('delete')
    .description('delete a site: the next passes remove everything tandem created for it')
    .argument('<site>')
    .addOption(stateOption())
    .action(async (site: string, options: { state: string }) => {
      const sim = openSimState(options.state);
      const ports = sim.ports();
      const spec = await ports.store.getSpec(site);
      if (spec === undefined) throw new CliError(`no site ${site} is stored`);
      await ports.store.deleteSpec(site, spec.generation);
      saveSimState(options.state, sim);
      console.log(`site ${site} deleted; its resources are removed over the next passes`);
    });

  cli
    .command('demo')
    .description('reconcile specs/demo.json against an in-memory simulated cloud and show each pass')
    .action(async () => {
      await runDemo();
    });

  return cli;
}

function printPass(report: PassReport): void {
  for (const outcome of report.sites) {
    const status = report.statuses.get(outcome.name)!;
    const applied = outcome.applied?.results.filter((r) => r.error === undefined).length ?? 0;
    const failed = outcome.applied?.results.filter((r) => r.error !== undefined).length ?? 0;
    const ready = status.conditions.Ready;
    console.log(
      `${outcome.name}: ${applied} applied, ${failed} failed; Ready=${ready?.status} (${ready?.reason})`,
    );
  }
  if (report.sites.length === 0) console.log('no sites stored; apply one with tandem apply -f <file>');
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync(argv as string[], { from: 'node' });
    return 0;
  } catch (error) {
    if (error instanceof CliError) console.error(`error: ${error.message}`);
    else if (error instanceof CloudError)
      console.error(`error: ${error.kind} ${error.resource}: ${error.message}`);
    else console.error(error);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv);
}
