import { CloudError } from '../../errors.ts';
import type { DashboardPort } from '../../ports/dashboard.ts';
import type { SimContext } from './context.ts';

/** CloudWatch dashboards: global to the account, called through `region`'s endpoint as the AWS adapter does. */
export function simDashboard(sim: SimContext, region: string): DashboardPort {
  return {
    getDashboard: (name) =>
      sim.call('cloudwatch', 'GetDashboard', region, false, () => sim.world.dashboards?.[name]),
    putDashboard: (name, body) =>
      sim.call('cloudwatch', 'PutDashboard', region, true, () => {
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
          throw new CloudError('Invalid', name, 'dashboard names are 1–255 of A-Z, a-z, 0-9, - and _');
        sim.world.dashboards = { ...sim.world.dashboards, [name]: body };
      }),
  };
}
