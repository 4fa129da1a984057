/**
 * A seasonal forecast from the request metric's own history, which CloudWatch
 * keeps at one-minute resolution for 15 days: the same minutes one hour, one
 * day and one week earlier, scaled by how today compares with that hour or day
 * so far. It gives a
 * floor for the minutes ahead, so a load that recurs (a job every hour, the
 * morning rise) finds its tasks already serving when it arrives, which no
 * reactive policy on a two-minute-old metric can do. Pure: the reconciler
 * reads the history (once an hour per target group) and keeps the forecast in
 * status.
 */

import { JUMP_RATIO, QUIET_MINUTES } from './autoscaler.ts';

const MINUTE = 60_000;
export const HOUR_MS = 60 * MINUTE;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

/** Minutes of today compared with the same minutes of the earlier day. */
export const COMPARE_MINUTES = 60;
/** Minutes a forecast covers from when it is made: an hour, and the lead beyond it. */
export const HORIZON_MINUTES = 65;
/** A floor is raised this many minutes before the forecast load: a task takes one or two to serve. */
export const LEAD_MINUTES = 1;
/**
 * Minutes before its read a forecast also holds, what the seasons expected
 * then: a forecast leads the metrics only on a rise it foresees against them
 * (see forecastFloor), so it must know what it expected just before.
 */
export const LOOKBACK_MINUTES = 5;
/** A forecast peak this many times what it expected over the lookback is a rise (autoscaler's JUMP_RATIO). */
export const RISE_RATIO = JUMP_RATIO;
/**
 * Minutes of today read: the compared minutes (the last hour), and the two
 * hours before now from the lookback on, which the hourly season repeats.
 */
export const TODAY_MINUTES = 2 * (HOUR_MS / MINUTE) + LOOKBACK_MINUTES;
/** Enough history: at least this share of the compared minutes and of the horizon have datapoints. */
export const MIN_COVERAGE = 0.5;
/** The most a season may miss today's compared minutes by (median absolute error over median) and count. */
export const MAX_FIT_ERROR = 0.1;
/** How far today may be scaled against the earlier day; beyond it the day is too unlike to forecast from. */
export const RATIO_LIMITS = [0.25, 4] as const;

/** Request counts per minute from `from` (epoch ms, whole minute); undefined where there was no datapoint. */
export interface MinuteSeries {
  from: number;
  requests: readonly (number | undefined)[];
}

export interface ForecastInput {
  /** Epoch milliseconds of the read; the forecast starts at its minute. */
  now: number;
  /**
   * Today's last TODAY_MINUTES minutes, up to now. Its last hour is both what
   * each season is compared with and the hourly season ahead; a shorter series
   * (say only the last COMPARE_MINUTES) leaves the hourly season out.
   */
  today: MinuteSeries;
  /** One day earlier: COMPARE_MINUTES before now − 1 day to HORIZON_MINUTES after it. */
  dayAgo?: MinuteSeries;
  /** One week earlier, the same span. */
  weekAgo?: MinuteSeries;
}

/**
 * What the reconciler keeps in status: requests per minute expected from
 * `from`, LOOKBACK_MINUTES before the read, to HORIZON_MINUTES after it.
 */
export interface Forecast {
  from: number;
  requests: (number | null)[];
  /** Which seasons it came from and how they were scaled, for describe. */
  basis: string;
}

/**
 * The forecast for the HORIZON_MINUTES from now, or undefined without enough
 * history. The seasons are an hour, a day and a week earlier. Each season
 * with enough datapoints is scaled by the median of today's compared minutes
 * over the median of its own (a median, so a spike in either does not scale
 * the rest), and counts only if, so scaled, it foretold today's compared
 * minutes. The hourly season (a job every hour) expects what both of the last
 * two hours had at the same minute, the last as it was (those minutes are
 * today's already): a burst in one hour only is no job. With several seasons
 * each minute takes the lowest, so a spike in one's history that another lacks
 * (a one-off) raises no floor.
 */
