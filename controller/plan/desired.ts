import { splitTasks } from '../decide/capacity.ts';
import type { OriginOrder } from '../decide/origin-order.ts';
import type { SiteDecisions } from '../decide/site.ts';
import {
  distributionComment,
  originHeaderValue,
  serviceName,
  targetGroupName,
  taskDefinitionFamily,
  type Track,
} from '../model/naming.ts';
import { regionOriginProtocol, type Platform } from '../model/platform.ts';
import type { DistributionConfig, Origin } from '../ports/cdn.ts';
import type { TaskDefinitionSpec } from '../ports/ecs.ts';
import type { RuleHeader } from '../ports/load-balancer.ts';
import type { Site } from '../spec/schema.ts';
import { primaryRegion, regionImage } from './image.ts';

/** One track (stable or canary) of a site in one region, as the spec wants it. */
export interface DesiredTrack {
  track: Track;
  service: string;
  targetGroup: string;
  taskDefinition: TaskDefinitionSpec;
  desiredCount: number;
  /** Percent of the region's requests for this track. */
  weight: number;
}

export interface DesiredRegion {
  region: string;
  role: 'primary' | 'failover';
  tracks: DesiredTrack[];
  header: RuleHeader;
  healthCheckPath: string;
  containerPort: number;
  /**
   * Task definition families whose deployment ECS failed here and the spec still wants
   * (decide/rollout.ts): no service is moved to them again. Absent when there is none.
   */
  failedTaskDefinitions?: string[];
}

export interface DesiredSite {
  name: string;
  regions: DesiredRegion[];
  distribution: DistributionConfig;
}

/** Regions missing from the platform: the bootstrap has not been deployed there. */
export function regionsWithoutPlatform(site: Site, platform: Platform): string[] {
  return site.spec.regions.map((r) => r.name).filter((name) => platform.regions[name] === undefined);
}

/**
 * Per region, the task definitions of the stable image and of the canary, if
 * any, each naming the image as that region pulls it (plan/image.ts).
 */
export function siteTaskDefinitions(
  site: Site,
  platform: Platform,
): Record<string, { stable: TaskDefinitionSpec; canary?: TaskDefinitionSpec }> {
  const { spec } = site;
  const primary = primaryRegion(site);
  return Object.fromEntries(
    spec.regions.map((region) => {
      const where = platformRegion(platform, region.name);
      const taskDefinition = (tag: string): TaskDefinitionSpec => {
        const pulled = regionImage({ repository: spec.image.repository, tag }, where, primary);
        if (!pulled.ok) throw new Error(`${pulled.problem.message}; check imageStall first`);
        const content = {
          image: pulled.image,
          cpu: spec.task.cpu,
          memory: spec.task.memory,
          containerPort: spec.task.containerPort,
          healthCheckPath: spec.task.healthCheckPath,
          ...(spec.task.healthCheckCommand === undefined
            ? {}
            : { healthCheckCommand: spec.task.healthCheckCommand }),
          readOnlyRootFilesystem: spec.task.readOnlyRootFilesystem,
          environment: spec.task.environment,
          executionRoleArn: where.executionRoleArn,
          taskRoleArn: where.taskRoleArn,
          logGroup: where.logGroup,
        };
        const { architecture } = spec.task;
        // The default leaves the digest as it was before the setting existed: no site rolls over for it.
        const family = taskDefinitionFamily(
          site.metadata.name,
          architecture === 'X86_64' ? content : { ...content, architecture },
        );
        return { family, ...content, architecture };
      };
      const stable = taskDefinition(spec.image.tag);
      return [
        region.name,
        spec.canary === undefined ? { stable } : { stable, canary: taskDefinition(spec.canary.tag) },
      ];
    }),
  );
}

/**
 * What the world should hold for a valid spec, given this pass's decisions
 * (tasks per region, the canary's weight). Pure; needs every region in the platform.
 */
export function desiredSite(site: Site, platform: Platform, decisions: SiteDecisions): DesiredSite {
  const { spec } = site;
  const name = site.metadata.name;
  const canaryWeight = decisions.canaryWeight;
  const current = originHeaderValue(name, platform.originSecret);
  const previous =
    platform.previousOriginSecret === undefined
      ? undefined
      : originHeaderValue(name, platform.previousOriginSecret);
  const secret = decisions.originSecret;
  const header: RuleHeader = {
    name: platform.originHeaderName,
    values: previous !== undefined && secret?.acceptPrevious === true ? [current, previous] : [current],
  };
  const sent = {
    name: platform.originHeaderName,
    value: previous !== undefined && secret?.sendPrevious === true ? previous : current,
  };

  const taskDefinitions = siteTaskDefinitions(site, platform);
  const regions = spec.regions.map((region): DesiredRegion => {
    const split = splitTasks(
      decisions.regions[region.name]?.tasks ?? region.minTasks,
      canaryWeight,
      region.maxTasks,
    );
    const taskDefinition = (track: 'stable' | 'canary') => taskDefinitions[region.name]![track]!;
    const tracks: DesiredTrack[] = [
      {
        track: 'stable',
        service: serviceName(name, 'stable'),
        targetGroup: targetGroupName(name, 'stable'),
        taskDefinition: taskDefinition('stable'),
        desiredCount: split.stable,
        weight: 100 - canaryWeight,
      },
    ];
    if (spec.canary !== undefined) {
      tracks.push({
        track: 'canary',
        service: serviceName(name, 'canary'),
        targetGroup: targetGroupName(name, 'canary'),
        taskDefinition: taskDefinition('canary'),
        desiredCount: split.canary,
        weight: canaryWeight,
      });
    }
    const failed = decisions.regions[region.name]?.failedRollouts ?? [];
    return {
      region: region.name,
      role: region.role,
      tracks,
      header,
      healthCheckPath: spec.task.healthCheckPath,
      containerPort: spec.task.containerPort,
      ...(failed.length === 0 ? {} : { failedTaskDefinitions: failed.map((f) => f.taskDefinition) }),
    };
  });

  return {
    name,
    regions,
    distribution: desiredDistribution(
      site,
      platform,
      sent,
      decisions.httpsRules ?? [],
      decisions.originOrder,
    ),
  };
}

