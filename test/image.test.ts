import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Platform, RegionPlatform } from '../controller/model/platform.ts';
import { siteTaskDefinitions } from '../controller/plan/desired.ts';
import { imageProblems, imageStall, primaryRegion, regionImage } from '../controller/plan/image.ts';
import { simPlatform } from '../controller/providers/sim/world.ts';
import { validateSite } from '../controller/spec/validate.ts';
import {
  assertWorldMatches,
  cloudWrites,
  converge,
  demoDocument,
  newSim,
  pass,
  siteView,
  storeSpec,
  valid,
} from './support/world.ts';

const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';
const PRIMARY = 'us-east-1';
const ecr = (region: string, repository: string, suffix = 'amazonaws.com') =>
  `${ACCOUNT}.dkr.ecr.${region}.${suffix}/${repository}`;

/** A region's platform as the bootstrap writes it, in `ACCOUNT` unless the role ARN says otherwise. */
function where(
  region: string,
  options: { privateTasks?: boolean; executionRoleArn?: string } = {},
): RegionPlatform {
  return {
    ...simPlatform([region]).regions[region]!,
    assignPublicIp: !(options.privateTasks ?? false),
    executionRoleArn:
      options.executionRoleArn ?? `arn:aws:iam::${ACCOUNT}:role/tandem-task-execution-${region}`,
  };
}

function pulled(repository: string, region: RegionPlatform, tag = 'v1'): string {
  const result = regionImage({ repository, tag }, region, PRIMARY);
  assert.ok(
    result.ok,
    `expected ${repository} to be pullable in ${region.region}: ${JSON.stringify(result)}`,
  );
  return result.image;
}

function refused(repository: string, region: RegionPlatform): string {
  const result = regionImage({ repository, tag: 'v1' }, region, PRIMARY);
  assert.ok(
    !result.ok,
    `expected ${repository} to be refused in ${region.region}, got ${JSON.stringify(result)}`,
  );
  assert.equal(result.problem.reason, 'ImageNotPullable');
  assert.equal(result.problem.region, region.region);
  assert.ok(
    result.problem.message.startsWith(`${region.region} cannot pull ${repository}: `),
    result.problem.message,
  );
  return result.problem.message;
}

// ----- this account's private ECR -----

const OWN_ECR: [what: string, repository: string, region: string, expected: string][] = [
  ['the primary’s registry, in the primary', ecr(PRIMARY, 'shop'), PRIMARY, ecr(PRIMARY, 'shop:v1')],
  [
    'the primary’s registry, in a failover region',
    ecr(PRIMARY, 'shop'),
    'eu-west-1',
    ecr('eu-west-1', 'shop:v1'),
  ],
  ['a nested repository', ecr(PRIMARY, 'team/shop/web'), 'ap-south-1', ecr('ap-south-1', 'team/shop/web:v1')],
  [
    'another region’s registry of this account, in the primary',
    ecr('eu-west-1', 'shop'),
    PRIMARY,
    ecr(PRIMARY, 'shop:v1'),
  ],
  [
    'a registry host in capitals',
    `${ACCOUNT}.DKR.ECR.US-EAST-1.AMAZONAWS.COM/shop`,
    'eu-west-1',
    ecr('eu-west-1', 'shop:v1'),
  ],
];

for (const privateTasks of [false, true]) {
  const tasks = privateTasks ? 'private tasks' : 'tasks with public IPs';
  for (const [what, repository, region, expected] of OWN_ECR) {
    test(`this account's ECR (${what}) is pulled from the region's own registry, with ${tasks}`, () => {
      assert.equal(pulled(repository, where(region, { privateTasks })), expected);
    });
  }
}

test('the canary tag is pulled from the same rewritten repository', () => {
  assert.equal(pulled(ecr(PRIMARY, 'shop'), where('eu-west-1'), 'v2'), ecr('eu-west-1', 'shop:v2'));
});

