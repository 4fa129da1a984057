import { seededRandom } from '../../random.ts';
import { CloudError } from '../../errors.ts';
import {
  GET_METRIC_DATA_MAX,
  type MetricQuery,
  type MetricSeries,
  type MetricsPort,
} from '../../ports/metrics.ts';
import type { TargetGroupRequest } from './types.ts';

export interface LocalMetricsOptions {
  /** Seconds per local bucket, a positive integer; queries may ask for any multiple of it. */
  periodSeconds: number;
  /** Epoch milliseconds now. Default `Date.now`. */
  clock?: () => number;
  /** Buckets that started longer ago than this are dropped on the next write. Default 3600. */
  retentionSeconds?: number;
  /** Samples kept per bucket for p95 (a reservoir; counts, sums and maxima stay exact). Default 2000. */
  samplesPerBucket?: number;
  /** True while a region is failed (`tandem fail-region`): its GetMetricData is Unavailable. Default never. */
  failing?: (region: string) => boolean;
}

type Namespace = MetricQuery['namespace'];
type Dimensions = Readonly<Record<string, string>>;

const ALB: Namespace = 'AWS/ApplicationELB';
const ID_PATTERN = /^[a-z][A-Za-z0-9_]{0,254}$/;
/** ALB counts of a target group: they read 0, not missing, while the target group is in use. */
const TARGET_GROUP_COUNTS: ReadonlySet<string> = new Set([
  'RequestCount',
  'HTTPCode_Target_2XX_Count',
  'HTTPCode_Target_3XX_Count',
  'HTTPCode_Target_4XX_Count',
  'HTTPCode_Target_5XX_Count',
]);
/** ALB counts of the load balancer alone: they read 0 while any of its target groups is in use. */
const LOAD_BALANCER_COUNTS: ReadonlySet<string> = new Set(['HTTPCode_ELB_5XX_Count']);

/** One metric's observations in one local bucket. */
interface Bucket {
  sum: number;
  count: number;
  max: number;
  /** A uniform sample of the values, for percentiles; undefined for counters (every value is 1). */
  samples?: number[];
  /** Values offered to `samples`, so a capped reservoir can be weighted against the others. */
  seen: number;
}

interface RegionStore {
  /** Series key (namespace, metric, dimensions) → bucket start → bucket. */
  series: Map<string, Map<number, Bucket>>;
  /** Dimensions key → starts of the buckets in which that target group or load balancer was in use. */
  inUse: Map<string, Set<number>>;
}

/**
 * The local cloud's CloudWatch: the load balancers' requests and the
 * runtime's gauges go into aligned time buckets, and GetMetricData is
 * answered from them as CloudWatch would (complete periods only, exact
 * dimensions, zeros for a target group in use). No timers: time comes from
 * `clock`, so answers are deterministic.
 */
export class LocalMetrics {
  private readonly periodMs: number;
  private readonly clock: () => number;
  private readonly retentionMs: number;
  private readonly samplesPerBucket: number;
  private readonly failing: (region: string) => boolean;
  private readonly regions = new Map<string, RegionStore>();
  private prunedAt: number | undefined;
  private readonly random = seededRandom(0x7a9d3e1);

  constructor(options: LocalMetricsOptions) {
    if (!Number.isInteger(options.periodSeconds) || options.periodSeconds <= 0)
      throw new CloudError(
        'Invalid',
        'LocalMetrics',
        `periodSeconds must be a positive whole number of seconds; got ${options.periodSeconds}`,
      );
    this.periodMs = options.periodSeconds * 1000;
    this.clock = options.clock ?? Date.now;
    this.retentionMs = (options.retentionSeconds ?? 3600) * 1000;
    this.samplesPerBucket = Math.max(1, options.samplesPerBucket ?? 2000);
    this.failing = options.failing ?? (() => false);
  }

