import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { SITES_DASHBOARD } from '../controller/dashboard/sites.ts';
import { LAMBDA_BUILD, RECONCILER_ENTRY, ROOT } from '../controller/lambda/bundle.ts';
import { MANAGED_BY_TAG, MANAGED_BY_VALUE } from '../controller/model/tags.ts';
import { addControlMonitoring, alarmTopic } from './monitoring.ts';
import { acknowledgeCustomResourceProvider, nagResourceId } from './nag.ts';
import { CLUSTER_NAME, LOAD_BALANCER_NAME, TASK_ROLE_PREFIX } from './platform-stack.ts';

/** The header CloudFront adds to every origin request; listener rules route on it (docs/architecture.md). */
export const ORIGIN_HEADER_NAME = 'X-Tandem-Origin';
export const RECONCILER_TIMEOUT = Duration.seconds(50);

export interface ControlStackProps extends StackProps {
  /** The primary region and the account; the table, secret and reconciler live here. */
  env: { account: string; region: string };
  /** tandem's table. */
  tableName: string;
  /** Every region sites may run in, primary first; the table has a replica in each (the primary's is the table). */
  regions: readonly string[];
  /** How long the reconciler's logs are kept. Default one month. */
  logRetention?: logs.RetentionDays;
  /** CloudFront reaches the ALBs over HTTPS (the platform stacks have origin certificates). Default false: HTTP. */
  httpsOrigins?: boolean;
}

/**
 * Deployed once, in the primary region: the global table and its settings
 * item, the origin header's secret, the reconciler Lambda on a one-minute
 * schedule with least-privilege IAM, the SNS topic alarms go to, the
 * reconciler's alarms and the `tandem` dashboard (bootstrap/monitoring.ts).
 */
