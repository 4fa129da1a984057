import { CloudError } from '../../errors.ts';
import { DESCRIBE_SERVICES_MAX, type EcsPort, type ServiceState } from '../../ports/ecs.ts';
import { page, type SimContext } from './context.ts';
import { SIM_ACCOUNT, type SimRegion, type SimServiceTasks } from './world.ts';

const TD_PAGE = 100;

/**
 * ECS in the simulated cloud: task definitions and the services of the
 * platform's cluster. A deployment finishes only when time moves on
 * (SimulatedCloud.tick); like ECS, a service registers only into a target
 * group a listener already forwards to.
 */
export function simEcs(sim: SimContext): EcsPort {
  return {
    listTaskDefinitions: (region, options = {}) =>
      sim.call('ecs', 'ListTaskDefinitions', region, false, () =>
        page(
          sim
            .region(region)
            .taskDefinitions.filter(
              (td) => td.active && (options.family === undefined || td.family === options.family),
            )
            .map((td) => ({ family: td.family, revision: td.revision, arn: td.arn })),
          TD_PAGE,
          options.next,
        ),
      ),
    describeTaskDefinitionTags: (region, arn) =>
      sim.call('ecs', 'DescribeTaskDefinition', region, false, () => {
        // ECS describes an INACTIVE (deregistered) task definition too.
        const td = sim.region(region).taskDefinitions.find((t) => t.arn === arn);
        if (td === undefined)
          throw new CloudError('NotFound', arn, 'ClientException: unable to describe task definition');
        return td.tags;
      }),
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
 * The failed tasks after which ECS's deployment circuit breaker fails a deployment: half the
 * desired count, at least 3 and at most 200 (ServiceDeploymentCircuitBreaker.threshold).
 */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desiredCount)));
}

/** What the tasks of a region do this tick, as SimulatedCloud configures it. */
export interface TaskBehaviour {
  /** The tick now beginning (SimWorld.ticks). */
  tick: number;
  /** Whether tasks of the family never pass their health checks. */
  neverHealthy(family: string): boolean;
  /** How many running tasks of the family crash this tick. */
  crashes(family: string): number;
  /** Ticks a new target stays `initial` (initialTicks). */
  initialTicks: number;
}

/**
 * One reconcile interval of ECS deployments in a region, as the circuit
 * breaker with rollback (which tandem turns on) runs them, task by task:
 *
 * - the primary deployment's tasks start (a new deployment, a scale-out, the
 *   replacement of a crashed task) and register as targets, `initial` for
 *   `initialTicks`, then `healthy`; a deployment completes once all its
 *   tasks are healthy, and the previous deployment's tasks then stop;
 * - a deployment whose tasks never become healthy fails as many tasks an
 *   interval as it starts (the desired count); once that reaches the circuit
 *   breaker's threshold it fails and the service rolls back to its last
 *   completed deployment, which completes the interval after (ECS then stops
 *   listing the failed one). A service with no completed deployment stays on
 *   the failed one, no task running;
 * - outside a deployment, crashing tasks stop: the running count dips and ECS
 *   starts replacements, which run (as new, `initial` targets) the interval after.
 */
export function advanceDeployments(region: SimRegion, behaviour: TaskBehaviour): void {
  const completed = (region.completed ??= {});
  const allTasks = (region.tasks ??= {});
  for (const service of Object.values(region.services)) {
    if (service.status !== 'ACTIVE') continue;
    const tasks = (allTasks[service.name] ??= {
      targets:
        service.runningCount > 0 ? [{ family: service.taskDefinition, count: service.runningCount }] : [],
    });
    // Tasks stopped outside ECS's own bookkeeping (a region lost, a count changed by a test) are gone.
    trimTargets(tasks, service.runningCount);
    const family = service.taskDefinition;
    if (service.failedRollout?.taskDefinition === family && !service.rolloutInProgress) continue;
    if (behaviour.neverHealthy(family) && completed[service.name] !== family) {
      failTasks(service, tasks, completed[service.name]);
      continue;
    }
    delete tasks.failedTasks;
    startTasks(service, tasks, behaviour.tick);
    const healthy = healthyTargets(tasks, family, behaviour.tick, behaviour.initialTicks);
    if (service.rolloutInProgress && healthy < service.desiredCount) continue;
    // Complete: the previous deployment's tasks stop.
    tasks.targets = tasks.targets.filter((t) => t.family === family);
    service.runningCount = runningTasks(tasks);
    service.rolloutInProgress = false;
    service.deploymentFamilies = [family];
    delete service.failedRollout;
    completed[service.name] = family;
    crashTasks(service, tasks, behaviour.crashes(family));
  }
}