test('another partition’s registries use that partition’s ECR DNS suffix', () => {
  const china = (region: string) => where(region, { executionRoleArn: `arn:aws-cn:iam::${ACCOUNT}:role/x` });
  assert.equal(
    pulled(ecr('cn-north-1', 'shop', 'amazonaws.com.cn'), china('cn-northwest-1')),
    ecr('cn-northwest-1', 'shop:v1', 'amazonaws.com.cn'),
  );
  const gov = where('us-gov-east-1', { executionRoleArn: `arn:aws-us-gov:iam::${ACCOUNT}:role/x` });
  assert.equal(pulled(ecr('us-gov-west-1', 'shop'), gov), ecr('us-gov-east-1', 'shop:v1'));
});

// ----- ECR that a region cannot pull from -----

test('another account’s ECR is refused in every region: the execution role pulls only its own account’s', () => {
  for (const privateTasks of [false, true]) {
    const region = where('eu-west-1', { privateTasks });
    const message = refused(`${OTHER_ACCOUNT}.dkr.ecr.${PRIMARY}.amazonaws.com/shop`, region);
    assert.match(message, new RegExp(`account ${OTHER_ACCOUNT}'s ECR`));
    assert.match(message, new RegExp(`only from account ${ACCOUNT}'s repositories`));
    assert.ok(message.includes(region.executionRoleArn), 'names the role');
    assert.ok(
      message.includes(
        `copy the image into ${ecr(PRIMARY, 'shop')}, which ECR replication copies to ${ecr('eu-west-1', 'shop')}`,
      ),
      message,
    );
  }
});

test('an ECR image whose reference grows past ECS’s 255 characters in a region’s own registry is refused there', () => {
  // us-east-1 to ap-southeast-1 adds 5 characters: 250 in the spec, 255 in ap-southeast-1, 256 in ap-southeast-2's twin.
  const repository = ecr(PRIMARY, 'a'.repeat(250 - ecr(PRIMARY, '').length - ':v1'.length));
  assert.equal(`${repository}:v1`.length, 250);
  assert.equal(pulled(repository, where('ap-southeast-1')).length, 255);
  const tagged = regionImage({ repository, tag: 'v12' }, where('ap-southeast-1'), PRIMARY);
  assert.ok(!tagged.ok);
  assert.match(
    tagged.problem.message,
    /is 256 characters and ECS allows 255; shorten the repository or the tag$/,
  );
});

