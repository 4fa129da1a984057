import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decideTasks, type ScalingPolicy } from '../controller/decide/autoscaler.ts';
import {
  buildForecast,
  COMPARE_MINUTES,
  DAY_MS,
  type Forecast,
  type ForecastInput,
  forecastFloor,
  HORIZON_MINUTES,
  LEAD_MINUTES,
  LOOKBACK_MINUTES,
  TODAY_MINUTES,
  type MinuteSeries,
  WEEK_MS,
} from '../controller/decide/forecast.ts';
import { demoDocument, newSim, pass, storeSpec } from './support/world.ts';

const MINUTE = 60_000;
const NOW = Date.parse('2026-12-07T10:00:00Z');

/** `level(i)` for each minute i of a span starting COMPARE_MINUTES before `now - shift`. */
function span(shift: number, level: (i: number) => number | undefined): MinuteSeries {
  const from = NOW - shift - COMPARE_MINUTES * MINUTE;
  return { from, requests: Array.from({ length: COMPARE_MINUTES + HORIZON_MINUTES }, (_, i) => level(i)) };
}
const today = (level: (i: number) => number | undefined): MinuteSeries => ({
  from: NOW - COMPARE_MINUTES * MINUTE,
  requests: Array.from({ length: COMPARE_MINUTES }, (_, i) => level(i)),
});
/** Today's last TODAY_MINUTES, `level` given each minute's minute of the hour and how many minutes before now. */
const hours = (level: (minuteOfHour: number, ago: number) => number | undefined): MinuteSeries => {
  const from = NOW - TODAY_MINUTES * MINUTE;
  return {
    from,
    requests: Array.from({ length: TODAY_MINUTES }, (_, i) =>
      level(new Date(from + i * MINUTE).getUTCMinutes(), TODAY_MINUTES - i),
    ),
  };
};
/** A job adding 24,000 requests from minute 20 of every hour for 15 minutes. */
const hourlyJob = (minuteOfHour: number) => (minuteOfHour >= 20 && minuteOfHour < 35 ? 30_000 : 6_000);
/** Minute j of the horizon is index COMPARE_MINUTES + j of a span. */
const ahead = (j: number) => COMPARE_MINUTES + j;
/** A spike of 30,000 over 6,000 from minute 20 of the horizon for 15 minutes. */
const spiky = (i: number) => (i >= ahead(20) && i < ahead(35) ? 30_000 : 6_000);
const flat = () => 6_000;

test('the forecast from history', async (t) => {
  const cases: {
    name: string;
    input: Omit<ForecastInput, 'now'>;
    /** Requests expected at horizon minute 25, or undefined for no forecast. */
    at25: number | undefined;
    basis?: RegExp;
  }[] = [
    { name: 'no history: no forecast', input: { today: today(flat) }, at25: undefined },
    {
      name: 'a day earlier, as busy as today: its minutes as they were',
      input: { today: today(flat), dayAgo: span(DAY_MS, spiky) },
      at25: 30_000,
      basis: /1 day earlier × 1\.00/,
    },
    {
      name: 'scaled by how today compares with that day so far',
      input: { today: today(() => 9_000), dayAgo: span(DAY_MS, spiky) },
      at25: 45_000,
      basis: /× 1\.50/,
    },
    {
      name: 'partial history: too few compared minutes is not enough',
      input: { today: today(flat), dayAgo: span(DAY_MS, (i) => (i < 40 ? undefined : spiky(i))) },
      at25: undefined,
    },
    {
      name: 'partial history: enough compared minutes, a gap ahead forecasts nothing there',
      input: {
        today: today(flat),
        dayAgo: span(DAY_MS, (i) => (i < 20 || (i >= ahead(24) && i < ahead(26)) ? undefined : spiky(i))),
      },
      at25: undefined,
    },
    {
      name: 'a missing day: the week earlier alone',
      input: { today: today(flat), weekAgo: span(WEEK_MS, spiky) },
      at25: 30_000,
      basis: /^1 week earlier/,
    },
    {
      name: 'a spike in the day earlier that the week earlier lacks is a one-off: no floor from it',
      input: { today: today(flat), dayAgo: span(DAY_MS, spiky), weekAgo: span(WEEK_MS, flat) },
      at25: 6_000,
    },
    {
      name: 'a spike in the compared minutes that today lacks does not scale the forecast',
      input: {
        today: today(flat),
        dayAgo: span(DAY_MS, (i) => (i >= 30 && i < 34 ? 60_000 : spiky(i))),
      },
      at25: 30_000,
    },
    {
      name: 'a job every hour: what both of the last two hours had, the last as it was',
      input: { today: hours(hourlyJob) },
      at25: 30_000,
      basis: /^1 hour earlier as it was$/,
    },
    {
      name: 'a burst in the last hour that the hour before lacks is no job: no floor from it',
      input: { today: hours((m, ago) => (ago <= 60 ? hourlyJob(m) : 6_000)) },
      at25: 6_000,
      basis: /^1 hour earlier/,
    },
    {
      name: 'less than two hours of today: no hourly season',
      input: { today: hours((m, ago) => (ago > 70 ? undefined : hourlyJob(m))) },
      at25: undefined,
    },
    {
      name: 'history that did not foretell today (noise as large as its level) is no season',
      input: { today: today(flat), dayAgo: span(DAY_MS, (i) => (i % 2 === 0 ? 2_000 : 10_000)) },
      at25: undefined,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const forecast = buildForecast({ now: NOW, ...c.input });
      assert.equal(forecast?.requests[LOOKBACK_MINUTES + 25] ?? undefined, c.at25);
      if (c.basis !== undefined) assert.match(forecast!.basis, c.basis);
    });
  }
});

