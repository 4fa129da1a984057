import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { DynamoDBClient, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { pino } from 'pino';
import { CloudError } from '../controller/errors.ts';
import { PlatformCache } from '../controller/lambda/handler.ts';
import type { Platform, RegionPlatform } from '../controller/model/platform.ts';
import {
  loadPlatform,
  platformFromFile,
  type LoadPlatformOptions,
} from '../controller/providers/aws/platform.ts';

const ACCOUNT = '123456789012';
const TABLE = 'tandem';
const CONTROL = 'us-east-1';
const SECRET_ARN = `arn:aws:secretsmanager:${CONTROL}:${ACCOUNT}:secret:tandem/origin-AbCdEf`;
const SECRET = 's3cr3t-header-value';
const SESSION_TOKEN = 'session-token-of-the-function';

function regionPlatform(region: string): RegionPlatform {
  const elb = `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}`;
  return {
    region,
    cluster: 'tandem',
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    loadBalancerDnsName: `tandem-1234567890.${region}.elb.amazonaws.com`,
    listenerArn: `${elb}:listener/app/tandem/0123456789abcdef/fedcba9876543210`,
    vpcId: 'vpc-0a1b2c',
    subnets: ['subnet-1', 'subnet-2'],
    securityGroups: ['sg-1'],
    assignPublicIp: true,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-execution`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/tandem-task`,
    logGroup: `/tandem/${region}`,
  };
}

const SETTINGS = { originHeaderName: 'X-Tandem-Origin', originProtocol: 'http-only' };

/** A platform item as the bootstrap writes it: the document as JSON in a string attribute. */
function item(sk: string, document: unknown): Record<string, AttributeValue> {
  return {
    pk: { S: 'platform' },
    sk: { S: sk },
    document: { S: typeof document === 'string' ? document : JSON.stringify(document) },
    updatedAt: { S: '2026-11-28T00:00:00.000Z' },
  };
}

/** The platform partition of a table the bootstrap has written in full: settings plus two regions. */
const complete = (): Map<string, Record<string, AttributeValue>> =>
  new Map([
    ['eu-west-1', item('eu-west-1', regionPlatform('eu-west-1'))],
    ['settings', item('settings', { ...SETTINGS, originSecretArn: SECRET_ARN })],
    ['us-east-1', item('us-east-1', regionPlatform('us-east-1'))],
  ]);

/**
 * DynamoDB clients whose Query answers from `stored` (the platform partition,
 * by sort key) in pages of two, the way DynamoDB pages; or fails with `failure`.
 */
function tableWith(stored: Map<string, Record<string, AttributeValue>>, failure?: Error) {
  const calls: { region: string; input: Record<string, unknown> }[] = [];
  const clients = new Map<string, DynamoDBClient>();
  return {
    calls,
    dynamodb(region: string): DynamoDBClient {
      let client = clients.get(region);
      if (client === undefined) {
        client = new DynamoDBClient({ region });
        mockClient(client)
          .on(QueryCommand)
          .callsFake((input: { ExclusiveStartKey?: Record<string, AttributeValue> }) => {
            calls.push({ region, input });
            if (failure !== undefined) throw failure;
            const keys = [...stored.keys()].sort();
            const from = input.ExclusiveStartKey?.['sk']?.S;
            const rest = from === undefined ? keys : keys.filter((k) => k > from);
            const page = rest.slice(0, 2);
            return {
              Items: page.map((k) => stored.get(k)!),
              ...(rest.length > 2
                ? { LastEvaluatedKey: { pk: { S: 'platform' }, sk: { S: page.at(-1)! } } }
                : {}),
            };
          });
        clients.set(region, client);
      }
      return client;
    },
  };
}

// ----- a stand-in for the AWS Parameters and Secrets Lambda Extension -----

interface ExtensionRequest {
  path: string;
  secretId: string | null;
  versionStage: string | null;
  token: string | undefined;
}

const extension = {
  requests: [] as ExtensionRequest[],
  /** How the extension answers; each test may replace it. */
  answer: defaultAnswer,
  /** The secret's versions by staging label, as Secrets Manager holds them: never rotated, by default. */
  versions: { AWSCURRENT: SECRET } as Record<string, string>,
};

function defaultAnswer(request: ExtensionRequest, res: ServerResponse): void {
  if (request.token !== SESSION_TOKEN) {
    res.writeHead(401).end('unauthorized');
    return;
  }
  if (request.path !== '/secretsmanager/get' || request.secretId !== SECRET_ARN) {
    res.writeHead(400).end("ResourceNotFoundException: Secrets Manager can't find the specified secret.");
    return;
  }
  const stage = request.versionStage ?? 'AWSCURRENT';
  const value = extension.versions[stage];
  if (value === undefined) {
    res
      .writeHead(400)
      .end(
        `ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      ARN: SECRET_ARN,
      Name: 'tandem/origin',
      SecretString: value,
      VersionId: `v-${stage}`,
      VersionStages: [stage],
      CreatedDate: '2026-11-28T00:00:00.000Z',
    }),
  );
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const token = req.headers['x-aws-parameters-secrets-token'];
  const request = {
    path: url.pathname,
    secretId: url.searchParams.get('secretId'),
    versionStage: url.searchParams.get('versionStage'),
    token: Array.isArray(token) ? token[0] : token,
  };
  extension.requests.push(request);
  extension.answer(request, res);
});
const savedEnv = {
  port: process.env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'],
  token: process.env['AWS_SESSION_TOKEN'],
};
let extensionPort = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  extensionPort = (server.address() as AddressInfo).port;
  process.env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'] = String(extensionPort);
  process.env['AWS_SESSION_TOKEN'] = SESSION_TOKEN;
});

afterEach(() => {
  extension.requests = [];
  extension.answer = defaultAnswer;
  process.env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'] = String(extensionPort);
  process.env['AWS_SESSION_TOKEN'] = SESSION_TOKEN;
});

after(async () => {
  for (const [name, value] of [
    ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', savedEnv.port],
    ['AWS_SESSION_TOKEN', savedEnv.token],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function options(
  table: ReturnType<typeof tableWith>,
  extra: Partial<LoadPlatformOptions> = {},
): LoadPlatformOptions {
  return {
    clients: table,
    tableName: TABLE,
    region: CONTROL,
    regions: ['us-east-1', 'eu-west-1'],
    secret: 'extension',
    ...extra,
  };
}

/** Loads, collecting the regions left out as `onRegionProblem` reports them. */
async function load(table: ReturnType<typeof tableWith>, extra: Partial<LoadPlatformOptions> = {}) {
  const problems: { region: string; error: CloudError }[] = [];
  const platform = await loadPlatform({
    ...options(table, extra),
    onRegionProblem: (region, error) => problems.push({ region, error }),
  });
  return { platform, problems };
}

const EXPECTED: Platform = {
  regions: { 'us-east-1': regionPlatform('us-east-1'), 'eu-west-1': regionPlatform('eu-west-1') },
  originHeaderName: 'X-Tandem-Origin',
  originProtocol: 'http-only',
  originSecret: SECRET,
};

test('the platform is read from the platform items with one Query in the control region, the secret through the extension', async () => {
  const table = tableWith(complete());
  const { platform, problems } = await load(table);
  assert.deepEqual(problems, []);
  assert.deepEqual(platform, EXPECTED);

  assert.ok(
    table.calls.every((c) => c.region === CONTROL),
    'only the control region’s replica is read',
  );
  assert.deepEqual(table.calls[0]!.input, {
    TableName: TABLE,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': { S: 'platform' } },
    ConsistentRead: true,
  });
  assert.equal(table.calls.length, 2, 'the Query follows LastEvaluatedKey to the second page');

  // The version distributions send, then the one before the last rotation (none: never rotated).
  assert.deepEqual(extension.requests, [
    { path: '/secretsmanager/get', secretId: SECRET_ARN, versionStage: 'AWSCURRENT', token: SESSION_TOKEN },
    { path: '/secretsmanager/get', secretId: SECRET_ARN, versionStage: 'AWSPREVIOUS', token: SESSION_TOKEN },
  ]);
  assert.equal(platform.originSecret, SECRET);
  assert.equal(platform.previousOriginSecret, undefined, 'a secret never rotated has no previous version');
});

test('a rotated secret gives the platform its previous version too; one read again as current does not', async (t) => {
  t.after(() => (extension.versions = { AWSCURRENT: SECRET }));
  extension.versions = { AWSCURRENT: 'new-secret', AWSPREVIOUS: SECRET };
  const { platform } = await load(tableWith(complete()));
  assert.equal(platform.originSecret, 'new-secret');
  assert.equal(platform.previousOriginSecret, SECRET);

  // A rotation that put the same text back changes nothing.
  extension.versions = { AWSCURRENT: SECRET, AWSPREVIOUS: SECRET };
  const again = await load(tableWith(complete()));
  assert.equal(again.platform.previousOriginSecret, undefined);
});

test('a previous version that cannot be read fails the read: rules must not drop a secret distributions may still send', async (t) => {
  t.after(() => (extension.answer = defaultAnswer));
  extension.answer = (request, res) => {
    if (request.versionStage === 'AWSPREVIOUS') res.writeHead(500).end('InternalServiceError: try again');
    else defaultAnswer(request, res);
  };
  await assert.rejects(load(tableWith(complete())), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'Unavailable');
    assert.match(e.message, /cannot read the origin secret/);
    return true;
  });
});

test('without a list of regions, every region that has an item is in the platform (the CLI)', async () => {
  const stored = complete();
  stored.set('ap-south-1', item('ap-south-1', regionPlatform('ap-south-1')));
  const { platform, problems } = await load(tableWith(stored), { regions: undefined });
  assert.deepEqual(problems, []);
  assert.deepEqual(Object.keys(platform.regions), ['ap-south-1', 'eu-west-1', 'us-east-1']);
});

test('an item for a region not listed is ignored', async () => {
  const stored = complete();
  stored.set('ap-south-1', item('ap-south-1', 'not even JSON'));
  const { platform, problems } = await load(tableWith(stored));
  assert.deepEqual(problems, []);
  assert.deepEqual(Object.keys(platform.regions).sort(), ['eu-west-1', 'us-east-1']);
});

test('a region without the bootstrap is left out with an error naming its item and the fix; the others load', async () => {
  const stored = complete();
  stored.delete('eu-west-1');
  const { platform, problems } = await load(tableWith(stored));
  assert.deepEqual(Object.keys(platform.regions), ['us-east-1']);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.region, 'eu-west-1');
  assert.equal(problems[0]!.error.kind, 'NotFound');
  assert.equal(problems[0]!.error.resource, 'tandem/platform/eu-west-1');
  assert.match(
    problems[0]!.error.message,
    /^item pk=platform sk=eu-west-1 was not found in table tandem in us-east-1; deploy the tandem bootstrap in eu-west-1 \(its stack writes this item\), or remove eu-west-1 from TANDEM_REGIONS$/,
  );
});

test('a malformed region item names the item, each bad field and the fix', async () => {
  const stored = complete();
  const broken = { ...regionPlatform('eu-west-1'), subnets: [], assignPublicIp: 'yes' } as Record<
    string,
    unknown
  >;
  delete broken['listenerArn'];
  stored.set('eu-west-1', item('eu-west-1', broken));
  const { problems } = await load(tableWith(stored));
  assert.equal(problems[0]?.error.kind, 'Invalid');
  const message = problems[0]!.error.message;
  assert.match(
    message,
    /^item pk=platform sk=eu-west-1 in table tandem in us-east-1: field document is malformed/,
  );
  assert.match(message, /listenerArn is required/);
  assert.match(message, /subnets must name at least one/);
  assert.match(message, /assignPublicIp must be true or false/);
  assert.match(message, /deploy the tandem bootstrap in eu-west-1/);
});

test('a region item that is not JSON, not a string, or for another region is reported', async () => {
  const stored = complete();
  stored.set('eu-west-1', item('eu-west-1', '{ not json'));
  const notJson = await load(tableWith(stored));
  assert.match(
    notJson.problems[0]!.error.message,
    /item pk=platform sk=eu-west-1 in table tandem in us-east-1: field document is not valid JSON/,
  );

  stored.set('eu-west-1', { ...item('eu-west-1', {}), document: { M: {} } });
  const notString = await load(tableWith(stored));
  assert.match(
    notString.problems[0]!.error.message,
    /field document must be a string \(S\) holding JSON \(found a M attribute\)/,
  );

  stored.set('eu-west-1', item('eu-west-1', regionPlatform('us-west-2')));
  const wrong = await load(tableWith(stored));
  assert.match(wrong.problems[0]!.error.message, /field region is "us-west-2" but the item is for eu-west-1/);
});

test("a region item whose origin is not that region's ALB, or whose load balancer is in another region, is left out", async () => {
  const bad: [Partial<RegionPlatform>, RegExp][] = [
    [
      { loadBalancerDnsName: 'attacker.example.com' },
      /is neither an ALB's DNS name .* nor origin-<region>\.<domain>/,
    ],
    [{ loadBalancerDnsName: 'tandem-1234567890.eu-west-1.elb.amazonaws.com.attacker.example' }, /is neither/],
    [{ loadBalancerDnsName: 'tandem-1234567890.us-west-2.elb.amazonaws.com' }, /names region us-west-2/],
    [{ loadBalancerDnsName: 'origin-us-east-1.example.com' }, /names region us-east-1/],
    [{ loadBalancerDnsName: 'tandem\u001b[2J.eu-west-1.elb.amazonaws.com' }, /"tandem\\u001b\[2J/],
    [
      { loadBalancerArn: `arn:aws:elasticloadbalancing:us-west-2:${ACCOUNT}:loadbalancer/app/tandem/0123` },
      /field loadBalancerArn is in "us-west-2", not eu-west-1/,
    ],
    [
      { listenerArn: `arn:aws:elasticloadbalancing:us-west-2:${ACCOUNT}:listener/app/tandem/0123/4567` },
      /field listenerArn is in "us-west-2", not eu-west-1/,
    ],
    [
      { httpsListenerArn: `arn:aws:elasticloadbalancing:us-west-2:${ACCOUNT}:listener/app/tandem/0123/89ab` },
      /field httpsListenerArn is in "us-west-2", not eu-west-1/,
    ],
    [{ httpsOriginName: 'origin-us-east-1.example.com' }, /httpsOriginName .* names region us-east-1/],
    [{ httpsOriginName: 'attacker.example.com' }, /httpsOriginName "attacker.example.com" is not origin-/],
    [
      { failoverOriginName: 'us-east-1.failover.example.com' },
      /failoverOriginName .* names region us-east-1/,
    ],
    [
      { failoverOriginName: 'attacker.example.com' },
      /failoverOriginName "attacker.example.com" is not <region>\.failover\.<domain>/,
    ],
    [{ failoverOriginName: 'eu-west-1.failover' }, /failoverOriginName "eu-west-1.failover" is not </],
    [
      { failoverOriginName: 'eu-west-1.failover.example.com.\u001b[2J' },
      /"eu-west-1\.failover\.example\.com\.\\u001b\[2J" is not /,
    ],
    [
      {
        httpsOriginName: 'origin-eu-west-1.example.com',
        failoverOriginName: 'eu-west-1.failover.attacker.example',
      },
      /failoverOriginName "eu-west-1\.failover\.attacker\.example" is not under "example\.com", the domain of httpsOriginName/,
    ],
    [
      { httpsListenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/site/0123` },
      /field httpsListenerArn is not an application load balancer's \(listener\/app\/…\)/,
    ],
    [{ healthCheckId: 'hc-1; drop' }, /healthCheckId.*must be a Route 53 health check id \(a UUID\)/],
  ];
  for (const [change, message] of bad) {
    const stored = complete();
    stored.set('eu-west-1', item('eu-west-1', { ...regionPlatform('eu-west-1'), ...change }));
    const loaded = await load(tableWith(stored));
    assert.deepEqual(Object.keys(loaded.platform.regions), ['us-east-1'], JSON.stringify(change));
    assert.equal(loaded.problems.length, 1);
    assert.match(
      loaded.problems[0]!.error.message,
      /item pk=platform sk=eu-west-1 in table tandem in us-east-1: /,
    );
    assert.match(loaded.problems[0]!.error.message, message);
  }
  for (const name of [
    'origin-eu-west-1.example.com',
    'internal-tandem-1234567890.eu-west-1.elb.amazonaws.com',
    'Tandem-1234567890.EU-WEST-1.elb.amazonaws.com',
  ]) {
    const stored = complete();
    stored.set('eu-west-1', item('eu-west-1', { ...regionPlatform('eu-west-1'), loadBalancerDnsName: name }));
    const loaded = await load(tableWith(stored));
    assert.deepEqual(Object.keys(loaded.platform.regions).sort(), ['eu-west-1', 'us-east-1'], name);
  }
});

