import { CloudError } from '../../errors.ts';
import { DESCRIBE_SERVICES_MAX, type EcsPort, type ServiceState } from '../../ports/ecs.ts';
import { page, type SimContext } from './context.ts';
import { SIM_ACCOUNT, type SimRegion } from './world.ts';

const TD_PAGE = 100;

/**
 * ECS in the simulated cloud: task definitions and the services of the
 * platform's cluster. A deployment finishes only when time moves on
 * (SimulatedCloud.tick); like ECS, a service registers only into a target
 * group a listener already forwards to.
 */
export function simEcs(sim: SimContext): EcsPort {
  return {
    listTaskDefinitions: (region, familyPrefix, next) =>
      sim.call('ecs', 'ListTaskDefinitions', region, false, () =>
        page(
          sim
            .region(region)
            .taskDefinitions.filter((td) => td.active && td.family.startsWith(familyPrefix))
            .map((td) => ({ family: td.family, revision: td.revision, arn: td.arn, tags: td.tags })),
          TD_PAGE,
          next,
        ),
      ),
    registerTaskDefinition: (region, spec, tags) =>
      sim.call('ecs', 'RegisterTaskDefinition', region, true, () => {
        const r = sim.region(region);
        const revision =
          Math.max(
            0,
            ...r.taskDefinitions.filter((td) => td.family === spec.family).map((td) => td.revision),
          ) + 1;
        const arn = `arn:aws:ecs:${region}:${SIM_ACCOUNT}:task-definition/${spec.family}:${revision}`;
        r.taskDefinitions.push({ family: spec.family, revision, arn, spec, tags, active: true });
        return { family: spec.family, revision, arn, tags };
      }),
    deregisterTaskDefinition: (region, arn) =>
      sim.call('ecs', 'DeregisterTaskDefinition', region, true, () => {
        const td = sim.region(region).taskDefinitions.find((t) => t.arn === arn && t.active);
        if (td === undefined)
          throw new CloudError('NotFound', arn, 'task definition not found or already inactive');
        td.active = false;
      }),
    describeServices: (region, cluster, names) =>
      sim.call('ecs', 'DescribeServices', region, false, () => {
        if (names.length > DESCRIBE_SERVICES_MAX)
          throw new CloudError('Invalid', 'DescribeServices', 'at most 10 services per call');
        checkCluster(sim, region, cluster);
        const services = sim.region(region).services;
        return names.flatMap((name) => (services[name] === undefined ? [] : [services[name]]));
      }),
    createService: (region, cluster, create) =>
      sim.call('ecs', 'CreateService', region, true, () => {
        checkCluster(sim, region, cluster);
        const r = sim.region(region);
        const existing = r.services[create.name];
        if (existing !== undefined && existing.status !== 'INACTIVE') {
          throw new CloudError(
            'Conflict',
            create.name,
            `Creation of service ${create.name} was not idempotent: it exists`,
          );
        }
        checkFamily(r, create.taskDefinition);
        if (!Object.values(r.targetGroups).some((tg) => tg.arn === create.targetGroupArn)) {
          throw new CloudError('Invalid', create.targetGroupArn, 'target group does not exist');
        }
        checkAttached(r, create.targetGroupArn);
        const service: ServiceState = {
          name: create.name,
          arn: `arn:aws:ecs:${region}:${SIM_ACCOUNT}:service/${cluster}/${create.name}`,
          status: 'ACTIVE',
          taskDefinition: create.taskDefinition,
          deploymentFamilies: [create.taskDefinition],
          desiredCount: create.desiredCount,
          runningCount: 0,
          pendingCount: create.desiredCount,
          rolloutInProgress: create.desiredCount > 0,
          targetGroupArn: create.targetGroupArn,
          tags: create.tags,
        };
        r.services[create.name] = service;
        return service;
      }),
    updateService: (region, cluster, name, update) =>
      sim.call('ecs', 'UpdateService', region, true, () => {
        checkCluster(sim, region, cluster);
        const r = sim.region(region);
        const service = r.services[name];
        if (service === undefined || service.status !== 'ACTIVE')
          throw new CloudError('NotFound', name, 'ServiceNotActiveException');
        if (update.taskDefinition !== undefined) {
          checkFamily(r, update.taskDefinition);
          if (update.taskDefinition !== service.taskDefinition) service.rolloutInProgress = true;
          service.taskDefinition = update.taskDefinition;
          service.deploymentFamilies = [...new Set([update.taskDefinition, ...service.deploymentFamilies])];
        }
        if (update.targetGroupArn !== undefined) {
          if (r.targetGroups[update.targetGroupArn] === undefined)
            throw new CloudError('Invalid', update.targetGroupArn, 'target group does not exist');
          checkAttached(r, update.targetGroupArn);
          service.targetGroupArn = update.targetGroupArn;
          service.rolloutInProgress = true;
        }
        if (update.desiredCount !== undefined) {
          service.desiredCount = update.desiredCount;
          service.pendingCount = Math.max(0, update.desiredCount - service.runningCount);
        }
      }),
    deleteService: (region, cluster, name) =>
      sim.call('ecs', 'DeleteService', region, true, () => {
        checkCluster(sim, region, cluster);
        const service = sim.region(region).services[name];
        if (service === undefined || service.status !== 'ACTIVE')
          throw new CloudError('NotFound', name, 'ServiceNotFoundException');
        if (service.desiredCount > 0) {
          throw new CloudError('Invalid', name, 'The service cannot be stopped while it is scaled above 0');
        }
        service.status = 'DRAINING';
      }),
  };
}