export function buildForecast(input: ForecastInput): Forecast | undefined {
  const start = Math.floor(input.now / MINUTE) * MINUTE;
  const todayValues = window(input.today, start - COMPARE_MINUTES * MINUTE, COMPARE_MINUTES);
  // Each season: its series, and how far back each repeat it expects again lies (the first is the
  // one compared with today); the hourly season expects what both of the last two hours had.
  const seasons = (
    [
      ['1 hour', input.today, [HOUR_MS, 2 * HOUR_MS]],
      ['1 day', input.dayAgo, [DAY_MS]],
      ['1 week', input.weekAgo, [WEEK_MS]],
    ] as const
  ).flatMap(([name, series, shifts]) => {
    if (series === undefined) return [];
    const shift = shifts[0];
    const compared = window(series, start - shift - COMPARE_MINUTES * MINUTE, COMPARE_MINUTES);
    const pairs = compared.flatMap((v, i) =>
      v === undefined || todayValues[i] === undefined ? [] : [[todayValues[i]!, v] as const],
    );
    if (pairs.length < MIN_COVERAGE * COMPARE_MINUTES) return [];
    const then = median(pairs.map(([, v]) => v));
    if (then <= 0) return [];
    const ratio = median(pairs.map(([t]) => t)) / then;
    if (ratio < RATIO_LIMITS[0] || ratio > RATIO_LIMITS[1]) return [];
    // A season counts only if, scaled, it foretold today's compared minutes: one day's one-off
    // spike, or history as noisy as its level, is no season.
    const error = median(pairs.map(([t, v]) => Math.abs(t - ratio * v))) / median(pairs.map(([t]) => t));
    if (error > MAX_FIT_ERROR) return [];
    // Each minute expected from the lookback on: the lowest of the season's repeats at that minute,
    // each scaled to today's level unless it is one of today's compared minutes, which are at it.
    const first = start - LOOKBACK_MINUTES * MINUTE;
    const scaledFrom = (back: number) =>
      window(series, first - back, LOOKBACK_MINUTES + HORIZON_MINUTES).map((v, j) =>
        v === undefined || first - back + j * MINUTE >= start - COMPARE_MINUTES * MINUTE ? v : v * ratio,
      );
    const repeats = shifts.map(scaledFrom);
    const expected = repeats[0]!.map((_, j) => {
      const values = repeats.map((r) => r[j]);
      return values.every((v) => v !== undefined) ? Math.min(...(values as number[])) : undefined;
    });
    const known = expected.slice(LOOKBACK_MINUTES).filter((v) => v !== undefined).length;
    if (known < MIN_COVERAGE * HORIZON_MINUTES) return [];
    return [{ name, ratio, scaled: shift > COMPARE_MINUTES * MINUTE, expected }];
  });
  if (seasons.length === 0) return undefined;
  const requests = Array.from({ length: LOOKBACK_MINUTES + HORIZON_MINUTES }, (_, j) => {
    const values = seasons.flatMap((s) => (s.expected[j] === undefined ? [] : [s.expected[j]!]));
    return values.length === 0 ? null : Math.min(...values);
  });
  return {
    from: start - LOOKBACK_MINUTES * MINUTE,
    requests,
    basis: seasons
      .map((s) => `${s.name} earlier${s.scaled ? ` × ${s.ratio.toFixed(2)}` : ' as it was'}`)
      .join(', '),
  };
}

/** What the forecast asks of the autoscaler at a minute (autoscaler's ScalingInput.forecast). */
export interface ForecastFloor {
  /** The most requests it expects over the lead, in tasks. */
  tasks: number;
  because: string;
  /**
   * Whether it foresees a rise: its peak over the lead is RISE_RATIO × the least
   * it expected over the LOOKBACK_MINUTES before now, which the metrics (minutes
   * old) cannot show yet. Only a rise leads the metrics: a season that merely
   * expects more than they show (the last hour again, after a step down) is a
   * forecast the present already contradicts.
   */
  rising: boolean;
  /** The most it expects over the next QUIET_MINUTES, when it covers them all. */
  quietTasks?: number;
}

/** The floor the forecast asks for at `now`, or undefined outside it. */
export function forecastFloor(
  forecast: Forecast | undefined,
  now: number,
  targetRequestsPerTask: number,
): ForecastFloor | undefined {
  if (forecast === undefined) return undefined;
  const offset = Math.floor((now - forecast.from) / MINUTE);
  // Past its end the lead is empty, and so is the floor.
  if (offset < 0) return undefined;
  const ahead = forecast.requests
    .slice(offset, offset + LEAD_MINUTES + 1)
    .filter((r): r is number => r !== null);
  if (ahead.length === 0) return undefined;
  const peak = Math.max(...ahead);
  // A minute the seasons have no datapoint for had no requests (the ALB publishes none then).
  const before = forecast.requests.slice(Math.max(offset - LOOKBACK_MINUTES, 0), offset).map((r) => r ?? 0);
  const rising = peak >= RISE_RATIO * Math.min(...before, Infinity) || before.length === 0;
  // The most it expects over a scale-in gate ahead, when it covers one: lets scale-in go once the
  // history says the load that held the count is over and stays over.
  const quiet = forecast.requests.slice(offset, offset + QUIET_MINUTES);
  const quietTasks =
    quiet.length === QUIET_MINUTES && quiet.every((r) => r !== null)
      ? Math.ceil(Math.max(...(quiet as number[])) / targetRequestsPerTask)
      : undefined;
  return {
    ...(quietTasks === undefined ? {} : { quietTasks }),
    tasks: Math.ceil(peak / targetRequestsPerTask),
    rising,
    because: `forecast ${Math.round(peak)} requests/min in the next ${LEAD_MINUTES} min from ${forecast.basis}`,
  };
}

/** `count` minutes of a series from `from`, undefined where it has none. */
function window(series: MinuteSeries, from: number, count: number): (number | undefined)[] {
  const offset = Math.round((from - series.from) / MINUTE);
  return Array.from({ length: count }, (_, i) => {
    const v = series.requests[offset + i];
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