export class ControlStack extends Stack {
  readonly table: dynamodb.TableV2;
  readonly reconciler: NodejsFunction;
  readonly alarmTopic: sns.Topic;
  /** Reconcile errors, the reconciler failing, no successful pass in 5 minutes. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ControlStackProps) {
    super(scope, id, props);
    const replicas = props.regions.filter((r) => r !== props.env.region);

    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      replicas: replicas.map((region) => ({ region })),
    });

    const secret = new secretsmanager.Secret(this, 'OriginSecret', {
      secretName: 'tandem/origin-header',
      description: 'tandem: the secret part of the origin header CloudFront adds and the ALB rules match',
      // Letters and digits only: it travels in an HTTP header value.
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the origin secret must change every distribution and listener rule in step; the reconciler does not do that yet (issue 4 follow-up).',
    });

    const settings = {
      service: 'DynamoDB',
      action: 'putItem',
      parameters: {
        TableName: props.tableName,
        Item: {
          pk: { S: 'platform' },
          sk: { S: 'settings' },
          document: {
            S: this.toJsonString({
              originHeaderName: ORIGIN_HEADER_NAME,
              originProtocol: props.httpsOrigins ? 'https-only' : 'http-only',
              originSecretArn: secret.secretArn,
            }),
          },
        },
      },
      physicalResourceId: PhysicalResourceId.of('platform/settings'),
    };
    const settingsItem = new AwsCustomResource(this, 'SettingsItem', {
      onCreate: settings,
      onUpdate: settings,
      onDelete: {
        service: 'DynamoDB',
        action: 'deleteItem',
        parameters: { TableName: props.tableName, Key: { pk: { S: 'platform' }, sk: { S: 'settings' } } },
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [this.table.tableArn],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    settingsItem.node.addDependency(this.table);

    this.alarmTopic = alarmTopic(this, 'Alarms', 'tandem alarms');

    const failures = new sqs.Queue(this, 'ReconcilerFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is the reconciler's failure destination: the end of the line, read by people.",
    });

    const logGroup = new logs.LogGroup(this, 'ReconcilerLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.reconciler = new NodejsFunction(this, 'Reconciler', {
      description: 'tandem reconciler: converges every site spec, once a minute',
      entry: RECONCILER_ENTRY,
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // Under the schedule's period, so one pass ends before the next begins.
      timeout: RECONCILER_TIMEOUT,
      // One reconciler at a time (the lease in the table guards the rest).
      reservedConcurrentExecutions: 1,
      // A failed pass is retried by the next minute's, not by Lambda.
      retryAttempts: 0,
      onFailure: new SqsDestination(failures),
      logGroup,
      environment: {
        TANDEM_TABLE: props.tableName,
        TANDEM_CONTROL_REGION: props.env.region,
        TANDEM_REGIONS: props.regions.join(','),
        NODE_OPTIONS: '--enable-source-maps',
      },
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(
        lambda.ParamsAndSecretsVersions.V1_0_103,
        { cacheSize: 10, logLevel: lambda.ParamsAndSecretsLogLevel.WARN },
      ),
      // The same esbuild options as `npm run bundle` (controller/lambda/bundle.ts), with the SDK bundled.
      bundling: {
        format: OutputFormat.ESM,
        target: String(LAMBDA_BUILD.target),
        mainFields: LAMBDA_BUILD.mainFields ?? [],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        banner: LAMBDA_BUILD.banner?.['js'] ?? '',
        externalModules: LAMBDA_BUILD.external ?? [],
        forceDockerBundling: false,
      },
    });
    Validations.of(this.reconciler).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The basic execution policy lets the reconciler write its own logs; nothing else.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 is the runtime the reconciler is built and tested for (DESIGN.md).',
      },
    );
    this.grantReconciler(this.reconciler, secret, props.regions);

    new events.Rule(this, 'Schedule', {
      description: 'tandem: one reconcile pass a minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.reconciler, { retryAttempts: 0 })],
    });
    this.alarms = addControlMonitoring(this, {
      reconciler: this.reconciler,
      topic: this.alarmTopic,
      regions: props.regions,
    });
    acknowledgeCustomResourceProvider(this);
  }

  /** What the reconciler calls (controller/providers/aws/), each on as little as the API allows. */
  private grantReconciler(fn: lambda.IFunction, secret: secretsmanager.ISecret, regions: readonly string[]) {
    // Every wildcard resource carries its reason, acknowledged to cdk-nag finding by finding.
    const add = (statement: iam.PolicyStatementProps, why?: string) => {
      fn.addToRolePolicy(new iam.PolicyStatement(statement));
      for (const resource of (statement.resources ?? []).filter((r) => r.includes('*'))) {
        if (why === undefined) throw new Error(`wildcard resource ${resource} needs a reason`);
        Validations.of(fn).acknowledge({ id: nagResourceId(this, resource), reason: why });
      }
    };
    const arns = (service: string, resource: string) =>
      regions.map((region) => `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`);
    const managed = { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE } };
    const tagging = { StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE } };

    // Specs, statuses, the lease, the carry-over and the platform items: the control region's table only.
    add({
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [this.table.tableArn],
    });
    // Read through the Parameters and Secrets extension, with the function's own credentials.
    secret.grantRead(fn);

    // ECS: services in tandem's cluster in each region, and the tags tandem creates them with.
    add(
      {
        actions: [
          'ecs:CreateService',
          'ecs:UpdateService',
          'ecs:DeleteService',
          'ecs:DescribeServices',
          'ecs:TagResource',
        ],
        resources: arns('ecs', `service/${CLUSTER_NAME}/*`),
      },
      "Services are named per site; the ARN limits them to tandem's cluster.",
    );
    add(
      { actions: ['ecs:TagResource'], resources: arns('ecs', 'task-definition/tandem-*:*') },
      "Task definition families are content-addressed (tandem-<site>-<digest>); the ARN limits tagging to tandem's families.",
    );
    add(
      {
        actions: [
          'ecs:RegisterTaskDefinition',
          'ecs:DeregisterTaskDefinition',
          'ecs:DescribeTaskDefinition',
          'ecs:ListTaskDefinitions',
        ],
        resources: ['*'],
      },
      "These task definition actions support no resource-level permissions; definitions only take effect through a service in tandem's cluster.",
    );
    add(
      {
        actions: ['iam:PassRole'],
        resources: [`arn:${this.partition}:iam::${this.account}:role/${TASK_ROLE_PREFIX}-*`],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      'Only the task and execution roles each platform stack creates (tandem-task-*-<region>), only to ECS tasks.',
    );

    // ELB: rules on tandem's listeners; target groups created with, and changed only with, tandem's tag.
    add(
      {
        actions: ['elasticloadbalancing:CreateRule'],
        resources: arns('elasticloadbalancing', `listener/app/${LOAD_BALANCER_NAME}/*`),
      },
      "Rules are added only to the listeners of tandem's load balancer in each region.",
    );
    add(
      {
        actions: ['elasticloadbalancing:ModifyRule', 'elasticloadbalancing:DeleteRule'],
        resources: arns('elasticloadbalancing', `listener-rule/app/${LOAD_BALANCER_NAME}/*`),
      },
      "Rules are changed only on tandem's load balancer; the reconciler also checks their ownership tags.",
    );
    add(
      {
        actions: ['elasticloadbalancing:CreateTargetGroup'],
        resources: arns('elasticloadbalancing', 'targetgroup/*/*'),
        conditions: tagging,
      },
      'Target groups are named per site; creating one requires the tandem:managed-by tag.',
    );
    add(
      {
        actions: [
          'elasticloadbalancing:ModifyTargetGroup',
          'elasticloadbalancing:ModifyTargetGroupAttributes',
          'elasticloadbalancing:DeleteTargetGroup',
        ],
        resources: arns('elasticloadbalancing', 'targetgroup/*/*'),
        conditions: managed,
      },
      'Target groups are named per site; changing one requires the tandem:managed-by tag on it.',
    );
    add(
      {
        actions: ['elasticloadbalancing:AddTags'],
        resources: [
          ...arns('elasticloadbalancing', 'targetgroup/*/*'),
          ...arns('elasticloadbalancing', `listener-rule/app/${LOAD_BALANCER_NAME}/*`),
        ],
        conditions: {
          StringEquals: { 'elasticloadbalancing:CreateAction': ['CreateTargetGroup', 'CreateRule'] },
        },
      },
      'Tags only while creating a target group or rule (elasticloadbalancing:CreateAction).',
    );
    add(
      {
        actions: [
          'elasticloadbalancing:DescribeRules',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTags',
        ],
        resources: ['*'],
      },
      "ELB's Describe actions are read-only and support no resource-level permissions.",
    );

    // CloudFront: distributions have global, account-wide ARNs and ids chosen by CloudFront.
    add(
      {
        actions: [
          'cloudfront:CreateDistribution',
          'cloudfront:UpdateDistribution',
          'cloudfront:DeleteDistribution',
          'cloudfront:GetDistributionConfig',
          'cloudfront:TagResource',
          'cloudfront:ListTagsForResource',
        ],
        resources: [`arn:${this.partition}:cloudfront::${this.account}:distribution/*`],
      },
      'Distribution ids are chosen by CloudFront, so no narrower ARN exists; the reconciler changes only distributions its tags or status prove it owns.',
    );
    add(
      { actions: ['cloudfront:ListDistributions'], resources: ['*'] },
      'ListDistributions is a read-only list action with no resource-level permissions.',
    );

    // CloudWatch: request metrics and the sites dashboard.
    add(
      { actions: ['cloudwatch:GetMetricData'], resources: ['*'] },
      'GetMetricData is read-only and supports no resource-level permissions.',
    );
    add({
      actions: ['cloudwatch:GetDashboard', 'cloudwatch:PutDashboard'],
      resources: [`arn:${this.partition}:cloudwatch::${this.account}:dashboard/${SITES_DASHBOARD}`],
    });
  }
}
