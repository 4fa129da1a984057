import type { Platform, RegionPlatform } from '../model/platform.ts';
import { MAX_IMAGE_REFERENCE, type Site } from '../spec/schema.ts';

/**
 * The image each region's tasks pull. A region's task execution role may pull
 * only from its own account's ECR repositories in its own region
 * (bootstrap/platform-stack.ts), and private tasks (`assignPublicIp` false)
 * reach no registry but that one, through the region's VPC endpoints. The
 * bootstrap replicates the primary's registry to every region, so:
 *
 * - this account's private ECR is pulled from each region's own copy of the
 *   repository: `<account>.dkr.ecr.<region>.<suffix>/<repo>`. That holds for a
 *   reference to any region's registry of this account, not only the
 *   primary's: the region in it says only where the person pushed, no region
 *   can pull another region's copy anyway, and a spec whose roles are swapped
 *   during an outage (eu-west-1 made primary) must not stall because it still
 *   names us-east-1's registry. An image pushed only to a registry that
 *   replication does not copy from is then missing elsewhere; the reconciler
 *   cannot see a registry's contents, so docs/bootstrap.md says where to push.
 * - another account's (or partition's) ECR cannot be pulled: a problem.
 * - any other registry (public.ecr.aws, Docker Hub, ghcr.io, …) is pulled as
 *   written over the internet, which only tasks with public IPs reach.
 *
 * A digest cannot be named today: the spec's tag admits no `@sha256:` and its
 * repository no `@`, so the reference stays `<repository>:<tag>`.
 */

/** Why one region's tasks cannot pull a site's image; the site is Stalled with it. */
export interface ImageProblem {
  reason: 'ImageNotPullable';
  region: string;
  /** Which registry, why that region cannot pull from it, and what to do. */
  message: string;
}

export type RegionImage = { ok: true; image: string } | { ok: false; problem: ImageProblem };

/** An image as the spec names it. */
export interface ImageName {
  repository: string;
  tag: string;
}