test('a forecast foresees a rise only against what it expected over the minutes before now', () => {
  const forecast = buildForecast({ now: NOW, today: today(flat), dayAgo: span(DAY_MS, spiky) });
  const rising = (minute: number) => forecastFloor(forecast, NOW + minute * MINUTE, 600)?.rising;
  assert.equal(rising(0), false, 'the quiet level, as before');
  assert.equal(rising(20 - LEAD_MINUTES), true, 'the spike ahead of the lead');
  assert.equal(rising(20 + LOOKBACK_MINUTES - 1), true, 'while the lookback still holds a quiet minute');
  assert.equal(rising(20 + LOOKBACK_MINUTES), false, 'well into the spike: nothing new');
});

test('a forecast that expects more than the metrics show, with no rise (the last hour again after a step down), does not lead', () => {
  const busy = () => 24_000;
  const forecast = buildForecast({ now: NOW, today: hours(busy) });
  const floor = forecastFloor(forecast, NOW + 10 * MINUTE, 600)!;
  assert.deepEqual([floor.tasks, floor.rising], [40, false]);
  const input = {
    now: NOW + 10 * MINUTE,
    running: 40,
    desired: 40,
    requestsPerMinute: 12_000,
    recentRequestsPerMinute: [12_000, 12_000, 12_000, 12_000, 12_000],
    rolloutInProgress: false,
    history: [{ at: NOW - 30 * MINUTE, tasks: 40 }],
  };
  const stepped = decideTasks({ ...policy, maxTasks: 100 }, { ...input, forecast: floor });
  assert.deepEqual(
    [stepped.recommendation, stepped.reason],
    [20, 'ScaleInStabilizing'],
    'the metrics recommend, so scale-in follows through the gate',
  );
  const foreseen = decideTasks(
    { ...policy, maxTasks: 100 },
    { ...input, forecast: { ...floor, rising: true } },
  );
  assert.deepEqual(
    [foreseen.recommendation, foreseen.reason],
    [40, 'Forecast'],
    'a foreseen rise would lead',
  );
});

test('the floor is the most the forecast expects over the next minutes, LEAD_MINUTES ahead of the load', () => {
  const forecast = buildForecast({ now: NOW, today: today(flat), dayAgo: span(DAY_MS, spiky) });
  const at = (minute: number) => forecastFloor(forecast, NOW + minute * MINUTE, 600)?.tasks;
  assert.equal(at(20 - LEAD_MINUTES - 1), 10, 'before the lead: the quiet level');
  assert.equal(at(20 - LEAD_MINUTES), 50, 'ceil(30,000 / 600), ahead of the spike');
  assert.equal(at(HORIZON_MINUTES), undefined, 'past the horizon, until the next read');
  const quiet = forecastFloor(forecast, NOW + 36 * MINUTE, 600);
  assert.equal(quiet?.quietTasks, 10, 'after the spike it expects the quiet level for the gate ahead');
});

