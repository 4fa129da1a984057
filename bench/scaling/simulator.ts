import { MetricStream } from './metrics.ts';
import type { RegionModel } from './model.ts';
import type { Policy } from './policy.ts';
import { pick, seededRandom } from '../../controller/random.ts';

/** A change of the desired count. */
export interface ScalingAction {
  minute: number;
  from: number;
  to: number;
  reason: string;
}

/** Per-minute record of one run, for timelines and tests. */
export interface MinuteRecord {
  demand: number;
  /** Requests of the newest datapoint the policy could read, if any. */
  seen: number | undefined;
  desired: number;
  healthy: number;
  /** Started tasks (healthy or starting): what is paid for. */
  started: number;
  reason: string;
}

export interface RunResult {
  /**
   * Missing capacity, in task-minutes: Σ over minutes of max(0, demand / C − healthy).
   * Positive exactly in the minutes that break the SLO (demand / healthy > C).
   */
  overloadedTaskMinutes: number;
  /** Minutes with demand / healthy tasks > C. */
  violationMinutes: number;
  /** Σ over minutes of started tasks, healthy or not: the cost. */
  taskMinutes: number;
  /** Changes of the desired count. */
  scalingActions: number;
  actions: ScalingAction[];
  minutes: MinuteRecord[];
}

/**
 * Runs one policy over one trace in the model's region. Deterministic: the
 * n-th task any policy starts gets the same start delay.
 */
export function simulate(
  requests: readonly number[],
  policy: Policy,
  model: RegionModel,
  initialTasks: number,
): RunResult {
  const bound = (n: number) => Math.min(Math.max(n, model.minTasks), model.maxTasks);
  const random = seededRandom(model.seed);
  const metrics = new MetricStream(model.metricDelayMinutes);
  let desired = bound(initialTasks);
  let healthy = desired;
  /** Minute from which each starting task serves. */
  let starting: number[] = [];
  const result: RunResult = {
    overloadedTaskMinutes: 0,
    violationMinutes: 0,
    taskMinutes: 0,
    scalingActions: 0,
    actions: [],
    minutes: [],
  };

  for (let minute = 0; minute < requests.length; minute += 1) {
    const ready = starting.filter((at) => at <= minute).length;
    if (ready > 0) {
      healthy += ready;
      starting = starting.filter((at) => at > minute);
    }

    const view = metrics.viewAt(minute);
    const decision = policy.decide({
      minute,
      desired,
      healthy,
      started: healthy + starting.length,
      metrics: view,
    });
    if (!Number.isInteger(decision.tasks)) {
      throw new RangeError(`minute ${minute}: the policy asked for ${decision.tasks} tasks`);
    }
    const next = bound(decision.tasks);
    if (next !== desired) {
      result.scalingActions += 1;
      result.actions.push({ minute, from: desired, to: next, reason: decision.reason });
    }
    desired = next;
    let surplus = healthy + starting.length - desired;
    for (; surplus < 0; surplus += 1) starting.push(minute + pick(random, model.startDelayMinutes));
    if (surplus > 0) {
      // ECS stops tasks that are still starting before ones that serve; the latest first.
      starting.sort((a, b) => a - b);
      const fromStarting = Math.min(surplus, starting.length);
      starting = starting.slice(0, starting.length - fromStarting);
      healthy -= surplus - fromStarting;
    }

    const demand = requests[minute]!;
    const started = healthy + starting.length;
    const shortfall = demand / model.capacityPerTask - healthy;
    if (shortfall > 0) {
      result.overloadedTaskMinutes += shortfall;
      result.violationMinutes += 1;
    }
    result.taskMinutes += started;
    result.minutes.push({
      demand,
      seen: view.latest()?.requests,
      desired,
      healthy,
      started,
      reason: decision.reason,
    });
    metrics.record(minute, demand, healthy);
  }
  return result;
}
