import { createHash } from 'node:crypto';
import {
  CloudFrontClient,
  CNAMEAlreadyExists,
  CreateDistributionWithTagsCommand,
  DeleteDistributionCommand,
  DistributionAlreadyExists,
  DistributionNotDisabled,
  GetDistributionConfigCommand,
  IllegalUpdate,
  InconsistentQuantities,
  InvalidArgument,
  InvalidIfMatchVersion,
  InvalidOriginKeepaliveTimeout,
  InvalidOriginReadTimeout,
  InvalidTagging,
  InvalidTTLOrder,
  InvalidViewerCertificate,
  ListDistributionsCommand,
  ListTagsForResourceCommand,
  NoSuchDistribution,
  NoSuchOrigin,
  NoSuchResource,
  PreconditionFailed,
  TooManyOriginCustomHeaders,
  UpdateDistributionCommand,
  type CreateDistributionWithTagsCommandInput,
  type CreateDistributionWithTagsCommandOutput,
  type DeleteDistributionCommandInput,
  type Distribution,
  type DistributionConfig,
  type DistributionSummary,
  type GetDistributionConfigCommandInput,
  type GetDistributionConfigCommandOutput,
  type ListDistributionsCommandInput,
  type ListDistributionsCommandOutput,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
  type Tag,
  type UpdateDistributionCommandInput,
  type UpdateDistributionCommandOutput,
  type ViewerCertificate,
} from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';

export const FAKE_ACCOUNT = '123456789012';

/** Status codes an origin group can fail over on. */
const FAILOVER_CODES = new Set([400, 403, 404, 416, 500, 502, 503, 504]);
const ALLOWED_METHOD_SETS = ['GET,HEAD', 'GET,HEAD,OPTIONS', 'DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT'];
const CACHED_METHOD_SETS = ['GET,HEAD', 'GET,HEAD,OPTIONS'];
const PRICE_CLASSES = new Set(['PriceClass_100', 'PriceClass_200', 'PriceClass_All', 'None']);
const VIEWER_POLICIES = new Set(['allow-all', 'https-only', 'redirect-to-https']);

export interface FakeDistribution {
  Id: string;
  ARN: string;
  DomainName: string;
  Status: 'InProgress' | 'Deployed';
  ETag: string;
  LastModifiedTime: Date;
  DistributionConfig: DistributionConfig;
  Tags: Tag[];
}

type ErrorClass = new (options: { message: string; $metadata: { httpStatusCode: number } }) => Error;

function fail(Class: ErrorClass, status: number, message: string): never {
  throw new Class({ message, $metadata: { httpStatusCode: status } });
}

/**
 * A stateful CloudFront behind aws-sdk-client-mock, for exactly the commands
 * the AWS adapter sends. It behaves as the API reference documents: ETags
 * on every read and write, IfMatch checked (PreconditionFailed), changes
 * InProgress until `deploy()`, delete only when disabled and Deployed,
 * CallerReference and CNAME uniqueness, Marker/NextMarker pagination, and
 * the defaults CloudFront fills into a stored config.
 */
export class FakeCloudFront {
  readonly mock = mockClient(CloudFrontClient);
  readonly distributions = new Map<string, FakeDistribution>();
  private seq = 0;
  private readonly injected: { command: string; error?: Error; reply?: unknown }[] = [];

  constructor() {
    this.mock
      .on(ListDistributionsCommand)
      .callsFake((input: ListDistributionsCommandInput) => this.handle('ListDistributions', input, this.list))
      .on(ListTagsForResourceCommand)
      .callsFake((input: ListTagsForResourceCommandInput) =>
        this.handle('ListTagsForResource', input, this.listTags),
      )
      .on(GetDistributionConfigCommand)
      .callsFake((input: GetDistributionConfigCommandInput) =>
        this.handle('GetDistributionConfig', input, this.getConfig),
      )
      .on(CreateDistributionWithTagsCommand)
      .callsFake((input: CreateDistributionWithTagsCommandInput) =>
        this.handle('CreateDistributionWithTags', input, this.create),
      )
      .on(UpdateDistributionCommand)
      .callsFake((input: UpdateDistributionCommandInput) =>
        this.handle('UpdateDistribution', input, this.update),
      )
      .on(DeleteDistributionCommand)
      .callsFake((input: DeleteDistributionCommandInput) =>
        this.handle('DeleteDistribution', input, this.delete),
      );
  }

