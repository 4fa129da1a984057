// `npm start` as a newcomer runs it: the local cloud in its own process, serving the demo site
// through the CDN within 30 s, and leaving nothing behind on Ctrl-C.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readEndpoints, runningLocalCloud } from '../controller/providers/local/endpoints.ts';
import type { PassReport } from '../controller/reconcile/pass.ts';
import {
  assertNoTaskLeft,
  leaveTableCreating,
  startTestCloud,
  TANDEM,
  waitFor,
} from './support/local-cloud.ts';

/** `tandem up`'s flags for a test: a fresh directory, the store in memory, free ports. */
const upFlags = (dir: string) => [
  '--dir',
  dir,
  '--in-memory',
  '--cdn-port',
  '0',
  '--dashboard-port',
  '0',
  '--store-port',
  '0',
];

test('npm start says it is up once the demo page and its image are served through the CDN, within 30 s, and Ctrl-C leaves no process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-start-'));
  const started = Date.now();
  // npm start itself, in its own process group as in a terminal, on free ports so it never collides with yours.
  const child = spawn('npm', ['start', '--', ...upFlags(dir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const { value: endpoints } = await waitFor('the endpoints file', () => readEndpoints(dir), 15_000);
    // The banner says the site is up only once it serves: the first request after it gets the page.
    await waitFor('the banner', () => (/local cloud is up/.test(output) ? true : undefined), 30_000);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds <= 30, `the page took ${seconds} s`);
    assert.match(
      output,
      /tandem local cloud is up: site "demo" serves through the CDN \(\d+\.\d s after start\)/,
    );
    const response = await fetch(endpoints.cdn);
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /Welcome to version v[12]/);
    const src = /<img src="([^"]+)"/.exec(html)?.[1];
    assert.ok(src !== undefined, 'the page references an image');
    const image = await fetch(new URL(src, endpoints.cdn));
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await image.arrayBuffer());
    assert.deepEqual(
      [...bytes.subarray(0, 8)],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      'PNG bytes',
    );

    assert.match(output, /site {7}http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(output, /dashboard {2}http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(output, /store {6}http:\/\/127\.0\.0\.1:\d+/);

    // Ctrl-C: the terminal signals the whole foreground process group.
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    assert.match(output, /Stopped; no process is left running/);
    assert.equal(readEndpoints(dir), undefined, 'the endpoints file is removed');
    assertNoTaskLeft(endpoints.runId);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
});

test('if tandem up is killed outright, its tasks stop by themselves and the CLI stops trusting its endpoints file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-kill-'));
  const child = spawn(process.execPath, [TANDEM, 'up', ...upFlags(dir)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const { value: endpoints } = await waitFor('the endpoints file', () => readEndpoints(dir), 15_000);
    await waitFor(
      'tasks to run',
      async () => {
        const local = (await (await fetch(new URL('api/local', endpoints.dashboard))).json()) as {
          taskPids: number[];
        };
        return local.taskPids.length >= 4 ? true : undefined;
      },
      20_000,
    );
    child.kill('SIGKILL');
    await exited;
    await waitFor(
      'every task to stop',
      () => {
        try {
          assertNoTaskLeft(endpoints.runId);
          return true;
        } catch {
          return undefined;
        }
      },
      15_000,
    );
    assert.equal(await runningLocalCloud(dir), undefined);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('tandem up with an invalid --spec names each problem and starts nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bad-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'tandem.dev/v1', kind: 'Site', metadata: { name: 'x' } }));
  const result = spawnSync(process.execPath, [TANDEM, 'up', ...upFlags(dir), '--spec', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 1);
  assert.match(result.stderr, new RegExp(`--spec ${file} is invalid; nothing was started`));
  assert.match(result.stderr, /spec is required/);
  assert.equal(readEndpoints(dir), undefined, 'no local cloud was started');
});

test('when the store cannot be used, tandem up says why, stops everything it started and exits non-zero', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-stuck-'));
  // The store's table was left CREATING: every item call would fail with ResourceNotFoundException.
  leaveTableCreating(join(dir, 'store'));
  const child = spawn(process.execPath, [TANDEM, 'up', ...upFlags(dir).filter((f) => f !== '--in-memory')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 40_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  assert.equal(code, 1, `tandem up exited with ${code}; stderr: ${stderr}`);
  assert.match(stderr, /table tandem is still CREATING after \d+ s .*: delete .* to start afresh/);
  assert.equal(readEndpoints(dir), undefined, 'no endpoints file is left');
});

test('the spec tandem up applies on start is stored before the first pass, which converges it', async () => {
  const reports: PassReport[] = [];
  const document = JSON.parse(
    readFileSync(new URL('../specs/demo.json', import.meta.url), 'utf8'),
  ) as unknown;
  const { cloud, stop } = await startTestCloud({
    applyOnStart: { name: 'demo', document },
    onPass: (report) => reports.push(report),
  });
  try {
    assert.equal(cloud.appliedOnStart, true);
    await waitFor('the first pass', () => (reports.length > 0 ? true : undefined), 15_000);
    const first = reports[0]!.sites.find((s) => s.name === 'demo');
    assert.ok(first !== undefined, 'the first pass saw the site');
    assert.ok((first.applied?.results.length ?? 0) > 0, 'and acted on it');
  } finally {
    await stop();
  }
});
