import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { siteJsonSchema } from '../controller/spec/json-schema.ts';
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
    failoverStatusCodes: [500, 502, 503, 504],
    connectionTimeoutSeconds: 5,
    connectionAttempts: 2,
    defaultTtlSeconds: 60,
  });
  assert.equal(site.spec.paused, false);
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
  first.spec.cdn.failoverStatusCodes.push(403);
  first.spec.task.environment.LEAKED = 'yes';
  try {
    const second = valid(minimal());
    assert.deepEqual(second.spec.cdn.aliases, []);
    assert.deepEqual(second.spec.cdn.failoverStatusCodes, [500, 502, 503, 504]);
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

interface InvalidFixture {
  field: string;
  because: string;
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

test('a field gets one problem, its first; a rule across fields waits for their types', () => {
  const document = demo();
  document.spec.task.containerPort = 1e20; // neither whole nor a port
  document.spec.regions[0].minTasks = 5000; // above 1000, and above maxTasks
  assert.deepEqual(problems(document), [
    { field: 'spec.regions[0].minTasks', message: 'must be at most 1000' },
    { field: 'spec.task.containerPort', message: 'must be a whole number' },
  ]);
  document.spec.regions[0].role = 7;
  document.spec.regions[1].minTasks = 20; // above maxTasks: checked only once every field has its type
  assert.deepEqual(
    problems(document).map((p) => p.field),
    ['spec.regions[0].role', 'spec.regions[0].minTasks', 'spec.task.containerPort'],
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
