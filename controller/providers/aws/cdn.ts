import { randomUUID } from 'node:crypto';
import {
  CreateDistributionWithTagsCommand,
  DeleteDistributionCommand,
  GetDistributionConfigCommand,
  ListDistributionsCommand,
  ListTagsForResourceCommand,
  UpdateDistributionCommand,
  type DefaultCacheBehavior,
  type DistributionConfig as AwsDistributionConfig,
  type Method,
  type Origin as AwsOrigin,
  type OriginGroup as AwsOriginGroup,
  type ViewerCertificate,
} from '@aws-sdk/client-cloudfront';
import { CloudError } from '../../errors.ts';
import type { Tags } from '../../model/tags.ts';
import type {
  CdnPort,
  DistributionConfig,
  DistributionSummary,
  Origin,
  OriginGroup,
} from '../../ports/cdn.ts';
import type { Page } from '../../ports/page.ts';
import type { AwsClients } from './clients.ts';
import { fromAwsError } from './errors.ts';

/** Distributions asked for per ListDistributions page (the port promises at most 100). */
export const LIST_DISTRIBUTIONS_PAGE_SIZE = 100;

/** Settings tandem sets on create and does not model in DistributionConfig. */
const HTTP_PORT = 80;
const HTTPS_PORT = 443;
/** CloudFront's OriginReadTimeout when a config leaves it out. */
const DEFAULT_ORIGIN_READ_TIMEOUT_SECONDS = 30;
const ORIGIN_KEEPALIVE_TIMEOUT_SECONDS = 5;
const MAX_TTL_SECONDS = 31_536_000;
/** Origin groups only serve these methods; failover only happens for them anyway. */
const ALLOWED_METHODS: Method[] = ['GET', 'HEAD', 'OPTIONS'];
const CACHED_METHODS: Method[] = ['GET', 'HEAD'];

/**
 * What a distribution reports when its default behavior uses a cache policy
 * instead of the legacy TTLs: no spec asks for it, so the planner sees drift
 * and puts tandem's TTL back.
 */
const NO_LEGACY_TTL = -1;

/** The fields both a ListDistributions summary and a full DistributionConfig carry. */
type ManagedView = Pick<
  AwsDistributionConfig,
  'Comment' | 'Enabled' | 'Aliases' | 'ViewerCertificate' | 'PriceClass' | 'Origins' | 'OriginGroups'
> & { DefaultCacheBehavior?: DefaultCacheBehavior | undefined };

/**
 * CloudFront through the AWS SDK. The port's DistributionConfig is the part
 * tandem manages; this adapter writes a complete CloudFront config on create
 * and, on update, changes only those fields of the config CloudFront holds,
 * so settings a person added (logging, a WAF, extra behaviors) survive.
 */
export class AwsCdn implements CdnPort {
  /** The full config behind each ETag this adapter has seen, so an update can merge into it. */
  private readonly configs = new Map<string, { etag: string; raw: AwsDistributionConfig }>();
  /** ARNs seen, so errors about an id can name the resource IAM grants on. */
  private readonly arns = new Map<string, string>();

  constructor(private readonly clients: AwsClients) {}

  async listDistributions(next?: string): Promise<Page<DistributionSummary>> {
    const out = await this.call('ListDistributions', '*', () =>
      this.clients
        .cloudfront()
        .send(new ListDistributionsCommand({ Marker: next, MaxItems: LIST_DISTRIBUTIONS_PAGE_SIZE })),
    );
    const list = required(out.DistributionList, 'DistributionList', 'ListDistributions');
    const items = (list.Items ?? []).map((d): DistributionSummary => {
      const id = required(d.Id, 'Id', 'ListDistributions');
      const where = `ListDistributions (${id})`;
      const summary = {
        id,
        arn: required(d.ARN, 'ARN', where),
        domainName: required(d.DomainName, 'DomainName', where),
        status: deploymentStatus(required(d.Status, 'Status', where)),
        config: toTandemConfig(d, where),
      };
      this.arns.set(id, summary.arn);
      return summary;
    });
    if (list.IsTruncated !== true) return { items };
    return { items, next: required(list.NextMarker || undefined, 'NextMarker', 'ListDistributions') };
  }

