import type { CdnAction } from '../model/actions.ts';
import { canonicalJson } from '../model/naming.ts';
import type { ObservedCdn, ObservedDistribution } from '../model/observed.ts';
import type { DistributionConfig } from '../ports/cdn.ts';

/**
 * Plans a site's distribution: exactly one, owned, matching `desired`; any
 * other owned one (or all, when the site is gone) is disabled, then deleted
 * once the disable has deployed.
 */
export function planCdn(
  site: string,
  desired: DistributionConfig | undefined,
  observed: ObservedCdn,
): CdnAction[] {
  const owned = observed.distributions.filter((d) => d.owned).sort((a, b) => (a.id < b.id ? -1 : 1));
  const [keep, ...extras] = desired === undefined ? [undefined, ...owned] : owned;
  const actions: CdnAction[] = [];
  if (desired !== undefined) {
    if (keep === undefined) actions.push({ site, kind: 'CreateDistribution', config: desired });
    else if (!sameConfig(keep.config, desired))
      actions.push({ site, kind: 'UpdateDistribution', id: keep.id, config: desired });
  }
  for (const extra of extras) {
    if (extra !== undefined) actions.push(...retire(site, extra));
  }
  return actions;
}

function retire(site: string, distribution: ObservedDistribution): CdnAction[] {
  if (distribution.config.enabled) {
    return [
      {
        site,
        kind: 'UpdateDistribution',
        id: distribution.id,
        config: { ...distribution.config, enabled: false },
      },
    ];
  }
  if (distribution.status === 'Deployed') return [{ site, kind: 'DeleteDistribution', id: distribution.id }];
  return []; // the disable is still deploying
}

export function sameConfig(a: DistributionConfig, b: DistributionConfig): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
