/**
 * The CloudWatch dashboard that shows every site. A dashboard is one JSON
 * body replaced whole on every write, so the port is just get and put.
 *
 * Dashboards belong to the account, not to a region, but the API is reached
 * through a regional endpoint. Each reconciler calls its own region's, so the
 * region holding the dashboard duty (decide/ownership.ts) needs no other.
 */
export interface DashboardPort {
  /** The dashboard's body, or undefined when no dashboard has this name. */
  getDashboard(name: string): Promise<string | undefined>;
  /** Creates the dashboard or replaces its whole body. */
  putDashboard(name: string, body: string): Promise<void>;
}
