import {
  CreateServiceCommand,
  DeleteServiceCommand,
  type Deployment,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  type Tag,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { CloudError, type CloudErrorKind } from '../../errors.ts';
import type { Tags } from '../../model/tags.ts';
import type {
  EcsPort,
  ServiceCreate,
  ServiceState,
  ServiceUpdate,
  TaskDefinitionId,
  TaskDefinitionRef,
  TaskDefinitionSpec,
} from '../../ports/ecs.ts';
import type { Page } from '../../ports/page.ts';
import type { AwsClients } from './clients.ts';
import { fromAwsError } from './errors.ts';

/** The IAM service prefix, for error messages that name the permission to grant. */
const IAM_SERVICE = 'ecs';
/** ListTaskDefinitions answers at most 100 ARNs a page. */
const LIST_PAGE_SIZE = 100;
/** The one container of a tandem task; services register it with the load balancer by this name. */
const CONTAINER_NAME = 'site';
/**
 * The bind mount (the task's ephemeral storage) at /tmp when the root filesystem is read-only.
 * ECS makes it root's with mode 0755 unless the image's own /tmp says otherwise (Amazon ECS
 * Developer Guide, "Use bind mounts"), as most base images' 1777 /tmp does.
 */
const SCRATCH_VOLUME = 'tmp';
/** Seconds; a task is unhealthy after 3 failures in a row, not before 10 s after it started. */
const CONTAINER_HEALTH_CHECK = { interval: 10, timeout: 5, retries: 3, startPeriod: 10 };
/** ECS waits this long after a task starts before its load balancer health checks count. */
const HEALTH_CHECK_GRACE_SECONDS = 30;

const TASK_DEFINITION_ARN = /^arn:[^:]+:ecs:[^:]*:[^:]*:task-definition\/([A-Za-z0-9_-]{1,255}):(\d+)$/;
const SERVICE_STATUSES: ReadonlySet<string> = new Set(['ACTIVE', 'DRAINING', 'INACTIVE']);

/** ECS on AWS SDK v3: task definitions and services, one region per call. */
export class AwsEcs implements EcsPort {
  constructor(private readonly clients: AwsClients) {}

  /**
   * One page of the region's ACTIVE task definitions. ListTaskDefinitions'
   * `familyPrefix` is, despite its name, a whole family name ("the full family
   * name to filter the results with"): it is passed only for one family.
   * ECS has no prefix filter for task definitions, so a reader of every
   * `tandem-*` family lists them all and keeps its own.
   */
  async listTaskDefinitions(
    region: string,
    options: { family?: string; next?: string } = {},
  ): Promise<Page<TaskDefinitionId>> {
    const out = await this.call(region, 'ListTaskDefinitions', options.family ?? 'task definitions', (ecs) =>
      ecs.send(
        new ListTaskDefinitionsCommand({
          status: 'ACTIVE',
          maxResults: LIST_PAGE_SIZE,
          ...(options.family === undefined ? {} : { familyPrefix: options.family }),
          ...(options.next === undefined ? {} : { nextToken: options.next }),
        }),
      ),
    );
    return {
      items: (out.taskDefinitionArns ?? []).map((arn) => ({
        arn,
        ...parseTaskDefinitionArn(arn, 'ListTaskDefinitions'),
      })),
      ...(out.nextToken ? { next: out.nextToken } : {}),
    };
  }

  async describeTaskDefinitionTags(region: string, arn: string): Promise<Tags> {
    const out = await this.call(region, 'DescribeTaskDefinition', arn, (ecs) =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
    );
    return fromEcsTags(out.tags, 'DescribeTaskDefinition', arn);
  }

  async registerTaskDefinition(
    region: string,
    spec: TaskDefinitionSpec,
    tags: Tags,
  ): Promise<TaskDefinitionRef> {
    const out = await this.call(region, 'RegisterTaskDefinition', spec.family, (ecs) =>
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: spec.family,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: String(spec.cpu),
          memory: String(spec.memory),
          executionRoleArn: spec.executionRoleArn,
          taskRoleArn: spec.taskRoleArn,
          runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: spec.architecture },
          containerDefinitions: [
            {
              name: CONTAINER_NAME,
              image: spec.image,
              essential: true,
              portMappings: [{ containerPort: spec.containerPort, protocol: 'tcp' }],
              environment: Object.keys(spec.environment)
                .sort()
                .map((name) => ({ name, value: spec.environment[name]! })),
              logConfiguration: {
                logDriver: 'awslogs',
                options: {
                  'awslogs-group': spec.logGroup,
                  'awslogs-region': region,
                  'awslogs-stream-prefix': spec.family,
                },
              },
              readonlyRootFilesystem: spec.readOnlyRootFilesystem,
              ...(spec.readOnlyRootFilesystem
                ? { mountPoints: [{ sourceVolume: SCRATCH_VOLUME, containerPath: '/tmp', readOnly: false }] }
                : {}),
              // ECS runs no Dockerfile HEALTHCHECK; this is the one it runs.
              ...(spec.healthCheckCommand === undefined
                ? {}
                : { healthCheck: { command: [...spec.healthCheckCommand], ...CONTAINER_HEALTH_CHECK } }),
            },
          ],
          ...(spec.readOnlyRootFilesystem ? { volumes: [{ name: SCRATCH_VOLUME }] } : {}),
          tags: toEcsTags(tags),
        }),
      ),
    );
    const arn = out.taskDefinition?.taskDefinitionArn;
    if (arn === undefined)
      throw badResponse('RegisterTaskDefinition', spec.family, 'taskDefinition.taskDefinitionArn');
    return { arn, ...parseTaskDefinitionArn(arn, 'RegisterTaskDefinition'), tags };
  }

  async deregisterTaskDefinition(region: string, arn: string): Promise<void> {
    await this.call(
      region,
      'DeregisterTaskDefinition',
      arn,
      (ecs) => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })),
      // ECS answers a task definition it does not know with a generic ClientException.
      (error) =>
        isNamed(error, 'ClientException', /unable to describe task definition/i) ? 'NotFound' : undefined,
    );
  }

  /**
   * Names that do not exist come back as `failures` with reason MISSING and
   * are left out. Any other failure means the service could not be read, not
   * that it is absent, so it fails the call rather than invite a create.
   */
  async describeServices(region: string, cluster: string, names: readonly string[]): Promise<ServiceState[]> {
    if (names.length === 0) return [];
    const out = await this.call(region, 'DescribeServices', cluster, (ecs) =>
      ecs.send(new DescribeServicesCommand({ cluster, services: [...names], include: ['TAGS'] })),
    );
    const failure = (out.failures ?? []).find((f) => f.reason !== 'MISSING');
    if (failure !== undefined) {
      throw new CloudError(
        'Unavailable',
        failure.arn ?? cluster,
        `ecs:DescribeServices could not describe ${failure.arn ?? 'a service'}: ${failure.reason ?? 'no reason'}${failure.detail ? ` (${failure.detail})` : ''}`,
      );
    }
    return (out.services ?? []).map((service) => serviceState(service, 'DescribeServices', cluster));
  }

  async createService(region: string, cluster: string, create: ServiceCreate): Promise<ServiceState> {
    const out = await this.call(
      region,
      'CreateService',
      create.name,
      (ecs) =>
        ecs.send(
          new CreateServiceCommand({
            cluster,
            serviceName: create.name,
            taskDefinition: create.taskDefinition,
            desiredCount: create.desiredCount,
            launchType: 'FARGATE',
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: [...create.subnets],
                securityGroups: [...create.securityGroups],
                assignPublicIp: create.assignPublicIp ? 'ENABLED' : 'DISABLED',
              },
            },
            loadBalancers: [
              {
                targetGroupArn: create.targetGroupArn,
                containerName: CONTAINER_NAME,
                containerPort: create.containerPort,
              },
            ],
            healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
            deploymentConfiguration: {
              deploymentCircuitBreaker: { enable: true, rollback: true },
              minimumHealthyPercent: 100,
              maximumPercent: 200,
            },
            enableECSManagedTags: true,
            propagateTags: 'SERVICE',
            tags: toEcsTags(create.tags),
          }),
        ),
      // A name still in use (ACTIVE, or DRAINING after a delete) is a state
      // that passes, not bad input, though ECS calls it InvalidParameterException.
      (error) =>
        isNamed(error, 'InvalidParameterException', /not idempotent|still draining/i) ||
        isNotYetAttached(error)
          ? 'Conflict'
          : undefined,
    );
    if (out.service === undefined) throw badResponse('CreateService', create.name, 'service');
    const state = serviceState(out.service, 'CreateService', create.name);
    return out.service.tags === undefined ? { ...state, tags: create.tags } : state;
  }

  async updateService(region: string, cluster: string, name: string, update: ServiceUpdate): Promise<void> {
    const input: UpdateServiceCommandInput = { cluster, service: name };
    if (update.desiredCount !== undefined) input.desiredCount = update.desiredCount;
    if (update.taskDefinition !== undefined) input.taskDefinition = update.taskDefinition;
    if (update.targetGroupArn !== undefined) {
      if (update.containerPort === undefined)
        throw new CloudError('Invalid', name, 'moving a service to a target group needs its containerPort');
      input.loadBalancers = [
        {
          targetGroupArn: update.targetGroupArn,
          containerName: CONTAINER_NAME,
          containerPort: update.containerPort,
        },
      ];
    }
    await this.call(
      region,
      'UpdateService',
      name,
      (ecs) => ecs.send(new UpdateServiceCommand(input)),
      (error) => (isNotYetAttached(error) ? 'Conflict' : undefined),
    );
  }

  async deleteService(region: string, cluster: string, name: string): Promise<void> {
    await this.call(region, 'DeleteService', name, (ecs) =>
      ecs.send(new DeleteServiceCommand({ cluster, service: name })),
    );
  }

  /**
   * One SDK call with its error as a CloudError. `refine` may name a better
   * kind for an error whose AWS name alone is too coarse.
   */
  private async call<T>(
    region: string,
    operation: string,
    resource: string,
    send: (ecs: ECSClient) => Promise<T>,
    refine?: (error: unknown) => CloudErrorKind | undefined,
  ): Promise<T> {
    try {
      return await send(this.clients.ecs(region));
    } catch (error) {
      const mapped = fromAwsError(error, IAM_SERVICE, operation, resource);
      const kind = error instanceof CloudError ? undefined : refine?.(error);
      throw kind === undefined
        ? mapped
        : new CloudError(kind, mapped.resource, mapped.message, { cause: error });
    }
  }
}

