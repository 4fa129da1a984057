// The README as a newcomer follows it: every command of its sh blocks, top to bottom in one shell,
// with `npm start` running in another, does what the README says next to it. Commands that need an
// AWS account cannot run here; the test says so for each, and runs every other one.
import assert from 'node:assert/strict';
import { exec, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../controller/cli/load.ts';
import { readEndpoints, type LocalEndpoints } from '../controller/providers/local/endpoints.ts';
import { assertNoTaskLeft, waitFor } from './support/local-cloud.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Each command line of the README's sh blocks, without its comment, in order. */
function readmeCommands(): string[] {
  const commands: string[] = [];
  for (const block of README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.replace(/\s+# .*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Where the commands run: a directory laid out like the checkout (its package.json, bin, specs
 * and node_modules, linked), so `npx tandem` and `npm start` work there as in the checkout while
 * the local cloud's and the simulated cloud's state (.tandem/) stay out of yours. Commands that
 * work on the checkout itself (typecheck, lint, schema) run in it.
 */
const scratch = mkdtempSync(join(tmpdir(), 'tandem-readme-'));
for (const entry of ['package.json', 'bin', 'specs', 'node_modules']) {
  symlinkSync(join(ROOT, entry), join(scratch, entry));
}
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A shell as a newcomer has one: no TANDEM_ settings of ours. */
const shellEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('TANDEM_')),
);

function sh(command: string, cwd: string, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    exec(
      command,
      { cwd, env: shellEnv, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The "other terminal": npm start, on free ports (the README's 8080, 8090 and 8000 may be taken on a test machine). */
let start: { child: ChildProcess; output: () => string; endpoints: LocalEndpoints } | undefined;

async function npmStart(): Promise<NonNullable<typeof start>> {
  const child = spawn(
    'npm',
    ['start', '--', '--cdn-port', '0', '--dashboard-port', '0', '--store-port', '0'],
    {
      cwd: scratch,
      env: shellEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(
    'npm start to say the site is up',
    () => (/local cloud is up/.test(output) ? true : undefined),
    60_000,
    () => Promise.resolve(output),
  );
  const endpoints = readEndpoints(join(scratch, '.tandem/local'));
  assert.ok(endpoints !== undefined, 'npm start wrote .tandem/local/endpoints.json');
  return { child, output: () => output, endpoints };
}

after(async () => {
  if (start === undefined) return;
  const exited = new Promise((resolve) => start!.child.once('exit', resolve));
  process.kill(-start.child.pid!, 'SIGINT');
  await exited;
});

/** What the CDN answers for `/` now: status and the region and version that served it. */
async function served(): Promise<{ status: number; region: string | null; version: string | null }> {
  const response = await fetch(new URL(`?readme=${Date.now()}-${Math.random()}`, start!.endpoints.cdn));
  await response.arrayBuffer();
  return {
    status: response.status,
    region: response.headers.get('x-tandem-region'),
    version: response.headers.get('x-tandem-version'),
  };
}

const local = (ran: Ran) => {
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout.split('\n')[0], 'From the local cloud (.tandem/local):');
};

interface Step {
  /** Why it does not run here; undefined: it runs. */
  skip?: string;
  /** Run it in the checkout rather than the scratch directory. */
  inCheckout?: boolean;
  timeoutMs?: number;
  /** Runs the command itself, for the one that is not a plain shell command here. */
  run?: () => Promise<void>;
  /** What the README says it does. */
  check?: (ran: Ran, t: TestContext) => Promise<void> | void;
}

const NEEDS_AWS = 'needs an AWS account and credentials, which the test machine does not have';

const STEPS: Record<string, Step> = {
  'npm ci && npm start': {
    // npm ci would replace the node_modules this test runs from; the suite runs after it.
    run: async () => {
      start = await npmStart();
      const output = start.output();
      assert.match(output, /Applied specs\/demo\.json as site "demo"/);
      assert.match(output, /tandem local cloud is up: site "demo" serves through the CDN/);
      assert.match(
        output,
        /site {7}http:\/\/127\.0\.0\.1:\d+\/ {3}\(the CDN: us-east-1 first, failing over to eu-west-1\)/,
      );
      assert.match(output, /dashboard {2}http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(
        output,
        /store {6}http:\/\/127\.0\.0\.1:\d+ {3}\(DynamoDB API, table "tandem", data in \.tandem\/local\/store\)/,
      );
      const page = await fetch(start.endpoints.cdn);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Welcome to version v[12]/);
      assert.equal((await fetch(start.endpoints.dashboard)).status, 200);
    },
  },
  'npm test': { skip: 'it is the suite this test runs in' },
  'npx tandem get': {
    check: async (ran) => {
      local(ran);
      assert.match(ran.stdout, /^SITE\s+GENERATION\s+OBSERVED\s+READY\s+REASON\s+CDN\s+REPORTED BY$/m);
      // Each region's reconciler reports; eu-west-1's status reaches us-east-1's replica a moment later.
      await waitFor(
        "each region's reconciler to have reported",
        async () =>
          /\seu-west-1, us-east-1$/m.test((await sh('npx tandem get', scratch)).stdout) ? true : undefined,
        15_000,
      );
      assert.match(ran.stdout, /^demo\s+1\s/m);
    },
  },
  'npx tandem describe demo': {
    check: (ran) => {
      local(ran);
      for (const part of ['Conditions:', 'Regions:', 'Scaling (why this many tasks):'])
        assert.ok(ran.stdout.includes(part), part);
      const regions = ran.stdout.slice(ran.stdout.indexOf('Regions:'));
      assert.ok(regions.indexOf('us-east-1  primary') < regions.indexOf('eu-west-1  failover'), regions);
      assert.match(ran.stdout, /Ready\s+(True|False)\s/);
    },
  },
  'npx tandem load --rps 20 --duration 30': {
    timeoutMs: 90_000,
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /^Sending 20 requests a second to http:\/\/127\.0\.0\.1:\d+\/ for 30 s/);
      const sent = /^Sent (\d+) requests in [\d.]+ s \([\d.]+ req\/s\): ok (\d+), failed (\d+)/m.exec(
        ran.stdout,
      );
      assert.ok(sent !== null, ran.stdout);
      assert.equal(Number(sent[1]), 600);
      assert.ok(Number(sent[2]) >= 599, `ok ${sent[2]} of 600`);
      assert.match(ran.stdout, /^By version: .*v1 \d+\.\d% .*v2 \d+\.\d%/m);
      assert.match(ran.stdout, /^By region: us-east-1 \d+\.\d%/m);
    },
  },
  'npx tandem fail-region us-east-1': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /us-east-1 is failed/);
      // "watch failover": the CDN serves from eu-west-1 at once, and the status says FailoverActive within passes.
      const now = await served();
      assert.deepEqual([now.status, now.region], [200, 'eu-west-1']);
      await waitFor(
        'FailoverActive in tandem describe',
        async () => {
          const described = await sh('npx tandem describe demo', scratch);
          return /FailoverActive\s+True/.test(described.stdout) ? true : undefined;
        },
        45_000,
      );
    },
  },
  'npx tandem heal-region us-east-1': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /us-east-1 is healed/);
      const { value } = await waitFor(
        'us-east-1 to serve again',
        async () => {
          const now = await served();
          return now.region === 'us-east-1' ? now : undefined;
        },
        // The CDN asks us-east-1 first again after 10 healthy metric periods (50 s), and a pass or two.
        90_000,
      );
      assert.equal(value.status, 200);
    },
  },
  [`sed 's/"weight": 15/"weight": 50/' specs/demo.json > my-demo.json`]: {
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      const written = JSON.parse(readFileSync(join(scratch, 'my-demo.json'), 'utf8')) as {
        spec: { canary: { weight: number } };
      };
      assert.equal(written.spec.canary.weight, 50);
    },
  },
  'npx tandem apply -f my-demo.json': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(
        ran.stdout.trim(),
        'site demo configured (generation 2) in the local cloud (.tandem/local)',
      );
      // "the split follows within a pass" (5 s): give it two, then half the requests go to v2.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const summary = await runLoad({ url: start!.endpoints.cdn, rps: 50, durationSeconds: 4 });
      const v2 = ((summary.byVersion['v2'] ?? 0) / summary.sent) * 100;
      assert.ok(Math.abs(v2 - 50) <= 5, `v2 served ${v2.toFixed(1)} %`);
    },
  },
  'npx tandem lose-region us-east-1': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /us-east-1 is lost/);
      const now = await served();
      assert.deepEqual([now.status, now.region], [200, 'eu-west-1'], 'eu-west-1 serves at once');
    },
  },
  'npx tandem describe demo --region eu-west-1': {
    timeoutMs: 60_000,
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.split('\n')[0], "From the local cloud (.tandem/local), eu-west-1's replica:");
      // "eu-west-1 carries the demand and takes over the CDN": once us-east-1 has missed 3 passes.
      await waitFor(
        'eu-west-1 to hold the CDN, with us-east-1 quiet',
        async () => {
          const described = await sh('npx tandem describe demo --region eu-west-1', scratch);
          const out = described.stdout;
          return /us-east-1 .*QUIET/.test(out) &&
            /eu-west-1 .*holds the global duties/.test(out) &&
            /FailoverActive\s+True/.test(out)
            ? true
            : undefined;
        },
        45_000,
      );
    },
  },
  'npx tandem apply -f specs/demo.json --region eu-west-1': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(
        ran.stdout.trim(),
        "site demo configured (generation 3) in the local cloud (.tandem/local), eu-west-1's replica",
      );
      // "an edit in the surviving replica takes effect there": the canary back to 15 % in eu-west-1.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const summary = await runLoad({ url: start!.endpoints.cdn, rps: 50, durationSeconds: 4 });
      const v2 = ((summary.byVersion['v2'] ?? 0) / summary.sent) * 100;
      assert.ok(Math.abs(v2 - 15) <= 7, `v2 served ${v2.toFixed(1)} %`);
      assert.equal(summary.byRegion['eu-west-1'], summary.sent, 'all from eu-west-1');
    },
  },
  'npx tandem restore-region us-east-1': {
    check: async (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /us-east-1 is back/);
      // "it catches up, converges and takes its duties back"; the CDN asks it first again once it has been
      // healthy for the window, 100 s here after a second move in a day (fail-region was the first).
      await waitFor(
        'us-east-1 to serve again and hold the CDN',
        async () => {
          const now = await served();
          const described = await sh('npx tandem describe demo', scratch);
          return now.region === 'us-east-1' &&
            /us-east-1 .*holds the global duties .*; observed generation 3/.test(described.stdout)
            ? true
            : undefined;
        },
        180_000,
        async () => ({
          served: await served(),
          describe: (await sh('npx tandem describe demo', scratch)).stdout,
        }),
      );
    },
  },
  'npx tandem demo': {
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /CreateDistribution/);
      assert.match(ran.stdout, /Converged: this round read the world and wrote nothing\./);
    },
  },
  'npx tandem validate specs/demo.json': {
    check: (ran) => assert.equal(ran.stdout.trim(), 'specs/demo.json: site demo is valid'),
  },
  'npx tandem apply -f specs/demo.json --state .tandem/sim': {
    check: (ran) =>
      assert.equal(
        ran.stdout.trim(),
        'site demo created (generation 1) in the simulated cloud (.tandem/sim)',
      ),
  },
  'npx tandem plan demo --state .tandem/sim': {
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.split('\n')[0], 'From the simulated cloud (.tandem/sim):');
      assert.match(ran.stdout, /^15 action\(s\)\.$/m);
    },
  },
  'npx tandem reconcile --once --state .tandem/sim': {
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /^Reconciling the simulated cloud \(\.tandem\/sim\):$/m);
      assert.match(ran.stdout, /^us-east-1 demo: 8 applied, 0 failed/m);
      assert.match(ran.stdout, /^eu-west-1 demo: 7 applied, 0 failed/m);
    },
  },
  'npx tandem promote demo --state .tandem/sim': {
    check: (ran) =>
      assert.equal(
        ran.stdout.trim(),
        'site demo: canary promoted to stable (generation 2) in the simulated cloud (.tandem/sim)',
      ),
  },
  'npx tandem delete demo --state .tandem/sim': {
    check: async (ran) => {
      assert.equal(
        ran.stdout.trim(),
        'site demo deleted from the simulated cloud (.tandem/sim); its resources are removed over the next passes',
      );
      // The simulated cloud's commands never touched the local cloud: its demo is still at generation 3, served.
      const get = await sh('npx tandem get', scratch);
      local(get);
      assert.match(get.stdout, /^demo\s+3\s/m);
      assert.equal((await served()).status, 200);
    },
  },
  // The spec-edit recipes target a table in AWS; test/store-recipes.test.ts runs each expression on dynalite.
  [`aws dynamodb update-item --table-name tandem --key '{"pk":{"S":"spec"},"sk":{"S":"demo"}}' --update-expression 'SET #d.#s.#c.#w = :w' --expression-attribute-names '{"#d":"spec","#s":"spec","#c":"canary","#w":"weight"}' --expression-attribute-values '{":w":{"N":"50"}}'`]:
    { skip: NEEDS_AWS },
  [`aws dynamodb update-item --table-name tandem --key '{"pk":{"S":"spec"},"sk":{"S":"demo"}}' --update-expression 'REMOVE #d.#s.#c' --expression-attribute-names '{"#d":"spec","#s":"spec","#c":"canary"}'`]:
    { skip: NEEDS_AWS },
  [`aws dynamodb update-item --table-name tandem --key '{"pk":{"S":"spec"},"sk":{"S":"demo"}}' --update-expression 'SET #d.#s.#p = :p' --expression-attribute-names '{"#d":"spec","#s":"spec","#p":"paused"}' --expression-attribute-values '{":p":{"BOOL":true}}'`]:
    { skip: NEEDS_AWS },
  [`aws dynamodb update-item --table-name tandem --key '{"pk":{"S":"spec"},"sk":{"S":"demo"}}' --update-expression 'SET #d.#s.#r[0].#m = :m' --expression-attribute-names '{"#d":"spec","#s":"spec","#r":"regions","#m":"maxTasks"}' --expression-attribute-values '{":m":{"N":"20"}}'`]:
    { skip: NEEDS_AWS },
  'npx cdk bootstrap aws://ACCOUNT/us-east-1 aws://ACCOUNT/eu-west-1': { skip: NEEDS_AWS },
  'TANDEM_ACCOUNT=ACCOUNT npm run deploy': { skip: NEEDS_AWS },
  'npx tandem apply -f specs/demo.json --table tandem --region us-east-1': { skip: NEEDS_AWS },
  'npx tandem plan demo --table tandem --region us-east-1': { skip: NEEDS_AWS },
  'npx tandem reconcile --once --table tandem --region us-east-1 --platform platform.json': {
    skip: NEEDS_AWS,
  },
  'npx tandem describe demo --table tandem --region us-east-1': { skip: NEEDS_AWS },
  'npm run typecheck': {
    inCheckout: true,
    timeoutMs: 300_000,
    check: (ran) => assert.equal(ran.code, 0, ran.stdout + ran.stderr),
  },
  'npm run lint': {
    inCheckout: true,
    timeoutMs: 300_000,
    check: (ran) => assert.equal(ran.code, 0, ran.stdout + ran.stderr),
  },
  'npm run bench': {
    skip: 'runs every benchmark for minutes; npm run bench -- <name> runs one, and docs/performance.md keeps their results',
  },
  'npm run mutate': {
    skip: 'mutation testing takes hours on two cores; docs/testing.md says how to run it and what it found',
  },
  'npm run schema': {
    inCheckout: true,
    check: (ran) => {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /wrote .*specs\/site\.schema\.json/);
      // The committed schema is current (spec.test.ts holds it to the valibot schema), so this rewrote it unchanged.
    },
  },
};

test('every command in the README’s sh blocks is one this test runs, or says why it cannot', () => {
  // In the order they first appear; a command shown twice (npm test) is one step.
  assert.deepEqual([...new Set(readmeCommands())], Object.keys(STEPS));
});

test('the README’s commands, top to bottom with npm start in another terminal, do what it says', async (t) => {
  try {
    for (const command of readmeCommands()) {
      const step = STEPS[command];
      assert.ok(step !== undefined, `no step for: ${command}`);
      await t.test(command, step.skip === undefined ? {} : { skip: step.skip }, async (t) => {
        if (step.run !== undefined) return step.run();
        const ran = await sh(command, step.inCheckout ? ROOT : scratch, step.timeoutMs);
        await step.check?.(ran, t);
      });
    }
  } finally {
    if (start !== undefined) {
      const { child, endpoints } = start;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGINT');
      await exited;
      start = undefined;
      assertNoTaskLeft(endpoints.runId);
    }
  }
});
