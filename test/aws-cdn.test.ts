import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import {
  AccessDenied,
  CloudFrontServiceException,
  CNAMEAlreadyExists,
  CreateDistributionWithTagsCommand,
  DeleteDistributionCommand,
  GetDistributionConfigCommand,
  InvalidArgument,
  ListDistributionsCommand,
  TooManyDistributions,
  TooManyOrigins,
  UpdateDistributionCommand,
  type DistributionConfig as AwsDistributionConfig,
} from '@aws-sdk/client-cloudfront';
import { CloudError, type CloudErrorKind } from '../controller/errors.ts';
import { ownershipTags } from '../controller/model/tags.ts';
import type { DistributionConfig, Origin } from '../controller/ports/cdn.ts';
import { AwsCdn, callerReference } from '../controller/providers/aws/cdn.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { FakeCloudFront } from './support/aws-fake/cloudfront.ts';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-demo';

function origin(region: string): Origin {
  return {
    id: region,
    domainName: `tandem-${region}.elb.example`,
    protocol: 'http-only',
    connectionTimeoutSeconds: 5,
    connectionAttempts: 2,
    responseTimeoutSeconds: 10,
    customHeaders: { 'X-Tandem-Origin': 'demo.s3cret' },
  };
}

/** Shaped like the planner's desired distribution for a two-region site with aliases. */
function demoConfig(): DistributionConfig {
  return {
    comment: 'tandem site demo',
    enabled: true,
    aliases: ['shop.example.com', 'www.example.com'],
    certificateArn: CERT,
    priceClass: 'PriceClass_100',
    origins: [origin('us-east-1'), origin('eu-west-1')],
    originGroup: {
      id: 'failover-group',
      primaryOriginId: 'us-east-1',
      failoverOriginId: 'eu-west-1',
      statusCodes: [500, 502, 503, 504],
    },
    targetOriginId: 'failover-group',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 60,
  };
}

/** One region, no aliases, no certificate: the origin is the target. */
function singleOriginConfig(site = 'solo'): DistributionConfig {
  return {
    comment: `tandem site ${site}`,
    enabled: true,
    aliases: [],
    priceClass: 'PriceClass_All',
    origins: [{ ...origin('us-east-1'), customHeaders: { 'X-Tandem-Origin': `${site}.s3cret` } }],
    targetOriginId: 'us-east-1',
    viewerProtocolPolicy: 'redirect-to-https',
    defaultTtlSeconds: 0,
  };
}

function awsOrigin(region: string) {
  return {
    Id: region,
    DomainName: `tandem-${region}.elb.example`,
    CustomHeaders: { Quantity: 1, Items: [{ HeaderName: 'X-Tandem-Origin', HeaderValue: 'demo.s3cret' }] },
    CustomOriginConfig: {
      HTTPPort: 80,
      HTTPSPort: 443,
      OriginProtocolPolicy: 'http-only',
      OriginSslProtocols: { Quantity: 1, Items: ['TLSv1.2'] },
      // The origin's response timeout, as the spec gives it.
      OriginReadTimeout: 10,
      OriginKeepaliveTimeout: 5,
    },
    ConnectionAttempts: 2,
    ConnectionTimeout: 5,
  };
}

let fake: FakeCloudFront;
let cdn: AwsCdn;

beforeEach(() => {
  fake = new FakeCloudFront();
  cdn = new AwsCdn(new AwsClients());
});

afterEach(() => fake.restore());

