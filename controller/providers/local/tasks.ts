import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { targetGroupDimension } from '../../model/naming.ts';
import type { ServiceState, TaskDefinitionSpec } from '../../ports/ecs.ts';
import type { SimRegion } from '../sim/world.ts';
import type { LocalMetrics } from './metrics.ts';
import type { LocalTarget } from './types.ts';

const SITE_SERVER = fileURLToPath(new URL('../../../containers/site/server.mjs', import.meta.url));
const WATCHDOG = fileURLToPath(new URL('./task-watchdog.mjs', import.meta.url));

/** ECS task states, as far as the local cloud models them. */
type TaskState = 'PROVISIONING' | 'RUNNING' | 'DRAINING';

interface LocalTask {
  id: string;
  service: string;
  family: string;
  version: string;
  child: ChildProcess;
  state: TaskState;
  /** Set once the process says it listens. */
  port?: number;
  healthy: boolean;
  passes: number;
  failures: number;
  cpu?: { ticks: number; at: number; percent?: number };
  startedAt: number;
  /** vCPU units of its task definition (1024 = one vCPU), for CPU utilization. */
  cpuUnits: number;
}

export interface TaskRuntimeOptions {
  region: string;
  /** The region's control plane: services and task definitions as the ECS API left them. */
  world: () => SimRegion;
  cluster: string;
  loadBalancerDimension: string;
  /**
   * Most tasks that run at once in the region; further tasks stay pending, as when Fargate has no
   * capacity, and their service says why. Undefined: as many as the services ask for.
   */
  maxTasks?: number;
  /** Marks every task's command line (`--tandem-run=<id>`), so leftovers can be found. */
  runId: string;
  metrics: LocalMetrics;
  log: Logger;
  /** Between health checks of each task; default 1000 ms. Healthy after 2 passes, unhealthy after 2 failures. */
  healthCheckIntervalMs?: number;
  /** A deregistered task keeps serving requests already sent to it this long, then gets SIGTERM; default 1000 ms. */
  deregistrationDelayMs?: number;
}

const HEALTHY_THRESHOLD = 2;
const UNHEALTHY_THRESHOLD = 2;
const STOP_TIMEOUT_MS = 10_000;
const CLOCK_TICKS_PER_SECOND = 100;
const CPU_SETTLE_MS = 10_000;

/**
 * One region's ECS scheduler and its ALB target health: each service's tasks
 * are real processes running `containers/site`, started and stopped to match
 * the desired count, rolled over to a new task definition without dropping
 * below the desired count of healthy tasks, and health-checked on the target
 * group's path. It writes back what ECS would report (running and pending
 * counts, deployments, whether a rollout is in progress).
 */
export class TaskRuntime {
  private readonly tasks = new Map<string, LocalTask>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set while the region is lost: its tasks are gone and none is started until it is back. */
  private halted = false;
  private readonly exited = new Set<Promise<void>>();

  constructor(private readonly options: TaskRuntimeOptions) {}

  start(): void {
    const interval = this.options.healthCheckIntervalMs ?? 1000;
    this.timer = setInterval(() => {
      this.converge();
      void this.checkHealth();
      this.recordMetrics();
    }, interval);
    this.converge();
  }

  /** Process ids of every task alive now (for tests that check nothing is left behind). */
  pids(): number[] {
    return [...this.tasks.values()].flatMap((t) => (t.child.pid === undefined ? [] : [t.child.pid]));
  }

  /** Targets in the target group that pass health checks and are not draining. */
  healthyTargets(targetGroupArn: string): LocalTarget[] {
    const services = this.options.world().services;
    return [...this.tasks.values()]
      .filter(
        (t) =>
          t.state === 'RUNNING' &&
          t.healthy &&
          t.port !== undefined &&
          services[t.service]?.status === 'ACTIVE' &&
          services[t.service]?.targetGroupArn === targetGroupArn,
      )
      .map((t) => ({ id: t.id, host: '127.0.0.1', port: t.port! }));
  }

  /** Starts and stops tasks so each service converges, and reports the counts back to the service. */
  converge(): void {
    if (this.stopping || this.halted) return;
    const region = this.options.world();
    for (const service of Object.values(region.services)) {
      if (service.status === 'ACTIVE') this.convergeService(region, service);
      else this.drainService(service);
    }
    // Tasks of services that no longer exist at all.
    for (const task of this.tasks.values()) {
      if (region.services[task.service] === undefined) this.drain(task);
    }
  }

