import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLocalStore } from '../controller/providers/local/store.ts';
import { demoDocument } from './support/world.ts';

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
