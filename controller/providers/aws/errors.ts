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
  // A quota reached: terminal until a person raises it or frees some (RequestLimitExceeded above is a rate)
  LimitExceededException: 'QuotaExceeded',
  LimitExceeded: 'QuotaExceeded',
  TooManyRulesException: 'QuotaExceeded',
  TooManyTargetGroupsException: 'QuotaExceeded',
  TooManyDistributions: 'QuotaExceeded',
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
 * The quota an error names by itself, as Service Quotas calls it; a generic
 * LimitExceededException names its quota in its message.
 */
const QUOTAS: Record<string, string> = {
  TooManyRulesException: 'Rules per Application Load Balancer',
  TooManyTargetGroupsException: 'Target groups per Region',
  TooManyDistributions: 'Web distributions per AWS account',
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
  const message =
    kind === 'AccessDenied'
      ? `${service}:${operation} was denied (${name}): ${detail}. Grant ${service}:${operation} on ${resource} to the reconciler's role.`
      : kind === 'QuotaExceeded'
        ? `${service}:${operation} reached a quota (${name}${quota === undefined ? '' : `: ${quota}`}): ${detail.replace(/\.$/, '')}. Ask for more in Service Quotas, or free some; the next pass after that goes on.`
        : `${service}:${operation} failed (${name}): ${detail}`;
  return new CloudError(kind, resource, message, { cause: error });
}
