import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Metafile } from 'esbuild';
import { requiredLibrariesEntry, valibotFunctions } from '../bench/coldstart.ts';
import { bundle, bundleReconciler } from '../controller/lambda/bundle.ts';

/** A metafile whose one output holds `inputs`, as esbuild writes it. */
function metafileWith(inputs: readonly string[]): Metafile {
  const output = {
    bytes: 0,
    imports: [],
    exports: [],
    inputs: Object.fromEntries(inputs.map((path) => [path, { bytesInOutput: 1 }])),
  };
  return { inputs: {}, outputs: { 'index.js.map': { ...output, inputs: {} }, 'index.js': output } };
}

test('the required-libraries entry exports each client with the commands the reconciler bundles, constructing none', () => {
  const entry = requiredLibrariesEntry(
    metafileWith([
      'node_modules/@aws-sdk/client-ecs/dist-es/commands/UpdateServiceCommand.js',
      'node_modules/@aws-sdk/client-ecs/dist-es/commands/CreateServiceCommand.js',
      'node_modules/@aws-sdk/client-ecs/dist-es/commands/index.js',
      'node_modules/@aws-sdk/client-cloudwatch/dist-es/commands/GetMetricDataCommand.js',
      // The credential chain's own clients come with the five clients.
      'node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/commands/AssumeRoleCommand.js',
      'controller/providers/aws/ecs.ts',
      'controller/providers/local/endpoints.ts',
    ]),
  );
  const exports = entry.split('\n').filter((line) => line.startsWith('export {'));
  assert.deepEqual(exports, [
    "export { CloudFrontClient } from '@aws-sdk/client-cloudfront';",
    "export { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';",
    "export { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "export { CreateServiceCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';",
    "export { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';",
    // The valibot functions tandem's files call (here endpoints.ts), exported, not called.
    "export { array, number, object, record, safeParse, string } from 'valibot';",
  ]);
  // The reconciler constructs its clients on its first invocation, not at import.
  assert.doesNotMatch(entry, /new \w+Client\(/);
  assert.ok(entry.includes("from 'pino'"), 'the entry has pino');
});

test('the valibot functions a file calls are read with or without type arguments, and only through valibot', () => {
  const source = [
    "import * as v from 'valibot';",
    'const a = v.pipe(v.number(), v.minValue<number, number, string>(1, "x"));',
    'const b = v.rawCheck<Site>(({ dataset }) => dataset);',
    'type A = v.InferOutput<typeof a>;',
  ].join('\n');
  assert.deepEqual(valibotFunctions(source), ['pipe', 'number', 'minValue', 'rawCheck']);
  assert.deepEqual(valibotFunctions("import * as z from 'zod';\nz.string();"), []);
});

test('the required libraries hold every package the reconciler bundle holds, and none of tandem’s code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-coldstart-test-'));
  try {
    const reconciler = await bundleReconciler(join(dir, 'reconciler/index.js'));
    const required = await bundle(
      { source: requiredLibrariesEntry(reconciler.metafile) },
      join(dir, 'required/index.js'),
    );
    const sources = (metafile: Metafile) => {
      const output = Object.entries(metafile.outputs).find(([name]) => name.endsWith('.js'))![1];
      return Object.keys(output.inputs);
    };
    const packages = (metafile: Metafile) =>
      new Set(
        sources(metafile).flatMap((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? []),
      );
    assert.deepEqual(packages(required.metafile), packages(reconciler.metafile));
    // The stand-in for pino's thread-stream is a library's part, bundled in both.
    assert.deepEqual(
      sources(required.metafile).filter((path) => path.startsWith('controller/')),
      ['controller/lambda/no-thread-stream.cjs'],
    );
    assert.ok(
      sources(reconciler.metafile).some((path) => path.startsWith('controller/')),
      'the reconciler bundle has tandem’s code',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
