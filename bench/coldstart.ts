import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { bundle, bundleReconciler, ROOT, type BundleResult } from '../controller/lambda/bundle.ts';

/**
 * What a cold start costs: the size of the reconciler Lambda's bundle and the
 * time a fresh Node.js process takes to import it, against a bundle of just
 * the five SDK clients it needs, built the same way in the same run.
 */

const SIZE_GOAL_BYTES = 800 * 1024;
const IMPORT_RATIO_GOAL = 1.2;
const IMPORT_RUNS = 25;

/** The five clients the reconciler talks to, by package. */
const CLIENTS: Readonly<Record<string, string>> = {
  '@aws-sdk/client-cloudfront': 'CloudFrontClient',
  '@aws-sdk/client-cloudwatch': 'CloudWatchClient',
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/client-ecs': 'ECSClient',
  '@aws-sdk/client-elastic-load-balancing-v2': 'ElasticLoadBalancingV2Client',
};

/** The baseline: the five clients, imported and constructed, nothing else. */
const BARE_CLIENTS_ENTRY = [
  ...Object.entries(CLIENTS).map(([pkg, client]) => `import { ${client} } from '${pkg}';`),
  `const region = 'us-east-1';`,
  `export const clients = [${Object.values(CLIENTS)
    .map((client) => `new ${client}({ region })`)
    .join(', ')}];`,
].join('\n');

/**
 * What the reconciler cannot leave out, with none of tandem's own code: the
 * five clients, imported but not constructed (the reconciler constructs them
 * on its first invocation), and the SDK commands it sends (read from its
 * bundle, so the list stays true); pino's logger as the handler creates it;
 * the valibot functions tandem's schemas are built with (read from tandem's
 * files in the bundle), none of them called. Its import over the bare
 * clients' is what these libraries cost; the reconciler's over it is what
 * tandem's code costs, building its schemas included.
 */
export function requiredLibrariesEntry(reconciler: Metafile): string {
  const exports = new Map(Object.entries(CLIENTS).map(([pkg, client]) => [pkg, new Set([client])]));
  const valibot = new Set<string>();
  for (const path of Object.keys(bundleOutput(reconciler).inputs)) {
    if (!path.includes('node_modules/')) {
      for (const name of valibotFunctions(readFileSync(join(ROOT, path), 'utf8'))) valibot.add(name);
      continue;
    }
    const match = /node_modules\/(@aws-sdk\/client-[\w-]+)\/dist-es\/commands\/(\w+Command)\.js$/.exec(path);
    if (match === null) continue;
    const [pkg, command] = [match[1]!, match[2]!];
    exports.set(pkg, (exports.get(pkg) ?? new Set<string>()).add(command));
  }
  return [
    ...[...exports].map(([pkg, names]) => `export { ${[...names].sort().join(', ')} } from '${pkg}';`),
    ...(valibot.size === 0 ? [] : [`export { ${[...valibot].sort().join(', ')} } from 'valibot';`]),
    `import { pino } from 'pino';`,
    `export const log = pino({ level: 'info', base: { service: 'tandem-reconciler' } });`,
  ].join('\n');
}

/** The valibot functions a source file calls: `v.name(` or `v.name<…>(` of `import * as v from 'valibot'`. */
export function valibotFunctions(source: string): string[] {
  const namespace = /^import \* as (\w+) from 'valibot';$/m.exec(source)?.[1];
  if (namespace === undefined) return [];
  const call = new RegExp(`\\b${namespace}\\.(\\w+)(?:<[^>()]*>)?\\(`, 'g');
  return [...source.matchAll(call)].map((m) => m[1]!);
}

interface Measured {
  name: string;
  outfile: string;
  bytes: number;
  gzipBytes: number;
  importMs: number[];
  metafile: Metafile;
}

