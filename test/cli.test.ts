import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../controller/cli/main.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  dirs.push(dir);
  return dir;
}

/** Runs the CLI in this process, capturing what it prints. */
async function tandem(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'tandem', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = stderrWrite;
  }
}

test('tandem validate accepts the example specs and names the field of a bad one', async () => {
  const ok = await tandem('validate', 'specs/demo.json');
  assert.equal(ok.code, 0);
  assert.match(ok.out, /site demo is valid/);

  const file = join(tempDir(), 'bad.json');
  const bad = JSON.parse(readFileSync('specs/demo.json', 'utf8'));
  bad.spec.canary.weight = 120;
  writeFileSync(file, JSON.stringify(bad));
  const result = await tandem('validate', file);
  assert.equal(result.code, 1);
  assert.match(result.err, /spec\.canary\.weight must be between 0 and 100/);
});

test('tandem validate explains a file that is missing or not JSON', async () => {
  const missing = await tandem('validate', 'no/such/file.json');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read no\/such\/file\.json: ENOENT/);
  const file = join(tempDir(), 'broken.json');
  writeFileSync(file, '{ "apiVersion": ');
  const broken = await tandem('validate', file);
  assert.match(
    broken.err,
    /broken\.json is not valid JSON at line 1, column 17: expected a value, found the end/,
  );
});

test('tandem validate prints what a spec or a file name says escaped, never a raw control character', async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.json');
  const bad = JSON.parse(readFileSync('specs/demo.json', 'utf8'));
  bad.spec.task.environment = { '\u001b[2J\u001b[1;1Hspec.json: site demo is valid': 'x' };
  bad.spec.regions[0].minTask = bad.spec.regions[0].minTasks;
  writeFileSync(file, JSON.stringify(bad));
  const result = await tandem('validate', file);
  assert.equal(result.code, 1);
  assert.ok(!/(?!\n)\p{Cc}/u.test(result.err), JSON.stringify(result.err));
  assert.ok(
    result.err.includes(
      'spec.task.environment.\\u001b[2J\\u001b[1;1Hspec.json: site demo is valid has a bad key: must be a variable name',
    ),
    result.err,
  );
  assert.ok(
    result.err.includes(
      'spec.regions[0] has unknown field minTask (did you mean minTasks?): remove or rename it',
    ),
    result.err,
  );

  const missing = await tandem('validate', join(dir, 'no\u001b[2Jsuch.json'));
  assert.match(missing.err, /cannot read .*no\\u001b\[2Jsuch\.json: ENOENT/);
});

test('tandem plan demo against an empty simulated world prints the full creation plan and changes nothing', async () => {
  const state = tempDir();
  const applied = await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  assert.equal(applied.code, 0);
  assert.equal(applied.out.trim(), `site demo created (generation 1) in the simulated cloud (${state})`);
  const world = readFileSync(join(state, 'world.json'), 'utf8');

  const plan = await tandem('plan', 'demo', '--state', state);
  assert.equal(plan.code, 0, plan.err);
  for (const region of ['us-east-1', 'eu-west-1']) {
    for (const kind of ['RegisterTaskDefinition', 'CreateTargetGroup', 'CreateService', 'CreateRule']) {
      assert.match(plan.out, new RegExp(`${region}\\s+${kind}`), `${kind} in ${region}`);
    }
    assert.match(plan.out, new RegExp(`${region}\\s+CreateService\\s+demo-stable\\s+2 task`));
    assert.match(plan.out, new RegExp(`${region}\\s+CreateService\\s+demo-canary\\s+1 task`));
  }
  assert.match(
    plan.out,
    /global\s+CreateDistribution.*fails over us-east-1 → eu-west-1 on 403\/404\/500\/502\/503\/504/,
  );
  assert.match(plan.out, /demo-stable 85%, demo-canary 15%/);
  assert.match(plan.out, /^15 action\(s\)\.$/m);
  assert.equal(readFileSync(join(state, 'world.json'), 'utf8'), world, 'plan wrote nothing');

  const json = await tandem('plan', 'demo', '-o', 'json', '--state', state);
  const parsed = JSON.parse(json.out) as { actions: { kind: string }[] };
  assert.equal(parsed.actions.length, 15);
  assert.ok(!json.out.includes('sim-secret'), 'the origin secret is never printed');
});