/**
 * One distribution per site. Its origin group fails over from the primary
 * region to the first failover region listed; further regions run as warm
 * standbys outside the CDN.
 */
function desiredDistribution(
  site: Site,
  platform: Platform,
  header: { name: string; value: string },
  httpsRules: readonly string[],
  order: OriginOrder | undefined,
): DistributionConfig {
  const { cdn, regions } = site.spec;
  const specPrimary = regions.find((r) => r.role === 'primary') ?? regions[0]!;
  const specFailover = regions.find((r) => r.role === 'failover');
  // The holder may ask the failover region first while the primary fails (decide/origin-order.ts).
  const swapped = specFailover !== undefined && order?.first === specFailover.name;
  const primary = swapped ? specFailover : specPrimary;
  const failover = swapped ? specPrimary : specFailover;
  const protocol = (region: string): Origin['protocol'] => {
    const where = platformRegion(platform, region);
    // HTTPS once the settings ask for it, the region's item says its HTTPS listener is there, and
    // the site's rule is on that listener; until then the HTTP listener, which always has the rule.
    const https = regionOriginProtocol(platform, where) === 'https-only' && httpsRules.includes(region);
    // An item from before both listeners: its one listener is HTTPS (with the rules) at
    // origin-<region>.<domain>, and it has no HTTP one until its platform stack is updated.
    const before = where.httpsListenerArn === undefined && /^origin-/i.test(where.loadBalancerDnsName);
    return https || (before && platform.originProtocol === 'https-only') ? 'https-only' : 'http-only';
  };
  const inCdn = failover === undefined ? [primary.name] : [primary.name, failover.name];
  const failoverNames = dnsFailoverNames(platform, inCdn, protocol);
  const origin = (region: string): Origin => {
    const where = platformRegion(platform, region);
    const connect = protocol(region);
    return {
      id: region,
      domainName:
        failoverNames?.[region] ??
        (connect === 'https-only' && where.httpsOriginName !== undefined
          ? where.httpsOriginName
          : where.loadBalancerDnsName),
      protocol: connect,
      connectionTimeoutSeconds: cdn.connectionTimeoutSeconds,
      connectionAttempts: cdn.connectionAttempts,
      responseTimeoutSeconds: cdn.responseTimeoutSeconds,
      customHeaders: { [header.name]: header.value },
    };
  };
  const origins = [origin(primary.name)];
  const config: DistributionConfig = {
    comment: distributionComment(site.metadata.name),
    enabled: true,
    aliases: [...cdn.aliases].sort(),
    priceClass: cdn.priceClass,
    origins,
    targetOriginId: primary.name,
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: cdn.defaultTtlSeconds,
  };
  if (cdn.certificateArn !== undefined) config.certificateArn = cdn.certificateArn;
  if (failover !== undefined) {
    origins.push(origin(failover.name));
    config.originGroup = {
      id: 'failover-group',
      primaryOriginId: primary.name,
      failoverOriginId: failover.name,
      statusCodes: [...cdn.failoverStatusCodes].sort((a, b) => a - b),
    };
    config.targetOriginId = 'failover-group';
  }
  return config;
}

/**
 * The DNS failover name each of the CDN's regions is reached by (model/dns-failover.ts), or
 * undefined to connect to each load balancer by its own name. A region's failover name resolves to
 * the other region while its own fails, so the names are used only when every region behind the CDN
 * has one (each region's certificate and records cover the others' names) and all are reached by
 * the same protocol (the site's rule is on that listener in every region).
 */
export function dnsFailoverNames(
  platform: Platform,
  regions: readonly string[],
  protocol: (region: string) => Origin['protocol'],
): Record<string, string> | undefined {
  const names = regions.map((region) => platformRegion(platform, region).failoverOriginName);
  if (names.some((name) => name === undefined)) return undefined;
  if (new Set(regions.map(protocol)).size > 1) return undefined;
  return Object.fromEntries(regions.map((region, i) => [region, names[i]!]));
}

function platformRegion(platform: Platform, region: string) {
  const where = platform.regions[region];
  if (where === undefined) throw new Error(`no platform in ${region}; check regionsWithoutPlatform first`);
  return where;
}
