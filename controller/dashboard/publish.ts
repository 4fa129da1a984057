import type { DashboardPort } from '../ports/dashboard.ts';

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
