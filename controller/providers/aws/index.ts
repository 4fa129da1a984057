import type { Ports } from '../../ports/index.ts';
import { withTaskDefinitionTagCache } from '../../ports/task-definition-tags.ts';
import { AwsCdn } from './cdn.ts';
import { AwsDashboard } from './dashboard.ts';
import type { AwsClients } from './clients.ts';
import { AwsEcs } from './ecs.ts';
import { AwsLoadBalancer } from './load-balancer.ts';
import { AwsMetrics } from './metrics.ts';
import { DynamoSpecStore } from './store.ts';

export interface AwsPortsOptions {
  /** SDK clients, shared by every port and reused across invocations. */
  clients: AwsClients;
  /** The DynamoDB table holding specs, statuses and the leases (TANDEM_TABLE). */
  tableName: string;
  /** The region whose replica of the table the store reads and writes (the reconciler's own). */
  region: string;
  /** The store to use, e.g. one with `onMalformed` wired to the log. Default: a DynamoSpecStore on the table. */
  store?: DynamoSpecStore;
}

/** Every port on the AWS SDK: ECS, ELBv2 and CloudWatch per region, CloudFront, the dashboard and the DynamoDB store. */
export function awsPorts(options: AwsPortsOptions): Ports {
  const { clients } = options;
  return {
    // Task definitions' tags are read once per execution environment (they never change).
    ecs: withTaskDefinitionTagCache(new AwsEcs(clients)),
    loadBalancer: new AwsLoadBalancer(clients),
    cdn: new AwsCdn(clients),
    metrics: new AwsMetrics(clients),
    dashboard: new AwsDashboard(clients, options.region),
    store:
      options.store ??
      new DynamoSpecStore(clients.dynamodb(options.region), options.tableName, options.region),
  };
}

export { AwsClients } from './clients.ts';
export { DynamoSpecStore } from './store.ts';