  /** Puts the real CloudFrontClient back; call when the test ends. */
  restore(): void {
    this.mock.restore();
  }

  /** Every change finishes deploying. */
  deploy(): void {
    for (const d of this.distributions.values()) d.Status = 'Deployed';
  }

  /** The next call of `command` fails with `error` (a throttle, an outage, a denied permission). */
  failNext(command: string, error: Error): void {
    this.injected.push({ command, error });
  }

  /** The next call of `command` answers `reply` as it is, valid or not. */
  replyNext(command: string, reply: unknown): void {
    this.injected.push({ command, reply });
  }

  /** A change made outside tandem (the console, another tool): a new ETag, deploying again. */
  edit(id: string, change: (config: DistributionConfig) => void): void {
    const d = this.distributions.get(id);
    if (d === undefined) throw new Error(`no distribution ${id}`);
    change(d.DistributionConfig);
    d.ETag = this.nextEtag();
    d.Status = 'InProgress';
  }

  private handle<I, O>(command: string, input: I, body: (input: I) => O): O {
    const i = this.injected.findIndex((x) => x.command === command);
    if (i >= 0) {
      const next = this.injected.splice(i, 1)[0]!;
      if (next.error !== undefined) throw next.error;
      return structuredClone(next.reply) as O;
    }
    return structuredClone(body.call(this, structuredClone(input)));
  }

  private list(input: ListDistributionsCommandInput): ListDistributionsCommandOutput {
    const max = input.MaxItems ?? 100;
    if (!Number.isInteger(max) || max < 1) fail(InvalidArgument, 400, 'MaxItems must be a positive integer');
    // Documented: the page holds the distributions after Marker; NextMarker is the last id on it.
    const after = [...this.distributions.values()]
      .filter((d) => input.Marker === undefined || input.Marker === '' || d.Id > input.Marker)
      .sort((a, b) => (a.Id < b.Id ? -1 : 1));
    const page = after.slice(0, max);
    const truncated = after.length > max;
    return {
      $metadata: {},
      DistributionList: {
        Marker: input.Marker ?? '',
        ...(truncated ? { NextMarker: page.at(-1)!.Id } : {}),
        MaxItems: max,
        IsTruncated: truncated,
        Quantity: page.length,
        // The XML has no Items element when the page is empty.
        ...(page.length > 0 ? { Items: page.map(summaryOf) } : {}),
      },
    };
  }

  private listTags(input: ListTagsForResourceCommandInput): ListTagsForResourceCommandOutput {
    const arn = input.Resource ?? '';
    if (!/^arn:aws:cloudfront::\d{12}:distribution\/[A-Z0-9]+$/.test(arn))
      fail(InvalidArgument, 400, `${arn} is not a CloudFront distribution ARN`);
    const d = [...this.distributions.values()].find((x) => x.ARN === arn);
    if (d === undefined) fail(NoSuchResource, 404, `The specified resource ${arn} does not exist.`);
    return { $metadata: {}, Tags: { Items: d.Tags } };
  }

  private getConfig(input: GetDistributionConfigCommandInput): GetDistributionConfigCommandOutput {
    const d = this.find(input.Id);
    return { $metadata: {}, DistributionConfig: d.DistributionConfig, ETag: d.ETag };
  }

