import { createHash } from 'node:crypto';
import {
  CloudWatchClient,
  DashboardInvalidInputError,
  DashboardNotFoundError,
  GetDashboardCommand,
  GetMetricDataCommand,
  InvalidNextToken,
  InvalidParameterValueException,
  PutDashboardCommand,
  type DashboardValidationMessage,
  type GetDashboardCommandInput,
  type GetDashboardCommandOutput,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type MetricDataResult,
  type PutDashboardCommandInput,
  type PutDashboardCommandOutput,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { FAKE_ACCOUNT } from './cloudfront.ts';

/** GetMetricData's documented limits. */
const MAX_QUERIES = 500;
const DEFAULT_MAX_DATAPOINTS = 100_800;
const WIDGET_TYPES = new Set(['metric', 'text', 'log', 'alarm', 'explorer']);

export interface FakeMetric {
  namespace: string;
  metric: string;
  dimensions: Readonly<Record<string, string>>;
  /** The statistic these values are, as a query names it (Sum, Average, p95...). */
  stat: string;
}

interface Series extends FakeMetric {
  region: string;
  points: { timestamp: number; value: number }[];
}

type ErrorClass = new (options: { message: string; $metadata: { httpStatusCode: number } }) => Error;

function fail(Class: ErrorClass, status: number, message: string): never {
  throw new Class({ message, $metadata: { httpStatusCode: status } });
}

/**
 * A stateful CloudWatch behind aws-sdk-client-mock: GetMetricData over
 * stored datapoints (at most 500 queries, ids unique and starting with a
 * lowercase letter, [StartTime, EndTime), ScanBy, pages of at most
 * `maxDatapoints` points joined by NextToken), and dashboards
 * (GetDashboard, PutDashboard with the body validated), in every region.
 */
export class FakeCloudWatch {
  readonly mock = mockClient(CloudWatchClient);
  readonly dashboards = new Map<string, string>();
  private readonly series: Series[] = [];
  private readonly injected: { command: string; error?: Error; reply?: unknown }[] = [];

  /** `maxDatapoints`: points a page holds before NextToken (CloudWatch's default is 100,800). */
  constructor(private readonly maxDatapoints = DEFAULT_MAX_DATAPOINTS) {
    this.mock
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput, client: () => RegionalClient) =>
        this.handle('GetMetricData', input, client, this.getMetricData),
      )
      .on(GetDashboardCommand)
      .callsFake((input: GetDashboardCommandInput, client: () => RegionalClient) =>
        this.handle('GetDashboard', input, client, this.getDashboard),
      )
      .on(PutDashboardCommand)
      .callsFake((input: PutDashboardCommandInput, client: () => RegionalClient) =>
        this.handle('PutDashboard', input, client, this.putDashboard),
      );
  }

  /** Regions GetDashboard and PutDashboard were called in, in order. */
  readonly dashboardRegions: string[] = [];

  restore(): void {
    this.mock.restore();
  }

  /** Datapoints CloudWatch holds for one metric and statistic in `region`. */
  putData(region: string, metric: FakeMetric, points: readonly { timestamp: number; value: number }[]): void {
    this.series.push({ region, ...metric, points: [...points] });
  }

  failNext(command: string, error: Error): void {
    this.injected.push({ command, error });
  }

  /** The next call of `command` answers `reply` as it is, valid or not. */
  replyNext(command: string, reply: unknown): void {
    this.injected.push({ command, reply });
  }

  /** Runs `body` in the region of the client that sent the command. */
  private async handle<I, O>(
    command: string,
    input: I,
    client: () => RegionalClient,
    body: (input: I, region: string) => O,
  ): Promise<O> {
    const region = await client().config.region();
    const i = this.injected.findIndex((x) => x.command === command);
    if (i >= 0) {
      const next = this.injected.splice(i, 1)[0]!;
      if (next.error !== undefined) throw next.error;
      return structuredClone(next.reply) as O;
    }
    return structuredClone(body.call(this, structuredClone(input), region));
  }

  private getMetricData(input: GetMetricDataCommandInput, region: string): GetMetricDataCommandOutput {
    const queries = input.MetricDataQueries ?? [];
    if (queries.length === 0) fail(InvalidParameterValueException, 400, 'MetricDataQueries is required');
    if (queries.length > MAX_QUERIES)
      fail(
        InvalidParameterValueException,
        400,
        `The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`,
      );
    const ids = new Set<string>();
    for (const q of queries) {
      if (!/^[a-z][A-Za-z0-9_]{0,254}$/.test(q.Id ?? ''))
        fail(
          InvalidParameterValueException,
          400,
          `The value ${q.Id} for parameter MetricDataQueries.member.Id is not valid.`,
        );
      if (ids.has(q.Id!)) fail(InvalidParameterValueException, 400, `The Id ${q.Id} is used more than once.`);
      ids.add(q.Id!);
      const stat = q.MetricStat;
      if (stat?.Metric?.Namespace === undefined || stat.Metric.MetricName === undefined || !stat.Stat)
        fail(
          InvalidParameterValueException,
          400,
          `Query ${q.Id} needs MetricStat with a metric and a statistic.`,
        );
      if (stat.Period === undefined || stat.Period < 1 || (stat.Period >= 60 && stat.Period % 60 !== 0))
        fail(InvalidParameterValueException, 400, `Query ${q.Id}: the period must be a multiple of 60.`);
    }
    const start = input.StartTime?.getTime();
    const end = input.EndTime?.getTime();
    if (start === undefined || end === undefined || !(start < end))
      fail(
        InvalidParameterValueException,
        400,
        'The parameter StartTime must be less than the parameter EndTime.',
      );
    const ascending = input.ScanBy === 'TimestampAscending';

    // Every point the request selects, query by query, in scan order; pages cut this list.
    const selected = queries.map((q) => {
      const m = q.MetricStat!;
      const dims = canonical(
        Object.fromEntries((m.Metric!.Dimensions ?? []).map((d) => [d.Name!, d.Value!])),
      );
      const points = this.series
        .filter(
          (s) =>
            s.region === region &&
            s.namespace === m.Metric!.Namespace &&
            s.metric === m.Metric!.MetricName &&
            s.stat === m.Stat &&
            canonical(s.dimensions) === dims,
        )
        .flatMap((s) => s.points)
        .filter((p) => p.timestamp >= start && p.timestamp < end)
        .sort((a, b) => (ascending ? a.timestamp - b.timestamp : b.timestamp - a.timestamp));
      return { id: q.Id!, label: m.Metric!.MetricName!, points };
    });

    const fingerprint = createHash('sha256')
      .update(canonical({ queries, start, end, ascending, region }))
      .digest('hex')
      .slice(0, 16);
    let offset = 0;
    if (input.NextToken !== undefined) {
      const token = decodeToken(input.NextToken);
      if (token === undefined || token.f !== fingerprint)
        fail(InvalidNextToken, 400, 'The service returned an invalid NextToken.');
      offset = token.o;
    }
    const limit = this.maxDatapoints;
    const results: MetricDataResult[] = [];
    let seen = 0;
    for (const q of selected) {
      const from = Math.max(0, offset - seen);
      const to = Math.min(q.points.length, offset + limit - seen);
      seen += q.points.length;
      if (from < to || (offset === 0 && q.points.length === 0)) {
        const slice = q.points.slice(from, Math.max(from, to));
        results.push({
          Id: q.id,
          Label: q.label,
          Timestamps: slice.map((p) => new Date(p.timestamp)),
          Values: slice.map((p) => p.value),
          StatusCode: to < q.points.length ? 'PartialData' : 'Complete',
        });
      }
    }
    const next = offset + limit < seen ? encodeToken({ o: offset + limit, f: fingerprint }) : undefined;
    return { $metadata: {}, MetricDataResults: results, Messages: [], ...(next ? { NextToken: next } : {}) };
  }

  private getDashboard(input: GetDashboardCommandInput, region: string): GetDashboardCommandOutput {
    this.dashboardRegions.push(region);
    const name = input.DashboardName ?? '';
    const body = this.dashboards.get(name);
    if (body === undefined) fail(DashboardNotFoundError, 404, `Dashboard ${name} does not exist`);
    return {
      $metadata: {},
      DashboardArn: `arn:aws:cloudwatch::${FAKE_ACCOUNT}:dashboard/${name}`,
      DashboardBody: body,
      DashboardName: name,
    };
  }

  private putDashboard(input: PutDashboardCommandInput, region: string): PutDashboardCommandOutput {
    this.dashboardRegions.push(region);
    const name = input.DashboardName ?? '';
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
      invalid([{ DataPath: '/DashboardName', Message: 'The name is 1–255 of A-Z, a-z, 0-9, - and _' }]);
    const problems = validateBody(input.DashboardBody ?? '');
    if (problems.length > 0) invalid(problems);
    this.dashboards.set(name, input.DashboardBody!);
    return { $metadata: {}, DashboardValidationMessages: [] };
  }
}

