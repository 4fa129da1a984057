import { isQuiet, type Liveness } from '../decide/ownership.ts';
import { CONDITION_TYPES, type Condition, type ConditionType, type SiteStatus } from '../model/status.ts';
import type { StoredStatus } from '../ports/store.ts';

/**
 * A site as people see it: every region's report merged into one, with who
 * reported and whether each region's reconciler still does. What `tandem get`
 * and `describe`, the dashboards and the local cloud's page show. Pure.
 */
export interface SiteView extends Omit<SiteStatus, 'region' | 'global'> {
  reporters: Reporter[];
}

export interface Reporter {
  region: string;
  /** True while it holds the site's global duties (its CDN, canary analysis and promotion). */
  global: boolean;
  /** Its reconciler has not finished a pass for a while: its report may be stale, its region lost. */
  quiet: boolean;
  /** Epoch milliseconds its reconciler last finished a pass; absent when it never has. */
  lastPassAt?: number;
  observedGeneration: number;
}

/** Conditions that are good when False (all but Ready): any report saying True makes the site's True. */
const TRUE_WINS: readonly ConditionType[] = CONDITION_TYPES.filter((type) => type !== 'Ready');

/** Each site's view from every region's status items (an item from before statuses were per region counts as one report). */
export function siteViews(statuses: readonly StoredStatus[], liveness: Liveness): Map<string, SiteView> {
  const bySite = new Map<string, StoredStatus[]>();
  for (const s of statuses.filter((s) => s.unreadable === undefined))
    bySite.set(s.name, [...(bySite.get(s.name) ?? []), s]);
  const views = new Map<string, SiteView>();
  for (const [site, items] of [...bySite].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // A region's own report wins over the site's item from before statuses were per region.
    const regional = items.filter((i) => i.region !== undefined);
    const reports =
      regional.length > 0 ? regional.map((i) => i.status) : items.map((i) => ({ ...i.status, global: true }));
    views.set(site, mergeReports(site, reports, liveness));
  }
  return views;
}

export function mergeReports(site: string, reports: readonly SiteStatus[], liveness: Liveness): SiteView {
  const reporters: Reporter[] = reports
    .map((r) => ({
      region: r.region,
      global: r.global,
      quiet: r.region !== '' && isQuiet(r.region, liveness),
      ...(liveness.heartbeats[r.region] === undefined ? {} : { lastPassAt: liveness.heartbeats[r.region] }),
      observedGeneration: r.observedGeneration,
    }))
    .sort((a, b) => (a.region < b.region ? -1 : 1));
  const live = reports.filter((r) => !reporters.find((p) => p.region === r.region)!.quiet);
  const speaking = live.length > 0 ? live : reports;
  const holder =
    speaking.find((r) => r.global) ??
    reports.find((r) => r.global) ??
    reports.find((r) => r.cdn.distributionId);
  const regions = Object.fromEntries(
    reports.flatMap((r) =>
      Object.entries(r.regions).filter(([name]) => r.region === '' || name === r.region),
    ),
  );
  const conditions = mergeConditions(speaking, reports.length > 1);
  const quiet = reporters.filter((r) => r.quiet);
  if (quiet.length > 0) {
    const since = (r: Reporter) =>
      r.lastPassAt === undefined
        ? 'has never reported'
        : `last finished a pass at ${new Date(r.lastPassAt).toISOString()}`;
    const message = quiet.map((r) => `${r.region}'s reconciler is quiet (it ${since(r)})`).join('; ');
    const transition = new Date(Math.max(0, ...quiet.map((r) => r.lastPassAt ?? 0))).toISOString();
    conditions.Degraded = {
      status: 'True',
      reason: 'ReconcilerQuiet',
      message,
      lastTransitionTime: transition,
    };
    if (conditions.Ready?.status === 'True')
      conditions.Ready = {
        status: 'False',
        reason: 'ReconcilerQuiet',
        message,
        lastTransitionTime: transition,
      };
  }
  return {
    site,
    observedGeneration: Math.min(...speaking.map((r) => r.observedGeneration)),
    observedHash: speaking[0]?.observedHash ?? '',
    conditions,
    regions,
    cdn: holder?.cdn ?? {},
    ...(holder?.canary === undefined ? {} : { canary: holder.canary }),
    lastActions: reports.flatMap((r) => r.lastActions),
    errors: reports.flatMap((r) => r.errors),
    reporters,
  };
}

function mergeConditions(reports: readonly SiteStatus[], prefix: boolean): SiteStatus['conditions'] {
  const merged: SiteStatus['conditions'] = {};
  const types = new Set(reports.flatMap((r) => Object.keys(r.conditions) as ConditionType[]));
  for (const type of types) {
    const said = reports.flatMap((r) => {
      const c = r.conditions[type];
      return c === undefined ? [] : [{ region: r.region, condition: c }];
    });
    const bad = TRUE_WINS.includes(type) ? 'True' : 'False';
    const chosen = said.find((s) => s.condition.status === bad) ?? said[0]!;
    merged[type] = labelled(chosen.condition, prefix ? chosen.region : '');
  }
  return merged;
}

function labelled(condition: Condition, region: string): Condition {
  return region === '' ? condition : { ...condition, message: `${region}: ${condition.message}` };
}
