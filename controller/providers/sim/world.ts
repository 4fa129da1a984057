import type { Platform, RegionPlatform } from '../../model/platform.ts';
import type { Tags } from '../../model/tags.ts';
import type { DistributionConfig } from '../../ports/cdn.ts';
import type { ServiceState, TaskDefinitionSpec } from '../../ports/ecs.ts';
import type { RuleSettings } from '../../ports/load-balancer.ts';

/**
 * Everything the simulated cloud holds, as plain JSON so the CLI can keep it
 * in a file between commands.
 */
export interface SimWorld {
  /** Source of unique ids and ARNs. */
  seq: number;
  /** Reconcile intervals that have passed (`tick`); metrics exist only for what is older than one. */
  ticks?: number;
  regions: Record<string, SimRegion>;
  distributions: Record<string, SimDistribution>;
  /** Each region's replica of tandem's table (sim/store.ts). */
  replicas: Record<string, SimReplica>;
  /** Orders every table write, for replication's last writer wins. */
  tableVersion?: number;
  /** CloudWatch dashboard bodies by name (dashboards are global to the account). */
  dashboards?: Record<string, string>;
  /** Images whose tasks never become healthy: a deployment of them fails (SimulatedCloud.failTasksOf). */
  unhealthyImages?: string[];
  /** Images whose running tasks crash now and then, by image (SimulatedCloud.crashTasksOf). */
  crashingImages?: Record<string, SimCrashes>;
  /**
   * The target groups' health check, when target health lags (SimulatedCloud.lagTargetHealth): a
   * new target is `initial` for interval × healthy threshold before it is `healthy`. Undefined: at once.
   */
  targetHealth?: SimHealthCheck;
}

/** How often tasks of an image crash once running: `tasks` of each service every `everyTicks` ticks. */
export interface SimCrashes {
  tasks: number;
  everyTicks: number;
}

export interface SimHealthCheck {
  intervalSeconds: number;
  healthyThresholdCount: number;
}

/** One reconcile interval: what `SimulatedCloud.tick` stands for. */
export const SIM_TICK_SECONDS = 60;

/** Ticks a new target stays `initial`: interval × healthy threshold, in whole reconcile intervals. */
export function initialTicks(world: SimWorld): number {
  const check = world.targetHealth;
  return check === undefined
    ? 0
    : Math.ceil((check.intervalSeconds * check.healthyThresholdCount) / SIM_TICK_SECONDS);
}

/** One region's replica of the table: items by `<pk>|<sk>`. */
export interface SimReplica {
  items: Record<string, SimItem>;
}

export interface SimItem {
  pk: string;
  sk: string;
  /** Absent for a deleted item: the tombstone replicates like any write. */
  value?: unknown;
  /** When it was written, in the order of every write to the table; the higher wins a replication. */
  version: number;
}

export interface SimRegion {
  taskDefinitions: SimTaskDefinition[];
  /** Keyed by service name; the cluster is the platform's. */
  services: Record<string, ServiceState>;
  targetGroups: Record<string, SimTargetGroup>;
  rules: Record<string, SimRule>;
  /** What each target group serves per minute, keyed by its name (see SimulatedCloud.setTraffic). */
  load: Record<string, SimTraffic>;
  /** Each service's last COMPLETED deployment (a family): what the circuit breaker rolls back to. */
  completed?: Record<string, string>;
  /** Each service's tasks as ECS and the target group see them, by service name (sim/ecs.ts). */
  tasks?: Record<string, SimServiceTasks>;
}

export interface SimServiceTasks {
  /**
   * The service's running tasks registered as targets, grouped by their family and the tick they
   * started in (none: before the simulation tracked it, long healthy). A target is `initial` until
   * `initialTicks` after it started, then `healthy`.
   */
  targets: { family: string; count: number; tick?: number }[];
  /** Tasks of the deployment in progress that failed their health checks (ECS's Deployment.failedTasks). */
  failedTasks?: number;
}

/** One target group's traffic in the simulation; a missing field reads as no datapoint. */
export interface SimTraffic {
  requestsPerMinute?: number;
  errors5xxPerMinute?: number;
  p95LatencyMs?: number;
  cpuPercent?: number;
  /** Healthy hosts to report; default the running tasks of the service registered into the group. */
  healthyTargets?: number;
}

export interface SimTaskDefinition {
  family: string;
  revision: number;
  arn: string;
  spec: TaskDefinitionSpec;
  tags: Tags;
  active: boolean;
}

export interface SimTargetGroup {
  arn: string;
  name: string;
  port: number;
  healthCheckPath: string;
  vpcId: string;
  tags: Tags;
  /** The tick it was created in: CloudWatch has no datapoints for it before the next one. */
  createdAtTick?: number;
}

export interface SimRule extends RuleSettings {
  arn: string;
  listenerArn: string;
  priority: number;
  tags: Tags;
}

export interface SimDistribution {
  id: string;
  arn: string;
  domainName: string;
  status: 'InProgress' | 'Deployed';
  etag: string;
  config: DistributionConfig;
  tags: Tags;
}

export const SIM_ACCOUNT = '000000000000';
export const DEFAULT_SIM_REGIONS = ['us-east-1', 'eu-west-1'];

export function emptyWorld(regions: readonly string[] = DEFAULT_SIM_REGIONS): SimWorld {
  return {
    seq: 0,
    regions: Object.fromEntries(
      regions.map((r) => [r, { taskDefinitions: [], services: {}, targetGroups: {}, rules: {}, load: {} }]),
    ),
    distributions: {},
    replicas: Object.fromEntries(regions.map((r) => [r, { items: {} }])),
  };
}

/** The platform the bootstrap would have deployed, for each simulated region. */
export function simPlatform(regions: readonly string[]): Platform {
  return {
    regions: Object.fromEntries(regions.map((region) => [region, regionPlatform(region)])),
    originHeaderName: 'X-Tandem-Origin',
    originSecret: 'sim-secret',
    originProtocol: 'http-only',
  };
}

function regionPlatform(region: string): RegionPlatform {
  const elb = `arn:aws:elasticloadbalancing:${region}:${SIM_ACCOUNT}`;
  return {
    region,
    cluster: 'tandem',
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    loadBalancerDnsName: `tandem-${region}.elb.sim`,
    listenerArn: `${elb}:listener/app/tandem/0123456789abcdef/fedcba9876543210`,
    vpcId: `vpc-${region}`,
    subnets: [`subnet-${region}-a`, `subnet-${region}-b`],
    securityGroups: [`sg-${region}-tasks`],
    assignPublicIp: true,
    executionRoleArn: `arn:aws:iam::${SIM_ACCOUNT}:role/tandem-execution`,
    taskRoleArn: `arn:aws:iam::${SIM_ACCOUNT}:role/tandem-task`,
    logGroup: `/tandem/${region}`,
  };
}