test('tandem reconcile --once converges step by step; get and describe report it; delete removes it', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  const first = await tandem('reconcile', '--once', '--state', state);
  // Each region's reconciler in turn; the primary's also creates the distribution.
  assert.match(first.out, /us-east-1 demo: 8 applied, 0 failed/);
  assert.match(first.out, /eu-west-1 demo: 7 applied, 0 failed/);
  await tandem('reconcile', '--once', '--state', state);
  const third = await tandem('reconcile', '--once', '--state', state);
  assert.match(third.out, /us-east-1 demo: 0 applied, 0 failed; Ready=True/);
  assert.match(third.out, /eu-west-1 demo: 0 applied, 0 failed; Ready=True/);

  const get = await tandem('get', '--state', state);
  assert.match(get.out, /demo\s+1\s+1\s+True\s+Converged\s+\S+\s+eu-west-1, us-east-1/);
  const describe = await tandem('describe', 'demo', '--state', state);
  assert.match(describe.out, /us-east-1\s+primary\s+2\/2\/0\s+1\/1\/0\s+15/);
  assert.match(describe.out, /Ready\s+True\s+Converged/);

  const plan = await tandem('plan', 'demo', '--state', state);
  assert.match(plan.out, /No changes/);

  assert.equal((await tandem('delete', 'demo', '--state', state)).code, 0);
  for (let i = 0; i < 5; i += 1) await tandem('reconcile', '--once', '--state', state);
  assert.match((await tandem('get', '--state', state)).out, /No sites/);
});

test('tandem apply refuses an invalid spec and stores nothing', async () => {
  const state = tempDir();
  const file = join(state, 'bad.json');
  const bad = JSON.parse(readFileSync('specs/demo.json', 'utf8'));
  bad.spec.regions[1].role = 'primary';
  writeFileSync(file, JSON.stringify(bad));
  const result = await tandem('apply', '-f', file, '--state', state);
  assert.equal(result.code, 1);
  assert.match(result.err, /spec\.regions must have exactly one region with role "primary" \(found 2\)/);
  assert.match((await tandem('get', '--state', state)).out, /No sites/);
});

test('tandem apply refuses a spec of more than 400 KB, a DynamoDB item’s limit, saying so, and stores nothing', async () => {
  const state = tempDir();
  const file = join(state, 'big.json');
  const big = JSON.parse(readFileSync('specs/demo.json', 'utf8'));
  big.spec.task = { environment: { PADDING: 'x'.repeat(410 * 1024) } };
  writeFileSync(file, JSON.stringify(big));
  const result = await tandem('apply', '-f', file, '--state', state);
  assert.equal(result.code, 1);
  assert.match(result.err, /is \d+ bytes; a spec may be at most 16384 bytes/);
  assert.match((await tandem('get', '--state', state)).out, /No sites/);
});

test('tandem promote, abort and delete name a site that is not stored', async () => {
  const state = tempDir();
  for (const verb of ['promote', 'abort', 'delete']) {
    const result = await tandem(verb, 'missing', '--state', state);
    assert.equal(result.code, 1, verb);
    assert.match(result.err, /no site missing is stored/, verb);
  }
});

test('the installed bin runs the CLI', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    'bin/tandem.js',
    'validate',
    'specs/minimal.json',
  ]);
  assert.match(stdout, /site minimal is valid/);
});

