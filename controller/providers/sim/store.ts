import { createHash } from 'node:crypto';
import { CloudError } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import { checkStatus, salvageStatus } from '../../model/status-schema.ts';
import { emptyStatus, type SiteStatus } from '../../model/status.ts';
import {
  itemTooLarge,
  MAX_ITEM_BYTES,
  type EditRecord,
  type Heartbeat,
  type SpecLineage,
  type SpecStorePort,
  type StoredSpec,
  type StoredStatus,
} from '../../ports/store.ts';
import { mergeSeen } from '../../spec/edits.ts';
import type { SimContext } from './context.ts';
import type { SimItem, SimReplica } from './world.ts';

/**
 * One region's replica of the table in the simulated cloud, behaving as the
 * DynamoDB store does on a global table: writes are conditional within the
 * replica (on the generation or revision read, and on the document as read),
 * and reach the other replicas only when the cloud replicates
 * (`replicateTable`), where the last writer wins.
 */
export function simStore(sim: SimContext, region: string): SpecStorePort {
  /** Documents as last read, per site: a write refuses to overwrite an edit made since without a generation bump. */
  const documentsRead = new Map<string, { generation: number; hash: string }>();
  const replica = () => sim.replica(region);
  const call = async <T>(operation: string, write: boolean, body: () => T) => {
    const result = await sim.call('store', operation, region, write, body);
    if (write) sim.tableWritten();
    return result;
  };

  const readSpec = (item: SpecItem, name: string): StoredSpec => {
    const hash = specHash(item.document);
    documentsRead.set(name, { generation: item.generation, hash });
    return {
      name,
      generation: item.generation,
      hash,
      document: item.document,
      ...(item.lineage === undefined ? {} : { lineage: item.lineage }),
    };
  };

  /** The store's conditional write: the stored counter must be the one read, and a spec must not have changed since it was read. */
  const expect = (what: 'spec' | 'status', name: string, stored: number | undefined, expected: number) => {
    const current = stored ?? 0;
    const counter = what === 'spec' ? 'generation' : 'revision';
    const spec = what === 'spec' ? (get<SpecItem>(replica(), 'spec', name) ?? undefined) : undefined;
    const read = documentsRead.get(name);
    const editedSinceRead =
      spec !== undefined && read?.generation === expected && read.hash !== specHash(spec.document);
    if (current !== expected || editedSinceRead) {
      throw new CloudError(
        'Conflict',
        name,
        `${what} ${name} changed since it was read (${counter} ${current}, expected ${expected})`,
      );
    }
    return current;
  };

  return {
    region,
    // The hash is taken from the document as read, so an edit made straight in the world is seen, as in DynamoDB.
    listSpecs: () =>
      call('ListSpecs', false, () =>
        items<SpecItem>(replica(), 'spec').map(([name, item]) => readSpec(item, name)),
      ),
    getSpec: (name) =>
      call('GetSpec', false, () => {
        const item = get<SpecItem>(replica(), 'spec', name);
        return item === undefined ? undefined : readSpec(item, name);
      }),
    putSpec: (name, document, expectedGeneration) =>
      call('PutSpec', true, () => {
        const r = replica();
        const current = get<SpecItem>(r, 'spec', name);
        const generation = expect('spec', name, current?.generation, expectedGeneration) + 1;
        // Stored as JSON, like the DynamoDB store: a copy, and only what JSON can hold.
        const json = JSON.stringify(document) as string | undefined;
        if (json === undefined)
          throw new CloudError(
            'Invalid',
            `spec ${name}`,
            `spec ${name} cannot be stored: it is not a JSON value`,
          );
        // As DynamoDB: an item holds at most 400 KB.
        if (Buffer.byteLength(json) > MAX_ITEM_BYTES) throw itemTooLarge(name, Buffer.byteLength(json));
        const copy = JSON.parse(json) as unknown;
        const edits = items<EditRecord>(r, 'edit').filter(([, e]) => e.site === name);
        const mine = edits.find(([, e]) => e.region === region)?.[1];
        const seq = (mine?.seq ?? 0) + 1;
        const lineage: SpecLineage = {
          region,
          seen: mergeSeen(
            current?.lineage?.seen,
            edits.map(([, e]) => e),
            { [region]: seq },
          ),
        };
        const hash = specHash(copy);
        put(sim, r, 'spec', name, { generation, document: copy, lineage } satisfies SpecItem);
        put(sim, r, 'edit', `${name}#${region}`, {
          site: name,
          region,
          seq,
          generation,
          hash,
          at: new Date(sim.now()).toISOString(),
        } satisfies EditRecord);
        return { name, generation, hash, document: copy, lineage };
      }),
    deleteSpec: (name, expectedGeneration) =>
      call('DeleteSpec', true, () => {
        const r = replica();
        expect('spec', name, get<SpecItem>(r, 'spec', name)?.generation, expectedGeneration);
        remove(sim, r, 'spec', name);
      }),
    listEdits: () => call('ListEdits', false, () => items<EditRecord>(replica(), 'edit').map(([, e]) => e)),
    // Checked as the DynamoDB store checks it: the state file a CLI keeps may have been edited by hand.
    listStatuses: () =>
      call('ListStatuses', false, () =>
        items<StatusItem>(replica(), 'status').map(([key, item]): StoredStatus => {
          const [name, of] = splitStatusKey(key);
          const where = of === undefined ? {} : { region: of };
          const checked = checkStatus(item.status, of === undefined);
          if (checked.ok && (of === undefined || checked.status.region === of))
            return { name, ...where, revision: item.revision, status: { ...checked.status, site: name } };
          return {
            name,
            ...where,
            revision: typeof item.revision === 'number' ? item.revision : 0,
            status:
              (of === undefined ? undefined : salvageStatus(item.status, name, of)) ??
              emptyStatus(name, of ?? ''),
            unreadable: true,
          };
        }),
      ),
    putStatus: (status: SiteStatus, expectedRevision) =>
      call('PutStatus', true, () => {
        if (status.region !== region)
          throw new CloudError(
            'Invalid',
            `status ${status.site}`,
            `the ${region} store writes only ${region}'s status, not ${status.region}'s`,
          );
        const r = replica();
        const key = `${status.site}#${region}`;
        const revision =
          expect('status', status.site, get<StatusItem>(r, 'status', key)?.revision, expectedRevision) + 1;
        put(sim, r, 'status', key, { revision, status: structuredClone(status) } satisfies StatusItem);
        return { name: status.site, region, revision, status: structuredClone(status) };
      }),
    deleteStatus: (name, of, expectedRevision) =>
      call('DeleteStatus', true, () => {
        if (of !== undefined && of !== region)
          throw new CloudError(
            'Invalid',
            `status ${name}`,
            `the ${region} store deletes only ${region}'s status`,
          );
        const r = replica();
        const key = of === undefined ? name : `${name}#${region}`;
        expect('status', name, get<StatusItem>(r, 'status', key)?.revision, expectedRevision);
        remove(sim, r, 'status', key);
      }),
    acquireLease: (holder, ttlSeconds, now) =>
      call('AcquireLease', true, () => {
        const r = replica();
        const lease = get<LeaseItem>(r, 'lease', region);
        if (lease?.holder !== undefined && lease.holder !== holder && lease.expiresAt > now) return false;
        put(sim, r, 'lease', region, {
          ...lease,
          holder,
          expiresAt: now + ttlSeconds * 1000,
        } satisfies LeaseItem);
        return true;
      }),
    releaseLease: (holder, now) =>
      call('ReleaseLease', true, () => {
        const r = replica();
        const lease = get<LeaseItem>(r, 'lease', region);
        if (lease?.holder !== holder) return;
        put(sim, r, 'lease', region, { expiresAt: now, heartbeatAt: now } satisfies LeaseItem);
      }),
    listHeartbeats: () =>
      call('ListHeartbeats', false, () =>
        items<LeaseItem>(replica(), 'lease').flatMap(([of, lease]): Heartbeat[] =>
          lease.heartbeatAt === undefined ? [] : [{ region: of, at: lease.heartbeatAt }],
        ),
      ),
  };
}