async function rejectsWith(promise: Promise<unknown>, kind: CloudErrorKind, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

function inputs<T>(command: abstract new (...args: never[]) => { input: T }): T[] {
  return fake.mock.commandCalls(command as never).map((call) => (call.args[0] as { input: T }).input);
}

test('createDistribution sends a complete CloudFront config, a fresh caller reference and the tags', async () => {
  await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const reference = inputs(CreateDistributionWithTagsCommand)[0]!.DistributionConfigWithTags!
    .DistributionConfig!.CallerReference!;
  assert.match(reference, /^tandem-site-demo-[0-9a-f-]{36}$/);

  assert.deepEqual(inputs(CreateDistributionWithTagsCommand), [
    {
      DistributionConfigWithTags: {
        DistributionConfig: {
          CallerReference: reference,
          Comment: 'tandem site demo',
          Enabled: true,
          Aliases: { Quantity: 2, Items: ['shop.example.com', 'www.example.com'] },
          PriceClass: 'PriceClass_100',
          HttpVersion: 'http2and3',
          IsIPV6Enabled: true,
          ViewerCertificate: {
            ACMCertificateArn: CERT,
            SSLSupportMethod: 'sni-only',
            MinimumProtocolVersion: 'TLSv1.2_2021',
          },
          Origins: { Quantity: 2, Items: [awsOrigin('us-east-1'), awsOrigin('eu-west-1')] },
          OriginGroups: {
            Quantity: 1,
            Items: [
              {
                Id: 'failover-group',
                FailoverCriteria: { StatusCodes: { Quantity: 4, Items: [500, 502, 503, 504] } },
                Members: { Quantity: 2, Items: [{ OriginId: 'us-east-1' }, { OriginId: 'eu-west-1' }] },
              },
            ],
          },
          DefaultCacheBehavior: {
            TargetOriginId: 'failover-group',
            ViewerProtocolPolicy: 'redirect-to-https',
            AllowedMethods: {
              Quantity: 3,
              Items: ['GET', 'HEAD', 'OPTIONS'],
              CachedMethods: { Quantity: 2, Items: ['GET', 'HEAD'] },
            },
            Compress: true,
            ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
            MinTTL: 0,
            DefaultTTL: 60,
            MaxTTL: 31536000,
          },
        },
        Tags: {
          Items: [
            { Key: 'tandem:managed-by', Value: 'tandem' },
            { Key: 'tandem:site', Value: 'demo' },
          ],
        },
      },
    },
  ]);
});

test('every create gets a new caller reference naming the site (CloudFront never accepts one twice)', () => {
  assert.notEqual(callerReference(demoConfig()), callerReference(demoConfig()));
  assert.match(callerReference(demoConfig()), /^tandem-site-demo-[0-9a-f-]{36}$/);
});

test('a distribution without a certificate uses the CloudFront default certificate and no origin group', async () => {
  await cdn.createDistribution(singleOriginConfig(), ownershipTags('solo'));

  const sent = inputs(CreateDistributionWithTagsCommand)[0]!.DistributionConfigWithTags!.DistributionConfig!;
  assert.deepEqual(sent.ViewerCertificate, { CloudFrontDefaultCertificate: true });
  assert.deepEqual(sent.OriginGroups, { Quantity: 0, Items: [] });
  assert.deepEqual(sent.Aliases, { Quantity: 0, Items: [] });
  assert.equal(sent.DefaultCacheBehavior?.TargetOriginId, 'us-east-1');
});

test('createDistribution answers the id, ARN, domain and InProgress status CloudFront returned', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));

  const stored = fake.distributions.get(created.id)!;
  assert.deepEqual(
    { id: created.id, arn: created.arn, domainName: created.domainName, status: created.status },
    { id: stored.Id, arn: stored.ARN, domainName: stored.DomainName, status: 'InProgress' },
  );
  assert.deepEqual(created.config, demoConfig());
});

test('a created distribution lists back as exactly the config it was created from', async () => {
  for (const config of [demoConfig(), singleOriginConfig()]) {
    await cdn.createDistribution(config, ownershipTags('demo'));
  }
  fake.deploy();

  const page = await cdn.listDistributions();
  assert.deepEqual(
    page.items.map((d) => d.config),
    [demoConfig(), singleOriginConfig()],
  );
  assert.deepEqual(
    page.items.map((d) => d.status),
    ['Deployed', 'Deployed'],
  );
  assert.equal(page.next, undefined);
});

