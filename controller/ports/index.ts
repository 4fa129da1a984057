import type { CdnPort } from './cdn.ts';
import type { DashboardPort } from './dashboard.ts';
import type { EcsPort } from './ecs.ts';
import type { LoadBalancerPort } from './load-balancer.ts';
import type { MetricsPort } from './metrics.ts';
import type { SpecStorePort } from './store.ts';

/** Everything a pass talks to. Providers (simulated, local, AWS) implement these. */
export interface Ports {
  ecs: EcsPort;
  loadBalancer: LoadBalancerPort;
  cdn: CdnPort;
  metrics: MetricsPort;
  store: SpecStorePort;
  /** The sites' CloudWatch dashboard; without it, no dashboard is kept. */
  dashboard?: DashboardPort;
}

export type { CdnPort, DashboardPort, EcsPort, LoadBalancerPort, MetricsPort, SpecStorePort };
