import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GetItemCommand, PutItemCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { TableReplicator, type LocalReplica } from '../controller/providers/local/replicator.ts';
import { localStoreClient, startLocalStore, type LocalStore } from '../controller/providers/local/store.ts';

const REGIONS = ['us-east-1', 'eu-west-1'];
let stores: LocalStore[];
let replicas: LocalReplica[];

before(async () => {
  stores = await Promise.all(REGIONS.map(() => startLocalStore()));
  replicas = stores.map((store, i) => ({
    region: REGIONS[i]!,
    client: localStoreClient(store.endpoint),
    tableName: store.tableName,
  }));
});

after(async () => {
  for (const r of replicas) r.client.destroy();
  await Promise.all(stores.map((s) => s.close()));
});

const key = (sk: string) => ({ pk: { S: 'test' }, sk: { S: sk } });

async function put(replica: LocalReplica, sk: string, value: string) {
  await replica.client.send(
    new PutItemCommand({ TableName: replica.tableName, Item: { ...key(sk), value: { S: value } } }),
  );
}

async function read(replica: LocalReplica, sk: string): Promise<string | undefined> {
  const { Item } = await replica.client.send(
    new GetItemCommand({ TableName: replica.tableName, Key: key(sk), ConsistentRead: true }),
  );
  return Item?.['value']?.S;
}

test('a write in one replica reaches the other once its delay has passed, not before', async () => {
  const [east, west] = replicas as [LocalReplica, LocalReplica];
  const replicator = new TableReplicator(replicas, { delayMs: 1000 });
  await put(east, 'a', 'one');
  await replicator.sync(10_000);
  assert.equal(await read(west, 'a'), undefined, 'not yet');
  await replicator.sync(10_999);
  assert.equal(await read(west, 'a'), undefined, 'still not');
  await replicator.sync(11_000);
  assert.equal(await read(west, 'a'), 'one');
  assert.equal(replicator.backlog, 0);
  await replicator.sync(12_000);
  assert.equal(replicator.backlog, 0, 'a delivered write does not come back as a new one');
});

test('writes to one item in both replicas at once settle on one of them, the same in both, as a global table does', async () => {
  const [east, west] = replicas as [LocalReplica, LocalReplica];
  const replicator = new TableReplicator(replicas, { delayMs: 0 });
  await put(east, 'b', 'from east');
  await replicator.sync(1);
  await put(west, 'b', 'from west, later');
  await put(east, 'b', 'from east, unseen');
  await replicator.sync(2);
  const [a, b] = [await read(east, 'b'), await read(west, 'b')];
  assert.equal(a, b, 'the replicas agree');
  await replicator.sync(3);
  assert.equal(replicator.backlog, 0);
});

test('a delete replicates; a lost replica neither sends nor receives, and catches up when back', async () => {
  const [east, west] = replicas as [LocalReplica, LocalReplica];
  const replicator = new TableReplicator(replicas, { delayMs: 0 });
  await put(east, 'c', 'here');
  await replicator.sync(1);
  assert.equal(await read(west, 'c'), 'here');
  await east.client.send(new DeleteItemCommand({ TableName: east.tableName, Key: key('c') }));
  await replicator.sync(2);
  assert.equal(await read(west, 'c'), undefined, 'the delete reached the other replica');

  replicator.pause('us-east-1');
  await put(west, 'd', 'while east is lost');
  await replicator.sync(3);
  assert.equal(await read(east, 'd'), undefined);
  assert.equal(replicator.backlog, 1, 'kept for when it is back');
  replicator.resume('us-east-1');
  await replicator.sync(4);
  assert.equal(await read(east, 'd'), 'while east is lost');
});
