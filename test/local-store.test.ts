import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoSpecStore } from '../controller/providers/aws/store.ts';
import { LocalCloudError } from '../controller/providers/local/endpoints.ts';
import {
  ensureSpecTable,
  localStoreClient,
  startLocalStore,
  TABLE_ACTIVE_TIMEOUT_SECONDS,
} from '../controller/providers/local/store.ts';
import { leaveTableCreating } from './support/local-cloud.ts';
import { demoDocument } from './support/world.ts';

type Dynalite = (options: Record<string, unknown>) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

/** A bare dynalite on a free port whose new tables take `createTableMs` to become ACTIVE, as DynamoDB's do. */
async function slowDynalite(createTableMs: number) {
  const server = dynalite({ createTableMs });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = localStoreClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return {
    client,
    close: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('ensureSpecTable returns only once a slow new table is ACTIVE, so the first write succeeds', async () => {
  const { client, close } = await slowDynalite(1500);
  try {
    const started = Date.now();
    await ensureSpecTable(client, 'tandem');
    assert.ok(Date.now() - started >= 1400, 'it waited for the table');
    const store = new DynamoSpecStore(client, 'tandem', 'us-east-1');
    assert.equal(await store.getSpec('demo'), undefined);
    assert.equal((await store.putSpec('demo', demoDocument(), 0)).generation, 1);
  } finally {
    await close();
  }
});

test('a table that never becomes ACTIVE fails the store with what to do, and leaves its port free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
  leaveTableCreating(dir);
  const port = await freePort();
  await assert.rejects(startLocalStore({ dir, port }), (error: Error) => {
    assert.ok(error instanceof LocalCloudError);
    assert.match(
      error.message,
      new RegExp(
        `table tandem is still CREATING after ${TABLE_ACTIVE_TIMEOUT_SECONDS} s .*: delete ${dir} to start afresh`,
      ),
    );
    return true;
  });
  // The port and the directory were let go: another store can take both.
  const next = await startLocalStore({ dir: mkdtempSync(join(tmpdir(), 'tandem-store-')), port });
  await next.close();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('the local store reports an item it did not write in that shape, rather than read it silently', async () => {
  const reported: string[] = [];
  const local = await startLocalStore({ onMalformed: (error) => reported.push(error.message) });
  try {
    const client = localStoreClient(local.endpoint);
    await client.send(
      new PutItemCommand({
        TableName: local.tableName,
        Item: { pk: { S: 'spec' }, sk: { S: 'broken' }, generation: { S: 'five' }, document: { S: '{}' } },
      }),
    );
    client.destroy();
    const [spec] = await local.storeFor('us-east-1').listSpecs();
    assert.equal(spec?.generation, 0, 'read as well as it can be');
    assert.deepEqual(reported, [
      'item pk=spec sk=broken in table tandem: field generation must be a number (found "five"); fix the item or re-apply the spec with tandem apply -f',
    ]);
  } finally {
    await local.close();
  }
});

test('closing the store while requests are still reading it answers them first, instead of crashing the process', async () => {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  try {
    for (let round = 0; round < 10; round += 1) {
      // On disk, as npm start keeps it: LevelDB's iterators are what a close cuts off.
      const local = await startLocalStore({ dir: mkdtempSync(join(tmpdir(), 'tandem-store-')) });
      // Large items, so that reading the partition takes a while.
      const padding = 'x'.repeat(4000);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          local.storeFor('us-east-1').putSpec(`site-${i}`, { padding }, 0),
        ),
      );
      // Another process's client (the CLI, a browser on the dashboard) still reading when Ctrl-C closes the store.
      const other = new DynamoSpecStore(localStoreClient(local.endpoint), local.tableName, 'us-east-1');
      const reads = Promise.allSettled(Array.from({ length: 10 }, () => other.listSpecs()));
      await new Promise((resolve) => setTimeout(resolve, 5 * round));
      await local.close();
      await reads;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(crashes, []);
  } finally {
    process.off('uncaughtException', onCrash);
  }
});

test('the local store keeps specs and statuses on disk across restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
  const first = await startLocalStore({ dir });
  await first.storeFor('us-east-1').putSpec('demo', demoDocument(), 0);
  await first.close();

  const second = await startLocalStore({ dir });
  try {
    const spec = await second.storeFor('us-east-1').getSpec('demo');
    assert.equal(spec?.generation, 1);
    assert.deepEqual(spec?.document, demoDocument());
  } finally {
    await second.close();
  }
});

test('a second store on a directory in use fails with what to do, and the first keeps working', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
  const first = await startLocalStore({ dir });
  try {
    await assert.rejects(
      startLocalStore({ dir }),
      /is in use by another tandem up: stop that one, or pass --dir/,
    );
    await first.storeFor('us-east-1').putSpec('demo', demoDocument(), 0);
    assert.equal((await first.storeFor('us-east-1').listSpecs()).length, 1);
  } finally {
    await first.close();
  }
});

test('in memory, nothing survives a restart', async () => {
  const first = await startLocalStore();
  await first.storeFor('us-east-1').putSpec('demo', demoDocument(), 0);
  await first.close();
  const second = await startLocalStore();
  try {
    assert.deepEqual(await second.storeFor('us-east-1').listSpecs(), []);
  } finally {
    await second.close();
  }
});
