import { Option, type Command } from 'commander';
import type { Platform } from '../model/platform.ts';
import type { Ports } from '../ports/index.ts';
import { openSimState, saveSimState } from './sim-state.ts';

export const DEFAULT_STATE = '.tandem/sim';

/** Where a command acts: AWS (a table and a region) or the simulated cloud kept in a directory. */
export interface BackendOptions {
  state: string;
  table?: string;
  region?: string;
  platform?: string;
}

export interface Backend {
  kind: 'aws' | 'sim';
  ports: Ports;
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
      new Option('--table <name>', "tandem's DynamoDB table: act on AWS instead of the simulated cloud").env(
        'TANDEM_TABLE',
      ),
    )
    .addOption(
      new Option('--region <region>', 'the region of the table (default: the AWS SDK region)').env(
        'TANDEM_CONTROL_REGION',
      ),
    )
    .addOption(new Option('--platform <file>', 'read where the platform is from this JSON file'))
    .addOption(
      new Option('--state <dir>', 'directory holding the simulated cloud, when no --table is given').default(
        DEFAULT_STATE,
      ),
    );
}

export class BackendError extends Error {}

/** The backend the options choose. The AWS SDK is loaded only when AWS is chosen. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  if (options.table === undefined) return simBackend(options);
  const [{ CallCounter }, { AwsClients }, { awsPorts }, { loadPlatform, platformFromFile }] =
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
  let platform: Promise<Platform> | undefined;
  return {
    kind: 'aws',
    ports: awsPorts({ clients, tableName, controlRegion: region }),
    platform: () =>
      (platform ??=
        options.platform === undefined
          ? loadPlatform({ clients, tableName, controlRegion: region, secret: 'sdk' })
          : Promise.resolve(platformFromFile(options.platform))),
    beforePass: () => undefined,
    save: () => undefined,
    drainCalls: () => counter.drain(),
  };
}

function simBackend(options: BackendOptions): Backend {
  const sim = openSimState(options.state);
  const ports = sim.ports();
  return {
    kind: 'sim',
    ports,
    platform: () => Promise.resolve(sim.platform),
    beforePass: () => sim.tick(),
    save: () => saveSimState(options.state, sim),
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