/** Healthy targets of a service (of `family`, or all), for CloudWatch's HealthyHostCount. */
export function healthyTargets(
  tasks: SimServiceTasks,
  family: string | undefined,
  tick: number,
  initialTicks: number,
): number {
  return tasks.targets
    .filter(
      (t) => (family === undefined || t.family === family) && (t.tick ?? -Infinity) + initialTicks <= tick,
    )
    .reduce((n, t) => n + t.count, 0);
}

/** The primary deployment's missing tasks start now; running then counts them (the old ones serve meanwhile). */
function startTasks(service: ServiceState, tasks: SimServiceTasks, tick: number): void {
  const family = service.taskDefinition;
  const running = tasks.targets.filter((t) => t.family === family).reduce((n, t) => n + t.count, 0);
  if (running < service.desiredCount)
    tasks.targets.push({ family, count: service.desiredCount - running, tick });
  else if (running > service.desiredCount) trimTargets(tasks, service.desiredCount, family);
  service.runningCount = runningTasks(tasks);
  service.pendingCount = 0;
}

/** Tasks that never pass their health checks: the deployment fails once the circuit breaker's threshold is reached. */
function failTasks(service: ServiceState, tasks: SimServiceTasks, previous: string | undefined): void {
  const family = service.taskDefinition;
  const failed = (tasks.failedTasks ?? 0) + Math.max(1, service.desiredCount);
  if (failed < circuitBreakerThreshold(service.desiredCount)) {
    tasks.failedTasks = failed;
    service.rolloutInProgress = true;
    return;
  }
  delete tasks.failedTasks;
  service.failedRollout = { taskDefinition: family, reason: CIRCUIT_BREAKER_REASON };
  service.pendingCount = 0;
  if (previous === undefined) {
    service.runningCount = 0;
    service.rolloutInProgress = false;
    service.deploymentFamilies = [family];
    tasks.targets = [];
  } else {
    // The old tasks kept serving (minimum healthy 100 %); the rollback is the new primary.
    service.taskDefinition = previous;
    service.runningCount = runningTasks(tasks);
    service.rolloutInProgress = true;
    service.deploymentFamilies = [previous, family];
  }
}

/** `count` running tasks crash (the oldest first): ECS deregisters them and starts replacements. */
function crashTasks(service: ServiceState, tasks: SimServiceTasks, count: number): void {
  const crashed = Math.min(count, service.runningCount);
  if (crashed <= 0) return;
  let left = crashed;
  for (const target of tasks.targets) {
    const n = Math.min(left, target.count);
    target.count -= n;
    left -= n;
  }
  tasks.targets = tasks.targets.filter((t) => t.count > 0);
  service.runningCount = runningTasks(tasks);
  service.pendingCount += crashed;
}

/** Keeps at most `count` targets (of `family`, or all), stopping the newest first. */
function trimTargets(tasks: SimServiceTasks, count: number, family?: string): void {
  let keep = count;
  tasks.targets = tasks.targets.flatMap((target) => {
    if (family !== undefined && target.family !== family) return [target];
    const n = Math.min(target.count, keep);
    keep -= n;
    return n > 0 ? [{ ...target, count: n }] : [];
  });
}

/** ECS's running count: every deployment's running tasks. */
function runningTasks(tasks: SimServiceTasks): number {
  return tasks.targets.reduce((n, t) => n + t.count, 0);
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