  /** Seconds per local bucket: the smallest period a query may ask for. */
  get periodSeconds(): number {
    return this.periodMs / 1000;
  }

  /**
   * One request a load balancer forwarded. An ELB error (target unreachable)
   * still counts as a request of the target group, as on ALB, but as an ELB
   * 5xx of the load balancer rather than a target 5xx, and has no response time.
   */
  recordRequest(r: TargetGroupRequest): void {
    const at = this.beforeWrite();
    const group = { TargetGroup: r.targetGroupDimension, LoadBalancer: r.loadBalancerDimension };
    const balancer = { LoadBalancer: r.loadBalancerDimension };
    const store = this.store(r.region);
    this.markInUse(store, group, at);
    this.markInUse(store, balancer, at);
    this.count(store, 'RequestCount', group, at);
    if (r.elbError === true) {
      this.count(store, 'HTTPCode_ELB_5XX_Count', balancer, at);
      return;
    }
    const statusClass = Math.floor(r.status / 100);
    if (statusClass >= 2 && statusClass <= 5)
      this.count(store, `HTTPCode_Target_${statusClass}XX_Count`, group, at);
    this.observe(store, ALB, 'TargetResponseTime', group, at, r.latencyMs / 1000);
  }

  /**
   * A gauge sample (HealthyHostCount, CPUUtilization, RunningTaskCount...),
   * read with Average, Maximum or p95. An ALB gauge under {TargetGroup,
   * LoadBalancer} also marks that target group in use for the bucket, so its
   * request counts read 0 rather than missing.
   */
  recordGauge(
    region: string,
    namespace: Namespace,
    metric: string,
    dimensions: Dimensions,
    value: number,
  ): void {
    const at = this.beforeWrite();
    const store = this.store(region);
    if (namespace === ALB && isTargetGroupDimensions(dimensions)) {
      this.markInUse(store, dimensions, at);
      this.markInUse(store, { LoadBalancer: dimensions.LoadBalancer! }, at);
    }
    this.observe(store, namespace, metric, dimensions, at, value);
  }

  /** GetMetricData over these buckets, for the reconciler: a failed region's calls fail. */
  port(): MetricsPort {
    return { getMetricData: async (region, queries, start, end) => this.answer(region, queries, start, end) };
  }

  /** The same answers for the dashboard page, which shows a failed region's metrics too. */
  read(region: string, queries: readonly MetricQuery[], start: number, end: number): MetricSeries[] {
    return this.answer(region, queries, start, end, { evenIfFailing: true });
  }

  private answer(
    region: string,
    queries: readonly MetricQuery[],
    start: number,
    end: number,
    options: { evenIfFailing?: boolean } = {},
  ): MetricSeries[] {
    if (!options.evenIfFailing && this.failing(region))
      throw new CloudError(
        'Unavailable',
        'GetMetricData',
        `${region} is failing (tandem fail-region); heal it with tandem heal-region ${region}`,
      );
    this.validate(queries, start, end);
    const now = this.clock();
    const store = this.regions.get(region);
    return queries.map((q) => ({
      id: q.id,
      points: store === undefined ? [] : this.points(store, q, start, end, now),
    }));
  }

  private validate(queries: readonly MetricQuery[], start: number, end: number): void {
    const invalid = (message: string) => new CloudError('Invalid', 'GetMetricData', message);
    if (queries.length > GET_METRIC_DATA_MAX)
      throw invalid(
        `GetMetricData takes at most ${GET_METRIC_DATA_MAX} queries a call; got ${queries.length}: split them into batches`,
      );
    if (!Number.isFinite(start) || !Number.isFinite(end) || start >= end)
      throw invalid(`the start time must be before the end time; got [${start}, ${end})`);
    const ids = new Set<string>();
    for (const q of queries) {
      if (!ID_PATTERN.test(q.id))
        throw invalid(
          `query id ${JSON.stringify(q.id)} must start with a lowercase letter and hold only letters, digits and _ (at most 255 characters)`,
        );
      if (ids.has(q.id))
        throw invalid(`query id ${q.id} is used twice: query ids must be unique within one call`);
      ids.add(q.id);
      const periodSeconds = this.periodMs / 1000;
      if (!Number.isInteger(q.periodSeconds) || q.periodSeconds <= 0 || q.periodSeconds % periodSeconds !== 0)
        throw invalid(
          `query ${q.id} asks for a period of ${q.periodSeconds} s: use a positive multiple of the local period, ${periodSeconds} s`,
        );
    }
  }

