import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { main } from '../controller/cli/main.ts';
import { AwsClients } from '../controller/providers/aws/clients.ts';
import { awsPorts } from '../controller/providers/aws/index.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import { reconcilePass } from '../controller/reconcile/pass.ts';
import { ensureSpecTable } from '../controller/providers/local/store.ts';
import { FakeCloudFront } from './support/aws-fake/cloudfront.ts';
import { FakeCloudWatch } from './support/aws-fake/cloudwatch.ts';
import { FakeEcs } from './support/aws-fake/ecs.ts';
import { FakeElbv2 } from './support/aws-fake/elbv2.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, number>) => Server;

const TABLE = 'tandem';
const REGIONS = ['us-east-1', 'eu-west-1'];
const platform = simPlatform(REGIONS);
const dir = mkdtempSync(join(tmpdir(), 'tandem-aws-cli-'));
const platformFile = join(dir, 'platform.json');
writeFileSync(platformFile, JSON.stringify(platform));

interface Recorded {
  service: string;
  operation: string;
  host: string;
}

/** A stand-in for every AWS endpoint: DynamoDB calls go on to dynalite, others get a client error. */
let db: Server;
let endpoint: Server;
let endpointUrl = '';
const recorded: Recorded[] = [];

before(async () => {
  db = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', resolve));
  const dbPort = (db.address() as AddressInfo).port;
  endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      recorded.push(describeRequest(req, body));
      if (String(req.headers['x-amz-target'] ?? '').startsWith('DynamoDB_')) {
        const forward = request(
          { host: '127.0.0.1', port: dbPort, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(res);
          },
        );
        forward.end(body);
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"__type":"RecordedOnly","message":"this endpoint only records requests"}');
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${dbPort}`,
    credentials,
  });
  await ensureSpecTable(client, TABLE);
  client.destroy();
});

after(async () => {
  await new Promise((resolve) => endpoint.close(resolve));
  await new Promise((resolve) => db.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The service and operation of a request, from how each AWS protocol names them. */
function describeRequest(req: IncomingMessage, body: Buffer): Recorded {
  const scope =
    /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '?';
  const target = String(req.headers['x-amz-target'] ?? '');
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString())?.[1];
  const smithy = /\/operation\/([A-Za-z]+)/.exec(req.url ?? '')?.[1];
  const operation = target.split('.').at(-1) || action || smithy || `${req.method} ${req.url?.split('?')[0]}`;
  return { service: scope, operation, host: String(req.headers.host) };
}

/** Connections a child process opens, written to a file by a preloaded hook. */
const CONNECT_HOOK = `
const net = require('node:net');
const fs = require('node:fs');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const o = typeof first === 'object' && first !== null ? first : { port: first, host: args[1] };
  fs.appendFileSync(process.env.TANDEM_TEST_CONNECTS, JSON.stringify({ host: o.host, port: o.port, path: o.path }) + '\\n');
  return connect.apply(this, args);
};
`;

async function tandemChild(args: string[], env: Record<string, string>) {
  const hook = join(dir, 'connect-hook.cjs');
  writeFileSync(hook, CONNECT_HOOK);
  return promisify(execFile)(process.execPath, ['--require', hook, 'bin/tandem.js', ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
  });
}

test('with AWS_ENDPOINT_URL set, tandem reconcile --once sends every service’s calls there and none elsewhere', async () => {
  const connects = join(dir, 'connects.jsonl');
  writeFileSync(connects, '');
  const env = {
    AWS_ENDPOINT_URL: endpointUrl,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    TANDEM_TEST_CONNECTS: connects,
  };
  const common = ['--table', TABLE, '--region', 'us-east-1', '--platform', platformFile];
  recorded.length = 0;
  await tandemChild(['apply', '-f', 'specs/demo.json', ...common], env);
  const { stdout } = await tandemChild(['reconcile', '--once', ...common], env);
  assert.match(stdout, /^us-east-1 demo: /m, "the pass of --region's reconciler");

  const services = new Set(recorded.map((r) => r.service));
  for (const service of ['dynamodb', 'ecs', 'elasticloadbalancing', 'cloudfront', 'monitoring']) {
    assert.ok(
      services.has(service),
      `${service} was called through AWS_ENDPOINT_URL (saw ${[...services].join(', ')})`,
    );
  }
  const port = new URL(endpointUrl).port;
  const opened = readFileSync(connects, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { host?: string; port?: number | string; path?: string });
  assert.ok(
    opened.some((c) => String(c.port) === port),
    'the hook saw the connections to the endpoint',
  );
  const elsewhere = opened
    // Unix-socket paths are local IPC (tsx's), never the network.
    .filter(
      (c) =>
        c.path === undefined &&
        !(['127.0.0.1', 'localhost'].includes(c.host ?? '') && String(c.port) === port),
    );
  assert.deepEqual(elsewhere, [], 'no connection went anywhere else');
});

const WRITE = /^(Create|Update|Delete|Register|Deregister|Modify|Put|Set|Tag|Untag|BatchWrite|TransactWrite)/;

test('tandem plan against the AWS adapters never writes, even with actions to plan', async () => {
  const ecsFake = new FakeEcs({
    clusters: Object.fromEntries(REGIONS.map((r) => [r, [platform.regions[r]!.cluster]])),
    targetGroupStatus: (region, arn) => elbFake.targetGroupStatus(region, arn),
  });
  const elbFake: FakeElbv2 = new FakeElbv2({
    listeners: REGIONS.map((region) => ({
      region,
      listenerArn: platform.regions[region]!.listenerArn,
      loadBalancerArn: platform.regions[region]!.loadBalancerArn,
    })),
  });
  const cloudfront = new FakeCloudFront();
  const cloudwatch = new FakeCloudWatch();
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: endpointUrl,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  try {
    const common = ['--table', TABLE, '--region', 'us-east-1', '--platform', platformFile];
    const quiet = { log: console.log, error: console.error };
    const out: string[] = [];
    console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
    console.error = () => undefined;
    try {
      assert.equal(await main(['node', 'tandem', 'apply', '-f', 'specs/demo.json', ...common]), 0);
      // Build the world through the adapters, then change the spec so the plan has work.
      const clients = new AwsClients();
      const ports = awsPorts({ clients, tableName: TABLE, region: 'us-east-1' });
      await reconcilePass({ ports, platform, region: 'us-east-1' });
      const demo = JSON.parse(readFileSync('specs/demo.json', 'utf8'));
      demo.spec.image.tag = 'v3';
      const changed = join(dir, 'changed.json');
      writeFileSync(changed, JSON.stringify(demo));
      assert.equal(await main(['node', 'tandem', 'apply', '-f', changed, ...common]), 0);

      for (const fake of [ecsFake, elbFake, cloudfront, cloudwatch]) fake.mock.resetHistory();
      recorded.length = 0;
      out.length = 0;
      assert.equal(await main(['node', 'tandem', 'plan', 'demo', ...common]), 0);
    } finally {
      Object.assign(console, quiet);
    }
    assert.match(out.join('\n'), /RegisterTaskDefinition/, 'the plan has work to do');
    const sent = [ecsFake, elbFake, cloudfront, cloudwatch].flatMap((fake) =>
      fake.mock.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, '')),
    );
    assert.ok(sent.length > 0, 'the plan observed the world');
    assert.deepEqual(
      sent.filter((name) => WRITE.test(name)),
      [],
      'no write reached ECS, ELB, CloudFront or CloudWatch',
    );
    assert.deepEqual(
      recorded.filter((r) => WRITE.test(r.operation)),
      [],
      'no write reached DynamoDB',
    );
  } finally {
    process.env = saved;
    for (const fake of [ecsFake, elbFake, cloudfront, cloudwatch]) fake.restore();
  }
});
