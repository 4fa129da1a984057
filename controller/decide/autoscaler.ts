/**
 * The autoscaler's arithmetic, after Kubernetes' horizontal pod autoscaler:
 * `desired = ceil(current × observed / target)` with a tolerance band,
 * scale-out at once (bounded per step), scale-in only after a stabilization
 * window in which the highest recommendation wins. Pure: the caller keeps the
 * recommendation history (in status, so a stateless Lambda can apply windows).
 *
 * Two changes against flapping on noisy load, both measured in
 * `npm run bench -- scaling` (docs/performance.md): demand is the mean of the
 * newest datapoints unless the newest is a jump (see demandEstimate), and
 * scale-in waits until every recommendation of SCALE_IN_GATE_WINDOWS windows
 * was below the count, as target tracking's scale-in alarm waits for 15 of 15
 * datapoints; it then goes to the highest recommendation of the last window.
 */

/** Minutes ahead a forecast must expect fewer tasks for scale-in to follow it (decide/forecast.ts). */
export const QUIET_MINUTES = 15;

/** Datapoints averaged into the demand estimate. */
export const DEMAND_DATAPOINTS = 5;
/** A newest datapoint this many times the mean of the others is a jump, acted on alone and at once. */
export const JUMP_RATIO = 1.5;
/** Scale-in waits until the recommendations of this many stabilization windows were all below the count. */
export const SCALE_IN_GATE_WINDOWS = 3;

/**
 * The requests per minute to scale for: the mean of the newest DEMAND_DATAPOINTS
 * (newest first), so one noisy minute neither adds nor removes tasks; but the
 * newest alone when it is JUMP_RATIO × that mean or more, so a jump is met on the
 * first datapoint that shows it. Undefined without datapoints.
 */
