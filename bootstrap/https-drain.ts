import { readFileSync } from 'node:fs';
import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IDependable } from 'constructs';

/** The handler without its comment lines: inline code is kept well under CloudFormation's 4 KB. */
const HANDLER = readFileSync(new URL('./https-drain-handler.cjs', import.meta.url), 'utf8')
  .replace(/^\s*(\/\/|\/\*|\*).*\n/gm, '')
  .trim();

export interface HttpsDrainProps {
  /** `origin-<region>.<domain>`: the name CloudFront reaches the HTTPS listener by. */
  originName: string;
  /** What must outlive every distribution that uses the name: the listener, certificate, record, 443 rule. */
  guards: IDependable[];
}

/**
 * Keeps a region's HTTPS origin until nothing uses it. When the domain is turned off, CloudFormation
 * deletes the HTTPS listener, its certificate, its record and its 443 rule in the update's cleanup,
 * seconds after the platform item stopped naming them, while distributions still reach the region
 * at `origin-<region>.<domain>` until the reconcilers have read the item and CloudFront has
 * deployed the change. This custom resource depends on them, so it is deleted first, and its
 * handler (https-drain-handler.cjs) answers only once no distribution names the origin and every
 * tandem distribution is deployed, or after about 14 minutes: then they go. Creating and updating it
 * do nothing.
 */
export class HttpsDrain extends Construct {
  constructor(scope: Construct, id: string, props: HttpsDrainProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own: AWSLambdaBasicExecutionRole's statements name every log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `tandem: waits until no distribution uses ${props.originName}`,
    });
    logGroup.grantWrite(role);
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
    const handler = new lambda.Function(this, 'Function', {
      description: `tandem: waits until no distribution uses ${props.originName} before it goes`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(HANDLER),
      timeout: Duration.minutes(15),
      memorySize: 128,
      role,
      logGroup,
    });
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22, the runtime the rest of tandem is built and tested for (DESIGN.md).',
    });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.functionArn,
      resourceType: 'Custom::TandemHttpsDrain',
      properties: { OriginName: props.originName },
    });
    resource.node.addDependency(...props.guards);
  }
}