test('getDistributionConfig answers the managed config and the ETag to quote', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));

  const read = await cdn.getDistributionConfig(created.id);
  assert.deepEqual(read, { config: demoConfig(), etag: fake.distributions.get(created.id)!.ETag });
  assert.deepEqual(inputs(GetDistributionConfigCommand), [{ Id: created.id }]);
});

test('a site deleted and applied again with the same spec gets a new distribution', async () => {
  const first = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const second = await cdn.createDistribution({ ...demoConfig(), aliases: [] }, ownershipTags('demo'));
  assert.notEqual(first.id, second.id);
  const references = inputs(CreateDistributionWithTagsCommand).map(
    (i) => i.DistributionConfigWithTags?.DistributionConfig?.CallerReference,
  );
  assert.equal(new Set(references).size, 2);
});

test('updateDistribution sends the full current config with tandem’s fields replaced, quoting IfMatch', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  fake.deploy();
  const { etag } = await cdn.getDistributionConfig(created.id);
  const before = structuredClone(fake.distributions.get(created.id)!.DistributionConfig);

  const wanted: DistributionConfig = {
    ...demoConfig(),
    aliases: ['www.example.com'],
    origins: [
      { ...origin('us-east-1'), connectionTimeoutSeconds: 7 },
      { ...origin('eu-west-1'), domainName: 'tandem-eu-west-1-new.elb.example' },
    ],
    defaultTtlSeconds: 300,
  };
  await cdn.updateDistribution(created.id, wanted, etag);

  const expected: AwsDistributionConfig = structuredClone(before);
  expected.Aliases = { Quantity: 1, Items: ['www.example.com'] };
  expected.Origins!.Items![0]!.ConnectionTimeout = 7;
  expected.Origins!.Items![1]!.DomainName = 'tandem-eu-west-1-new.elb.example';
  expected.DefaultCacheBehavior!.DefaultTTL = 300;
  assert.deepEqual(inputs(UpdateDistributionCommand), [
    { Id: created.id, IfMatch: etag, DistributionConfig: expected },
  ]);
  assert.equal(fake.distributions.get(created.id)!.Status, 'InProgress');
});

test('an update keeps every setting tandem does not manage', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  fake.edit(created.id, (c) => {
    c.Logging = { Enabled: true, IncludeCookies: false, Bucket: 'logs.s3.amazonaws.com', Prefix: 'cdn/' };
    c.WebACLId = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/tandem/1';
    c.HttpVersion = 'http2';
    c.DefaultRootObject = 'index.html';
    c.Origins!.Items![0]!.OriginShield = { Enabled: true, OriginShieldRegion: 'us-east-1' };
    c.OriginGroups!.Items![0]!.SelectionCriteria = 'default';
    c.DefaultCacheBehavior!.FunctionAssociations = {
      Quantity: 1,
      Items: [
        { FunctionARN: 'arn:aws:cloudfront::123456789012:function/headers', EventType: 'viewer-response' },
      ],
    };
  });
  fake.deploy();
  const { etag } = await cdn.getDistributionConfig(created.id);

  await cdn.updateDistribution(created.id, { ...demoConfig(), enabled: false }, etag);

  const after = fake.distributions.get(created.id)!.DistributionConfig;
  assert.equal(after.Enabled, false);
  assert.equal(after.Logging?.Bucket, 'logs.s3.amazonaws.com');
  assert.equal(after.WebACLId, 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/tandem/1');
  assert.equal(after.HttpVersion, 'http2');
  assert.equal(after.DefaultRootObject, 'index.html');
  assert.deepEqual(after.Origins?.Items?.[0]?.OriginShield, {
    Enabled: true,
    OriginShieldRegion: 'us-east-1',
  });
  assert.equal(after.OriginGroups?.Items?.[0]?.SelectionCriteria, 'default');
  assert.equal(after.DefaultCacheBehavior?.FunctionAssociations?.Quantity, 1);
  assert.match(after.CallerReference ?? '', /^tandem-site-demo-/, 'the reference of the create is kept');
});

