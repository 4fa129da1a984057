import type { SiteStatus } from '../model/status.ts';

/** A spec item as stored: the document is untrusted until validated. */
export interface StoredSpec {
  name: string;
  /** Bumped by `tandem apply` on every change. */
  generation: number;
  /** Digest of the document, so an edit that did not bump the generation is still seen. */
  hash: string;
  document: unknown;
}

export interface StoredStatus {
  name: string;
  /** Bumped on every status write; writes are conditional on it. */
  revision: number;
  status: SiteStatus;
}

/** Spec items (people's), status items (the reconciler's) and the lease. */
export interface SpecStorePort {
  listSpecs(): Promise<StoredSpec[]>;
  getSpec(name: string): Promise<StoredSpec | undefined>;
  /** Writes a spec, bumping its generation; Conflict unless the stored generation is `expectedGeneration` (0: absent). */
  putSpec(name: string, document: unknown, expectedGeneration: number): Promise<StoredSpec>;
  deleteSpec(name: string, expectedGeneration: number): Promise<void>;
  listStatuses(): Promise<StoredStatus[]>;
  /** Conflict unless the stored revision is `expectedRevision` (0: absent). */
  putStatus(status: SiteStatus, expectedRevision: number): Promise<StoredStatus>;
  deleteStatus(name: string, expectedRevision: number): Promise<void>;
  /** True when `holder` now holds the lease until now + ttl; false while another holder's lease is unexpired. */
  acquireLease(holder: string, ttlSeconds: number, now: number): Promise<boolean>;
  releaseLease(holder: string): Promise<void>;
}