test('tandem reconcile skips the pass while another reconciler holds the lease', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  const file = join(state, 'world.json');
  const world = JSON.parse(readFileSync(file, 'utf8'));
  // us-east-1's lease, held by another reconciler, as every replica holds it.
  const lease = (expiresAt: number) => ({
    pk: 'lease',
    sk: 'us-east-1',
    value: { holder: 'elsewhere:1', expiresAt },
    version: 1_000,
  });
  for (const replica of Object.values(world.replicas) as { items: Record<string, unknown> }[])
    replica.items['lease|us-east-1'] = lease(Date.now() + 60_000);
  writeFileSync(file, JSON.stringify(world));
  const skipped = await tandem('reconcile', '--once', '--state', state);
  assert.match(skipped.out, /us-east-1: another reconciler holds the lease; this pass is skipped/);
  assert.match(skipped.out, /eu-west-1 demo: 7 applied/, "the other region's reconciler is not held up");
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).regions['us-east-1'].services, {});

  const after = JSON.parse(readFileSync(file, 'utf8'));
  for (const replica of Object.values(after.replicas) as { items: Record<string, unknown> }[])
    replica.items['lease|us-east-1'] = lease(Date.now() - 1); // expired: taken over
  writeFileSync(file, JSON.stringify(after));
  const taken = await tandem('reconcile', '--once', '--state', state);
  assert.match(taken.out, /us-east-1 demo: 8 applied/);
});

test('tandem promote makes the canary stable and tandem abort removes it, each writing the spec once', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  const promoted = await tandem('promote', 'demo', '--state', state);
  assert.equal(promoted.code, 0, promoted.err);
  assert.match(promoted.out, /canary promoted to stable \(generation 2\)/);
  const world = JSON.parse(readFileSync(join(state, 'world.json'), 'utf8'));
  const stored = world.replicas['us-east-1'].items['spec|demo'].value;
  assert.equal(stored.document.spec.image.tag, 'v2');
  assert.equal(stored.document.spec.canary, undefined);

  const again = await tandem('promote', 'demo', '--state', state);
  assert.equal(again.code, 1);
  assert.match(again.err, /no canary to promote/);

  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  const aborted = await tandem('abort', 'demo', '--state', state);
  assert.match(aborted.out, /canary removed/);
  const after = JSON.parse(readFileSync(join(state, 'world.json'), 'utf8'));
  const abortedSpec = after.replicas['us-east-1'].items['spec|demo'].value;
  assert.equal(abortedSpec.document.spec.image.tag, 'v1');
  assert.equal(abortedSpec.document.spec.canary, undefined);
});

test('tandem reconcile keeps the sites’ dashboard, rewriting it only when it changed', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  for (let i = 0; i < 3; i += 1) await tandem('reconcile', '--once', '--state', state);
  const world = () => JSON.parse(readFileSync(join(state, 'world.json'), 'utf8'));
  const body = JSON.parse(world().dashboards['tandem-sites']) as {
    widgets: { properties: { title?: string } }[];
  };
  const titles = body.widgets.map((w) => w.properties.title ?? '').join('\n');
  assert.match(titles, /us-east-1/);
  assert.match(titles, /eu-west-1/);
  const steady = await tandem('reconcile', '--once', '--state', state, '--log-level', 'info');
  assert.match(steady.out, /demo: 0 applied/);
  assert.doesNotMatch(steady.err, /dashboard updated/);
});

test('tandem describe says why each region runs its tasks', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  for (let i = 0; i < 3; i += 1) await tandem('reconcile', '--once', '--state', state);
  const described = await tandem('describe', 'demo', '--state', state);
  assert.match(described.out, /Scaling \(why this many tasks\):/);
  assert.match(described.out, /us-east-1 {2}3 task\(s\): AtMinimum, held at the floor of 3 task\(s\)/);
  assert.match(described.out, /Conditions:\nTYPE.*\nReady /);
});

test('a state file that is not a simulated world is refused with the fix', async () => {
  const state = tempDir();
  writeFileSync(join(state, 'world.json'), '{"hello": "world"}');
  const result = await tandem('get', '--state', state);
  assert.equal(result.code, 1);
  assert.match(
    result.err,
    /is not a simulated world this version of tandem wrote .*; delete it to start afresh/,
  );
});