test('an ECR image in another partition is refused, naming both partitions', () => {
  const message = refused(ecr('cn-north-1', 'shop', 'amazonaws.com.cn'), where('eu-west-1'));
  assert.match(message, /aws-cn partition's ECR and eu-west-1 is in aws;/);
});

test('a region whose execution role is in a partition tandem does not know is refused for ECR images', () => {
  const iso = where('us-iso-east-1', { executionRoleArn: `arn:aws-iso:iam::${ACCOUNT}:role/x` });
  assert.match(
    refused(ecr('us-iso-east-1', 'shop', 'amazonaws.com'), iso),
    /only in the aws, aws-us-gov, aws-cn partitions.*aws-iso/,
  );
});

test('a platform whose execution role ARN names no account is refused for ECR images, naming the item', () => {
  const broken = where('eu-west-1', { executionRoleArn: 'arn:aws:iam::role/x' });
  assert.match(
    refused(ecr(PRIMARY, 'shop'), broken),
    /platform item of eu-west-1 has executionRoleArn arn:aws:iam::role\/x/,
  );
});

test('ECR’s FIPS and dual-stack endpoints are refused with the standard endpoint to name instead', () => {
  for (const host of [
    `${ACCOUNT}.dkr.ecr-fips.${PRIMARY}.amazonaws.com`,
    `${ACCOUNT}.dkr-ecr.${PRIMARY}.on.aws`,
    `${ACCOUNT}.dkr-ecr-fips.${PRIMARY}.on.aws`,
  ]) {
    assert.match(
      refused(`${host}/shop`, where(PRIMARY)),
      /standard endpoint \(<account>\.dkr\.ecr\.<region>\.amazonaws\.com\)/,
    );
  }
});

// ----- registries on the internet -----

const INTERNET: [what: string, repository: string, registry: string, copyAs: string][] = [
  ['public ECR', 'public.ecr.aws/tandem/site', 'public.ecr.aws', 'tandem/site'],
  ['Docker Hub, an official image by its short name', 'nginx', 'Docker Hub', 'nginx'],
  ['Docker Hub, library/', 'library/nginx', 'Docker Hub', 'nginx'],
  ['Docker Hub, a user’s image', 'acme/site', 'Docker Hub', 'acme/site'],
  ['Docker Hub as docker.io', 'docker.io/library/nginx', 'Docker Hub', 'nginx'],
  ['Docker Hub as registry-1.docker.io', 'registry-1.docker.io/acme/site', 'Docker Hub', 'acme/site'],
  ['Docker Hub as index.docker.io', 'index.docker.io/acme/site', 'Docker Hub', 'acme/site'],
  ['GitHub’s registry', 'ghcr.io/acme/site', 'ghcr.io', 'acme/site'],
  ['quay.io', 'quay.io/acme/site', 'quay.io', 'acme/site'],
  ['a registry with a port', 'registry.example.com:5000/site', 'registry.example.com:5000', 'site'],
  [
    'an ECR-looking host outside AWS',
    `${ACCOUNT}.dkr.ecr.${PRIMARY}.example.com/shop`,
    `${ACCOUNT}.dkr.ecr.${PRIMARY}.example.com`,
    'shop',
  ],
];

for (const [what, repository] of INTERNET) {
  test(`${what} is pulled as written by tasks with public IPs`, () => {
    assert.equal(pulled(repository, where('eu-west-1')), `${repository}:v1`);
  });
}

for (const [what, repository, registry, copyAs] of INTERNET) {
  test(`${what} is refused for private tasks, naming the registry and where to copy the image`, () => {
    const message = refused(repository, where('eu-west-1', { privateTasks: true }));
    assert.ok(
      message.includes(`it is on ${registry}, and eu-west-1's tasks run in private subnets`),
      message,
    );
    assert.ok(
      message.endsWith(
        `copy the image into ${ecr(PRIMARY, copyAs)}, which ECR replication copies to ${ecr('eu-west-1', copyAs)}, and name that repository in spec.image.repository`,
      ),
      message,
    );
  });
}

test('in the primary, the advice is to copy into its own registry, which replication copies onwards', () => {
  const message = refused('nginx', where(PRIMARY, { privateTasks: true }));
  assert.ok(
    message.endsWith(
      `copy the image into ${ecr(PRIMARY, 'nginx')} and name that repository in spec.image.repository (ECR replication copies it to the other regions)`,
    ),
    message,
  );
});

// ----- digests -----

test('a digest cannot be named in the spec today, neither as the tag nor in the repository', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const tagged = demoDocument();
  tagged.spec.image.tag = digest;
  const inRepository = demoDocument();
  inRepository.spec.image.repository = `public.ecr.aws/tandem/site@${digest}`;
  for (const [document, field] of [
    [tagged, 'spec.image.tag'],
    [inRepository, 'spec.image.repository'],
  ] as const) {
    const result = validateSite(document);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => p.field),
      [field],
    );
  }
});

// ----- a site's regions -----

/** The simulated platform with `privateRegions` holding private tasks. */
function platformWith(regions: readonly string[], privateRegions: readonly string[]): Platform {
  const base = simPlatform(regions);
  return {
    ...base,
    regions: Object.fromEntries(
      Object.entries(base.regions).map(([name, r]) => [
        name,
        { ...r, assignPublicIp: !privateRegions.includes(name) },
      ]),
    ),
  };
}

test('a site’s image problems are one per region that cannot pull it', () => {
  const site = valid(demoDocument());
  const problems = imageProblems(site, platformWith([PRIMARY, 'eu-west-1'], ['eu-west-1']));
  assert.deepEqual(
    problems.map((p) => [p.reason, p.region]),
    [['ImageNotPullable', 'eu-west-1']],
  );
  assert.deepEqual(imageProblems(site, platformWith([PRIMARY, 'eu-west-1'], [])), []);
});

