import {
  ClientException,
  ClusterNotFoundException,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DeleteServiceCommand,
  type DeleteServiceCommandInput,
  type Deployment,
  DeregisterTaskDefinitionCommand,
  type DeregisterTaskDefinitionCommandInput,
  DescribeServicesCommand,
  type DescribeServicesCommandInput,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  ECSClient,
  InvalidParameterException,
  type LoadBalancer,
  ListTaskDefinitionsCommand,
  type ListTaskDefinitionsCommandInput,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  ServiceNotActiveException,
  ServiceNotFoundException,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { handleCommand, type InjectedFailure } from './handler.ts';

/** How ECS sees a target group when a service is to register into it. */
export type TargetGroupStatus = 'attached' | 'unattached' | 'missing';

export interface FakeEcsOptions {
  /** Cluster names per region; calls to any other cluster fail with ClusterNotFoundException. */
  clusters: Readonly<Record<string, readonly string[]>>;
  account?: string;
  /**
   * ECS checks a service's target group with ELB: it must exist and a load
   * balancer must already forward to it. Default: every target group is attached.
   */
  targetGroupStatus?: (region: string, arn: string) => TargetGroupStatus;
}

interface FakeTaskDefinition {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  body: Omit<RegisterTaskDefinitionCommandInput, 'tags'>;
  tags: Tag[];
}

interface FakeService {
  cluster: string;
  service: Service & { serviceName: string; serviceArn: string; status: string; deployments: Deployment[] };
}

interface RegionState {
  taskDefinitions: FakeTaskDefinition[];
  services: FakeService[];
}

/** ECS's documented limits the fake enforces. */
const LIST_MAX_RESULTS = 100;
const DESCRIBE_SERVICES_MAX = 10;
const TAGS_MAX = 50;

/**
 * A stateful ECS behind aws-sdk-client-mock, for exactly the commands tandem's
 * adapter sends. It follows the API reference where the adapter depends on it:
 * `familyPrefix` on ListTaskDefinitions is a whole family name, pages of at
 * most 100 with opaque tokens, at most 10 services per DescribeServices with
 * `failures` (reason MISSING) for unknown names, deployments that finish only
 * on `tick()`, DRAINING then INACTIVE after DeleteService, and the SDK's own
 * exception classes with ECS's messages.
 */
export class FakeEcs {
  readonly mock: AwsClientStub<ECSClient>;
  private readonly regions = new Map<string, RegionState>();
  private readonly failures: InjectedFailure[] = [];
  private readonly unhealthyImages = new Set<string>();
  private readonly account: string;
  private seq = 0;

  constructor(private readonly options: FakeEcsOptions) {
    this.account = options.account ?? '123456789012';
    for (const region of Object.keys(options.clusters))
      this.regions.set(region, { taskDefinitions: [], services: [] });
    this.mock = mockClient(ECSClient);
    this.mock.onAnyCommand().callsFake(() => {
      throw new Error('FakeEcs does not implement this command');
    });
    this.handle(ListTaskDefinitionsCommand, 'ListTaskDefinitions', (r, i) => this.listTaskDefinitions(r, i));
    this.handle(DescribeTaskDefinitionCommand, 'DescribeTaskDefinition', (r, i) =>
      this.describeTaskDefinition(r, i),
    );
    this.handle(RegisterTaskDefinitionCommand, 'RegisterTaskDefinition', (r, i) =>
      this.registerTaskDefinition(r, i),
    );
    this.handle(DeregisterTaskDefinitionCommand, 'DeregisterTaskDefinition', (r, i) =>
      this.deregisterTaskDefinition(r, i),
    );
    this.handle(DescribeServicesCommand, 'DescribeServices', (r, i) => this.describeServices(r, i));
    this.handle(CreateServiceCommand, 'CreateService', (r, i) => this.createService(r, i));
    this.handle(UpdateServiceCommand, 'UpdateService', (r, i) => this.updateService(r, i));
    this.handle(DeleteServiceCommand, 'DeleteService', (r, i) => this.deleteService(r, i));
  }

  /** Stops intercepting ECSClient#send. */
  restore(): void {
    this.mock.restore();
  }

  /**
   * Tasks of `image` never become healthy: each tick a deployment of them
   * fails as many tasks as it wants running, and once that reaches the circuit
   * breaker's threshold (half the desired count, 3 to 200) it fails and the
   * circuit breaker (with rollback) turns the service's last completed
   * deployment back into the primary.
   */
  failTasksOf(image: string): void {
    this.unhealthyImages.add(image);
  }

  /**
   * Time passes: rollouts complete (a rollback too, and ECS then stops listing
   * the deployment that failed), deployments of unhealthy tasks fail, and
   * draining services become INACTIVE.
   */
  tick(): void {
    for (const [region, state] of this.regions) {
      for (const { service } of state.services) {
        if (service.status === 'ACTIVE') {
          const current = service.deployments.find((d) => d.status === 'PRIMARY')!;
          if (current.rolloutState === 'FAILED') continue;
          if (current.rolloutState === 'IN_PROGRESS' && this.neverHealthy(region, current.taskDefinition)) {
            // Every task the deployment starts fails its health checks; ECS fails it at the threshold.
            const desired = current.desiredCount ?? 0;
            current.failedTasks = (current.failedTasks ?? 0) + Math.max(1, desired);
            if (current.failedTasks >= Math.min(200, Math.max(3, Math.ceil(0.5 * desired))))
              this.circuitBreak(service, current);
            continue;
          }
          const primary = service.deployments.find((d) => d.status === 'PRIMARY')!;
          primary.runningCount = primary.desiredCount;
          primary.pendingCount = 0;
          primary.rolloutState = 'COMPLETED';
          service.deployments = [primary];
          service.runningCount = service.desiredCount;
          service.pendingCount = 0;
        } else {
          service.status = 'INACTIVE';
          service.desiredCount = 0;
          service.runningCount = 0;
          service.pendingCount = 0;
          service.deployments = [];
        }
      }
    }
  }

  /**
   * The next `times` calls of `operation` (any operation when undefined) fail
   * with a fresh `error()`, before the fake looks at their input.
   */
  fail(operation: string | undefined, error: () => Error, times = 1): void {
    this.failures.push({ operation, error, remaining: times });
  }

  /** Services as ECS holds them in `region` (any cluster), for assertions. */
  services(region: string): readonly FakeService['service'][] {
    return this.state(region).services.map((s) => s.service);
  }

  /** Task definitions as ECS holds them, for assertions. */
  taskDefinitions(region: string): readonly FakeTaskDefinition[] {
    return this.state(region).taskDefinitions;
  }

  private neverHealthy(region: string, taskDefinition: string | undefined): boolean {
    const image = this.findTaskDefinition(region, taskDefinition)?.body.containerDefinitions?.[0]?.image;
    return image !== undefined && this.unhealthyImages.has(image);
  }

  /** The deployment fails; the last completed one, if any, becomes the primary again and rolls back. */
  private circuitBreak(service: FakeService['service'], failed: Deployment): void {
    failed.rolloutState = 'FAILED';
    failed.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    failed.runningCount = 0;
    failed.pendingCount = 0;
    const rollback = service.deployments.find((d) => d !== failed && d.rolloutState === 'COMPLETED');
    if (rollback === undefined) {
      service.runningCount = 0;
      service.pendingCount = 0;
      return;
    }
    failed.status = 'ACTIVE';
    rollback.status = 'PRIMARY';
    rollback.rolloutState = 'IN_PROGRESS';
    rollback.desiredCount = service.desiredCount ?? 0;
    service.deployments = [rollback, failed];
    service.taskDefinition = rollback.taskDefinition;
    service.runningCount = rollback.runningCount ?? 0;
    service.pendingCount = Math.max(0, (service.desiredCount ?? 0) - (service.runningCount ?? 0));
  }

  // ----- plumbing -----

  private handle<I extends object, O>(
    command: new (input: I) => { input: I },
    operation: string,
    body: (region: string, input: I) => O,
  ): void {
    handleCommand(this.mock, this.failures, command, operation, body);
  }

  private state(region: string): RegionState {
    const state = this.regions.get(region);
    if (state === undefined) throw new Error(`FakeEcs has no region ${region}`);
    return state;
  }

  private clusterName(region: string, cluster: string | undefined): string {
    const name = (cluster ?? 'default').split('/').at(-1)!;
    if (!(this.options.clusters[region] ?? []).includes(name))
      throw new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} });
    return name;
  }

  // ----- task definitions -----

  private listTaskDefinitions(region: string, input: ListTaskDefinitionsCommandInput) {
    const maxResults = input.maxResults ?? LIST_MAX_RESULTS;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > LIST_MAX_RESULTS)
      throw invalid('maxResults must be between 1 and 100.');
    const status = input.status ?? 'ACTIVE';
    // The API reference: familyPrefix is "the full family name", not a prefix.
    const matching = this.state(region)
      .taskDefinitions.filter(
        (td) =>
          td.status === status && (input.familyPrefix === undefined || td.family === input.familyPrefix),
      )
      .sort((a, b) => (a.family === b.family ? a.revision - b.revision : a.family < b.family ? -1 : 1));
    if (input.sort === 'DESC') matching.reverse();
    const query = `${status}|${input.familyPrefix ?? ''}|${input.sort ?? 'ASC'}`;
    const { items, next } = pageOf(matching, maxResults, input.nextToken, query, () =>
      invalid('Invalid nextToken.'),
    );
    return {
      taskDefinitionArns: items.map((td) => td.arn),
      ...(next === undefined ? {} : { nextToken: next }),
    };
  }

  private findTaskDefinition(region: string, ref: string | undefined): FakeTaskDefinition | undefined {
    const state = this.state(region);
    if (ref === undefined) return undefined;
    const short = ref.startsWith('arn:') ? ref.split('task-definition/')[1] : ref;
    if (short === undefined) return undefined;
    const [family, revision] = short.split(':');
    if (revision === undefined) {
      // A family alone means its latest ACTIVE revision.
      return state.taskDefinitions
        .filter((td) => td.family === family && td.status === 'ACTIVE')
        .sort((a, b) => b.revision - a.revision)[0];
    }
    return state.taskDefinitions.find((td) => td.family === family && td.revision === Number(revision));
  }

  private describeTaskDefinition(region: string, input: DescribeTaskDefinitionCommandInput) {
    const td = this.findTaskDefinition(region, input.taskDefinition);
    if (td === undefined) throw client('Unable to describe task definition.');
    return {
      taskDefinition: taskDefinitionOf(td),
      ...(input.include?.includes('TAGS') ? { tags: td.tags } : {}),
    };
  }

  private registerTaskDefinition(region: string, input: RegisterTaskDefinitionCommandInput) {
    const { tags = [], ...body } = input;
    if (input.family === undefined || !/^[A-Za-z0-9_-]{1,255}$/.test(input.family))
      throw client('Family contains invalid characters or is longer than 255 characters.');
    if ((input.containerDefinitions ?? []).length === 0) throw client('Container list cannot be empty.');
    for (const container of input.containerDefinitions ?? []) {
      if (container.name === undefined || container.image === undefined)
        throw client('Container.name and Container.image should not be null or empty.');
      for (const mapping of container.portMappings ?? []) {
        const port = mapping.containerPort ?? 0;
        if (port < 1 || port > 65535) throw client('Invalid containerPort.');
      }
    }
    if (input.requiresCompatibilities?.includes('FARGATE')) {
      if (input.networkMode !== 'awsvpc') throw client("Fargate only supports network mode 'awsvpc'.");
      if (input.cpu === undefined || input.memory === undefined)
        throw client('Fargate requires cpu and memory to be defined at the task level.');
      if (
        input.containerDefinitions?.some((c) => c.logConfiguration?.logDriver === 'awslogs') &&
        input.executionRoleArn === undefined
      )
        throw client(
          'Fargate requires task definition to have execution role ARN to support log driver awslogs.',
        );
    }
    checkTags(tags);
    const state = this.state(region);
    const revision =
      Math.max(
        0,
        ...state.taskDefinitions.filter((td) => td.family === input.family).map((td) => td.revision),
      ) + 1;
    const td: FakeTaskDefinition = {
      arn: `arn:aws:ecs:${region}:${this.account}:task-definition/${input.family}:${revision}`,
      family: input.family,
      revision,
      status: 'ACTIVE',
      body,
      tags,
    };
    state.taskDefinitions.push(td);
    return { taskDefinition: taskDefinitionOf(td), tags };
  }

  private deregisterTaskDefinition(region: string, input: DeregisterTaskDefinitionCommandInput) {
    const ref = input.taskDefinition ?? '';
    const short = ref.startsWith('arn:') ? (ref.split('task-definition/')[1] ?? '') : ref;
    if (!short.includes(':')) throw client('A revision must be specified: family:revision or the full ARN.');
    const td = this.findTaskDefinition(region, ref);
    if (td === undefined) throw client('Unable to describe task definition.');
    td.status = 'INACTIVE';
    return { taskDefinition: taskDefinitionOf(td) };
  }

  // ----- services -----

  private describeServices(region: string, input: DescribeServicesCommandInput) {
    const names = input.services ?? [];
    if (names.length === 0) throw invalid('Services cannot be empty.');
    if (names.length > DESCRIBE_SERVICES_MAX)
      throw invalid(`The number of services cannot be greater than ${DESCRIBE_SERVICES_MAX}.`);
    const cluster = this.clusterName(region, input.cluster);
    const withTags = input.include?.includes('TAGS') ?? false;
    const services: Service[] = [];
    const failures: { arn: string; reason: string }[] = [];
    for (const ref of names) {
      const found = this.findService(region, cluster, ref);
      if (found === undefined) {
        failures.push({ arn: this.serviceArn(region, cluster, ref.split('/').at(-1)!), reason: 'MISSING' });
        continue;
      }
      const { tags, ...rest } = found.service;
      services.push(withTags ? { ...rest, tags } : rest);
    }
    return { services, failures };
  }

  private findService(region: string, cluster: string, ref: string): FakeService | undefined {
    const name = ref.split('/').at(-1);
    // Names are reused after a service goes INACTIVE; the newest one answers.
    return this.state(region)
      .services.filter((s) => s.cluster === cluster && s.service.serviceName === name)
      .at(-1);
  }

  private serviceArn(region: string, cluster: string, name: string): string {
    return `arn:aws:ecs:${region}:${this.account}:service/${cluster}/${name}`;
  }

  private createService(region: string, input: CreateServiceCommandInput) {
    const cluster = this.clusterName(region, input.cluster);
    const name = input.serviceName ?? '';
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
      throw invalid('Service name may only contain letters, numbers, underscores and hyphens.');
    const existing = this.findService(region, cluster, name);
    if (existing?.service.status === 'ACTIVE') throw invalid('Creation of service was not idempotent.');
    if (existing?.service.status === 'DRAINING')
      throw invalid('Unable to Start a service that is still Draining.');
    const td = this.activeTaskDefinition(region, input.taskDefinition);
    const desiredCount = input.desiredCount ?? 0;
    if (!Number.isInteger(desiredCount) || desiredCount < 0)
      throw invalid('desiredCount must be a non-negative integer.');
    if (td.body.networkMode === 'awsvpc') {
      if ((input.networkConfiguration?.awsvpcConfiguration?.subnets ?? []).length === 0)
        throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    this.checkLoadBalancers(region, td, input.loadBalancers ?? []);
    checkTags(input.tags ?? []);
    const service: FakeService['service'] = {
      serviceArn: this.serviceArn(region, cluster, name),
      serviceName: name,
      clusterArn: `arn:aws:ecs:${region}:${this.account}:cluster/${cluster}`,
      loadBalancers: input.loadBalancers ?? [],
      status: 'ACTIVE',
      desiredCount,
      runningCount: 0,
      pendingCount: desiredCount,
      launchType: input.launchType,
      taskDefinition: td.arn,
      deploymentConfiguration: input.deploymentConfiguration,
      deployments: [this.deployment(td.arn, desiredCount)],
      networkConfiguration: input.networkConfiguration,
      healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds,
      schedulingStrategy: 'REPLICA',
      deploymentController: { type: 'ECS' },
      enableECSManagedTags: input.enableECSManagedTags ?? false,
      propagateTags: input.propagateTags ?? 'NONE',
      tags: input.tags ?? [],
    };
    this.state(region).services.push({ cluster, service });
    return { service };
  }

  private updateService(region: string, input: UpdateServiceCommandInput) {
    const cluster = this.clusterName(region, input.cluster);
    const found = this.findService(region, cluster, input.service ?? '');
    if (found === undefined)
      throw new ServiceNotFoundException({ message: 'Service not found.', $metadata: {} });
    const service = found.service;
    if (service.status !== 'ACTIVE')
      throw new ServiceNotActiveException({ message: 'Service was not ACTIVE.', $metadata: {} });
    const primary = service.deployments.find((d) => d.status === 'PRIMARY')!;
    let taskDefinitionArn = primary.taskDefinition!;
    if (input.taskDefinition !== undefined)
      taskDefinitionArn = this.activeTaskDefinition(region, input.taskDefinition).arn;
    if (input.loadBalancers !== undefined) {
      const td = this.findTaskDefinition(region, taskDefinitionArn)!;
      this.checkLoadBalancers(region, td, input.loadBalancers);
    }
    if (input.desiredCount !== undefined) {
      if (!Number.isInteger(input.desiredCount) || input.desiredCount < 0)
        throw invalid('desiredCount must be a non-negative integer.');
      service.desiredCount = input.desiredCount;
      primary.desiredCount = input.desiredCount;
      primary.pendingCount = Math.max(0, input.desiredCount - (primary.runningCount ?? 0));
      service.pendingCount = Math.max(0, input.desiredCount - (service.runningCount ?? 0));
    }
    const loadBalancersChanged =
      input.loadBalancers !== undefined &&
      JSON.stringify(input.loadBalancers) !== JSON.stringify(service.loadBalancers);
    if (taskDefinitionArn !== primary.taskDefinition || loadBalancersChanged || input.forceNewDeployment) {
      // A new deployment starts; the old one keeps its tasks until the new one is healthy.
      primary.status = 'ACTIVE';
      service.deployments.unshift(this.deployment(taskDefinitionArn, service.desiredCount ?? 0));
      service.taskDefinition = taskDefinitionArn;
      service.pendingCount = service.desiredCount;
    }
    if (input.loadBalancers !== undefined) service.loadBalancers = input.loadBalancers;
    const { tags: _tags, ...rest } = service;
    return { service: rest };
  }

  private deleteService(region: string, input: DeleteServiceCommandInput) {
    const cluster = this.clusterName(region, input.cluster);
    const found = this.findService(region, cluster, input.service ?? '');
    if (found === undefined)
      throw new ServiceNotFoundException({ message: 'Service not found.', $metadata: {} });
    const service = found.service;
    if (service.status !== 'ACTIVE')
      throw new ServiceNotActiveException({ message: 'Service was not ACTIVE.', $metadata: {} });
    if ((service.desiredCount ?? 0) > 0 && input.force !== true)
      throw invalid('The service cannot be stopped while it is scaled above 0.');
    service.status = 'DRAINING';
    const { tags: _tags, ...rest } = service;
    return { service: rest };
  }

  private activeTaskDefinition(region: string, ref: string | undefined): FakeTaskDefinition {
    const td = this.findTaskDefinition(region, ref);
    if (td === undefined) throw client('TaskDefinition not found.');
    if (td.status !== 'ACTIVE') throw client('TaskDefinition is inactive.');
    return td;
  }

  private checkLoadBalancers(region: string, td: FakeTaskDefinition, loadBalancers: readonly LoadBalancer[]) {
    for (const lb of loadBalancers) {
      const arn = lb.targetGroupArn ?? '';
      const status = this.options.targetGroupStatus?.(region, arn) ?? 'attached';
      if (status === 'missing')
        throw invalid(`Unable to assume role and validate the specified targetGroupArn: ${arn}.`);
      if (status === 'unattached')
        throw invalid(
          `The target group with targetGroupArn ${arn} does not have an associated load balancer.`,
        );
      const container = td.body.containerDefinitions?.find((c) => c.name === lb.containerName);
      if (container === undefined)
        throw invalid(`The container ${lb.containerName} does not exist in the task definition.`);
      if (!(container.portMappings ?? []).some((m) => m.containerPort === lb.containerPort))
        throw invalid(
          `The container ${lb.containerName} did not have a container port ${lb.containerPort} defined.`,
        );
    }
  }

  private deployment(taskDefinition: string, desiredCount: number): Deployment {
    this.seq += 1;
    return {
      id: `ecs-svc/${String(this.seq).padStart(19, '0')}`,
      status: 'PRIMARY',
      taskDefinition,
      desiredCount,
      pendingCount: desiredCount,
      runningCount: 0,
      rolloutState: desiredCount > 0 ? 'IN_PROGRESS' : 'COMPLETED',
      launchType: 'FARGATE',
    };
  }
}

