import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import {
  HEALTH_CHECK_BODY,
  HEALTH_CHECK_PATH,
  HEALTH_RULE_PRIORITY,
  ROUTE53_FAILOVER,
  failoverBackupRegion,
  failoverOriginName,
} from '../controller/model/dns-failover.ts';
import type { RegionPlatform } from '../controller/model/platform.ts';
import { addRegionAlarms, alarmTopic, allowAlarmsToPublish } from './monitoring.ts';
import { acknowledgeCustomResourceProvider, nagResourceId } from './nag.ts';
import {
  CLUSTER_NAME,
  LOAD_BALANCER_NAME,
  SITE_LOG_GROUP,
  SITE_REPOSITORY,
  TASK_ROLE_PREFIX,
  platformPartitionOnly,
} from './names.ts';
import { HttpsDrain } from './https-drain.ts';
import { Reconciler } from './reconciler.ts';

/** The AWS-managed prefix list of CloudFront's origin-facing addresses; its id differs per region. */
export const CLOUDFRONT_ORIGIN_FACING = 'com.amazonaws.global.cloudfront.origin-facing';
/** The AWS-managed prefix list of Route 53's health checkers in `region` (weight 25). */
export function route53HealthChecks(region: string): string {
  return `com.amazonaws.${region}.route53-healthchecks`;
}
/**
 * Untagged images (a failed push, or an image whose tag a person deleted) go after this many
 * days. Tagged images are never expired: a spec names a tag, and a count or age rule could
 * expire one a site still runs (docs/bootstrap.md, "Site images").
 */
export const UNTAGGED_IMAGE_DAYS = 14;

export interface PlatformStackProps extends StackProps {
  /** The stack's account and region; both must be concrete (the VPC reads availability zones from context). */
  env: { account: string; region: string };
  /** tandem's table; the control stack creates it with a replica in this region. */
  tableName: string;
  /** Every region of the platform, primary first; this region's reconciler is told them all (TANDEM_REGIONS). */
  regions: readonly string[];
  /** How long site logs and the reconciler's logs are kept. Default one month. */
  logRetention?: logs.RetentionDays;
  /** The ALB's idle timeout. Default 60 seconds (the ALB's own default). */
  idleTimeout?: Duration;
  /**
   * Tasks in private isolated subnets without public IPs, reaching ECR, S3,
   * CloudWatch Logs and Secrets Manager through VPC endpoints. Default false:
   * tasks in the public subnets with public IPs (docs/bootstrap.md, cost notes).
   */
  privateTasks?: boolean;
  /**
   * CloudFront reaches the ALB over HTTPS at `origin-<region>.<domain>`: an ACM certificate for
   * that name, validated in the hosted zone, an alias record to the ALB and an HTTPS listener
   * (TLS 1.2 or later) next to the HTTP one, which stays (docs/bootstrap.md, "Turning a domain on
   * or off"). With it come the DNS failover names (model/dns-failover.ts): a Route 53 health check
   * of the ALB, the failover records that point at this ALB, and `*.failover.<domain>` on the
   * certificate (docs/bootstrap.md, "DNS failover names"). Default none: HTTP on port 80 only.
   */
  origin?: { domain: string; hostedZoneId: string };
}

/**
 * One region's shared platform: a VPC over two AZs with public subnets and
 * no NAT gateway (tasks get public IPs and sit behind a security group that
 * admits only the ALB; or, with privateTasks, run in isolated subnets and
 * reach AWS through VPC endpoints), the site image repository `tandem/site`, an ECS cluster with Fargate and Fargate Spot, an ALB
 * that only CloudFront can reach and that refuses every request no site rule
 * claims, the tasks' roles and log group, the region's own reconciler
 * (bootstrap/reconciler.ts), and the region's alarms. It tells the reconcilers where all
 * this is by writing the `platform`/`<region>` item into its replica of the
 * table (docs/store.md), never through a cross-region export.
 */
