import { fileURLToPath } from 'node:url';
import { gaussian, seededRandom, type Random } from '../../controller/random.ts';
import { readTraceFile, type Trace, type TraceResult } from './trace.ts';

/**
 * The built-in traces, at one-minute resolution and sized to need tens of
 * tasks at 600 requests per task per minute. Noise is a seeded 2 % Gaussian,
 * so every run sees the same numbers.
 */

const DAY = 24 * 60;
const NOISE = 0.02;

/** The real-shaped trace, read at run time from the shared traces folder beside the repository. */
export const NASA_TRACE_URL = new URL('../../../shared/traces/nasa-1995-week.csv', import.meta.url);
/** Multiplies the NASA trace (mean 56, max 199 requests a minute) to a mean of about 17,000. */
export const NASA_SCALE = 300;

function generate(
  name: string,
  description: string,
  minutes: number,
  seed: number,
  level: (m: number) => number,
  noise = NOISE,
): Trace {
  const random: Random = seededRandom(seed);
  const requests = Array.from({ length: minutes }, (_, m) =>
    Math.max(0, Math.round(level(m) * (1 + noise * gaussian(random)))),
  );
  return { name, description, firstMinute: 0, requests };
}

export function steadyTrace(variant = 0): Trace {
  return generate('steady', '1 day at 12,000 requests/min, 2 % noise', DAY, 11 + 100 * variant, () => 12_000);
}

export function diurnalTrace(variant = 0): Trace {
  return generate(
    'diurnal',
    '2 days, sinusoid 3,000–27,000 requests/min, trough at 04:00',
    2 * DAY,
    12 + 100 * variant,
    (m) => 15_000 - 12_000 * Math.cos((2 * Math.PI * (m - 4 * 60)) / DAY),
  );
}

/** Crowds: 10× the base within one minute, for 30 and 60 minutes. */
export const FLASH_CROWDS = [
  { start: 10 * 60, minutes: 30 },
  { start: 17 * 60, minutes: 60 },
] as const;

export function flashCrowdTrace(variant = 0): Trace {
  return generate(
    'flash-crowd',
    '1 day at 9,000 requests/min; 10× (90,000) within one minute at 10:00 for 30 min and at 17:00 for 60 min',
    DAY,
    13 + 100 * variant,
    (m) => (FLASH_CROWDS.some((c) => m >= c.start && m < c.start + c.minutes) ? 90_000 : 9_000),
  );
}

/**
 * Levels of the step trace, each held for STEP_MINUTES: half a task off exact
 * multiples of the target (600), so a level is not one a tolerance band can
 * hold a count exactly at.
 */
export const STEP_LEVELS: readonly number[] = [6_300, 12_300, 24_300, 12_300, 6_300, 6_300];
export const STEP_MINUTES = 240;

export function stepTrace(variant = 0): Trace {
  return generate(
    'step',
    '1 day of 4-hour steps: 6,300 → 12,300 → 24,300 → 12,300 → 6,300 requests/min, each within one minute',
    DAY,
    14 + 100 * variant,
    (m) => STEP_LEVELS[Math.floor(m / STEP_MINUTES)]!,
  );
}

export function sawtoothTrace(variant = 0): Trace {
  return generate(
    'sawtooth',
    '1 day of 2-hour teeth: a linear ramp 3,000 → 30,000 requests/min, then back to 3,000 within one minute',
    DAY,
    15 + 100 * variant,
    (m) => 3_000 + (27_000 * (m % 120)) / 119,
  );
}

/** Herds: clients that all come back at once, 6× the base, fading with a 10-minute time constant. */
export const HERDS = [9 * 60, 15 * 60] as const;

/**
 * The declared event a person who knows the herds are coming would write:
 * from two minutes before each (a task takes one or two to start), enough tasks
 * to carry the herd's first minutes at capacity (54,000 / 1,000 = 54, and a
 * margin), for the minutes until the reactive loop's own tasks serve.
 */
export const HERD_EVENT = {
  name: 'clients return',
  cron: `58 ${HERDS.map((h) => h / 60 - 1).join(',')} * * *`,
  durationMinutes: 5,
  minTasks: 56,
} as const;

