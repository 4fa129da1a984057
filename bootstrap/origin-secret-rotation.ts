import { Duration, Validations } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { addInlineFunction } from './inline-function.ts';

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
    // The rotation schedule grants the role what rotation needs on this secret.
    const { function: handler, role } = addInlineFunction(this, {
      file: 'origin-secret-rotation-handler.cjs',
      description: 'tandem: rotates the origin secret (a new random value; the reconcilers roll it out)',
      roleDescription: 'tandem: rotates the origin secret',
      timeout: Duration.seconds(30),
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
