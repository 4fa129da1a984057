import { Validations, type Stack } from 'aws-cdk-lib';

/** The construct id of the one Lambda that backs every AwsCustomResource in a stack. */
const AWS_CUSTOM_RESOURCE_PROVIDER = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The Lambda CDK provides for AwsCustomResource (its calls are scoped by each
 * resource's own policy): acknowledged on that construct only, so the same
 * findings on tandem's own functions still count.
 */
export function acknowledgeCustomResourceProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER);
  if (provider === undefined) return;
  Validations.of(provider).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's AwsCustomResource provider writes its logs with the basic execution policy; it runs only during deployments.",
    },
    {
      id: 'AwsSolutions-L1',
      reason: "The runtime of CDK's AwsCustomResource provider is chosen by aws-cdk-lib and moves with it.",
    },
  );
}

/**
 * The id cdk-nag gives a wildcard-resource finding (AwsSolutions-IAM5) for
 * `resource`, an ARN built with the stack's partition token.
 */
export function nagResourceId(stack: Stack, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${resource.split(stack.partition).join('<AWS::Partition>')}]`;
}
