import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

/**
 * Bundles the reconciler Lambda: `npm run bundle` writes
 * dist/reconciler/index.js (handler `index.handler`, Node.js 22 runtime),
 * its source map beside it, and a package.json that makes it an ES module.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RECONCILER_ENTRY = join(ROOT, 'controller/lambda/handler.ts');
export const RECONCILER_OUTFILE = join(ROOT, 'dist/reconciler/index.js');

/**
 * ES module output, with `require` provided for the CommonJS packages inside
 * (pino) that load Node's built-ins with it.
 */
const REQUIRE_BANNER =
  "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);";

/** What the Lambda bundles in place of `thread-stream`: a class that says transports are left out. */
export const NO_THREAD_STREAM = join(ROOT, 'controller/lambda/no-thread-stream.cjs');

/** How every Lambda bundle is built, so the coldstart benchmark compares like with like. */
export const LAMBDA_BUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // The SDK's ES module builds, which esbuild can tree-shake.
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: 'external',
  legalComments: 'none',
  banner: { js: REQUIRE_BANNER },
  // Only the CLI reads the origin secret with the SDK (imported on that path alone); the Lambda uses the extension.
  external: ['@aws-sdk/client-secrets-manager'],
  // pino's transports run in worker threads (thread-stream); the Lambda logs to stdout and uses none.
  alias: { 'thread-stream': NO_THREAD_STREAM },
  logLevel: 'warning',
};

export interface BundleResult {
  outfile: string;
  bytes: number;
  metafile: Metafile;
}

/** Bundles `entry` (a file, or source text resolved from the repository root) into `outfile`. */
export async function bundle(
  entry: { file: string } | { source: string },
  outfile: string,
): Promise<BundleResult> {
  mkdirSync(dirname(outfile), { recursive: true });
  const { metafile } = await build({
    ...LAMBDA_BUILD,
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.source, resolveDir: ROOT, loader: 'ts', sourcefile: 'entry.ts' } }),
    outfile,
    // The metafile's paths are relative to the repository, wherever the build runs from.
    absWorkingDir: ROOT,
    metafile: true,
  });
  // Node treats index.js as an ES module only with this beside it (Lambda's zip has no other package.json).
  writeFileSync(join(dirname(outfile), 'package.json'), '{ "type": "module" }\n');
  return { outfile, bytes: statSync(outfile).size, metafile };
}

export function bundleReconciler(outfile = RECONCILER_OUTFILE): Promise<BundleResult> {
  return bundle({ file: RECONCILER_ENTRY }, outfile);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { outfile, bytes } = await bundleReconciler();
  console.log(`${outfile}: ${bytes} bytes`);
}
