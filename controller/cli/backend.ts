import { Option, type Command } from 'commander';
import { DEFAULT_INTERVAL_SECONDS } from '../decide/ownership.ts';
import type { CloudError } from '../errors.ts';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import {
  DEFAULT_LOCAL_DIR,
  quietSdkNodeWarning,
  readEndpoints,
  runningLocalCloud,
  type RunningLocalCloud,
} from '../providers/local/endpoints.ts';
import { openSimState, saveSimState } from './sim-state.ts';

/** Where the README keeps the simulated cloud; never used unless named with --state. */
export const DEFAULT_STATE = '.tandem/sim';

/**
 * Where a command acts: AWS (a table and a region), the simulated cloud kept
 * in a directory, or the local cloud (`tandem up`) while it runs.
 */
export interface BackendOptions {
  /** The simulated cloud's directory; without it (and without a table) the running local cloud. */
  state?: string;
  table?: string;
  region?: string;
  platform?: string;
  /** Where a running local cloud left its endpoints. */
  local: string;
}

export interface Backend {
  kind: 'aws' | 'sim' | 'local';
  /**
   * Where the command acted, for what it prints: "the local cloud (.tandem/local)",
   * "the simulated cloud (.tandem/sim)", "table tandem in us-east-1".
   */
  where: string;
  /** The region whose replica of the table `ports.store` reads and writes. */
  region: string;
  /** Ports of `region`. */
  ports: Ports;
  /** Seconds between two passes of its reconcilers: a region whose heartbeat is 3 of them old is quiet. */
  intervalSeconds: number;
  /** The regions whose reconcilers `reconcile` and `plan` run: every one in the simulation, `--region` on AWS. */
  reconcilers: readonly string[];
  /** Ports of a region whose reconciler runs. */
  portsOf(region: string): Ports;
  /** Where the platform is; read only by commands that observe or change the cloud. */
  platform(): Promise<Platform>;
  /** A reconcile interval passes before each pass: in the simulation, deployments progress. */
  beforePass(): void;
  /** Keeps what the command changed (the simulation's state file; AWS keeps its own). */
  save(): void;
  /** API calls made so far, per service, operation and region, then cleared. */
  drainCalls(): { service: string; operation: string; region: string; count: number }[];
}

/** Adds the options that choose the backend to a command. */
export function withBackendOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--table <name>', "tandem's DynamoDB table: act on AWS instead of the local cloud").env(
        'TANDEM_TABLE',
      ),
    )
    .addOption(
      new Option(
        '--region <region>',
        'the region whose replica of the table is read and written, and whose reconciler reconcile and plan run (default: the AWS SDK region on AWS, the primary in the simulation)',
      ).env('TANDEM_REGION'),
    )
    .addOption(new Option('--platform <file>', 'read where the platform is from this JSON file'))
    .addOption(
      new Option(
        '--state <dir>',
        `act on the simulated cloud kept in this directory (e.g. ${DEFAULT_STATE}) instead of the local cloud`,
      ),
    )
    .addOption(
      new Option('--local <dir>', 'directory of the local cloud to act on while it runs (tandem up)')
        .env('TANDEM_LOCAL_DIR')
        .default(DEFAULT_LOCAL_DIR),
    );
}

export class BackendError extends Error {}

/** The region asked for, or the first (the primary); a region the backend does not have is an error naming those it has. */
function knownRegion(wanted: string | undefined, regions: readonly string[], where: string): string {
  if (wanted === undefined) return regions[0]!;
  if (!regions.includes(wanted))
    throw new BackendError(`${where} has no region ${wanted}; its regions are ${regions.join(', ')}`);
  return wanted;
}

/** A stored item tandem did not write in that shape: still read as well as it can be, and said. */
function warnMalformed(error: CloudError): void {
  console.error(`warning: ${error.message}`);
}

/**
 * The backend the options choose: AWS with --table; else the simulated cloud
 * with --state; else the local cloud, which must be running: a command never
 * falls back to another world without being told to, since it would answer
 * from a store the person is not looking at. The AWS SDK is loaded only when
 * needed. `storeOnly` commands (apply, get, describe, ...) can act on the
 * local cloud's store; the others reconcile or plan, which the local cloud
 * does itself.
 */