  async listTags(arn: string): Promise<Tags> {
    const out = await this.call('ListTagsForResource', arn, () =>
      this.clients.cloudfront().send(new ListTagsForResourceCommand({ Resource: arn })),
    );
    return Object.fromEntries((out.Tags?.Items ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async getDistributionConfig(id: string): Promise<{ config: DistributionConfig; etag: string }> {
    const { etag, raw } = await this.readConfig(id);
    return { config: toTandemConfig(raw, `GetDistributionConfig (${id})`), etag };
  }

  async createDistribution(config: DistributionConfig, tags: Tags): Promise<DistributionSummary> {
    const out = await this.call('CreateDistributionWithTags', 'distribution/*', () =>
      this.clients.cloudfront().send(
        new CreateDistributionWithTagsCommand({
          DistributionConfigWithTags: {
            DistributionConfig: toAwsConfig(config, callerReference(config)),
            Tags: {
              Items: Object.entries(tags)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([Key, Value]) => ({ Key, Value })),
            },
          },
        }),
      ),
    );
    const where = 'CreateDistributionWithTags';
    const d = required(out.Distribution, 'Distribution', where);
    const id = required(d.Id, 'Distribution.Id', where);
    const raw = required(d.DistributionConfig, 'Distribution.DistributionConfig', where);
    const summary: DistributionSummary = {
      id,
      arn: required(d.ARN, 'Distribution.ARN', where),
      domainName: required(d.DomainName, 'Distribution.DomainName', where),
      status: deploymentStatus(required(d.Status, 'Distribution.Status', where)),
      config: toTandemConfig(raw, where),
    };
    this.configs.set(id, { etag: required(out.ETag, 'ETag', where), raw });
    this.arns.set(id, summary.arn);
    return summary;
  }

  /**
   * Sends the full config CloudFront holds with tandem's fields replaced. The
   * config merged into is the one read with `ifMatch`; when the cached one has
   * another ETag it is read again, and a distribution that changed since the
   * caller read it fails with Conflict before anything is sent.
   */
  async updateDistribution(id: string, config: DistributionConfig, ifMatch: string): Promise<void> {
    let current = this.configs.get(id);
    if (current?.etag !== ifMatch) {
      current = await this.readConfig(id);
      if (current.etag !== ifMatch) {
        throw new CloudError(
          'Conflict',
          id,
          `distribution ${id} changed since it was read (ETag ${ifMatch}, now ${current.etag}); the next pass reads it again`,
        );
      }
    }
    const merged = mergeConfig(current.raw, config);
    // Whatever went wrong, the cached config may be stale now; the next update reads it again.
    this.configs.delete(id);
    const out = await this.call('UpdateDistribution', this.resource(id), () =>
      this.clients
        .cloudfront()
        .send(new UpdateDistributionCommand({ Id: id, IfMatch: ifMatch, DistributionConfig: merged })),
    );
    const where = `UpdateDistribution (${id})`;
    this.configs.set(id, {
      etag: required(out.ETag, 'ETag', where),
      raw: out.Distribution?.DistributionConfig ?? merged,
    });
  }

  async deleteDistribution(id: string, ifMatch: string): Promise<void> {
    await this.call('DeleteDistribution', this.resource(id), () =>
      this.clients.cloudfront().send(new DeleteDistributionCommand({ Id: id, IfMatch: ifMatch })),
    );
    this.configs.delete(id);
    this.arns.delete(id);
  }

  private async readConfig(id: string): Promise<{ etag: string; raw: AwsDistributionConfig }> {
    const out = await this.call('GetDistributionConfig', this.resource(id), () =>
      this.clients.cloudfront().send(new GetDistributionConfigCommand({ Id: id })),
    );
    const where = `GetDistributionConfig (${id})`;
    const current = {
      etag: required(out.ETag, 'ETag', where),
      raw: required(out.DistributionConfig, 'DistributionConfig', where),
    };
    this.configs.set(id, current);
    return current;
  }

  private resource(id: string): string {
    return this.arns.get(id) ?? `distribution/${id}`;
  }

  private async call<T>(operation: string, resource: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw cloudFrontError(error, operation, resource);
    }
  }
}

/**
 * New for every create: CloudFront refuses a reference it has ever been sent,
 * even one of a distribution since deleted, so a site deleted and applied
 * again must not reuse one. The SDK's own retries resend the same command, so
 * a create retried after a lost answer still cannot make a second
 * distribution; across passes, the next pass finds the one it made.
 */
export function callerReference(config: DistributionConfig): string {
  return `${config.comment.replace(/[^A-Za-z0-9]+/g, '-')}-${randomUUID()}`;
}

/** A complete, valid CloudFront config for tandem's subset. */
function toAwsConfig(config: DistributionConfig, reference: string): AwsDistributionConfig {
  const origins = config.origins.map(toAwsOrigin);
  const groups = config.originGroup === undefined ? [] : [toAwsGroup(config.originGroup)];
  return {
    CallerReference: reference,
    Comment: config.comment,
    Enabled: config.enabled,
    Aliases: { Quantity: config.aliases.length, Items: [...config.aliases].sort() },
    PriceClass: config.priceClass,
    HttpVersion: 'http2and3',
    IsIPV6Enabled: true,
    ViewerCertificate: viewerCertificate(config.certificateArn),
    Origins: { Quantity: origins.length, Items: origins },
    OriginGroups: { Quantity: groups.length, Items: groups },
    DefaultCacheBehavior: {
      TargetOriginId: config.targetOriginId,
      ViewerProtocolPolicy: config.viewerProtocolPolicy,
      AllowedMethods: allowedMethods(),
      Compress: true,
      ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
      MinTTL: 0,
      DefaultTTL: config.defaultTtlSeconds,
      MaxTTL: MAX_TTL_SECONDS,
    },
  };
}

/**
 * `raw` (what CloudFront holds) with tandem's fields replaced by `config`'s.
 * Everything else is kept: the CallerReference (CloudFront refuses to change
 * it), logging, restrictions, cache behaviors, HTTP version, and the unmanaged
 * settings of origins, origin groups and the default behavior.
 */
function mergeConfig(raw: AwsDistributionConfig, config: DistributionConfig): AwsDistributionConfig {
  const wanted = toAwsConfig(config, raw.CallerReference ?? '');
  const rawOrigins = new Map((raw.Origins?.Items ?? []).map((o) => [o.Id, o]));
  const origins = (wanted.Origins?.Items ?? []).map((o) => mergeOrigin(rawOrigins.get(o.Id), o));
  const originIds = new Set(origins.map((o) => o.Id));

  const rawGroups = raw.OriginGroups?.Items ?? [];
  const tandemGroups = (wanted.OriginGroups?.Items ?? []).map((g) => {
    const before = rawGroups.find((r) => r.Id === g.Id);
    return before?.SelectionCriteria === undefined
      ? g
      : { ...g, SelectionCriteria: before.SelectionCriteria };
  });
  // Someone else's groups stay while every origin they use is still there.
  const otherGroups = rawGroups.filter(
    (g) =>
      !tandemGroups.some((t) => t.Id === g.Id) &&
      (g.Members?.Items ?? []).every((m) => originIds.has(m.OriginId)),
  );
  const groups = [...tandemGroups, ...otherGroups];

  return {
    ...raw,
    Comment: wanted.Comment,
    Enabled: wanted.Enabled,
    Aliases: wanted.Aliases,
    PriceClass: wanted.PriceClass,
    ViewerCertificate: sameCertificate(raw.ViewerCertificate, config.certificateArn)
      ? raw.ViewerCertificate
      : wanted.ViewerCertificate,
    Origins: { Quantity: origins.length, Items: origins },
    OriginGroups: { Quantity: groups.length, Items: groups },
    DefaultCacheBehavior: mergeBehavior(
      raw.DefaultCacheBehavior,
      wanted.DefaultCacheBehavior!,
      tandemGroups.some((g) => g.Id === config.targetOriginId),
    ),
  };
}

/** The managed subset of a CloudFront config or summary, shaped like the planner's desired config. */
function toTandemConfig(view: ManagedView, where: string): DistributionConfig {
  const behavior = required(view.DefaultCacheBehavior, 'DefaultCacheBehavior', where);
  const config: DistributionConfig = {
    comment: view.Comment ?? '',
    enabled: required(view.Enabled, 'Enabled', where),
    // CloudFront treats these as sets; sorted as the planner sorts them.
    aliases: [...(view.Aliases?.Items ?? [])].sort(),
    priceClass: (view.PriceClass ?? 'PriceClass_All') as DistributionConfig['priceClass'],
    origins: (view.Origins?.Items ?? []).map((o) => toTandemOrigin(o, where)),
    targetOriginId: required(behavior.TargetOriginId, 'DefaultCacheBehavior.TargetOriginId', where),
    // Values outside tandem's subset pass through unchanged, so the planner sees them as drift.
    viewerProtocolPolicy: required(
      behavior.ViewerProtocolPolicy,
      'DefaultCacheBehavior.ViewerProtocolPolicy',
      where,
    ) as DistributionConfig['viewerProtocolPolicy'],
    defaultTtlSeconds: behavior.DefaultTTL ?? NO_LEGACY_TTL,
  };
  const certificateArn = certificateOf(view.ViewerCertificate);
  if (certificateArn !== undefined) config.certificateArn = certificateArn;
  const groups = view.OriginGroups?.Items ?? [];
  // tandem's model has one group: the one the default behavior targets, else the first.
  const group = groups.find((g) => g.Id === config.targetOriginId) ?? groups[0];
  if (group !== undefined) config.originGroup = toTandemGroup(group, where);
  return config;
}

function toAwsOrigin(origin: Origin): AwsOrigin {
  const headers = Object.entries(origin.customHeaders)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([HeaderName, HeaderValue]) => ({ HeaderName, HeaderValue }));
  return {
    Id: origin.id,
    DomainName: origin.domainName,
    CustomHeaders: { Quantity: headers.length, Items: headers },
    CustomOriginConfig: {
      HTTPPort: HTTP_PORT,
      HTTPSPort: HTTPS_PORT,
      OriginProtocolPolicy: origin.protocol,
      OriginSslProtocols: { Quantity: 1, Items: ['TLSv1.2'] },
      OriginReadTimeout: origin.responseTimeoutSeconds,
      OriginKeepaliveTimeout: ORIGIN_KEEPALIVE_TIMEOUT_SECONDS,
    },
    ConnectionAttempts: origin.connectionAttempts,
    ConnectionTimeout: origin.connectionTimeoutSeconds,
  };
}

