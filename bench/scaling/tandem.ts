import * as v from 'valibot';
import {
  DEMAND_DATAPOINTS,
  decideTasks,
  nextHistory,
  type Recommendation,
  type ScalingInput,
  type ScalingPolicy,
} from '../../controller/decide/autoscaler.ts';
import {
  buildForecast,
  COMPARE_MINUTES,
  type Forecast,
  forecastFloor,
  HORIZON_MINUTES,
  type MinuteSeries,
  TODAY_MINUTES,
} from '../../controller/decide/forecast.ts';
import { scheduledFloor, type ScheduleWindow } from '../../controller/decide/schedule.ts';
import type { MetricView } from './metrics.ts';
import { SiteSchema } from '../../controller/spec/schema.ts';
import type { Policy } from './policy.ts';

/** Epoch of minute 0: any instant works, the autoscaler only compares times. */
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** The spec's `scaling` section with every default filled in. */
export const SPEC_SCALING_DEFAULTS = v.parse(SiteSchema.entries.spec.entries.scaling, undefined);

/**
 * The autoscaler policy a spec with default `scaling` gives a region, mapped
 * as `controller/decide/site.ts` maps it; `overrides` stand for fields a user
 * could set in the spec.
 */
export function tandemScalingPolicy(
  bounds: { minTasks: number; maxTasks: number },
  overrides: Partial<Omit<ScalingPolicy, 'minTasks' | 'maxTasks'>> = {},
): ScalingPolicy {
  return {
    targetRequestsPerTask: SPEC_SCALING_DEFAULTS.targetRequestsPerTaskPerMinute,
    targetCpuPercent: SPEC_SCALING_DEFAULTS.targetCpuPercent,
    tolerance: SPEC_SCALING_DEFAULTS.tolerance,
    scaleInStabilizationSeconds: SPEC_SCALING_DEFAULTS.scaleInStabilizationSeconds,
    maxScaleOutStep: SPEC_SCALING_DEFAULTS.maxScaleOutStep,
    ...bounds,
    ...overrides,
  };
}

/** What a spec could add to the defaults. */
export interface TandemOptions {
  /** `scaling.schedule`, with the bench's one region named BENCH_REGION. */
  schedule?: ScheduleWindow[];
  /** Forecast from the metric's own history, read every FORECAST_EVERY_MINUTES as the reconciler reads it. */
  forecast?: boolean;
}

/** How often the reconciler reads the history and rebuilds the forecast. */
export const FORECAST_EVERY_MINUTES = 60;

/** The region the bench's schedules name. */
export const BENCH_REGION = 'us-east-1';

/** The declared events' floor, bounded as decide/site.ts bounds it. */
function scheduled(
  policy: ScalingPolicy,
  schedule: readonly ScheduleWindow[] | undefined,
  now: number,
): Pick<ScalingInput, 'floor' | 'floorBecause' | 'floorReason'> {
  const floor = scheduledFloor(schedule, BENCH_REGION, now);
  if (floor === undefined) return {};
  return {
    floor: Math.min(Math.max(floor.tasks, policy.minTasks), policy.maxTasks),
    floorBecause: floor.because,
    floorReason: 'Scheduled',
  };
}

function optionalForecast(forecast: ScalingInput['forecast']): Pick<ScalingInput, 'forecast'> {
  return forecast === undefined ? {} : { forecast };
}

/** The history the reconciler reads once an hour: today's last two hours, and a span a day and a week earlier. */
function readForecast(metrics: MetricView, minute: number): Forecast | undefined {
  const series = (from: number, count: number): MinuteSeries => ({
    from: T0 + from * 60_000,
    requests: Array.from({ length: count }, (_, i) => {
      const m = from + i;
      if (metrics.newestMinute === undefined || m < 0 || m > metrics.newestMinute) return undefined;
      return metrics.at(m)?.requests;
    }),
  });
  const span = (shift: number) => series(minute - shift - COMPARE_MINUTES, COMPARE_MINUTES + HORIZON_MINUTES);
  const DAY = 24 * 60;
  return buildForecast({
    now: T0 + minute * 60_000,
    today: series(minute - TODAY_MINUTES, TODAY_MINUTES),
    ...(minute >= DAY ? { dayAgo: span(DAY) } : {}),
    ...(minute >= 7 * DAY ? { weekAgo: span(7 * DAY) } : {}),
  });
}

/**
 * As observe.ts reads: the last DEMAND_DATAPOINTS + 1 periods before now, of
 * which all but the newest are published; the newest point found is the
 * request count, and with none, metrics are missing.
 */

/**
 * tandem's autoscaler as the reconciler runs it once a minute: running tasks,
 * the request counts its read finds, no rollout, and the recommendation
 * history carried from pass to pass (not extended when metrics are missing).
 */
export function tandemPolicy(policy: ScalingPolicy, options: TandemOptions = {}): Policy {
  let history: Recommendation[] = [];
  let heldSince: number | undefined;
  let forecast: Forecast | undefined;
  let forecastAt = -Infinity;
  return {
    decide(view) {
      const now = T0 + view.minute * 60_000;
      if (options.forecast === true && view.minute - forecastAt >= FORECAST_EVERY_MINUTES) {
        forecastAt = view.minute;
        forecast = readForecast(view.metrics, view.minute);
      }
      const recent = view.metrics.recent(DEMAND_DATAPOINTS).map((p) => p.requests);
      const decision = decideTasks(policy, {
        now,
        running: view.healthy,
        desired: view.desired,
        ...(recent.length === 0 ? {} : { requestsPerMinute: recent[0]!, recentRequestsPerMinute: recent }),
        rolloutInProgress: false,
        ...scheduled(policy, options.schedule, now),
        ...optionalForecast(forecastFloor(forecast, now, policy.targetRequestsPerTask)),
        ...(heldSince === undefined ? {} : { heldSince }),
        history,
      });
      // Kept between minutes as the reconciler keeps it in status.
      heldSince = decision.heldSince;
      if (decision.reason !== 'MetricsMissing') {
        history = nextHistory(policy, history, now, decision.recommendation);
      }
      return { tasks: decision.tasks, reason: `${decision.reason} (needs ${decision.recommendation})` };
    },
  };
}