const policy: ScalingPolicy = {
  targetRequestsPerTask: 600,
  targetCpuPercent: 70,
  tolerance: 0.1,
  scaleInStabilizationSeconds: 300,
  maxScaleOutStep: 1000,
  minTasks: 2,
  maxTasks: 40,
};

test('a forecast jump scales out ahead with reason Forecast, never above maxTasks', () => {
  const d = decideTasks(policy, {
    now: NOW,
    running: 10,
    desired: 10,
    requestsPerMinute: 6000,
    rolloutInProgress: false,
    history: [],
    forecast: { tasks: 50, because: 'forecast 30000 requests/min', rising: true },
  });
  assert.deepEqual(
    [d.tasks, d.reason],
    [40, 'Forecast'],
    'capped at maxTasks before it joins the recommendation',
  );
  const under = decideTasks(
    { ...policy, maxTasks: 100 },
    {
      now: NOW,
      running: 10,
      desired: 10,
      requestsPerMinute: 6000,
      rolloutInProgress: false,
      history: [],
      forecast: { tasks: 50, because: 'forecast 30000 requests/min', rising: true },
    },
  );
  assert.deepEqual([under.tasks, under.reason], [50, 'Forecast']);
  assert.match(under.message, /forecast 30000 requests\/min needs 50 task\(s\) where the metrics need 10/);
});

test('a forecast within the measure’s noise does not lead', () => {
  const d = decideTasks(policy, {
    now: NOW,
    running: 10,
    desired: 10,
    requestsPerMinute: 6000,
    rolloutInProgress: false,
    history: [],
    forecast: { tasks: 12, because: 'forecast', rising: true },
  });
  assert.deepEqual([d.tasks, d.reason], [10, 'WithinTolerance']);
});

test('with any forecast, desired tasks stay within [minTasks, maxTasks]', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
      fc.integer({ min: 0, max: 100 }),
      fc.integer({ min: 0, max: 100 }),
      fc.boolean(),
      (minTasks, span_, forecast, quiet, requests, running, desired, rising) => {
        const bounds = { minTasks, maxTasks: Math.max(1, minTasks + span_) };
        const d = decideTasks(
          { ...policy, ...bounds },
          {
            now: NOW,
            running,
            desired,
            ...(requests === undefined ? {} : { requestsPerMinute: requests }),
            rolloutInProgress: false,
            history: [],
            forecast: {
              tasks: forecast,
              because: 'f',
              rising,
              ...(quiet === undefined ? {} : { quietTasks: quiet }),
            },
          },
        );
        return d.tasks >= bounds.minTasks && d.tasks <= bounds.maxTasks;
      },
    ),
  );
});

test('the reconciler reads the history at most once an hour per site, keeps the forecast in status, and reads it in three calls', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const document = demoDocument();
  delete document.spec.canary;
  await storeSpec(sim, document);
  const T = Date.parse('2026-12-07T10:00:00Z');
  const metricCalls = async (minute: number) => {
    sim.resetCalls();
    const report = await pass(sim, { now: () => new Date(T + minute * MINUTE), regions: ['us-east-1'] });
    sim.tick();
    const calls = sim.calls.filter((c) => c.operation === 'GetMetricData' && c.region === 'us-east-1').length;
    return { calls, forecast: report.statuses.get('demo')!.regions['us-east-1']!.scaling!.forecast };
  };
  const first = await metricCalls(0);
  assert.equal(first.forecast?.readAt, T, 'due on the first pass (no target group yet: nothing to read)');
  await metricCalls(1);
  const steady = await metricCalls(2);
  assert.equal(steady.forecast?.readAt, T, 'kept in status between reads');
  const due = await metricCalls(60);
  assert.equal(due.forecast?.readAt, T + 60 * MINUTE);
  assert.equal(due.calls - steady.calls, 3, 'today, a day and a week earlier: one call each');
  const next = await metricCalls(61);
  assert.equal(next.calls, steady.calls, 'not again within the hour');
});

