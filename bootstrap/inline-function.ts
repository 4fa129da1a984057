import { readFileSync } from 'node:fs';
import { RemovalPolicy, Validations, type Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface InlineFunctionProps {
  /** The handler's CommonJS file beside this one (exports `handler`). */
  file: string;
  description: string;
  /** What its role is for, in the role's description. */
  roleDescription: string;
  timeout: Duration;
}

/**
 * A small Node.js 22 Lambda whose code is a CommonJS file inlined into the template (its comment
 * lines left out, to stay well under CloudFormation's 4 KB), with a log group and a role of its
 * own: AWSLambdaBasicExecutionRole's statements name every log group. Made as `Logs`, `Role` and
 * `Function` directly in `scope`, so a construct that had them before keeps its logical ids.
 */
export function addInlineFunction(
  scope: Construct,
  props: InlineFunctionProps,
): { function: lambda.Function; role: iam.Role } {
  const code = readFileSync(new URL(`./${props.file}`, import.meta.url), 'utf8')
    .replace(/^\s*(\/\/|\/\*|\*).*\n/gm, '')
    .trim();
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const fn = new lambda.Function(scope, 'Function', {
    description: props.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline(code),
    timeout: props.timeout,
    memorySize: 128,
    role,
    logGroup,
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Node.js 22, the runtime the rest of tandem is built and tested for (DESIGN.md).',
  });
  return { function: fn, role };
}
