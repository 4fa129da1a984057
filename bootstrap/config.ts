/**
 * The bootstrap's settings, from CDK context (`-c key=value` or cdk.json) or
 * the environment; context wins. Every problem is reported at once, each
 * naming the setting and what it should hold.
 */
export interface BootstrapConfig {
  /** `account` / TANDEM_ACCOUNT / CDK_DEFAULT_ACCOUNT. Default the placeholder, which synthesizes but never deploys. */
  account: string;
  /** `regions` / TANDEM_REGIONS, comma-separated, primary first. Default us-east-1,eu-west-1. */
  regions: string[];
  /** The primary region: the control stack (table, secret, image replication) lives here. */
  controlRegion: string;
  /** `tableName` / TANDEM_TABLE. Default `tandem`. */
  tableName: string;
  /**
   * `domain` / TANDEM_DOMAIN: a domain with a Route 53 public hosted zone. With it, CloudFront
   * reaches each region's ALB over HTTPS at `origin-<region>.<domain>` (a certificate and an alias
   * record per region); without it, over HTTP. Sites' own viewer domains are in their specs
   * (`cdn.aliases`, `cdn.certificateArn`).
   */
  domain?: string;
  /** `hostedZoneId` / TANDEM_HOSTED_ZONE_ID: the hosted zone of `domain`; required with it. */
  hostedZoneId?: string;
  /** `privateTasks` / TANDEM_PRIVATE_TASKS: tasks in private subnets behind VPC endpoints. Default false. */
  privateTasks: boolean;
  /**
   * `imageReplication` / TANDEM_IMAGE_REPLICATION: the control stack owns the primary registry's
   * replication configuration, copying `tandem/` repositories to every other region. Off for an
   * account whose registry has a replication configuration of its own. Default true.
   */
  imageReplication: boolean;
  /**
   * `originSecretRotationDays` / TANDEM_ORIGIN_SECRET_ROTATION_DAYS: days between rotations of the
   * origin secret, 1 to 1000. Default 30. `aws secretsmanager rotate-secret` rotates it at once.
   */
  originSecretRotationDays: number;
}

/** The account cdk.context.json holds availability zones for, so `npm run synth` works with no credentials. */
export const PLACEHOLDER_ACCOUNT = '123456789012';
export const DEFAULT_REGIONS = ['us-east-1', 'eu-west-1'];
export const DEFAULT_TABLE = 'tandem';
export const DEFAULT_ROTATION_DAYS = 30;

const ACCOUNT = /^\d{12}$/;
// The same pattern the reconciler's environment checks (controller/lambda/environment.ts).
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTED_ZONE = /^Z[A-Z0-9]{1,31}$/;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads a setting: `context(key)` first (CDK context), then the named environment variables in order. */
export type Setting = (contextKey: string) => unknown;

export function readConfig(
  context: Setting,
  env: Readonly<Record<string, string | undefined>>,
): BootstrapConfig {
  const problems: string[] = [];
  const value = (key: string, ...vars: string[]): string | undefined => {
    const fromContext = context(key);
    if (fromContext !== undefined && fromContext !== null && String(fromContext).trim() !== '')
      return String(fromContext).trim();
    for (const name of vars) {
      const v = env[name]?.trim();
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };

  const account = value('account', 'TANDEM_ACCOUNT', 'CDK_DEFAULT_ACCOUNT') ?? PLACEHOLDER_ACCOUNT;
  if (!ACCOUNT.test(account))
    problems.push(`account is "${account}": an AWS account id is 12 digits (-c account=… or TANDEM_ACCOUNT)`);

  const regionList = value('regions', 'TANDEM_REGIONS');
  const listed = regionList === undefined ? DEFAULT_REGIONS : regionList.split(',').map((r) => r.trim());
  const regions = listed.filter((r) => r !== '');
  if (regions.length === 0)
    problems.push('regions is empty: list the regions, primary first (e.g. -c regions=us-east-1,eu-west-1)');
  for (const region of regions.filter((r) => !REGION.test(r)))
    problems.push(`regions names "${region}", which is not an AWS region name such as eu-west-1`);
  const repeated = regions.filter((r, i) => regions.indexOf(r) !== i);
  if (repeated.length > 0) problems.push(`regions names ${[...new Set(repeated)].join(', ')} more than once`);

  const tableName = value('tableName', 'TANDEM_TABLE') ?? DEFAULT_TABLE;
  if (!TABLE.test(tableName))
    problems.push(`tableName is "${tableName}": a DynamoDB table name is 3–255 letters, digits, _ - or .`);

  const domain = value('domain', 'TANDEM_DOMAIN')?.toLowerCase().replace(/\.$/, '');
  if (domain !== undefined && !DOMAIN.test(domain))
    problems.push(`domain is "${domain}", which is not a domain name such as example.com`);
  const hostedZoneId = value('hostedZoneId', 'TANDEM_HOSTED_ZONE_ID')?.toUpperCase();
  if (hostedZoneId !== undefined && !HOSTED_ZONE.test(hostedZoneId))
    problems.push(
      `hostedZoneId is "${hostedZoneId}", which is not a Route 53 hosted zone id such as Z0123456789ABC`,
    );
  if (domain !== undefined && hostedZoneId === undefined)
    problems.push(
      'domain is set without hostedZoneId: the origin certificates are validated, and the origin names created, in its Route 53 hosted zone',
    );
  if (domain === undefined && hostedZoneId !== undefined)
    problems.push("hostedZoneId is set without domain: name the zone's domain too (-c domain=example.com)");

  const flag = (key: string, variable: string, fallback: boolean): boolean => {
    const setting = value(key, variable)?.toLowerCase();
    if (setting === undefined) return fallback;
    if (setting !== 'true' && setting !== 'false')
      problems.push(`${key} is "${setting}": it is true or false`);
    return setting === 'true';
  };
  const privateTasks = flag('privateTasks', 'TANDEM_PRIVATE_TASKS', false);
  const imageReplication = flag('imageReplication', 'TANDEM_IMAGE_REPLICATION', true);
  const rotation = value('originSecretRotationDays', 'TANDEM_ORIGIN_SECRET_ROTATION_DAYS');
  const originSecretRotationDays = rotation === undefined ? DEFAULT_ROTATION_DAYS : Number(rotation);
  if (!/^\d+$/.test(rotation ?? '1') || originSecretRotationDays < 1 || originSecretRotationDays > 1000)
    problems.push(
      `originSecretRotationDays is "${rotation}": it is a whole number of days from 1 to 1000 (Secrets Manager's rotation range)`,
    );

  if (problems.length > 0)
    throw new ConfigError(`the bootstrap's settings are invalid:\n- ${problems.join('\n- ')}`);
  return {
    account,
    regions,
    controlRegion: regions[0]!,
    tableName,
    privateTasks,
    imageReplication,
    originSecretRotationDays,
    ...(domain === undefined || hostedZoneId === undefined ? {} : { domain, hostedZoneId }),
  };
}
