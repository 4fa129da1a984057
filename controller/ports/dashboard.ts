/**
 * The CloudWatch dashboard that shows every site. A dashboard is one JSON
 * body replaced whole on every write, so the port is just get and put.
 *
 * Dashboards belong to the account, not to a region, but the API is reached
 * through a regional endpoint. Providers always call it in us-east-1
 * (CLOUDFRONT_REGION): the bootstrap creates the dashboard there, CloudFront's
 * own metrics live there, and a fixed region means one client, one endpoint
 * override and one IAM statement, whichever regions the sites run in.
 */
export interface DashboardPort {
  /** The dashboard's body, or undefined when no dashboard has this name. */
  getDashboard(name: string): Promise<string | undefined>;
  /** Creates the dashboard or replaces its whole body. */
  putDashboard(name: string, body: string): Promise<void>;
}