  /**
   * Services converge in the order they were created, so under a `maxTasks` cap a service created
   * later never takes the slots of one running before it; a running task is never stopped to make room.
   */
  private convergeService(region: SimRegion, service: ServiceState): void {
    const live = this.live(service.name);
    const primary = live.filter((t) => t.family === service.taskDefinition);
    const old = live.filter((t) => t.family !== service.taskDefinition);
    const desired = service.desiredCount;
    const { maxTasks } = this.options;

    // Scale the primary deployment: surplus first from the unhealthy and newest.
    const kept = this.keep(primary, desired);
    let unplaced = 0;
    let full = false;
    const definition = activeDefinition(region, service.taskDefinition);
    for (let n = kept.length; n < desired; n += 1) {
      full ||= maxTasks !== undefined && this.regionTasks() >= maxTasks;
      if (definition === undefined || full) {
        unplaced += 1;
        continue;
      }
      kept.push(this.launch(service.name, definition));
    }
    if (full)
      service.placementFailure =
        `${unplaced} of ${desired} task(s) cannot be placed: ${this.options.region} ` +
        `runs at most ${maxTasks} tasks at once (tandem up --max-tasks ${maxTasks}), and every one is taken`;
    else delete service.placementFailure;

    // Old deployments keep serving until the new one has enough healthy tasks (minimum healthy 100 %).
    const healthyPrimary = kept.filter((t) => t.state === 'RUNNING' && t.healthy).length;
    this.keep(old, Math.max(0, desired - healthyPrimary));

    const after = this.live(service.name);
    service.runningCount = after.filter((t) => t.state === 'RUNNING').length;
    service.pendingCount = after.filter((t) => t.state === 'PROVISIONING').length + unplaced;
    service.deploymentFamilies = [
      service.taskDefinition,
      ...new Set(after.map((t) => t.family).filter((f) => f !== service.taskDefinition)),
    ];
    const completed = service.deploymentFamilies.length === 1 && healthyPrimary >= desired;
    if (completed) service.rolloutInProgress = false;
  }

  /** A deleted service (DRAINING): its tasks stop, then it is INACTIVE, as ECS does. */
  private drainService(service: ServiceState): void {
    delete service.placementFailure;
    const live = this.live(service.name);
    for (const task of live) this.drain(task);
    const remaining = [...this.tasks.values()].some((t) => t.service === service.name);
    if (service.status === 'DRAINING' && !remaining) {
      service.status = 'INACTIVE';
      service.desiredCount = 0;
    }
    service.runningCount = 0;
    service.pendingCount = 0;
  }

  /** Keeps `count` of the tasks, draining the rest (the unhealthy and newest first); returns those kept. */
  private keep(tasks: readonly LocalTask[], count: number): LocalTask[] {
    const ranked = [...tasks].sort(byDrainPreference);
    const surplus = Math.max(0, ranked.length - count);
    for (const task of ranked.slice(0, surplus)) this.drain(task);
    return ranked.slice(surplus);
  }

  private live(service: string): LocalTask[] {
    return [...this.tasks.values()].filter((t) => t.service === service && t.state !== 'DRAINING');
  }

  private regionTasks(): number {
    return this.tasks.size;
  }