// ----- the reconciler -----

const SIM_ACCOUNT_ECR = (region: string) => `000000000000.dkr.ecr.${region}.amazonaws.com/tandem/site`;

test('a site whose image a region cannot pull is Stalled with ImageNotPullable and nothing is created for it', async () => {
  const sim = newSim({ platform: platformWith([PRIMARY, 'eu-west-1'], ['eu-west-1']) });
  await storeSpec(sim, demoDocument()); // public.ecr.aws/tandem/site
  await pass(sim);
  const stalled = siteView(sim, 'demo')!.conditions.Stalled!;
  assert.equal(stalled.status, 'True');
  assert.equal(stalled.reason, 'ImageNotPullable');
  assert.match(stalled.message, /(^|: )eu-west-1 cannot pull public\.ecr\.aws\/tandem\/site: /);
  assert.equal(cloudWrites(sim), 0);
});

test('a running site whose spec turns to an image a region cannot pull keeps running what it ran', async () => {
  const sim = newSim({ platform: platformWith([PRIMARY, 'eu-west-1'], ['eu-west-1']) });
  const document = demoDocument();
  document.spec.image.repository = SIM_ACCOUNT_ECR(PRIMARY);
  await storeSpec(sim, document);
  await converge(sim);
  const before = sim.snapshot();

  const edited = demoDocument();
  edited.spec.image.tag = 'v3';
  await storeSpec(sim, edited);
  sim.resetCalls();
  await pass(sim);
  assert.equal(siteView(sim, 'demo')!.conditions.Stalled?.reason, 'ImageNotPullable');
  assert.equal(cloudWrites(sim), 0);
  assert.deepEqual(sim.snapshot(), before);
});

test('an image in the primary’s ECR runs in each region from that region’s own registry', async () => {
  const sim = newSim({ platform: platformWith([PRIMARY, 'eu-west-1'], ['eu-west-1']) });
  const document = demoDocument();
  document.spec.image.repository = SIM_ACCOUNT_ECR(PRIMARY);
  await storeSpec(sim, document);
  await converge(sim);
  assertWorldMatches(sim, valid(document), {
    [PRIMARY]: '000000000000.dkr.ecr.us-east-1.amazonaws.com/tandem/site',
    'eu-west-1': '000000000000.dkr.ecr.eu-west-1.amazonaws.com/tandem/site',
  });
  assert.equal(siteView(sim, 'demo')!.conditions.Stalled?.status ?? 'False', 'False');
});

test('a region without a platform has no image problem: the site stalls for the missing platform instead', () => {
  const site = valid(demoDocument());
  // eu-west-1 has no platform item; us-east-1's private tasks cannot reach public.ecr.aws.
  const problems = imageProblems(site, platformWith([PRIMARY], [PRIMARY]));
  assert.deepEqual(
    problems.map((p) => [p.reason, p.region]),
    [['ImageNotPullable', PRIMARY]],
  );
  assert.deepEqual(imageProblems(site, platformWith([PRIMARY], [])), []);
});

test('planning a region that has no platform, or an image it cannot pull, is a bug the callers check for first', () => {
  const site = valid(demoDocument());
  assert.throws(
    () => siteTaskDefinitions(site, platformWith([PRIMARY], [])),
    /^Error: no platform in eu-west-1; check regionsWithoutPlatform first$/,
  );
  assert.throws(
    () => siteTaskDefinitions(site, platformWith([PRIMARY, 'eu-west-1'], ['eu-west-1'])),
    /^Error: eu-west-1 cannot pull public\.ecr\.aws\/tandem\/site: .*; check imageStall first$/,
  );
});

