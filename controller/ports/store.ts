import { CloudError } from '../errors.ts';
import type { SiteStatus } from '../model/status.ts';

/** DynamoDB's largest item: a spec store refuses to write a bigger one. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** The refusal of a spec whose item would be `bytes` long, past MAX_ITEM_BYTES. */
export function itemTooLarge(name: string, bytes: number): CloudError {
  return new CloudError(
    'Invalid',
    `spec ${name}`,
    `spec ${name} makes an item of about ${Math.ceil(bytes / 1024)} KB; DynamoDB holds items of at most 400 KB: make the spec smaller (a valid one is at most 16 KB)`,
  );
}

/** A spec item as stored: the document is untrusted until validated. */
export interface StoredSpec {
  name: string;
  /** Bumped by `tandem apply` on every change. */
  generation: number;
  /** Digest of the document, so an edit that did not bump the generation is still seen. */
  hash: string;
  document: unknown;
  /**
   * Fields of a hand-edited item that JSON has no form for (a set, binary),
   * each with its path and the type to use instead: the site is Invalid.
   */
  problems?: { field: string; message: string }[];
  /** Where the write was made and which edits it overwrote knowingly; absent on items written without it. */
  lineage?: SpecLineage;
}

/**
 * Where a spec write was made and what it had seen. A global table settles two
 * writes to one item in two replicas by the last writer winning, silently;
 * with the lineage and the edit records (`EditRecord`) a reader can tell that
 * an edit made in another region was lost (controller/spec/edits.ts).
 */
export interface SpecLineage {
  /** The region whose replica took the write. */
  region: string;
  /** Per region, the `seq` of the newest edit made there that the writer's replica held. */
  seen: Record<string, number>;
}

/**
 * The newest spec write made in one region's replica, per site. Only that
 * region writes it, so replication never settles it by last writer wins.
 */
export interface EditRecord {
  site: string;
  region: string;
  /** Counts the edits of this site made in this region. */
  seq: number;
  generation: number;
  hash: string;
  /** ISO time of the write. */
  at: string;
}

export interface StoredStatus {
  name: string;
  /**
   * The region whose reconciler wrote it. Undefined for an item kept from
   * before statuses were written per region (one item for the whole site).
   */
  region?: string;
  /** Bumped on every status write; writes are conditional on it. */
  revision: number;
  status: SiteStatus;
  /**
   * The item could not be read (the store reported it): `status` is empty and
   * stands for nothing, and the revision is kept so the next write replaces it.
   */
  unreadable?: true;
}

/** When a region's reconciler last finished a pass. */
export interface Heartbeat {
  region: string;
  /** Epoch milliseconds. */
  at: number;
}

/**
 * One region's replica of the table: spec items (people's), status items
 * (one per site and region, each written only by that region's reconciler),
 * edit records, and each region's lease, which doubles as its heartbeat.
 */
export interface SpecStorePort {
  /** The region whose replica this store reads and writes. */
  readonly region: string;
  listSpecs(): Promise<StoredSpec[]>;
  getSpec(name: string): Promise<StoredSpec | undefined>;
  /**
   * Writes a spec in this replica, bumping its generation, and records the
   * edit there (its lineage names every edit it overwrites). Conflict unless
   * the stored generation is `expectedGeneration` (0: absent) and the document
   * is the one read.
   */
  putSpec(name: string, document: unknown, expectedGeneration: number): Promise<StoredSpec>;
  deleteSpec(name: string, expectedGeneration: number): Promise<void>;
  /** Every region's edit records, as this replica holds them. */
  listEdits(): Promise<EditRecord[]>;
  /** Every region's status items, as this replica holds them. */
  listStatuses(): Promise<StoredStatus[]>;
  /**
   * Writes this region's status of a site (`status.region` must be this
   * store's region). Conflict unless the stored revision is `expectedRevision` (0: absent).
   */
  putStatus(status: SiteStatus, expectedRevision: number): Promise<StoredStatus>;
  /** Deletes this region's status of a site, or (region undefined) a site's item from before statuses were per region. */
  deleteStatus(name: string, region: string | undefined, expectedRevision: number): Promise<void>;
  /** True when `holder` now holds this region's lease until now + ttl; false while another holder's is unexpired. */
  acquireLease(holder: string, ttlSeconds: number, now: number): Promise<boolean>;
  /** Frees this region's lease and records `now` as its heartbeat: its reconciler finished a pass. */
  releaseLease(holder: string, now: number): Promise<void>;
  /** Every region's last heartbeat, as this replica holds them. */
  listHeartbeats(): Promise<Heartbeat[]>;
}
