import { createHash } from 'node:crypto';
import { CloudError } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import type { SpecStorePort, StoredSpec } from '../../ports/store.ts';
import type { SimContext } from './context.ts';

/**
 * The spec store in the simulated cloud, behaving as the DynamoDB one: writes
 * conditional on the generation or revision read, and on the document as read.
 */
export function simStore(sim: SimContext): SpecStorePort {
  /** Documents as last read, per site: a write refuses to overwrite an edit made since without a generation bump. */
  const documentsRead = new Map<string, { generation: number; hash: string }>();

  const readSpec = (spec: StoredSpec): StoredSpec => {
    const hash = specHash(spec.document);
    documentsRead.set(spec.name, { generation: spec.generation, hash });
    return { ...spec, hash };
  };

  const editedSinceRead = (name: string, expectedGeneration: number): boolean => {
    const read = documentsRead.get(name);
    const stored = sim.world.specs[name];
    return (
      stored !== undefined &&
      read?.generation === expectedGeneration &&
      read.hash !== specHash(stored.document)
    );
  };

  /**
   * The store's conditional write: the generation (specs) or revision (statuses) must be the
   * one read, and a spec must not have been edited since it was read. Returns the current one.
   */
  const expectVersion = (
    what: 'spec' | 'status',
    name: string,
    stored: number | undefined,
    expected: number,
  ): number => {
    const current = stored ?? 0;
    const counter = what === 'spec' ? 'generation' : 'revision';
    if (current !== expected || (what === 'spec' && editedSinceRead(name, expected))) {
      throw new CloudError(
        'Conflict',
        name,
        `${what} ${name} changed since it was read (${counter} ${current}, expected ${expected})`,
      );
    }
    return current;
  };

  return {
    // The hash is taken from the document as read, so an edit made straight in the world is seen, as in DynamoDB.
    listSpecs: () =>
      sim.call('store', 'ListSpecs', 'global', false, () =>
        Object.values(sim.world.specs).map((s) => readSpec(s)),
      ),
    getSpec: (name) =>
      sim.call('store', 'GetSpec', 'global', false, () => {
        const spec = sim.world.specs[name];
        return spec === undefined ? undefined : readSpec(spec);
      }),
    putSpec: (name, document, expectedGeneration) =>
      sim.call('store', 'PutSpec', 'global', true, () => {
        const current = expectVersion('spec', name, sim.world.specs[name]?.generation, expectedGeneration);
        // Stored as JSON, like the DynamoDB store: a copy, and only what JSON can hold.
        const json = JSON.stringify(document) as string | undefined;
        if (json === undefined)
          throw new CloudError(
            'Invalid',
            `spec ${name}`,
            `spec ${name} cannot be stored: it is not a JSON value`,
          );
        const copy = JSON.parse(json) as unknown;
        const stored: StoredSpec = { name, generation: current + 1, hash: specHash(copy), document: copy };
        sim.world.specs[name] = stored;
        return stored;
      }),
    deleteSpec: (name, expectedGeneration) =>
      sim.call('store', 'DeleteSpec', 'global', true, () => {
        expectVersion('spec', name, sim.world.specs[name]?.generation, expectedGeneration);
        delete sim.world.specs[name];
      }),
    listStatuses: () =>
      sim.call('store', 'ListStatuses', 'global', false, () => Object.values(sim.world.statuses)),
    putStatus: (status, expectedRevision) =>
      sim.call('store', 'PutStatus', 'global', true, () => {
        const current = expectVersion(
          'status',
          status.site,
          sim.world.statuses[status.site]?.revision,
          expectedRevision,
        );
        const stored = { name: status.site, revision: current + 1, status: structuredClone(status) };
        sim.world.statuses[status.site] = stored;
        return stored;
      }),
    deleteStatus: (name, expectedRevision) =>
      sim.call('store', 'DeleteStatus', 'global', true, () => {
        expectVersion('status', name, sim.world.statuses[name]?.revision, expectedRevision);
        delete sim.world.statuses[name];
      }),
    acquireLease: (holder, ttlSeconds, now) =>
      sim.call('store', 'AcquireLease', 'global', true, () => {
        const lease = sim.world.lease;
        if (lease !== undefined && lease.holder !== holder && lease.expiresAt > now) return false;
        sim.world.lease = { holder, expiresAt: now + ttlSeconds * 1000 };
        return true;
      }),
    releaseLease: (holder) =>
      sim.call('store', 'ReleaseLease', 'global', true, () => {
        if (sim.world.lease?.holder === holder) delete sim.world.lease;
      }),
  };
}

/** The spec digest the store keeps beside each spec. */
export function specHash(document: unknown): string {
  return createHash('sha256').update(canonicalJson(document)).digest('hex');
}
