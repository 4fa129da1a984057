import fc from 'fast-check';
import { CLOUDFRONT_FAILOVER_CODES, type SiteInput } from '../../controller/spec/schema.ts';
import { ownershipTags } from '../../controller/model/tags.ts';
import type { AwsRegion } from '../../controller/spec/regions.ts';
import type { SimulatedCloud } from '../../controller/providers/sim/cloud.ts';
import { SIM_REGIONS } from './world.ts';

const FARGATE_PAIRS = [
  [256, 512],
  [256, 2048],
  [512, 1024],
  [1024, 4096],
] as const;

/** A valid spec for `name` over the simulated regions: every field drawn at random. */
export function siteSpec(name: string): fc.Arbitrary<SiteInput> {
  return fc
    .record({
      tag: fc.constantFrom('v1', 'v2', 'v3'),
      canary: fc.option(
        fc.record({ tag: fc.constantFrom('v1', 'v2', 'v3', 'v4'), weight: fc.integer({ min: 0, max: 100 }) }),
        { nil: undefined },
      ),
      regionNames: fc.shuffledSubarray(SIM_REGIONS, { minLength: 1 }),
      counts: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })), {
        minLength: 3,
        maxLength: 3,
      }),
      size: fc.constantFrom(...FARGATE_PAIRS),
      healthCheckPath: fc.constantFrom('/healthz', '/health', '/'),
      codes: fc.subarray([...CLOUDFRONT_FAILOVER_CODES], { minLength: 1 }),
      timeout: fc.integer({ min: 1, max: 10 }),
      attempts: fc.integer({ min: 1, max: 3 }),
      ttl: fc.constantFrom(0, 60, 3600),
      priceClass: fc.constantFrom('PriceClass_100' as const, 'PriceClass_All' as const),
    })
    .map((r): SiteInput => {
      const canary = r.canary === undefined || r.canary.tag === r.tag ? undefined : r.canary;
      return {
        apiVersion: 'tandem.dev/v1',
        kind: 'Site',
        metadata: { name },
        spec: {
          image: { repository: 'public.ecr.aws/tandem/site', tag: r.tag },
          ...(canary === undefined ? {} : { canary }),
          regions: r.regionNames.map((region, i) => {
            const [min, extra] = r.counts[i]!;
            const minTasks = i === 0 ? Math.max(min, 1) : min;
            return {
              name: region as AwsRegion,
              role: i === 0 ? ('primary' as const) : ('failover' as const),
              minTasks,
              // A canary needs room for a stable task and a canary task.
              maxTasks: Math.max(minTasks, canary === undefined ? 1 : 2) + extra,
            };
          }),
          task: { cpu: r.size[0], memory: r.size[1], healthCheckPath: r.healthCheckPath },
          cdn: {
            failoverStatusCodes: r.codes,
            connectionTimeoutSeconds: r.timeout,
            connectionAttempts: r.attempts,
            defaultTtlSeconds: r.ttl,
            priceClass: r.priceClass,
          },
        },
      };
    });
}

/** One thing done to a converged world behind the reconciler's back. */
export type Drift =
  | { kind: 'deleteService' | 'scaleService' | 'retagService'; pick: number; count: number }
  | {
      kind: 'deleteTargetGroupAndRule' | 'changeHealthCheck' | 'changeWeights' | 'duplicateRule';
      pick: number;
      count: number;
    }
  | {
      kind: 'deleteDistribution' | 'disableDistribution' | 'changeTimeout' | 'duplicateDistribution';
      pick: number;
      count: number;
    }
  | { kind: 'deregisterTaskDefinitions' | 'foreignResources'; pick: number; count: number };

export const drift: fc.Arbitrary<Drift[]> = fc.array(
  fc.record({
    kind: fc.constantFrom(
      'deleteService',
      'scaleService',
      'retagService',
      'deleteTargetGroupAndRule',
      'changeHealthCheck',
      'changeWeights',
      'duplicateRule',
      'deleteDistribution',
      'disableDistribution',
      'changeTimeout',
      'duplicateDistribution',
      'deregisterTaskDefinitions',
      'foreignResources',
    ),
    pick: fc.nat(),
    count: fc.integer({ min: 0, max: 9 }),
  }) as fc.Arbitrary<Drift>,
  { maxLength: 6 },
);