export class PlatformStack extends Stack {
  readonly platform: RegionPlatform;
  readonly siteRepository: ecr.Repository;
  /** This region's reconciler: it manages this region's sites' resources. */
  readonly reconciler: Reconciler;
  /** This region's alarm topic: alarm actions cannot publish to another region's. */
  readonly alarmTopic: sns.Topic;
  /** The 5xx rate and the failover alarms on this region's ALB, then its reconciler's alarms. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const region = props.env.region;

    const privateTasks = props.privateTasks ?? false;
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        // The ALB's, and the tasks' unless privateTasks.
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // No route to the internet at all: the tasks reach AWS through the endpoints below.
        ...(privateTasks
          ? [{ name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }]
          : []),
      ],
      restrictDefaultSecurityGroup: true,
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'No flow logs by default: they are billed per GB, the only ingress is CloudFront through the ALB, and ALB and ECS metrics cover the traffic.',
    });
    const taskSubnets = privateTasks ? vpc.isolatedSubnets : vpc.publicSubnets;

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      clusterName: CLUSTER_NAME,
      enableFargateCapacityProviders: true,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    // Resolved at deploy time in this region, so synth needs no lookup and no prefix list id is hard-coded.
    const prefixList = new AwsCustomResource(this, 'CloudFrontPrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describeManagedPrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING] }] },
        physicalResourceId: PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      // DescribeManagedPrefixLists has no resource-level permissions.
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    Validations.of(prefixList).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeManagedPrefixLists is read-only and supports no resource-level permissions.',
    });
    const cloudFront = ec2.Peer.prefixList(prefixList.getResponseField('PrefixLists.0.PrefixListId'));

    const origin = props.origin;
    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      // Never changed, with or without a domain: a new description would replace the group under
      // the running ALB. HTTPS has a group of its own (below).
      description: 'tandem ALB: HTTP from CloudFront origin-facing addresses only',
      allowAllOutbound: false,
    });
    // HTTP always: the reconciler's rules live on the HTTP listener, which is never replaced, and
    // the CDN uses it for a region until that region's item says its HTTPS listener is there.
    albSecurityGroup.addIngressRule(cloudFront, ec2.Port.tcp(80), 'CloudFront origin-facing');
    // HTTPS in a group of its own: a rule naming the prefix list counts as its 55 entries against
    // the group's quota of 60 inbound rules, so a second one in the same group would not fit. The
    // group is on the ALB with or without a domain, so turning one on or off never changes the ALB;
    // its one rule is a resource of its own that goes only after the HTTPS drain (https-drain.ts).
    const httpsSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerHttpsSecurityGroup', {
      vpc,
      description: 'tandem ALB: HTTPS from CloudFront origin-facing addresses only, with a domain',
      allowAllOutbound: false,
    });
    const httpsIngress =
      origin === undefined
        ? undefined
        : new ec2.CfnSecurityGroupIngress(this, 'OriginHttpsIngress', {
            groupId: httpsSecurityGroup.securityGroupId,
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            sourcePrefixListId: prefixList.getResponseField('PrefixLists.0.PrefixListId'),
            description: 'CloudFront origin-facing',
          });
    // Route 53's health checkers in a group of their own too (their prefix list weighs 25), also on
    // the ALB with or without a domain; its one rule, for 443, only with one.
    const healthCheckSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerHealthCheckSecurityGroup', {
      vpc,
      description: 'tandem ALB: HTTPS from Route 53 health checkers only, with a domain',
      allowAllOutbound: false,
    });
    const taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc,
      description: 'tandem tasks: from the ALB only',
      // Tasks pull images and call AWS over the internet (public IPs, no NAT), or through the
      // VPC endpoints (privateTasks), and call whatever their site calls.
      allowAllOutbound: true,
    });
    // Any TCP port: each site chooses its container port (spec task.containerPort).
    taskSecurityGroup.connections.allowFrom(albSecurityGroup, ec2.Port.allTcp(), 'tandem ALB');
    if (privateTasks) this.addEndpoints(vpc, taskSecurityGroup);

    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      loadBalancerName: LOAD_BALANCER_NAME,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      idleTimeout: props.idleTimeout ?? Duration.seconds(60),
    });
    loadBalancer.addSecurityGroup(httpsSecurityGroup);
    loadBalancer.addSecurityGroup(healthCheckSecurityGroup);
    Validations.of(loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Access logs need an S3 bucket and cost per request; CloudFront sees every request first and the ALB publishes request and error metrics.',
    });
    // The reconciler adds one rule per site matching its origin header; anything else is refused.
    const refuse = elbv2.ListenerAction.fixedResponse(403, {
      contentType: 'text/plain',
      messageBody: 'Forbidden',
    });
    // The HTTP listener is there with or without a domain, under the same id, so turning a domain
    // on or off never replaces it and never deletes the reconciler's rules on it.
    const listener = loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: refuse,
    });
    let originName: string | undefined;
    let failoverName: string | undefined;
    let healthCheckId: string | undefined;
    let httpsListener: elbv2.ApplicationListener | undefined;
    const originResources: Construct[] = [];
    if (origin !== undefined) {
      // CloudFront checks the origin's certificate against the origin's name, so the ALB gets a name of its own.
      originName = `origin-${region}.${origin.domain}`;
      const zone = route53.PublicHostedZone.fromHostedZoneAttributes(this, 'OriginZone', {
        hostedZoneId: origin.hostedZoneId,
        zoneName: origin.domain,
      });
      // Also every region's failover name: CloudFront checks the certificate against the name it
      // connects to, and a region's failover name leads here while that region is down. A change of
      // names replaces the certificate: CloudFormation creates the new one, moves the listener to it,
      // and deletes the old one only in the update's cleanup, once nothing uses it.
      const certificate = new acm.Certificate(this, 'OriginCertificate', {
        domainName: originName,
        subjectAlternativeNames: [`*.failover.${origin.domain}`],
        validation: acm.CertificateValidation.fromDns(zone),
      });
      const record = new route53.ARecord(this, 'OriginRecord', {
        zone,
        recordName: originName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(loadBalancer)),
      });
      // A second listener next to the HTTP one: the reconciler keeps each site's rule on both.
      httpsListener = loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: false,
        defaultAction: refuse,
      });
      originResources.push(certificate, record, httpsListener, httpsIngress!);
      failoverName = failoverOriginName(region, origin.domain);
      const failover = this.addFailover({
        region,
        regions: props.regions,
        domain: origin.domain,
        hostedZoneId: origin.hostedZoneId,
        loadBalancer,
        listeners: [listener, httpsListener],
        originName,
        securityGroup: healthCheckSecurityGroup,
        before: [record, httpsListener],
      });
      originResources.push(...failover.resources);
      healthCheckId = failover.healthCheckId;
      // Turning the domain off deletes these only once no distribution reaches them any more.
      new HttpsDrain(this, 'HttpsDrain', {
        originName,
        failoverNames: props.regions.map((r) => failoverOriginName(r, origin.domain)),
        guards: originResources,
      });
    }

    const logGroup = new logs.LogGroup(this, 'SiteLogs', {
      logGroupName: SITE_LOG_GROUP,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const ecsTasks = new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
    });
    const executionRole = new iam.Role(this, 'TaskExecutionRole', {
      roleName: `${TASK_ROLE_PREFIX}-execution-${region}`,
      assumedBy: ecsTasks,
      description: 'tandem: ECS pulls site images and writes their logs',
    });
    executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}`],
      }),
    );
    executionRole.addToPolicy(
      new iam.PolicyStatement({
        // GetAuthorizationToken has no resource-level permissions.
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
      }),
    );
    const repositories = this.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' });
    executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [repositories],
      }),
    );
    Validations.of(executionRole).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken supports no resource-level permissions.',
      },
      {
        id: nagResourceId(this, repositories),
        reason:
          "A site's image may be in any of the account's repositories in this region; pulling is read-only.",
      },
    );
    this.siteRepository = new ecr.Repository(this, 'SiteRepository', {
      repositoryName: SITE_REPOSITORY,
      imageScanOnPush: true,
      // A tag names one image forever: a spec's image (site:v1) cannot change under a running site.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.AES_256,
      lifecycleRules: [
        {
          description: `untagged images go after ${UNTAGGED_IMAGE_DAYS} days; tagged ones stay`,
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(UNTAGGED_IMAGE_DAYS),
        },
      ],
      // Images may still be named by a spec; deleting the stack keeps them (docs/bootstrap.md, teardown).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.siteRepository.grantPull(executionRole);
    new CfnOutput(this, 'SiteRepositoryUri', {
      description: `The tandem/site repository in ${region} (docs/bootstrap.md, "Site images")`,
      value: this.siteRepository.repositoryUri,
    });

    const taskRole = new iam.Role(this, 'TaskRole', {
      roleName: `${TASK_ROLE_PREFIX}-${region}`,
      assumedBy: ecsTasks,
      description: 'tandem: the site containers (no permissions)',
    });

    this.platform = {
      region,
      cluster: cluster.clusterName,
      loadBalancerArn: loadBalancer.loadBalancerArn,
      loadBalancerDnsName: loadBalancer.loadBalancerDnsName,
      listenerArn: listener.listenerArn,
      // Written only with the listener, its certificate, its name and the port-443 rule in place (the
      // item depends on them): the region's word that the CDN may reach it over HTTPS.
      ...(httpsListener === undefined || originName === undefined
        ? {}
        : { httpsListenerArn: httpsListener.listenerArn, httpsOriginName: originName }),
      // Written only with the failover records, their health check, the health rules, the health
      // checkers' 443 rule and the certificate covering the name in place (the item depends on them).
      ...(failoverName === undefined || healthCheckId === undefined
        ? {}
        : { failoverOriginName: failoverName, healthCheckId }),
      vpcId: vpc.vpcId,
      subnets: taskSubnets.map((s) => s.subnetId),
      securityGroups: [taskSecurityGroup.securityGroupId],
      assignPublicIp: !privateTasks,
      executionRoleArn: executionRole.roleArn,
      taskRoleArn: taskRole.roleArn,
      logGroup: logGroup.logGroupName,
    };

    // This region's replica of the table (a global table the control stack owns).
    const table = this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: props.tableName });
    const key = { pk: { S: 'platform' }, sk: { S: region } };
    const write = {
      service: 'DynamoDB',
      action: 'putItem',
      parameters: {
        TableName: props.tableName,
        Item: { ...key, document: { S: this.toJsonString(this.platform) } },
      },
      physicalResourceId: PhysicalResourceId.of(`platform/${region}`),
    };
    const item = new AwsCustomResource(this, 'PlatformItem', {
      onCreate: write,
      onUpdate: write,
      // Without its item the reconciler reports the region missing instead of using a platform that is gone.
      onDelete: {
        service: 'DynamoDB',
        action: 'deleteItem',
        parameters: { TableName: props.tableName, Key: key },
      },
      // The platform partition only (dynamodb:LeadingKeys). It cannot name the sort key, so each
      // region's reconciler checks that an item's origin and load balancer are in its region.
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [table],
          conditions: platformPartitionOnly,
        }),
      ]),
      installLatestAwsSdk: false,
    });
    item.node.addDependency(
      listener,
      albSecurityGroup,
      ...originResources,
      cluster,
      executionRole,
      taskRole,
      logGroup,
    );

    this.alarmTopic = alarmTopic(this, 'Alarms', `tandem alarms: ${region}`);
    // After the control stack (stacks.ts): this region's replicas of the table and the secret exist.
    this.reconciler = new Reconciler(this, 'Reconciler', {
      tableName: props.tableName,
      regions: props.regions,
      alarmTopic: this.alarmTopic,
      taskRoles: [executionRole, taskRole],
      logRetention: props.logRetention,
    });
    this.alarms = [
      ...addRegionAlarms(this, { loadBalancer, topic: this.alarmTopic, region }),
      ...this.reconciler.alarms,
    ];
    allowAlarmsToPublish(this.alarmTopic, this.alarms);
    acknowledgeCustomResourceProvider(this);
  }

  /**
   * The DNS failover names' part in this region (model/dns-failover.ts): a rule on each listener
   * that answers GET HEALTH_CHECK_PATH with a fixed 200 before the default 403, with no other
   * condition (health checkers cannot send the origin header); the health checkers' way in on 443;
   * a Route 53 health check of the ALB at `origin-<region>.<domain>`; and the failover records
   * that point at this ALB: this region's name as PRIMARY, and as SECONDARY the name of every
   * region this one backs up (`failoverBackupRegion`). Each stack writes only records that point
   * at its own ALB, so none needs another region to deploy. Returns every resource created, for
   * the platform item to wait for and the HTTPS drain to guard, and the health check's id.
   */
  private addFailover(options: {
    region: string;
    regions: readonly string[];
    domain: string;
    hostedZoneId: string;
    loadBalancer: elbv2.ApplicationLoadBalancer;
    listeners: elbv2.ApplicationListener[];
    originName: string;
    securityGroup: ec2.SecurityGroup;
    /** What the health check waits for, beside the rules and the 443 rule: the name and the listener. */
    before: Construct[];
  }): { resources: Construct[]; healthCheckId: string } {
    const { region, domain, loadBalancer } = options;
    const rules = options.listeners.map(
      (listener) =>
        new elbv2.ApplicationListenerRule(this, `HealthRule${listener.node.id}`, {
          listener,
          // The last priority an ALB allows, which the reconciler never takes (reconcile/observe.ts).
          priority: HEALTH_RULE_PRIORITY,
          conditions: [
            elbv2.ListenerCondition.httpRequestMethods(['GET']),
            elbv2.ListenerCondition.pathPatterns([HEALTH_CHECK_PATH]),
          ],
          action: elbv2.ListenerAction.fixedResponse(200, {
            contentType: 'text/plain',
            messageBody: HEALTH_CHECK_BODY,
          }),
        }),
    );
    const lookup = new AwsCustomResource(this, 'Route53HealthCheckPrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describeManagedPrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [route53HealthChecks(region)] }] },
        physicalResourceId: PhysicalResourceId.of(route53HealthChecks(region)),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    Validations.of(lookup).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeManagedPrefixLists is read-only and supports no resource-level permissions.',
    });
    const ingress = new ec2.CfnSecurityGroupIngress(this, 'HealthCheckHttpsIngress', {
      groupId: options.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      sourcePrefixListId: lookup.getResponseField('PrefixLists.0.PrefixListId'),
      description: 'Route 53 health checkers',
    });
    const healthCheck = new route53.HealthCheck(this, 'OriginHealthCheck', {
      type: route53.HealthCheckType.HTTPS,
      fqdn: options.originName,
      port: 443,
      enableSNI: true,
      resourcePath: HEALTH_CHECK_PATH,
      requestInterval: Duration.seconds(ROUTE53_FAILOVER.intervalSeconds),
      failureThreshold: ROUTE53_FAILOVER.failureThreshold,
    });
    // Created only once it can pass (Route 53 checks speak TLS 1.2, which the listener's policy
    // takes), so the names never start out on another region.
    healthCheck.node.addDependency(...rules, ingress, ...options.before);
    // The health check alone decides, so L1 records: CDK's own check insists on EvaluateTargetHealth,
    // with which the ALB would count as down whenever any one site's target group had no healthy
    // target, moving every site's name for one site's trouble.
    const aliasTarget = {
      dnsName: `dualstack.${loadBalancer.loadBalancerDnsName}`,
      hostedZoneId: loadBalancer.loadBalancerCanonicalHostedZoneId,
      evaluateTargetHealth: false,
    };
    const backedUp = options.regions.filter(
      (other) => other !== region && failoverBackupRegion(other, options.regions) === region,
    );
    const records = [
      { name: region, failover: 'PRIMARY' },
      ...backedUp.map((name) => ({ name, failover: 'SECONDARY' })),
    ].map(
      ({ name, failover }) =>
        new route53.CfnRecordSet(this, `FailoverRecord-${name}`, {
          hostedZoneId: options.hostedZoneId,
          name: `${failoverOriginName(name, domain)}.`,
          type: 'A',
          aliasTarget,
          failover,
          healthCheckId: healthCheck.healthCheckId,
          // This ALB's region: unique among a name's records, each stack writing at most one.
          setIdentifier: region,
        }),
    );
    return {
      resources: [...rules, lookup, ingress, healthCheck, ...records],
      healthCheckId: healthCheck.healthCheckId,
    };
  }

  /**
   * What private tasks need without a route to the internet: ECR's API and
   * registry, S3 (where ECR keeps image layers), CloudWatch Logs (the awslogs
   * driver) and Secrets Manager (secrets in task definitions). Interface
   * endpoints sit in the tasks' subnets, one network interface per AZ, and
   * admit HTTPS from the tasks' security group only.
   */
  private addEndpoints(vpc: ec2.Vpc, tasks: ec2.ISecurityGroup) {
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [subnets],
    });
    const services = {
      EcrApiEndpoint: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDockerEndpoint: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      LogsEndpoint: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      SecretsManagerEndpoint: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    };
    for (const [id, service] of Object.entries(services))
      vpc
        .addInterfaceEndpoint(id, { service, subnets, privateDnsEnabled: true, open: false })
        .connections.allowDefaultPortFrom(tasks, 'tandem tasks');
  }
}
