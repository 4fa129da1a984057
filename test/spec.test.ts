import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { targetGroupName, TRACKS } from '../controller/model/naming.ts';
import { siteJsonSchema } from '../controller/spec/json-schema.ts';
import { MAX_SITE_NAME } from '../controller/spec/schema.ts';
import { formatProblems, validateSite, type SpecProblem } from '../controller/spec/validate.ts';

const root = new URL('../', import.meta.url);
const readJson = (relative: string): unknown => JSON.parse(readFileSync(new URL(relative, root), 'utf8'));

// Each read returns a fresh copy, so a test may change its document freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const demo = (): any => readJson('specs/demo.json');
const minimal = (): unknown => readJson('specs/minimal.json');

function valid(document: unknown) {
  const result = validateSite(document);
  if (!result.ok) assert.fail(`expected a valid spec, got:\n${formatProblems(result.problems)}`);
  return result.site;
}

function problems(document: unknown): SpecProblem[] {
  const result = validateSite(document);
  if (result.ok) assert.fail('expected the spec to be rejected');
  return result.problems;
}

test('every example spec in specs/ is valid', () => {
  const examples = readdirSync(new URL('specs/', root)).filter(
    (f) => f.endsWith('.json') && f !== 'site.schema.json',
  );
  assert.ok(examples.length >= 3, examples.join(', '));
  for (const file of examples) valid(readJson(`specs/${file}`));
});

test('demo reproduces the seed: stable v1, canary v2 at 15%, us-east-1 primary and eu-west-1 failover', () => {
  const { spec } = valid(demo());
  assert.equal(spec.image.tag, 'v1');
  assert.deepEqual(spec.canary, { tag: 'v2', weight: 15 });
  assert.deepEqual(
    spec.regions.map((r) => [r.name, r.role, r.minTasks]),
    [
      ['us-east-1', 'primary', 3],
      ['eu-west-1', 'failover', 3],
    ],
  );
});

test('defaults are filled in for fields a spec leaves out', () => {
  const site = valid(minimal());
  assert.equal(site.metadata.name, 'minimal');
  assert.equal(site.spec.canary, undefined);
  assert.deepEqual(site.spec.regions, [{ name: 'us-east-1', role: 'primary', minTasks: 1, maxTasks: 10 }]);
  assert.deepEqual(site.spec.task, {
    cpu: 256,
    memory: 512,
    architecture: 'X86_64',
    containerPort: 8080,
    healthCheckPath: '/healthz',
    readOnlyRootFilesystem: true,
    environment: {},
  });
  assert.deepEqual(site.spec.scaling, {
    targetRequestsPerTaskPerMinute: 600,
    targetCpuPercent: 70,
    tolerance: 0.1,
    scaleInStabilizationSeconds: 300,
    failoverErrorPercent: 50,
    maxScaleOutStep: 1000,
    standbyPercent: 0,
  });
  assert.deepEqual(site.spec.cdn, {
    aliases: [],
    priceClass: 'PriceClass_100',
    failoverStatusCodes: [403, 500, 502, 503, 504],
    connectionTimeoutSeconds: 2,
    connectionAttempts: 1,
    responseTimeoutSeconds: 10,
    defaultTtlSeconds: 60,
  });
  assert.equal(site.spec.paused, false);
});