/**
 * Applies drift straight to the simulated world: missing resources, extra
 * ones, and resources whose settings no longer match.
 */
export function applyDrift(sim: SimulatedCloud, site: string, drifts: readonly Drift[]): void {
  const regions = Object.entries(sim.world.regions);
  for (const d of drifts) {
    const [regionName, region] = regions[d.pick % regions.length]!;
    const services = Object.values(region.services).filter((s) => s.status === 'ACTIVE');
    const service = services[d.pick % Math.max(services.length, 1)];
    const rules = Object.values(region.rules);
    const rule = rules[d.pick % Math.max(rules.length, 1)];
    const groups = Object.values(region.targetGroups);
    const group = groups[d.pick % Math.max(groups.length, 1)];
    const distributions = Object.values(sim.world.distributions);
    const distribution = distributions[d.pick % Math.max(distributions.length, 1)];
    switch (d.kind) {
      case 'deleteService':
        if (service) delete region.services[service.name];
        break;
      case 'scaleService':
        if (service) Object.assign(service, { desiredCount: d.count, runningCount: d.count });
        break;
      case 'retagService': {
        const other = region.taskDefinitions.find((t) => t.active && t.family !== service?.taskDefinition);
        if (service && other)
          Object.assign(service, { taskDefinition: other.family, deploymentFamilies: [other.family] });
        break;
      }
      case 'deleteTargetGroupAndRule':
        if (group) {
          for (const r of rules)
            if (r.forward.some((f) => f.targetGroupArn === group.arn)) delete region.rules[r.arn];
          delete region.targetGroups[group.arn];
        }
        break;
      case 'changeHealthCheck':
        if (group) group.healthCheckPath = '/drifted';
        break;
      case 'changeWeights':
        if (rule)
          rule.forward = rule.forward.map((f, i) => ({ ...f, weight: i === 0 ? d.count : 100 - d.count }));
        break;
      case 'duplicateRule':
        if (rule) {
          const arn = `${rule.arn}-copy${d.count}`;
          region.rules[arn] = { ...structuredClone(rule), arn, priority: 1000 + d.count + d.pick };
        }
        break;
      case 'deleteDistribution':
        if (distribution) delete sim.world.distributions[distribution.id];
        break;
      case 'disableDistribution':
        if (distribution) distribution.config = { ...distribution.config, enabled: false };
        break;
      case 'changeTimeout':
        if (distribution)
          distribution.config = {
            ...distribution.config,
            origins: distribution.config.origins.map((o) => ({
              ...o,
              connectionTimeoutSeconds: 10 - (d.count % 10),
            })),
          };
        break;
      case 'duplicateDistribution':
        if (distribution) {
          const id = `EDUP${d.pick}${d.count}`;
          sim.world.distributions[id] = {
            ...structuredClone(distribution),
            id,
            arn: `arn:aws:cloudfront::000000000000:distribution/${id}`,
          };
        }
        break;
      case 'deregisterTaskDefinitions':
        for (const td of region.taskDefinitions) td.active = false;
        break;
      case 'foreignResources': {
        // Someone else's resources in the same account: never to be touched.
        const arn = `arn:aws:elasticloadbalancing:${regionName}:000000000000:targetgroup/foreign-${d.count}/f${d.pick}`;
        region.targetGroups[arn] = {
          arn,
          name: `foreign-${d.count}`,
          port: 80,
          healthCheckPath: '/',
          vpcId: 'vpc-x',
          tags: { team: 'other' },
        };
        region.services[`foreign-${d.count}`] = {
          name: `foreign-${d.count}`,
          arn: `arn:aws:ecs:${regionName}:000000000000:service/tandem/foreign-${d.count}`,
          status: 'ACTIVE',
          taskDefinition: 'foreign',
          deploymentFamilies: ['foreign'],
          desiredCount: 2,
          runningCount: 2,
          pendingCount: 0,
          rolloutInProgress: false,
          tags: { ...ownershipTags('someone-else'), team: 'other' },
        };
        break;
      }
    }
  }
}