test('when the forecast expects the load to be over, scale-in follows the newest datapoint and the mean’s lag does not scale out again', () => {
  const quiet = { tasks: 10, quietTasks: 10, because: 'forecast 6000 requests/min', rising: false };
  const base = {
    now: NOW,
    running: 52,
    desired: 52,
    rolloutInProgress: false,
    history: [{ at: NOW - 10 * MINUTE, tasks: 52 }],
    forecast: quiet,
  };
  // The spike ended: the newest minute is back at 6,000, the mean of five still 25,000.
  const recent = [6000, 30_000, 30_000, 30_000, 30_000];
  const down = decideTasks(
    { ...policy, maxTasks: 100 },
    { ...base, requestsPerMinute: 6000, recentRequestsPerMinute: recent },
  );
  assert.deepEqual([down.tasks, down.reason], [10, 'Forecast'], 'no 15-minute gate: the forecast saw it end');
  const next = decideTasks(
    { ...policy, maxTasks: 100 },
    {
      ...base,
      running: 10,
      desired: 10,
      requestsPerMinute: 6000,
      recentRequestsPerMinute: [6000, 6000, 30_000, 30_000, 30_000],
      history: [...base.history, { at: NOW - MINUTE, tasks: 43 }],
    },
  );
  assert.deepEqual([next.tasks, next.reason], [10, 'Forecast'], 'held: the mean still carries the spike');
  const surprise = decideTasks(
    { ...policy, maxTasks: 100 },
    { ...base, running: 10, desired: 10, requestsPerMinute: 30_000, recentRequestsPerMinute: [30_000, 6000] },
  );
  assert.equal(surprise.reason, 'ScaleOut', 'a jump the forecast did not expect is still met at once');
  // A level the forecast did not expect (a step up it missed): the newest datapoint dips on noise
  // while the average holds; that is no drop.
  const noise = decideTasks(
    { ...policy, maxTasks: 100 },
    {
      ...base,
      running: 40,
      desired: 40,
      requestsPerMinute: 21_000,
      recentRequestsPerMinute: [21_000, 24_000, 24_000, 24_000, 24_000],
    },
  );
  assert.deepEqual([noise.tasks, noise.reason], [40, 'WithinTolerance'], 'held: the average is at the count');
});

const rounded = (forecast: Forecast | undefined) =>
  forecast?.requests.map((r) => (r === null ? null : Math.round(r)));

test('the forecast minute by minute: the lookback and the horizon of a season, scaled to today, and its basis', () => {
  // A day earlier rose by 10 requests a minute; today is 1.5 times that day, minute for minute.
  const rising = (i: number) => 6_000 + 10 * i;
  const forecast = buildForecast({
    now: NOW,
    today: today((i) => 1.5 * rising(i)),
    dayAgo: span(DAY_MS, rising),
  })!;
  assert.equal(forecast.from, NOW - LOOKBACK_MINUTES * MINUTE);
  assert.equal(forecast.basis, '1 day earlier × 1.50');
  const expected = Array.from({ length: LOOKBACK_MINUTES + HORIZON_MINUTES }, (_, k) =>
    Math.round(1.5 * rising(COMPARE_MINUTES - LOOKBACK_MINUTES + k)),
  );
  assert.deepEqual(rounded(forecast), expected);
  const both = buildForecast({
    now: NOW,
    today: today(flat),
    dayAgo: span(DAY_MS, flat),
    weekAgo: span(WEEK_MS, flat),
  })!;
  assert.equal(both.basis, '1 day earlier × 1.00, 1 week earlier × 1.00');
});