function toAwsGroup(group: OriginGroup): AwsOriginGroup {
  const codes = [...group.statusCodes].sort((a, b) => a - b);
  return {
    Id: group.id,
    FailoverCriteria: { StatusCodes: { Quantity: codes.length, Items: codes } },
    // The first member is the primary.
    Members: {
      Quantity: 2,
      Items: [{ OriginId: group.primaryOriginId }, { OriginId: group.failoverOriginId }],
    },
  };
}

function toTandemOrigin(o: AwsOrigin, where: string): Origin {
  return {
    id: required(o.Id, 'Origin.Id', where),
    domainName: required(o.DomainName, 'Origin.DomainName', where),
    // An S3 or VPC origin has no protocol policy; 'none' never equals a spec's, so it reads as drift.
    protocol: (o.CustomOriginConfig?.OriginProtocolPolicy ?? 'none') as Origin['protocol'],
    // CloudFront's defaults when a config leaves them out.
    connectionTimeoutSeconds: o.ConnectionTimeout ?? 10,
    connectionAttempts: o.ConnectionAttempts ?? 3,
    responseTimeoutSeconds: o.CustomOriginConfig?.OriginReadTimeout ?? DEFAULT_ORIGIN_READ_TIMEOUT_SECONDS,
    customHeaders: Object.fromEntries(
      (o.CustomHeaders?.Items ?? []).map((h) => [h.HeaderName ?? '', h.HeaderValue ?? '']),
    ),
  };
}