interface SpecItem {
  generation: number;
  document: unknown;
  lineage?: SpecLineage;
}

interface StatusItem {
  revision: number;
  status: SiteStatus;
}

interface LeaseItem {
  holder?: string;
  expiresAt: number;
  heartbeatAt?: number;
}

/** `<site>#<region>` for a region's status; a bare site name for an item from before statuses were per region. */
function splitStatusKey(key: string): [string, string | undefined] {
  const at = key.lastIndexOf('#');
  return at < 0 ? [key, undefined] : [key.slice(0, at), key.slice(at + 1)];
}

function itemKey(pk: string, sk: string): string {
  return `${pk}|${sk}`;
}

function get<T>(replica: SimReplica, pk: string, sk: string): T | undefined {
  return replica.items[itemKey(pk, sk)]?.value as T | undefined;
}

function items<T>(replica: SimReplica, pk: string): [string, T][] {
  return Object.values(replica.items)
    .filter((item) => item.pk === pk && item.value !== undefined)
    .sort((a, b) => (a.sk < b.sk ? -1 : 1))
    .map((item) => [item.sk, structuredClone(item.value) as T]);
}

function put(sim: SimContext, replica: SimReplica, pk: string, sk: string, value: unknown): void {
  replica.items[itemKey(pk, sk)] = { pk, sk, value: structuredClone(value), version: sim.nextVersion() };
}

/** A delete leaves a tombstone, so replication carries it like any other write. */
function remove(sim: SimContext, replica: SimReplica, pk: string, sk: string): void {
  replica.items[itemKey(pk, sk)] = { pk, sk, version: sim.nextVersion() };
}

/**
 * Copies every write `from` holds that `to` lacks or holds an older version
 * of: a global table's replication, where the last writer wins.
 */
export function replicateTable(from: SimReplica, to: SimReplica): number {
  let copied = 0;
  for (const [key, item] of Object.entries(from.items)) {
    const there: SimItem | undefined = to.items[key];
    if (there !== undefined && there.version >= item.version) continue;
    to.items[key] = structuredClone(item);
    copied += 1;
  }
  return copied;
}

/** The spec digest the store keeps beside each spec. */
export function specHash(document: unknown): string {
  return createHash('sha256').update(canonicalJson(document)).digest('hex');
}
