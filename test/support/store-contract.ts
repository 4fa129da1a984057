import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CloudError } from '../../controller/errors.ts';
import type { SiteStatus } from '../../controller/model/status.ts';
import { specHash } from '../../controller/providers/sim/cloud.ts';
import type { SpecStorePort } from '../../controller/ports/store.ts';
import { demoDocument } from './world.ts';

/** Every spec in specs/ and every document in test/fixtures/invalid/, by file name. */
function everyDocument(): [string, unknown][] {
  const specs = new URL('../../specs/', import.meta.url);
  const invalid = new URL('../fixtures/invalid/', import.meta.url);
  const valid = readdirSync(specs)
    .filter((file) => file.endsWith('.json') && !file.endsWith('.schema.json'))
    .map((file): [string, unknown] => [
      `specs/${file}`,
      JSON.parse(readFileSync(new URL(file, specs), 'utf8')),
    ]);
  const fixtures = readdirSync(invalid)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file): [string, unknown][] => {
      const fixture = JSON.parse(readFileSync(new URL(file, invalid), 'utf8')) as { document?: unknown };
      // A fixture of the file layer (bytes no JSON parser accepts) carries no document to store.
      return 'document' in fixture ? [[`fixtures/invalid/${file}`, fixture.document]] : [];
    });
  return [...valid, ...fixtures];
}

/** One implementation of the spec store, with the back doors the contract needs. */
export interface StoreUnderTest {
  store: SpecStorePort;
  /** The spec item exactly as the backend holds it, for before/after comparisons. */
  rawSpec(name: string): Promise<unknown>;
  /** Changes a spec's document the way an edit in the console would: the generation is left alone. */
  editDocumentDirectly(name: string, document: unknown): Promise<void>;
  /**
   * Changes one field of a spec in place, as `aws dynamodb update-item --update-expression 'SET #d.#s.#c.#w = :w'`
   * does: the rest of the item and the generation are left alone.
   */
  setField(name: string, path: readonly (string | number)[], value: unknown): Promise<void>;
}

export interface StoreHarness {
  /** Names the suite, e.g. 'DynamoSpecStore'. */
  label: string;
  /** A new, empty store. */
  fresh(): Promise<StoreUnderTest>;
}

const site = (name: string) => {
  const document = demoDocument();
  document.metadata.name = name;
  return document;
};

function status(name: string, observedGeneration: number, region = 'us-east-1'): SiteStatus {
  return {
    site: name,
    region,
    global: true,
    observedGeneration,
    observedHash: 'h',
    conditions: {
      Ready: {
        status: 'True',
        reason: 'Converged',
        message: 'ok',
        lastTransitionTime: '2026-11-28T00:00:00.000Z',
      },
    },
    regions: {},
    cdn: { distributionId: 'E1', state: 'Deployed' },
    lastActions: [],
    errors: [],
  };
}

function assertConflict(error: unknown, ...mentions: (string | number)[]): true {
  assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
  assert.equal(error.kind, 'Conflict');
  for (const m of mentions) assert.match(error.message, new RegExp(`\\b${m}\\b`), `message names ${m}`);
  return true;
}

/**
 * What every SpecStorePort must do. Run against the simulated cloud's store
 * and the DynamoDB store, so the two cannot drift apart.
 */
