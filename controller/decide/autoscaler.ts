/**
 * The autoscaler's arithmetic, after Kubernetes' horizontal pod autoscaler:
 * `desired = ceil(current × observed / target)` with a tolerance band,
 * scale-out at once (bounded per step), scale-in only after a stabilization
 * window in which the highest recommendation wins. Pure: the caller keeps the
 * recommendation history (in status, so a stateless Lambda can apply windows).
 */

/**
 * A recommendation and when it began; it holds until the next one begins (the
 * newest until now). Runs instead of one entry per pass keep the history, and
 * so the status, unchanged while demand is.
 */
export interface Recommendation {
  /** Epoch milliseconds. */
  at: number;
  tasks: number;
}

export interface ScalingPolicy {
  /** Requests per task per minute to aim for. */
  targetRequestsPerTask: number;
  /** Average CPU percent to aim for. */
  targetCpuPercent: number;
  /** Relative deviation from a target within which nothing changes (0.1 = 10 %). */
  tolerance: number;
  scaleInStabilizationSeconds: number;
  /** Most tasks added in one decision. */
  maxScaleOutStep: number;
  minTasks: number;
  maxTasks: number;
}

export interface ScalingInput {
  now: number;
  /** Running tasks (not desired): what actually serves. */
  running: number;
  /** What the region is currently asked to run. */
  desired: number;
  /** Requests the region's target groups received in the last complete minute; undefined when missing. */
  requestsPerMinute?: number;
  /** Average CPU percent across the region's tasks; undefined when missing. */
  cpuPercent?: number;
  /** True while ECS is still replacing or starting tasks. */
  rolloutInProgress: boolean;
  /**
   * When scale-in was first held for a deployment in progress or tasks still starting (from
   * status). The hold lasts at most one stabilization window: a deployment that cannot finish,
   * say for want of capacity, must not pin the count above demand for ever.
   */
  heldSince?: number;
  /** A floor above minTasks, e.g. to carry a failed region's traffic. */
  floor?: number;
  /** Why the floor is there, for the message when it holds the count. */
  floorBecause?: string;
  /** Earlier recommendations as runs (see Recommendation); those that ended before the window are ignored. */
  history: readonly Recommendation[];
}

export interface ScalingDecision {
  tasks: number;
  /** What the metrics alone ask for, before the window, step and bounds; kept as history. */
  recommendation: number;
  /** CamelCase reason, for status and logs. */
  reason:
    | 'WithinTolerance'
    | 'ScaleOut'
    | 'ScaleOutLimitedByStep'
    | 'ScaleIn'
    | 'ScaleInStabilizing'
    | 'ScaleInHeldDuringRollout'
    | 'MetricsMissing'
    | 'AtMinimum'
    | 'AtMaximum';
  message: string;
  /** Set while a deployment in progress holds scale-in: when the hold began (kept in status). */
  heldSince?: number;
}

/** The tasks one metric asks for, or the current count within tolerance. */
export function metricRecommendation(
  current: number,
  observedPerTask: number,
  targetPerTask: number,
  tolerance: number,
): number {
  if (current === 0) return Math.ceil(observedPerTask / targetPerTask);
  const ratio = observedPerTask / targetPerTask;
  if (Math.abs(ratio - 1) <= tolerance) return current;
  return Math.ceil(current * ratio);
}

