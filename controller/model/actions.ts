import type { DistributionConfig } from '../ports/cdn.ts';
import type { TaskDefinitionSpec } from '../ports/ecs.ts';
import type { RuleHeader, TargetGroupSettings } from '../ports/load-balancer.ts';

/**
 * An action is data: the planner returns an ordered list, the executor
 * interprets it. Target groups are named, not ARN'd, where the group may be
 * created earlier in the same plan.
 */
export interface WeightedTargetGroup {
  targetGroup: string;
  weight: number;
}

interface RegionScoped {
  site: string;
  region: string;
}

export type RegionAction = RegionScoped &
  (
    | { kind: 'RegisterTaskDefinition'; taskDefinition: TaskDefinitionSpec }
    | { kind: 'DeregisterTaskDefinition'; family: string; arn: string }
    | { kind: 'CreateTargetGroup'; settings: TargetGroupSettings }
    | { kind: 'ModifyTargetGroup'; name: string; arn: string; healthCheckPath: string }
    | { kind: 'DeleteTargetGroup'; name: string; arn: string }
    | {
        kind: 'CreateService';
        name: string;
        taskDefinition: string;
        desiredCount: number;
        targetGroup: string;
        containerPort: number;
      }
    | {
        kind: 'UpdateService';
        name: string;
        desiredCount?: number;
        taskDefinition?: string;
        /** Set when the service registers into a target group that is no longer the site's. */
        targetGroup?: string;
        containerPort?: number;
      }
    | { kind: 'DeleteService'; name: string }
    | {
        kind: 'CreateRule';
        /** The listener to add it to; absent means the region's HTTP listener (`listenerArn`). */
        listenerArn?: string;
        priority: number;
        header: RuleHeader;
        forward: WeightedTargetGroup[];
      }
    | {
        kind: 'ModifyRule';
        arn: string;
        header: RuleHeader;
        forward: WeightedTargetGroup[];
      }
    | { kind: 'DeleteRule'; arn: string }
  );

export type CdnAction = { site: string } & (
  | { kind: 'CreateDistribution'; config: DistributionConfig }
  | { kind: 'UpdateDistribution'; id: string; config: DistributionConfig }
  | { kind: 'DeleteDistribution'; id: string }
);

export type Action = RegionAction | CdnAction;

export function isRegionAction(action: Action): action is RegionAction {
  return 'region' in action;
}
