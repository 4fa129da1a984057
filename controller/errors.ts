/**
 * Errors are values with a kind: the kind says whether the next pass may
 * succeed (recoverable) or a person must act first (terminal).
 */
export type CloudErrorKind =
  'NotFound' | 'Conflict' | 'Throttled' | 'Unavailable' | 'Invalid' | 'AccessDenied' | 'OwnershipConflict';

const TERMINAL: ReadonlySet<CloudErrorKind> = new Set(['Invalid', 'AccessDenied', 'OwnershipConflict']);

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
    return TERMINAL.has(this.kind);
  }
}

/** Any thrown value as a CloudError, so status and logs always have a kind. */
export function asCloudError(error: unknown, resource: string): CloudError {
  if (error instanceof CloudError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CloudError('Unavailable', resource, message, { cause: error });
}
