import type { Logger } from 'pino';
import { asCloudError } from '../errors.ts';
import type { DashboardPort } from '../ports/dashboard.ts';
import type { Ports } from '../ports/index.ts';
import { dutyHolder, type Liveness } from '../decide/ownership.ts';
import type { Platform } from '../model/platform.ts';
import type { StoredStatus } from '../ports/store.ts';
import { siteViews } from '../reconcile/view.ts';
import { dashboardBody, type DashboardHealthCheck, type DashboardSite } from './body.ts';
import { dashboardSites, SITES_DASHBOARD } from './sites.ts';

/**
 * Writes `body` only when the stored dashboard differs, so a converged pass
 * makes no write. True when it wrote.
 */
export async function putDashboardIfChanged(
  port: DashboardPort,
  name: string,
  body: string,
): Promise<boolean> {
  if ((await port.getDashboard(name)) === body) return false;
  await port.putDashboard(name, body);
  return true;
}

/** Rewrites the sites' dashboard when its body changed; a failure is logged, never fatal to the pass. */
export async function keepSitesDashboard(
  ports: Ports,
  sites: DashboardSite[],
  log: Logger | undefined,
  healthChecks: readonly DashboardHealthCheck[] = [],
): Promise<void> {
  if (ports.dashboard === undefined) return;
  try {
    if (await putDashboardIfChanged(ports.dashboard, SITES_DASHBOARD, dashboardBody(sites, healthChecks))) {
      log?.info({ dashboard: SITES_DASHBOARD, sites: sites.length }, 'dashboard updated');
    }
  } catch (error) {
    log?.warn(
      { err: asCloudError(error, SITES_DASHBOARD).message },
      'dashboard not updated; the next pass retries',
    );
  }
}

export interface SitesDashboardDuty {
  /** The region whose reconciler asks; its ports write the dashboard. */
  region: string;
  ports: Ports;
  platform: Platform;
  /** Every platform region, primary first: the order in which they take the duty. */
  regionOrder: readonly string[];
  /** Every region's status items, as this region's replica holds them (with this pass's own). */
  statuses: readonly StoredStatus[];
  liveness: Liveness;
  log: Logger | undefined;
}

/**
 * Keeps the sites' dashboard when `region` holds that duty (the first region
 * in the order whose reconciler is alive), from every region's reports
 * merged. False when another region holds it.
 */
export async function keepSitesDashboardAsHolder(duty: SitesDashboardDuty): Promise<boolean> {
  if (dutyHolder(duty.regionOrder, duty.region, duty.liveness) !== duty.region) return false;
  const views = siteViews(duty.statuses, duty.liveness);
  const healthChecks = Object.values(duty.platform.regions).flatMap((r) =>
    r.healthCheckId === undefined ? [] : [{ region: r.region, healthCheckId: r.healthCheckId }],
  );
  await keepSitesDashboard(duty.ports, dashboardSites(views.values(), duty.platform), duty.log, healthChecks);
  return true;
}