test('the hourly season repeats the last hour as it was and scales only the hour before it', () => {
  // Falling: 9,000 two hours ago, 6,000 over the last hour; the hour before, scaled by 6/9, agrees.
  const forecast = buildForecast({ now: NOW, today: hours((_, ago) => (ago <= 60 ? 6_000 : 9_000)) })!;
  assert.equal(forecast.basis, '1 hour earlier as it was');
  const published = 60 + LOOKBACK_MINUTES;
  assert.deepEqual(
    rounded(forecast),
    Array.from({ length: LOOKBACK_MINUTES + HORIZON_MINUTES }, (_, k) => (k < published ? 6_000 : null)),
    'each minute 6,000: the last hour unscaled, the hour before × 2/3; none beyond the last hour',
  );
  // A minute only one of the two hours has is no repeat.
  const gap = buildForecast({
    now: NOW,
    today: hours((m, ago) => (ago >= 100 && ago <= 110 ? undefined : hourlyJob(m))),
  })!;
  assert.equal(gap.requests[LOOKBACK_MINUTES + 15], null, 'two hours before minute 15 had no datapoint');
  assert.equal(gap.requests[LOOKBACK_MINUTES + 25], 30_000);
});

test('a season counts only with enough minutes, a ratio within bounds and a fit within 10 %', async (t) => {
  const at0 = (forecast: Forecast | undefined) => forecast?.requests[LOOKBACK_MINUTES];
  const cases: [string, Omit<ForecastInput, 'now'>, number | undefined][] = [
    ['no history at all', { today: today(flat) }, undefined],
    [
      'today 4 times the day: the most it scales',
      { today: today(() => 24_000), dayAgo: span(DAY_MS, flat) },
      24_000,
    ],
    [
      'today more than 4 times the day',
      { today: today(() => 24_060), dayAgo: span(DAY_MS, flat) },
      undefined,
    ],
    [
      'today a quarter of the day: the least',
      { today: today(() => 1_500), dayAgo: span(DAY_MS, flat) },
      1_500,
    ],
    ['today less than a quarter', { today: today(() => 1_494), dayAgo: span(DAY_MS, flat) }, undefined],
    [
      'a day without requests in the compared hour',
      { today: today(() => 0), dayAgo: span(DAY_MS, () => 0) },
      undefined,
    ],
    [
      'half the compared minutes, exactly, are enough',
      { today: today(flat), dayAgo: span(DAY_MS, (i) => (i < COMPARE_MINUTES / 2 ? undefined : 6_000)) },
      6_000,
    ],
    [
      'a fit that misses by 10 %, exactly, counts',
      {
        today: today(() => 1_000),
        // 29 minutes as today, 16 at 900, 15 at 1,100: the median misses by 100 of 1,000.
        dayAgo: span(DAY_MS, (i) => (i >= COMPARE_MINUTES ? 1_000 : i < 29 ? 1_000 : i < 45 ? 900 : 1_100)),
      },
      1_000,
    ],
    [
      'history as noisy as 2 % counts',
      { today: today(flat), dayAgo: span(DAY_MS, (i) => (i % 2 === 0 ? 5_880 : 6_120)) },
      5_880,
    ],
    [
      'today’s own gaps are no pairs',
      {
        today: today((i) => (i === 0 ? undefined : i % 2 === 1 ? 1_100 : 1_000)),
        dayAgo: span(DAY_MS, () => 1_050),
      },
      1_100,
    ],
    [
      'too few of today’s minutes have a datapoint',
      { today: today((i) => (i < 35 ? undefined : 6_000)), dayAgo: span(DAY_MS, flat) },
      undefined,
    ],
    [
      'too few of today’s minutes are a number',
      { today: today((i) => (i < 35 ? Number.NaN : 6_000)), dayAgo: span(DAY_MS, flat) },
      undefined,
    ],
    [
      'readings that are no number are gaps',
      {
        today: today((i) => (i < 10 ? Number.NaN : 6_000)),
        dayAgo: span(DAY_MS, (i) => (i === 70 ? Infinity : 6_000)),
      },
      6_000,
    ],
  ];
  for (const [name, input, expected] of cases) {
    await t.test(name, () => {
      const forecast = buildForecast({ now: NOW, ...input });
      if (expected === undefined) assert.equal(forecast, undefined);
      else assert.equal(Math.round(at0(forecast)!), expected);
    });
  }
  await t.test('half the horizon known, or less', () => {
    const known = (n: number) =>
      buildForecast({
        now: NOW,
        today: today(flat),
        dayAgo: span(DAY_MS, (i) => (i < COMPARE_MINUTES + n ? 6_000 : undefined)),
      });
    assert.equal(known(32), undefined, '32 of 65 minutes ahead');
    assert.notEqual(known(33), undefined, '33 of 65');
  });
});