test("a region item with an HTTPS listener reads with it, the region's word that the CDN may use HTTPS there", async () => {
  const stored = complete();
  const httpsListenerArn = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/tandem/0123456789abcdef/0011223344556677`;
  const httpsOriginName = 'origin-eu-west-1.example.com';
  stored.set(
    'eu-west-1',
    item('eu-west-1', { ...regionPlatform('eu-west-1'), httpsListenerArn, httpsOriginName }),
  );
  const { platform, problems } = await load(tableWith(stored));
  assert.deepEqual(problems, []);
  assert.equal(platform.regions['eu-west-1']!.httpsListenerArn, httpsListenerArn);
  assert.equal(platform.regions['eu-west-1']!.httpsOriginName, httpsOriginName);
  assert.equal(platform.regions['us-east-1']!.httpsListenerArn, undefined);
});

test("a region item with a failover name reads with it; the name is the item's own region's under the origin name's domain", async () => {
  const stored = complete();
  const httpsListenerArn = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/tandem/0123456789abcdef/0011223344556677`;
  const region = {
    ...regionPlatform('eu-west-1'),
    httpsListenerArn,
    httpsOriginName: 'origin-eu-west-1.example.com',
    failoverOriginName: 'eu-west-1.failover.example.com',
    healthCheckId: 'abcdef01-2345-6789-abcd-ef0123456789',
  };
  stored.set('eu-west-1', item('eu-west-1', region));
  const { platform, problems } = await load(tableWith(stored));
  assert.deepEqual(problems, []);
  assert.equal(platform.regions['eu-west-1']!.failoverOriginName, 'eu-west-1.failover.example.com');
  assert.equal(platform.regions['eu-west-1']!.healthCheckId, 'abcdef01-2345-6789-abcd-ef0123456789');
  assert.equal(platform.regions['us-east-1']!.failoverOriginName, undefined);
});