function toTandemGroup(g: AwsOriginGroup, where: string): OriginGroup {
  const members = g.Members?.Items ?? [];
  return {
    id: required(g.Id, 'OriginGroup.Id', where),
    primaryOriginId: members[0]?.OriginId ?? '',
    failoverOriginId: members[1]?.OriginId ?? '',
    statusCodes: [...(g.FailoverCriteria?.StatusCodes?.Items ?? [])].sort((a, b) => a - b),
  };
}

function mergeOrigin(raw: AwsOrigin | undefined, wanted: AwsOrigin): AwsOrigin {
  if (raw === undefined) return wanted;
  const managed = {
    DomainName: wanted.DomainName,
    CustomHeaders: wanted.CustomHeaders,
    ConnectionAttempts: wanted.ConnectionAttempts,
    ConnectionTimeout: wanted.ConnectionTimeout,
  };
  if (raw.CustomOriginConfig === undefined) {
    // tandem's origins are custom origins: an S3 or VPC origin under the same id becomes one.
    const { S3OriginConfig: _s3, VpcOriginConfig: _vpc, OriginAccessControlId: _oac, ...kept } = raw;
    return { ...kept, ...managed, CustomOriginConfig: wanted.CustomOriginConfig };
  }
  return {
    ...raw,
    ...managed,
    CustomOriginConfig: {
      ...raw.CustomOriginConfig,
      OriginProtocolPolicy: wanted.CustomOriginConfig?.OriginProtocolPolicy,
      OriginReadTimeout: wanted.CustomOriginConfig?.OriginReadTimeout,
    },
  };
}

