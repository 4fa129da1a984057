import { cronMatches, parseCron } from '../spec/cron.ts';
import type { SiteSpec } from '../spec/schema.ts';

/** One window of `scaling.schedule`, as validated. */
export type ScheduleWindow = NonNullable<SiteSpec['scaling']['schedule']>[number];

/** The floor the declared events put under a region now, and the window that sets it. */
export interface ScheduledFloor {
  tasks: number;
  /** For the decision's message, e.g. `window "launch" (0 9 * * MON-FRI, 120 min)`. */
  because: string;
}

const MINUTE = 60_000;

/**
 * The highest `minTasks` for `region` among the windows open at `now`: a cron
 * window opens at every minute its expression matches (in UTC) and a start
 * window once, and each stays open `durationMinutes`, across midnight or a
 * month's end alike. Undefined when no window is open for the region. Pure;
 * the caller bounds it by the region's minTasks and maxTasks.
 */
export function scheduledFloor(
  schedule: readonly ScheduleWindow[] | undefined,
  region: string,
  now: number,
): ScheduledFloor | undefined {
  let best: ScheduledFloor | undefined;
  (schedule ?? []).forEach((window, i) => {
    const tasks = window.minTasks[region];
    if (tasks === undefined || (best !== undefined && best.tasks >= tasks)) return;
    if (!isOpen(window, now)) return;
    const what = window.cron ?? `from ${window.start}`;
    best = {
      tasks,
      because: `scheduled window ${window.name === undefined ? `#${i + 1}` : `"${window.name}"`} (${what}, ${window.durationMinutes} min)`,
    };
  });
  return best;
}

/** Whether a window opened within the last durationMinutes, up to and including the minute of `now`. */
export function isOpen(window: ScheduleWindow, now: number): boolean {
  const duration = window.durationMinutes * MINUTE;
  if (window.start !== undefined) {
    const start = Date.parse(window.start);
    return start <= now && now < start + duration;
  }
  if (window.cron === undefined) return false;
  const parsed = parseCron(window.cron);
  if (!parsed.ok) return false;
  // Cron fires on whole minutes: look back over the starts that would still be open.
  const thisMinute = Math.floor(now / MINUTE) * MINUTE;
  for (let at = thisMinute; at > now - duration; at -= MINUTE) {
    if (cronMatches(parsed.cron, at)) return true;
  }
  return false;
}
