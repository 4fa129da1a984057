/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, inlined into a Lambda */
// The origin secret's rotation function (bootstrap/origin-secret-rotation.ts), inlined at synth.
// Secrets Manager calls it four times a rotation. createSecret stores a new random value as
// AWSPENDING; finishSecret makes it AWSCURRENT, and the old value becomes AWSPREVIOUS. Nothing is
// set or tested elsewhere: each region's reconciler reads both versions and moves its sites to
// the new one without dropping a request (decide/origin-secret.ts); the old value is accepted
// until every distribution sends the new one.
'use strict';

/** As the bootstrap generates the first value: letters and digits, since it travels in a header. */
const PASSWORD = { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false };

async function handle(event, sm, sdk) {
  const { SecretId: id, ClientRequestToken: token, Step: step } = event;
  const secret = await sm.send(new sdk.DescribeSecretCommand({ SecretId: id }));
  if (!secret.RotationEnabled) throw new Error(`rotation is not enabled on ${id}`);
  const stages = (secret.VersionIdsToStages ?? {})[token];
  if (stages === undefined) throw new Error(`version ${token} of ${id} has no stage`);
  if (stages.includes('AWSCURRENT')) return;
  if (!stages.includes('AWSPENDING')) throw new Error(`version ${token} of ${id} is not AWSPENDING`);

  if (step === 'createSecret') {
    try {
      await sm.send(
        new sdk.GetSecretValueCommand({ SecretId: id, VersionId: token, VersionStage: 'AWSPENDING' }),
      );
      return;
    } catch (error) {
      if (error.name !== 'ResourceNotFoundException') throw error;
    }
    const { RandomPassword } = await sm.send(new sdk.GetRandomPasswordCommand(PASSWORD));
    await sm.send(
      new sdk.PutSecretValueCommand({
        SecretId: id,
        ClientRequestToken: token,
        SecretString: RandomPassword,
        VersionStages: ['AWSPENDING'],
      }),
    );
  } else if (step === 'finishSecret') {
    const current = Object.keys(secret.VersionIdsToStages).find((v) =>
      secret.VersionIdsToStages[v].includes('AWSCURRENT'),
    );
    await sm.send(
      new sdk.UpdateSecretVersionStageCommand({
        SecretId: id,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        ...(current === undefined ? {} : { RemoveFromVersionId: current }),
      }),
    );
  } else if (step !== 'setSecret' && step !== 'testSecret') {
    throw new Error(`unknown rotation step ${step}`);
  }
}

exports.handle = handle;
exports.handler = async (event) => {
  const sdk = require('@aws-sdk/client-secrets-manager');
  await handle(event, new sdk.SecretsManagerClient({}), sdk);
};
