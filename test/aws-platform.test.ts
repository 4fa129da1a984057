import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GetParametersCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudError } from '../controller/errors.ts';
import type { RegionPlatform } from '../controller/model/platform.ts';
import {
  loadPlatform,
  ORIGIN_SECRET_PARAMETER,
  platformFromFile,
  regionParameter,
  SETTINGS_PARAMETER,
} from '../controller/providers/aws/platform.ts';

const ACCOUNT = '123456789012';

function regionPlatform(region: string): RegionPlatform {
  const elb = `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}`;
  return {
    region,
    cluster: 'tandem',
    loadBalancerArn: `${elb}:loadbalancer/app/tandem/0123456789abcdef`,
    loadBalancerDnsName: `tandem-${region}.elb.amazonaws.com`,
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

/**
 * One mocked SSM client per region, answering GetParameters from `stored`
 * (parameter name → value) the way SSM does: unknown names come back in
 * InvalidParameters, not as an error.
 */
function ssmWith(stored: Record<string, Record<string, string>>, failing: Record<string, Error> = {}) {
  const clients = new Map<string, SSMClient>();
  const calls: { region: string; names: string[]; decrypt: boolean }[] = [];
  return {
    calls,
    ssm(region: string): SSMClient {
      let client = clients.get(region);
      if (client === undefined) {
        client = new SSMClient({ region });
        mockClient(client)
          .on(GetParametersCommand)
          .callsFake((input: { Names: string[]; WithDecryption?: boolean }) => {
            calls.push({ region, names: input.Names, decrypt: input.WithDecryption === true });
            if (failing[region] !== undefined) throw failing[region];
            const values = stored[region] ?? {};
            const found: Parameter[] = input.Names.filter((n) => n in values).map((Name) => ({
              Name,
              Value: values[Name],
              Type: Name === ORIGIN_SECRET_PARAMETER ? 'SecureString' : 'String',
            }));
            return { Parameters: found, InvalidParameters: input.Names.filter((n) => !(n in values)) };
          });
        clients.set(region, client);
      }
      return client;
    },
  };
}

const complete = () => ({
  'us-east-1': {
    [regionParameter('us-east-1')]: JSON.stringify(regionPlatform('us-east-1')),
    [SETTINGS_PARAMETER]: JSON.stringify(SETTINGS),
    [ORIGIN_SECRET_PARAMETER]: 's3cr3t',
  },
  'eu-west-1': { [regionParameter('eu-west-1')]: JSON.stringify(regionPlatform('eu-west-1')) },
});

const OPTIONS = { regions: ['us-east-1', 'eu-west-1'], controlRegion: 'us-east-1' };

test('the platform is read from one parameter per region plus the settings and secret in the control region', async () => {
  const ssm = ssmWith(complete());
  const { platform, problems } = await loadPlatform(ssm, OPTIONS);
  assert.deepEqual(problems, []);
  assert.deepEqual(platform, {
    regions: { 'us-east-1': regionPlatform('us-east-1'), 'eu-west-1': regionPlatform('eu-west-1') },
    originHeaderName: 'X-Tandem-Origin',
    originProtocol: 'http-only',
    originSecret: 's3cr3t',
  });
  assert.equal(ssm.calls.length, 2, 'one GetParameters call per region');
  assert.ok(
    ssm.calls.every((c) => c.decrypt),
    'the secret is decrypted',
  );
  assert.deepEqual(ssm.calls.find((c) => c.region === 'eu-west-1')?.names, [regionParameter('eu-west-1')]);
});

test('a region without the bootstrap is left out with an error naming its parameter and the fix; the others load', async () => {
  const stored = complete();
  delete (stored['eu-west-1'] as Record<string, string>)[regionParameter('eu-west-1')];
  const { platform, problems } = await loadPlatform(ssmWith(stored), OPTIONS);
  assert.deepEqual(Object.keys(platform.regions), ['us-east-1']);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.kind, 'NotFound');
  assert.match(
    problems[0]!.message,
    /SSM parameter \/tandem\/platform\/eu-west-1 was not found in eu-west-1/,
  );
  assert.match(problems[0]!.message, /deploy the tandem bootstrap in eu-west-1/);
});

test('a malformed region parameter names the parameter, each bad field and the fix', async () => {
  const stored = complete();
  const broken = { ...regionPlatform('eu-west-1'), subnets: [], assignPublicIp: 'yes' } as Record<
    string,
    unknown
  >;
  delete broken['listenerArn'];
  stored['eu-west-1'][regionParameter('eu-west-1')] = JSON.stringify(broken);
  const { problems } = await loadPlatform(ssmWith(stored), OPTIONS);
  assert.equal(problems[0]?.kind, 'Invalid');
  const message = problems[0]!.message;
  assert.match(message, /^SSM parameter \/tandem\/platform\/eu-west-1 in eu-west-1 is malformed/);
  assert.match(message, /listenerArn is required/);
  assert.match(message, /subnets must name at least one/);
  assert.match(message, /assignPublicIp must be true or false/);
  assert.match(message, /deploy the tandem bootstrap in eu-west-1/);
});

test('a region parameter that is not JSON, or is for another region, is reported', async () => {
  const stored = complete();
  stored['eu-west-1'][regionParameter('eu-west-1')] = '{ not json';
  const notJson = await loadPlatform(ssmWith(stored), OPTIONS);
  assert.match(notJson.problems[0]!.message, /\/tandem\/platform\/eu-west-1 in eu-west-1 is not valid JSON/);

  stored['eu-west-1'][regionParameter('eu-west-1')] = JSON.stringify(regionPlatform('us-west-2'));
  const wrong = await loadPlatform(ssmWith(stored), OPTIONS);
  assert.match(wrong.problems[0]!.message, /field region is "us-west-2" but the parameter is for eu-west-1/);
});

test('missing settings or origin secret fail the load, naming the parameter and the control region', async () => {
  const noSettings = complete();
  delete (noSettings['us-east-1'] as Record<string, string>)[SETTINGS_PARAMETER];
  await assert.rejects(loadPlatform(ssmWith(noSettings), OPTIONS), (e) => {
    assert.ok(e instanceof CloudError);
    assert.match(e.message, /SSM parameter \/tandem\/platform\/settings was not found in us-east-1/);
    assert.match(e.message, /control stack in us-east-1/);
    return true;
  });

  const noSecret = complete();
  delete (noSecret['us-east-1'] as Record<string, string>)[ORIGIN_SECRET_PARAMETER];
  await assert.rejects(loadPlatform(ssmWith(noSecret), OPTIONS), /\/tandem\/origin-secret was not found/);

  const badSettings = complete();
  badSettings['us-east-1'][SETTINGS_PARAMETER] = JSON.stringify({
    originHeaderName: 'X Bad',
    originProtocol: 'ftp',
  });
  await assert.rejects(loadPlatform(ssmWith(badSettings), OPTIONS), (e) => {
    assert.ok(e instanceof CloudError);
    assert.match(e.message, /originHeaderName must be an HTTP header name/);
    assert.match(e.message, /originProtocol must be "http-only" or "https-only"/);
    return true;
  });
});

test('the origin secret never appears in an error', async () => {
  const stored = complete();
  stored['us-east-1'][SETTINGS_PARAMETER] = '{}';
  await assert.rejects(loadPlatform(ssmWith(stored), OPTIONS), (e) => {
    assert.ok(e instanceof Error && !e.message.includes('s3cr3t'));
    return true;
  });
});

test('SSM failing in one region is that region’s problem, mapped to a CloudError kind', async () => {
  const denied = Object.assign(new Error('not authorized to perform ssm:GetParameters'), {
    name: 'AccessDeniedException',
    $fault: 'client',
  });
  const { platform, problems } = await loadPlatform(ssmWith(complete(), { 'eu-west-1': denied }), OPTIONS);
  assert.deepEqual(Object.keys(platform.regions), ['us-east-1']);
  assert.equal(problems[0]?.kind, 'AccessDenied');
  assert.match(problems[0]!.message, /Grant ssm:GetParameters on \/tandem\/platform\/eu-west-1 in eu-west-1/);
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
});