test('an update quoting an ETag other than the cached one reads the config again and fails with Conflict before sending', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  await cdn.getDistributionConfig(created.id);

  await rejectsWith(
    cdn.updateDistribution(created.id, { ...demoConfig(), enabled: false }, 'ESTALEETAG00001'),
    'Conflict',
    /changed since it was read/,
  );
  assert.equal(inputs(GetDistributionConfigCommand).length, 2);
  assert.equal(inputs(UpdateDistributionCommand).length, 0);
});

test('an update quoting the current ETag succeeds from a fresh adapter, after reading the config once', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const fresh = new AwsCdn(new AwsClients());

  await fresh.updateDistribution(
    created.id,
    { ...demoConfig(), enabled: false },
    fake.distributions.get(created.id)!.ETag,
  );

  assert.equal(inputs(GetDistributionConfigCommand).length, 1);
  assert.equal(fake.distributions.get(created.id)!.DistributionConfig.Enabled, false);
});

test('a change made elsewhere after the read makes CloudFront refuse the update: PreconditionFailed is a Conflict', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const { etag } = await cdn.getDistributionConfig(created.id);
  fake.edit(created.id, (c) => {
    c.Comment = 'tandem site demo';
  });

  await rejectsWith(
    cdn.updateDistribution(created.id, { ...demoConfig(), enabled: false }, etag),
    'Conflict',
    /PreconditionFailed/,
  );
  assert.equal(fake.distributions.get(created.id)!.DistributionConfig.Enabled, true);
});

test('deleteDistribution sends the id and IfMatch once the disable has deployed', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const first = await cdn.getDistributionConfig(created.id);
  await cdn.updateDistribution(created.id, { ...demoConfig(), enabled: false }, first.etag);
  fake.deploy();
  const { etag } = await cdn.getDistributionConfig(created.id);

  await cdn.deleteDistribution(created.id, etag);

  assert.deepEqual(inputs(DeleteDistributionCommand), [{ Id: created.id, IfMatch: etag }]);
  assert.equal(fake.distributions.size, 0);
  await rejectsWith(cdn.getDistributionConfig(created.id), 'NotFound', /NoSuchDistribution/);
});

test('deleting an enabled distribution is a Conflict (DistributionNotDisabled)', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  fake.deploy();
  const { etag } = await cdn.getDistributionConfig(created.id);

  await rejectsWith(cdn.deleteDistribution(created.id, etag), 'Conflict', /DistributionNotDisabled/);
  assert.equal(fake.distributions.size, 1);
});

test('deleting a disabled distribution whose disable is still deploying is a Conflict', async () => {
  const created = await cdn.createDistribution(demoConfig(), ownershipTags('demo'));
  const first = await cdn.getDistributionConfig(created.id);
  await cdn.updateDistribution(created.id, { ...demoConfig(), enabled: false }, first.etag);
  const { etag } = await cdn.getDistributionConfig(created.id);

  await rejectsWith(cdn.deleteDistribution(created.id, etag), 'Conflict', /DistributionNotDisabled/);
});

test('deleting with a stale ETag is a Conflict (PreconditionFailed)', async () => {
  const created = await cdn.createDistribution(singleOriginConfig(), ownershipTags('solo'));
  const first = await cdn.getDistributionConfig(created.id);
  await cdn.updateDistribution(created.id, { ...singleOriginConfig(), enabled: false }, first.etag);
  fake.deploy();

  await rejectsWith(cdn.deleteDistribution(created.id, first.etag), 'Conflict', /PreconditionFailed/);
});