/** What the fake needs of the client that sent a command. */
interface RegionalClient {
  config: { region: () => Promise<string> };
}

function invalid(messages: DashboardValidationMessage[]): never {
  const error = new DashboardInvalidInputError({
    message: `The dashboard body is invalid, there are ${messages.length} validation errors`,
    $metadata: { httpStatusCode: 400 },
  });
  error.dashboardValidationMessages = messages;
  throw error;
}

/** The rules of the documented DashboardBody structure that tandem's body could break. */
function validateBody(body: string): DashboardValidationMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [{ DataPath: '', Message: 'The dashboard body is not valid JSON' }];
  }
  const widgets = (parsed as { widgets?: unknown }).widgets;
  if (!Array.isArray(widgets)) return [{ DataPath: '/widgets', Message: 'Should be array' }];
  const problems: DashboardValidationMessage[] = [];
  if (widgets.length > 500)
    problems.push({ DataPath: '/widgets', Message: 'Should NOT have more than 500 items' });
  widgets.forEach((w: Record<string, unknown>, i) => {
    const at = `/widgets/${i}`;
    if (!WIDGET_TYPES.has(String(w['type'])))
      problems.push({ DataPath: `${at}/type`, Message: 'Invalid type' });
    const x = Number(w['x'] ?? 0);
    const width = Number(w['width'] ?? 6);
    const height = Number(w['height'] ?? 6);
    if (!(x >= 0 && x <= 23)) problems.push({ DataPath: `${at}/x`, Message: 'Should be 0–23' });
    if (!(width >= 1 && width <= 24 && x + width <= 24))
      problems.push({ DataPath: `${at}/width`, Message: 'Should be 1–24 and fit the grid' });
    if (!(height >= 1 && height <= 1000))
      problems.push({ DataPath: `${at}/height`, Message: 'Should be 1–1000' });
    if (!(Number(w['y'] ?? 0) >= 0)) problems.push({ DataPath: `${at}/y`, Message: 'Should be ≥ 0' });
    const p = (w['properties'] ?? {}) as Record<string, unknown>;
    if (w['type'] === 'text' && typeof p['markdown'] !== 'string')
      problems.push({ DataPath: `${at}/properties/markdown`, Message: 'Should be string' });
    if (w['type'] === 'metric') {
      const metrics = p['metrics'];
      if (!Array.isArray(metrics) || metrics.length === 0 || metrics.length > 500)
        problems.push({ DataPath: `${at}/properties/metrics`, Message: 'Should have 1–500 items' });
      else
        metrics.forEach((m: unknown, j) => {
          if (!Array.isArray(m) || typeof m[0] !== 'string' || typeof m[1] !== 'string')
            problems.push({
              DataPath: `${at}/properties/metrics/${j}`,
              Message: 'Should be [namespace, name, ...]',
            });
          else {
            const rest = m.slice(2);
            const options = typeof rest.at(-1) === 'object' ? rest.pop() : undefined;
            if (
              rest.length % 2 !== 0 ||
              rest.some((d) => typeof d !== 'string') ||
              (options && Array.isArray(options))
            )
              problems.push({
                DataPath: `${at}/properties/metrics/${j}`,
                Message: 'Dimensions come in name/value pairs',
              });
          }
        });
      if (typeof p['region'] !== 'string')
        problems.push({ DataPath: `${at}/properties/region`, Message: 'Should be string' });
    }
  });
  return problems;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function encodeToken(token: { o: number; f: string }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(text: string): { o: number; f: string } | undefined {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    return typeof token.o === 'number' && typeof token.f === 'string'
      ? { o: token.o, f: token.f }
      : undefined;
  } catch {
    return undefined;
  }
}
