import type { Tags } from '../model/tags.ts';
import type { Page } from './page.ts';

/** DescribeServices takes at most 10 services a call. */
export const DESCRIBE_SERVICES_MAX = 10;

/** A task definition as ListTaskDefinitions names it: its ARN, and the family and revision in it. */
export interface TaskDefinitionId {
  family: string;
  revision: number;
  arn: string;
}

/** A task definition with its tags (DescribeTaskDefinition's, with include TAGS). */
export interface TaskDefinitionRef extends TaskDefinitionId {
  tags: Tags;
}

/** What a task definition holds; its family is a digest of the rest (see naming.ts). */
export interface TaskDefinitionSpec {
  family: string;
  image: string;
  cpu: number;
  memory: number;
  /** The image's CPU architecture (ECS runtimePlatform.cpuArchitecture). */
  architecture: 'X86_64' | 'ARM64';
  containerPort: number;
  healthCheckPath: string;
  /** The container health check command (ECS `healthCheck.command`); none when undefined. */
  healthCheckCommand?: readonly string[];
  /** A read-only root filesystem, with /tmp a writable scratch volume. */
  readOnlyRootFilesystem: boolean;
  environment: Readonly<Record<string, string>>;
  executionRoleArn: string;
  taskRoleArn: string;
  logGroup: string;
}

export interface ServiceState {
  name: string;
  arn: string;
  /** ECS keeps a deleted service as DRAINING, then INACTIVE. */
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  /** Family of the task definition the primary deployment runs. */
  taskDefinition: string;
  /** Families every deployment of the service runs, the primary's included; more than one during a rollout. */
  deploymentFamilies: string[];
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  /**
   * True while a deployment (a new task definition or load balancer setting) is rolling out: more
   * than one deployment, or the primary one not yet completed. A desired-count change alone is not one.
   */
  rolloutInProgress: boolean;
  /**
   * Why ECS cannot start some of the desired tasks (its latest service event says it was unable to
   * place a task: no capacity, usually), while it cannot; undefined otherwise.
   */
  placementFailure?: string;
  /**
   * The newest deployment ECS marked FAILED, while ECS still lists it: its circuit breaker gave up
   * on the task definition's tasks and rolled the service back to the last completed deployment
   * (then `taskDefinition` is that one's), or, with none to go back to, left the service on it.
   */
  failedRollout?: FailedRollout;
  targetGroupArn?: string;
  tags: Tags;
}

/** A deployment ECS gave up on: the family it was to run, and ECS's reason (`rolloutStateReason`). */
export interface FailedRollout {
  taskDefinition: string;
  reason: string;
}

export interface ServiceCreate {
  name: string;
  taskDefinition: string;
  desiredCount: number;
  targetGroupArn: string;
  containerPort: number;
  subnets: readonly string[];
  securityGroups: readonly string[];
  assignPublicIp: boolean;
  tags: Tags;
}

export interface ServiceUpdate {
  desiredCount?: number;
  taskDefinition?: string;
  /** Moves the service's load balancer registration to this target group. */
  targetGroupArn?: string;
  containerPort?: number;
}

/** ECS in one region: task definitions and services of one cluster. */
export interface EcsPort {
  /**
   * The region's ACTIVE task definitions, one page, as ListTaskDefinitions
   * answers: ARNs only, no tags. `family` keeps one family's (AWS's
   * `familyPrefix`, which despite its name is a whole family name, not a
   * prefix); without it, every family's, tandem's or not.
   */
  listTaskDefinitions(
    region: string,
    options?: { family?: string; next?: string },
  ): Promise<Page<TaskDefinitionId>>;
  /** A task definition's tags: DescribeTaskDefinition with include TAGS, one call per task definition. */
  describeTaskDefinitionTags(region: string, arn: string): Promise<Tags>;
  registerTaskDefinition(region: string, spec: TaskDefinitionSpec, tags: Tags): Promise<TaskDefinitionRef>;
  deregisterTaskDefinition(region: string, arn: string): Promise<void>;
  /** At most DESCRIBE_SERVICES_MAX names; names that do not exist are left out of the answer. */
  describeServices(region: string, cluster: string, names: readonly string[]): Promise<ServiceState[]>;
  createService(region: string, cluster: string, create: ServiceCreate): Promise<ServiceState>;
  updateService(region: string, cluster: string, name: string, update: ServiceUpdate): Promise<void>;
  deleteService(region: string, cluster: string, name: string): Promise<void>;
}