test('only a whole registry host is ECR’s: hosts that merely contain an ECR name are other registries, pulled as written', () => {
  const lookalikes = [
    `mirror.${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop`,
    `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.example.net/shop`,
    `mirror.${ACCOUNT}.dkr-ecr.us-east-1.on.aws/shop`,
  ];
  for (const repository of lookalikes) {
    assert.equal(pulled(repository, where('eu-west-1')), `${repository}:v1`, repository);
  }
  // A region name with a two-digit number is still a region.
  assert.equal(
    pulled(`${ACCOUNT}.dkr.ecr.us-east-12.amazonaws.com/shop`, where('eu-west-1')),
    ecr('eu-west-1', 'shop:v1'),
  );
});

test('an execution role ARN is read from its start: one with a prefix names no account', () => {
  const message = refused(
    ecr(PRIMARY, 'shop'),
    where(PRIMARY, { executionRoleArn: `x-arn:aws:iam::${ACCOUNT}:role/r` }),
  );
  assert.match(message, /names no account/);
});

test('each of Docker Hub’s hosts is named Docker Hub when private tasks cannot reach it', () => {
  for (const host of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']) {
    const message = refused(`${host}/library/nginx`, where(PRIMARY, { privateTasks: true }));
    assert.match(message, /it is on Docker Hub, and/, host);
  }
});

test('refusals in full: a FIPS endpoint, another partition, and a site stalled for two regions at once', () => {
  assert.equal(
    refused(`${ACCOUNT}.dkr.ecr-fips.${PRIMARY}.amazonaws.com/shop`, where(PRIMARY)),
    `${PRIMARY} cannot pull ${ACCOUNT}.dkr.ecr-fips.${PRIMARY}.amazonaws.com/shop: it names a FIPS or dual-stack ECR endpoint; ` +
      "tandem rewrites an ECR image to each region's own registry only when it is named by the standard endpoint " +
      '(<account>.dkr.ecr.<region>.amazonaws.com), the one private tasks reach through VPC endpoints; name it so',
  );
  assert.equal(
    refused(ecr('cn-north-1', 'shop', 'amazonaws.com.cn'), where(PRIMARY)),
    `${PRIMARY} cannot pull ${ecr('cn-north-1', 'shop', 'amazonaws.com.cn')}: it is in the aws-cn partition's ECR and ` +
      `${PRIMARY} is in aws; no role in one partition can pull from another's; copy the image into ` +
      `${ecr(PRIMARY, 'shop')} and name that repository in spec.image.repository (ECR replication copies it to the other regions)`,
  );
  const site = valid(demoDocument());
  const stall = imageStall(site, platformWith([PRIMARY, 'eu-west-1'], [PRIMARY, 'eu-west-1']));
  assert.equal(stall?.reason, 'ImageNotPullable');
  assert.deepEqual(stall?.message.split('; copy').length, 3, 'one sentence a region, each with its advice');
  assert.match(stall?.message ?? '', /^us-east-1 cannot pull .*; eu-west-1 cannot pull /);
});

test('the primary region is the one with role primary, wherever the spec lists it', () => {
  const document = demoDocument();
  document.spec.regions = [...document.spec.regions].reverse();
  assert.equal(primaryRegion(valid(document)), PRIMARY);
  assert.equal(primaryRegion(valid(demoDocument())), PRIMARY);
});

test('Docker Hub’s official images are advised without library/, and only that leading library/', () => {
  const advice = (repository: string) => refused(repository, where('eu-west-1', { privateTasks: true }));
  assert.match(advice('library/nginx'), /\/nginx, which ECR replication copies/);
  assert.doesNotMatch(advice('library/nginx'), /library\/nginx, which/);
  assert.match(advice('team/library/nginx'), /\/team\/library\/nginx, which ECR replication copies/);
});

test('a repository under localhost is on that registry, not Docker Hub', () => {
  assert.match(refused('localhost/shop', where(PRIMARY, { privateTasks: true })), /it is on localhost, and/);
  assert.match(refused('shop', where(PRIMARY, { privateTasks: true })), /it is on Docker Hub, and/);
});

test('a Docker Hub repository with a dot in its one-part name is still on Docker Hub', () => {
  assert.match(refused('my.site', where(PRIMARY, { privateTasks: true })), /it is on Docker Hub, and/);
});
