/**
 * Five-field cron expressions in UTC, as `scaling.schedule` windows use them
 * (the same fields as crontab, ECS scheduled actions and KEDA's cron scaler):
 * minute, hour, day of month, month, day of week. Each field is `*`, a value,
 * a range `a-b`, a step `*\/n` or `a-b/n`, or a comma-separated list of those;
 * months and days of the week may be named (JAN, MON). As in crontab, when both
 * day fields are restricted a day matches either. There is no time zone field:
 * a schedule is in UTC, so it never shifts with daylight saving.
 */

export interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

export const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // 0 and 7 are both Sunday.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** A parsed expression: the values each field allows, and whether each day field was restricted. */
export interface Cron {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0–6, Sunday 0. */
  daysOfWeek: ReadonlySet<number>;
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

export type CronResult = { ok: true; cron: Cron } | { ok: false; errors: string[] };

/** Parses an expression; every field with a problem gets its own message, naming the field. */
export function parseCron(expression: string): CronResult {
  const text = expression.trim();
  if (/^(CRON_)?TZ=/i.test(text)) {
    return {
      ok: false,
      errors: ['sets a time zone: schedules are in UTC; write the hours in UTC, or use start with an offset'],
    };
  }
  const parts = text.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== CRON_FIELDS.length) {
    return {
      ok: false,
      errors: [
        `must have 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}` +
          (parts.length === 6 ? ': seconds and years are not supported' : ''),
      ],
    };
  }
  const errors: string[] = [];
  const sets = parts.map((part, i) => {
    const field = CRON_FIELDS[i]!;
    const parsed = parseField(part, field);
    if (typeof parsed === 'string') {
      errors.push(`${field.name} field "${part}": ${parsed}`);
      return new Set<number>();
    }
    return parsed;
  });
  if (errors.length > 0) return { ok: false, errors };
  const daysOfWeek = new Set([...sets[4]!].map((d) => d % 7));
  return {
    ok: true,
    cron: {
      minutes: sets[0]!,
      hours: sets[1]!,
      daysOfMonth: sets[2]!,
      months: sets[3]!,
      daysOfWeek,
      dayOfMonthRestricted: parts[2] !== '*',
      dayOfWeekRestricted: parts[4] !== '*',
    },
  };
}

/** The values of one field, or what is wrong with it. */
function parseField(text: string, field: CronField): Set<number> | string {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/([0-9]+))?$/.exec(item);
    if (match === null) return `"${item}" is not a value, a range a-b, * or a step /n`;
    const [, range, stepText] = match as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return `step /${stepText} must be at least 1`;
    let low = field.min;
    let high = field.max;
    if (range !== '*') {
      const ends = range.split('-').map((end) => value(end, field));
      for (const end of ends) if (typeof end === 'string') return end;
      low = ends[0] as number;
      high = (ends[1] ?? (stepText === undefined ? low : field.max)) as number;
      if (low > high) return `range ${range} runs backwards`;
    }
    for (let n = low; n <= high; n += step) values.add(n);
  }
  return values;
}

function value(text: string, field: CronField): number | string {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (field.name === 'month' ? 1 : 0);
  if (!/^[0-9]+$/.test(text)) {
    return field.names === undefined
      ? `"${text}" is not a number`
      : `"${text}" is not a number or one of ${field.names.join(', ')}`;
  }
  const n = Number(text);
  if (n < field.min || n > field.max) return `${n} must be ${field.min}–${field.max}`;
  return n;
}

/** Whether the minute starting at `at` (epoch milliseconds, UTC) matches. */
export function cronMatches(cron: Cron, at: number): boolean {
  const d = new Date(at);
  if (!cron.minutes.has(d.getUTCMinutes()) || !cron.hours.has(d.getUTCHours())) return false;
  if (!cron.months.has(d.getUTCMonth() + 1)) return false;
  const dom = cron.daysOfMonth.has(d.getUTCDate());
  const dow = cron.daysOfWeek.has(d.getUTCDay());
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}
