import type { Action } from '../model/actions.ts';
import type { ObservedSite } from '../model/observed.ts';
import { planCdn } from './cdn.ts';
import type { DesiredSite } from './desired.ts';
import { planRegion, type Blocker } from './region.ts';

export interface SitePlan {
  actions: Action[];
  /** Per region: what keeps it from converging until a person acts. */
  blockers: Record<string, Blocker[]>;
}

/** Allocates listener-rule priorities per region; shared by all sites planned in one pass. */
export type PriorityAllocator = (region: string) => number;

/**
 * The plan for one site: each observed region (a reconciler observes only its
 * own), then the CDN when it was observed (its duty holder's). `desired` is
 * undefined when the site was deleted, so everything it owns is removed.
 * Regions that could not be observed get no actions.
 */
export function planSite(
  desired: DesiredSite | undefined,
  observed: ObservedSite,
  allocatePriority: PriorityAllocator,
): SitePlan {
  const actions: Action[] = [];
  const blockers: Record<string, Blocker[]> = {};
  for (const region of Object.values(observed.regions)) {
    if (region.error !== undefined) continue;
    const wanted = desired?.regions.find((r) => r.region === region.region);
    const plan = planRegion(observed.name, wanted, region, () => allocatePriority(region.region));
    actions.push(...plan.actions);
    if (plan.blockers.length > 0) blockers[region.region] = plan.blockers;
  }
  if (observed.cdn !== undefined && observed.cdn.error === undefined)
    actions.push(...planCdn(observed.name, desired?.distribution, observed.cdn));
  return { actions, blockers };
}

/** Lowest free priority per region, given the priorities the listeners already use. */
export function priorityAllocator(taken: Readonly<Record<string, ReadonlySet<number>>>): PriorityAllocator {
  const used = new Map(Object.entries(taken).map(([region, set]) => [region, new Set(set)]));
  return (region) => {
    const set = used.get(region) ?? new Set<number>();
    used.set(region, set);
    let priority = 1;
    while (set.has(priority)) priority += 1;
    set.add(priority);
    return priority;
  };
}