test('a missing or malformed settings item fails the load, naming the item and the control stack', async () => {
  const noSettings = complete();
  noSettings.delete('settings');
  await assert.rejects(loadPlatform(options(tableWith(noSettings))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'NotFound');
    assert.match(e.message, /item pk=platform sk=settings was not found in table tandem in us-east-1/);
    assert.match(e.message, /control stack in us-east-1/);
    return true;
  });

  const badSettings = complete();
  badSettings.set(
    'settings',
    item('settings', { originHeaderName: 'X Bad', originProtocol: 'ftp', originSecretArn: 'the-secret' }),
  );
  await assert.rejects(loadPlatform(options(tableWith(badSettings))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.match(e.message, /^item pk=platform sk=settings in table tandem in us-east-1/);
    assert.match(e.message, /originHeaderName must be an HTTP header name/);
    assert.match(e.message, /originProtocol must be "http-only" or "https-only"/);
    assert.match(e.message, /originSecretArn must be a Secrets Manager secret ARN/);
    return true;
  });
  assert.deepEqual(extension.requests, [], 'no secret is read without good settings');
});

test('the table failing fails the load, mapped to a CloudError naming the table', async () => {
  const throttled = Object.assign(new Error('Rate exceeded'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
  });
  await assert.rejects(loadPlatform(options(tableWith(complete(), throttled))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'Throttled');
    assert.match(e.resource, /table tandem in us-east-1 \(platform items\)/);
    return true;
  });
  const denied = Object.assign(new Error('not authorized to perform dynamodb:Query'), {
    name: 'AccessDeniedException',
    $fault: 'client',
  });
  await assert.rejects(loadPlatform(options(tableWith(complete(), denied))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'AccessDenied');
    assert.match(e.message, /Grant dynamodb:Query on table tandem in us-east-1/);
    return true;
  });
});

