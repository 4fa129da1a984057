import { asCloudError, CloudError } from '../errors.ts';
import {
  isRegionAction,
  type Action,
  type CdnAction,
  type RegionAction,
  type WeightedTargetGroup,
} from '../model/actions.ts';
import type { ObservedSite } from '../model/observed.ts';
import type { Platform } from '../model/platform.ts';
import { ownershipTags } from '../model/tags.ts';
import type { Ports } from '../ports/index.ts';
import type { WeightedTarget } from '../ports/load-balancer.ts';
import type { DistributionSummary } from '../ports/cdn.ts';
import { sameConfig } from '../plan/cdn.ts';

export interface ActionResult {
  action: Action;
  /** Absent when the action succeeded. */
  error?: CloudError;
  /** The distribution a CreateDistribution made, so status records it at once. */
  created?: DistributionSummary;
}

/** Actions that never ran because an earlier one in their lane failed. */
export interface ApplyResult {
  results: ActionResult[];
  skipped: Action[];
}

/**
 * Runs one site's plan. Each region and the CDN is its own lane: lanes run
 * side by side, actions within a lane in plan order, and a failure stops only
 * its own lane, since later actions there may depend on it.
 */
export async function applySitePlan(
  ports: Ports,
  platform: Platform,
  observed: ObservedSite,
  actions: readonly Action[],
): Promise<ApplyResult> {
  const lanes = new Map<string, Action[]>();
  for (const action of actions) {
    const lane = isRegionAction(action) ? action.region : 'cdn';
    lanes.set(lane, [...(lanes.get(lane) ?? []), action]);
  }
  const outcomes = await Promise.all(
    [...lanes.entries()].map(async ([lane, laneActions]) => {
      const run: (action: Action) => Promise<DistributionSummary | void> =
        lane === 'cdn'
          ? (action: Action) => applyCdnAction(ports, action as CdnAction)
          : regionRunner(ports, platform, observed, lane);
      const results: ActionResult[] = [];
      for (const [i, action] of laneActions.entries()) {
        try {
          const created = await run(action);
          results.push(created ? { action, created } : { action });
        } catch (error) {
          results.push({ action, error: asCloudError(error, describeTarget(action)) });
          return { results, skipped: laneActions.slice(i + 1) };
        }
      }
      return { results, skipped: [] as Action[] };
    }),
  );
  return { results: outcomes.flatMap((o) => o.results), skipped: outcomes.flatMap((o) => o.skipped) };
}

/** A region's interpreter: it remembers target group ARNs, including those it creates. */
function regionRunner(ports: Ports, platform: Platform, observed: ObservedSite, region: string) {
  const where = platform.regions[region];
  const groupArns = new Map((observed.regions[region]?.targetGroups ?? []).map((tg) => [tg.name, tg.arn]));
  const arnOf = (name: string) => {
    const arn = groupArns.get(name);
    if (arn === undefined)
      throw new CloudError('NotFound', name, `target group ${name} does not exist in ${region}`);
    return arn;
  };
  const targets = (forward: readonly WeightedTargetGroup[]): WeightedTarget[] =>
    forward.map((f) => ({ targetGroupArn: arnOf(f.targetGroup), weight: f.weight }));

  return async (action: Action): Promise<void> => {
    if (where === undefined) throw new CloudError('Invalid', region, `no tandem platform in ${region}`);
    const a = action as RegionAction;
    const tags = ownershipTags(a.site);
    switch (a.kind) {
      case 'RegisterTaskDefinition':
        await ports.ecs.registerTaskDefinition(region, a.taskDefinition, tags);
        return;
      case 'DeregisterTaskDefinition':
        await ports.ecs.deregisterTaskDefinition(region, a.arn);
        return;
      case 'CreateTargetGroup': {
        const created = await ports.loadBalancer.createTargetGroup(region, where.vpcId, a.settings, tags);
        groupArns.set(created.name, created.arn);
        return;
      }
      case 'ModifyTargetGroup':
        await ports.loadBalancer.modifyTargetGroup(region, a.arn, { healthCheckPath: a.healthCheckPath });
        return;
      case 'DeleteTargetGroup':
        await ports.loadBalancer.deleteTargetGroup(region, a.arn);
        return;
      case 'CreateService':
        await ports.ecs.createService(region, where.cluster, {
          name: a.name,
          taskDefinition: a.taskDefinition,
          desiredCount: a.desiredCount,
          targetGroupArn: arnOf(a.targetGroup),
          containerPort: a.containerPort,
          subnets: where.subnets,
          securityGroups: where.securityGroups,
          assignPublicIp: where.assignPublicIp,
          tags,
        });
        return;
      case 'UpdateService': {
        const update = {
          ...(a.desiredCount === undefined ? {} : { desiredCount: a.desiredCount }),
          ...(a.taskDefinition === undefined ? {} : { taskDefinition: a.taskDefinition }),
          ...(a.targetGroup === undefined
            ? {}
            : { targetGroupArn: arnOf(a.targetGroup), containerPort: a.containerPort }),
        };
        await ports.ecs.updateService(region, where.cluster, a.name, update);
        return;
      }
      case 'DeleteService':
        await ports.ecs.deleteService(region, where.cluster, a.name);
        return;
      case 'CreateRule':
        await ports.loadBalancer.createRule(
          region,
          a.listenerArn ?? where.listenerArn,
          a.priority,
          { header: a.header, forward: targets(a.forward) },
          tags,
        );
        return;
      case 'ModifyRule':
        await ports.loadBalancer.modifyRule(region, a.arn, { header: a.header, forward: targets(a.forward) });
        return;
      case 'DeleteRule':
        await ports.loadBalancer.deleteRule(region, a.arn);
        return;
    }
  };
}

/**
 * CloudFront updates quote the ETag just read. If someone changed the
 * distribution in between, the update fails with Conflict and the next pass
 * plans again from what it then sees.
 */
async function applyCdnAction(ports: Ports, action: CdnAction): Promise<DistributionSummary | void> {
  switch (action.kind) {
    case 'CreateDistribution':
      return ports.cdn.createDistribution(action.config, ownershipTags(action.site));
    case 'UpdateDistribution': {
      const current = await ports.cdn.getDistributionConfig(action.id);
      if (sameConfig(current.config, action.config)) return;
      await ports.cdn.updateDistribution(action.id, action.config, current.etag);
      return;
    }
    case 'DeleteDistribution': {
      const current = await ports.cdn.getDistributionConfig(action.id);
      await ports.cdn.deleteDistribution(action.id, current.etag);
      return;
    }
  }
}

/** A short name for what an action changes, for status and logs. */
export function describeTarget(action: Action): string {
  switch (action.kind) {
    case 'RegisterTaskDefinition':
      return action.taskDefinition.family;
    case 'DeregisterTaskDefinition':
      return action.family;
    case 'CreateTargetGroup':
      return action.settings.name;
    case 'ModifyTargetGroup':
    case 'DeleteTargetGroup':
    case 'CreateService':
    case 'UpdateService':
    case 'DeleteService':
      return action.name;
    case 'CreateRule':
      return `rule ${action.site} (priority ${action.priority})`;
    case 'ModifyRule':
    case 'DeleteRule':
      return `rule ${action.site}`;
    case 'CreateDistribution':
      return `distribution ${action.site}`;
    case 'UpdateDistribution':
    case 'DeleteDistribution':
      return `distribution ${action.id}`;
  }
}