export async function openBackend(
  options: BackendOptions,
  use: { storeOnly: boolean } = { storeOnly: false },
): Promise<Backend> {
  if (options.table !== undefined && options.state !== undefined)
    throw new BackendError(
      `--table ${options.table} (or TANDEM_TABLE) and --state ${options.state} name two different clouds: pass one`,
    );
  if (options.table === undefined) {
    if (options.state !== undefined) return simBackend(options.state, options.region);
    const local = await runningLocalCloud(options.local);
    if (local === undefined) {
      const left = readEndpoints(options.local) === undefined ? '' : ' (the one that ran there has stopped)';
      throw new BackendError(
        `no local cloud is running on ${options.local}${left}: start one with npm start, ` +
          `or pass --state <dir> to act on the simulated cloud kept there (e.g. ${DEFAULT_STATE}), ` +
          'or --table <name> --region <region> to act on AWS',
      );
    }
    if (!use.storeOnly) {
      throw new BackendError(
        `the local cloud on ${options.local} reconciles itself every ${local.intervalSeconds} s; ` +
          'to plan or reconcile the simulated cloud instead, pass --state <dir>',
      );
    }
    return localBackend(local, options.local, options.region);
  }
  const [{ CallCounter }, { AwsClients }, { awsPorts, DynamoSpecStore }, { loadPlatform, platformFromFile }] =
    await Promise.all([
      import('../providers/aws/accounting.ts'),
      import('../providers/aws/clients.ts'),
      import('../providers/aws/index.ts'),
      import('../providers/aws/platform.ts'),
    ]);
  const region = options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  if (region === undefined || region === '') {
    throw new BackendError('--table needs a region: pass --region or set AWS_REGION');
  }
  const counter = new CallCounter();
  const clients = new AwsClients({ counter });
  const tableName = options.table;
  const store = new DynamoSpecStore(clients.dynamodb(region), tableName, region, {
    onMalformed: warnMalformed,
  });
  let platform: Promise<Platform> | undefined;
  const ports = awsPorts({ clients, tableName, region, store });
  return {
    kind: 'aws',
    where: `table ${tableName} in ${region}`,
    region,
    ports,
    intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    reconcilers: [region],
    portsOf: (other) => (other === region ? ports : awsPorts({ clients, tableName, region: other })),
    platform: () =>
      (platform ??=
        options.platform === undefined
          ? loadPlatform({ clients, tableName, region, secret: 'sdk' })
          : Promise.resolve(platformFromFile(options.platform))),
    beforePass: () => undefined,
    save: () => undefined,
    drainCalls: () => counter.drain(),
  };
}

/** The local cloud's spec store, over the DynamoDB API as on AWS; nothing else is reachable from here. */
async function localBackend(
  local: RunningLocalCloud,
  dir: string,
  wanted: string | undefined,
): Promise<Backend> {
  quietSdkNodeWarning();
  const [{ DynamoSpecStore }, { localStoreClient }] = await Promise.all([
    import('../providers/aws/store.ts'),
    import('../providers/local/store.ts'),
  ]);
  const region = knownRegion(wanted, local.regions, `the local cloud on ${dir}`);
  const client = localStoreClient(local.stores[region] ?? local.store);
  const unreachable = (): never => {
    throw new BackendError('only the spec store of the local cloud is reachable from the CLI');
  };
  const elsewhere = new Proxy({}, { get: () => unreachable });
  if (local.lost.includes(region)) {
    client.destroy();
    const others = local.regions.filter((r) => !local.lost.includes(r));
    throw new BackendError(
      `${region} is lost in the local cloud on ${dir} (tandem lose-region): its replica of the table does not answer; ` +
        (others.length === 0
          ? 'restore a region with tandem restore-region'
          : `pass --region ${others[0]} to use that region's replica`),
    );
  }
  const ports: Ports = {
    store: new DynamoSpecStore(client, local.table, region, { onMalformed: warnMalformed }),
    ecs: elsewhere as Ports['ecs'],
    loadBalancer: elsewhere as Ports['loadBalancer'],
    cdn: elsewhere as Ports['cdn'],
    metrics: elsewhere as Ports['metrics'],
  };
  return {
    kind: 'local',
    where:
      wanted === undefined ? `the local cloud (${dir})` : `the local cloud (${dir}), ${region}'s replica`,
    region,
    ports,
    intervalSeconds: local.intervalSeconds,
    reconcilers: [],
    portsOf: unreachable,
    platform: unreachable,
    beforePass: () => undefined,
    save: () => client.destroy(),
    drainCalls: () => [],
  };
}

function simBackend(state: string, wanted: string | undefined): Backend {
  const sim = openSimState(state);
  const regions = Object.keys(sim.platform.regions);
  const region = knownRegion(wanted, regions, `the simulated cloud in ${state}`);
  return {
    kind: 'sim',
    where: `the simulated cloud (${state})`,
    region,
    ports: sim.ports(region),
    // A simulated minute passes between passes.
    intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    reconcilers: regions,
    portsOf: (other) => sim.ports(other),
    platform: () => Promise.resolve(sim.platform),
    beforePass: () => sim.tick(),
    save: () => saveSimState(state, sim),
    drainCalls: () => {
      const counts = new Map<string, { service: string; operation: string; region: string; count: number }>();
      for (const call of sim.calls) {
        const key = `${call.service} ${call.operation} ${call.region}`;
        const entry = counts.get(key) ?? {
          service: call.service,
          operation: call.operation,
          region: call.region,
          count: 0,
        };
        entry.count += 1;
        counts.set(key, entry);
      }
      sim.resetCalls();
      return [...counts.values()];
    },
  };
}