test('a secret the extension cannot get is an error naming the secret, the settings item and the fix', async () => {
  const stored = complete();
  const otherArn = `arn:aws:secretsmanager:${CONTROL}:${ACCOUNT}:secret:gone-XyZ123`;
  stored.set('settings', item('settings', { ...SETTINGS, originSecretArn: otherArn }));
  await assert.rejects(loadPlatform(options(tableWith(stored))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'NotFound');
    assert.equal(e.resource, otherArn);
    assert.match(
      e.message,
      /cannot read the origin secret .*gone-XyZ123 \(named by item pk=platform sk=settings\)/,
    );
    assert.match(e.message, /through the AWS Parameters and Secrets Lambda Extension on localhost:\d+/);
    assert.match(e.message, /ResourceNotFoundException/);
    return true;
  });

  extension.answer = (_request, res) =>
    void res
      .writeHead(400)
      .end('AccessDeniedException: User is not authorized to perform secretsmanager:GetSecretValue');
  await assert.rejects(loadPlatform(options(tableWith(complete()))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'AccessDenied');
    assert.match(e.message, /Grant secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:/);
    return true;
  });

  extension.answer = (_request, res) => void res.writeHead(500).end('internal error');
  await assert.rejects(loadPlatform(options(tableWith(complete()))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'Unavailable');
    return true;
  });

  extension.answer = (_request, res) =>
    void res.writeHead(200).end(JSON.stringify({ ARN: SECRET_ARN, SecretBinary: 'AAEC' }));
  await assert.rejects(
    loadPlatform(options(tableWith(complete()))),
    /the origin secret .* holds no SecretString: store the origin header value as the secret’s text/,
  );
});

