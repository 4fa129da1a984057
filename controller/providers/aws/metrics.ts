import {
  GetMetricDataCommand,
  type GetMetricDataInput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { CloudError } from '../../errors.ts';
import {
  GET_METRIC_DATA_MAX,
  type MetricQuery,
  type MetricSeries,
  type MetricsPort,
} from '../../ports/metrics.ts';
import type { AwsClients } from './clients.ts';
import { fromAwsError } from './errors.ts';

/** A GetMetricData answer that keeps paginating past this is treated as broken. */
const MAX_PAGES = 1000;

/**
 * CloudWatch GetMetricData through the AWS SDK. Pages are followed to the
 * end and merged per query id; each query gets exactly one series, oldest
 * point first, empty when CloudWatch had no data.
 */
export class AwsMetrics implements MetricsPort {
  constructor(private readonly clients: AwsClients) {}

  async getMetricData(
    region: string,
    queries: readonly MetricQuery[],
    start: number,
    end: number,
  ): Promise<MetricSeries[]> {
    if (queries.length === 0) return [];
    if (queries.length > GET_METRIC_DATA_MAX) {
      throw new CloudError(
        'Invalid',
        'GetMetricData',
        `GetMetricData takes at most ${GET_METRIC_DATA_MAX} queries a call; got ${queries.length}`,
      );
    }
    const points = new Map<string, MetricSeries['points']>(queries.map((q) => [q.id, []]));
    if (points.size !== queries.length)
      throw new CloudError('Invalid', 'GetMetricData', 'query ids must be unique within one call');

    const input: GetMetricDataInput = {
      MetricDataQueries: queries.map(toQuery),
      StartTime: new Date(start),
      EndTime: new Date(end),
      ScanBy: 'TimestampAscending',
    };
    let token: string | undefined;
    for (let page = 1; ; page += 1) {
      const out = await this.send(region, { ...input, NextToken: token });
      for (const result of out.MetricDataResults ?? []) {
        const where = `GetMetricData in ${region}`;
        const id = result.Id;
        const series = id === undefined ? undefined : points.get(id);
        if (series === undefined)
          throw new CloudError(
            'Unavailable',
            where,
            `CloudWatch answered for a query id it was not asked: ${id}`,
          );
        if (result.StatusCode === 'Forbidden') {
          throw new CloudError(
            'AccessDenied',
            where,
            `CloudWatch refused query ${id}: ${messages(result.Messages)}. Grant cloudwatch:GetMetricData on * to the reconciler's role.`,
          );
        }
        if (result.StatusCode === 'InternalError')
          throw new CloudError(
            'Unavailable',
            where,
            `CloudWatch failed query ${id}: ${messages(result.Messages)}`,
          );
        const timestamps = result.Timestamps ?? [];
        const values = result.Values ?? [];
        if (timestamps.length !== values.length) {
          throw new CloudError(
            'Unavailable',
            where,
            `CloudWatch answered query ${id} with ${timestamps.length} timestamps and ${values.length} values`,
          );
        }
        timestamps.forEach((t, i) => series.push({ timestamp: new Date(t).getTime(), value: values[i]! }));
      }
      const next = out.NextToken || undefined;
      if (next === undefined) break;
      if (next === token || page >= MAX_PAGES) {
        throw new CloudError(
          'Unavailable',
          `GetMetricData in ${region}`,
          `CloudWatch kept paginating (page ${page}); giving up this pass`,
        );
      }
      token = next;
    }
    return queries.map((q) => ({
      id: q.id,
      points: points.get(q.id)!.sort((a, b) => a.timestamp - b.timestamp),
    }));
  }

  private async send(region: string, input: GetMetricDataInput) {
    try {
      return await this.clients.cloudwatch(region).send(new GetMetricDataCommand(input));
    } catch (error) {
      // GetMetricData has no resource-level permissions: IAM grants it on *.
      throw fromAwsError(error, 'cloudwatch', 'GetMetricData', '*');
    }
  }
}

function toQuery(q: MetricQuery): MetricDataQuery {
  return {
    Id: q.id,
    MetricStat: {
      Metric: {
        Namespace: q.namespace,
        MetricName: q.metric,
        // Sorted, so equal queries are sent identically.
        Dimensions: Object.entries(q.dimensions)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([Name, Value]) => ({ Name, Value })),
      },
      Period: q.periodSeconds,
      Stat: q.stat,
    },
    ReturnData: true,
  };
}

function messages(list: readonly { Code?: string; Value?: string }[] | undefined): string {
  const text = (list ?? []).map((m) => [m.Code, m.Value].filter(Boolean).join(': ')).join('; ');
  return text === '' ? 'no detail' : text;
}