  /** The query's points: one per complete query period in [start, end) that has data, oldest first. */
  private points(store: RegionStore, q: MetricQuery, start: number, end: number, now: number) {
    const periodMs = q.periodSeconds * 1000;
    const buckets = store.series.get(seriesKey(q.namespace, q.metric, q.dimensions));
    const zeroFill =
      q.namespace === ALB &&
      q.stat === 'Sum' &&
      ((isTargetGroupDimensions(q.dimensions) && TARGET_GROUP_COUNTS.has(q.metric)) ||
        (isLoadBalancerDimensions(q.dimensions) && LOAD_BALANCER_COUNTS.has(q.metric)));
    const inUse = zeroFill ? store.inUse.get(dimensionsKey(q.dimensions)) : undefined;

    // Every local bucket lies inside exactly one query period, since the query period is a multiple.
    const periods = new Map<number, Bucket[]>();
    const periodOf = (bucketStart: number) => Math.floor(bucketStart / periodMs) * periodMs;
    for (const [bucketStart, bucket] of buckets ?? []) {
      const p = periodOf(bucketStart);
      const list = periods.get(p);
      if (list === undefined) periods.set(p, [bucket]);
      else list.push(bucket);
    }
    for (const bucketStart of inUse ?? []) {
      const p = periodOf(bucketStart);
      if (!periods.has(p)) periods.set(p, []);
    }
    return [...periods]
      .filter(([p]) => p >= start && p < end && p + periodMs <= now)
      .sort(([a], [b]) => a - b)
      .map(([timestamp, list]) => ({ timestamp, value: list.length === 0 ? 0 : statistic(q.stat, list) }));
  }

  /** The bucket `clock()` falls in; drops expired buckets once per new bucket. */
  private beforeWrite(): number {
    const now = this.clock();
    const at = Math.floor(now / this.periodMs) * this.periodMs;
    if (this.prunedAt !== at) {
      this.prunedAt = at;
      this.prune(now - this.retentionMs);
    }
    return at;
  }

  private prune(cutoff: number): void {
    for (const store of this.regions.values()) {
      for (const [key, buckets] of store.series) {
        for (const bucketStart of buckets.keys()) if (bucketStart < cutoff) buckets.delete(bucketStart);
        if (buckets.size === 0) store.series.delete(key);
      }
      for (const [key, starts] of store.inUse) {
        for (const bucketStart of starts) if (bucketStart < cutoff) starts.delete(bucketStart);
        if (starts.size === 0) store.inUse.delete(key);
      }
    }
  }

  private store(region: string): RegionStore {
    let store = this.regions.get(region);
    if (store === undefined) {
      store = { series: new Map(), inUse: new Map() };
      this.regions.set(region, store);
    }
    return store;
  }

  private markInUse(store: RegionStore, dimensions: Dimensions, at: number): void {
    const key = dimensionsKey(dimensions);
    let starts = store.inUse.get(key);
    if (starts === undefined) {
      starts = new Set();
      store.inUse.set(key, starts);
    }
    starts.add(at);
  }

  /** A counter increment: exact, no samples kept (every value is 1). */
  private count(store: RegionStore, metric: string, dimensions: Dimensions, at: number): void {
    const bucket = this.bucket(store, ALB, metric, dimensions, at, false);
    bucket.sum += 1;
    bucket.count += 1;
    bucket.max = 1;
  }

