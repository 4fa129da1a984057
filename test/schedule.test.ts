import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { decideTasks, type ScalingPolicy } from '../controller/decide/autoscaler.ts';
import { isOpen, scheduledFloor, type ScheduleWindow } from '../controller/decide/schedule.ts';
import { cronMatches, parseCron } from '../controller/spec/cron.ts';
import { validateSite } from '../controller/spec/validate.ts';
import { demoDocument, newSim, pass, storeSpec } from './support/world.ts';

const at = (iso: string) => Date.parse(iso);

function window(fields: Partial<ScheduleWindow>): ScheduleWindow {
  return { durationMinutes: 60, minTasks: { 'us-east-1': 5 }, ...fields };
}

test('a window is open from its start for its duration', async (t) => {
  const cases: [string, ScheduleWindow, string, boolean][] = [
    ['cron: at the minute it matches', window({ cron: '0 9 * * *' }), '2026-12-07T09:00:00Z', true],
    ['cron: inside the duration', window({ cron: '0 9 * * *' }), '2026-12-07T09:59:59Z', true],
    ['cron: closed at start + duration', window({ cron: '0 9 * * *' }), '2026-12-07T10:00:00Z', false],
    ['cron: closed before it starts', window({ cron: '0 9 * * *' }), '2026-12-07T08:59:59Z', false],
    [
      'cron: across midnight, open the next day',
      window({ cron: '30 23 * * *', durationMinutes: 90 }),
      '2026-12-08T00:45:00Z',
      true,
    ],
    [
      'cron: across midnight, closed once the duration ends',
      window({ cron: '30 23 * * *', durationMinutes: 90 }),
      '2026-12-08T01:00:00Z',
      false,
    ],
    [
      'cron: a weekday window opened on Friday night is still open on Saturday',
      window({ cron: '0 22 * * MON-FRI', durationMinutes: 180 }),
      '2026-12-12T00:30:00Z', // a Saturday
      true,
    ],
    [
      'cron: no window opens on a Saturday evening',
      window({ cron: '0 22 * * MON-FRI', durationMinutes: 180 }),
      '2026-12-12T22:30:00Z',
      false,
    ],
    [
      'start: an explicit offset is honoured (18:00 at +01:00 is 17:00 UTC)',
      window({ start: '2026-12-24T18:00:00+01:00' }),
      '2026-12-24T17:00:00Z',
      true,
    ],
    ['start: closed before', window({ start: '2026-12-24T18:00:00+01:00' }), '2026-12-24T16:59:00Z', false],
    [
      'start: across midnight',
      window({ start: '2026-12-31T23:30:00Z', durationMinutes: 60 }),
      '2027-01-01T00:15:00Z',
      true,
    ],
  ];
  for (const [name, w, now, open] of cases) {
    await t.test(name, () => assert.equal(isOpen(w, at(now)), open));
  }
});

test('overlapping windows take the highest floor for the region, and name the window that sets it', () => {
  const schedule = [
    window({ name: 'newsletter', cron: '0 9 * * *', minTasks: { 'us-east-1': 8, 'eu-west-1': 2 } }),
    window({
      name: 'launch',
      start: '2026-12-07T08:30:00Z',
      durationMinutes: 120,
      minTasks: { 'us-east-1': 12 },
    }),
    window({ cron: '0 9 * * *', minTasks: { 'us-east-1': 3 } }),
  ];
  const now = at('2026-12-07T09:10:00Z');
  const us = scheduledFloor(schedule, 'us-east-1', now);
  assert.equal(us?.tasks, 12);
  assert.match(us!.because, /scheduled window "launch" \(from 2026-12-07T08:30:00Z, 120 min\)/);
  assert.equal(scheduledFloor(schedule, 'eu-west-1', now)?.tasks, 2, 'each region its own floor');
  assert.equal(scheduledFloor(schedule, 'ap-southeast-2', now), undefined, 'a region no window names');
  assert.equal(scheduledFloor(schedule, 'us-east-1', at('2026-12-07T12:00:00Z')), undefined, 'none open');
  assert.equal(scheduledFloor(undefined, 'us-east-1', now), undefined, 'no schedule');
});

test('a window without a name is named by its place; of equal floors the first names it', () => {
  const schedule = [
    window({ cron: '0 9 * * *', minTasks: { 'us-east-1': 4 } }),
    window({ cron: '0 9 * * *', minTasks: { 'us-east-1': 6 } }),
    window({ name: 'second', cron: '0 9 * * *', minTasks: { 'us-east-1': 6 } }),
  ];
  const floor = scheduledFloor(schedule, 'us-east-1', at('2026-12-07T09:10:00Z'));
  assert.deepEqual(floor, { tasks: 6, because: 'scheduled window #2 (0 9 * * *, 60 min)' });
});