export function decideTasks(policy: ScalingPolicy, input: ScalingInput): ScalingDecision {
  const floor = Math.max(policy.minTasks, input.floor ?? 0);
  const ceiling = Math.max(policy.maxTasks, floor);
  const base = Math.max(input.running, 0);
  const candidates: number[] = [];
  if (measured(input.requestsPerMinute)) {
    // With no task running, demand alone says how many are needed.
    const perTask = base === 0 ? input.requestsPerMinute : input.requestsPerMinute / base;
    candidates.push(metricRecommendation(base, perTask, policy.targetRequestsPerTask, policy.tolerance));
  }
  if (measured(input.cpuPercent) && base > 0) {
    candidates.push(metricRecommendation(base, input.cpuPercent, policy.targetCpuPercent, policy.tolerance));
  }

  if (candidates.length === 0) {
    // Never scale in on missing data: hold what is asked for, within bounds.
    const tasks = clamp(input.desired, floor, ceiling);
    return {
      tasks,
      recommendation: tasks,
      reason: 'MetricsMissing',
      message: 'no request or CPU metrics; holding the current count',
    };
  }
  const recommendation = Math.max(...candidates);
  const stabilized = Math.max(
    recommendation,
    ...inWindow(policy, input.history, input.now).map((h) => h.tasks),
  );

  let tasks: number;
  let reason: ScalingDecision['reason'];
  let message: string;
  let heldSince: number | undefined;
  let held = false;
  if (stabilized > input.desired) {
    tasks = Math.min(stabilized, input.desired + policy.maxScaleOutStep);
    reason = tasks < stabilized ? 'ScaleOutLimitedByStep' : 'ScaleOut';
    message = `demand needs ${stabilized} task(s); ${tasks < stabilized ? `adding at most ${policy.maxScaleOutStep} a step` : 'scaling out now'}`;
  } else if (stabilized < input.desired) {
    // Tasks still starting count as a deployment in progress: their demand estimate is not settled.
    // Counted against what the bounds allow now: a count the spec's new maxTasks cut is not starting.
    const deploying = input.rolloutInProgress || input.running < clamp(input.desired, floor, ceiling);
    heldSince = deploying ? (input.heldSince ?? input.now) : undefined;
    const windowMs = policy.scaleInStabilizationSeconds * 1000;
    if (heldSince !== undefined && input.now - heldSince < windowMs) {
      held = true;
      tasks = input.desired;
      reason = 'ScaleInHeldDuringRollout';
      message = input.rolloutInProgress
        ? `demand needs ${stabilized} task(s), but a deployment is in progress`
        : `demand needs ${stabilized} task(s), but ${input.desired - input.running} of ${input.desired} task(s) are not running yet`;
    } else {
      tasks = stabilized;
      reason = 'ScaleIn';
      message =
        heldSince === undefined
          ? `demand has needed at most ${stabilized} task(s) for ${policy.scaleInStabilizationSeconds} s`
          : `demand needs ${stabilized} task(s); the deployment in progress has not finished in ${policy.scaleInStabilizationSeconds} s, so it no longer holds scale-in`;
    }
  } else {
    tasks = input.desired;
    reason = recommendation < stabilized ? 'ScaleInStabilizing' : 'WithinTolerance';
    message =
      reason === 'ScaleInStabilizing'
        ? `demand needs ${recommendation} task(s); holding ${stabilized} until the ${policy.scaleInStabilizationSeconds} s window passes`
        : `demand matches ${tasks} task(s)`;
  }

  const bounded = clamp(tasks, floor, ceiling);
  // At the floor with demand below it, say so (rather than "stabilizing" or "within tolerance").
  const restingAtFloor =
    bounded === floor &&
    bounded === input.desired &&
    stabilized <= floor &&
    reason !== 'ScaleInHeldDuringRollout';
  if (bounded > tasks || restingAtFloor) {
    reason = 'AtMinimum';
    const why =
      bounded > policy.minTasks && input.floorBecause !== undefined ? ` (${input.floorBecause})` : '';
    message = `held at the floor of ${bounded} task(s)${why}; demand needs ${recommendation}`;
  } else if (bounded < tasks) {
    reason = 'AtMaximum';
    message = `capped at maxTasks ${bounded}; demand needs ${tasks}`;
  }
  return { tasks: bounded, recommendation, reason, message, ...(held ? { heldSince } : {}) };
}

/** History to keep: the runs that reach into the window, and this recommendation when it starts a new run. */
export function nextHistory(
  policy: ScalingPolicy,
  history: readonly Recommendation[],
  now: number,
  recommendation: number,
): Recommendation[] {
  const kept = inWindow(policy, history, now);
  return kept.at(-1)?.tasks === recommendation ? kept : [...kept, { at: now, tasks: recommendation }];
}

/** The runs, oldest first, that had not ended when the window began. */
function inWindow(policy: ScalingPolicy, history: readonly Recommendation[], now: number): Recommendation[] {
  const windowStart = now - policy.scaleInStabilizationSeconds * 1000;
  const sorted = history.filter((h) => h.at <= now).sort((a, b) => a.at - b.at);
  return sorted.filter((_, i) => (sorted[i + 1]?.at ?? Infinity) > windowStart);
}

/** A metric that has a value: neither missing (undefined) nor NaN or infinite. */
function measured(value: number | undefined): value is number {
  return Number.isFinite(value);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
