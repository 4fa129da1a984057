/**
 * The reconciler Lambda's settings, from its environment. Every problem is
 * reported at once, each naming the variable and what it should hold.
 */
export interface ReconcilerEnvironment {
  /** TANDEM_TABLE: the DynamoDB table holding specs, statuses, the lease and the platform items. */
  tableName: string;
  /**
   * TANDEM_CONTROL_REGION, default AWS_REGION: the table's region the
   * reconciler uses (its specs, statuses, lease and platform items), and the
   * origin secret's. The secret is read through the AWS Parameters and Secrets
   * Lambda Extension, which reads PARAMETERS_SECRETS_EXTENSION_HTTP_PORT itself.
   */
  controlRegion: string;
  /** TANDEM_REGIONS: comma-separated regions sites may run in (each has the bootstrap deployed). */
  regions: string[];
  /** TANDEM_CHUNK_SIZE: sites per reconcile pass. Default 25. */
  chunkSize: number;
  /** TANDEM_SAFETY_MARGIN_MS: no new chunk starts with less time than this (plus the slowest chunk) left. Default 10000. */
  safetyMarginMs: number;
  /** TANDEM_LOG_LEVEL: pino level. Default info. */
  logLevel: string;
}

export const DEFAULT_CHUNK_SIZE = 25;
export const DEFAULT_SAFETY_MARGIN_MS = 10_000;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
// DynamoDB table names: 3–255 of letters, digits, _ - .
const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

export function readEnvironment(env: Readonly<Record<string, string | undefined>>): ReconcilerEnvironment {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

  const tableName = value('TANDEM_TABLE');
  if (tableName === undefined)
    problems.push('TANDEM_TABLE is not set: set it to the DynamoDB table the bootstrap created');
  else if (!TABLE.test(tableName))
    problems.push(`TANDEM_TABLE is "${tableName}": a DynamoDB table name is 3–255 letters, digits, _ - or .`);

  const controlRegion = value('TANDEM_CONTROL_REGION') ?? value('AWS_REGION');
  if (controlRegion === undefined)
    problems.push(
      'neither TANDEM_CONTROL_REGION nor AWS_REGION is set: set TANDEM_CONTROL_REGION to the table’s region',
    );
  else if (!REGION.test(controlRegion))
    problems.push(
      `TANDEM_CONTROL_REGION is "${controlRegion}", which is not an AWS region name such as us-east-1`,
    );

  const regionList = value('TANDEM_REGIONS');
  const regions = [
    ...new Set(
      (regionList ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r !== ''),
    ),
  ];
  if (regions.length === 0)
    problems.push(
      'TANDEM_REGIONS is not set: list the regions sites may run in, comma-separated (e.g. us-east-1,eu-west-1)',
    );
  for (const region of regions.filter((r) => !REGION.test(r)))
    problems.push(`TANDEM_REGIONS names "${region}", which is not an AWS region name such as eu-west-1`);

  const chunkSize = wholeNumber(
    value('TANDEM_CHUNK_SIZE'),
    'TANDEM_CHUNK_SIZE',
    DEFAULT_CHUNK_SIZE,
    1,
    problems,
  );
  const safetyMarginMs = wholeNumber(
    value('TANDEM_SAFETY_MARGIN_MS'),
    'TANDEM_SAFETY_MARGIN_MS',
    DEFAULT_SAFETY_MARGIN_MS,
    0,
    problems,
  );
  const logLevel = value('TANDEM_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`TANDEM_LOG_LEVEL is "${logLevel}": use one of ${LOG_LEVELS.join(', ')}`);

  if (problems.length > 0)
    throw new EnvironmentError(`the reconciler's environment is incomplete:\n- ${problems.join('\n- ')}`);
  return {
    tableName: tableName!,
    controlRegion: controlRegion!,
    regions,
    chunkSize,
    safetyMarginMs,
    logLevel,
  };
}

function wholeNumber(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  problems: string[],
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    problems.push(`${name} is "${raw}": it must be a whole number of at least ${min}`);
    return fallback;
  }
  return n;
}