export function herdTrace(variant = 0): Trace {
  return generate(
    'herd',
    '1 day at 9,000 requests/min; at 09:00 and 15:00 clients return at once (54,000), fading back with a 10-min time constant',
    DAY,
    16 + 100 * variant,
    (m) => {
      const since = Math.max(...HERDS.map((h) => (m >= h ? m - h : -1)));
      return since < 0 ? 9_000 : 9_000 + 45_000 * Math.exp(-since / 10);
    },
  );
}

/** The outage: the region out of the CDN's rotation, receiving nothing. */
export const OUTAGE = { start: 10 * 60, minutes: 45 } as const;

export function outageReturnTrace(variant = 0): Trace {
  return generate(
    'outage-return',
    '1 day at 12,000 requests/min; none from 10:00 for 45 min (no datapoints), then all at once with retries (36,000 fading over 10 min)',
    DAY,
    17 + 100 * variant,
    (m) => {
      const back = OUTAGE.start + OUTAGE.minutes;
      if (m >= OUTAGE.start && m < back) return 0;
      return m < back ? 12_000 : 12_000 + 24_000 * Math.exp(-(m - back) / 10);
    },
  );
}

/** Cron spikes: CRON_SPIKE.minutes minutes from minute CRON_SPIKE.at of every hour. */
export const CRON_SPIKE = { at: 20, minutes: 15 } as const;

export function cronSpikesTrace(variant = 0): Trace {
  return generate(
    'cron-spikes',
    '3 days at 6,000 requests/min; a job adds 24,000 for 15 min from minute 20 of every hour',
    3 * DAY,
    18 + 100 * variant,
    (m) => (m % 60 >= CRON_SPIKE.at && m % 60 < CRON_SPIKE.at + CRON_SPIKE.minutes ? 30_000 : 6_000),
  );
}

/** As noisy as the NASA week is minute to minute (its counts are small, so their noise is large). */
const DOUBLE_PEAK_NOISE = 0.12;

export function doublePeakTrace(variant = 0): Trace {
  const peak = (m: number, hour: number, width: number) => Math.exp(-(((m / 60 - hour) / width) ** 2));
  return generate(
    'double-peak',
    '1 day, 4,000 requests/min at night, peaks of 24,000 at 12:00 and 28,000 at 20:00, 12 % noise',
    DAY,
    19 + 100 * variant,
    (m) => 4_000 + 20_000 * peak(m, 12, 1.5) + 24_000 * peak(m, 20, 2),
    DOUBLE_PEAK_NOISE,
  );
}

/** The newsletter goes out at CAMPAIGN_START. */
export const CAMPAIGN_START = 9 * 60;

export function campaignTrace(variant = 0): Trace {
  return generate(
    'campaign',
    '1 day at 6,000 requests/min; a newsletter at 09:00 brings 48,000 within 5 min, fading with a 90-min time constant',
    DAY,
    20 + 100 * variant,
    (m) => {
      if (m < CAMPAIGN_START) return 6_000;
      const since = m - CAMPAIGN_START;
      return 6_000 + 42_000 * Math.min(1, since / 5) * Math.exp(-Math.max(0, since - 5) / 90);
    },
  );
}

/** The NASA week scaled by NASA_SCALE, or the reason it cannot be read. */
export async function nasaTrace(): Promise<TraceResult> {
  const read = await readTraceFile(fileURLToPath(NASA_TRACE_URL), 'diurnal-week');
  if (!read.ok) return read;
  return {
    ok: true,
    trace: {
      ...read.trace,
      description: `NASA-HTTP, first week of July 1995, requests/min × ${NASA_SCALE} (mean ${Math.round(
        mean(read.trace.requests) * NASA_SCALE,
      ).toLocaleString(
        'en-US',
      )}, max ${Math.round(Math.max(...read.trace.requests) * NASA_SCALE).toLocaleString('en-US')})`,
      requests: read.trace.requests.map((r) => r * NASA_SCALE),
    },
  };
}

/** The generated traces; another `variant` draws other noise around the same shapes. */
export function syntheticTraces(variant = 0): Trace[] {
  return [
    steadyTrace(variant),
    diurnalTrace(variant),
    flashCrowdTrace(variant),
    stepTrace(variant),
    sawtoothTrace(variant),
    herdTrace(variant),
    outageReturnTrace(variant),
    cronSpikesTrace(variant),
    doublePeakTrace(variant),
    campaignTrace(variant),
  ];
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
}
