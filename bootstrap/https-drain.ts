import { CustomResource, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IDependable } from 'constructs';
import { addInlineFunction } from './inline-function.ts';

export interface HttpsDrainProps {
  /** `origin-<region>.<domain>`: the name CloudFront reaches the HTTPS listener by. */
  originName: string;
  /**
   * Every region's `<region>.failover.<domain>`: the certificate covers them all, and this region's
   * records point some of them here, so the drain waits until no distribution uses any of them either.
   */
  failoverNames?: readonly string[];
  /**
   * What must outlive every distribution that uses the names: the listener, certificate, record, 443
   * rule, and the failover records, their health check, the health rules and the health checkers' rule.
   */
  guards: IDependable[];
}

/**
 * Keeps a region's HTTPS origin until nothing uses it. When the domain is turned off, CloudFormation
 * deletes the HTTPS listener, its certificate, its record and its 443 rule (and the failover records,
 * their health check and the health rules) in the update's cleanup, seconds after the platform item
 * stopped naming them, while distributions still reach the region at `origin-<region>.<domain>` or a
 * failover name until the reconcilers have read the item and CloudFront has deployed the change.
 * This custom resource depends on them, so it is deleted first, and its handler
 * (https-drain-handler.cjs) answers only once no distribution names the origin or any failover name
 * and every tandem distribution is deployed, or after about 14 minutes: then they go. Creating and
 * updating it do nothing.
 */
export class HttpsDrain extends Construct {
  constructor(scope: Construct, id: string, props: HttpsDrainProps) {
    super(scope, id);
    const { function: handler, role } = addInlineFunction(this, {
      file: 'https-drain-handler.cjs',
      description: `tandem: waits until no distribution uses ${props.originName} before it goes`,
      roleDescription: `tandem: waits until no distribution uses ${props.originName}`,
      timeout: Duration.minutes(15),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        // ListDistributions has no resource type (Service Authorization Reference).
        actions: ['cloudfront:ListDistributions'],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudfront:ListDistributions is read-only and supports no resource-level permissions.',
    });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.functionArn,
      resourceType: 'Custom::TandemHttpsDrain',
      properties: {
        OriginName: props.originName,
        ...(props.failoverNames === undefined ? {} : { FailoverNames: [...props.failoverNames] }),
      },
    });
    resource.node.addDependency(...props.guards);
  }
}
