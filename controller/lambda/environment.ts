import { DEFAULT_INTERVAL_SECONDS } from '../decide/ownership.ts';

/**
 * The reconciler Lambda's settings, from its environment. The bootstrap
 * deploys one reconciler in every region; each manages its own. Every problem
 * is reported at once, each naming the variable and what it should hold.
 */
export interface ReconcilerEnvironment {
  /** TANDEM_TABLE: the DynamoDB table holding specs, statuses, the leases and the platform items. */
  tableName: string;
  /**
   * TANDEM_REGION, default AWS_REGION: the region this reconciler manages.
   * It reads and writes that region's replica of the table, reads that
   * region's replica of the origin secret (through the AWS Parameters and
   * Secrets Lambda Extension, which reads PARAMETERS_SECRETS_EXTENSION_HTTP_PORT
   * itself) and calls only that region's ECS, ELB and CloudWatch.
   */
  region: string;
  /**
   * TANDEM_REGIONS: comma-separated regions sites may run in (each has the
   * bootstrap deployed), primary first: the order in which they take the
   * platform's global duty (the sites' dashboard) when one goes quiet.
   */
  regions: string[];
  /** TANDEM_INTERVAL_SECONDS: seconds between two scheduled passes (the schedule's rate). Default 60. */
  intervalSeconds: number;
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

  const region = value('TANDEM_REGION') ?? value('AWS_REGION');
  if (region === undefined)
    problems.push(
      'neither TANDEM_REGION nor AWS_REGION is set: set TANDEM_REGION to the region this reconciler manages',
    );
  else if (!REGION.test(region))
    problems.push(`TANDEM_REGION is "${region}", which is not an AWS region name such as us-east-1`);

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
  for (const bad of regions.filter((r) => !REGION.test(r)))
    problems.push(`TANDEM_REGIONS names "${bad}", which is not an AWS region name such as eu-west-1`);
  if (region !== undefined && REGION.test(region) && regions.length > 0 && !regions.includes(region))
    problems.push(
      `TANDEM_REGIONS (${regions.join(',')}) does not name ${region}, the region this reconciler manages: add it`,
    );
  const intervalSeconds = wholeNumber(
    value('TANDEM_INTERVAL_SECONDS'),
    'TANDEM_INTERVAL_SECONDS',
    DEFAULT_INTERVAL_SECONDS,
    1,
    problems,
  );

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
    region: region!,
    regions,
    intervalSeconds,
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
