import { readFileSync } from 'node:fs';
import {
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
import { CloudError } from '../../errors.ts';
import type { Platform, RegionPlatform } from '../../model/platform.ts';
import { issueKeys, issueMessage, objectOnly } from '../../spec/valibot.ts';
import { fromAwsError } from './errors.ts';

/**
 * Where the platform is. tandem's table is a global table with a replica in
 * every platform region, and the bootstrap writes the platform into it as
 * items (see docs/store.md):
 *
 * | pk         | sk         | `document` S holds (JSON)                              | written by                           |
 * | ---------- | ---------- | ------------------------------------------------------ | ------------------------------------ |
 * | `platform` | `<region>` | that region's `RegionPlatform`                         | the bootstrap's stack in that region |
 * | `platform` | `settings` | `{ originHeaderName, originProtocol, originSecretArn }` | the bootstrap's control stack        |
 *
 * Each regional stack writes its own item into its local replica, so no stack
 * reads another region's outputs (CloudFormation cross-region exports
 * deadlock on update: aws-cdk issues 27902, 34813). Each region's reconciler
 * reads them all with one Query of its own replica. The origin-header secret
 * stays in Secrets Manager, never in the table, replicated to every region:
 * the Lambda reads its own region's replica through the AWS Parameters and
 * Secrets Lambda Extension (no SDK client in its bundle), the CLI with the
 * Secrets Manager client, imported only on that path.
 */

export const PLATFORM_PARTITION = 'platform';
export const SETTINGS_SORT_KEY = 'settings';
/** The extension's port unless PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise. */
export const DEFAULT_EXTENSION_PORT = 2773;
const EXTENSION_TIMEOUT_MS = 10_000;

// A missing field is reported as "is required" and one of the wrong type as "must be a string" (`issueMessage`).
const text = v.pipe(v.string(), v.minLength(1, 'must not be empty'));
const matching = (pattern: RegExp, message: string) => v.pipe(text, v.regex(pattern, message));
const arn = (service: string) =>
  matching(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`);
const ids = (prefix: string) =>
  v.pipe(
    v.array(matching(new RegExp(`^${prefix}-`), `must be an id starting ${prefix}-`), 'must be a list'),
    v.minLength(1, 'must name at least one'),
  );

const RegionPlatformSchema = v.object({
  region: text,
  cluster: text,
  loadBalancerArn: arn('elasticloadbalancing'),
  loadBalancerDnsName: text,
  listenerArn: arn('elasticloadbalancing'),
  // Present once the region's HTTPS listener, certificate and port-443 rule exist (platform-stack.ts).
  httpsListenerArn: v.optional(arn('elasticloadbalancing')),
  httpsOriginName: v.optional(text),
  // Present once the region's failover records, health check and certificate exist (platform-stack.ts).
  failoverOriginName: v.optional(text),
  // The Route 53 health check behind that name: only the dashboard reads it.
  healthCheckId: v.optional(
    matching(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'must be a Route 53 health check id (a UUID)',
    ),
  ),
  vpcId: matching(/^vpc-/, 'must be a VPC id (vpc-…)'),
  subnets: ids('subnet'),
  securityGroups: ids('sg'),
  assignPublicIp: v.boolean('must be true or false'),
  executionRoleArn: arn('iam'),
  taskRoleArn: arn('iam'),
  logGroup: text,
});

const OriginSchema = v.object({
  // An HTTP header name (RFC 9110 token); CloudFront adds it to every origin request.
  originHeaderName: matching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
  originProtocol: v.picklist(['http-only', 'https-only'], 'must be "http-only" or "https-only"'),
});

const SettingsSchema = v.object({
  ...OriginSchema.entries,
  // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>: the primary's. Its replica in another
  // region has the same ARN but for the region (replicaSecretArn).
  originSecretArn: matching(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
    'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
  ),
});

const PlatformFileSchema = v.object({
  ...OriginSchema.entries,
  originSecret: text,
  regions: objectOnly(v.record(v.string(), RegionPlatformSchema, 'must be an object keyed by region')),
});

/** What GetSecretValue answers, through the extension or the SDK; only the string is used. */
const SecretValueSchema = v.looseObject(
  {
    SecretString: v.pipe(
      v.string('holds no SecretString: store the origin header value as the secret’s text'),
      v.minLength(1, 'is empty: store the origin header value as the secret’s text'),
    ),
  },
  // A missing SecretString is reported by the object: the same words.
  'holds no SecretString: store the origin header value as the secret’s text',
);

export interface PlatformClients {
  /** The DynamoDB client for a region: `AwsClients` is one. */
  dynamodb(region: string): DynamoDBClient;
}

export interface LoadPlatformOptions {
  clients: PlatformClients;
  /** tandem's table (TANDEM_TABLE). */
  tableName: string;
  /** The region whose replica of the table, and of the origin secret, is read (the reconciler's own). */
  region: string;
  /**
   * The regions sites may run in (TANDEM_REGIONS); each one without a good
   * item is a problem. Default: every region that has an item.
   */
  regions?: readonly string[];
  /**
   * How the origin secret is read: `extension` through the AWS Parameters and
   * Secrets Lambda Extension (the Lambda: localhost, port
   * PARAMETERS_SECRETS_EXTENSION_HTTP_PORT or 2773, token AWS_SESSION_TOKEN);
   * `sdk` with the Secrets Manager client, imported on first use (the CLI).
   */
  secret: 'extension' | 'sdk';
  /**
   * Called once for each region left out of the platform (its item missing
   * or malformed), with an error naming the item and the fix. Its sites are
   * Stalled (no platform) and the other regions go on.
   */
  onRegionProblem?: (region: string, error: CloudError) => void;
}

/**
 * Reads the platform: one Query of the `platform` partition in the control
 * region, then the origin secret the settings item names. Throws a
 * CloudError when the table, the settings or the secret cannot be had, since
 * no site can be reconciled then; a region whose item is missing or malformed
 * is left out and reported to `onRegionProblem`.
 */
export async function loadPlatform(options: LoadPlatformOptions): Promise<Platform> {
  const table = { name: options.tableName, region: options.region };
  const items = await queryPlatform(options.clients.dynamodb(table.region), table);

  const settings = readItem(
    items.get(SETTINGS_SORT_KEY),
    SETTINGS_SORT_KEY,
    table,
    SettingsSchema,
    settingsFix(table),
  );
  if (settings instanceof CloudError) throw settings;
  const secretArn = replicaSecretArn(settings.originSecretArn, table.region);
  const read = (stage: SecretStage) =>
    options.secret === 'extension'
      ? secretFromExtension(secretArn, stage, process.env)
      : secretFromSdk(secretArn, stage);
  const originSecret = (await read('AWSCURRENT'))!;
  const previousOriginSecret = await read('AWSPREVIOUS');

  const wanted = options.regions ?? [...items.keys()].filter((sk) => sk !== SETTINGS_SORT_KEY).sort();
  const regions: Record<string, RegionPlatform> = {};
  for (const region of new Set(wanted)) {
    const parsed = readItem(items.get(region), region, table, RegionPlatformSchema, regionFix(region));
    if (parsed instanceof CloudError) {
      options.onRegionProblem?.(region, parsed);
      continue;
    }
    const problems = regionProblems(parsed, region);
    if (problems.length > 0)
      options.onRegionProblem?.(
        region,
        new CloudError(
          'Invalid',
          itemResource(table, region),
          `${describeItem(table, region)}: ${problems.join('; ')}; ${regionFix(region)}`,
        ),
      );
    else regions[region] = parsed;
  }
  const { originHeaderName, originProtocol } = settings;
  return {
    regions,
    originHeaderName,
    originProtocol,
    originSecret,
    ...(previousOriginSecret === undefined || previousOriginSecret === originSecret
      ? {}
      : { previousOriginSecret }),
  };
}

/**
 * The names a region item may give the CDN as its origin: the ALB's own DNS
 * name (`<name>-<id>.<region>.elb.amazonaws.com`, `internal-` for an internal
 * one, `.cn` in China), or `origin-<region>.<domain>`, the name HTTPS origins
 * use (bootstrap/platform-stack.ts). Each captures the region it names.
 */
const ALB_DNS_NAME = /^(?:internal-)?[a-z0-9-]{1,32}-\d{1,20}\.([a-z0-9-]+)\.elb\.amazonaws\.com(?:\.cn)?$/i;
const ORIGIN_NAME = /^origin-([a-z0-9-]+)\.(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** `<region>.failover.<domain>` (model/dns-failover.ts): captures the region and the domain. */
const FAILOVER_NAME = /^([a-z0-9-]+)\.failover\.((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$/i;

/**
 * What in a well-formed region item does not belong to `region`. Every
 * distribution sends the origin header, secret and all, to the name the item
 * gives, so whoever could write the item could otherwise send it to any host:
 * the name must be an ALB's in this region (or this region's origin or failover name), and
 * the load balancer and listener this region's. Values are quoted as JSON, so
 * nothing in them reaches a terminal raw.
 */
function regionProblems(platform: RegionPlatform, region: string): string[] {
  const problems: string[] = [];
  if (platform.region !== region)
    problems.push(`field region is ${JSON.stringify(platform.region)} but the item is for ${region}`);
  const name = platform.loadBalancerDnsName;
  const named = ALB_DNS_NAME.exec(name) ?? (name.length <= 253 ? ORIGIN_NAME.exec(name) : null);
  if (named === null)
    problems.push(
      `field loadBalancerDnsName ${JSON.stringify(name)} is neither an ALB's DNS name (<name>-<id>.${region}.elb.amazonaws.com) nor origin-<region>.<domain>`,
    );
  else if (named[1]!.toLowerCase() !== region)
    problems.push(
      `field loadBalancerDnsName ${JSON.stringify(name)} names region ${named[1]!.toLowerCase()}, but the item is for ${region}`,
    );
  const httpsName = platform.httpsOriginName;
  if (httpsName !== undefined) {
    const named = httpsName.length <= 253 ? ORIGIN_NAME.exec(httpsName) : null;
    if (named === null)
      problems.push(`field httpsOriginName ${JSON.stringify(httpsName)} is not origin-<region>.<domain>`);
    else if (named[1]!.toLowerCase() !== region)
      problems.push(
        `field httpsOriginName ${JSON.stringify(httpsName)} names region ${named[1]!.toLowerCase()}, but the item is for ${region}`,
      );
  }
  const failoverName = platform.failoverOriginName;
  if (failoverName !== undefined) {
    const named = failoverName.length <= 253 ? FAILOVER_NAME.exec(failoverName) : null;
    const httpsDomain =
      httpsName === undefined ? undefined : /^origin-[a-z0-9-]+\.(.+)$/i.exec(httpsName)?.[1]?.toLowerCase();
    if (named === null)
      problems.push(
        `field failoverOriginName ${JSON.stringify(failoverName)} is not <region>.failover.<domain>`,
      );
    else if (named[1]!.toLowerCase() !== region)
      problems.push(
        `field failoverOriginName ${JSON.stringify(failoverName)} names region ${named[1]!.toLowerCase()}, but the item is for ${region}`,
      );
    else if (httpsDomain !== undefined && named[2]!.toLowerCase() !== httpsDomain)
      problems.push(
        `field failoverOriginName ${JSON.stringify(failoverName)} is not under ${JSON.stringify(httpsDomain)}, the domain of httpsOriginName`,
      );
  }
  for (const [field, resource] of [
    ['loadBalancerArn', 'loadbalancer/app/'],
    ['listenerArn', 'listener/app/'],
    ['httpsListenerArn', 'listener/app/'],
  ] as const) {
    const value = platform[field];
    if (value === undefined) continue;
    const [, , , arnRegion, , rest] = value.split(':');
    if (arnRegion !== region)
      problems.push(`field ${field} is in ${JSON.stringify(arnRegion ?? '')}, not ${region}`);
    else if (rest?.startsWith(resource) !== true)
      problems.push(`field ${field} is not an application load balancer's (${resource}…)`);
  }
  return problems;
}

