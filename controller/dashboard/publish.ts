import type { Logger } from 'pino';
import { asCloudError } from '../errors.ts';
import type { DashboardPort } from '../ports/dashboard.ts';
import type { Ports } from '../ports/index.ts';
import { dashboardBody, type DashboardSite } from './body.ts';
import { SITES_DASHBOARD } from './sites.ts';

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
): Promise<void> {
  if (ports.dashboard === undefined) return;
  try {
    if (await putDashboardIfChanged(ports.dashboard, SITES_DASHBOARD, dashboardBody(sites))) {
      log?.info({ dashboard: SITES_DASHBOARD, sites: sites.length }, 'dashboard updated');
    }
  } catch (error) {
    log?.warn(
      { err: asCloudError(error, SITES_DASHBOARD).message },
      'dashboard not updated; the next pass retries',
    );
  }
}