export function demandEstimate(recent: readonly number[]): number | undefined {
  const points = recent.slice(0, DEMAND_DATAPOINTS).filter((r) => Number.isFinite(r));
  if (points.length === 0) return undefined;
  const mean = points.reduce((a, b) => a + b, 0) / points.length;
  return points[0]! >= JUMP_RATIO * mean ? points[0]! : mean;
}

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
  /** Running tasks: what actually serves (the CPU metric is theirs). */
  running: number;
  /** What the region is currently asked to run. */
  desired: number;
  /** Requests the region's target groups received in the last complete minute; undefined when missing. */
  requestsPerMinute?: number;
  /**
   * The newest published minutes' requests, newest first (its first is requestsPerMinute); when
   * given, demand is their demandEstimate rather than the newest minute alone.
   */
  recentRequestsPerMinute?: readonly number[];
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
  /** The reason to report when this floor, above minTasks, holds the count (default AtMinimum). */
  floorReason?: 'Scheduled';
  /**
   * Tasks the seasonal forecast (decide/forecast.ts) expects to need over the next minutes. It
   * joins the metrics' recommendation, never above maxTasks, and so is kept in the history and
   * lets go through the same scale-in gate: a forecast that dips for a minute is no reason to
   * remove tasks.
   */
  forecast?: { tasks: number; because: string; rising: boolean; quietTasks?: number };
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
    | 'ScaleOutConfirming'
    | 'ScaleOutLimitedByStep'
    | 'ScaleIn'
    | 'ScaleInStabilizing'
    | 'ScaleInHeldDuringRollout'
    | 'MetricsMissing'
    | 'AtMinimum'
    | 'AtMaximum'
    | 'Scheduled'
    | 'Forecast';
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
  // Tasks asked for but not running (starting, or replacing ones that crashed) share the demand
  // with those that run, as Kubernetes' autoscaler counts missing pods at no load: the demand is
  // judged against the count the region is asked for, so a task replaced for a minute does not
  // push demand out of tolerance (and the count up). Outside the tolerance it makes no difference:
  // the recommendation is the whole demand over the target either way.
  const running = Math.max(input.running, 0);
  const base = Math.max(running, input.desired, 0);
  const candidates: number[] = [];
  // The series smooths the newest minute; without a newest minute, metrics are missing.
  const demand =
    input.requestsPerMinute === undefined ||
    input.recentRequestsPerMinute === undefined ||
    input.recentRequestsPerMinute.length === 0
      ? input.requestsPerMinute
      : demandEstimate(input.recentRequestsPerMinute);
  // With no task asked for, demand alone says how many are needed.
  const forRequests = (requests: number) =>
    metricRecommendation(
      base,
      base === 0 ? requests : requests / base,
      policy.targetRequestsPerTask,
      policy.tolerance,
    );
  if (demand !== undefined && Number.isFinite(demand)) candidates.push(forRequests(demand));
  const cpu: number[] = [];
  if (input.cpuPercent !== undefined && Number.isFinite(input.cpuPercent) && running > 0) {
    // The running tasks' CPU, spread over the base (missing tasks at no load).
    const perTask = (input.cpuPercent * running) / base;
    cpu.push(metricRecommendation(base, perTask, policy.targetCpuPercent, policy.tolerance));
  }
  candidates.push(...cpu);

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
  const measured = Math.max(...candidates);
  // The newest datapoint alone (and CPU), for when the forecast has said a drop is no noise.
  const newest =
    input.requestsPerMinute !== undefined && Number.isFinite(input.requestsPerMinute)
      ? Math.max(forRequests(input.requestsPerMinute), ...cpu)
      : measured;
  const forecastTasks =
    input.forecast === undefined ? undefined : Math.min(input.forecast.tasks, policy.maxTasks);
  // Only a forecast jump leads, and only one the forecast foresees as a rise: the reactive loop
  // follows gradual change well enough, a forecast within the noise of the measure would only add
  // tasks and flaps, and one that expects more than the measure without a rise (the last hour
  // again after a step down) is contradicted by the present.
  const forecastLeads =
    forecastTasks !== undefined &&
    input.forecast!.rising &&
    forecastTasks >= JUMP_RATIO * Math.max(measured, 1);
  const recommendation = forecastLeads ? forecastTasks : measured;
  const stabilized = Math.max(
    recommendation,
    ...inWindow(policy, input.history, input.now).map((h) => h.tasks),
  );
  // Scale-in only once the longer gate saw nothing at or above the count.
  const gate = Math.max(
    recommendation,
    ...inWindow(policy, input.history, input.now, SCALE_IN_GATE_WINDOWS).map((h) => h.tasks),
  );

  let tasks: number;
  let reason: ScalingDecision['reason'];
  let message: string;
  let heldSince: number | undefined;
  let held = false;
  // A small rise scales out once two datapoints in a row ask for it; a jump (or the forecast's) at once.
  const previous = input.history
    .filter((h) => h.at < input.now)
    .reduce<Recommendation | undefined>((a, h) => (a === undefined || h.at > a.at ? h : a), undefined);
  const confirmed =
    forecastLeads ||
    recommendation >= JUMP_RATIO * Math.max(input.desired, 1) ||
    (previous !== undefined && previous.tasks > input.desired);
  // After a drop the forecast foresaw, the mean still carries the load that ended: while the
  // forecast expects no more than the count and the newest datapoint asks for no more, hold.
  const lagging =
    !forecastLeads &&
    input.forecast?.quietTasks !== undefined &&
    input.forecast.quietTasks <= input.desired &&
    newest <= input.desired;
  // Scale out while the newest recommendation is above the count: a count the forecast lowered
  // below older recommendations in the window is not raised back by them.
  if (lagging && recommendation > input.desired) {
    tasks = input.desired;
    reason = 'Forecast';
    message = `${input.forecast!.because}: at most ${input.forecast!.quietTasks} task(s) needed for the next ${QUIET_MINUTES} min and ${newest} by the newest datapoint; the average of ${measured} still holds the load that ended`;
  } else if (stabilized > input.desired && recommendation > input.desired && !confirmed) {
    tasks = input.desired;
    reason = 'ScaleOutConfirming';
    message = `demand needs ${recommendation} task(s) on one datapoint; scaling out when the next agrees (at once on a jump of ${JUMP_RATIO}×)`;
  } else if (stabilized > input.desired && recommendation > input.desired) {
    tasks = Math.min(stabilized, input.desired + policy.maxScaleOutStep);
    reason = tasks < stabilized ? 'ScaleOutLimitedByStep' : forecastLeads ? 'Forecast' : 'ScaleOut';
    message =
      reason === 'Forecast'
        ? `${input.forecast!.because} needs ${stabilized} task(s) where the metrics need ${measured}; scaling out ahead`
        : `demand needs ${stabilized} task(s); ${tasks < stabilized ? `adding at most ${policy.maxScaleOutStep} a step` : 'scaling out now'}`;
  } else if (
    // A forecast that expects the quiet level for the whole gate ahead says a drop is no noise once
    // both the newest datapoint and the average show it (the newest alone dips on noise, and a
    // season that missed a step up expects the old level); it then scales in to what both need.
    input.forecast?.quietTasks !== undefined &&
    input.forecast.quietTasks < input.desired &&
    newest < input.desired &&
    measured < input.desired &&
    !input.rolloutInProgress &&
    input.running >= clamp(input.desired, floor, ceiling)
  ) {
    // The forecast says the drop is no noise, so the newest datapoint alone says what is needed now.
    tasks = Math.max(newest, input.forecast.quietTasks);
    reason = 'Forecast';
    message = `${input.forecast.because}: at most ${input.forecast.quietTasks} task(s) needed for the next ${QUIET_MINUTES} min and ${measured} now`;
  } else if (stabilized < input.desired && gate < input.desired) {
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
  } else if (forecastLeads && recommendation >= input.desired) {
    tasks = input.desired;
    reason = 'Forecast';
    message = `${input.forecast!.because} needs ${recommendation} task(s) where the metrics need ${measured}`;
  } else {
    tasks = input.desired;
    reason = recommendation < input.desired ? 'ScaleInStabilizing' : 'WithinTolerance';
    message =
      reason === 'ScaleInStabilizing'
        ? `demand needs ${recommendation} task(s); holding ${input.desired} until ${SCALE_IN_GATE_WINDOWS} × ${policy.scaleInStabilizationSeconds} s have needed fewer`
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
    reason = bounded > policy.minTasks ? (input.floorReason ?? 'AtMinimum') : 'AtMinimum';
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
  const kept = inWindow(policy, history, now, SCALE_IN_GATE_WINDOWS);
  return kept.at(-1)?.tasks === recommendation ? kept : [...kept, { at: now, tasks: recommendation }];
}

/** The runs, oldest first, that had not ended when the window (or `windows` of them) began. */
function inWindow(
  policy: ScalingPolicy,
  history: readonly Recommendation[],
  now: number,
  windows = 1,
): Recommendation[] {
  const windowStart = now - windows * policy.scaleInStabilizationSeconds * 1000;
  const sorted = history.filter((h) => h.at <= now).sort((a, b) => a.at - b.at);
  return sorted.filter((_, i) => (sorted[i + 1]?.at ?? Infinity) > windowStart);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
