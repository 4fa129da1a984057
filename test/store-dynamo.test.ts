import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { CloudError } from '../controller/errors.ts';
import { DynamoSpecStore, type DynamoSpecStoreOptions } from '../controller/providers/aws/store.ts';
import { SimulatedCloud, specHash } from '../controller/providers/sim/cloud.ts';
import { reconcilePass } from '../controller/reconcile/pass.ts';
import { ensureSpecTable } from '../controller/providers/local/store.ts';
import { storeContract } from './support/store-contract.ts';
import { demoDocument, FIXED_NOW } from './support/world.ts';

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

async function freshStore(options: DynamoSpecStoreOptions = {}) {
  const table = await createTable();
  return { table, store: new DynamoSpecStore(client, table, options) };
}

storeContract({
  label: 'DynamoSpecStore on dynalite',
  async fresh() {
    // Pages of 3 items, so the contract's listings also cross page boundaries.
    const { table, store } = await freshStore({ pageSize: 3 });
    return {
      store,
      rawSpec: (name) => rawItem(table, 'spec', name),
      async editDocumentDirectly(name, document) {
        const item = await rawItem(table, 'spec', name);
        assert.ok(item !== undefined, `spec ${name} exists`);
        await putRaw(table, { ...item, document: { S: JSON.stringify(document) } });
      },
    };
  },
});

storeContract({
  label: 'SimulatedCloud store',
  async fresh() {
    const sim = new SimulatedCloud();
    return {
      store: sim.store,
      rawSpec: async (name) => structuredClone(sim.world.specs[name]),
      async editDocumentDirectly(name, document) {
        sim.world.specs[name]!.document = structuredClone(document);
      },
    };
  },
});

test('specs, statuses and the lease are items keyed as docs/store.md says', async () => {
  const { table, store } = await freshStore();
  await store.putSpec('alpha', { any: 'thing' }, 0);
  await store.acquireLease('me', 60, 1_000);
  const spec = await rawItem(table, 'spec', 'alpha');
  assert.equal(spec?.['generation']?.N, '1');
  assert.equal(spec?.['document']?.S, '{"any":"thing"}');
  const lease = await rawItem(table, 'lease', 'reconciler');
  assert.equal(lease?.['holder']?.S, 'me');
  assert.equal(lease?.['expiresAt']?.N, '61000');
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
  const sim = new SimulatedCloud({ regions: ['us-east-1', 'eu-west-1'] });
  await store.putSpec('demo', demoDocument(), 0);
  await putRaw(table, {
    pk: { S: 'spec' },
    sk: { S: 'broken' },
    generation: { N: '1' },
    document: { S: 'oops' },
  });
  const ports = { ...sim.ports(), store };
  const report = await reconcilePass({ ports, platform: sim.platform, now: FIXED_NOW });
  const statuses = new Map((await store.listStatuses()).map((s) => [s.name, s.status]));
  assert.equal(statuses.get('broken')?.conditions.Invalid?.status, 'True');
  assert.ok((report.sites.find((s) => s.name === 'demo')?.plan?.actions.length ?? 0) > 0);
  assert.equal(statuses.get('demo')?.conditions.Invalid, undefined);
});

test('a pass over an unchanged world writes no status: statuses read back exactly as written', async () => {
  const { store } = await freshStore();
  const sim = new SimulatedCloud({ regions: ['us-east-1', 'eu-west-1'] });
  await store.putSpec('demo', demoDocument(), 0);
  const ports = { ...sim.ports(), store };
  for (let i = 0; i < 5; i += 1) {
    await reconcilePass({ ports, platform: sim.platform, now: FIXED_NOW });
    sim.tick();
  }
  const report = await reconcilePass({ ports, platform: sim.platform, now: FIXED_NOW });
  assert.equal(report.statusWrites, 0);
  assert.equal((await store.listStatuses())[0]?.status.conditions.Ready?.status, 'True');
});

test('a malformed status item reads as an empty status at its revision, so the next write repairs it', async () => {
  const reported: CloudError[] = [];
  const { table, store } = await freshStore({ onMalformed: (e) => reported.push(e) });
  await putRaw(table, {
    pk: { S: 'status' },
    sk: { S: 'alpha' },
    revision: { N: '4' },
    status: { S: '{"site":"alpha"}' },
  });
  const [read] = await store.listStatuses();
  assert.equal(read?.revision, 4);
  assert.deepEqual(read?.status.conditions, {});
  assert.match(reported[0]!.message, /sk=alpha .*field status\.observedGeneration/);
  const repaired = await store.putStatus({ ...read!.status, observedGeneration: 1 }, 4);
  assert.equal(repaired.revision, 5);
});

test('a lease item whose expiry cannot be read is taken over rather than blocking forever', async () => {
  const { table, store } = await freshStore();
  await putRaw(table, {
    pk: { S: 'lease' },
    sk: { S: 'reconciler' },
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
  await store.releaseLease('me');
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
  const store = new DynamoSpecStore(client, 'no-such-table');
  await assert.rejects(store.listSpecs(), (e) => {
    assert.ok(e instanceof CloudError);
    assert.equal(e.kind, 'NotFound');
    assert.match(e.resource, /no-such-table/);
    assert.match(e.message, /dynamodb:Query failed \(ResourceNotFoundException\)/);
    return true;
  });
});
