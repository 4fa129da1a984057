import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudError, type CloudErrorKind } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import type { Platform } from '../../model/platform.ts';
import type { CdnPort, DistributionSummary } from '../../ports/cdn.ts';
import type { DashboardPort } from '../../ports/dashboard.ts';
import { DESCRIBE_SERVICES_MAX, type EcsPort, type ServiceState } from '../../ports/ecs.ts';
import type { Ports } from '../../ports/index.ts';
import { DESCRIBE_TAGS_MAX, type LoadBalancerPort, type RuleState } from '../../ports/load-balancer.ts';
import { GET_METRIC_DATA_MAX, type MetricsPort } from '../../ports/metrics.ts';
import type { Page } from '../../ports/page.ts';
import type { SpecStorePort, StoredSpec } from '../../ports/store.ts';
import { TokenBucket } from './token-bucket.ts';
import { simMetric } from './traffic.ts';
import {
  DEFAULT_SIM_REGIONS,
  emptyWorld,
  simPlatform,
  SIM_ACCOUNT,
  type SimRegion,
  type SimTraffic,
  type SimWorld,
} from './world.ts';

export interface ThrottleLimits {
  /** Sustained calls per second per operation and region, and the burst above it. */
  readRate: number;
  readBurst: number;
  writeRate: number;
  writeBurst: number;
}

export interface SimulatedCloudOptions {
  regions?: readonly string[];
  /** Start from this world (e.g. loaded from a state file) instead of an empty one. */
  world?: SimWorld;
  /** Added to every call. Default 0. */
  latencyMs?: number;
  /** Token buckets per operation and region; off when undefined. */
  throttle?: ThrottleLimits;
  /** Epoch milliseconds for leases; default Date.now. */
  clock?: () => number;
  /** Where the platform is; default the simulated one for `regions` (the local cloud gives its own). */
  platform?: Platform;
}

export interface CallRecord {
  service: 'ecs' | 'elbv2' | 'cloudfront' | 'cloudwatch' | 'store';
  operation: string;
  region: string;
  write: boolean;
  /** Set when the call failed (throttled, outage, crash or an API error). */
  error?: CloudErrorKind;
}

/** Real AWS throttling is per account, region and API; these are the simulated defaults. */
export const DEFAULT_THROTTLE: ThrottleLimits = {
  readRate: 100,
  readBurst: 200,
  writeRate: 50,
  writeBurst: 100,
};

const TD_PAGE = 100;
const ELB_PAGE = 400;
const CF_PAGE = 100;
const CLIENT_MAX_ATTEMPTS = 6;

/**
 * An in-memory AWS with the behaviour the reconciler must cope with: ECS
 * deployments and CloudFront changes that finish only when time moves on
 * (`tick`), ETags with PreconditionFailed, name and priority conflicts,
 * throttling, per-region outages, and a record of every call.
 */
export class SimulatedCloud {
  readonly world: SimWorld;
  readonly platform: Platform;
  readonly calls: CallRecord[] = [];
  /** Most calls seen in flight at once, per region, `cloudfront` and `store`. */
  readonly maxInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly outages = new Map<string, CloudErrorKind>();
  private readonly buckets = new Map<string, TokenBucket>();
  private writesLeft: number | undefined;
  private crashed = false;
  private readonly latencyMs: number;
  private readonly throttle: ThrottleLimits | undefined;
  private readonly clock: () => number;

  constructor(options: SimulatedCloudOptions = {}) {
    const regions =
      options.regions ?? (options.world ? Object.keys(options.world.regions) : DEFAULT_SIM_REGIONS);
    this.world = options.world ?? emptyWorld(regions);
    this.platform = options.platform ?? simPlatform(regions);
    this.latencyMs = options.latencyMs ?? 0;
    this.throttle = options.throttle;
    this.clock = options.clock ?? Date.now;
  }