test('listDistributions asks for 100 a page and follows NextMarker to the last page', async () => {
  for (let i = 0; i < 250; i += 1) {
    await cdn.createDistribution(singleOriginConfig(`s${String(i).padStart(3, '0')}`), {});
  }
  const seen: string[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const page = await cdn.listDistributions(next);
    seen.push(...page.items.map((d) => d.id));
    next = page.next;
    pages += 1;
  } while (next !== undefined);

  assert.equal(pages, 3);
  assert.deepEqual(seen, [...fake.distributions.keys()].sort());
  const asked = inputs(ListDistributionsCommand);
  assert.deepEqual(asked, [
    { Marker: undefined, MaxItems: 100 },
    { Marker: seen[99], MaxItems: 100 },
    { Marker: seen[199], MaxItems: 100 },
  ]);
});

test('an account without distributions lists an empty last page', async () => {
  assert.deepEqual(await cdn.listDistributions(), { items: [] });
});

test('listTags answers the tags the distribution was created with', async () => {
  const created = await cdn.createDistribution(demoConfig(), { ...ownershipTags('demo'), team: 'web' });

  assert.deepEqual(await cdn.listTags(created.arn), { ...ownershipTags('demo'), team: 'web' });
});

const sdkError = (name: string, status: number, fault: 'client' | 'server' = 'client') =>
  new CloudFrontServiceException({
    name,
    $fault: fault,
    message: `${name} (simulated)`,
    $metadata: { httpStatusCode: status },
  });

test('CloudFront errors map to the core’s kinds', async (t) => {
  const cases: {
    name: string;
    command: string;
    error: Error;
    call: () => Promise<unknown>;
    kind: CloudErrorKind;
    message: RegExp;
  }[] = [
    {
      name: 'throttling',
      command: 'ListDistributions',
      error: sdkError('Throttling', 400),
      call: () => cdn.listDistributions(),
      kind: 'Throttled',
      message: /Throttling/,
    },
    {
      name: 'service unavailable',
      command: 'ListDistributions',
      error: sdkError('ServiceUnavailable', 503, 'server'),
      call: () => cdn.listDistributions(),
      kind: 'Unavailable',
      message: /ServiceUnavailable/,
    },
    {
      name: 'access denied names the permission',
      command: 'GetDistributionConfig',
      error: new AccessDenied({ message: 'User is not authorized', $metadata: { httpStatusCode: 403 } }),
      call: () => cdn.getDistributionConfig('E123'),
      kind: 'AccessDenied',
      message: /Grant cloudfront:GetDistributionConfig on distribution\/E123/,
    },
    {
      name: 'access denied on create names both permissions',
      command: 'CreateDistributionWithTags',
      error: new AccessDenied({ message: 'User is not authorized', $metadata: { httpStatusCode: 403 } }),
      call: () => cdn.createDistribution(demoConfig(), {}),
      kind: 'AccessDenied',
      message: /cloudfront:CreateDistribution[\s\S]*cloudfront:TagResource/,
    },
    {
      name: 'an alias used elsewhere',
      command: 'CreateDistributionWithTags',
      error: new CNAMEAlreadyExists({ message: 'CNAME taken', $metadata: { httpStatusCode: 409 } }),
      call: () => cdn.createDistribution(demoConfig(), {}),
      kind: 'Conflict',
      message: /CNAMEAlreadyExists/,
    },
    {
      name: 'an invalid argument',
      command: 'CreateDistributionWithTags',
      error: new InvalidArgument({ message: 'bad', $metadata: { httpStatusCode: 400 } }),
      call: () => cdn.createDistribution(demoConfig(), {}),
      kind: 'Invalid',
      message: /InvalidArgument/,
    },
    {
      name: 'the account’s distributions quota',
      command: 'CreateDistributionWithTags',
      error: new TooManyDistributions({ message: 'too many', $metadata: { httpStatusCode: 400 } }),
      call: () => cdn.createDistribution(demoConfig(), {}),
      kind: 'QuotaExceeded',
      message: /TooManyDistributions: Web distributions per AWS account.*Ask for more in Service Quotas/,
    },
    {
      name: 'a distribution’s origins quota',
      command: 'CreateDistributionWithTags',
      error: new TooManyOrigins({ message: 'too many origins', $metadata: { httpStatusCode: 400 } }),
      call: () => cdn.createDistribution(demoConfig(), {}),
      kind: 'QuotaExceeded',
      message: /TooManyOrigins: Origins per distribution/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      fake.failNext(c.command, c.error);
      await rejectsWith(c.call(), c.kind, c.message);
    });
  }
});

