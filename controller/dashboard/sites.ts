import type { Platform } from '../model/platform.ts';
import { targetGroupName } from '../model/naming.ts';
import { isOwnedBy } from '../model/tags.ts';
import type { PassReport } from '../reconcile/pass.ts';
import type { DashboardSite } from './body.ts';

/** The name of the dashboard the reconciler keeps; the bootstrap's own dashboard is separate. */
export const SITES_DASHBOARD = 'tandem-sites';

/**
 * What the dashboard shows for the sites a pass reconciled: each valid site's
 * regions with their load balancer and target groups as observed, its canary
 * weight and its distribution. Pure.
 */
export function dashboardSites(reports: readonly PassReport[], platform: Platform): DashboardSite[] {
  const sites: DashboardSite[] = [];
  for (const report of reports) {
    for (const outcome of report.sites) {
      if (outcome.site === undefined || outcome.observed === undefined) continue;
      const name = outcome.name;
      const status = report.statuses.get(name);
      const groupArn = (region: string, track: 'stable' | 'canary') =>
        outcome.observed?.regions[region]?.targetGroups.find(
          (tg) => tg.name === targetGroupName(name, track) && isOwnedBy(tg.tags, name),
        )?.arn;
      const regions = outcome.site.spec.regions.flatMap((r) => {
        const where = platform.regions[r.name];
        if (where === undefined) return [];
        const stable = groupArn(r.name, 'stable');
        const canary = groupArn(r.name, 'canary');
        return [
          {
            region: r.name,
            role: r.role,
            loadBalancerArn: where.loadBalancerArn,
            cluster: where.cluster,
            ...(stable === undefined ? {} : { stableTargetGroupArn: stable }),
            ...(canary === undefined ? {} : { canaryTargetGroupArn: canary }),
          },
        ];
      });
      const distributionId = status?.cdn.distributionId;
      sites.push({
        site: name,
        regions,
        ...(outcome.decisions === undefined ? {} : { canaryWeight: outcome.decisions.canaryWeight }),
        ...(distributionId === undefined ? {} : { distributionId }),
      });
    }
  }
  return sites;
}