test('the floor at a minute: inside the forecast only, a gap in the lead is no floor, and the gate ahead in full', () => {
  const forecast: Forecast = {
    from: NOW,
    requests: [6_000, null, null, 9_000, ...Array.from({ length: 20 }, () => 6_000)],
    basis: 'b',
  };
  const floor = (minute: number) => forecastFloor(forecast, NOW + minute * MINUTE, 600);
  assert.equal(floor(-1), undefined, 'before the forecast');
  assert.equal(floor(-3), undefined, 'well before it');
  assert.equal(floor(forecast.requests.length), undefined, 'after it');
  assert.equal(floor(forecast.requests.length - 1)?.tasks, 10, 'its last minute');
  assert.equal(floor(1), undefined, 'no number over the lead');
  assert.deepEqual(
    floor(0),
    {
      tasks: 10,
      rising: true,
      because: `forecast 6000 requests/min in the next ${LEAD_MINUTES} min from b`,
    },
    'no lookback (a forecast from before it had one): a rise; a gap within the gate: no quiet count',
  );
  assert.deepEqual(
    [floor(8)?.tasks, floor(8)?.quietTasks, floor(8)?.rising],
    [10, 10, false],
    'the gate ahead in full: the most of it',
  );
  assert.equal(floor(3)?.quietTasks, 15, 'the most over the gate, not the least');
  assert.equal(floor(2)?.rising, true, '9,000 is 1.5 times 6,000: a rise');
  assert.equal(floor(10)?.quietTasks, undefined, 'fewer minutes left than the gate');
  const step: Forecast = { from: NOW, requests: [6_000, 6_000, 6_000, 6_000, 6_000, 9_000], basis: 'b' };
  assert.equal(forecastFloor(step, NOW + 4 * MINUTE, 600)?.rising, true, 'exactly 1.5 times: a rise');
});

test('the forecast’s quiet scale-in: from exactly 1.5 times, only while tasks run, to the most either needs', () => {
  const input = {
    now: NOW,
    running: 40,
    desired: 40,
    rolloutInProgress: false,
    history: [{ at: NOW - 30 * MINUTE, tasks: 40 }],
  };
  const leads = decideTasks(
    { ...policy, maxTasks: 100 },
    { ...input, requestsPerMinute: 24_000, forecast: { tasks: 60, because: 'f', rising: true } },
  );
  assert.deepEqual([leads.tasks, leads.reason], [60, 'Forecast'], 'exactly 1.5 × the 40 measured leads');
  const quiet = { tasks: 14, quietTasks: 14, because: 'f', rising: false };
  const falling = { requestsPerMinute: 6_000, recentRequestsPerMinute: [6_000, 6_000, 6_000, 6_000, 6_000] };
  const down = decideTasks({ ...policy, maxTasks: 100 }, { ...input, ...falling, forecast: quiet });
  assert.deepEqual(
    [down.tasks, down.reason],
    [14, 'Forecast'],
    'the forecast’s 14 over the newest datapoint’s 10',
  );
  assert.match(down.message, /^f: at most 14 task\(s\) needed for the next 15 min and 10 now$/);
  const starting = decideTasks(
    { ...policy, maxTasks: 100 },
    { ...input, ...falling, running: 30, forecast: quiet },
  );
  assert.notEqual(starting.reason, 'Forecast', 'tasks still starting: their demand is not settled');
  const atCount = decideTasks(
    { ...policy, maxTasks: 100 },
    {
      ...input,
      requestsPerMinute: 24_000,
      recentRequestsPerMinute: [24_000, 20_000, 20_000, 20_000, 20_000],
      forecast: quiet,
    },
  );
  assert.deepEqual(
    [atCount.tasks, atCount.reason],
    [40, 'ScaleInStabilizing'],
    'the newest datapoint at the count: no drop, whatever the average',
  );
});
