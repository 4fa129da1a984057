import {
  DashboardInvalidInputError,
  GetDashboardCommand,
  PutDashboardCommand,
} from '@aws-sdk/client-cloudwatch';
import { CloudError } from '../../errors.ts';
import type { DashboardPort } from '../../ports/dashboard.ts';
import type { AwsClients } from './clients.ts';
import { fromAwsError } from './errors.ts';

/**
 * CloudWatch dashboards through the AWS SDK. Dashboards are global to the
 * account but reached through a regional endpoint: each reconciler uses its
 * own region's, so the one holding the dashboard duty needs no other region.
 */
export class AwsDashboard implements DashboardPort {
  constructor(
    private readonly clients: AwsClients,
    private readonly region: string,
  ) {}

  async getDashboard(name: string): Promise<string | undefined> {
    let body: string | undefined;
    try {
      const out = await this.clients
        .cloudwatch(this.region)
        .send(new GetDashboardCommand({ DashboardName: name }));
      body = out.DashboardBody;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw fromAwsError(error, 'cloudwatch', 'GetDashboard', resource(name));
    }
    if (body === undefined)
      throw new CloudError(
        'Unavailable',
        resource(name),
        'CloudWatch GetDashboard answered without DashboardBody',
      );
    return body;
  }

  /** Validation warnings are accepted (CloudWatch stored the body); errors are Invalid with CloudWatch's reasons. */
  async putDashboard(name: string, body: string): Promise<void> {
    try {
      await this.clients
        .cloudwatch(this.region)
        .send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
    } catch (error) {
      if (error instanceof DashboardInvalidInputError) {
        const reasons = (error.dashboardValidationMessages ?? [])
          .map((m) => `${m.DataPath ?? '(body)'}: ${m.Message ?? ''}`)
          .join('; ');
        throw new CloudError(
          'Invalid',
          resource(name),
          `CloudWatch refused dashboard ${name}: ${reasons === '' ? error.message : reasons}`,
          { cause: error },
        );
      }
      throw fromAwsError(error, 'cloudwatch', 'PutDashboard', resource(name));
    }
  }
}

/** GetDashboard's "no such dashboard": DashboardNotFoundError on the wire code ResourceNotFound. */
function isNotFound(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'DashboardNotFoundError' || name === 'ResourceNotFound';
}

function resource(name: string): string {
  return `dashboard/${name}`;
}