  /** Ports as an SDK client sees them: throttled calls are retried with backoff, a bounded number of times. */
  ports(): Ports {
    const retrying = <T extends object>(api: T): T =>
      new Proxy(api, {
        get: (target, property, receiver) => {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            for (let attempt = 1; ; attempt += 1) {
              try {
                return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
              } catch (error) {
                if (
                  !(error instanceof CloudError) ||
                  error.kind !== 'Throttled' ||
                  attempt >= CLIENT_MAX_ATTEMPTS
                )
                  throw error;
                await sleep(Math.random() * 20 * 2 ** attempt);
              }
            }
          };
        },
      });
    return {
      ecs: retrying(this.ecs),
      loadBalancer: retrying(this.loadBalancer),
      cdn: retrying(this.cdn),
      metrics: retrying(this.metrics),
      store: retrying(this.store),
      dashboard: retrying(this.dashboard),
    };
  }

  // ----- time and faults -----

  /** One reconcile interval passes: deployments finish, CloudFront changes deploy, drained services go. */
  tick(): void {
    this.world.ticks = (this.world.ticks ?? 0) + 1;
    for (const region of Object.values(this.world.regions)) {
      for (const service of Object.values(region.services)) {
        if (service.status === 'ACTIVE') {
          service.runningCount = service.desiredCount;
          service.pendingCount = 0;
          service.rolloutInProgress = false;
          service.deploymentFamilies = [service.taskDefinition];
        } else {
          service.status = 'INACTIVE';
          service.runningCount = 0;
          service.pendingCount = 0;
          service.desiredCount = 0;
        }
      }
    }
    for (const d of Object.values(this.world.distributions)) d.status = 'Deployed';
  }

  /** Every call to `region` (or to `cloudfront`, or the `store`) fails with `kind` until healed. */
  failRegion(region: string, kind: CloudErrorKind = 'Unavailable'): void {
    this.outages.set(region, kind);
  }

  healRegion(region: string): void {
    this.outages.delete(region);
  }

  /** After `writes` more successful writes, every call fails, as if the reconciler's process died. */
  crashAfterWrites(writes: number): void {
    this.writesLeft = writes;
    this.crashed = writes === 0;
  }

  recover(): void {
    this.writesLeft = undefined;
    this.crashed = false;
  }

  /** What a site's target group serves per minute, as the metrics port will report it. */
  setTraffic(region: string, targetGroup: string, traffic: SimTraffic): void {
    this.region(region).load[targetGroup] = traffic;
  }

  resetCalls(): void {
    this.calls.length = 0;
    this.maxInFlight.clear();
  }

  /** Calls that reached the API, split into reads and writes; failed attempts are counted too. */
  callCounts(filter: (call: CallRecord) => boolean = () => true): {
    reads: number;
    writes: number;
    throttled: number;
  } {
    const calls = this.calls.filter(filter);
    return {
      reads: calls.filter((c) => !c.write).length,
      writes: calls.filter((c) => c.write).length,
      throttled: calls.filter((c) => c.error === 'Throttled').length,
    };
  }

  /** Successful writes to the cloud (not the spec store). */
  cloudWrites(): CallRecord[] {
    return this.calls.filter((c) => c.write && c.service !== 'store' && c.error === undefined);
  }

  /**
   * The world with generated ids replaced by names, so two worlds reached by
   * different orders of the same actions compare equal.
   */
  snapshot(): unknown {
    const regions = Object.fromEntries(
      Object.entries(this.world.regions).map(([name, r]) => {
        const tgName = new Map(Object.values(r.targetGroups).map((tg) => [tg.arn, tg.name]));
        return [
          name,
          {
            taskDefinitions: r.taskDefinitions
              .filter((td) => td.active)
              .map((td) => `${td.family}:${td.revision}`)
              .sort(),
            services: Object.fromEntries(
              Object.values(r.services)
                .filter((s) => s.status !== 'INACTIVE')
                .sort((a, b) => (a.name < b.name ? -1 : 1))
                .map((s) => [
                  s.name,
                  {
                    status: s.status,
                    taskDefinition: s.taskDefinition,
                    desiredCount: s.desiredCount,
                    targetGroup: tgName.get(s.targetGroupArn ?? ''),
                    tags: s.tags,
                  },
                ]),
            ),
            targetGroups: Object.fromEntries(
              Object.values(r.targetGroups)
                .sort((a, b) => (a.name < b.name ? -1 : 1))
                .map((tg) => [
                  tg.name,
                  { healthCheckPath: tg.healthCheckPath, port: tg.port, tags: tg.tags },
                ]),
            ),
            rules: Object.values(r.rules)
              .map((rule) => ({
                header: rule.header,
                forward: rule.forward.map((f) => ({
                  targetGroup: tgName.get(f.targetGroupArn),
                  weight: f.weight,
                })),
                tags: rule.tags,
              }))
              .sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1)),
          },
        ];
      }),
    );
    const distributions = Object.values(this.world.distributions)
      .map((d) => ({ config: d.config, tags: d.tags }))
      .sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
    return { regions, distributions };
  }

  // ----- the API -----

  private region(name: string): SimRegion {
    const region = this.world.regions[name];
    if (region === undefined) throw new CloudError('Invalid', name, `region ${name} is not simulated`);
    return region;
  }

  private nextId(): string {
    this.world.seq += 1;
    return this.world.seq.toString(16).padStart(8, '0');
  }

  private async call<T>(
    service: CallRecord['service'],
    operation: string,
    region: string,
    write: boolean,
    body: () => T,
  ): Promise<T> {
    const scope = service === 'cloudfront' || service === 'store' ? service : region;
    const inFlight = (this.inFlight.get(scope) ?? 0) + 1;
    this.inFlight.set(scope, inFlight);
    this.maxInFlight.set(scope, Math.max(this.maxInFlight.get(scope) ?? 0, inFlight));
    const record: CallRecord = { service, operation, region, write };
    this.calls.push(record);
    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      else await Promise.resolve();
      if (this.crashed)
        throw new CloudError('Unavailable', operation, 'the reconciler stopped (simulated crash)');
      const outage = this.outages.get(scope);
      if (outage !== undefined)
        throw new CloudError(outage, operation, `${scope} is failing every call (simulated outage)`);
      this.takeToken(scope, operation, write);
      const result = body();
      if (write && service !== 'store' && this.writesLeft !== undefined) {
        this.writesLeft -= 1;
        if (this.writesLeft <= 0) this.crashed = true;
      }
      return structuredClone(result);
    } catch (error) {
      record.error = error instanceof CloudError ? error.kind : 'Unavailable';
      throw error;
    } finally {
      this.inFlight.set(scope, (this.inFlight.get(scope) ?? 1) - 1);
    }
  }

  private takeToken(scope: string, operation: string, write: boolean): void {
    if (this.throttle === undefined) return;
    const key = `${scope}:${operation}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const t = this.throttle;
      bucket = write ? new TokenBucket(t.writeRate, t.writeBurst) : new TokenBucket(t.readRate, t.readBurst);
      this.buckets.set(key, bucket);
    }
    if (!bucket.take())
      throw new CloudError('Throttled', operation, `Rate exceeded for ${operation} in ${scope}`);
  }

  readonly ecs: EcsPort = {
    listTaskDefinitions: (region, familyPrefix, next) =>
      this.call('ecs', 'ListTaskDefinitions', region, false, () =>
        page(
          this.region(region)
            .taskDefinitions.filter((td) => td.active && td.family.startsWith(familyPrefix))
            .map((td) => ({ family: td.family, revision: td.revision, arn: td.arn, tags: td.tags })),
          TD_PAGE,
          next,
        ),
      ),
    registerTaskDefinition: (region, spec, tags) =>
      this.call('ecs', 'RegisterTaskDefinition', region, true, () => {
        const r = this.region(region);
        const revision =
          Math.max(
            0,
            ...r.taskDefinitions.filter((td) => td.family === spec.family).map((td) => td.revision),
          ) + 1;
        const arn = `arn:aws:ecs:${region}:${SIM_ACCOUNT}:task-definition/${spec.family}:${revision}`;
        r.taskDefinitions.push({ family: spec.family, revision, arn, spec, tags, active: true });
        return { family: spec.family, revision, arn, tags };
      }),
    deregisterTaskDefinition: (region, arn) =>
      this.call('ecs', 'DeregisterTaskDefinition', region, true, () => {
        const td = this.region(region).taskDefinitions.find((t) => t.arn === arn && t.active);
        if (td === undefined)
          throw new CloudError('NotFound', arn, 'task definition not found or already inactive');
        td.active = false;
      }),
    describeServices: (region, cluster, names) =>
      this.call('ecs', 'DescribeServices', region, false, () => {
        if (names.length > DESCRIBE_SERVICES_MAX)
          throw new CloudError('Invalid', 'DescribeServices', 'at most 10 services per call');
        this.checkCluster(region, cluster);
        const services = this.region(region).services;
        return names.flatMap((name) => (services[name] === undefined ? [] : [services[name]]));
      }),
    createService: (region, cluster, create) =>
      this.call('ecs', 'CreateService', region, true, () => {
        this.checkCluster(region, cluster);
        const r = this.region(region);
        const existing = r.services[create.name];
        if (existing !== undefined && existing.status !== 'INACTIVE') {
          throw new CloudError(
            'Conflict',
            create.name,
            `Creation of service ${create.name} was not idempotent: it exists`,
          );
        }
        this.checkFamily(r, create.taskDefinition);
        if (!Object.values(r.targetGroups).some((tg) => tg.arn === create.targetGroupArn)) {
          throw new CloudError('Invalid', create.targetGroupArn, 'target group does not exist');
        }
        this.checkAttached(r, create.targetGroupArn);
        const service: ServiceState = {
          name: create.name,
          arn: `arn:aws:ecs:${region}:${SIM_ACCOUNT}:service/${cluster}/${create.name}`,
          status: 'ACTIVE',
          taskDefinition: create.taskDefinition,
          deploymentFamilies: [create.taskDefinition],
          desiredCount: create.desiredCount,
          runningCount: 0,
          pendingCount: create.desiredCount,
          rolloutInProgress: create.desiredCount > 0,
          targetGroupArn: create.targetGroupArn,
          tags: create.tags,
        };
        r.services[create.name] = service;
        return service;
      }),
    updateService: (region, cluster, name, update) =>
      this.call('ecs', 'UpdateService', region, true, () => {
        this.checkCluster(region, cluster);
        const r = this.region(region);
        const service = r.services[name];
        if (service === undefined || service.status !== 'ACTIVE')
          throw new CloudError('NotFound', name, 'ServiceNotActiveException');
        if (update.taskDefinition !== undefined) {
          this.checkFamily(r, update.taskDefinition);
          if (update.taskDefinition !== service.taskDefinition) service.rolloutInProgress = true;
          service.taskDefinition = update.taskDefinition;
          service.deploymentFamilies = [...new Set([update.taskDefinition, ...service.deploymentFamilies])];
        }
        if (update.targetGroupArn !== undefined) {
          if (r.targetGroups[update.targetGroupArn] === undefined)
            throw new CloudError('Invalid', update.targetGroupArn, 'target group does not exist');
          this.checkAttached(r, update.targetGroupArn);
          service.targetGroupArn = update.targetGroupArn;
          service.rolloutInProgress = true;
        }
        if (update.desiredCount !== undefined) {
          service.desiredCount = update.desiredCount;
          service.pendingCount = Math.max(0, update.desiredCount - service.runningCount);
        }
      }),
    deleteService: (region, cluster, name) =>
      this.call('ecs', 'DeleteService', region, true, () => {
        this.checkCluster(region, cluster);
        const service = this.region(region).services[name];
        if (service === undefined || service.status !== 'ACTIVE')
          throw new CloudError('NotFound', name, 'ServiceNotFoundException');
        if (service.desiredCount > 0) {
          throw new CloudError('Invalid', name, 'The service cannot be stopped while it is scaled above 0');
        }
        service.status = 'DRAINING';
      }),
  };

  readonly loadBalancer: LoadBalancerPort = {
    describeTargetGroups: (region, next) =>
      this.call('elbv2', 'DescribeTargetGroups', region, false, () =>
        page(
          Object.values(this.region(region).targetGroups)
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .map(({ tags: _tags, createdAtTick: _created, ...tg }) => tg),
          ELB_PAGE,
          next,
        ),
      ),
    describeRules: (region, listenerArn, next) =>
      this.call('elbv2', 'DescribeRules', region, false, () => {
        this.checkListener(region, listenerArn);
        return page(
          Object.values(this.region(region).rules)
            .filter((rule) => rule.listenerArn === listenerArn)
            .sort((a, b) => a.priority - b.priority)
            .map(({ tags: _tags, listenerArn: _listener, ...rule }): RuleState => rule),
          ELB_PAGE,
          next,
        );
      }),
    describeTags: (region, arns) =>
      this.call('elbv2', 'DescribeTags', region, false, () => {
        if (arns.length > DESCRIBE_TAGS_MAX)
          throw new CloudError('Invalid', 'DescribeTags', 'at most 20 resources per call');
        const r = this.region(region);
        return Object.fromEntries(
          arns.map((arn) => {
            const tags = r.targetGroups[arn]?.tags ?? r.rules[arn]?.tags;
            if (tags === undefined) throw new CloudError('NotFound', arn, 'resource not found');
            return [arn, tags];
          }),
        );
      }),
    createTargetGroup: (region, vpcId, settings, tags) =>
      this.call('elbv2', 'CreateTargetGroup', region, true, () => {
        const r = this.region(region);
        if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(settings.name))
          throw new CloudError(
            'Invalid',
            settings.name,
            'ValidationError: target group names are 1–32 letters, digits or hyphens, not starting or ending with a hyphen',
          );
        const existing = Object.values(r.targetGroups).find((tg) => tg.name === settings.name);
        if (existing !== undefined) {
          // CreateTargetGroup is idempotent: the same settings answer with the existing group.
          const same =
            existing.vpcId === vpcId &&
            existing.port === settings.port &&
            existing.healthCheckPath === settings.healthCheckPath;
          if (!same) throw new CloudError('Conflict', settings.name, 'DuplicateTargetGroupName');
          const { tags: _existingTags, ...state } = existing;
          return state;
        }
        const arn = `arn:aws:elasticloadbalancing:${region}:${SIM_ACCOUNT}:targetgroup/${settings.name}/${this.nextId()}`;
        const tg = { arn, vpcId, ...settings, tags, createdAtTick: this.world.ticks ?? 0 };
        r.targetGroups[arn] = tg;
        const { tags: _tags, createdAtTick: _created, ...state } = tg;
        return state;
      }),
    modifyTargetGroup: (region, arn, settings) =>
      this.call('elbv2', 'ModifyTargetGroup', region, true, () => {
        const tg = this.region(region).targetGroups[arn];
        if (tg === undefined) throw new CloudError('NotFound', arn, 'TargetGroupNotFound');
        tg.healthCheckPath = settings.healthCheckPath;
      }),
    deleteTargetGroup: (region, arn) =>
      this.call('elbv2', 'DeleteTargetGroup', region, true, () => {
        const r = this.region(region);
        if (Object.values(r.rules).some((rule) => rule.forward.some((f) => f.targetGroupArn === arn))) {
          throw new CloudError(
            'Conflict',
            arn,
            'ResourceInUse: a listener rule forwards to this target group',
          );
        }
        delete r.targetGroups[arn];
      }),
    createRule: (region, listenerArn, priority, settings, tags) =>
      this.call('elbv2', 'CreateRule', region, true, () => {
        const r = this.region(region);
        this.checkListener(region, listenerArn);
        if (!Number.isInteger(priority) || priority < 1 || priority > 50_000)
          throw new CloudError('Invalid', `priority ${priority}`, 'ValidationError: priorities are 1–50000');
        if (
          Object.values(r.rules).some(
            (rule) => rule.listenerArn === listenerArn && rule.priority === priority,
          )
        ) {
          throw new CloudError('Conflict', `priority ${priority}`, 'PriorityInUse');
        }
        this.checkForward(r, settings.forward);
        const arn = `${listenerArn.replace(':listener/', ':listener-rule/')}/${this.nextId()}`;
        r.rules[arn] = { arn, listenerArn, priority, ...settings, tags };
        return { arn, priority, ...settings };
      }),
    modifyRule: (region, arn, settings) =>
      this.call('elbv2', 'ModifyRule', region, true, () => {
        const r = this.region(region);
        const rule = r.rules[arn];
        if (rule === undefined) throw new CloudError('NotFound', arn, 'RuleNotFound');
        this.checkForward(r, settings.forward);
        rule.header = settings.header;
        rule.forward = settings.forward;
      }),
    deleteRule: (region, arn) =>
      this.call('elbv2', 'DeleteRule', region, true, () => {
        const r = this.region(region);
        if (r.rules[arn] === undefined) throw new CloudError('NotFound', arn, 'RuleNotFound');
        delete r.rules[arn];
      }),
  };

  readonly cdn: CdnPort = {
    // As in CloudFront, the marker is the id of the previous page's last distribution and
    // the next page starts after it, so a distribution deleted between pages hides no other.
    listDistributions: (next) =>
      this.call('cloudfront', 'ListDistributions', 'global', false, () => {
        const after = Object.values(this.world.distributions)
          .filter((d) => next === undefined || d.id > next)
          .sort((a, b) => (a.id < b.id ? -1 : 1))
          .map(summary);
        const items = after.slice(0, CF_PAGE);
        return after.length > CF_PAGE ? { items, next: items.at(-1)!.id } : { items };
      }),
    listTags: (arn) =>
      this.call('cloudfront', 'ListTagsForResource', 'global', false, () => {
        const d = Object.values(this.world.distributions).find((x) => x.arn === arn);
        if (d === undefined) throw new CloudError('NotFound', arn, 'NoSuchResource');
        return d.tags;
      }),
    getDistributionConfig: (id) =>
      this.call('cloudfront', 'GetDistributionConfig', 'global', false, () => {
        const d = this.distribution(id);
        return { config: d.config, etag: d.etag };
      }),
    createDistribution: (config, tags) =>
      this.call('cloudfront', 'CreateDistributionWithTags', 'global', true, () => {
        const id = `E${this.nextId().toUpperCase()}`;
        const d = {
          id,
          arn: `arn:aws:cloudfront::${SIM_ACCOUNT}:distribution/${id}`,
          domainName: `d${id.toLowerCase()}.cloudfront.sim`,
          status: 'InProgress' as const,
          etag: etagOf(config, this.world.seq),
          config: structuredClone(config),
          tags: { ...tags },
        };
        this.world.distributions[id] = d;
        return summary(d);
      }),
    updateDistribution: (id, config, ifMatch) =>
      this.call('cloudfront', 'UpdateDistribution', 'global', true, () => {
        const d = this.distribution(id);
        if (ifMatch !== d.etag)
          throw new CloudError(
            'Conflict',
            id,
            'PreconditionFailed: the ETag does not match; read the distribution again',
          );
        d.config = config;
        d.status = 'InProgress';
        d.etag = etagOf(config, ++this.world.seq);
      }),
    deleteDistribution: (id, ifMatch) =>
      this.call('cloudfront', 'DeleteDistribution', 'global', true, () => {
        const d = this.distribution(id);
        if (ifMatch !== d.etag)
          throw new CloudError(
            'Conflict',
            id,
            'PreconditionFailed: the ETag does not match; read the distribution again',
          );
        if (d.config.enabled || d.status !== 'Deployed') {
          throw new CloudError(
            'Conflict',
            id,
            'DistributionNotDisabled: disable it and wait until it is Deployed',
          );
        }
        delete this.world.distributions[id];
      }),
  };

  readonly metrics: MetricsPort = {
    getMetricData: (region, queries, start) =>
      this.call('cloudwatch', 'GetMetricData', region, false, () => {
        if (queries.length > GET_METRIC_DATA_MAX)
          throw new CloudError('Invalid', 'GetMetricData', 'at most 500 queries per call');
        // As CloudWatch: ids are unique within a call, start with a lowercase letter, then letters, digits or _.
        const ids = new Set<string>();
        for (const q of queries) {
          if (!/^[a-z][A-Za-z0-9_]{0,254}$/.test(q.id) || ids.has(q.id))
            throw new CloudError(
              'Invalid',
              'GetMetricData',
              `query id ${q.id} must be unique and start with a lowercase letter (letters, digits and _ only)`,
            );
          ids.add(q.id);
        }
        const r = this.region(region);
        return queries.map((q) => {
          const value = simMetric(r, q, this.world.ticks ?? 0);
          return { id: q.id, points: value === undefined ? [] : [{ timestamp: start, value }] };
        });
      }),
  };

  /** CloudWatch dashboards: global to the account, called through us-east-1 as the AWS adapter does. */
  readonly dashboard: DashboardPort = {
    getDashboard: (name) =>
      this.call('cloudwatch', 'GetDashboard', 'us-east-1', false, () => this.world.dashboards?.[name]),
    putDashboard: (name, body) =>
      this.call('cloudwatch', 'PutDashboard', 'us-east-1', true, () => {
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
          throw new CloudError('Invalid', name, 'dashboard names are 1–255 of A-Z, a-z, 0-9, - and _');
        this.world.dashboards = { ...this.world.dashboards, [name]: body };
      }),
  };

  readonly store: SpecStorePort = {
    // The hash is taken from the document as read, so an edit made straight in the world is seen, as in DynamoDB.
    listSpecs: () =>
      this.call('store', 'ListSpecs', 'global', false, () =>
        Object.values(this.world.specs).map((s) => this.readSpec(s)),
      ),
    getSpec: (name) =>
      this.call('store', 'GetSpec', 'global', false, () => {
        const spec = this.world.specs[name];
        return spec === undefined ? undefined : this.readSpec(spec);
      }),
    putSpec: (name, document, expectedGeneration) =>
      this.call('store', 'PutSpec', 'global', true, () => {
        const current = this.expectVersion(
          'spec',
          name,
          this.world.specs[name]?.generation,
          expectedGeneration,
        );
        // Stored as JSON, like the DynamoDB store: a copy, and only what JSON can hold.
        const json = JSON.stringify(document) as string | undefined;
        if (json === undefined)
          throw new CloudError(
            'Invalid',
            `spec ${name}`,
            `spec ${name} cannot be stored: it is not a JSON value`,
          );
        const copy = JSON.parse(json) as unknown;
        const stored: StoredSpec = { name, generation: current + 1, hash: specHash(copy), document: copy };
        this.world.specs[name] = stored;
        return stored;
      }),
    deleteSpec: (name, expectedGeneration) =>
      this.call('store', 'DeleteSpec', 'global', true, () => {
        this.expectVersion('spec', name, this.world.specs[name]?.generation, expectedGeneration);
        delete this.world.specs[name];
      }),
    listStatuses: () =>
      this.call('store', 'ListStatuses', 'global', false, () => Object.values(this.world.statuses)),
    putStatus: (status, expectedRevision) =>
      this.call('store', 'PutStatus', 'global', true, () => {
        const current = this.expectVersion(
          'status',
          status.site,
          this.world.statuses[status.site]?.revision,
          expectedRevision,
        );
        const stored = { name: status.site, revision: current + 1, status: structuredClone(status) };
        this.world.statuses[status.site] = stored;
        return stored;
      }),
    deleteStatus: (name, expectedRevision) =>
      this.call('store', 'DeleteStatus', 'global', true, () => {
        this.expectVersion('status', name, this.world.statuses[name]?.revision, expectedRevision);
        delete this.world.statuses[name];
      }),
    acquireLease: (holder, ttlSeconds, now) =>
      this.call('store', 'AcquireLease', 'global', true, () => {
        const lease = this.world.lease;
        if (lease !== undefined && lease.holder !== holder && lease.expiresAt > now) return false;
        this.world.lease = { holder, expiresAt: now + ttlSeconds * 1000 };
        return true;
      }),
    releaseLease: (holder) =>
      this.call('store', 'ReleaseLease', 'global', true, () => {
        if (this.world.lease?.holder === holder) delete this.world.lease;
      }),
  };

  /** Documents as last read, per site: a write refuses to overwrite an edit made since without a generation bump. */
  private readonly documentsRead = new Map<string, { generation: number; hash: string }>();

  private readSpec(spec: StoredSpec): StoredSpec {
    const hash = specHash(spec.document);
    this.documentsRead.set(spec.name, { generation: spec.generation, hash });
    return { ...spec, hash };
  }

  /**
   * The store's conditional write: the generation (specs) or revision (statuses) must be the
   * one read, and a spec must not have been edited since it was read. Returns the current one.
   */
  private expectVersion(
    what: 'spec' | 'status',
    name: string,
    stored: number | undefined,
    expected: number,
  ): number {
    const current = stored ?? 0;
    const counter = what === 'spec' ? 'generation' : 'revision';
    if (current !== expected || (what === 'spec' && this.editedSinceRead(name, expected))) {
      throw new CloudError(
        'Conflict',
        name,
        `${what} ${name} changed since it was read (${counter} ${current}, expected ${expected})`,
      );
    }
    return current;
  }

  private editedSinceRead(name: string, expectedGeneration: number): boolean {
    const read = this.documentsRead.get(name);
    const stored = this.world.specs[name];
    return (
      stored !== undefined &&
      read?.generation === expectedGeneration &&
      read.hash !== specHash(stored.document)
    );
  }

  private checkCluster(region: string, cluster: string): void {
    if (this.platform.regions[region]?.cluster !== cluster)
      throw new CloudError('NotFound', cluster, 'ClusterNotFoundException');
  }

  /** ECS registers a service only into a target group that a listener already forwards to. */
  private checkAttached(region: SimRegion, targetGroupArn: string): void {
    if (
      !Object.values(region.rules).some((rule) =>
        rule.forward.some((f) => f.targetGroupArn === targetGroupArn),
      )
    )
      throw new CloudError(
        'Invalid',
        targetGroupArn,
        'InvalidParameterException: the target group does not have an associated load balancer',
      );
  }

  private checkListener(region: string, listenerArn: string): void {
    if (this.platform.regions[region]?.listenerArn !== listenerArn)
      throw new CloudError('NotFound', listenerArn, 'ListenerNotFound');
  }

  private checkFamily(region: SimRegion, family: string): void {
    if (!region.taskDefinitions.some((td) => td.family === family && td.active)) {
      throw new CloudError(
        'Invalid',
        family,
        `ClientException: no ACTIVE task definition in family ${family}`,
      );
    }
  }

  private checkForward(
    region: SimRegion,
    forward: readonly { targetGroupArn: string; weight: number }[],
  ): void {
    for (const f of forward) {
      if (region.targetGroups[f.targetGroupArn] === undefined)
        throw new CloudError('NotFound', f.targetGroupArn, 'TargetGroupNotFound');
      if (!Number.isInteger(f.weight) || f.weight < 0 || f.weight > 999)
        throw new CloudError('Invalid', f.targetGroupArn, 'weight must be 0–999');
    }
  }

  private distribution(id: string) {
    const d = this.world.distributions[id];
    if (d === undefined) throw new CloudError('NotFound', id, 'NoSuchDistribution');
    return d;
  }

  /** Lease and spec timestamps come from here, so tests control time. */
  now(): number {
    return this.clock();
  }
}

function summary(d: {
  id: string;
  arn: string;
  domainName: string;
  status: 'InProgress' | 'Deployed';
  config: DistributionSummary['config'];
}): DistributionSummary {
  return { id: d.id, arn: d.arn, domainName: d.domainName, status: d.status, config: d.config };
}

function page<T>(items: T[], size: number, next: string | undefined): Page<T> {
  const start = next === undefined ? 0 : Number(next);
  const end = start + size;
  return end < items.length
    ? { items: items.slice(start, end), next: String(end) }
    : { items: items.slice(start) };
}

function etagOf(config: unknown, seq: number): string {
  return createHash('sha256')
    .update(`${seq}:${canonicalJson(config)}`)
    .digest('hex')
    .slice(0, 14)
    .toUpperCase();
}

/** The spec digest the store keeps beside each spec. */
export function specHash(document: unknown): string {
  return createHash('sha256').update(canonicalJson(document)).digest('hex');
}