/** What ECS says when its deployment circuit breaker gives up on a task definition. */
export const CIRCUIT_BREAKER_REASON = 'ECS deployment circuit breaker: tasks failed to start.';

/**
 * One reconcile interval of ECS deployments in a region, as the circuit
 * breaker with rollback (which tandem turns on) runs them: a deployment whose
 * tasks become healthy completes; one whose tasks never do (`unhealthy`)
 * fails, and the service rolls back to its last completed deployment, which
 * completes the interval after (ECS then stops listing the failed one). A
 * service with no completed deployment stays on the failed one, no task running.
 */
export function advanceDeployments(region: SimRegion, unhealthy: (family: string) => boolean): void {
  const completed = (region.completed ??= {});
  for (const service of Object.values(region.services)) {
    if (service.status !== 'ACTIVE') continue;
    const family = service.taskDefinition;
    if (service.failedRollout?.taskDefinition === family && !service.rolloutInProgress) continue;
    if (unhealthy(family) && completed[service.name] !== family) {
      const previous = completed[service.name];
      service.failedRollout = { taskDefinition: family, reason: CIRCUIT_BREAKER_REASON };
      service.pendingCount = 0;
      if (previous === undefined) {
        service.runningCount = 0;
        service.rolloutInProgress = false;
        service.deploymentFamilies = [family];
      } else {
        // The old tasks kept serving (minimum healthy 100 %); the rollback is the new primary.
        service.taskDefinition = previous;
        service.runningCount = service.desiredCount;
        service.rolloutInProgress = true;
        service.deploymentFamilies = [previous, family];
      }
      continue;
    }
    service.runningCount = service.desiredCount;
    service.pendingCount = 0;
    service.rolloutInProgress = false;
    service.deploymentFamilies = [family];
    delete service.failedRollout;
    completed[service.name] = family;
  }
}

function checkCluster(sim: SimContext, region: string, cluster: string): void {
  if (sim.platform.regions[region]?.cluster !== cluster)
    throw new CloudError('NotFound', cluster, 'ClusterNotFoundException');
}

/** ECS registers a service only into a target group that a listener already forwards to. */
function checkAttached(region: SimRegion, targetGroupArn: string): void {
  if (
    !Object.values(region.rules).some((rule) => rule.forward.some((f) => f.targetGroupArn === targetGroupArn))
  )
    // A state that passes, as the AWS adapter reads it: the next pass creates the rule first.
    throw new CloudError(
      'Conflict',
      targetGroupArn,
      'InvalidParameterException: the target group does not have an associated load balancer',
    );
}

function checkFamily(region: SimRegion, family: string): void {
  if (!region.taskDefinitions.some((td) => td.family === family && td.active)) {
    throw new CloudError('Invalid', family, `ClientException: no ACTIVE task definition in family ${family}`);
  }
}
