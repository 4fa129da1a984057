import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { SITES_DASHBOARD } from '../controller/dashboard/sites.ts';
import { LAMBDA_BUILD, RECONCILER_ENTRY, ROOT } from '../controller/lambda/bundle.ts';
import { FAMILY_PREFIX } from '../controller/model/naming.ts';
import {
  EDIT_PARTITION,
  LEASE_PARTITION,
  SPEC_PARTITION,
  STATUS_PARTITION,
} from '../controller/providers/aws/store.ts';
import { MANAGED_BY_TAG, MANAGED_BY_VALUE } from '../controller/model/tags.ts';
import { addReconcilerAlarms } from './monitoring.ts';
import { nagResourceId } from './nag.ts';
import { CLUSTER_NAME, LOAD_BALANCER_NAME, ORIGIN_SECRET_NAME, RECONCILER_FUNCTION_NAME } from './names.ts';

/** How often each region's reconciler runs. */
export const RECONCILER_PERIOD = Duration.minutes(1);
/** Under the period, so one pass ends before the next begins. */
export const RECONCILER_TIMEOUT = Duration.seconds(50);
/**
 * How long a scheduled tick may wait in Lambda's asynchronous queue. Lambda
 * accepts no less than 60 seconds, so this is one period: a tick that could not
 * run within it (throttled because the last pass still runs, or reserved
 * concurrency set to 0 to pause the region) is dropped, at most one is ever
 * queued, and the next tick starts from the world as it is then, instead of
 * six hours (the default) of stale ticks replaying one after another.
 */
export const RECONCILER_MAX_EVENT_AGE = Duration.seconds(60);
/**
 * How long, and how many times, a stream batch of spec edits is retried when
 * it cannot be served at once (another invocation holds the region's lease,
 * or the table is unreadable). One period: by then the scheduled pass, which
 * reads every spec, has applied the edit anyway, so an older wake-up is
 * dropped rather than replayed.
 */
export const SPEC_EDIT_MAX_RECORD_AGE = Duration.seconds(60);
export const SPEC_EDIT_RETRY_ATTEMPTS = 5;

/** The partitions a reconciler writes (docs/store.md): specs when it promotes, edits, statuses, leases. */
export const RECONCILER_PARTITIONS = [SPEC_PARTITION, EDIT_PARTITION, STATUS_PARTITION, LEASE_PARTITION];

export interface ReconcilerProps {
  /** tandem's table; the reconciler reads and writes its replica in this stack's region only. */
  tableName: string;
  /** Every region of the platform, primary first (TANDEM_REGIONS); must include this stack's region. */
  regions: readonly string[];
  /** This region's alarm topic: an alarm can only publish to a topic in its own region. */
  alarmTopic: sns.ITopic;
  /** The roles this region's task definitions name (the task and execution roles): the only roles it may pass. */
  taskRoles: readonly iam.IRole[];
  /** How long the reconciler's logs are kept. Default one month. */
  logRetention?: logs.RetentionDays;
}

/**
 * One region's reconciler: controller/lambda/handler.ts, bundled at synth
 * with the options `npm run bundle` uses, on its own one-minute schedule, one
 * invocation at a time, with its own failure queue, log group and alarms. It
 * manages the region of the stack it is in (TANDEM_REGION) through that
 * region's replicas of the table and the origin secret, and may call no other
 * region's ECS, ELB, DynamoDB or Secrets Manager; only the global duties
 * (CloudFront distributions, the tandem-sites dashboard) are outside its region,
 * because any region's reconciler may take them over when the primary's is
 * gone (docs/architecture.md).
 */