export function storeContract(harness: StoreHarness): void {
  describe(`${harness.label} (store contract)`, () => {
    test('a stored spec reads back as written, at generation 1, with the hash of its document', async () => {
      const { store } = await harness.fresh();
      const document = site('alpha');
      const written = await store.putSpec('alpha', document, 0);
      assert.equal(written.generation, 1);
      assert.equal(written.hash, specHash(document));
      assert.deepEqual(await store.getSpec('alpha'), written);
      assert.deepEqual(await store.listSpecs(), [written]);
    });

    test('any JSON document round-trips, valid as a spec or not', async () => {
      const { store } = await harness.fresh();
      const documents: Record<string, unknown> = {
        text: 'not a spec',
        number: 42,
        nothing: null,
        list: [1, 'two', { three: 3 }],
        unicode: { name: 'café ☕ 𝄞', nested: { deep: [true, false, null] }, empty: '' },
      };
      for (const [name, document] of Object.entries(documents)) await store.putSpec(name, document, 0);
      const listed = new Map((await store.listSpecs()).map((s) => [s.name, s]));
      for (const [name, document] of Object.entries(documents)) {
        assert.deepEqual(listed.get(name)?.document, document, name);
        assert.equal(listed.get(name)?.hash, specHash(document), name);
      }
    });

    test('every spec in specs/ and every invalid fixture round-trips exactly, as JSON', async () => {
      const { store } = await harness.fresh();
      const documents = everyDocument();
      assert.ok(documents.length > 100, `${documents.length} documents: specs/ and the fixtures were found`);
      for (const [i, [file, document]] of documents.entries()) {
        const name = `doc-${i}`;
        await store.putSpec(name, document, 0);
        const read = await store.getSpec(name);
        assert.equal(JSON.stringify(read?.document), JSON.stringify(document), file);
        assert.equal(read?.hash, specHash(document), file);
        assert.equal(read?.problems, undefined, file);
      }
    });

    test('one nested field changed in place is read with a new hash, at the same generation', async () => {
      const backend = await harness.fresh();
      const document = site('alpha');
      document.spec.canary = { tag: 'v2', weight: 15 };
      const written = await backend.store.putSpec('alpha', document, 0);
      await backend.setField('alpha', ['spec', 'canary', 'weight'], 50);
      const read = (await backend.store.getSpec('alpha'))!;
      const expected = structuredClone(document);
      expected.spec.canary = { tag: 'v2', weight: 50 };
      assert.deepEqual(read.document, expected);
      assert.equal(read.generation, written.generation);
      assert.notEqual(read.hash, written.hash);
      assert.equal(read.hash, specHash(expected));
    });

    test('a spec that makes an item over 400 KB is refused as Invalid saying so, and nothing is stored', async () => {
      const { store } = await harness.fresh();
      const big = { ...site('alpha'), padding: 'x'.repeat(410 * 1024) };
      await assert.rejects(
        store.putSpec('alpha', big, 0),
        (e) => e instanceof CloudError && e.kind === 'Invalid' && /400 KB/.test(e.message),
      );
      assert.equal(await store.getSpec('alpha'), undefined);
    });

    test('a value that is not JSON is refused as Invalid and nothing is stored', async () => {
      const { store } = await harness.fresh();
      await assert.rejects(
        store.putSpec('alpha', undefined, 0),
        (e) => e instanceof CloudError && e.kind === 'Invalid',
      );
      assert.equal(await store.getSpec('alpha'), undefined);
    });

    test('changing a document after storing it does not change what is stored', async () => {
      const { store } = await harness.fresh();
      const document = site('alpha');
      await store.putSpec('alpha', document, 0);
      document.spec.image.tag = 'changed-after-put';
      assert.deepEqual((await store.getSpec('alpha'))?.document, site('alpha'));
    });

    test('the hash depends on content, not key order', async () => {
      const { store } = await harness.fresh();
      const a = await store.putSpec('a', { x: 1, y: { p: 1, q: 2 } }, 0);
      const b = await store.putSpec('b', { y: { q: 2, p: 1 }, x: 1 }, 0);
      assert.equal(a.hash, b.hash);
    });

    test('listing returns every spec and only specs; an absent site is undefined', async () => {
      const { store } = await harness.fresh();
      const names = Array.from({ length: 7 }, (_, i) => `site-${i}`);
      for (const name of names) await store.putSpec(name, site(name), 0);
      await store.putStatus(status('orphan', 1), 0);
      assert.deepEqual((await store.listSpecs()).map((s) => s.name).sort(), names);
      assert.deepEqual(
        (await store.listStatuses()).map((s) => s.name),
        ['orphan'],
      );
      assert.equal(await store.getSpec('orphan'), undefined);
    });

    test('a write with the generation read bumps it; a stale one is a Conflict naming the site and both generations', async () => {
      const { store } = await harness.fresh();
      await store.putSpec('alpha', site('alpha'), 0);
      const second = await store.putSpec('alpha', { ...site('alpha'), note: 2 }, 1);
      assert.equal(second.generation, 2);
      await assert.rejects(store.putSpec('alpha', { ...site('alpha'), note: 'stale' }, 1), (e) =>
        assertConflict(e, 'alpha', 2, 1),
      );
      assert.deepEqual((await store.getSpec('alpha'))?.document, { ...site('alpha'), note: 2 });
    });

    test('creating a spec that already exists is a Conflict and leaves it as it was', async () => {
      const { store } = await harness.fresh();
      await store.putSpec('alpha', site('alpha'), 0);
      await assert.rejects(store.putSpec('alpha', 'other', 0), (e) => assertConflict(e, 'alpha', 1, 0));
      assert.deepEqual((await store.getSpec('alpha'))?.document, site('alpha'));
    });

    test('two concurrent applies of the same site: exactly one wins, the other gets a Conflict', async () => {
      const { store } = await harness.fresh();
      await store.putSpec('alpha', site('alpha'), 0);
      const read = (await store.getSpec('alpha'))!.generation;
      const edits = ['from-alice', 'from-bob'].map((tag) => ({ ...site('alpha'), editedBy: tag }));
      const results = await Promise.allSettled(edits.map((e) => store.putSpec('alpha', e, read)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, 'exactly one apply wins');
      const lost = results.find((r) => r.status === 'rejected')!;
      assertConflict(lost.reason, 'alpha', 2, 1);
      const stored = (await store.getSpec('alpha'))!;
      assert.equal(stored.generation, 2);
      assert.deepEqual(stored.document, edits[won[0]!]);
    });

    test('deleting needs the generation read: a stale delete is a Conflict and keeps the spec', async () => {
      const { store } = await harness.fresh();
      await store.putSpec('alpha', site('alpha'), 0);
      await store.putSpec('alpha', site('alpha'), 1);
      await assert.rejects(store.deleteSpec('alpha', 1), (e) => assertConflict(e, 'alpha', 2, 1));
      assert.equal((await store.getSpec('alpha'))?.generation, 2);
      await store.deleteSpec('alpha', 2);
      assert.equal(await store.getSpec('alpha'), undefined);
      await store.deleteSpec('alpha', 0); // already absent: nothing to do
    });

    test('an edit made straight in the backend, without a generation bump, changes the hash', async () => {
      const backend = await harness.fresh();
      const written = await backend.store.putSpec('alpha', site('alpha'), 0);
      const edited = { ...site('alpha'), spec: { ...site('alpha').spec, paused: true } };
      await backend.editDocumentDirectly('alpha', edited);
      const read = (await backend.store.listSpecs())[0]!;
      assert.equal(read.generation, written.generation);
      assert.notEqual(read.hash, written.hash);
      assert.equal(read.hash, specHash(edited));
      assert.deepEqual(read.document, edited);
    });

    test('an edit made in the console after a read is not overwritten by a write quoting that read', async () => {
      const backend = await harness.fresh();
      await backend.store.putSpec('alpha', site('alpha'), 0);
      const read = (await backend.store.getSpec('alpha'))!;
      const edited = { ...site('alpha'), spec: { ...site('alpha').spec, paused: true } };
      await backend.editDocumentDirectly('alpha', edited);
      await assert.rejects(
        backend.store.putSpec('alpha', site('alpha'), read.generation),
        (e: unknown) => e instanceof CloudError && e.kind === 'Conflict',
      );
      await assert.rejects(
        backend.store.deleteSpec('alpha', read.generation),
        (e: unknown) => e instanceof CloudError && e.kind === 'Conflict',
      );
      assert.deepEqual((await backend.store.getSpec('alpha'))!.document, edited, 'the console edit stands');
      // Read again, the write goes through.
      const again = (await backend.store.getSpec('alpha'))!;
      assert.equal(
        (await backend.store.putSpec('alpha', site('alpha'), again.generation)).generation,
        again.generation + 1,
      );
    });

    test('statuses are written conditionally on the revision read, and never change the spec item', async () => {
      const backend = await harness.fresh();
      const { store } = backend;
      await store.putSpec('alpha', site('alpha'), 0);
      const before = await backend.rawSpec('alpha');
      const first = await store.putStatus(status('alpha', 1), 0);
      assert.equal(first.revision, 1);
      const second = await store.putStatus(status('alpha', 2), 1);
      assert.equal(second.revision, 2);
      await assert.rejects(store.putStatus(status('alpha', 3), 1), (e) => assertConflict(e, 'alpha', 2, 1));
      await assert.rejects(store.putStatus(status('alpha', 3), 0), (e) => assertConflict(e, 'alpha', 2, 0));
      assert.deepEqual(await store.listStatuses(), [second]);
      assert.equal(second.region, store.region);
      assert.deepEqual(await backend.rawSpec('alpha'), before);
    });

    test("a region's store writes only that region's status, one item per site and region", async () => {
      const { store } = await harness.fresh();
      await assert.rejects(
        store.putStatus(status('alpha', 1, 'ap-south-1'), 0),
        (e: unknown) => e instanceof CloudError && e.kind === 'Invalid' && /ap-south-1/.test(e.message),
      );
      await assert.rejects(
        store.deleteStatus('alpha', 'ap-south-1', 1),
        (e: unknown) => e instanceof CloudError && e.kind === 'Invalid',
      );
      await store.putStatus(status('alpha', 1, store.region), 0);
      await store.putStatus(status('beta', 1, store.region), 0);
      assert.deepEqual(
        (await store.listStatuses()).map((s) => [s.name, s.region, s.status.site]),
        [
          ['alpha', store.region, 'alpha'],
          ['beta', store.region, 'beta'],
        ],
      );
    });

    test('deleting a status needs the revision read', async () => {
      const { store } = await harness.fresh();
      await store.putStatus(status('alpha', 1), 0);
      await assert.rejects(store.deleteStatus('alpha', store.region, 2), (e) =>
        assertConflict(e, 'alpha', 1, 2),
      );
      assert.equal((await store.listStatuses()).length, 1);
      await store.deleteStatus('alpha', store.region, 1);
      assert.deepEqual(await store.listStatuses(), []);
    });

    test('a spec write records its edit in this region, and its lineage names every edit it overwrote', async () => {
      const { store } = await harness.fresh();
      const first = await store.putSpec('alpha', site('alpha'), 0);
      assert.deepEqual(first.lineage, { region: store.region, seen: { [store.region]: 1 } });
      const second = await store.putSpec('alpha', { ...site('alpha'), extra: 1 }, first.generation);
      assert.deepEqual(second.lineage, { region: store.region, seen: { [store.region]: 2 } });
      assert.deepEqual((await store.getSpec('alpha'))!.lineage, second.lineage);
      const edits = await store.listEdits();
      assert.equal(edits.length, 1);
      assert.deepEqual(
        { ...edits[0]!, at: 'any' },
        { site: 'alpha', region: store.region, seq: 2, generation: 2, hash: second.hash, at: 'any' },
      );
      assert.ok(Date.parse(edits[0]!.at) > 0, 'the edit records when it was made');
    });

    test('releasing the lease records the heartbeat; a region that never finished a pass has none', async () => {
      const { store } = await harness.fresh();
      assert.deepEqual(await store.listHeartbeats(), []);
      assert.equal(await store.acquireLease('a', 60, 1_000), true);
      assert.deepEqual(await store.listHeartbeats(), [], 'taking the lease is not a heartbeat');
      await store.releaseLease('a', 5_000);
      assert.deepEqual(await store.listHeartbeats(), [{ region: store.region, at: 5_000 }]);
      await store.releaseLease('b', 9_000);
      assert.deepEqual(
        await store.listHeartbeats(),
        [{ region: store.region, at: 5_000 }],
        'a release by one who does not hold the lease records nothing',
      );
    });

    test('the lease: one holder at a time, renewable by its holder', async () => {
      const { store } = await harness.fresh();
      assert.equal(await store.acquireLease('a', 60, 1_000), true);
      assert.equal(await store.acquireLease('b', 60, 2_000), false);
      assert.equal(await store.acquireLease('a', 60, 30_000), true, 'the holder renews');
      assert.equal(await store.acquireLease('b', 60, 61_000), false, 'the renewal moved the expiry');
    });

    test('with 20 concurrent contenders exactly one holds the lease', async () => {
      const { store } = await harness.fresh();
      const contenders = Array.from({ length: 20 }, (_, i) => `holder-${i}`);
      const results = await Promise.all(contenders.map((h) => store.acquireLease(h, 60, 1_000)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = contenders[results.indexOf(true)]!;
      for (const other of contenders.filter((h) => h !== winner))
        assert.equal(await store.acquireLease(other, 60, 2_000), false);
    });

    test('an expired lease is taken over; it expires at, not after, its expiry time', async () => {
      const { store } = await harness.fresh();
      assert.equal(await store.acquireLease('a', 10, 1_000), true);
      assert.equal(await store.acquireLease('b', 10, 10_999), false);
      assert.equal(await store.acquireLease('b', 10, 11_000), true);
      assert.equal(await store.acquireLease('a', 10, 12_000), false, 'the old holder lost it');
    });

    test('releasing a lease one does not hold does nothing; the holder releasing frees it', async () => {
      const { store } = await harness.fresh();
      assert.equal(await store.acquireLease('a', 60, 1_000), true);
      await store.releaseLease('b', 1_500);
      assert.equal(await store.acquireLease('b', 60, 2_000), false, 'still held by a');
      await store.releaseLease('a', 2_500);
      assert.equal(await store.acquireLease('b', 60, 3_000), true);
      await store.releaseLease('nobody', 3_500); // nothing held by nobody: no error
    });
  });
}