function taskDefinitionOf(td: FakeTaskDefinition): TaskDefinition {
  const { family: _family, ...body } = td.body;
  return { ...body, taskDefinitionArn: td.arn, family: td.family, revision: td.revision, status: td.status };
}

function checkTags(tags: readonly Tag[]): void {
  if (tags.length > TAGS_MAX) throw invalid(`A resource can have at most ${TAGS_MAX} tags.`);
  for (const tag of tags) {
    const key = tag.key ?? '';
    if (key.length < 1 || key.length > 128 || (tag.value ?? '').length > 256)
      throw invalid('Tag keys are 1-128 characters and values at most 256.');
    if (key.toLowerCase().startsWith('aws:')) throw invalid('Tag keys may not start with aws:.');
  }
}

function invalid(message: string): InvalidParameterException {
  return new InvalidParameterException({ message, $metadata: { httpStatusCode: 400 } });
}

function client(message: string): ClientException {
  return new ClientException({ message, $metadata: { httpStatusCode: 400 } });
}

/**
 * One page of `items` from an opaque token. The token remembers the query it
 * belongs to, as AWS's do: reusing it with different parameters is an error.
 */
export function pageOf<T>(
  items: readonly T[],
  size: number,
  token: string | undefined,
  query: string,
  badToken: () => Error,
): { items: T[]; next?: string } {
  let start = 0;
  if (token !== undefined) {
    let decoded: { o?: unknown; q?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; q?: unknown };
    } catch {
      throw badToken();
    }
    if (decoded.q !== query || typeof decoded.o !== 'number') throw badToken();
    start = decoded.o;
  }
  const end = start + size;
  return end < items.length
    ? {
        items: items.slice(start, end),
        next: Buffer.from(JSON.stringify({ o: end, q: query })).toString('base64url'),
      }
    : { items: items.slice(start) };
}
