import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { CloudError } from '../controller/errors.ts';
import { documentAttributes } from '../controller/providers/aws/spec-item.ts';
import { DynamoSpecStore, type DynamoSpecStoreOptions } from '../controller/providers/aws/store.ts';
import { SimulatedCloud, specHash } from '../controller/providers/sim/cloud.ts';
import { reconcilePass } from '../controller/reconcile/pass.ts';
import { ensureSpecTable } from '../controller/providers/local/store.ts';
import { storeContract } from './support/store-contract.ts';
import { demoDocument, editSpecInPlace, newSim, passWithStore, simNow, specItem } from './support/world.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, number>) => Server;

// One in-memory DynamoDB for the whole file; every test gets its own table.
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
let client: DynamoDBClient;
let tables = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

after(async () => {
  client.destroy();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

async function createTable(): Promise<string> {
  tables += 1;
  const name = `tandem-test-${tables}`;
  await ensureSpecTable(client, name);
  return name;
}

async function rawItem(
  table: string,
  pk: string,
  sk: string,
): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return Item;
}

async function putRaw(table: string, item: Record<string, AttributeValue>): Promise<void> {
  await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/** `SET #p0.#p1... = :value` on the spec map, as `aws dynamodb update-item` does. */
async function setField(
  table: string,
  name: string,
  path: readonly (string | number)[],
  value: unknown,
): Promise<void> {
  const names: Record<string, string> = { '#spec': 'spec' };
  const expression = path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      names[`#p${i}`] = key;
      return `.#p${i}`;
    })
    .join('');
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'spec' }, sk: { S: name } },
      UpdateExpression: `SET #spec${expression} = :value`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':value': documentAttributes(value, JSON.stringify(value))['spec']! },
    }),
  );
}

async function freshStore(options: DynamoSpecStoreOptions = {}) {
  const table = await createTable();
  return { table, store: new DynamoSpecStore(client, table, 'us-east-1', options) };
}

storeContract({
  label: 'DynamoSpecStore on dynalite',
  async fresh() {
    // Pages of 3 items, so the contract's listings also cross page boundaries.
    const { table, store } = await freshStore({ pageSize: 3 });
    return {
      store,
      rawSpec: (name) => rawItem(table, 'spec', name),
      // As a person does in the console: the map replaced in place, the generation left alone.
      async editDocumentDirectly(name, document) {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: 'spec' }, sk: { S: name } },
            UpdateExpression: 'SET #spec = :spec',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#spec': 'spec' },
            ExpressionAttributeValues: {
              ':spec': documentAttributes(document, JSON.stringify(document))['spec']!,
            },
          }),
        );
      },
      setField: (name, path, value) => setField(table, name, path, value),
    };
  },
});

storeContract({
  label: 'SimulatedCloud store',
  async fresh() {
    const sim = new SimulatedCloud();
    return {
      store: sim.store,
      rawSpec: async (name) => specItem(sim, name),
      async editDocumentDirectly(name, document) {
        editSpecInPlace(sim, name, document);
      },
      async setField(name, path, value) {
        const document = structuredClone((await sim.store.getSpec(name))!.document) as Record<
          string,
          unknown
        >;
        const parent = path
          .slice(0, -1)
          .reduce<Record<string, unknown>>((at, key) => at[key] as Record<string, unknown>, document);
        parent[path.at(-1)!] = value;
        editSpecInPlace(sim, name, document);
      },
    };
  },
});

test('specs, edits, statuses and the lease are items keyed as docs/store.md says', async () => {
  const { table, store } = await freshStore();
  await store.putSpec('alpha', { any: 'thing' }, 0);
  await store.acquireLease('me', 60, 1_000);
  const spec = await rawItem(table, 'spec', 'alpha');
  assert.equal(spec?.['generation']?.N, '1');
  assert.deepEqual(spec?.['spec'], { M: { any: { S: 'thing' } } });
  assert.equal(spec?.['document'], undefined);
  assert.deepEqual(spec?.['lineage'], {
    M: { region: { S: 'us-east-1' }, seen: { M: { 'us-east-1': { N: '1' } } } },
  });
  const edit = await rawItem(table, 'edit', 'alpha#us-east-1');
  assert.equal(edit?.['seq']?.N, '1');
  assert.equal(edit?.['generation']?.N, '1');
  const lease = await rawItem(table, 'lease', 'us-east-1');
  assert.equal(lease?.['holder']?.S, 'me');
  assert.equal(lease?.['expiresAt']?.N, '61000');
  await store.releaseLease('me', 2_000);
  const released = await rawItem(table, 'lease', 'us-east-1');
  assert.equal(released?.['holder'], undefined);
  assert.equal(released?.['heartbeatAt']?.N, '2000');
});

