/**
 * Where the bootstrap deployed the shared platform. The reconciler places each
 * site's resources into it; it never creates or changes these itself.
 */
export interface RegionPlatform {
  region: string;
  cluster: string;
  loadBalancerArn: string;
  /** The name the CDN reaches the ALB by: its DNS name, or `origin-<region>.<domain>` with HTTPS origins. */
  loadBalancerDnsName: string;
  listenerArn: string;
  vpcId: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  /** Public IPs for tasks in public subnets (no NAT gateway); false with private subnets and VPC endpoints. */
  assignPublicIp: boolean;
  executionRoleArn: string;
  taskRoleArn: string;
  logGroup: string;
}

export interface Platform {
  regions: Readonly<Record<string, RegionPlatform>>;
  /** Header the CDN adds to every origin request; listener rules route on it. */
  originHeaderName: string;
  /** Secret part of the header value: proves a request came through the CDN. Never printed. */
  originSecret: string;
  /** How the CDN talks to the ALBs. */
  originProtocol: 'http-only' | 'https-only';
  /**
   * Seconds per metric datapoint the reconciler reads. CloudWatch's ALB metrics are per minute,
   * so 60 on AWS (the default); the local cloud uses a few seconds so its loop turns quickly.
   * Counts are scaled to per minute either way.
   */
  metricPeriodSeconds?: number;
}

/** CloudWatch's period for ALB and ECS metrics. */
export const AWS_METRIC_PERIOD_SECONDS = 60;