test('with neither --state nor --table and no local cloud running, commands refuse and name each way to choose a cloud', async () => {
  const local = tempDir();
  for (const args of [
    ['get'],
    ['describe', 'demo'],
    ['apply', '-f', 'specs/demo.json'],
    ['delete', 'demo'],
  ]) {
    const result = await tandem(...args, '--local', local);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(
      result.err,
      new RegExp(
        `no local cloud is running on ${local}: start one with npm start, or pass --state <dir> .*, or --table <name> --region <region>`,
      ),
      args.join(' '),
    );
    assert.equal(result.out, '', 'nothing was read from or written to another cloud');
  }
});

test('get, describe and plan say which cloud answered', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  const from = `From the simulated cloud (${state}):`;
  assert.equal((await tandem('get', '--state', state)).out.split('\n')[0], from);
  assert.equal((await tandem('describe', 'demo', '--state', state)).out.split('\n')[0], from);
  assert.equal((await tandem('plan', 'demo', '--state', state)).out.split('\n')[0], from);
  const json = JSON.parse((await tandem('plan', 'demo', '-o', 'json', '--state', state)).out) as {
    from: string;
  };
  assert.equal(json.from, `the simulated cloud (${state})`);
});

test('--state naming something that is not a directory is refused in a sentence, without a stack trace', async () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'not a directory');
  for (const args of [['get'], ['apply', '-f', 'specs/demo.json']]) {
    const result = await tandem(...args, '--state', file);
    assert.equal(result.code, 1);
    assert.equal(
      result.err.trim(),
      `error: --state ${file} is not a directory: name a directory (it is created if missing)`,
    );
  }
});

test('--table and --state together are refused: they name two different clouds', async () => {
  const result = await tandem('get', '--table', 'tandem', '--region', 'us-east-1', '--state', tempDir());
  assert.equal(result.code, 1);
  assert.match(result.err, /name two different clouds: pass one/);
});

test('tandem load refuses a bad option before it says it sends anything', async () => {
  const result = await tandem('load', '--rps', 'lots', '--duration', '1', '--url', 'http://127.0.0.1:9/');
  assert.equal(result.code, 1);
  assert.equal(result.out, '');
  assert.match(result.err, /--rps must be a number greater than 0 .*, got NaN/);
});

test('tandem load exits non-zero when every request failed, after its summary', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const url = `http://127.0.0.1:${port}/`;
  const result = await tandem('load', '--rps', '5', '--duration', '1', '--url', url);
  assert.equal(result.code, 1);
  assert.match(result.out, /Sending 5 requests a second/);
  assert.match(
    result.err,
    new RegExp(`every one of the 5 requests failed \\(error ×5\\): is a site served at ${url}\\?`),
  );
});

test('tandem describe lists the primary region first, then the failover regions in the spec’s order', async () => {
  const state = tempDir();
  await tandem('apply', '-f', 'specs/demo.json', '--state', state);
  for (let i = 0; i < 3; i += 1) await tandem('reconcile', '--once', '--state', state);
  const { out } = await tandem('describe', 'demo', '--state', state);
  const regions = out.slice(out.indexOf('Regions:'));
  assert.ok(regions.indexOf('us-east-1  primary') < regions.indexOf('eu-west-1  failover'), regions);
  const scaling = out.slice(out.indexOf('Scaling'));
  assert.ok(scaling.indexOf('us-east-1') < scaling.indexOf('eu-west-1'), scaling);
});

const JSON_FIXTURES = new URL('./fixtures/invalid/json/', import.meta.url);

for (const file of readdirSync(JSON_FIXTURES).filter((f) => f.endsWith('.json'))) {
  test(`tandem validate refuses invalid/json/${file} with its line and column`, async () => {
    const path = fileURLToPath(new URL(file, JSON_FIXTURES));
    const expected = readFileSync(
      new URL(file.replace(/\.json$/, '.expected'), JSON_FIXTURES),
      'utf8',
    ).trim();
    const result = await tandem('validate', path);
    assert.equal(result.code, 1);
    assert.equal(result.err.trim(), `error: ${path} ${expected}`);
  });
}