  private launch(service: string, definition: TaskDefinitionSpec): LocalTask {
    this.seq += 1;
    const region = this.options.region;
    const id = `${service}-${region}-${this.seq}`;
    const version = imageTag(definition.image);
    const child = spawn(
      process.execPath,
      ['--import', WATCHDOG, SITE_SERVER, `--tandem-run=${this.options.runId}`],
      {
        env: {
          ...definition.environment,
          PATH: process.env['PATH'] ?? '',
          PORT: '0',
          HOST: '127.0.0.1',
          TANDEM_VERSION: version,
          TANDEM_REGION: region,
          TANDEM_TASK_ID: id,
          // The runtime deregisters a task before stopping it, so the task itself need not wait.
          TANDEM_DRAIN_DELAY_MS: '0',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group: a Ctrl-C in the terminal reaches the local cloud, which stops its
        // tasks in order, not every task at once behind its back.
        detached: true,
      },
    );
    const task: LocalTask = {
      id,
      service,
      family: definition.family,
      version,
      child,
      state: 'PROVISIONING',
      healthy: false,
      passes: 0,
      failures: 0,
      cpuUnits: definition.cpu,
      startedAt: performance.now(),
    };
    this.tasks.set(id, task);
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk.toString());
      if (stderr.length > 20) stderr.shift();
    });
    // Stdout is JSON lines; the first says which port the task listens on. Read on, or the pipe fills.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (task.port !== undefined || !line.includes('"listening"')) return;
      try {
        const event = JSON.parse(line) as { event?: string; port?: number };
        if (event.event === 'listening' && typeof event.port === 'number') {
          task.port = event.port;
          if (task.state === 'PROVISIONING') task.state = 'RUNNING';
        }
      } catch {
        // not an event line
      }
    });
    child.stdin?.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.tasks.delete(id);
        if (task.state !== 'DRAINING' && !this.stopping) {
          this.options.log.warn(
            { region, task: id, code, signal, stderr: stderr.join('').slice(-2000) },
            'task stopped unexpectedly; the service starts a replacement',
          );
        }
        resolve();
      });
      child.once('error', (error) => {
        this.options.log.error({ region, task: id, err: error.message }, 'task could not start');
        this.tasks.delete(id);
        resolve();
      });
    });
    this.exited.add(exited);
    void exited.then(() => this.exited.delete(exited));
    this.options.log.debug({ region, task: id, version }, 'task started');
    return task;
  }

  /** Deregisters the task from its target group at once, then stops it after the deregistration delay. */
  private drain(task: LocalTask): void {
    if (task.state === 'DRAINING') return;
    task.state = 'DRAINING';
    task.healthy = false;
    const delay = this.options.deregistrationDelayMs ?? 1000;
    setTimeout(() => stopProcess(task.child), this.stopping ? 0 : delay).unref();
  }

  /** Probes every running task on its target group's health check path. */
  private async checkHealth(): Promise<void> {
    const region = this.options.world();
    await Promise.all(
      [...this.tasks.values()].map(async (task) => {
        if (task.state !== 'RUNNING' || task.port === undefined) return;
        const service = region.services[task.service];
        const path =
          (service?.targetGroupArn === undefined
            ? undefined
            : region.targetGroups[service.targetGroupArn]?.healthCheckPath) ?? '/healthz';
        const ok = await probe(task.port, path);
        if (task.state !== 'RUNNING') return;
        if (ok) {
          task.failures = 0;
          task.passes += 1;
          if (task.passes >= HEALTHY_THRESHOLD) task.healthy = true;
        } else {
          task.passes = 0;
          task.failures += 1;
          if (task.failures >= UNHEALTHY_THRESHOLD) task.healthy = false;
        }
      }),
    );
  }

  /** Gauges CloudWatch would hold: healthy hosts per target group; tasks and CPU per service. */
  private recordMetrics(): void {
    const { region, cluster, loadBalancerDimension, metrics } = this.options;
    const world = this.options.world();
    for (const tg of Object.values(world.targetGroups)) {
      metrics.recordGauge(
        region,
        'AWS/ApplicationELB',
        'HealthyHostCount',
        { TargetGroup: targetGroupDimension(tg.arn), LoadBalancer: loadBalancerDimension },
        this.healthyTargets(tg.arn).length,
      );
    }
    for (const service of Object.values(world.services)) {
      if (service.status !== 'ACTIVE') continue;
      const dimensions = { ClusterName: cluster, ServiceName: service.name };
      metrics.recordGauge(
        region,
        'ECS/ContainerInsights',
        'RunningTaskCount',
        dimensions,
        service.runningCount,
      );
      metrics.recordGauge(
        region,
        'ECS/ContainerInsights',
        'DesiredTaskCount',
        dimensions,
        service.desiredCount,
      );
      // Node's start-up burns a few seconds of CPU: over CloudWatch's minute it averages out, over a
      // local period of seconds it would read as load, so a task's CPU counts once it has settled.
      const cpu = this.live(service.name).flatMap((t) => {
        const percent = sampleCpu(t);
        return percent === undefined || performance.now() - t.startedAt < CPU_SETTLE_MS ? [] : [percent];
      });
      if (cpu.length > 0)
        metrics.recordGauge(
          region,
          'AWS/ECS',
          'CPUUtilization',
          dimensions,
          cpu.reduce((a, b) => a + b, 0) / cpu.length,
        );
    }
  }

  /** The region is lost: every task dies at once, and none starts until `resume`. */
  halt(): void {
    this.halted = true;
    for (const task of this.tasks.values()) {
      task.state = 'DRAINING';
      task.healthy = false;
      task.child.kill('SIGKILL');
    }
  }

  /** The region is back: ECS starts the services' tasks again. */
  resume(): void {
    this.halted = false;
    this.converge();
  }

  /** Stops every task (SIGTERM, then SIGKILL after a timeout) and resolves once all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const task of this.tasks.values()) {
      task.state = 'DRAINING';
      stopProcess(task.child);
    }
    await Promise.all([...this.exited]);
  }
}

/** Surplus tasks to stop first: not yet healthy, then the newest. */
function byDrainPreference(a: LocalTask, b: LocalTask): number {
  if (a.healthy !== b.healthy) return a.healthy ? 1 : -1;
  return b.id.localeCompare(a.id, 'en', { numeric: true });
}

function activeDefinition(region: SimRegion, family: string): TaskDefinitionSpec | undefined {
  return region.taskDefinitions
    .filter((td) => td.family === family && td.active)
    .sort((a, b) => b.revision - a.revision)[0]?.spec;
}

/** The site's version is its image's tag: every image runs as `containers/site` locally. */
function imageTag(image: string): string {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(at + 1) : 'latest';
}

function stopProcess(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS).unref();
}

function probe(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** CPU used since the last sample, in percent of the task's vCPU share; undefined without /proc. */
function sampleCpu(task: LocalTask): number | undefined {
  const pid = task.child.pid;
  if (pid === undefined) return undefined;
  let ticks: number;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
  const now = performance.now();
  const previous = task.cpu;
  task.cpu = { ticks, at: now };
  if (previous === undefined || now <= previous.at) return undefined;
  const seconds = (ticks - previous.ticks) / CLOCK_TICKS_PER_SECOND;
  const share = Math.max(task.cpuUnits, 1) / 1024;
  task.cpu.percent = Math.min(100, (seconds / ((now - previous.at) / 1000) / share) * 100);
  return task.cpu.percent;
}