export async function runColdstartBenchmark(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-coldstart-'));
  try {
    console.log(
      'coldstart: the reconciler Lambda bundle (controller/lambda/handler.ts) against a bundle of the five bare',
    );
    console.log(
      '  SDK clients (ECS, ELBv2, CloudFront, CloudWatch, DynamoDB: imported and constructed), both built by',
    );
    console.log(
      '  controller/lambda/bundle.ts (esbuild, platform node, target node22, ESM, minified, --main-fields=module,main)',
    );
    console.log(
      `  import time: ${IMPORT_RUNS} rounds; each round imports every bundle once in a fresh \`node\` process, timing`,
    );
    console.log(
      "  `await import(bundle)`, in alternating order; a ratio is the median of the rounds' ratios, since this",
    );
    console.log("  machine's speed drifts between rounds more than between two imports of one round");
    console.log('');

    const reconciler = await bundleReconciler(join(dir, 'reconciler/index.js'));
    const required = await bundle(
      { source: requiredLibrariesEntry(reconciler.metafile) },
      join(dir, 'required-libraries/index.js'),
    );
    const bare = await bundle({ source: BARE_CLIENTS_ENTRY }, join(dir, 'bare-clients/index.js'));
    const measured = [
      measure('reconciler', reconciler),
      measure('required libraries', required),
      measure('bare clients', bare),
    ];
    for (let round = 0; round < IMPORT_RUNS; round += 1) {
      const order = round % 2 === 0 ? measured : [...measured].reverse();
      for (const m of order) m.importMs.push(importOnce(m.outfile));
    }
    const [ours, libraries, baseline] = measured as [Measured, Measured, Measured];
    const importRatio = (m: Measured) =>
      median(m.importMs.map((ms, round) => ms / baseline.importMs[round]!));

    printTable(
      ['bundle', 'bytes', 'KB', 'gzip bytes', 'import median', 'min', 'max', 'import / bare clients'],
      measured.map((m) => [
        m.name,
        String(m.bytes),
        (m.bytes / 1024).toFixed(0),
        String(m.gzipBytes),
        fmtMs(median(m.importMs)),
        fmtMs(Math.min(...m.importMs)),
        fmtMs(Math.max(...m.importMs)),
        `${importRatio(m).toFixed(2)}×`,
      ]),
    );
    console.log('');
    console.log(
      '  required libraries: the five clients (imported; the reconciler constructs them later), the SDK commands it sends, pino, the valibot',
    );
    console.log(
      `  functions its schemas use, without tandem's code: they take ${importRatio(libraries).toFixed(2)}× alone, ` +
        `and tandem's code (${((ours.bytes - libraries.bytes) / 1024).toFixed(0)} KB, building its schemas included) ` +
        `adds ${(importRatio(ours) - importRatio(libraries)).toFixed(2)}×`,
    );
    console.log(`  largest parts of the reconciler bundle: ${largestParts(ours.metafile, 8)}`);
    console.log('');

    const goals = [
      {
        name: `the reconciler bundle is at most ${SIZE_GOAL_BYTES / 1024} KB minified`,
        ok: ours.bytes <= SIZE_GOAL_BYTES,
        measured: `${(ours.bytes / 1024).toFixed(0)} KB (${ours.bytes} bytes; gzip ${(ours.gzipBytes / 1024).toFixed(0)} KB)`,
      },
      {
        name: `its import takes at most ${IMPORT_RATIO_GOAL}× the bare clients' import`,
        ok: importRatio(ours) <= IMPORT_RATIO_GOAL,
        measured: `${importRatio(ours).toFixed(2)}× (medians ${fmtMs(median(ours.importMs))} vs ${fmtMs(median(baseline.importMs))})`,
      },
    ];
    console.log('goals');
    for (const goal of goals)
      console.log(`  ${goal.ok ? 'PASS' : 'FAIL'}  ${goal.name}\n        measured: ${goal.measured}`);
    const ok = goals.every((g) => g.ok);
    console.log('');
    console.log(`coldstart: ${ok ? 'all goals PASS' : 'some goals FAIL'}`);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(name: string, result: BundleResult): Measured {
  const content = readFileSync(result.outfile);
  return {
    name,
    outfile: result.outfile,
    bytes: result.bytes,
    gzipBytes: gzipSync(content).length,
    importMs: [],
    metafile: result.metafile,
  };
}

/**
 * A fresh process imports the bundle once and reports how long the import
 * took. No AWS settings are needed: nothing is called at import.
 */
function importOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const ms = Number(out.trim().split('\n').at(-1));
  if (!Number.isFinite(ms)) throw new Error(`importing ${file} printed ${JSON.stringify(out)}`);
  return ms;
}

/** Bytes in the output by package (or by source folder for our own code), largest first. */
function largestParts(metafile: Metafile, count: number): string {
  const parts = new Map<string, number>();
  for (const [path, input] of Object.entries(bundleOutput(metafile).inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
    parts.set(pkg, (parts.get(pkg) ?? 0) + input.bytesInOutput);
  }
  return [...parts.entries()]
    .sort(([, a], [, b]) => b - a)
    .slice(0, count)
    .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`)
    .join(', ');
}

/** The bundle's JavaScript output (the other is its source map). */
function bundleOutput(metafile: Metafile): Metafile['outputs'][string] {
  const output = Object.entries(metafile.outputs).find(([name]) => name.endsWith('.js'))?.[1];
  if (output === undefined) throw new Error('the bundle has no .js output');
  return output;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmtMs(ms: number): string {
  return `${ms.toFixed(0)} ms`;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    '  ' + cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