/** The service event ECS writes when it cannot start a task: no Fargate capacity, no free address, ... */
const UNABLE_TO_PLACE = /was unable to place a task/;

function serviceState(service: Service, operation: string, resource: string): ServiceState {
  const name = service.serviceName;
  if (!name) throw badResponse(operation, resource, 'serviceName');
  const arn = service.serviceArn;
  if (!arn) throw badResponse(operation, name, 'serviceArn');
  const status = service.status;
  if (status === undefined || !SERVICE_STATUSES.has(status))
    throw badResponse(operation, name, 'a known status');
  if (!service.taskDefinition) throw badResponse(operation, name, 'taskDefinition');
  const family = parseTaskDefinitionArn(service.taskDefinition, operation).family;
  const deployments = [...(service.deployments ?? [])].sort(
    (a, b) => Number(b.status === 'PRIMARY') - Number(a.status === 'PRIMARY'),
  );
  const deploymentFamilies = [
    ...new Set(
      deployments.map((d) => {
        if (!d.taskDefinition) throw badResponse(operation, name, 'deployments[].taskDefinition');
        return parseTaskDefinitionArn(d.taskDefinition, operation).family;
      }),
    ),
  ];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const failed = newestFailed(deployments);
  const targetGroupArn = service.loadBalancers?.[0]?.targetGroupArn;
  // ECS lists a service's events newest first: while tasks are missing, the newest says whether it could not place them.
  const latest = service.events?.[0]?.message;
  const placementFailure =
    latest !== undefined &&
    UNABLE_TO_PLACE.test(latest) &&
    (service.runningCount ?? 0) < (service.desiredCount ?? 0)
      ? latest
      : undefined;
  return {
    name,
    arn,
    status: status as ServiceState['status'],
    taskDefinition: family,
    deploymentFamilies: deploymentFamilies.length > 0 ? deploymentFamilies : [family],
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    // As the port defines it: a deployment rolling out, not a desired count still being reached.
    rolloutInProgress: deployments.length > 1 || primary?.rolloutState === 'IN_PROGRESS',
    ...(placementFailure === undefined ? {} : { placementFailure }),
    ...(failed === undefined
      ? {}
      : {
          failedRollout: {
            taskDefinition: parseTaskDefinitionArn(failed.taskDefinition!, operation).family,
            reason: failed.rolloutStateReason || 'ECS marked the deployment FAILED',
          },
        }),
    ...(targetGroupArn === undefined ? {} : { targetGroupArn }),
    tags: fromEcsTags(service.tags, operation, name),
  };
}

