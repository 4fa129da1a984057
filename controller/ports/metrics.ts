/** GetMetricData takes at most 500 queries a call. */
export const GET_METRIC_DATA_MAX = 500;

export interface MetricQuery {
  /** Unique within one call; answers are matched by it. */
  id: string;
  namespace: 'AWS/ApplicationELB' | 'AWS/ECS' | 'ECS/ContainerInsights';
  metric: string;
  dimensions: Readonly<Record<string, string>>;
  stat: 'Sum' | 'Average' | 'Maximum' | 'p95';
  periodSeconds: number;
}

export interface MetricSeries {
  id: string;
  /** Oldest first, one value per period that has data. */
  points: { timestamp: number; value: number }[];
}

/** CloudWatch in one region. */
export interface MetricsPort {
  /** At most GET_METRIC_DATA_MAX queries, over [start, end) in epoch milliseconds. */
  getMetricData(
    region: string,
    queries: readonly MetricQuery[],
    start: number,
    end: number,
  ): Promise<MetricSeries[]>;
}
