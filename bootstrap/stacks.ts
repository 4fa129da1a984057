import type { App } from 'aws-cdk-lib';
import type { BootstrapConfig } from './config.ts';
import { ControlStack } from './control-stack.ts';
import { PlatformStack } from './platform-stack.ts';

export interface TandemStacks {
  control: ControlStack;
  /** Keyed by region, primary first. */
  platforms: Record<string, PlatformStack>;
}

/**
 * The control stack in the primary region and a platform stack, with its own
 * reconciler, in every region. Each platform stack deploys after the control
 * stack (its replicas of the table and the secret must exist before it writes
 * its item and its reconciler reads them); no stack reads another's outputs,
 * so nothing crosses regions but the deployment order.
 */
export function addTandemStacks(app: App, config: BootstrapConfig): TandemStacks {
  const control = new ControlStack(app, 'TandemControl', {
    env: { account: config.account, region: config.controlRegion },
    tableName: config.tableName,
    regions: config.regions,
    httpsOrigins: config.domain !== undefined,
    imageReplication: config.imageReplication,
    originSecretRotationDays: config.originSecretRotationDays,
    description: 'tandem: the global table, the origin secret, image replication and the dashboard',
  });
  const platforms: Record<string, PlatformStack> = {};
  for (const region of config.regions) {
    const platform = new PlatformStack(app, `TandemPlatform-${region}`, {
      env: { account: config.account, region },
      tableName: config.tableName,
      regions: config.regions,
      privateTasks: config.privateTasks,
      ...(config.domain === undefined || config.hostedZoneId === undefined
        ? {}
        : { origin: { domain: config.domain, hostedZoneId: config.hostedZoneId } }),
      description: `tandem: the shared platform and the reconciler in ${region}`,
    });
    platform.addStackDependency(
      control,
      "the platform item and the reconciler use the table's and the secret's replicas the control stack creates",
    );
    platforms[region] = platform;
  }
  return { control, platforms };
}
