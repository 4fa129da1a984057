import type { Platform } from '../model/platform.ts';
import type { SiteView } from '../reconcile/view.ts';
import type { DashboardSite } from './body.ts';

/** The name of the dashboard the reconciler keeps; the bootstrap's own dashboard is separate. */
export const SITES_DASHBOARD = 'tandem-sites';

/**
 * What the dashboard shows for each site, from every region's report merged
 * (reconcile/view.ts): the regions with their load balancer and the target
 * groups each region published, the canary's weight and the distribution.
 * Sites that are invalid or being deleted are left out. Pure.
 */
export function dashboardSites(views: Iterable<SiteView>, platform: Platform): DashboardSite[] {
  const sites: DashboardSite[] = [];
  for (const view of views) {
    if (view.conditions.Invalid?.status === 'True' || view.conditions.Deleting?.status === 'True') continue;
    const regions = Object.entries(view.regions)
      .sort(
        ([a, ra], [b, rb]) =>
          Number(rb.role === 'primary') - Number(ra.role === 'primary') || (a < b ? -1 : 1),
      )
      .flatMap(([name, r]) => {
        const where = platform.regions[name];
        if (where === undefined) return [];
        return [
          {
            region: name,
            role: r.role,
            loadBalancerArn: where.loadBalancerArn,
            cluster: where.cluster,
            ...(r.targetGroups?.stable === undefined ? {} : { stableTargetGroupArn: r.targetGroups.stable }),
            ...(r.targetGroups?.canary === undefined ? {} : { canaryTargetGroupArn: r.targetGroups.canary }),
          },
        ];
      });
    if (regions.length === 0) continue;
    const distributionId = view.cdn.distributionId;
    const order = view.cdn.originOrder;
    sites.push({
      ...(order === undefined || order.first === order.primary
        ? {}
        : { askedFirst: { region: order.first, reason: order.reason } }),
      ...(view.cdn.dnsFailover === true ? { dnsFailover: true } : {}),
      site: view.site,
      regions,
      canaryWeight:
        view.canary?.weight ?? Math.max(...Object.values(view.regions).map((r) => r.canaryWeight)),
      ...(distributionId === undefined ? {} : { distributionId }),
    });
  }
  return sites;
}