test('a config CloudFront refuses is Invalid, with CloudFront’s reason', async () => {
  const config = {
    ...demoConfig(),
    origins: [{ ...origin('us-east-1'), connectionTimeoutSeconds: 11 }, origin('eu-west-1')],
  };

  await rejectsWith(cdn.createDistribution(config, {}), 'Invalid', /ConnectionTimeout must be 1–10/);
});

test('an unknown distribution is NotFound for every call that names it', async () => {
  await rejectsWith(cdn.getDistributionConfig('EUNKNOWN'), 'NotFound');
  await rejectsWith(cdn.updateDistribution('EUNKNOWN', demoConfig(), 'E1'), 'NotFound');
  await rejectsWith(cdn.deleteDistribution('EUNKNOWN', 'E1'), 'NotFound');
  await rejectsWith(
    cdn.listTags('arn:aws:cloudfront::123456789012:distribution/EUNKNOWN'),
    'NotFound',
    /NoSuchResource/,
  );
});

test('answers missing what the adapter relies on are Unavailable, naming the field', async (t) => {
  const distribution = {
    Id: 'E1',
    ARN: 'arn:aws:cloudfront::123456789012:distribution/E1',
    Status: 'InProgress',
    DomainName: 'd1.cloudfront.net',
    DistributionConfig: {
      CallerReference: 'x',
      Comment: 'c',
      Enabled: true,
      Origins: { Quantity: 0 },
      DefaultCacheBehavior: { TargetOriginId: 'a', ViewerProtocolPolicy: 'redirect-to-https' },
    },
  };
  const cases: { field: string; command: string; reply: unknown; call: () => Promise<unknown> }[] = [
    {
      field: 'ETag',
      command: 'CreateDistributionWithTags',
      reply: { Distribution: distribution },
      call: () => cdn.createDistribution(demoConfig(), {}),
    },
    {
      field: 'Distribution.Id',
      command: 'CreateDistributionWithTags',
      reply: { Distribution: { ...distribution, Id: undefined }, ETag: 'E1' },
      call: () => cdn.createDistribution(demoConfig(), {}),
    },
    {
      field: 'Distribution.DomainName',
      command: 'CreateDistributionWithTags',
      reply: { Distribution: { ...distribution, DomainName: undefined }, ETag: 'E1' },
      call: () => cdn.createDistribution(demoConfig(), {}),
    },
    {
      field: 'ETag',
      command: 'GetDistributionConfig',
      reply: { DistributionConfig: distribution.DistributionConfig },
      call: () => cdn.getDistributionConfig('E1'),
    },
    {
      field: 'DomainName',
      command: 'ListDistributions',
      reply: {
        DistributionList: {
          IsTruncated: false,
          Quantity: 1,
          Items: [{ ...distribution, ...distribution.DistributionConfig, DomainName: undefined }],
        },
      },
      call: () => cdn.listDistributions(),
    },
    {
      field: 'NextMarker',
      command: 'ListDistributions',
      reply: { DistributionList: { IsTruncated: true, Quantity: 0 } },
      call: () => cdn.listDistributions(),
    },
  ];
  for (const c of cases) {
    await t.test(`${c.command} without ${c.field}`, async () => {
      fake.replyNext(c.command, c.reply);
      await rejectsWith(c.call(), 'Unavailable', new RegExp(`without ${c.field.replace('.', '\\.')}$`));
    });
  }
});