test('the request carries the session token; without one the extension is not asked', async () => {
  process.env['AWS_SESSION_TOKEN'] = 'some-other-token';
  await assert.rejects(loadPlatform(options(tableWith(complete()))), /HTTP 401/);
  assert.equal(extension.requests[0]?.token, 'some-other-token');

  delete process.env['AWS_SESSION_TOKEN'];
  extension.requests = [];
  await assert.rejects(loadPlatform(options(tableWith(complete()))), /AWS_SESSION_TOKEN is not set/);
  assert.deepEqual(extension.requests, []);
});

test('an extension that does not answer is Unavailable, naming its port and the layer', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  process.env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'] = String(port);
  await assert.rejects(loadPlatform(options(tableWith(complete()))), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'Unavailable');
    assert.match(e.message, new RegExp(`Extension on localhost:${port} did not answer \\(ECONNREFUSED\\)`));
    assert.match(e.message, /add the extension's layer to the reconciler Lambda/);
    return true;
  });

  process.env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'] = 'twenty';
  await assert.rejects(
    loadPlatform(options(tableWith(complete()))),
    /PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is "twenty": it must be a port number/,
  );
});

test('the origin secret never appears in an error or a problem', async () => {
  const stored = complete();
  stored.set('eu-west-1', item('eu-west-1', { ...regionPlatform('eu-west-1'), cluster: '' }));
  const { problems } = await load(tableWith(stored));
  assert.ok(problems.every((p) => !p.error.message.includes(SECRET)));

  extension.answer = (_request, res) =>
    void res.writeHead(200).end(JSON.stringify({ ARN: SECRET_ARN, SecretString: SECRET, extra: 1 }).slice(1));
  await assert.rejects(loadPlatform(options(tableWith(complete()))), (e) => {
    assert.ok(e instanceof Error && !e.message.includes(SECRET));
    return true;
  });
});