  private observe(
    store: RegionStore,
    namespace: Namespace,
    metric: string,
    dimensions: Dimensions,
    at: number,
    value: number,
  ): void {
    const bucket = this.bucket(store, namespace, metric, dimensions, at, true);
    bucket.sum += value;
    bucket.count += 1;
    bucket.max = Math.max(bucket.max, value);
    const samples = bucket.samples ?? (bucket.samples = []);
    // Reservoir sampling (Algorithm R): every value seen has the same chance to be kept.
    bucket.seen += 1;
    if (samples.length < this.samplesPerBucket) samples.push(value);
    else {
      const slot = Math.floor(this.random() * bucket.seen);
      if (slot < this.samplesPerBucket) samples[slot] = value;
    }
  }

  private bucket(
    store: RegionStore,
    namespace: Namespace,
    metric: string,
    dimensions: Dimensions,
    at: number,
    sampled: boolean,
  ): Bucket {
    const key = seriesKey(namespace, metric, dimensions);
    let buckets = store.series.get(key);
    if (buckets === undefined) {
      buckets = new Map();
      store.series.set(key, buckets);
    }
    let bucket = buckets.get(at);
    if (bucket === undefined) {
      bucket = { sum: 0, count: 0, max: -Infinity, seen: 0, ...(sampled ? { samples: [] } : {}) };
      buckets.set(at, bucket);
    }
    return bucket;
  }
}

/** One statistic over the local buckets of a query period. */
function statistic(stat: MetricQuery['stat'], buckets: readonly Bucket[]): number {
  switch (stat) {
    case 'Sum':
      return buckets.reduce((total, b) => total + b.sum, 0);
    case 'Average':
      return buckets.reduce((total, b) => total + b.sum, 0) / buckets.reduce((n, b) => n + b.count, 0);
    case 'Maximum':
      return Math.max(...buckets.map((b) => b.max));
    case 'p95':
      return percentile(0.95, buckets);
  }
}

/**
 * Nearest-rank percentile of all values in the buckets: the smallest value
 * with at least `fraction` of all values at or below it. A bucket whose
 * reservoir is full stands for more values than it holds, so its samples are
 * weighted by seen / kept. Counters keep no samples: all their values are 1.
 */
function percentile(fraction: number, buckets: readonly Bucket[]): number {
  const weighted: { value: number; weight: number }[] = [];
  for (const b of buckets) {
    if (b.samples === undefined || b.samples.length === 0) {
      if (b.count > 0) weighted.push({ value: b.max, weight: b.count });
      continue;
    }
    const weight = b.seen / b.samples.length;
    for (const value of b.samples) weighted.push({ value, weight });
  }
  weighted.sort((a, b) => a.value - b.value);
  const total = weighted.reduce((sum, w) => sum + w.weight, 0);
  // The tolerance absorbs float error in fraction * total (0.95 * 20 must reach rank 19).
  const rank = fraction * total - 1e-9 * total;
  let seen = 0;
  for (const w of weighted) {
    seen += w.weight;
    if (seen >= rank) return w.value;
  }
  return weighted.at(-1)?.value ?? NaN;
}

function isTargetGroupDimensions(dimensions: Dimensions): boolean {
  const keys = Object.keys(dimensions);
  return keys.length === 2 && 'TargetGroup' in dimensions && 'LoadBalancer' in dimensions;
}

function isLoadBalancerDimensions(dimensions: Dimensions): boolean {
  const keys = Object.keys(dimensions);
  return keys.length === 1 && keys[0] === 'LoadBalancer';
}

/** Dimensions as a key that ignores their order, so matching is exact on names and values. */
function dimensionsKey(dimensions: Dimensions): string {
  return JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function seriesKey(namespace: string, metric: string, dimensions: Dimensions): string {
  return `${namespace}\n${metric}\n${dimensionsKey(dimensions)}`;
}
