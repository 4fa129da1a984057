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
): Trace {
  const random: Random = seededRandom(seed);
  const requests = Array.from({ length: minutes }, (_, m) =>
    Math.max(0, Math.round(level(m) * (1 + NOISE * gaussian(random)))),
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

/** Levels of the step trace, each held for STEP_MINUTES. */
export const STEP_LEVELS: readonly number[] = [6_000, 12_000, 24_000, 12_000, 6_000, 6_000];
export const STEP_MINUTES = 240;

export function stepTrace(variant = 0): Trace {
  return generate(
    'step',
    '1 day of 4-hour steps: 6,000 → 12,000 → 24,000 → 12,000 → 6,000 requests/min, each within one minute',
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

/** The NASA week scaled by NASA_SCALE, or the reason it cannot be read. */
export async function nasaTrace(): Promise<TraceResult> {
  const read = await readTraceFile(fileURLToPath(NASA_TRACE_URL), 'nasa-1995');
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
  ];
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
}