test('by default the CDN fails over on 403 as well as 5xx, and the README says so', () => {
  // A primary whose listener rules are gone answers 403 from the listener's default action
  // (bootstrap/platform-stack.ts): failing over on it keeps the site up.
  const codes = valid(minimal()).spec.cdn.failoverStatusCodes;
  assert.deepEqual(codes, [403, 500, 502, 503, 504]);
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  assert.ok(
    readme.replace(/\s+/g, ' ').includes(`\`failoverStatusCodes\` (default ${codes.join(', ')}:`),
    'the README names the default',
  );
  const arrows = [...readme.matchAll(/ on (5xx[^"\n]*?) \/ timeout/g)].map((m) => m[1]);
  assert.deepEqual(
    arrows,
    ['5xx / 403', '5xx / 403'],
    "both diagrams' failover arrows say the default codes",
  );
});

test('task.healthCheckCommand is "CMD" or "CMD-SHELL" and then the command', () => {
  const withCommand = (command: unknown) => {
    const document = minimal() as { spec: { task?: Record<string, unknown> } };
    document.spec.task = { healthCheckCommand: command };
    return validateSite(document);
  };
  const accepted = withCommand(['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/healthz']);
  assert.ok(accepted.ok);
  for (const [command, message] of [
    [['node', 'healthcheck.mjs'], /must start with "CMD" or "CMD-SHELL"/],
    [['CMD'], /followed by the command/],
    [['CMD', ''], /must not be empty/],
  ] as const) {
    const result = withCommand(command);
    assert.ok(!result.ok);
    assert.match(formatProblems(result.problems), message);
  }
});

test('task.architecture is X86_64 unless a spec asks for ARM64, and nothing else', () => {
  assert.equal(valid(demo()).spec.task.architecture, 'X86_64');
  const arm = demo();
  arm.spec.task = { ...arm.spec.task, architecture: 'ARM64' };
  assert.equal(valid(arm).spec.task.architecture, 'ARM64');
  const docker = demo();
  docker.spec.task = { ...docker.spec.task, architecture: 'arm64' };
  assert.deepEqual(
    problems(docker).map((p) => [p.field, p.message]),
    [['spec.task.architecture', 'must be "X86_64" or "ARM64"']],
  );
});

test('defaults are filled in inside a partly written section', () => {
  const document = demo();
  document.spec.canary = { tag: 'v2' };
  document.spec.scaling = { targetCpuPercent: 50 };
  const { spec } = valid(document);
  assert.equal(spec.canary?.weight, 0);
  assert.deepEqual(spec.scaling, {
    targetRequestsPerTaskPerMinute: 600,
    targetCpuPercent: 50,
    tolerance: 0.1,
    scaleInStabilizationSeconds: 300,
    failoverErrorPercent: 50,
    maxScaleOutStep: 1000,
    standbyPercent: 0,
  });
  // demo lists its own failover codes; they replace the default rather than merge with it.
  assert.deepEqual(spec.cdn.failoverStatusCodes, [403, 404, 500, 502, 503, 504]);
});

test('changing one validated site does not change the defaults of the next', () => {
  const first = valid(minimal());
  first.spec.cdn.aliases.push('www.example.com');
  first.spec.cdn.failoverStatusCodes.push(404);
  first.spec.task.environment.LEAKED = 'yes';
  try {
    const second = valid(minimal());
    assert.deepEqual(second.spec.cdn.aliases, []);
    assert.deepEqual(second.spec.cdn.failoverStatusCodes, [403, 500, 502, 503, 504]);
    assert.deepEqual(second.spec.task.environment, {});
  } finally {
    // Should the defaults ever be shared again, undo the changes so other tests are not misled.
    first.spec.cdn.aliases.pop();
    first.spec.cdn.failoverStatusCodes.pop();
    delete first.spec.task.environment.LEAKED;
  }
});

test('a bad environment variable name is explained', () => {
  for (const [name, expected] of [
    ['log-level', /variable name/],
    ['TANDEM_REGION', /TANDEM_/],
  ] as const) {
    const document = demo();
    document.spec.task.environment = { [name]: 'x' };
    const problem = problems(document).find((p) => p.field === `spec.task.environment.${name}`);
    assert.match(problem?.message ?? '', expected);
  }
});

test('environment names valibot would drop (constructor, __proto__, prototype) are refused, not dropped', () => {
  for (const name of ['constructor', '__proto__', 'prototype']) {
    const document = demo();
    // Defined, as JSON.parse defines it: assigning __proto__ would set the prototype instead.
    document.spec.task.environment = JSON.parse(`{"KEPT": "1", "${name}": "x"}`);
    assert.deepEqual(problems(document), [
      {
        field: `spec.task.environment.${name}`,
        message:
          'is a name tandem cannot pass on (constructor, __proto__ and prototype are reserved): choose another',
      },
    ]);
  }
});

test('a site name may have 25 characters, as many as fit <name>-stable and <name>-canary in a target group’s 32', () => {
  const longest = 'a'.repeat(MAX_SITE_NAME);
  for (const track of TRACKS) assert.ok(targetGroupName(longest, track).length <= 32, track);
  assert.ok(targetGroupName(`${longest}a`, 'canary').length > 32);
  const document = demo();
  document.metadata.name = longest;
  assert.equal(valid(document).metadata.name, longest);
  document.metadata.name = `${longest}a`;
  assert.deepEqual(problems(document), [
    {
      field: 'metadata.name',
      message:
        'must be 2–25 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen',
    },
  ]);
});

test('the image reference repository:tag is at most 255 characters, ECS’s limit, for the stable and the canary tag', () => {
  const document = demo();
  document.spec.image.repository = `public.ecr.aws/${'a'.repeat(255 - 'public.ecr.aws/:v1'.length)}`;
  assert.equal(valid(document).spec.image.repository.length, 252);
  document.spec.canary.tag = 'v22';
  assert.deepEqual(problems(document), [
    {
      field: 'spec.canary.tag',
      message:
        "makes the canary's image reference (image.repository:canary.tag) 256 characters; ECS allows at most 255",
    },
  ]);
  document.spec.image.tag = 'v11';
  assert.deepEqual(problems(document), [
    {
      field: 'spec.image',
      message: 'makes an image reference (repository:tag) of 256 characters; ECS allows at most 255',
    },
    {
      field: 'spec.canary.tag',
      message:
        "makes the canary's image reference (image.repository:canary.tag) 256 characters; ECS allows at most 255",
    },
  ]);
});

test('an environment value may hold tab and line breaks but no other control character', () => {
  const document = demo();
  document.spec.task.environment = { PEM: '-----BEGIN-----\r\nabc\n\t-----END-----' };
  valid(document);
  for (const [value, shown, at] of [
    ['a\u0000b', '\\u0000', 2],
    ['\u001b[2J', '\\u001b', 1],
    ['ok\u007f', '\\u007f', 3],
    ['\u009b2J', '\\u009b', 1],
  ] as const) {
    document.spec.task.environment = { VALUE: value };
    assert.deepEqual(problems(document), [
      {
        field: 'spec.task.environment.VALUE',
        message: `holds the control character ${shown} at character ${at}; only tab and line breaks may be in a value`,
      },
    ]);
  }
});

test('an alias is at most 253 characters, DNS’s limit for a name, however short its labels', () => {
  const label = 'a'.repeat(63);
  const document = demo();
  document.spec.cdn.certificateArn =
    'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
  document.spec.cdn.aliases = [`${label}.${label}.${label}.${'a'.repeat(57)}.com`];
  assert.equal(document.spec.cdn.aliases[0].length, 253);
  valid(document);
  document.spec.cdn.aliases = [`${label}.${label}.${label}.${'a'.repeat(58)}.com`];
  assert.deepEqual(problems(document), [
    { field: 'spec.cdn.aliases[0]', message: "must be at most 253 characters, DNS's limit for a name" },
  ]);
});

test('a key is shown escaped: an escape sequence cannot drive the terminal, a zero-width or look-alike character is visible', () => {
  const document = demo();
  document.spec.task.environment = { '\u001b[2J\u001b[1;1HOK': 'x' };
  document.spec.regions[0] = { name: 'us-east-1', 'r\u043ele': 'primary', 'min\u200bTasks': 3 };
  const found = problems(document);
  assert.deepEqual(found, [
    { field: 'spec.regions[0].role', message: 'is required' },
    {
      field: 'spec.regions[0]',
      message:
        'has unknown fields r\\u043ele (did you mean role?), min\\u200bTasks (did you mean minTasks?): remove or rename them',
    },
    {
      field: 'spec.task.environment.\\u001b[2J\\u001b[1;1HOK',
      message: 'has a bad key: must be a variable name: letters, digits and _, not starting with a digit',
    },
  ]);
  assert.doesNotMatch(formatProblems(found), /[^\x20-\x7e\n]/, 'printable ASCII only');
});

test('an unknown field is answered with the nearest known one, when one is near', () => {
  const document = demo();
  document.spec.regions[1].minTask = 1;
  document.spec.cdn.alias = ['www.example.com'];
  document.spec.cdn.ttl = 60;
  document.spec.scaling.targetCPU = 50;
  assert.deepEqual(problems(document), [
    {
      field: 'spec.regions[1]',
      message: 'has unknown field minTask (did you mean minTasks?): remove or rename it',
    },
    { field: 'spec.scaling', message: 'has unknown field targetCPU: remove or rename it' },
    {
      field: 'spec.cdn',
      message: 'has unknown fields alias (did you mean aliases?), ttl: remove or rename them',
    },
  ]);
});

test('a whole number out of range is out of range, not "not a whole number"', () => {
  const document = demo();
  document.spec.task.containerPort = 1e20;
  document.spec.regions[0].maxTasks = 2 ** 60;
  document.spec.canary.weight = 1e300;
  document.spec.scaling.targetCpuPercent = 50.5;
  assert.deepEqual(problems(document), [
    { field: 'spec.canary.weight', message: 'must be between 0 and 100' },
    { field: 'spec.regions[0].maxTasks', message: 'must be at most 1000' },
    { field: 'spec.task.containerPort', message: 'must be a port between 1 and 65535' },
    { field: 'spec.scaling.targetCpuPercent', message: 'must be a whole number' },
  ]);
});

test('a document nested too deep says so, rather than "not a JSON document"', () => {
  const document = demo();
  let deep: unknown[] = [];
  for (let i = 0; i < 20_000; i += 1) deep = [deep];
  document.spec.cdn.extra = deep;
  assert.deepEqual(problems(document), [
    { field: '', message: 'nests objects and arrays more than 32 deep' },
  ]);
});

test('a document that is text rather than JSON says so, not "must be an object"', () => {
  assert.deepEqual(problems('{\n  "apiVersion": "tandem.dev/v1",\n  kind: "Site"\n}'), [
    { field: '', message: 'is text that is not JSON, where a JSON object belongs' },
  ]);
  // A string that is JSON, but not an object, is of the wrong type like any other.
  assert.deepEqual(problems('"Site"'), [{ field: '', message: 'must be an object' }]);
  assert.deepEqual(problems(42), [{ field: '', message: 'must be an object' }]);
});

interface InvalidFixture {
  field: string;
  because: string;
  /** The message the problem at `field` must have, where a fixture pins it. */
  message?: string;
  document: unknown;
}

const fixtureDir = new URL('test/fixtures/invalid/', root);
const fixtureFiles = readdirSync(fixtureDir)
  .filter((file) => file.endsWith('.json'))
  .sort();

test('there are at least 40 invalid fixtures', () => {
  assert.ok(fixtureFiles.length >= 40, `only ${fixtureFiles.length} fixtures in ${fixtureDir.pathname}`);
});

for (const file of fixtureFiles) {
  test(`rejects invalid/${file}`, () => {
    const fixture = JSON.parse(readFileSync(new URL(file, fixtureDir), 'utf8')) as InvalidFixture;
    assert.equal(typeof fixture.field, 'string', `${file}: "field" must be a string`);
    assert.ok(typeof fixture.because === 'string' && fixture.because !== '', `${file}: "because" is missing`);
    const found = problems(fixture.document);
    const problem = found.find((p) => p.field === fixture.field);
    assert.ok(
      problem !== undefined,
      `${file} (${fixture.because}): expected a problem at "${fixture.field}", got:\n${formatProblems(found)}`,
    );
    assert.ok(problem.message.trim() !== '', `${file}: the problem at "${fixture.field}" has no message`);
    if (fixture.message !== undefined) assert.equal(problem.message, fixture.message, file);
  });
}

test('formatProblems names the field of each problem', () => {
  const document = demo();
  document.spec.regions[1].minTasks = 13;
  document.spec.cdn.connectionAttempts = 4;
  const text = formatProblems(problems(document));
  const lines = text.split('\n');
  assert.equal(lines.length, 2, text);
  assert.ok(
    lines.some((line) => line.startsWith('spec.regions[1].minTasks ')),
    text,
  );
  assert.ok(
    lines.some((line) => line.startsWith('spec.cdn.connectionAttempts ')),
    text,
  );
  assert.equal(formatProblems([{ field: '', message: 'is 20000 bytes' }]), 'document is 20000 bytes');
});

test('an array where the spec has an object is of the wrong type, even an empty one', () => {
  for (const [set, field] of [
    [(d: ReturnType<typeof demo>) => (d.spec.task = []), 'spec.task'],
    [(d: ReturnType<typeof demo>) => (d.spec.regions[0] = [{ name: 'us-east-1' }]), 'spec.regions[0]'],
    [(d: ReturnType<typeof demo>) => (d.spec.task.environment = ['A']), 'spec.task.environment'],
  ] as const) {
    const document = demo();
    set(document);
    assert.deepEqual(problems(document), [{ field, message: 'must be an object' }]);
  }
});

test('a missing field is required, and every unknown field of an object is named in one problem', () => {
  const document = demo();
  delete document.spec.regions[1].role;
  document.spec.cdn.ttl = 60;
  document.spec.cdn.origin = 'x';
  assert.deepEqual(problems(document), [
    { field: 'spec.regions[1].role', message: 'is required' },
    { field: 'spec.cdn', message: 'has unknown fields ttl, origin: remove or rename them' },
  ]);
});

test('a field gets one problem, its first; a rule across fields skips only the fields that have one', () => {
  const document = demo();
  document.spec.task.containerPort = 1.5; // neither whole nor a port
  document.spec.regions[0].minTasks = 5000; // above 1000, and above maxTasks: the rule leaves it alone
  assert.deepEqual(problems(document), [
    { field: 'spec.regions[0].minTasks', message: 'must be at most 1000' },
    { field: 'spec.task.containerPort', message: 'must be a whole number' },
  ]);
  document.spec.regions[0].role = 7;
  document.spec.regions[1].minTasks = 20; // above maxTasks, reported though another field of the spec is wrong
  assert.deepEqual(problems(document), [
    { field: 'spec.regions[0].role', message: 'must be "primary" or "failover"' },
    { field: 'spec.regions[0].minTasks', message: 'must be at most 1000' },
    { field: 'spec.task.containerPort', message: 'must be a whole number' },
    { field: 'spec.regions[1].minTasks', message: '(20) must not exceed maxTasks (12)' },
  ]);
});

test('every rule across fields is reported in the same run as the problems of other fields of its object', () => {
  const document = demo();
  // A problem in each object that holds a rule, next to the fields the rule reads.
  document.spec.paused = 'no';
  document.spec.regions = [
    { name: 'us-east-1', role: 'primary', minTasks: 3, maxTasks: 12, extra: 1 },
    { name: 'us-east-1', role: 'primary', minTasks: 5, maxTasks: 2 },
    { name: 'eu-west-1', role: 'failover', minTasks: 'three' },
  ];
  document.spec.canary = { tag: 'v1', weight: 20, analysis: { stepWeight: 30, maxWeight: 20, threshold: 0 } };
  document.spec.task = { cpu: 256, memory: 4096, containerPort: 0 };
  document.spec.cdn = { aliases: ['www.example.com', 'Not A Name'], priceClass: 'PriceClass_1' };
  assert.deepEqual(problems(document), [
    { field: 'spec.canary.analysis.threshold', message: 'must be between 1 and 100' },
    {
      field: 'spec.canary.weight',
      message: 'must be 0 (or left out) with analysis: the analysis moves the weight',
    },
    { field: 'spec.canary.analysis.stepWeight', message: 'must not exceed analysis.maxWeight' },
    { field: 'spec.regions[0]', message: 'has unknown field extra: remove or rename it' },
    { field: 'spec.regions[2].minTasks', message: 'must be a number' },
    { field: 'spec.task.containerPort', message: 'must be a port between 1 and 65535' },
    { field: 'spec.task.memory', message: 'is not a Fargate size for cpu 256; use 512, 1024, 2048' },
    { field: 'spec.cdn.aliases[1]', message: 'must be a lowercase DNS name such as www.example.com' },
    { field: 'spec.cdn.priceClass', message: 'must be PriceClass_100, PriceClass_200 or PriceClass_All' },
    {
      field: 'spec.cdn.certificateArn',
      message: 'is required when aliases are set: CloudFront needs a certificate covering them',
    },
    { field: 'spec.paused', message: 'must be a boolean' },
    { field: 'spec.regions', message: 'must have exactly one region with role "primary" (found 2)' },
    { field: 'spec.regions[1].name', message: 'repeats region us-east-1' },
    { field: 'spec.regions[1].minTasks', message: '(5) must not exceed maxTasks (2)' },
    {
      field: 'spec.canary.tag',
      message: 'is the stable tag v1; promote it by changing image.tag, or use another tag',
    },
  ]);
});

test('a rule across fields does not guess from a field that has a problem of its own', () => {
  const document = demo();
  document.spec.regions[0].role = 'Primary'; // perhaps the primary: "exactly one primary" cannot be judged
  document.spec.regions[1].name = 'eu-west-9';
  document.spec.regions.push({ name: 'eu-west-9', role: 'failover' });
  document.spec.task = { cpu: 300, memory: 512 };
  document.spec.cdn = {
    aliases: ['www.example.com'],
    certificateArn: 'arn:aws:acm:eu-west-1:1:certificate/x',
  };
  assert.deepEqual(
    problems(document).map((p) => p.field),
    [
      'spec.regions[0].role',
      'spec.regions[1].name',
      'spec.regions[2].name',
      'spec.task.cpu',
      'spec.cdn.certificateArn',
    ],
  );
});

test('specs/site.schema.json matches the schema', () => {
  const committed = readFileSync(new URL('specs/site.schema.json', root), 'utf8');
  assert.equal(committed, siteJsonSchema(), 'specs/site.schema.json is stale: run `npm run schema`');
});

/** Fargate task sizes as AWS documents them, written out independently of controller/spec/fargate.ts. */
function fargatePairs(): [number, number][] {
  const steps = (cpu: number, min: number, max: number, step: number): [number, number][] =>
    Array.from({ length: (max - min) / step + 1 }, (_, i): [number, number] => [cpu, min + i * step]);
  return [
    [256, 512],
    [256, 1024],
    [256, 2048],
    ...steps(512, 1024, 4096, 1024),
    ...steps(1024, 2048, 8192, 1024),
    ...steps(2048, 4096, 16384, 1024),
    ...steps(4096, 8192, 30720, 1024),
    ...steps(8192, 16384, 61440, 4096),
    ...steps(16384, 32768, 122880, 8192),
  ];
}

test('property: any Fargate size, task range with min <= max (max at least 2, room for the canary), and canary weight validates', () => {
  const taskRange = (minOfMin: number) =>
    fc
      .tuple(fc.integer({ min: minOfMin, max: 1000 }), fc.integer({ min: 2, max: 1000 }))
      .filter(([min, max]) => min <= max);
  fc.assert(
    fc.property(
      fc.constantFrom(...fargatePairs()),
      taskRange(1),
      taskRange(0),
      fc.integer({ min: 0, max: 100 }),
      ([cpu, memory], [primaryMin, primaryMax], [failoverMin, failoverMax], weight) => {
        const document = demo();
        document.spec.task.cpu = cpu;
        document.spec.task.memory = memory;
        document.spec.regions[0].minTasks = primaryMin;
        document.spec.regions[0].maxTasks = primaryMax;
        document.spec.regions[1].minTasks = failoverMin;
        document.spec.regions[1].maxTasks = failoverMax;
        document.spec.canary.weight = weight;
        const { spec } = valid(document);
        assert.deepEqual([spec.task.cpu, spec.task.memory], [cpu, memory]);
        assert.equal(spec.canary?.weight, weight);
      },
    ),
  );
});

function assertRejectedWithoutThrowing(document: unknown): void {
  const result = validateSite(document);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.ok(result.problems.length > 0);
  for (const problem of result.problems) {
    assert.equal(typeof problem.field, 'string');
    assert.ok(problem.message !== '');
  }
}

test('a canary with maxTasks 1 in any region is refused at that region’s maxTasks, naming the fix; without a canary it is valid', () => {
  for (const region of [0, 1]) {
    const document = demo();
    document.spec.regions[region].minTasks = 1;
    document.spec.regions[region].maxTasks = 1;
    const found = problems(document);
    assert.deepEqual(
      found.map((p) => p.field),
      [`spec.regions[${region}].maxTasks`],
    );
    assert.match(found[0]!.message, /at least 2 while the spec has a canary/);
    assert.match(found[0]!.message, /raise maxTasks to 2 or remove the canary/);
    delete (document.spec as { canary?: unknown }).canary;
    assert.equal(validateSite(document).ok, true);
  }
});

test('property: validateSite never throws on arbitrary JSON and rejects it', () => {
  fc.assert(fc.property(fc.jsonValue(), assertRejectedWithoutThrowing), { numRuns: 500 });
});

test('property: validateSite never throws when a field of demo is replaced by arbitrary JSON', () => {
  const paths = [
    ['metadata'],
    ['spec'],
    ['spec', 'image'],
    ['spec', 'canary'],
    ['spec', 'canary', 'weight'],
    ['spec', 'regions'],
    ['spec', 'regions', 0],
    ['spec', 'regions', 1, 'maxTasks'],
    ['spec', 'task'],
    ['spec', 'task', 'memory'],
    ['spec', 'task', 'environment'],
    ['spec', 'scaling'],
    ['spec', 'cdn'],
    ['spec', 'cdn', 'aliases'],
    ['spec', 'cdn', 'failoverStatusCodes'],
  ];
  fc.assert(
    fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
      const document = demo();
      let parent = document;
      for (const key of path.slice(0, -1)) parent = parent[key];
      parent[path[path.length - 1]!] = value;
      // Some replacements are valid (e.g. an object for an optional section); only throwing is a failure.
      const result = validateSite(document);
      if (!result.ok) for (const problem of result.problems) assert.ok(problem.message !== '');
    }),
    { numRuns: 500 },
  );
});
