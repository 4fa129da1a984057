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
 * The control stack in the primary region and a platform stack in every
 * region. Each platform stack deploys after the control stack (its table
 * replica must exist before it writes its item); no stack reads another's
 * outputs, so nothing crosses regions but the deployment order.
 */
export function addTandemStacks(app: App, config: BootstrapConfig): TandemStacks {
  const control = new ControlStack(app, 'TandemControl', {
    env: { account: config.account, region: config.controlRegion },
    tableName: config.tableName,
    regions: config.regions,
    httpsOrigins: config.domain !== undefined,
    description: 'tandem: the table, the origin secret and the reconciler',
  });
  const platforms: Record<string, PlatformStack> = {};
  for (const region of config.regions) {
    const platform = new PlatformStack(app, `TandemPlatform-${region}`, {
      env: { account: config.account, region },
      tableName: config.tableName,
      privateTasks: config.privateTasks,
      ...(config.domain === undefined || config.hostedZoneId === undefined
        ? {}
        : { origin: { domain: config.domain, hostedZoneId: config.hostedZoneId } }),
      description: `tandem: the shared platform in ${region}`,
    });
    platform.addStackDependency(control, 'the platform item goes into the table the control stack creates');
    platforms[region] = platform;
  }
  return { control, platforms };
}
