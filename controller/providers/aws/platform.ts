import { readFileSync } from 'node:fs';
import { GetParametersCommand, type Parameter, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { CloudError } from '../../errors.ts';
import type { Platform, RegionPlatform } from '../../model/platform.ts';
import { fromAwsError } from './errors.ts';

/**
 * Where the platform is. The bootstrap writes, in each region it deploys to,
 * an SSM String parameter `/tandem/platform/<region>` holding that region's
 * `RegionPlatform` as JSON; and once, in the control region (where the table
 * and the reconciler live), `/tandem/platform/settings` (`{ originHeaderName,
 * originProtocol }`, JSON) and the SecureString `/tandem/origin-secret`.
 * Parameters rather than CloudFormation exports: cross-region exports deadlock
 * on update (aws-cdk issues 27902, 34813).
 */

export const SETTINGS_PARAMETER = '/tandem/platform/settings';
export const ORIGIN_SECRET_PARAMETER = '/tandem/origin-secret';

export function regionParameter(region: string): string {
  return `/tandem/platform/${region}`;
}

/** Missing fields say so; fields of the wrong type say what they must be. */
const expect = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});
const text = z.string(expect('a string')).min(1, 'must not be empty');
const arn = (service: string) =>
  text.regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`);
const ids = (prefix: string) =>
  z
    .array(text.regex(new RegExp(`^${prefix}-`), `must be an id starting ${prefix}-`), expect('a list'))
    .min(1, 'must name at least one');

const RegionPlatformSchema = z.object({
  region: text,
  cluster: text,
  loadBalancerArn: arn('elasticloadbalancing'),
  loadBalancerDnsName: text,
  listenerArn: arn('elasticloadbalancing'),
  vpcId: text.regex(/^vpc-/, 'must be a VPC id (vpc-…)'),
  subnets: ids('subnet'),
  securityGroups: ids('sg'),
  assignPublicIp: z.boolean(expect('true or false')),
  executionRoleArn: arn('iam'),
  taskRoleArn: arn('iam'),
  logGroup: text,
});

const SettingsSchema = z.object({
  // An HTTP header name (RFC 9110 token); CloudFront adds it to every origin request.
  originHeaderName: text.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
  originProtocol: z.enum(['http-only', 'https-only'], expect('"http-only" or "https-only"')),
});

const PlatformFileSchema = SettingsSchema.extend({
  originSecret: text,
  regions: z.record(z.string(), RegionPlatformSchema, expect('an object keyed by region')),
});

export interface PlatformSource {
  /** The SSM client for a region: `AwsClients` is one. */
  ssm(region: string): SSMClient;
}

export interface LoadPlatformOptions {
  /** The regions sites may run in; each needs the bootstrap deployed there. */
  regions: readonly string[];
  /** Where the settings and the origin secret are (the table's region). */
  controlRegion: string;
}

export interface PlatformLoad {
  /** Every region whose parameter could be read and is well formed. */
  platform: Platform;
  /**
   * One error per region left out, naming its parameter and the fix. Sites in
   * such a region are Stalled (no platform) and the other regions go on.
   */
  problems: CloudError[];
}

/**
 * Reads the platform from SSM: one GetParameters call per region, the
 * control region's also fetching the settings and the secret. Throws when the
 * settings or the secret cannot be had, since no site can be reconciled then.
 */
export async function loadPlatform(
  source: PlatformSource,
  options: LoadPlatformOptions,
): Promise<PlatformLoad> {
  const regions = [...new Set(options.regions)];
  const control = options.controlRegion;
  const globals = [SETTINGS_PARAMETER, ORIGIN_SECRET_PARAMETER];
  const lookups = new Set([control, ...regions]);
  const answers = new Map(
    await Promise.all(
      [...lookups].map(async (region) => {
        const names = [
          ...(regions.includes(region) ? [regionParameter(region)] : []),
          ...(region === control ? globals : []),
        ];
        return [region, await getParameters(source.ssm(region), region, names)] as const;
      }),
    ),
  );

  const controlAnswer = answers.get(control)!;
  if (controlAnswer instanceof CloudError) throw controlAnswer;
  const settings = parseJson(controlAnswer, SETTINGS_PARAMETER, control, SettingsSchema, globalFix(control));
  if (settings instanceof CloudError) throw settings;
  const secret = controlAnswer.get(ORIGIN_SECRET_PARAMETER)?.Value;
  if (secret === undefined || secret === '')
    throw missing(ORIGIN_SECRET_PARAMETER, control, globalFix(control));

  const problems: CloudError[] = [];
  const platformRegions: Record<string, RegionPlatform> = {};
  for (const region of regions) {
    const answer = answers.get(region)!;
    if (answer instanceof CloudError) {
      problems.push(answer);
      continue;
    }
    const parsed = parseJson(
      answer,
      regionParameter(region),
      region,
      RegionPlatformSchema,
      regionFix(region),
    );
    if (parsed instanceof CloudError) problems.push(parsed);
    else if (parsed.region !== region)
      problems.push(
        new CloudError(
          'Invalid',
          regionParameter(region),
          `SSM parameter ${regionParameter(region)} in ${region}: field region is "${parsed.region}" but the parameter is for ${region}; ${regionFix(region)}`,
        ),
      );
    else platformRegions[region] = parsed;
  }
  return {
    platform: { regions: platformRegions, ...settings, originSecret: secret },
    problems,
  };
}

/**
 * A platform from a local JSON file, for development (`--platform <file>`):
 * `{ originHeaderName, originProtocol, originSecret, regions: { <region>: RegionPlatform } }`.
 */
export function platformFromFile(file: string): Platform {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new CloudError('Invalid', file, `cannot read the platform file ${file}: ${reason}`);
  }
  const parsed = PlatformFileSchema.safeParse(document);
  if (!parsed.success) {
    throw new CloudError(
      'Invalid',
      file,
      `platform file ${file} is invalid: ${describeIssues(parsed.error)}`,
    );
  }
  for (const [key, region] of Object.entries(parsed.data.regions)) {
    if (region.region !== key)
      throw new CloudError(
        'Invalid',
        file,
        `platform file ${file} is invalid: regions.${key}.region is "${region.region}"; it must be "${key}"`,
      );
  }
  return parsed.data;
}

async function getParameters(
  ssm: SSMClient,
  region: string,
  names: readonly string[],
): Promise<Map<string, Parameter> | CloudError> {
  try {
    const answer = await ssm.send(new GetParametersCommand({ Names: [...names], WithDecryption: true }));
    return new Map((answer.Parameters ?? []).map((p) => [p.Name ?? '', p]));
  } catch (error) {
    return fromAwsError(error, 'ssm', 'GetParameters', `${names.join(', ')} in ${region}`);
  }
}

function parseJson<T>(
  answer: Map<string, Parameter>,
  name: string,
  region: string,
  schema: z.ZodType<T>,
  fix: string,
): T | CloudError {
  const value = answer.get(name)?.Value;
  if (value === undefined) return missing(name, region, fix);
  let document: unknown;
  try {
    document = JSON.parse(value) as unknown;
  } catch (error) {
    return new CloudError(
      'Invalid',
      name,
      `SSM parameter ${name} in ${region} is not valid JSON (${(error as Error).message}); ${fix}`,
    );
  }
  const parsed = schema.safeParse(document);
  if (parsed.success) return parsed.data;
  return new CloudError(
    'Invalid',
    name,
    `SSM parameter ${name} in ${region} is malformed: ${describeIssues(parsed.error)}; ${fix}`,
  );
}

function missing(name: string, region: string, fix: string): CloudError {
  return new CloudError('NotFound', name, `SSM parameter ${name} was not found in ${region}; ${fix}`);
}

function regionFix(region: string): string {
  return `deploy the tandem bootstrap in ${region} (it writes this parameter), or remove ${region} from TANDEM_REGIONS`;
}

function globalFix(region: string): string {
  return `deploy the tandem bootstrap's control stack in ${region} (it writes this parameter)`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? 'the document' : issue.path.join('.')} ${issue.message}`)
    .join('; ');
}
