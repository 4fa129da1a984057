import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { DynamoDBClient, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoSpecStore } from '../controller/providers/aws/store.ts';
import { ensureSpecTable } from '../controller/providers/local/store.ts';
import { demoDocument, newSim, passWithStore } from './support/world.ts';

/**
 * The README's `aws dynamodb update-item` recipes, as written there, sent to
 * the DynamoDB API (dynalite) against a spec `tandem apply` stored: each
 * changes the field it says and the reconciler reads the result; an invalid
 * edit changes nothing in the cloud.
 */

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, number>) => Server;
const server = dynalite({ createTableMs: 0 });
let client: DynamoDBClient;
let tables = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
after(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Words of a shell line that quotes with single quotes only, as the recipes do. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The README's update-item recipes, each as the UpdateItem input its flags make. */
function recipes(): { line: string; input: Record<string, unknown> }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/^aws dynamodb update-item .*$/gm)].map(([line]) => {
    const words = shellWords(line).slice(3);
    const flags: Record<string, string> = {};
    for (let i = 0; i < words.length; i += 2) flags[words[i]!] = words[i + 1]!;
    const json = (flag: string) => (flags[flag] === undefined ? undefined : JSON.parse(flags[flag]!));
    return {
      line,
      input: {
        TableName: flags['--table-name'],
        Key: json('--key'),
        UpdateExpression: flags['--update-expression'],
        ExpressionAttributeNames: json('--expression-attribute-names'),
        ExpressionAttributeValues: json('--expression-attribute-values'),
      },
    };
  });
}

async function demoStore() {
  tables += 1;
  const table = `tandem-recipes-${tables}`;
  await ensureSpecTable(client, table);
  const store = new DynamoSpecStore(client, table, 'us-east-1');
  const written = await store.putSpec('demo', demoDocument(), 0);
  return { table, store, written };
}

async function run(table: string, input: Record<string, unknown>, values?: Record<string, AttributeValue>) {
  await client.send(
    new UpdateItemCommand({
      ...(input as unknown as ConstructorParameters<typeof UpdateItemCommand>[0]),
      TableName: table,
      ...(values === undefined ? {} : { ExpressionAttributeValues: values }),
    }),
  );
}

test('the README has the four recipes, each one update-item line on the demo spec item', () => {
  const all = recipes();
  assert.equal(all.length, 4);
  for (const { input } of all) {
    assert.equal(input['TableName'], 'tandem');
    assert.deepEqual(input['Key'], { pk: { S: 'spec' }, sk: { S: 'demo' } });
  }
});

test('each recipe changes the field it names; the reconciler reads it at the same generation with a new hash', async () => {
  const expected = [
    (d: ReturnType<typeof demoDocument>) => (d.spec.canary!.weight = 50),
    (d: ReturnType<typeof demoDocument>) => delete d.spec.canary,
    (d: ReturnType<typeof demoDocument>) => ((d.spec as Record<string, unknown>)['paused'] = true),
    (d: ReturnType<typeof demoDocument>) => (d.spec.regions[0]!.maxTasks = 20),
  ];
  for (const [i, { line, input }] of recipes().entries()) {
    const { table, store, written } = await demoStore();
    await run(table, input);
    const read = (await store.getSpec('demo'))!;
    const document = demoDocument();
    expected[i]!(document);
    assert.deepEqual(read.document, document, line);
    assert.equal(read.generation, written.generation);
    assert.notEqual(read.hash, written.hash);
    assert.equal(read.problems, undefined);

    const report = await passWithStore(store);
    assert.equal(report.sites[0]?.problems, undefined, `${line}: the edited spec is valid`);
  }
});

test('an edit that makes the spec invalid changes nothing: the site is Invalid, naming the field, and what ran keeps running', async () => {
  const { table, store } = await demoStore();
  const sim = newSim(['us-east-1', 'eu-west-1']);
  const pass = () => passWithStore(store, sim);
  for (let i = 0; i < 4; i += 1) await pass();
  const before = sim.snapshot();

  const weight = recipes()[0]!.input;
  await run(table, weight, { ':w': { N: '150' } });
  sim.resetCalls();
  const report = await pass();
  const demo = report.sites.find((s) => s.name === 'demo')!;
  assert.deepEqual(
    demo.problems?.map((p) => p.field),
    ['spec.canary.weight'],
  );
  assert.equal(sim.cloudWrites().length, 0, 'nothing applied');
  assert.deepEqual(sim.snapshot(), before, 'the version before keeps serving');
  const status = report.statuses.get('demo');
  assert.equal(status?.conditions['Stalled']?.reason, 'InvalidSpec');
});
