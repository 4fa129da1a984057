import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { DEFAULT_ROTATION_DAYS } from './config.ts';
import { addControlDashboard } from './monitoring.ts';
import { OriginSecretRotation } from './origin-secret-rotation.ts';
import { acknowledgeCustomResourceProvider } from './nag.ts';
import { IMAGE_REPOSITORY_PREFIX, ORIGIN_SECRET_NAME, platformPartitionOnly } from './names.ts';

/** The header CloudFront adds to every origin request; listener rules route on it (docs/architecture.md). */
export const ORIGIN_HEADER_NAME = 'X-Tandem-Origin';

export interface ControlStackProps extends StackProps {
  /** The primary region and the account; the table, the secret and the image replication rule live here. */
  env: { account: string; region: string };
  /** tandem's table. */
  tableName: string;
  /**
   * Every region of the platform, primary first. The table and the origin
   * secret get a replica in each other region, and ECR replicates
   * `tandem/` repositories to each.
   */
  regions: readonly string[];
  /** CloudFront reaches the ALBs over HTTPS (the platform stacks have origin certificates). Default false: HTTP. */
  httpsOrigins?: boolean;
  /**
   * Replicate `tandem/` repositories from this region's registry to every
   * other region's. A registry has one replication configuration, which this
   * stack then owns: an account with a configuration of its own turns this off
   * and adds the rule to that configuration instead (docs/bootstrap.md). Default true.
   */
  imageReplication?: boolean;
  /** Days between rotations of the origin secret. Default DEFAULT_ROTATION_DAYS (30). */
  originSecretRotationDays?: number;
}

/**
 * Deployed once, in the primary region: what every region shares. The
 * global table (a replica in every other region), the `platform`/`settings`
 * item, the origin header's secret (replicated to every other region), the
 * ECR replication rule that copies site images to every other region, and the
 * `tandem` dashboard. Each region's reconciler is in that region's platform
 * stack (bootstrap/reconciler.ts), so nothing that runs lives only here.
 */
export class ControlStack extends Stack {
  readonly table: dynamodb.TableV2;
  readonly originSecret: secretsmanager.Secret;
  /** Absent with a single region, or with imageReplication off. */
  readonly imageReplication: ecr.CfnReplicationConfiguration | undefined;

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
      // Every replica's stream wakes that region's reconciler on spec edits (reconciler.ts).
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });

    // Each region's reconciler reads the replica in its own region, whose ARN is the primary's
    // with that region in it, so a region keeps its secret whatever happens to the primary.
    const secret = new secretsmanager.Secret(this, 'OriginSecret', {
      secretName: ORIGIN_SECRET_NAME,
      description: 'tandem: the secret part of the origin header CloudFront adds and the ALB rules match',
      // Letters and digits only: it travels in an HTTP header value.
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      replicaRegions: replicas.map((region) => ({ region })),
    });
    this.originSecret = secret;
    new OriginSecretRotation(this, 'OriginSecretRotation', {
      secret,
      days: props.originSecretRotationDays ?? DEFAULT_ROTATION_DAYS,
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
          conditions: platformPartitionOnly,
        }),
      ]),
      installLatestAwsSdk: false,
    });
    settingsItem.node.addDependency(this.table);

    this.imageReplication =
      (props.imageReplication ?? true) && replicas.length > 0
        ? new ecr.CfnReplicationConfiguration(this, 'ImageReplication', {
            replicationConfiguration: {
              rules: [
                {
                  // Tasks pull from their own region's registry (their execution role may pull nowhere
                  // else, and private tasks have no route out), so every region needs its own copy.
                  destinations: replicas.map((region) => ({ region, registryId: this.account })),
                  repositoryFilters: [{ filter: IMAGE_REPOSITORY_PREFIX, filterType: 'PREFIX_MATCH' }],
                },
              ],
            },
          })
        : undefined;

    this.addEcsServiceLinkedRole();
    addControlDashboard(this, { regions: props.regions });
    acknowledgeCustomResourceProvider(this);
  }

  /**
   * ECS's service-linked role, AWSServiceRoleForECS, before any cluster. ECS
   * creates it with an account's first cluster and assumes it at once, and
   * IAM's eventual consistency makes that first CreateCluster fail ("Unable to
   * assume the service linked role", cloudformation-coverage-roadmap #818). The
   * role is global, so creating it here, minutes before the platform stacks
   * (they deploy after this one, whose table replicas take minutes), leaves it
   * time to propagate. An account that has it already answers InvalidInput
   * ("has been taken"), which is ignored; it is never deleted: ECS keeps using it.
   */
  private addEcsServiceLinkedRole() {
    const role = `arn:${this.partition}:iam::${this.account}:role/aws-service-role/${ECS_SERVICE}/AWSServiceRoleForECS`;
    new AwsCustomResource(this, 'EcsServiceLinkedRole', {
      onCreate: {
        service: 'IAM',
        action: 'createServiceLinkedRole',
        parameters: { AWSServiceName: ECS_SERVICE },
        physicalResourceId: PhysicalResourceId.of('AWSServiceRoleForECS'),
        ignoreErrorCodesMatching: 'InvalidInput',
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['iam:CreateServiceLinkedRole'],
          resources: [role],
          conditions: { StringEquals: { 'iam:AWSServiceName': ECS_SERVICE } },
        }),
      ]),
      installLatestAwsSdk: false,
    });
  }
}

const ECS_SERVICE = 'ecs.amazonaws.com';