test('with secret: sdk the secret is read with GetSecretValue from its replica in the reader’s region, not the extension', async () => {
  const secrets = mockClient(SecretsManagerClient);
  const euArn = `arn:aws:secretsmanager:eu-central-1:${ACCOUNT}:secret:tandem/origin-AbCdEf`;
  const asked: { secretId: string; region: string }[] = [];
  secrets
    .on(GetSecretValueCommand)
    .callsFake(async (input: { SecretId: string; VersionStage?: string }, getClient) => {
      asked.push({ secretId: input.SecretId, region: await getClient().config.region() });
      if (input.VersionStage === 'AWSPREVIOUS')
        throw Object.assign(
          new Error("Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS"),
          {
            name: 'ResourceNotFoundException',
            $fault: 'client',
          },
        );
      return { ARN: input.SecretId, SecretString: SECRET };
    });
  try {
    const stored = complete();
    stored.set('settings', item('settings', { ...SETTINGS, originSecretArn: euArn }));
    const platform = await loadPlatform(options(tableWith(stored), { secret: 'sdk' }));
    assert.equal(platform.originSecret, SECRET);
    // The settings name the primary's secret; a replica differs only by its region.
    const replica = euArn.replace('eu-central-1', CONTROL);
    assert.deepEqual(asked, [
      { secretId: replica, region: CONTROL },
      { secretId: replica, region: CONTROL },
    ]);
    assert.equal(platform.previousOriginSecret, undefined);
    assert.deepEqual(extension.requests, []);

    secrets.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized'), {
        name: 'AccessDeniedException',
        $fault: 'client',
      }),
    );
    await assert.rejects(loadPlatform(options(tableWith(stored), { secret: 'sdk' })), (e) => {
      assert.ok(e instanceof CloudError);
      assert.equal(e.kind, 'AccessDenied');
      assert.match(e.message, /named by item pk=platform sk=settings/);
      assert.match(
        e.message,
        new RegExp(`Grant secretsmanager:GetSecretValue on arn:aws:secretsmanager:${CONTROL}:`),
      );
      return true;
    });
  } finally {
    secrets.restore();
  }
});