test('a window with neither a start nor a cron, or a cron that does not parse, is never open', () => {
  // The spec's validation refuses both; a window read some other way must still not open.
  const now = at('2026-12-07T09:00:00Z');
  assert.equal(isOpen(window({}), now), false);
  assert.equal(isOpen(window({ cron: 'every morning' }), now), false);
  assert.equal(
    isOpen(window({ start: '2026-12-07T08:00:00Z' }), at('2026-12-07T09:00:00Z')),
    false,
    'start + duration is closed',
  );
  assert.equal(isOpen(window({ start: '2026-12-07T08:00:00Z' }), at('2026-12-07T08:59:59Z')), true);
});

test('cron fields: lists, ranges, steps and names; a restricted day of month or week matches either', () => {
  const parsed = parseCron('*/15 8-10,22 1 JAN-MAR,dec sun');
  assert.ok(parsed.ok);
  assert.deepEqual([...parsed.cron.minutes], [0, 15, 30, 45]);
  assert.deepEqual([...parsed.cron.hours], [8, 9, 10, 22]);
  assert.deepEqual([...parsed.cron.months], [1, 2, 3, 12]);
  // 2026-12-06 is a Sunday (not the 1st); 2026-12-01 a Tuesday (the 1st); 2026-12-02 neither.
  assert.equal(cronMatches(parsed.cron, at('2026-12-06T08:15:00Z')), true);
  assert.equal(cronMatches(parsed.cron, at('2026-12-01T08:15:00Z')), true);
  assert.equal(cronMatches(parsed.cron, at('2026-12-02T08:15:00Z')), false);
  const sunday7 = parseCron('0 0 * * 7');
  assert.ok(sunday7.ok && sunday7.cron.daysOfWeek.has(0), '7 is Sunday too');
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const minimal = (): any =>
  JSON.parse(readFileSync(new URL('../specs/minimal.json', import.meta.url), 'utf8'));

function problemsFor(schedule: unknown[]): Record<string, string> {
  const document = minimal();
  document.spec.scaling = { schedule };
  const result = validateSite(document);
  if (result.ok) return {};
  return Object.fromEntries(result.problems.map((p) => [p.field, p.message]));
}

test('a schedule is refused with a problem per field', async (t) => {
  const ok = { durationMinutes: 30, minTasks: { 'us-east-1': 4 } };
  const cases: [string, unknown, string, RegExp][] = [
    [
      'invalid cron: every cron field at fault is named',
      { ...ok, cron: '61 24 0 13 8' },
      'spec.scaling.schedule[0].cron',
      /minute field "61": 61 must be 0–59; hour field "24": 24 must be 0–23; day of month field "0": 0 must be 1–31; month field "13": 13 must be 1–12; day of week field "8": 8 must be 0–7/,
    ],
    [
      'invalid cron: a name that is no month',
      { ...ok, cron: '0 9 * JANUARY *' },
      'spec.scaling.schedule[0].cron',
      /month field "JANUARY": "JANUARY" is not a number or one of JAN, FEB/,
    ],
    [
      'invalid cron: a backwards range and a zero step',
      { ...ok, cron: '0/0 10-8 * * *' },
      'spec.scaling.schedule[0].cron',
      /minute field "0\/0": step \/0 must be at least 1; hour field "10-8": range 10-8 runs backwards/,
    ],
    [
      'invalid cron: six fields',
      { ...ok, cron: '0 0 9 * * *' },
      'spec.scaling.schedule[0].cron',
      /must have 5 fields .*found 6: seconds and years are not supported/,
    ],
    [
      'a time zone in the cron expression is refused',
      { ...ok, cron: 'CRON_TZ=Europe/Paris 0 9 * * *' },
      'spec.scaling.schedule[0].cron',
      /sets a time zone: schedules are in UTC/,
    ],
    [
      'a time zone name is refused',
      { ...ok, cron: '0 9 * * *', timeZone: 'Europe/Paris' },
      'spec.scaling.schedule[0].timeZone',
      /must be "UTC".*time zone names are refused/,
    ],
    [
      'a start without an offset is refused',
      { ...ok, start: '2026-12-24T18:00:00' },
      'spec.scaling.schedule[0].start',
      /has no offset: end it with Z for UTC or ±hh:mm/,
    ],
    [
      'a start that is no time',
      { ...ok, start: '2026-13-24T18:00:00Z' },
      'spec.scaling.schedule[0].start',
      /must be an ISO 8601 time with an offset/,
    ],
    [
      'cron and start together',
      { ...ok, cron: '0 9 * * *', start: '2026-12-24T18:00:00Z' },
      'spec.scaling.schedule[0].start',
      /must not be given with cron/,
    ],
    ['neither cron nor start', ok, 'spec.scaling.schedule[0]', /needs cron .* or start/],
    [
      'a region the spec does not list',
      { ...ok, cron: '0 9 * * *', minTasks: { 'eu-west-3': 4 } },
      'spec.scaling.schedule[0].minTasks.eu-west-3',
      /names region eu-west-3, which the spec does not list/,
    ],
    [
      'a duration beyond a week',
      { ...ok, cron: '0 9 * * *', durationMinutes: 10_081 },
      'spec.scaling.schedule[0].durationMinutes',
      /must be between 1 and 10080/,
    ],
  ];
  for (const [name, w, field, message] of cases) {
    await t.test(name, () => {
      const found = problemsFor([w]);
      assert.ok(field in found, `expected a problem at ${field}, got ${JSON.stringify(found)}`);
      assert.match(found[field]!, message);
    });
  }
});

test('UTC and explicit offsets are accepted', () => {
  assert.deepEqual(
    problemsFor([
      { cron: '0 9 * * MON-FRI', timeZone: 'UTC', durationMinutes: 60, minTasks: { 'us-east-1': 4 } },
      { start: '2026-12-24T18:00:00+01:00', durationMinutes: 60, minTasks: { 'us-east-1': 4 } },
      { start: '2026-12-24T17:00Z', durationMinutes: 60, minTasks: { 'us-east-1': 4 } },
    ]),
    {},
  );
});

const policy: ScalingPolicy = {
  targetRequestsPerTask: 600,
  targetCpuPercent: 70,
  tolerance: 0.1,
  scaleInStabilizationSeconds: 300,
  maxScaleOutStep: 10,
  minTasks: 2,
  maxTasks: 20,
};

test('a scheduled floor holds the count with its own reason and why', () => {
  const decision = decideTasks(policy, {
    now: 0,
    running: 4,
    desired: 4,
    requestsPerMinute: 600,
    rolloutInProgress: false,
    history: [],
    floor: 10,
    floorBecause: 'scheduled window "launch" (0 9 * * *, 60 min)',
    floorReason: 'Scheduled',
  });
  assert.equal(decision.tasks, 10);
  assert.equal(decision.reason, 'Scheduled');
  assert.match(decision.message, /held at the floor of 10 task\(s\) \(scheduled window "launch"/);
});

test('with a schedule, desired tasks stay within [minTasks, maxTasks] for any floor and demand', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 2000 }),
      fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
      fc.integer({ min: 0, max: 100 }),
      (minTasks, span, scheduled, requests, running) => {
        const bounds = { minTasks, maxTasks: Math.max(1, minTasks + span) };
        // Bounded as decide/site.ts bounds a scheduled floor.
        const floor = Math.min(Math.max(scheduled, bounds.minTasks), bounds.maxTasks);
        const d = decideTasks(
          { ...policy, ...bounds },
          {
            now: 0,
            running,
            desired: running,
            ...(requests === undefined ? {} : { requestsPerMinute: requests }),
            rolloutInProgress: false,
            history: [],
            floor,
            floorReason: 'Scheduled',
          },
        );
        return d.tasks >= bounds.minTasks && d.tasks <= bounds.maxTasks && d.tasks >= floor;
      },
    ),
  );
});