/**
 * The deployment the circuit breaker failed, if ECS still lists one: while it rolls the service
 * back, the failed deployment stays beside the rollback (the new PRIMARY), rolloutState FAILED.
 */
function newestFailed(deployments: readonly Deployment[]): Deployment | undefined {
  return deployments
    .filter((d) => d.rolloutState === 'FAILED')
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
}

function parseTaskDefinitionArn(arn: string, operation: string): { family: string; revision: number } {
  const match = TASK_DEFINITION_ARN.exec(arn);
  if (match === null)
    throw badResponse(operation, arn, 'a task definition ARN (…:task-definition/family:revision)');
  return { family: match[1]!, revision: Number(match[2]) };
}

function toEcsTags(tags: Tags): Tag[] {
  return Object.keys(tags)
    .sort()
    .map((key) => ({ key, value: tags[key]! }));
}

function fromEcsTags(tags: readonly Tag[] | undefined, operation: string, resource: string): Tags {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.key === undefined) throw badResponse(operation, resource, 'tags[].key');
    out[tag.key] = tag.value ?? '';
  }
  return out;
}

/** An AWS answer is outside input too: one without a field tandem relies on is treated as a failed call. */
function badResponse(operation: string, resource: string, field: string): CloudError {
  return new CloudError('Unavailable', resource, `${IAM_SERVICE}:${operation} answered without ${field}`);
}

/**
 * ECS refuses a target group no listener forwards to, and for a few seconds
 * after the rule that forwards to it is created it still does (ELB's answer to
 * ECS lags). The planner creates the rule first, so this passes: the next
 * pass retries (and recreates the rule, were it really missing).
 */
function isNotYetAttached(error: unknown): boolean {
  return isNamed(error, 'InvalidParameterException', /does not have an associated load balancer/i);
}

function isNamed(error: unknown, name: string, message: RegExp): boolean {
  const e = error as { name?: unknown; message?: unknown } | null;
  return e?.name === name && typeof e.message === 'string' && message.test(e.message);
}
