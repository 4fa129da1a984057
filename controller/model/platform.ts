/**
 * Where the bootstrap deployed the shared platform. The reconciler places each
 * site's resources into it; it never creates or changes these itself.
 */
export interface RegionPlatform {
  region: string;
  cluster: string;
  loadBalancerArn: string;
  /**
   * The name the CDN reaches the ALB by over HTTP: its DNS name (`origin-<region>.<domain>` in items
   * from before `httpsOriginName`).
   */
  loadBalancerDnsName: string;
  /**
   * The name the CDN reaches the HTTPS listener by, `origin-<region>.<domain>`, which its certificate
   * covers; written with `httpsListenerArn`. HTTP keeps using `loadBalancerDnsName`, so the name can
   * go with the domain once nothing reaches it over HTTPS any more.
   */
  httpsOriginName?: string;
  /**
   * The HTTP listener (port 80). It is never replaced: the reconciler's rules on it live as long as the ALB.
   */
  listenerArn: string;
  /**
   * The HTTPS listener (port 443), written by the region's platform stack only once that listener,
   * its certificate, the name `loadBalancerDnsName` and the security group's rule for 443 exist.
   * Its presence is the region's word that the CDN may reach it over HTTPS: the reconciler keeps
   * each site's rule on both listeners, and the CDN uses HTTPS for this region only when the
   * settings ask for it and this is set (`regionOriginProtocol`).
   */
  httpsListenerArn?: string;
  /**
   * `<region>.failover.<domain>`: the region's DNS failover name (model/dns-failover.ts), written by
   * the region's platform stack once the records that point it (and every other region's name) at
   * this load balancer, the health check behind them and a certificate covering `*.failover.<domain>`
   * exist. A site's origins connect to these names when every one of its regions has one.
   */
  failoverOriginName?: string;
  /**
   * The Route 53 health check behind this region's failover name, written with it; the sites'
   * dashboard graphs its status (AWS/Route53 HealthCheckStatus, in us-east-1).
   */
  healthCheckId?: string;
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
  /**
   * The secret before the last rotation (Secrets Manager's AWSPREVIOUS), while there is one:
   * rules accept it until the distribution is seen sending the new one (decide/origin-secret.ts).
   */
  previousOriginSecret?: string;
  /**
   * How the CDN should talk to the ALBs (the control stack's settings). A region's origin uses
   * HTTPS only where its own item says it listens for it: `regionOriginProtocol`.
   */
  originProtocol: OriginProtocol;
  /**
   * Seconds per metric datapoint the reconciler reads. CloudWatch's ALB metrics are per minute,
   * so 60 on AWS (the default); the local cloud uses a few seconds so its loop turns quickly.
   * Counts are scaled to per minute either way.
   */
  metricPeriodSeconds?: number;
}

export type OriginProtocol = 'http-only' | 'https-only';

/**
 * The protocol the CDN uses for `region`'s origin: HTTPS when the settings ask for it and the
 * region's platform item has an HTTPS listener, else HTTP (every platform keeps its HTTP listener).
 * So the control stack and the platform stacks may be deployed in either order when a domain is
 * turned on or off (docs/bootstrap.md).
 */
export function regionOriginProtocol(platform: Platform, region: RegionPlatform): OriginProtocol {
  return platform.originProtocol === 'https-only' &&
    region.httpsListenerArn !== undefined &&
    region.httpsOriginName !== undefined
    ? 'https-only'
    : 'http-only';
}

/** Every listener of the region's ALB that carries the sites' rules: the HTTP one first. */
export function regionListeners(region: RegionPlatform): string[] {
  return region.httpsListenerArn === undefined
    ? [region.listenerArn]
    : [region.listenerArn, region.httpsListenerArn];
}

/** CloudWatch's period for ALB and ECS metrics. */
export const AWS_METRIC_PERIOD_SECONDS = 60;
