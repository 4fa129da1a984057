import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as sdk from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

/** The origin secret's rotation function (bootstrap/origin-secret-rotation-handler.cjs). */
const { handle } = createRequire(import.meta.url)('../bootstrap/origin-secret-rotation-handler.cjs') as {
  handle: (event: RotationEvent, client: sdk.SecretsManagerClient, module: typeof sdk) => Promise<void>;
};

interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: string;
}

const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tandem/origin-header-AbCdEf';

/**
 * Secrets Manager's versions of one secret, as its API treats them: PutSecretValue adds a version
 * with the stages asked for; moving AWSCURRENT to a version gives the version it left AWSPREVIOUS
 * (taken from whichever version had it), as UpdateSecretVersionStage does.
 */
function fakeSecretsManager(first: string, options: { rotationEnabled?: boolean } = {}) {
  const versions = new Map<string, { value?: string; stages: string[] }>([
    ['v1', { value: first, stages: ['AWSCURRENT'] }],
  ]);
  const client = new sdk.SecretsManagerClient({ region: 'us-east-1' });
  const mock = mockClient(client);
  let random = 0;
  const notFound = (message: string) =>
    Object.assign(new Error(message), { name: 'ResourceNotFoundException', $fault: 'client' });
  mock.on(sdk.DescribeSecretCommand).callsFake(() => ({
    ARN: ID,
    RotationEnabled: options.rotationEnabled ?? true,
    VersionIdsToStages: Object.fromEntries([...versions].map(([id, v]) => [id, [...v.stages]])),
  }));
  mock.on(sdk.GetSecretValueCommand).callsFake((input: sdk.GetSecretValueCommandInput) => {
    const match = [...versions].find(
      ([id, v]) =>
        (input.VersionId === undefined || input.VersionId === id) &&
        v.stages.includes(input.VersionStage ?? 'AWSCURRENT') &&
        v.value !== undefined,
    );
    if (match === undefined) throw notFound("Secrets Manager can't find the specified secret value");
    return { ARN: ID, VersionId: match[0], SecretString: match[1].value };
  });
  mock.on(sdk.GetRandomPasswordCommand).callsFake((input: sdk.GetRandomPasswordCommandInput) => {
    assert.deepEqual(input, { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false });
    random += 1;
    return { RandomPassword: `random${random}`.padEnd(48, 'x') };
  });
  mock.on(sdk.PutSecretValueCommand).callsFake((input: sdk.PutSecretValueCommandInput) => {
    for (const [id, v] of versions)
      if (id !== input.ClientRequestToken)
        v.stages = v.stages.filter((s) => !(input.VersionStages ?? []).includes(s));
    versions.set(input.ClientRequestToken!, {
      value: input.SecretString!,
      stages: [...(input.VersionStages ?? [])],
    });
    return { ARN: ID, VersionId: input.ClientRequestToken };
  });
  mock
    .on(sdk.UpdateSecretVersionStageCommand)
    .callsFake((input: sdk.UpdateSecretVersionStageCommandInput) => {
      const to = versions.get(input.MoveToVersionId!);
      if (to === undefined) throw notFound('no such version');
      const from = [...versions].find(([, v]) => v.stages.includes(input.VersionStage!));
      if (from !== undefined && from[0] !== input.RemoveFromVersionId)
        throw Object.assign(new Error('the stage is attached to another version'), {
          name: 'InvalidParameterException',
          $fault: 'client',
        });
      if (from !== undefined) {
        from[1].stages = from[1].stages.filter((s) => s !== input.VersionStage);
        if (input.VersionStage === 'AWSCURRENT') {
          for (const v of versions.values()) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
          from[1].stages.push('AWSPREVIOUS');
        }
      }
      to.stages = [...to.stages.filter((s) => s !== 'AWSPENDING'), input.VersionStage!];
      return { ARN: ID };
    });
  const stage = (name: string) => [...versions.values()].find((v) => v.stages.includes(name))?.value;
  return { client, mock, versions, stage };
}

/** A rotation as Secrets Manager runs one: the token staged AWSPENDING with no value yet, then the four steps. */
async function rotate(fake: ReturnType<typeof fakeSecretsManager>, token: string): Promise<void> {
  fake.versions.set(token, { stages: ['AWSPENDING'] });
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'])
    await handle({ SecretId: ID, ClientRequestToken: token, Step }, fake.client, sdk);
}

const random = (n: number) => `random${n}`.padEnd(48, 'x');

test('a rotation makes a new random value AWSCURRENT and the old one AWSPREVIOUS, which the reconcilers read', async () => {
  const fake = fakeSecretsManager('first-value');
  await rotate(fake, 't2');
  assert.equal(fake.stage('AWSCURRENT'), random(1));
  assert.equal(fake.stage('AWSPREVIOUS'), 'first-value');
  assert.equal(fake.stage('AWSPENDING'), undefined);

  await rotate(fake, 't3');
  assert.equal(fake.stage('AWSCURRENT'), random(2));
  assert.equal(fake.stage('AWSPREVIOUS'), random(1));
});

test('each step may run again (Secrets Manager retries): one new value, and a finished rotation is left as it is', async () => {
  const fake = fakeSecretsManager('first-value');
  fake.versions.set('t2', { stages: ['AWSPENDING'] });
  const step = (Step: string) => handle({ SecretId: ID, ClientRequestToken: 't2', Step }, fake.client, sdk);
  await step('createSecret');
  await step('createSecret');
  assert.equal(fake.mock.commandCalls(sdk.GetRandomPasswordCommand).length, 1);
  await step('finishSecret');
  await step('finishSecret');
  assert.equal(fake.stage('AWSCURRENT'), random(1));
  assert.equal(fake.stage('AWSPREVIOUS'), 'first-value');
});

test('a rotation refuses a secret without rotation, a token with no stage, and an unknown step', async () => {
  const off = fakeSecretsManager('v', { rotationEnabled: false });
  off.versions.set('t2', { stages: ['AWSPENDING'] });
  await assert.rejects(
    handle({ SecretId: ID, ClientRequestToken: 't2', Step: 'createSecret' }, off.client, sdk),
    /rotation is not enabled/,
  );
  const fake = fakeSecretsManager('v');
  await assert.rejects(
    handle({ SecretId: ID, ClientRequestToken: 'nope', Step: 'createSecret' }, fake.client, sdk),
    /version nope .* has no stage/,
  );
  fake.versions.set('t2', { stages: ['AWSPENDING'] });
  await assert.rejects(
    handle({ SecretId: ID, ClientRequestToken: 't2', Step: 'dance' }, fake.client, sdk),
    /unknown rotation step dance/,
  );
  assert.equal(fake.stage('AWSCURRENT'), 'v');
});
