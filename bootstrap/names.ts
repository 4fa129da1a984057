import { PLATFORM_PARTITION } from '../controller/providers/aws/platform.ts';

/**
 * Names every stack agrees on, so each can scope IAM to the others' resources
 * without reading another stack's outputs (cross-region exports deadlock on
 * update: aws-cdk issues 27902, 34813).
 */

/** The ECS cluster and the ALB, in every region. */
export const CLUSTER_NAME = 'tandem';
export const LOAD_BALANCER_NAME = 'tandem';
export const SITE_LOG_GROUP = '/tandem/sites';
/** Roles are global, so their names carry the region (`tandem-task-<region>`, `tandem-task-execution-<region>`). */
export const TASK_ROLE_PREFIX = 'tandem-task';
/** ECR repositories under this prefix are replicated from the primary region's registry to every other region's. */
export const IMAGE_REPOSITORY_PREFIX = 'tandem/';
/** The repository for site images, in every region (push to the primary's; docs/bootstrap.md). */
export const SITE_REPOSITORY = `${IMAGE_REPOSITORY_PREFIX}site`;
/** The origin header's secret: created in the primary region, replicated under the same name to every other. */
export const ORIGIN_SECRET_NAME = 'tandem/origin-header';
/** The reconciler Lambda, one in each region (function names are regional). */
export const RECONCILER_FUNCTION_NAME = 'tandem-reconciler';

/** The condition that keeps a bootstrap writer (a platform item, the settings) to the `platform` partition. */
export const platformPartitionOnly = {
  'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PLATFORM_PARTITION] },
};