test('a status item holds the status as a map, so the console shows its fields', async () => {
  const { table, store } = await freshStore();
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await store.putSpec('demo', demoDocument(), 0);
  await reconcilePass({
    ports: { ...sim.ports(), store },
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  const item = await rawItem(table, 'status', 'demo#us-east-1');
  assert.equal(item?.['revision']?.N, '1');
  const status = item?.['status']?.M;
  assert.equal(status?.['region']?.S, 'us-east-1');
  assert.equal(status?.['observedGeneration']?.N, '1');
  assert.ok(status?.['conditions']?.M?.['Ready']?.M?.['status']?.S !== undefined);
  assert.ok(status?.['regions']?.M?.['us-east-1']?.M?.['stable']?.M !== undefined);
});

test('listing follows LastEvaluatedKey across every page', async () => {
  const { store } = await freshStore({ pageSize: 2 });
  const names = Array.from({ length: 9 }, (_, i) => `site-${i}`);
  await Promise.all(names.map((name) => store.putSpec(name, { name }, 0)));
  assert.deepEqual(
    (await store.listSpecs()).map((s) => s.name),
    names,
  );
});

test('a malformed spec item is reported naming the item and field, and the other sites are still listed', async () => {
  const reported: CloudError[] = [];
  const { table, store } = await freshStore({ onMalformed: (e) => reported.push(e) });
  await store.putSpec('good', demoDocument(), 0);
  await putRaw(table, {
    pk: { S: 'spec' },
    sk: { S: 'broken' },
    generation: { N: '3' },
    document: { S: '{"apiVersion": ' },
  });
  await putRaw(table, {
    pk: { S: 'spec' },
    sk: { S: 'no-generation' },
    generation: { S: 'three' },
    document: { S: '{}' },
  });

  const specs = new Map((await store.listSpecs()).map((s) => [s.name, s]));
  assert.deepEqual([...specs.keys()].sort(), ['broken', 'good', 'no-generation']);
  assert.deepEqual(specs.get('good')?.document, demoDocument());
  assert.equal(specs.get('broken')?.document, '{"apiVersion": ', 'the text as read');
  assert.equal(specs.get('broken')?.generation, 3);
  assert.equal(specs.get('no-generation')?.generation, 0, 'an unreadable generation reads as absent');

  assert.equal(reported.length, 2);
  assert.ok(reported.every((e) => e.kind === 'Invalid'));
  const [broken, noGeneration] = [...reported].sort((a, b) => (a.resource < b.resource ? -1 : 1));
  assert.match(
    broken!.message,
    /pk=spec sk=broken in table tandem-test-\d+: field document is not valid JSON/,
  );
  assert.match(
    noGeneration!.message,
    /sk=no-generation .*field generation must be a number \(found "three"\)/,
  );
});

test('a site whose item is malformed is marked Invalid by a pass; the other site is reconciled', async () => {
  const { table, store } = await freshStore({ onMalformed: () => {} });
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await store.putSpec('demo', demoDocument(), 0);
  await putRaw(table, {
    pk: { S: 'spec' },
    sk: { S: 'broken' },
    generation: { N: '1' },
    document: { S: 'oops' },
  });
  const ports = { ...sim.ports(), store };
  const report = await reconcilePass({
    ports,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  const statuses = new Map((await store.listStatuses()).map((s) => [s.name, s.status]));
  assert.equal(statuses.get('broken')?.conditions.Invalid?.status, 'True');
  assert.ok((report.sites.find((s) => s.name === 'demo')?.plan?.actions.length ?? 0) > 0);
  assert.equal(statuses.get('demo')?.conditions.Invalid, undefined);
});

test('a pass over an unchanged world writes no status: statuses read back exactly as written', async () => {
  const { store } = await freshStore();
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await store.putSpec('demo', demoDocument(), 0);
  const ports = { ...sim.ports(), store };
  for (let i = 0; i < 5; i += 1) {
    await reconcilePass({ ports, platform: sim.platform, region: 'us-east-1', now: simNow(sim) });
    sim.tick();
  }
  const report = await reconcilePass({
    ports,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  assert.equal(report.statusWrites, 0);
  assert.equal((await store.listStatuses())[0]?.status.conditions.Ready?.status, 'True');
});

test('a malformed status item is reported and left out: that site loses its history, no other site is touched', async () => {
  const reported: CloudError[] = [];
  const { table, store } = await freshStore({ onMalformed: (e) => reported.push(e) });
  const sim = newSim(['us-east-1', 'eu-west-1']);
  for (const name of ['alpha', 'beta']) {
    const document = demoDocument();
    document.metadata.name = name;
    await store.putSpec(name, document, 0);
  }
  const ports = { ...sim.ports(), store };
  await reconcilePass({ ports, platform: sim.platform, region: 'us-east-1', now: simNow(sim) });
  // Written by hand, or by another version: its region has no scaling decision.
  const alpha = (await rawItem(table, 'status', 'alpha#us-east-1'))!;
  const body = alpha['status']!.M!;
  const region = body['regions']!.M!['us-east-1']!.M!;
  region['scaling'] = { M: { history: { L: [] } } };
  await putRaw(table, alpha);

  const listed = await store.listStatuses();
  assert.deepEqual(
    listed.map((s) => [s.name, s.unreadable ?? false]),
    [
      ['alpha', true],
      ['beta', false],
    ],
  );
  assert.equal(listed[0]!.revision, 1, 'its revision is kept, so the next write replaces it');
  assert.match(
    reported[0]!.message,
    /sk=alpha#us-east-1 .*field status\.regions\.us-east-1\.scaling\.decision/,
  );
  sim.tick();
  const report = await reconcilePass({
    ports,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  assert.deepEqual(
    report.sites.map((s) => s.name),
    ['alpha', 'beta'],
    'the pass reconciles both sites',
  );
  assert.equal(report.statuses.get('alpha')!.regions['us-east-1']!.scaling!.decision.tasks, 3);
  const [repaired] = await store.listStatuses();
  assert.equal(repaired?.unreadable, undefined, "alpha's status is written afresh over the unreadable one");
  assert.equal(repaired?.revision, 2);
});

test('a status item whose forecast is not one is reported and left out, and the site reconciled', async () => {
  const reported: CloudError[] = [];
  const { table, store } = await freshStore({ onMalformed: (e) => reported.push(e) });
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await store.putSpec('demo', demoDocument(), 0);
  const ports = { ...sim.ports(), store };
  await reconcilePass({ ports, platform: sim.platform, region: 'us-east-1', now: simNow(sim) });
  const item = (await rawItem(table, 'status', 'demo#us-east-1'))!;
  const scaling = item['status']!.M!['regions']!.M!['us-east-1']!.M!['scaling']!.M!;
  scaling['forecast'] = {
    M: { readAt: { N: '1' }, value: { M: { from: { N: '0' }, requests: { S: 'lots' }, basis: { S: 'x' } } } },
  };
  await putRaw(table, item);
  const [listed] = await store.listStatuses();
  assert.equal(listed?.unreadable, true);
  assert.match(reported[0]!.message, /field status\.regions\.us-east-1\.scaling\.forecast\.value\.requests/);
  sim.tick();
  const report = await reconcilePass({
    ports,
    platform: sim.platform,
    region: 'us-east-1',
    now: simNow(sim),
  });
  assert.equal(report.statuses.get('demo')!.regions['us-east-1']!.scaling!.decision.tasks, 3);
});

test("a status item unreadable elsewhere keeps what still reads: its region's task counts, scaling memory and CDN, and the status says so", async () => {
  const reported: CloudError[] = [];
  const { table, store } = await freshStore({ onMalformed: (e) => reported.push(e) });
  const sim = newSim(['us-east-1', 'eu-west-1']);
  await store.putSpec('demo', demoDocument(), 0);
  for (let i = 0; i < 3; i += 1) {
    await passWithStore(store, sim);
    sim.tick();
  }
  const good = (await store.listStatuses())[0]!.status;
  assert.ok(good.regions['us-east-1']!.scaling !== undefined);
  // A condition edited by hand into something no version writes.
  const item = (await rawItem(table, 'status', 'demo#us-east-1'))!;
  item['status']!.M!['conditions']!.M!['Ready'] = { S: 'yes' };
  await putRaw(table, item);

  const [read] = await store.listStatuses();
  assert.equal(read!.unreadable, true);
  assert.match(reported[0]!.message, /field status\.conditions\.Ready/);
  assert.deepEqual(read!.status.regions, good.regions, 'the region entry still reads');
  assert.deepEqual(read!.status.cdn, good.cdn);

  const report = await passWithStore(store, sim);
  const status = report.statuses.get('demo')!;
  assert.deepEqual(
    status.regions['us-east-1']!.scaling!.history,
    good.regions['us-east-1']!.scaling!.history,
    "the autoscaler's memory is kept",
  );
  assert.equal(status.cdn.distributionId, good.cdn.distributionId);
  assert.deepEqual(
    status.errors.map((e) => [e.kind, e.resource]),
    [['MalformedStatus', 'status demo#us-east-1']],
  );
  assert.match(status.errors[0]!.message, /scaling memory and CDN were kept/);
  assert.equal(status.conditions.Degraded?.status, 'False', 'a rewritten status degrades nothing');
  assert.equal((await store.listStatuses())[0]!.unreadable, undefined, 'written afresh');
});

test("a status from before statuses were per region is read as the site's one report", async () => {
  const { table, store } = await freshStore();
  const legacy = {
    site: 'alpha',
    observedGeneration: 3,
    observedHash: 'h',
    conditions: {},
    regions: {},
    cdn: { distributionId: 'E123' },
    lastActions: [],
    errors: [],
  };
  await putRaw(table, {
    pk: { S: 'status' },
    sk: { S: 'alpha' },
    revision: { N: '7' },
    status: { S: JSON.stringify(legacy) },
  });
  const [read] = await store.listStatuses();
  assert.equal(read?.name, 'alpha');
  assert.equal(read?.region, undefined);
  assert.equal(read?.revision, 7);
  assert.equal(read?.status.cdn.distributionId, 'E123');
  await store.deleteStatus('alpha', undefined, 7);
  assert.deepEqual(await store.listStatuses(), []);
});

test('a lease item whose expiry cannot be read is taken over rather than blocking forever', async () => {
  const { table, store } = await freshStore();
  await putRaw(table, {
    pk: { S: 'lease' },
    sk: { S: 'us-east-1' },
    holder: { S: 'x' },
    expiresAt: { S: 'soon' },
  });
  assert.equal(await store.acquireLease('me', 60, 1_000), true);
});

test('the carry-over survives releasing the lease and reads back in order', async () => {
  const { store } = await freshStore();
  assert.deepEqual(await store.getCarryOver(), []);
  await store.acquireLease('me', 60, 1_000);
  await store.setCarryOver(['site-9', 'site-3']);
  await store.releaseLease('me', 2_000);
  assert.deepEqual(await store.getCarryOver(), ['site-9', 'site-3']);
  await store.setCarryOver([]);
  assert.deepEqual(await store.getCarryOver(), []);
});

test('the hash matches the simulated store for the same document', async () => {
  const { store } = await freshStore();
  const written = await store.putSpec('demo', demoDocument(), 0);
  assert.equal(written.hash, specHash(demoDocument()));
});

test('a missing table is a NotFound CloudError naming the table and the call', async () => {
  const store = new DynamoSpecStore(client, 'no-such-table', 'us-east-1');
  await assert.rejects(store.listSpecs(), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'NotFound');
    assert.match(e.resource, /no-such-table/);
    assert.match(e.message, /dynamodb:Query failed \(ResourceNotFoundException\)/);
    return true;
  });
});

test('a spec item in the old form (document S) is read; a pass leaves it as it is; apply rewrites it as a map', async () => {
  const { table, store } = await freshStore();
  const document = demoDocument();
  const legacy = {
    pk: { S: 'spec' },
    sk: { S: 'demo' },
    generation: { N: '3' },
    document: { S: JSON.stringify(document) },
    updatedAt: { S: '2026-11-01T00:00:00.000Z' },
  };
  await putRaw(table, legacy);
  const read = (await store.getSpec('demo'))!;
  assert.deepEqual(read.document, document);
  assert.equal(read.generation, 3);
  assert.equal(read.hash, specHash(document));
  assert.equal(read.problems, undefined);

  const sim = newSim(['us-east-1', 'eu-west-1']);
  const report = await passWithStore(store, sim);
  assert.ok(report.sites.find((s) => s.name === 'demo')?.problems === undefined, 'the old form is valid');
  assert.deepEqual(await rawItem(table, 'spec', 'demo'), legacy, 'the reconciler never rewrites a spec');

  await store.putSpec('demo', document, read.generation);
  const rewritten = (await rawItem(table, 'spec', 'demo'))!;
  assert.equal(rewritten['document'], undefined);
  assert.deepEqual(rewritten['spec'], documentAttributes(document, JSON.stringify(document))['spec']);
  assert.equal((await store.getSpec('demo'))!.hash, read.hash, 'the same document, the same hash');
});

test('a set or binary edited into the spec map is a problem naming its path and the type to use; the site is Invalid, nothing is applied', async () => {
  const { table, store } = await freshStore();
  await store.putSpec('demo', demoDocument(), 0);
  const set = async (path: string, names: Record<string, string>, value: AttributeValue) =>
    client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'spec' }, sk: { S: 'demo' } },
        UpdateExpression: `SET ${path} = :v`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':v': value },
      }),
    );
  await set(
    '#d.#s.#c',
    { '#d': 'spec', '#s': 'spec', '#c': 'cdn' },
    {
      M: { aliases: { SS: ['www.example.com'] }, failoverStatusCodes: { NS: ['500', '502'] } },
    },
  );
  await set('#d.#m.#b', { '#d': 'spec', '#m': 'metadata', '#b': 'blob' }, { B: new Uint8Array([1, 2]) });
  await set('#d.#m.#bs', { '#d': 'spec', '#m': 'metadata', '#bs': 'blobs' }, { BS: [new Uint8Array([3])] });

  const read = (await store.getSpec('demo'))!;
  const problems = new Map(read.problems?.map((p) => [p.field, p.message]));
  assert.deepEqual([...problems.keys()].sort(), [
    'metadata.blob',
    'metadata.blobs',
    'spec.cdn.aliases',
    'spec.cdn.failoverStatusCodes',
  ]);
  assert.match(
    problems.get('spec.cdn.aliases')!,
    /string set \(SS\).*spec\.spec\.cdn\.aliases.*list \(L\) of strings/,
  );
  assert.match(problems.get('spec.cdn.failoverStatusCodes')!, /number set \(NS\).*list \(L\) of numbers/);
  assert.match(problems.get('metadata.blob')!, /binary \(B\).*a string \(S\)/);
  assert.match(problems.get('metadata.blobs')!, /binary set \(BS\)/);

  const sim = newSim(['us-east-1', 'eu-west-1']);
  const report = await passWithStore(store, sim);
  const demo = report.sites.find((s) => s.name === 'demo')!;
  assert.deepEqual(demo.problems?.map((p) => p.field).sort(), [
    'metadata.blob',
    'metadata.blobs',
    'spec.cdn.aliases',
    'spec.cdn.failoverStatusCodes',
  ]);
  assert.equal(sim.cloudWrites().length, 0, 'nothing is applied for an Invalid spec');
  const status = (await store.listStatuses()).find((s) => s.name === 'demo');
  assert.match(JSON.stringify(status), /Invalid/);
});
