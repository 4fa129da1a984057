import type { Tags } from '../model/tags.ts';
import type { Page } from './page.ts';

/** DescribeTags takes at most 20 resource ARNs a call. */
export const DESCRIBE_TAGS_MAX = 20;

export interface TargetGroupSettings {
  name: string;
  port: number;
  healthCheckPath: string;
}

export interface TargetGroupState extends TargetGroupSettings {
  arn: string;
  vpcId: string;
}

export interface WeightedTarget {
  targetGroupArn: string;
  weight: number;
}

/**
 * The header a rule matches: requests match when it has exactly one of these values. One value
 * normally; two while the origin secret rotates (the new one and the old), so a distribution
 * still sending the old one keeps reaching the site (docs/bootstrap.md, "The origin secret").
 * The order carries no meaning: ALB matches any.
 */
export interface RuleHeader {
  name: string;
  values: string[];
}

export interface RuleSettings {
  header: RuleHeader;
  forward: WeightedTarget[];
}

export interface RuleState extends RuleSettings {
  arn: string;
  priority: number;
}

/** An ALB in one region: target groups and the rules of tandem's listener. */
export interface LoadBalancerPort {
  describeTargetGroups(region: string, next?: string): Promise<Page<TargetGroupState>>;
  /** The listener's rules, without its default rule. */
  describeRules(region: string, listenerArn: string, next?: string): Promise<Page<RuleState>>;
  /** At most DESCRIBE_TAGS_MAX ARNs; answers every ARN asked about. */
  describeTags(region: string, arns: readonly string[]): Promise<Record<string, Tags>>;
  createTargetGroup(
    region: string,
    vpcId: string,
    settings: TargetGroupSettings,
    tags: Tags,
  ): Promise<TargetGroupState>;
  modifyTargetGroup(
    region: string,
    arn: string,
    settings: Pick<TargetGroupSettings, 'healthCheckPath'>,
  ): Promise<void>;
  deleteTargetGroup(region: string, arn: string): Promise<void>;
  createRule(
    region: string,
    listenerArn: string,
    priority: number,
    settings: RuleSettings,
    tags: Tags,
  ): Promise<RuleState>;
  modifyRule(region: string, arn: string, settings: RuleSettings): Promise<void>;
  deleteRule(region: string, arn: string): Promise<void>;
}
