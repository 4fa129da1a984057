import { createHash } from 'node:crypto';

/** Names of what tandem creates for a site; one place, so planner and observer agree. */

export type Track = 'stable' | 'canary';
export const TRACKS: readonly Track[] = ['stable', 'canary'];

export function serviceName(site: string, track: Track): string {
  return `${site}-${track}`;
}

/**
 * ALB allows target group names of at most 32 characters; `-stable` and
 * `-canary` take 7, so site names have at most 25 (MAX_SITE_NAME in
 * spec/schema.ts). Every other name here allows far more.
 */
export function targetGroupName(site: string, track: Track): string {
  return `${site}-${track}`;
}

/** Every task definition family tandem registers starts with it (the reconciler's IAM names `tandem-*`). */
export const FAMILY_PREFIX = 'tandem-';
const DIGEST_LENGTH = 12;

/**
 * Task definitions are content-addressed: the family is named after a digest of
 * everything in it, so a service can name its family before it is registered and
 * a changed setting is a new family rather than a mutation.
 */
export function taskDefinitionFamily(site: string, content: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, DIGEST_LENGTH);
  return `${FAMILY_PREFIX}${site}-${digest}`;
}

/** The site a task definition family was named for, if tandem named it. */
export function siteOfFamily(family: string): string | undefined {
  const match = new RegExp(`^${FAMILY_PREFIX}(.+)-[0-9a-f]{${DIGEST_LENGTH}}$`).exec(family);
  return match?.[1];
}

export const TASK_DEFINITION_FAMILY_PREFIX = FAMILY_PREFIX;

export function distributionComment(site: string): string {
  return `tandem site ${site}`;
}

/** The origin header's value for a site; the listener rule matches exactly this. */
export function originHeaderValue(site: string, secret: string): string {
  return `${site}.${secret}`;
}

/** The site an origin header value was made for (site names hold no dot). */
export function siteOfHeaderValue(value: string): string {
  return value.split('.')[0]!;
}

/**
 * A short digest that names an origin secret in status without revealing it: status is read
 * by anyone who may describe a site, the secret only by the reconcilers. 48 bits of a SHA-256
 * digest of the bootstrap's 48-character random secret tell two secrets apart and say nothing
 * that would help guess one.
 */
export function secretFingerprint(secret: string): string {
  return createHash('sha256').update(`tandem origin secret\n${secret}`).digest('hex').slice(0, 12);
}

/** JSON with object keys sorted, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** CloudWatch's LoadBalancer dimension: `app/<name>/<id>` from the ARN. */
export function loadBalancerDimension(arn: string): string {
  return arnResource(arn).replace(/^loadbalancer\//, '');
}

/** CloudWatch's TargetGroup dimension: `targetgroup/<name>/<id>` from the ARN. */
export function targetGroupDimension(arn: string): string {
  return arnResource(arn);
}

function arnResource(arn: string): string {
  return arn.split(':').slice(5).join(':');
}
