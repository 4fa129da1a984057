import { CloudError, type CloudErrorKind } from '../../errors.ts';

/** AWS error names (ECS, ELBv2, CloudFront, CloudWatch, DynamoDB) and the core's kinds they map to. */
const KINDS: Record<string, CloudErrorKind> = {
  // Not found
  ServiceNotFoundException: 'NotFound',
  ServiceNotActiveException: 'NotFound',
  ClusterNotFoundException: 'NotFound',
  TargetGroupNotFoundException: 'NotFound',
  RuleNotFoundException: 'NotFound',
  ListenerNotFoundException: 'NotFound',
  LoadBalancerNotFoundException: 'NotFound',
  NoSuchDistribution: 'NotFound',
  NoSuchResource: 'NotFound',
  ResourceNotFoundException: 'NotFound',
  ResourceNotFound: 'NotFound',
  DashboardNotFoundError: 'NotFound',
  // Conflict: someone else changed it, or it is in a state that forbids this now
  PreconditionFailed: 'Conflict',
  ConditionalCheckFailedException: 'Conflict',
  TransactionCanceledException: 'Conflict',
  DistributionNotDisabled: 'Conflict',
  DuplicateTargetGroupNameException: 'Conflict',
  PriorityInUseException: 'Conflict',
  ResourceInUseException: 'Conflict',
  ResourceInUse: 'Conflict',
  CNAMEAlreadyExists: 'Conflict',
  DistributionAlreadyExists: 'Conflict',
  // Throttled (after the SDK's own retries)
  ThrottlingException: 'Throttled',
  Throttling: 'Throttled',
  TooManyRequestsException: 'Throttled',
  RequestLimitExceeded: 'Throttled',
  ProvisionedThroughputExceededException: 'Throttled',
  // A quota reached: terminal until a person raises it or frees some (RequestLimitExceeded above is a
  // rate); the errors that name their quota are in QUOTAS
  LimitExceededException: 'QuotaExceeded',
  LimitExceeded: 'QuotaExceeded',
  // Unavailable: the service or network failed
  ServerException: 'Unavailable',
  ServiceUnavailable: 'Unavailable',
  ServiceUnavailableException: 'Unavailable',
  InternalFailure: 'Unavailable',
  InternalServerError: 'Unavailable',
  InternalServiceError: 'Unavailable',
  // Invalid: terminal until the input changes
  ClientException: 'Invalid',
  InvalidParameterException: 'Invalid',
  InvalidParameterValue: 'Invalid',
  InvalidParameterCombination: 'Invalid',
  ValidationError: 'Invalid',
  ValidationException: 'Invalid',
  InvalidArgument: 'Invalid',
  // A missing or malformed IfMatch is a bug in the request, not a race.
  InvalidIfMatchVersion: 'Invalid',
  InvalidConfigurationRequestException: 'Invalid',
  InvalidViewerCertificate: 'Invalid',
  IllegalUpdate: 'Invalid',
  InvalidOrigin: 'Invalid',
  PlatformUnknownException: 'Invalid',
  UnsupportedFeatureException: 'Invalid',
  // Access denied: terminal until IAM changes
  AccessDeniedException: 'AccessDenied',
  AccessDenied: 'AccessDenied',
  UnauthorizedOperation: 'AccessDenied',
  UnrecognizedClientException: 'AccessDenied',
  InvalidClientTokenId: 'AccessDenied',
  ExpiredTokenException: 'AccessDenied',
};

/**
 * The quotas an error names by itself, as Elastic Load Balancing's and
 * CloudFront's quota pages call them, and whether Service Quotas can raise
 * them; a generic LimitExceededException names its quota in its message.
 */
const QUOTAS: Record<string, { quota: string; adjustable: boolean }> = {
  TooManyRulesException: { quota: 'Rules per Application Load Balancer', adjustable: true },
  TooManyTargetGroupsException: { quota: 'Target groups per Region', adjustable: true },
  TooManyUniqueTargetGroupsPerLoadBalancerException: {
    quota: 'Target groups per Application Load Balancer',
    adjustable: false,
  },
  TooManyTargetsException: { quota: 'Targets per Application Load Balancer', adjustable: true },
  TooManyLoadBalancersException: { quota: 'Application Load Balancers per Region', adjustable: true },
  TooManyListenersException: { quota: 'Listeners per Application Load Balancer', adjustable: false },
  TooManyActionsException: { quota: 'Actions per rule', adjustable: false },
  TooManyCertificatesException: {
    quota: 'Certificates per Application Load Balancer',
    adjustable: true,
  },
  TooManyRegistrationsForTargetIdException: {
    quota: 'Load balancers per target (registrations of one target)',
    adjustable: false,
  },
  TooManyDistributions: { quota: 'Web distributions per AWS account', adjustable: true },
  TooManyOrigins: { quota: 'Origins per distribution', adjustable: true },
  TooManyOriginGroupsPerDistribution: { quota: 'Origin groups per distribution', adjustable: true },
  TooManyDistributionCNAMEs: {
    quota: 'Alternate domain names (CNAMEs) per distribution',
    adjustable: true,
  },
  TooManyOriginCustomHeaders: { quota: 'Custom headers per origin', adjustable: true },
  TooManyCertificates: { quota: 'SSL certificates per AWS account', adjustable: true },
};

interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/**
 * An SDK error as a CloudError. Access denied names the action that was
 * refused, so the message says which permission to grant.
 */
export function fromAwsError(
  error: unknown,
  service: string,
  operation: string,
  resource: string,
): CloudError {
  if (error instanceof CloudError) return error;
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const kind: CloudErrorKind =
    (QUOTAS[name] === undefined ? undefined : 'QuotaExceeded') ??
    KINDS[name] ??
    (status === 429
      ? 'Throttled'
      : status === 403
        ? 'AccessDenied'
        : status === 404
          ? 'NotFound'
          : e.$fault === 'client'
            ? 'Invalid'
            : 'Unavailable');
  const detail = e.message ?? String(error);
  const quota = QUOTAS[name];
  const remedy =
    quota?.adjustable === false
      ? 'It cannot be raised: free some, or spread the sites over more (docs/bootstrap.md); the next pass after that goes on.'
      : 'Ask for more in Service Quotas, or free some; the next pass after that goes on.';
  const message =
    kind === 'AccessDenied'
      ? `${service}:${operation} was denied (${name}): ${detail}. Grant ${service}:${operation} on ${resource} to the reconciler's role.`
      : kind === 'QuotaExceeded'
        ? `${service}:${operation} reached a quota (${name}${quota === undefined ? '' : `: ${quota.quota}`}): ${detail.replace(/\.$/, '')}. ${remedy}`
        : `${service}:${operation} failed (${name}): ${detail}`;
  return new CloudError(kind, resource, message, { cause: error });
}