/**
 * The secret's replica in `region`. Secrets Manager names a replica as it
 * names the primary secret, but for the region, so each region's reconciler
 * reads its own region's copy and needs no other region to start.
 */
export function replicaSecretArn(primaryArn: string, region: string): string {
  return primaryArn.replace(/^(arn:[^:]+:secretsmanager:)[^:]+:/, `$1${region}:`);
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
  const parsed = v.safeParse(PlatformFileSchema, document);
  if (!parsed.success) {
    throw new CloudError(
      'Invalid',
      file,
      `platform file ${file} is invalid: ${describeIssues(parsed.issues)}`,
    );
  }
  for (const [key, region] of Object.entries(parsed.output.regions)) {
    if (region.region !== key)
      throw new CloudError(
        'Invalid',
        file,
        `platform file ${file} is invalid: regions.${key}.region is "${region.region}"; it must be "${key}"`,
      );
  }
  return parsed.output;
}

// ----- the table -----

interface Table {
  name: string;
  region: string;
}

type Item = Record<string, AttributeValue>;

/** Every item of the `platform` partition, by sort key. */
async function queryPlatform(dynamodb: DynamoDBClient, table: Table): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  let start: Item | undefined;
  do {
    let page: QueryCommandOutput;
    try {
      page = await dynamodb.send(
        new QueryCommand({
          TableName: table.name,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: PLATFORM_PARTITION } },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
    } catch (error) {
      throw fromAwsError(
        error,
        'dynamodb',
        'Query',
        `table ${table.name} in ${table.region} (${PLATFORM_PARTITION} items)`,
      );
    }
    for (const item of page.Items ?? []) {
      const sk = item['sk']?.S;
      if (sk !== undefined) items.set(sk, item);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** An item's `document`: a string attribute holding JSON that `schema` accepts. */
function readItem<T>(
  item: Item | undefined,
  sk: string,
  table: Table,
  schema: v.GenericSchema<unknown, T>,
  fix: string,
): T | CloudError {
  const resource = itemResource(table, sk);
  const what = describeItem(table, sk);
  if (item === undefined)
    return new CloudError(
      'NotFound',
      resource,
      `item pk=${PLATFORM_PARTITION} sk=${sk} was not found in table ${table.name} in ${table.region}; ${fix}`,
    );
  const attribute = item['document'];
  if (attribute?.S === undefined)
    return new CloudError(
      'Invalid',
      resource,
      `${what}: field document must be a string (S) holding JSON (found ${describeAttribute(attribute)}); ${fix}`,
    );
  let document: unknown;
  try {
    document = JSON.parse(attribute.S) as unknown;
  } catch (error) {
    return new CloudError(
      'Invalid',
      resource,
      `${what}: field document is not valid JSON (${(error as Error).message}); ${fix}`,
    );
  }
  const parsed = v.safeParse(schema, document);
  if (parsed.success) return parsed.output;
  return new CloudError(
    'Invalid',
    resource,
    `${what}: field document is malformed: ${describeIssues(parsed.issues)}; ${fix}`,
  );
}

function itemResource(table: Table, sk: string): string {
  return `${table.name}/${PLATFORM_PARTITION}/${sk}`;
}

function describeItem(table: Table, sk: string): string {
  return `item pk=${PLATFORM_PARTITION} sk=${sk} in table ${table.name} in ${table.region}`;
}

function describeAttribute(attribute: AttributeValue | undefined): string {
  if (attribute === undefined) return 'nothing';
  const type = Object.keys(attribute).find((k) => k !== '$unknown') ?? 'unknown';
  return `a ${type} attribute`;
}

function regionFix(region: string): string {
  return `deploy the tandem bootstrap in ${region} (its stack writes this item), or remove ${region} from TANDEM_REGIONS`;
}

function settingsFix(table: Table): string {
  return `deploy the tandem bootstrap's control stack in ${table.region} (it writes this item)`;
}

// ----- the origin secret -----

/**
 * The versions of the secret read: the one distributions send, and the one before the last
 * rotation, which rules accept until every distribution sends the new one
 * (decide/origin-secret.ts). A secret never rotated has no AWSPREVIOUS.
 */
type SecretStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * The secret through the AWS Parameters and Secrets Lambda Extension: a GET
 * to localhost, authenticated with the function's session token. The
 * extension caches it (5 minutes by default), so most reads never leave the
 * execution environment.
 */
async function secretFromExtension(
  secretArn: string,
  stage: SecretStage,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  const portSetting = env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT']?.trim();
  const port = portSetting === undefined || portSetting === '' ? DEFAULT_EXTENSION_PORT : Number(portSetting);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new CloudError(
      'Invalid',
      'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
      `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is "${portSetting}": it must be a port number (the extension's default is ${DEFAULT_EXTENSION_PORT})`,
    );
  const token = env['AWS_SESSION_TOKEN'];
  if (token === undefined || token === '')
    throw new CloudError(
      'Invalid',
      secretArn,
      `cannot read the origin secret ${secretArn} through the AWS Parameters and Secrets Lambda Extension: AWS_SESSION_TOKEN is not set (outside Lambda, read it with the SDK)`,
    );
  const extension = `the AWS Parameters and Secrets Lambda Extension on localhost:${port}`;
  let response: Response;
  let body: string;
  try {
    response = await fetch(
      `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}&versionStage=${stage}`,
      {
        headers: { 'X-Aws-Parameters-Secrets-Token': token },
        signal: AbortSignal.timeout(EXTENSION_TIMEOUT_MS),
      },
    );
    body = await response.text();
  } catch (error) {
    const cause = error as Error & { cause?: { code?: string } };
    const reason = cause.cause?.code ?? (cause.name === 'TimeoutError' ? 'timed out' : cause.message);
    throw new CloudError(
      'Unavailable',
      secretArn,
      `cannot read the origin secret ${secretArn}: ${extension} did not answer (${reason}); add the extension's layer to the reconciler Lambda`,
      { cause: error },
    );
  }
  if (!response.ok) {
    // The extension passes Secrets Manager's error on in the body, e.g. "ResourceNotFoundException: …".
    const detail = body.trim().slice(0, 300) || response.statusText;
    const name = /\b([A-Z][A-Za-z]+(?:Exception|Error))\b/.exec(detail)?.[1] ?? `HTTP ${response.status}`;
    if (stage === 'AWSPREVIOUS' && name === 'ResourceNotFoundException') return undefined;
    throw secretError(
      {
        name,
        message: detail,
        $fault: response.status >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode: response.status },
      },
      secretArn,
      ` through ${extension}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(body) as unknown;
  } catch {
    throw new CloudError(
      'Unavailable',
      secretArn,
      `cannot read the origin secret ${secretArn}: ${extension} answered something other than JSON`,
    );
  }
  return secretString(answer, secretArn);
}

/** The secret with the Secrets Manager client (the CLI's path), in the secret's own region. */
async function secretFromSdk(secretArn: string, stage: SecretStage): Promise<string | undefined> {
  // Imported here, not at the top: the Lambda's bundle leaves this package out (controller/lambda/bundle.ts).
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({
    region: secretArn.split(':')[3]!,
    maxAttempts: 5,
    retryMode: 'adaptive',
  });
  try {
    return secretString(
      await client.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: stage })),
      secretArn,
    );
  } catch (error) {
    // Only a secret rotated at least once has an AWSPREVIOUS; the secret itself was found reading AWSCURRENT.
    if (stage === 'AWSPREVIOUS' && (error as { name?: unknown }).name === 'ResourceNotFoundException')
      return undefined;
    throw secretError(error, secretArn, '');
  } finally {
    client.destroy();
  }
}

/** The secret's text, checked; never part of a message. */
function secretString(answer: unknown, secretArn: string): string {
  const parsed = v.safeParse(SecretValueSchema, answer);
  if (parsed.success) return parsed.output.SecretString;
  throw new CloudError('Invalid', secretArn, `the origin secret ${secretArn} ${parsed.issues[0].message}`);
}

function secretError(error: unknown, secretArn: string, how: string): CloudError {
  if (error instanceof CloudError) return error;
  const e = fromAwsError(error, 'secretsmanager', 'GetSecretValue', secretArn);
  return new CloudError(
    e.kind,
    secretArn,
    `cannot read the origin secret ${secretArn} (named by item pk=${PLATFORM_PARTITION} sk=${SETTINGS_SORT_KEY})${how}: ${e.message}`,
    { cause: error },
  );
}

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => {
      const keys = issueKeys(issue);
      return `${keys.length === 0 ? 'the document' : keys.join('.')} ${issueMessage(issue)}`;
    })
    .join('; ');
}