test('a declared event raises a region to its floor while the window is open, says Scheduled, and lets go after', async () => {
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const document = demoDocument();
  delete document.spec.canary;
  document.spec.scaling = {
    schedule: [{ name: 'launch', cron: '0 9 * * *', durationMinutes: 30, minTasks: { 'us-east-1': 7 } }],
  };
  await storeSpec(sim, document);
  const T9 = Date.parse('2026-12-07T08:58:00Z');
  const passAt = async (m: number) => {
    const report = await pass(sim, { now: () => new Date(T9 + m * 60_000) });
    sim.tick();
    return report.statuses.get('demo')!.regions['us-east-1']!.scaling!.decision;
  };
  const before = await passAt(0);
  assert.notEqual(before.reason, 'Scheduled');
  await passAt(1);
  const open = await passAt(2); // 09:00
  assert.deepEqual([open.tasks, open.reason], [7, 'Scheduled']);
  assert.match(open.message, /scheduled window "launch" \(0 9 \* \* \*, 30 min\)/);
  const other = (await pass(sim, { now: () => new Date(T9 + 3 * 60_000) })).statuses.get('demo')!.regions[
    'eu-west-1'
  ]!.scaling!.decision;
  assert.notEqual(other.reason, 'Scheduled', 'a region the window does not name');
  let last = open;
  for (let m = 4; m <= 60; m += 1) last = await passAt(m);
  assert.notEqual(last.reason, 'Scheduled');
  assert.ok(last.tasks < 7, 'back below the floor once the window closed and the gate passed');
});