export class Reconciler extends Construct {
  readonly function: NodejsFunction;
  readonly failures: sqs.Queue;
  /** Reconcile errors, the reconciler failing, no successful pass in 5 minutes, a site failed over. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const region = stack.region;
    if (Token.isUnresolved(region))
      throw new Error(`${this.node.path}: the reconciler's stack needs a concrete region (env.region)`);
    if (!props.regions.includes(region))
      throw new Error(
        `${this.node.path}: regions (${props.regions.join(', ')}) must include the stack's region ${region}`,
      );

    this.failures = new sqs.Queue(this, 'Failures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is the reconciler's failure destination: the end of the line, read by people.",
    });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // A role of its own instead of the one NodejsFunction makes with AWSLambdaBasicExecutionRole,
    // whose logs:* statements name every log group: the function writes to its own group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `tandem reconciler in ${region}`,
    });
    logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, 'Function', {
      functionName: RECONCILER_FUNCTION_NAME,
      description: `tandem reconciler for ${region}: converges every site spec, once a minute`,
      entry: RECONCILER_ENTRY,
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: RECONCILER_TIMEOUT,
      // One pass at a time in this region (the lease in the table guards the rest).
      reservedConcurrentExecutions: 1,
      // A failed pass is retried by the next minute's, not by Lambda.
      retryAttempts: 0,
      maxEventAge: RECONCILER_MAX_EVENT_AGE,
      onFailure: new SqsDestination(this.failures),
      logGroup,
      role,
      // The contract with controller/lambda/environment.ts.
      environment: {
        TANDEM_TABLE: props.tableName,
        TANDEM_REGION: region,
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
        esbuildArgs: {
          '--alias': Object.entries(LAMBDA_BUILD.alias ?? {}).map(([name, path]) => `${name}=${path}`),
        },
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime the reconciler is built and tested for (DESIGN.md).',
    });
    this.grant(region, props.tableName, props.taskRoles);

    new events.Rule(this, 'Schedule', {
      description: `tandem: one reconcile pass a minute in ${region}`,
      schedule: events.Schedule.rate(RECONCILER_PERIOD),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    this.wakeOnSpecEdits(region, props.tableName);
    this.alarms = addReconcilerAlarms(this, { reconciler: this.function, topic: props.alarmTopic, region });
  }

  /**
   * Spec edits wake the reconciler within seconds: its region's replica of
   * the table has a stream (a global table's replicas all do), and an event
   * source mapping filtered to spec items (`pk = spec`) invokes it with the
   * changed keys; controller/lambda/trigger.ts runs a pass for those sites
   * only. The schedule stays the safety net. Invocations stay one at a time
   * (reserved concurrency 1; a batch waits while the scheduled pass runs),
   * and a batch that meets a held lease fails and is retried, within
   * SPEC_EDIT_RETRY_ATTEMPTS and SPEC_EDIT_MAX_RECORD_AGE.
   */
  private wakeOnSpecEdits(region: string, tableName: string) {
    const stack = Stack.of(this);
    const table = `arn:${stack.partition}:dynamodb:${region}:${stack.account}:table/${tableName}`;
    // A replica's stream ARN carries the time the stream was enabled, so it is read, not built.
    const describe = {
      service: 'DynamoDB',
      action: 'describeTable',
      parameters: { TableName: tableName },
      physicalResourceId: PhysicalResourceId.of(`${tableName}/${region}/stream`),
      outputPaths: ['Table.LatestStreamArn'],
    };
    const stream = new AwsCustomResource(this, 'TableStream', {
      onCreate: describe,
      onUpdate: describe,
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['dynamodb:DescribeTable'], resources: [table] }),
      ]),
      installLatestAwsSdk: false,
    });
    const streamArn = stream.getResponseField('Table.LatestStreamArn');

    const mapping = new lambda.EventSourceMapping(this, 'SpecEdits', {
      target: this.function,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      parallelizationFactor: 1,
      retryAttempts: SPEC_EDIT_RETRY_ATTEMPTS,
      maxRecordAge: SPEC_EDIT_MAX_RECORD_AGE,
      bisectBatchOnError: false,
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: { Keys: { pk: { S: lambda.FilterRule.isEqual('spec') } } },
        }),
      ],
    });
    // Lambda reads the stream with the function's role: these four actions, on this replica's streams only.
    const policy = new iam.Policy(this, 'StreamRead', {
      statements: [
        new iam.PolicyStatement({
          actions: [
            'dynamodb:DescribeStream',
            'dynamodb:GetRecords',
            'dynamodb:GetShardIterator',
            'dynamodb:ListStreams',
          ],
          resources: [`${table}/stream/*`],
        }),
      ],
    });
    policy.attachToRole(this.function.role!);
    mapping.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: nagResourceId(stack, `${table}/stream/*`),
      reason:
        "A stream's ARN ends in the time it was enabled; the ARN limits reading to the streams of this region's replica of tandem's table.",
    });
  }

  /** What the reconciler calls (controller/providers/aws/), each on as little as the API allows. */
  private grant(region: string, tableName: string, taskRoles: readonly iam.IRole[]) {
    const stack = Stack.of(this);
    const fn = this.function;
    // Every wildcard resource carries its reason, acknowledged to cdk-nag finding by finding.
    const add = (statement: iam.PolicyStatementProps, why?: string) => {
      fn.addToRolePolicy(new iam.PolicyStatement(statement));
      for (const resource of (statement.resources ?? []).filter((r) => r.includes('*'))) {
        if (why === undefined) throw new Error(`wildcard resource ${resource} needs a reason`);
        Validations.of(fn.role!).acknowledge({ id: nagResourceId(stack, resource), reason: why });
      }
    };
    // This region's resources only: another region's are its own reconciler's.
    const arn = (service: string, resource: string) =>
      `arn:${stack.partition}:${service}:${region}:${stack.account}:${resource}`;
    const managed = { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE } };
    const tagging = { StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE } };

    // Specs, statuses, the lease, the heartbeat and the platform items, in this region's replica;
    // TransactWriteItems is authorised through the item actions it performs. It reads every
    // partition but writes only its own: never `platform`, whose items tell every region where
    // its origins are (dynamodb:LeadingKeys, the partition key, per the Service Authorization
    // Reference; ForAllValues, as AWS's own examples write it).
    const table = arn('dynamodb', `table/${tableName}`);
    add({
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
      resources: [table],
    });
    add({
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
      resources: [table],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...RECONCILER_PARTITIONS] },
      },
    });
    // This region's replica of the origin secret, read through the Parameters and Secrets extension
    // with the function's own credentials. A replica's ARN is the primary's with this region in it;
    // `-??????` is the suffix Secrets Manager adds to every secret's name.
    add({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [arn('secretsmanager', `secret:${ORIGIN_SECRET_NAME}-??????`)],
    });

    // ECS: services in tandem's cluster in this region, created with tandem's tag, and task
    // definitions of tandem's families, registered with it. The Service Authorization Reference
    // lists aws:RequestTag for CreateService and RegisterTaskDefinition (whose resource is the
    // task definition) and ecs:CreateAction for TagResource, so tags go on only while creating.
    const services = arn('ecs', `service/${CLUSTER_NAME}/*`);
    const families = arn('ecs', `task-definition/${FAMILY_PREFIX}*`);
    add(
      {
        actions: ['ecs:UpdateService', 'ecs:DeleteService', 'ecs:DescribeServices'],
        resources: [services],
      },
      "Services are named per site; the ARN limits them to tandem's cluster in this region.",
    );
    add(
      { actions: ['ecs:CreateService'], resources: [services], conditions: tagging },
      "Services are named per site; the ARN limits them to tandem's cluster, the condition to tandem's tag.",
    );
    add(
      { actions: ['ecs:RegisterTaskDefinition'], resources: [families], conditions: tagging },
      "Task definition families are content-addressed (tandem-<site>-<digest>); registering one requires tandem's tag.",
    );
    add(
      {
        actions: ['ecs:TagResource'],
        resources: [services, families],
        conditions: {
          StringEquals: {
            'ecs:CreateAction': ['CreateService', 'RegisterTaskDefinition'],
            [`aws:RequestTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE,
          },
        },
      },
      'Tags only while creating a service or registering a task definition (ecs:CreateAction).',
    );
    add(
      {
        actions: ['ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'],
        resources: ['*'],
      },
      "These task definition actions support no resource-level permissions; definitions only take effect through a service in tandem's cluster.",
    );
    // The task and execution roles this region's platform created, and no other, only to ECS tasks.
    add({
      actions: ['iam:PassRole'],
      resources: taskRoles.map((role) => role.roleArn),
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });

    // ELB: rules on tandem's listeners; target groups created with, and changed only with, tandem's tag.
    add(
      {
        actions: ['elasticloadbalancing:CreateRule'],
        resources: [arn('elasticloadbalancing', `listener/app/${LOAD_BALANCER_NAME}/*`)],
      },
      "Rules are added only to the listeners of tandem's load balancer in this region.",
    );
    add(
      {
        actions: ['elasticloadbalancing:ModifyRule', 'elasticloadbalancing:DeleteRule'],
        resources: [arn('elasticloadbalancing', `listener-rule/app/${LOAD_BALANCER_NAME}/*`)],
      },
      "Rules are changed only on tandem's load balancer; the reconciler also checks their ownership tags.",
    );
    add(
      {
        actions: ['elasticloadbalancing:CreateTargetGroup'],
        resources: [arn('elasticloadbalancing', 'targetgroup/*/*')],
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
        resources: [arn('elasticloadbalancing', 'targetgroup/*/*')],
        conditions: managed,
      },
      'Target groups are named per site; changing one requires the tandem:managed-by tag on it.',
    );
    add(
      {
        actions: ['elasticloadbalancing:AddTags'],
        resources: [
          arn('elasticloadbalancing', 'targetgroup/*/*'),
          arn('elasticloadbalancing', `listener-rule/app/${LOAD_BALANCER_NAME}/*`),
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

    // Global duties, which any region's reconciler may take over when the primary's is gone.
    // CloudFront: distributions have global, account-wide ARNs and ids chosen by CloudFront, so the
    // tag does the narrowing. The Service Authorization Reference gives the distribution resource
    // aws:ResourceTag (Update, Delete, GetDistributionConfig act on it), CreateDistribution no
    // resource type but aws:RequestTag, and TagResource aws:RequestTag. CreateDistributionWithTags
    // is authorised as CreateDistribution plus TagResource (CloudFront API Reference).
    const distributions = `arn:${stack.partition}:cloudfront::${stack.account}:distribution/*`;
    add(
      {
        actions: [
          'cloudfront:UpdateDistribution',
          'cloudfront:DeleteDistribution',
          'cloudfront:GetDistributionConfig',
        ],
        resources: [distributions],
        conditions: managed,
      },
      "Distribution ids are chosen by CloudFront, so no narrower ARN exists; only distributions with tandem's tag.",
    );
    add(
      { actions: ['cloudfront:CreateDistribution'], resources: ['*'], conditions: tagging },
      "CreateDistribution has no resource type (Service Authorization Reference); it requires tandem's tag in the request.",
    );
    add(
      { actions: ['cloudfront:TagResource'], resources: [distributions], conditions: tagging },
      "Distribution ids are chosen by CloudFront; the tags must include tandem's (used by CreateDistributionWithTags).",
    );
    add(
      { actions: ['cloudfront:ListTagsForResource'], resources: [distributions] },
      'Distribution ids are chosen by CloudFront; reading tags is how the reconciler tells its distributions from others.',
    );
    add(
      { actions: ['cloudfront:ListDistributions'], resources: ['*'] },
      'ListDistributions is a read-only list action with no resource-level permissions.',
    );
    // CloudWatch: request metrics, and the sites dashboard (global; each region reaches it through its own endpoint).
    add(
      { actions: ['cloudwatch:GetMetricData'], resources: ['*'] },
      'GetMetricData is read-only and supports no resource-level permissions.',
    );
    add({
      actions: ['cloudwatch:GetDashboard', 'cloudwatch:PutDashboard'],
      resources: [`arn:${stack.partition}:cloudwatch::${stack.account}:dashboard/${SITES_DASHBOARD}`],
    });
  }
}