// ----- the Lambda's cache of it -----

function quietLog() {
  const lines: { msg: string; region?: string }[] = [];
  return {
    lines,
    log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
  };
}

test('a refresh that fails keeps the platform read before; a first load that fails throws', async () => {
  const answers: (Platform | CloudError)[] = [
    new CloudError('Unavailable', 'platform', 'extension did not answer'),
    EXPECTED,
    new CloudError('Throttled', 'table tandem', 'dynamodb:Query failed (ThrottlingException)'),
  ];
  const load = async () => {
    const next = answers.shift()!;
    if (next instanceof CloudError) throw next;
    return next;
  };
  const { log, lines } = quietLog();
  const cache = new PlatformCache(load, log, 1_000);
  await assert.rejects(cache.get(0), /extension did not answer/);
  assert.deepEqual(await cache.get(10), EXPECTED);
  assert.deepEqual(await cache.get(500), EXPECTED, 'fresh: not read again');
  assert.equal(answers.length, 1);
  assert.deepEqual(
    await cache.get(2_000),
    EXPECTED,
    'stale, and the refresh is throttled: the last good one',
  );
  assert.ok(lines.some((l) => l.msg === 'platform not refreshed; using the one read before'));
});

test('a region left out is logged and read again on the next invocation', async () => {
  const missing = new CloudError('NotFound', 'tandem/platform/eu-west-1', 'item … was not found');
  let loads = 0;
  const { log, lines } = quietLog();
  const cache = new PlatformCache(
    async (onRegionProblem) => {
      loads += 1;
      if (loads > 1) return EXPECTED;
      onRegionProblem('eu-west-1', missing);
      return { ...EXPECTED, regions: { 'us-east-1': regionPlatform('us-east-1') } };
    },
    log,
    60_000,
  );
  assert.deepEqual(Object.keys((await cache.get(0)).regions), ['us-east-1']);
  assert.ok(lines.some((l) => l.region === 'eu-west-1' && l.msg.startsWith('region left out')));
  assert.deepEqual(await cache.get(1), EXPECTED, 'read again at once');
  assert.equal(loads, 2);
});

// ----- the development platform file -----

const dir = mkdtempSync(join(tmpdir(), 'tandem-platform-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writePlatform(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('a platform file for development reads as a Platform', () => {
  const file = writePlatform('ok.json', {
    ...SETTINGS,
    originSecret: 'dev',
    regions: { 'us-east-1': regionPlatform('us-east-1') },
  });
  assert.deepEqual(platformFromFile(file), {
    ...SETTINGS,
    originSecret: 'dev',
    regions: { 'us-east-1': regionPlatform('us-east-1') },
  });
});

test('a bad platform file is refused naming the file and each field', () => {
  const missingFile = join(dir, 'absent.json');
  assert.throws(() => platformFromFile(missingFile), /cannot read the platform file .*absent\.json: ENOENT/);
  const notJson = writePlatform('bad.json', '{');
  assert.throws(() => platformFromFile(notJson), /cannot read the platform file .*bad\.json/);
  const badField = writePlatform('field.json', {
    ...SETTINGS,
    regions: { 'us-east-1': { ...regionPlatform('us-east-1'), vpcId: 'nope' } },
  });
  assert.throws(
    () => platformFromFile(badField),
    (e) => {
      assert.ok(e instanceof CloudError);
      assert.match(e.message, /originSecret is required/);
      assert.match(e.message, /regions\.us-east-1\.vpcId must be a VPC id/);
      return true;
    },
  );
  const mismatched = writePlatform('mismatch.json', {
    ...SETTINGS,
    originSecret: 'dev',
    regions: { 'eu-west-1': regionPlatform('us-east-1') },
  });
  assert.throws(() => platformFromFile(mismatched), /regions\.eu-west-1\.region is "us-east-1"/);
  const listed = writePlatform('list.json', { ...SETTINGS, originSecret: 'dev', regions: [] });
  assert.throws(() => platformFromFile(listed), /regions must be an object keyed by region/);
});