/** `<account>.dkr.ecr.<region>.<suffix>`: a private ECR registry's standard endpoint. */
const ECR_REGISTRY = /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(amazonaws\.com(?:\.cn)?)$/;
/** ECR's FIPS and dual-stack endpoints; private tasks reach neither through the VPC endpoints. */
const OTHER_ECR_ENDPOINT = /^(\d{12})\.dkr(?:-ecr|\.ecr-fips)/;
/** `arn:<partition>:iam::<account>:role/…` */
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):/;
/** ECR's DNS suffix in each partition tandem knows. */
const ECR_SUFFIX: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-us-gov': 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
};
const DOCKER_HUB = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** The reference `where`'s tasks pull for `image`, or why they cannot pull it. Pure. */
export function regionImage(image: ImageName, where: RegionPlatform, primaryRegion: string): RegionImage {
  const { host, path } = splitRegistry(image.repository);
  const problem = (why: string): RegionImage => ({
    ok: false,
    problem: {
      reason: 'ImageNotPullable',
      region: where.region,
      message: `${where.region} cannot pull ${image.repository}: ${why}`,
    },
  });
  const ecr = ECR_REGISTRY.exec(host);
  const isEcr = ecr !== null || OTHER_ECR_ENDPOINT.test(host);
  if (!isEcr && where.assignPublicIp) return { ok: true, image: `${image.repository}:${image.tag}` };

  const own = ownRegistry(where);
  if (typeof own === 'string') return problem(own);
  // Docker Hub's official images live under library/; a copy is better named without it.
  const copy = copyAdvice(
    own,
    where.region,
    primaryRegion,
    DOCKER_HUB.has(host) ? path.replace(/^library\//, '') : path,
  );
  if (!isEcr) {
    return problem(
      `it is on ${registryName(host)}, and ${where.region}'s tasks run in private subnets that reach only ` +
        `${where.region}'s own ECR through VPC endpoints, not the internet; ${copy}`,
    );
  }
  if (ecr === null) {
    return problem(
      `it names a FIPS or dual-stack ECR endpoint; tandem rewrites an ECR image to each region's own registry ` +
        `only when it is named by the standard endpoint (<account>.dkr.ecr.<region>.${own.suffix}), the one ` +
        `private tasks reach through VPC endpoints; name it so`,
    );
  }
  const [, account = '', region = '', suffix = ''] = ecr;
  const partition = suffix.endsWith('.cn') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  if (partition !== own.partition) {
    return problem(
      `it is in the ${partition} partition's ECR and ${where.region} is in ${own.partition}; ` +
        `no role in one partition can pull from another's; ${copy}`,
    );
  }
  if (account !== own.account) {
    return problem(
      `it is in account ${account}'s ECR, and ${where.region}'s task execution role (${where.executionRoleArn}) ` +
        `may pull only from account ${own.account}'s repositories in ${where.region}; ${copy}`,
    );
  }
  const reference = `${own.host}/${path}:${image.tag}`;
  // The spec's reference fits ECS's limit; this region's registry name may be longer than the one it names.
  if (reference.length > MAX_IMAGE_REFERENCE) {
    return problem(
      `its reference in ${where.region}'s own registry, ${reference}, is ${reference.length} characters and ECS allows ${MAX_IMAGE_REFERENCE}; shorten the repository or the tag`,
    );
  }
  return { ok: true, image: reference };
}

/** Every region of the spec whose tasks cannot pull its image (regions without a platform are skipped). */
export function imageProblems(site: Site, platform: Platform): ImageProblem[] {
  const primary = primaryRegion(site);
  return site.spec.regions.flatMap((region) => {
    const where = platform.regions[region.name];
    if (where === undefined) return [];
    const pulled = regionImage(site.spec.image, where, primary);
    return pulled.ok ? [] : [pulled.problem];
  });
}

/** The site's Stalled reason when some region cannot pull its image; undefined when all can. */
export function imageStall(
  site: Site,
  platform: Platform,
): { reason: 'ImageNotPullable'; message: string } | undefined {
  const problems = imageProblems(site, platform);
  if (problems.length === 0) return undefined;
  return { reason: 'ImageNotPullable', message: problems.map((p) => p.message).join('; ') };
}

export function primaryRegion(site: Site): string {
  const { regions } = site.spec;
  return (regions.find((r) => r.role === 'primary') ?? regions[0]!).name;
}

/**
 * Docker's rule: the first path component is a registry host when it has a
 * `.` or a `:` or is `localhost`; otherwise the image is on Docker Hub.
 */
function splitRegistry(repository: string): { host: string; path: string } {
  const slash = repository.indexOf('/');
  const first = slash < 0 ? '' : repository.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost')
    return { host: first.toLowerCase(), path: repository.slice(slash + 1) };
  return { host: 'docker.io', path: repository };
}

function registryName(host: string): string {
  return DOCKER_HUB.has(host) ? 'Docker Hub' : host;
}

interface OwnRegistry {
  account: string;
  partition: string;
  suffix: string;
  /** The region's own registry host. */
  host: string;
}

/** The registry `where`'s execution role may pull from, or why it cannot be named. */
function ownRegistry(where: RegionPlatform): OwnRegistry | string {
  const arn = ROLE_ARN.exec(where.executionRoleArn);
  if (arn === null) {
    return `the platform item of ${where.region} has executionRoleArn ${where.executionRoleArn}, which names no account (arn:<partition>:iam::<account>:role/<name>); deploy the bootstrap there again`;
  }
  const [, partition = '', account = ''] = arn;
  const suffix = ECR_SUFFIX[partition];
  if (suffix === undefined) {
    return `tandem knows ECR's registry names only in the ${Object.keys(ECR_SUFFIX).join(', ')} partitions, and ${where.region}'s execution role is in ${partition}`;
  }
  return { account, partition, suffix, host: registryHost(account, where.region, suffix) };
}

function registryHost(account: string, region: string, suffix: string): string {
  return `${account}.dkr.ecr.${region}.${suffix}`;
}

/** What to do: put the image where replication copies it to every region, and name it there. */
function copyAdvice(own: OwnRegistry, region: string, primary: string, repository: string): string {
  const source = `${registryHost(own.account, primary, own.suffix)}/${repository}`;
  const name = 'and name that repository in spec.image.repository';
  return region === primary
    ? `copy the image into ${source} ${name} (ECR replication copies it to the other regions)`
    : `copy the image into ${source}, which ECR replication copies to ${own.host}/${repository}, ${name}`;
}