  private create(input: CreateDistributionWithTagsCommandInput): CreateDistributionWithTagsCommandOutput {
    const withTags = input.DistributionConfigWithTags;
    if (withTags?.DistributionConfig === undefined)
      fail(InvalidArgument, 400, 'DistributionConfigWithTags.DistributionConfig is required');
    const config = withTags.DistributionConfig;
    const tags = withTags.Tags?.Items ?? [];
    // The caller reference is what makes a create idempotent, so it is checked first.
    const twin = [...this.distributions.values()].find(
      (d) => d.DistributionConfig.CallerReference === config.CallerReference,
    );
    if (twin !== undefined) {
      fail(
        DistributionAlreadyExists,
        409,
        `The caller reference that you are using to create a distribution is associated with another distribution (${twin.Id}).`,
      );
    }
    this.validate(config, undefined);
    validateTags(tags);
    this.seq += 1;
    const Id = `E${this.seq.toString(36).toUpperCase().padStart(13, '0')}`;
    const d: FakeDistribution = {
      Id,
      ARN: `arn:aws:cloudfront::${FAKE_ACCOUNT}:distribution/${Id}`,
      DomainName: `d${createHash('sha256').update(Id).digest('hex').slice(0, 13)}.cloudfront.net`,
      Status: 'InProgress',
      ETag: this.nextEtag(),
      LastModifiedTime: new Date(Date.UTC(2026, 0, 1, 0, 0, this.seq)),
      DistributionConfig: withDefaults(config),
      Tags: tags,
    };
    this.distributions.set(Id, d);
    return {
      $metadata: {},
      Distribution: distributionOf(d),
      Location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${Id}`,
      ETag: d.ETag,
    };
  }

  private update(input: UpdateDistributionCommandInput): UpdateDistributionCommandOutput {
    const d = this.find(input.Id);
    this.checkIfMatch(d, input.IfMatch);
    const config = input.DistributionConfig;
    if (config === undefined) fail(InvalidArgument, 400, 'DistributionConfig is required');
    if (config.CallerReference !== d.DistributionConfig.CallerReference)
      fail(IllegalUpdate, 400, 'The CallerReference of a distribution cannot be changed.');
    this.validate(config, d.Id);
    d.DistributionConfig = withDefaults(config);
    d.ETag = this.nextEtag();
    d.Status = 'InProgress';
    d.LastModifiedTime = new Date(d.LastModifiedTime.getTime() + 1000);
    return { $metadata: {}, Distribution: distributionOf(d), ETag: d.ETag };
  }

  private delete(input: DeleteDistributionCommandInput): Record<string, unknown> {
    const d = this.find(input.Id);
    this.checkIfMatch(d, input.IfMatch);
    if (d.DistributionConfig.Enabled === true || d.Status !== 'Deployed') {
      fail(
        DistributionNotDisabled,
        409,
        'The distribution you are trying to delete has not been disabled, or its changes have not finished deploying.',
      );
    }
    this.distributions.delete(d.Id);
    return { $metadata: {} };
  }

  private find(id: string | undefined): FakeDistribution {
    const d = id === undefined ? undefined : this.distributions.get(id);
    if (d === undefined) fail(NoSuchDistribution, 404, `The specified distribution does not exist: ${id}`);
    return d;
  }

  private checkIfMatch(d: FakeDistribution, ifMatch: string | undefined): void {
    if (ifMatch === undefined || ifMatch === '')
      fail(InvalidIfMatchVersion, 400, 'The If-Match version is missing or not valid.');
    if (ifMatch !== d.ETag)
      fail(
        PreconditionFailed,
        412,
        'The precondition in one or more of the request fields evaluated to false.',
      );
  }

  private nextEtag(): string {
    this.seq += 1;
    return `E${createHash('sha256').update(`etag${this.seq}`).digest('hex').slice(0, 13).toUpperCase()}`;
  }

  /** The documented rules a config must pass; `self` is the distribution being updated. */
  private validate(c: DistributionConfig, self: string | undefined): void {
    if (typeof c.CallerReference !== 'string' || c.CallerReference === '')
      fail(InvalidArgument, 400, 'CallerReference is required');
    if (typeof c.Comment !== 'string') fail(InvalidArgument, 400, 'Comment is required');
    if (c.Comment.length > 128) fail(InvalidArgument, 400, 'The Comment is longer than 128 characters');
    if (typeof c.Enabled !== 'boolean') fail(InvalidArgument, 400, 'Enabled is required');
    if (c.PriceClass !== undefined && !PRICE_CLASSES.has(c.PriceClass))
      fail(InvalidArgument, 400, `PriceClass ${c.PriceClass} is not valid`);
    checkQuantity(c.Aliases, 'Aliases');
    checkQuantity(c.Origins, 'Origins');
    checkQuantity(c.OriginGroups, 'OriginGroups');

    const origins = c.Origins?.Items ?? [];
    if (origins.length === 0) fail(InvalidArgument, 400, 'A distribution needs at least one origin');
    const originIds = new Set<string>();
    for (const o of origins) {
      if (!o.Id || !o.DomainName) fail(InvalidArgument, 400, 'Every origin needs an Id and a DomainName');
      if (originIds.has(o.Id)) fail(InvalidArgument, 400, `Origin id ${o.Id} is used twice`);
      originIds.add(o.Id);
      const kinds = [o.S3OriginConfig, o.CustomOriginConfig, o.VpcOriginConfig].filter(
        (k) => k !== undefined,
      );
      if (kinds.length !== 1)
        fail(InvalidArgument, 400, `Origin ${o.Id} needs exactly one of S3, custom or VPC origin config`);
      const custom = o.CustomOriginConfig;
      if (custom !== undefined) {
        if (custom.HTTPPort === undefined || custom.HTTPSPort === undefined || !custom.OriginProtocolPolicy)
          fail(
            InvalidArgument,
            400,
            `Origin ${o.Id}: HTTPPort, HTTPSPort and OriginProtocolPolicy are required`,
          );
        if (
          custom.OriginReadTimeout !== undefined &&
          (custom.OriginReadTimeout < 1 || custom.OriginReadTimeout > 60)
        )
          fail(InvalidOriginReadTimeout, 400, 'OriginReadTimeout must be 1–60 seconds');
        if (
          custom.OriginKeepaliveTimeout !== undefined &&
          (custom.OriginKeepaliveTimeout < 1 || custom.OriginKeepaliveTimeout > 60)
        )
          fail(InvalidOriginKeepaliveTimeout, 400, 'OriginKeepaliveTimeout must be 1–60 seconds');
        checkQuantity(custom.OriginSslProtocols, `Origin ${o.Id} OriginSslProtocols`);
      }
      if (o.ConnectionTimeout !== undefined && (o.ConnectionTimeout < 1 || o.ConnectionTimeout > 10))
        fail(InvalidArgument, 400, 'ConnectionTimeout must be 1–10 seconds');
      if (o.ConnectionAttempts !== undefined && (o.ConnectionAttempts < 1 || o.ConnectionAttempts > 3))
        fail(InvalidArgument, 400, 'ConnectionAttempts must be 1–3');
      checkQuantity(o.CustomHeaders, `Origin ${o.Id} CustomHeaders`);
      if ((o.CustomHeaders?.Items ?? []).length > 10)
        fail(TooManyOriginCustomHeaders, 400, 'An origin can have at most 10 custom headers');
    }

    const groupIds = new Set<string>();
    for (const g of c.OriginGroups?.Items ?? []) {
      if (!g.Id || originIds.has(g.Id) || groupIds.has(g.Id))
        fail(InvalidArgument, 400, `Origin group id ${g.Id} is missing or already used`);
      groupIds.add(g.Id);
      checkQuantity(g.Members, `Origin group ${g.Id} Members`);
      const members = g.Members?.Items ?? [];
      if (members.length !== 2) fail(InvalidArgument, 400, 'An origin group has exactly two members');
      for (const m of members) {
        if (!originIds.has(m.OriginId ?? ''))
          fail(NoSuchOrigin, 404, `Origin group ${g.Id} names origin ${m.OriginId}, which does not exist`);
      }
      checkQuantity(g.FailoverCriteria?.StatusCodes, `Origin group ${g.Id} StatusCodes`);
      const codes = g.FailoverCriteria?.StatusCodes?.Items ?? [];
      if (codes.length === 0 || codes.some((code) => !FAILOVER_CODES.has(code)))
        fail(
          InvalidArgument,
          400,
          `Origin group ${g.Id}: failover status codes must be among 400, 403, 404, 416, 500, 502, 503, 504`,
        );
    }

    const b = c.DefaultCacheBehavior;
    if (b === undefined) fail(InvalidArgument, 400, 'DefaultCacheBehavior is required');
    if (!originIds.has(b.TargetOriginId ?? '') && !groupIds.has(b.TargetOriginId ?? ''))
      fail(NoSuchOrigin, 404, `The default cache behavior targets ${b.TargetOriginId}, which does not exist`);
    if (!VIEWER_POLICIES.has(b.ViewerProtocolPolicy ?? ''))
      fail(InvalidArgument, 400, 'ViewerProtocolPolicy is required');
    const allowed = b.AllowedMethods;
    if (allowed !== undefined) {
      checkQuantity(allowed, 'AllowedMethods');
      checkQuantity(allowed.CachedMethods, 'CachedMethods');
      const methods = [...(allowed.Items ?? [])].sort().join(',');
      if (!ALLOWED_METHOD_SETS.includes(methods))
        fail(InvalidArgument, 400, `AllowedMethods ${methods} is not valid`);
      const cached = [...(allowed.CachedMethods?.Items ?? ['GET', 'HEAD'])].sort().join(',');
      if (!CACHED_METHOD_SETS.includes(cached))
        fail(InvalidArgument, 400, `CachedMethods ${cached} is not valid`);
      if (groupIds.has(b.TargetOriginId ?? '') && methods.includes('POST'))
        fail(
          InvalidArgument,
          400,
          'A cache behavior that targets an origin group can only allow GET, HEAD and OPTIONS',
        );
    }
    if (b.CachePolicyId === undefined) {
      if (b.ForwardedValues === undefined || b.MinTTL === undefined)
        fail(InvalidArgument, 400, 'Without a cache policy, ForwardedValues and MinTTL are required');
    } else if (
      b.ForwardedValues !== undefined ||
      b.MinTTL !== undefined ||
      b.DefaultTTL !== undefined ||
      b.MaxTTL !== undefined
    ) {
      fail(InvalidArgument, 400, 'The legacy cache settings cannot be combined with a cache policy');
    }
    const min = b.MinTTL ?? 0;
    const def = b.DefaultTTL ?? Math.max(min, 86_400);
    const max = b.MaxTTL ?? Math.max(def, 31_536_000);
    if (!(min <= def && def <= max)) fail(InvalidTTLOrder, 400, 'MinTTL ≤ DefaultTTL ≤ MaxTTL must hold');

    const cert = c.ViewerCertificate;
    const aliases = c.Aliases?.Items ?? [];
    const acm = cert?.ACMCertificateArn;
    if (acm !== undefined) {
      if (!/^arn:aws:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(acm))
        fail(InvalidViewerCertificate, 400, 'The certificate must be an ACM certificate in us-east-1');
      if (cert?.SSLSupportMethod === undefined)
        fail(InvalidViewerCertificate, 400, 'SSLSupportMethod is required with a custom certificate');
    }
    if (aliases.length > 0 && acm === undefined && cert?.IAMCertificateId === undefined)
      fail(
        InvalidViewerCertificate,
        400,
        'Alternate domain names need a trusted certificate that covers them',
      );
    for (const alias of aliases) {
      const owner = [...this.distributions.values()].find(
        (d) => d.Id !== self && (d.DistributionConfig.Aliases?.Items ?? []).includes(alias),
      );
      if (owner !== undefined)
        fail(
          CNAMEAlreadyExists,
          409,
          `One or more of the CNAMEs you provided are already associated with a different resource.`,
        );
    }
  }
}

function checkQuantity(list: { Quantity?: number; Items?: unknown[] } | undefined, what: string): void {
  if (list === undefined) return;
  if (list.Quantity !== (list.Items ?? []).length)
    fail(
      InconsistentQuantities,
      400,
      `${what}: Quantity ${list.Quantity} does not match ${(list.Items ?? []).length} items`,
    );
}

function validateTags(tags: readonly Tag[]): void {
  if (tags.length > 50) fail(InvalidTagging, 400, 'At most 50 tags');
  for (const t of tags) {
    if (!t.Key || t.Key.length > 128 || (t.Value ?? '').length > 256)
      fail(InvalidTagging, 400, `Tag ${t.Key} is not valid`);
  }
}

/** What CloudFront stores: the config as sent, with its documented defaults filled in. */
function withDefaults(c: DistributionConfig): DistributionConfig {
  const cert = c.ViewerCertificate;
  const behavior = c.DefaultCacheBehavior!;
  const legacy = behavior.CachePolicyId === undefined;
  return {
    ...c,
    Aliases: c.Aliases ?? { Quantity: 0 },
    DefaultRootObject: c.DefaultRootObject ?? '',
    Origins: {
      Quantity: c.Origins!.Quantity,
      Items: (c.Origins!.Items ?? []).map((o) => ({
        OriginPath: '',
        CustomHeaders: { Quantity: 0 },
        ConnectionAttempts: 3,
        ConnectionTimeout: 10,
        OriginShield: { Enabled: false },
        OriginAccessControlId: '',
        ...o,
      })),
    },
    OriginGroups: c.OriginGroups ?? { Quantity: 0 },
    DefaultCacheBehavior: {
      TrustedSigners: { Enabled: false, Quantity: 0 },
      TrustedKeyGroups: { Enabled: false, Quantity: 0 },
      AllowedMethods: {
        Quantity: 2,
        Items: ['HEAD', 'GET'],
        CachedMethods: { Quantity: 2, Items: ['HEAD', 'GET'] },
      },
      SmoothStreaming: false,
      Compress: false,
      LambdaFunctionAssociations: { Quantity: 0 },
      FunctionAssociations: { Quantity: 0 },
      FieldLevelEncryptionId: '',
      ...(legacy ? { DefaultTTL: 86_400, MaxTTL: 31_536_000 } : {}),
      ...behavior,
      ...(legacy && behavior.ForwardedValues !== undefined
        ? {
            ForwardedValues: {
              Headers: { Quantity: 0 },
              QueryStringCacheKeys: { Quantity: 0 },
              ...behavior.ForwardedValues,
            },
          }
        : {}),
    },
    CacheBehaviors: c.CacheBehaviors ?? { Quantity: 0 },
    CustomErrorResponses: c.CustomErrorResponses ?? { Quantity: 0 },
    Logging: c.Logging ?? { Enabled: false, IncludeCookies: false, Bucket: '', Prefix: '' },
    PriceClass: c.PriceClass ?? 'PriceClass_All',
    ViewerCertificate: certificateWithDefaults(cert),
    Restrictions: c.Restrictions ?? { GeoRestriction: { RestrictionType: 'none', Quantity: 0 } },
    WebACLId: c.WebACLId ?? '',
    HttpVersion: c.HttpVersion ?? 'http2',
    IsIPV6Enabled: c.IsIPV6Enabled ?? true,
    Staging: c.Staging ?? false,
  };
}

function certificateWithDefaults(cert: ViewerCertificate | undefined): ViewerCertificate {
  if (cert?.ACMCertificateArn !== undefined)
    return {
      CloudFrontDefaultCertificate: false,
      Certificate: cert.ACMCertificateArn,
      CertificateSource: 'acm',
      ...cert,
    };
  if (cert?.IAMCertificateId !== undefined)
    return {
      CloudFrontDefaultCertificate: false,
      Certificate: cert.IAMCertificateId,
      CertificateSource: 'iam',
      ...cert,
    };
  return {
    SSLSupportMethod: 'vip',
    MinimumProtocolVersion: 'TLSv1',
    CertificateSource: 'cloudfront',
    ...cert,
    CloudFrontDefaultCertificate: true,
  };
}

function distributionOf(d: FakeDistribution): Distribution {
  return {
    Id: d.Id,
    ARN: d.ARN,
    Status: d.Status,
    LastModifiedTime: d.LastModifiedTime,
    InProgressInvalidationBatches: 0,
    DomainName: d.DomainName,
    DistributionConfig: d.DistributionConfig,
  };
}

function summaryOf(d: FakeDistribution): DistributionSummary {
  const c = d.DistributionConfig;
  return {
    Id: d.Id,
    ARN: d.ARN,
    ETag: d.ETag,
    Status: d.Status,
    LastModifiedTime: d.LastModifiedTime,
    DomainName: d.DomainName,
    Aliases: c.Aliases,
    Origins: c.Origins,
    OriginGroups: c.OriginGroups,
    DefaultCacheBehavior: c.DefaultCacheBehavior,
    CacheBehaviors: c.CacheBehaviors,
    CustomErrorResponses: c.CustomErrorResponses,
    Comment: c.Comment,
    PriceClass: c.PriceClass,
    Enabled: c.Enabled,
    ViewerCertificate: c.ViewerCertificate,
    Restrictions: c.Restrictions,
    WebACLId: c.WebACLId,
    HttpVersion: c.HttpVersion,
    IsIPV6Enabled: c.IsIPV6Enabled,
    Staging: c.Staging,
  };
}
