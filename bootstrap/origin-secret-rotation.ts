import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The handler without its comment lines: inline code is kept well under CloudFormation's 4 KB. */
const HANDLER = readFileSync(new URL('./origin-secret-rotation-handler.cjs', import.meta.url), 'utf8')
  .replace(/^\s*(\/\/|\/\*|\*).*\n/gm, '')
  .trim();

export interface OriginSecretRotationProps {
  secret: secretsmanager.Secret;
  /** Days between rotations (Secrets Manager allows 1 to 1000). */
  days: number;
}

/**
 * Rotates the origin secret on a schedule (origin-secret-rotation-handler.cjs). Secrets Manager
 * runs it in the control region and replicates the new version to every other region; each
 * region's reconciler then moves its sites to the new value, keeping the old one accepted until
 * every distribution sends the new one (docs/bootstrap.md, "The origin secret"). A rotation
 * keeps no region serving, so it may live in the control region alone: while that region is lost
 * the secret simply does not rotate.
 */
export class OriginSecretRotation extends Construct {
  constructor(scope: Construct, id: string, props: OriginSecretRotationProps) {
    super(scope, id);
    if (!Number.isInteger(props.days) || props.days < 1 || props.days > 1000)
      throw new Error(
        `originSecretRotationDays is ${props.days}: it must be a whole number of days from 1 to 1000 (Secrets Manager's range)`,
      );
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own: AWSLambdaBasicExecutionRole's statements name every log group. The
    // rotation schedule grants it what rotation needs on this secret.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'tandem: rotates the origin secret',
    });
    logGroup.grantWrite(role);
    const handler = new lambda.Function(this, 'Function', {
      description: 'tandem: rotates the origin secret (a new random value; the reconcilers roll it out)',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(HANDLER),
      timeout: Duration.seconds(30),
      memorySize: 128,
      role,
      logGroup,
    });
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22, the runtime the rest of tandem is built and tested for (DESIGN.md).',
    });
    props.secret.addRotationSchedule('Schedule', {
      rotationLambda: handler,
      automaticallyAfter: Duration.days(props.days),
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'secretsmanager:GetRandomPassword acts on no resource (Service Authorization Reference).',
    });
  }
}