function mergeBehavior(
  raw: DefaultCacheBehavior | undefined,
  wanted: DefaultCacheBehavior,
  targetsGroup: boolean,
): DefaultCacheBehavior {
  if (raw === undefined) return wanted;
  const merged: DefaultCacheBehavior = {
    ...raw,
    TargetOriginId: wanted.TargetOriginId,
    ViewerProtocolPolicy: wanted.ViewerProtocolPolicy,
    DefaultTTL: wanted.DefaultTTL,
  };
  if (raw.CachePolicyId !== undefined || raw.ForwardedValues === undefined) {
    // The TTL tandem manages is the legacy one, which CloudFront refuses beside a cache policy.
    delete merged.CachePolicyId;
    merged.ForwardedValues = wanted.ForwardedValues;
    merged.MinTTL = wanted.MinTTL;
    merged.MaxTTL = wanted.MaxTTL;
  }
  const methods = raw.AllowedMethods?.Items ?? [];
  if (methods.length === 0 || (targetsGroup && methods.some((m) => !ALLOWED_METHODS.includes(m)))) {
    merged.AllowedMethods = wanted.AllowedMethods;
  }
  return merged;
}

function allowedMethods() {
  return {
    Quantity: ALLOWED_METHODS.length,
    Items: [...ALLOWED_METHODS],
    CachedMethods: { Quantity: CACHED_METHODS.length, Items: [...CACHED_METHODS] },
  };
}

function viewerCertificate(certificateArn: string | undefined): ViewerCertificate {
  return certificateArn === undefined
    ? { CloudFrontDefaultCertificate: true }
    : {
        ACMCertificateArn: certificateArn,
        SSLSupportMethod: 'sni-only',
        MinimumProtocolVersion: 'TLSv1.2_2021',
      };
}

function certificateOf(certificate: ViewerCertificate | undefined): string | undefined {
  if (certificate === undefined || certificate.CloudFrontDefaultCertificate === true) return undefined;
  if (certificate.ACMCertificateArn !== undefined) return certificate.ACMCertificateArn;
  // An IAM certificate is not one a spec can name: reported so it reads as drift.
  return certificate.IAMCertificateId === undefined
    ? undefined
    : `iam-certificate/${certificate.IAMCertificateId}`;
}

/** True when `raw` already serves `certificateArn` (or the default certificate), so its TLS settings stay. */
function sameCertificate(raw: ViewerCertificate | undefined, certificateArn: string | undefined): boolean {
  return raw !== undefined && certificateOf(raw) === certificateArn;
}

function deploymentStatus(status: string): DistributionSummary['status'] {
  // Anything but Deployed is treated as still deploying: nothing waits on it being deletable.
  return status === 'Deployed' ? 'Deployed' : 'InProgress';
}

function required<T>(value: T | undefined, field: string, where: string): T {
  if (value === undefined || value === null)
    throw new CloudError('Unavailable', where, `CloudFront ${where} answered without ${field}`);
  return value;
}

function cloudFrontError(error: unknown, operation: string, resource: string): CloudError {
  if (operation !== 'CreateDistributionWithTags')
    return fromAwsError(error, 'cloudfront', operation, resource);
  // IAM authorises CreateDistributionWithTags as CreateDistribution plus TagResource.
  const mapped = fromAwsError(error, 'cloudfront', 'CreateDistribution', resource);
  if (mapped.kind !== 'AccessDenied') return mapped;
  return new CloudError(
    'AccessDenied',
    resource,
    `${mapped.message} Creating with tags also needs cloudfront:TagResource.`,
    { cause: error },
  );
}
