/**
 * Errors are values with a kind: the kind says whether the next pass may
 * succeed (recoverable) or a person must act first (terminal). A quota
 * reached (`QuotaExceeded`) is terminal: waiting does not raise it.
 */
export type CloudErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'Throttled'
  | 'Unavailable'
  | 'Invalid'
  | 'AccessDenied'
  | 'OwnershipConflict'
  | 'QuotaExceeded';

const TERMINAL: ReadonlySet<string> = new Set<CloudErrorKind>([
  'Invalid',
  'AccessDenied',
  'OwnershipConflict',
  'QuotaExceeded',
]);

/** True for a kind that needs a person before a retry can succeed (the site is Stalled). */
export function isTerminalKind(kind: string): boolean {
  return TERMINAL.has(kind);
}

export class CloudError extends Error {
  override readonly name = 'CloudError';
  constructor(
    readonly kind: CloudErrorKind,
    /** What the error is about: an ARN, a resource name or an API operation. */
    readonly resource: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get terminal(): boolean {
    return isTerminalKind(this.kind);
  }
}

/** Any thrown value as a CloudError, so status and logs always have a kind. */
export function asCloudError(error: unknown, resource: string): CloudError {
  if (error instanceof CloudError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CloudError('Unavailable', resource, message, { cause: error });
}
