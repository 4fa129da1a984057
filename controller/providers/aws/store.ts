import { createHash } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type PutItemCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
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
import { issueKeys, issueMessage } from '../../spec/valibot.ts';
import { fromAwsError } from './errors.ts';
import {
  DOCUMENT_ATTRIBUTE,
  documentAttributes,
  itemBytes,
  readDocument,
  SPEC_ATTRIBUTE,
  type AttributeProblem,
} from './spec-item.ts';

/**
 * The spec store on one replica of tandem's DynamoDB global table (partition
 * key `pk`, sort key `sk`, both strings; no index). Every listing is a Query
 * on one partition:
 *
 * | pk         | sk                  | attributes                                                                          | written by                    |
 * | ---------- | ------------------- | ----------------------------------------------------------------------------------- | ----------------------------- |
 * | `spec`     | site name           | `generation` N, `spec` M (the spec as a map), `lineage` M, `updatedAt` S            | people (apply), any replica   |
 * | `edit`     | `<site>#<region>`   | `seq` N, `generation` N, `hash` S, `at` S: the newest spec write made in that region | apply, in that region only    |
 * | `status`   | `<site>#<region>`   | `revision` N, `status` M (the `SiteStatus` as a map), `updatedAt` S                | that region's reconciler only |
 * | `lease`    | region name         | `holder` S, `expiresAt` N, `acquiredAt` S, `heartbeatAt` N (epoch ms)               | that region's reconciler only |
 * | `lease`    | `carry-over#<region>` | `sites` L of S, `updatedAt` S                                                     | that region's reconciler only |
 *
 * Spec and status are separate items, so a status write can never touch a
 * person's spec; status and lease items are per region, so two regions never
 * write the same item and a global table's last writer wins never drops one.
 * A spec document is a native map (spec-item.ts), so the console shows its
 * fields and update-item changes one in place; a document no map can hold
 * exactly, and items written before, are JSON text (`document` S). The hash is
 * computed from the document as read, so an edit made in the console without
 * a generation bump is still seen. Every write is
 * conditional on the generation or revision the writer read (which holds
 * within one replica). A spec can be written in any replica; its lineage and
 * the edit records show an edit another region's write overwrote
 * (spec/edits.ts). Items from before statuses were per region (`status`/site,
 * `status` S) are still read. The `platform` partition is the bootstrap's,
 * read by platform.ts. See docs/store.md.
 */

export const SPEC_PARTITION = 'spec';
export const EDIT_PARTITION = 'edit';
export const STATUS_PARTITION = 'status';
export const LEASE_PARTITION = 'lease';
export const CARRY_OVER_PREFIX = 'carry-over#';

// The region names the environment and the bootstrap accept (controller/lambda/environment.ts).
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

export interface DynamoSpecStoreOptions {
  /**
   * Called for each item that does not have the shape this store writes (an
   * edit in the console, say). The item is still returned as well as it could
   * be read, so the other sites are listed and this one is reported Invalid.
   */
  onMalformed?: (error: CloudError) => void;
  /** Items per Query page (DynamoDB's `Limit`). Default: DynamoDB's own 1 MB pages. */
  pageSize?: number;
}

/** Digest of a spec document: sha256 of its canonical JSON, the same as the simulated store's. */
export function documentHash(document: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(document) ?? 'undefined')
    .digest('hex');
}

// Numbers a JavaScript number cannot hold exactly stay strings, so the item is reported, not the listing broken.
const readNumber = (value: string): number | string => {
  const n = Number(value);
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER ? n : value;
};

const positiveWhole = v.pipe(
  v.number('must be a number'),
  v.safeInteger('must be a whole number'),
  v.minValue(1, 'must be at least 1'),
);

const SpecItem = v.looseObject({ generation: positiveWhole });

const Lineage = v.object({
  region: v.string('must be a region name'),
  seen: v.record(v.string(), positiveWhole),
});

const EditItem = v.object({
  seq: positiveWhole,
  generation: positiveWhole,
  hash: v.string('must be the spec digest'),
  at: v.string('must be an ISO time'),
});

const StatusItem = v.object({
  revision: positiveWhole,
  status: v.unknown(),
});

const LeaseItem = v.object({
  expiresAt: v.optional(v.number('must be epoch milliseconds')),
  heartbeatAt: v.optional(v.number('must be epoch milliseconds')),
});

const CarryOverItem = v.object({ sites: v.array(v.string(), 'must be a list of site names') });

/** An item as plain data (see `plainItem`), which the schemas above check. */
type Item = Record<string, unknown>;
/** An item as DynamoDB sends and receives it. */
type RawItem = Record<string, AttributeValue>;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

/**
 * A JSON value as a DynamoDB attribute: a map is a map and a list a list, so
 * the console shows a status as fields. Keys whose value is undefined are
 * left out, as JSON would.
 */
export function attributeValue(value: unknown, what = 'value'): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return S(value);
  if (typeof value === 'boolean') return { BOOL: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new CloudError('Invalid', what, `${what} cannot be stored: it holds ${value}`);
    return N(value);
  }
  if (Array.isArray(value)) return { L: value.map((item) => attributeValue(item, what)) };
  if (typeof value === 'object')
    return {
      M: Object.fromEntries(
        Object.entries(value)
          .filter(([, item]) => item !== undefined)
          .map(([key, item]) => [key, attributeValue(item, what)]),
      ),
    };
  throw new CloudError('Invalid', what, `${what} cannot be stored: it holds a ${typeof value}`);
}

export class DynamoSpecStore implements SpecStorePort {
  /**
   * @param client a DynamoDB client for `region`
   * @param region the region of the replica this store reads and writes
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly region: string,
    private readonly options: DynamoSpecStoreOptions = {},
  ) {}

  /**
   * The document (as canonical JSON) and lineage as last read, per site. An
   * edit made straight in the console changes the document without bumping
   * the generation; a write checks the document again before it writes and
   * refuses to overwrite such an edit.
   */
  private readonly documentsRead = new Map<
    string,
    { generation: number; canonical: string | undefined; lineage?: SpecLineage }
  >();

  /**
   * Conflict when the spec was edited since it was read without a generation
   * bump (an edit in the console): a consistent read just before the write,
   * compared with what was read; the write itself is conditional on the
   * generation. DynamoDB could compare the map in the write's condition, but
   * dynalite, which the local cloud and the tests run this code on, cannot.
   */
  private async checkNotEditedSinceRead(name: string, expectedGeneration: number): Promise<void> {
    const read = this.documentsRead.get(name);
    if (expectedGeneration === 0 || read?.generation !== expectedGeneration) return;
    const raw = await this.getRaw(SPEC_PARTITION, name);
    if (raw === undefined) return; // the write's condition finds it gone
    const current = this.readSpec(raw, false);
    if (current.generation === expectedGeneration && canonicalJson(current.document) !== read.canonical)
      throw new CloudError(
        'Conflict',
        name,
        `spec ${name} was edited since it was read, without a generation bump (in the console?); it was not written: read it again and retry`,
      );
  }

  // ----- specs -----

  async listSpecs(): Promise<StoredSpec[]> {
    const items = await this.queryRaw(SPEC_PARTITION);
    return items.map((item) => this.readSpec(item));
  }

  async getSpec(name: string): Promise<StoredSpec | undefined> {
    const item = await this.getRaw(SPEC_PARTITION, name);
    return item === undefined ? undefined : this.readSpec(item);
  }

  /**
   * Writes the spec, then this region's edit record. In that order a write
   * cut short between the two leaves a lineage ahead of the record, which
   * reads as no lost edit, never as a false one (DynamoDB Local and dynalite
   * have no transactions, and a global table replicates each item on its own
   * anyway).
   */
  async putSpec(name: string, document: unknown, expectedGeneration: number): Promise<StoredSpec> {
    const json = toJson(document, `spec ${name}`);
    const generation = expectedGeneration + 1;
    const records = (await this.editsOf(name)).filter((e) => e.site === name);
    const seq = (records.find((e) => e.region === this.region)?.seq ?? 0) + 1;
    const read = this.documentsRead.get(name);
    const overwritten = read?.generation === expectedGeneration ? read.lineage : undefined;
    const lineage: SpecLineage = {
      region: this.region,
      seen: mergeSeen(overwritten?.seen, records, { [this.region]: seq }),
    };
    const now = new Date().toISOString();
    const stored = JSON.parse(json) as unknown;
    const documentItem = documentAttributes(stored, json);
    const item: RawItem = {
      pk: S(SPEC_PARTITION),
      sk: S(name),
      generation: N(generation),
      ...documentItem,
      lineage: attributeValue(lineage),
      updatedAt: S(now),
    };
    const bytes = itemBytes(item);
    if (bytes > MAX_ITEM_BYTES) throw itemTooLarge(name, bytes);
    await this.versionedWrite(SPEC, name, expectedGeneration, { Item: item });
    const hash = documentHash(stored);
    await this.putEditRecord({ site: name, region: this.region, seq, generation, hash, at: now });
    this.documentsRead.set(name, { generation, canonical: canonicalJson(stored), lineage });
    return { name, generation, hash, document: stored, lineage };
  }

  async deleteSpec(name: string, expectedGeneration: number): Promise<void> {
    await this.versionedWrite(SPEC, name, expectedGeneration, 'delete');
  }

  // ----- edit records -----

  async listEdits(): Promise<EditRecord[]> {
    return (await this.queryPartition(EDIT_PARTITION)).flatMap((item) => this.readEdit(item));
  }

  private async editsOf(site: string): Promise<EditRecord[]> {
    return (await this.queryPartition(EDIT_PARTITION, `${site}#`)).flatMap((item) => this.readEdit(item));
  }

  /** Written only by this region; a record already ahead of this one (a faster writer here) is kept. */
  private async putEditRecord(record: EditRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(EDIT_PARTITION),
            sk: S(`${record.site}#${record.region}`),
            seq: N(record.seq),
            generation: N(record.generation),
            hash: S(record.hash),
            at: S(record.at),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR NOT attribute_type(seq, :number) OR seq <= :seq',
          ExpressionAttributeValues: { ':number': S('N'), ':seq': N(record.seq) },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) return;
      throw this.failed(error, 'PutItem', `${EDIT_PARTITION}/${record.site}#${record.region}`);
    }
  }

  // ----- statuses -----

  async listStatuses(): Promise<StoredStatus[]> {
    const items = await this.queryPartition(STATUS_PARTITION);
    return items.flatMap((item) => this.readStatus(item));
  }

  async putStatus(status: SiteStatus, expectedRevision: number): Promise<StoredStatus> {
    const name = status.site;
    if (status.region !== this.region)
      throw new CloudError(
        'Invalid',
        `status ${name}`,
        `the ${this.region} store writes only ${this.region}'s status of a site, not ${status.region}'s`,
      );
    const revision = expectedRevision + 1;
    const key = `${name}#${this.region}`;
    await this.versionedWrite(STATUS, key, expectedRevision, {
      Item: {
        pk: S(STATUS_PARTITION),
        sk: S(key),
        revision: N(revision),
        status: attributeValue(status, `status ${name}`),
        updatedAt: S(new Date().toISOString()),
      },
    });
    return { name, region: this.region, revision, status: structuredClone(status) };
  }

  async deleteStatus(name: string, region: string | undefined, expectedRevision: number): Promise<void> {
    if (region !== undefined && region !== this.region)
      throw new CloudError(
        'Invalid',
        `status ${name}`,
        `the ${this.region} store deletes only ${this.region}'s status of a site`,
      );
    const key = region === undefined ? name : `${name}#${region}`;
    await this.versionedWrite(STATUS, key, expectedRevision, 'delete');
  }

  /**
   * A put or delete conditional on the generation (specs) or revision
   * (statuses) read; a lost race is a Conflict naming what is stored now.
   */
  private async versionedWrite(
    kind: VersionedKind,
    name: string,
    expected: number,
    write: { Item: Record<string, AttributeValue> } | 'delete',
  ): Promise<void> {
    const condition = expectNumber(kind.attribute, expected);
    const common = {
      TableName: this.tableName,
      ...condition,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    if (kind.what === 'spec') await this.checkNotEditedSinceRead(name, expected);
    try {
      if (write === 'delete') {
        await this.client.send(
          new DeleteItemCommand({ ...common, Key: { pk: S(kind.partition), sk: S(name) } }),
        );
      } else {
        await this.client.send(new PutItemCommand({ ...common, Item: write.Item }));
      }
    } catch (error) {
      const operation = write === 'delete' ? 'DeleteItem' : 'PutItem';
      if (!isConditionFailed(error)) throw this.failed(error, operation, `${kind.what}/${name}`);
      const current = await this.currentNumber(error, kind.partition, name, kind.attribute);
      const consequence = write === 'delete' ? 'it was not deleted' : 'it was not written';
      throw conflict(kind.what, name, kind.attribute, current, expected, consequence);
    }
  }

  // ----- the lease and the heartbeat -----

  async acquireLease(holder: string, ttlSeconds: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(LEASE_PARTITION), sk: S(this.region) },
          UpdateExpression: 'SET holder = :holder, expiresAt = :expires, acquiredAt = :acquired',
          // Free, expired (a lease is live until, not at, expiresAt), unreadable, or already ours.
          ConditionExpression:
            'attribute_not_exists(holder) OR NOT attribute_type(expiresAt, :number) OR expiresAt <= :now OR holder = :holder',
          ExpressionAttributeValues: {
            ':number': S('N'),
            ':now': N(now),
            ':holder': S(holder),
            ':expires': N(now + ttlSeconds * 1000),
            ':acquired': S(new Date(now).toISOString()),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw this.failed(error, 'UpdateItem', `${LEASE_PARTITION}/${this.region}`);
    }
  }

  /** Frees the lease and records the heartbeat in the same write: the item stays, so it carries when the region last finished a pass. */
  async releaseLease(holder: string, now: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(LEASE_PARTITION), sk: S(this.region) },
          UpdateExpression: 'SET expiresAt = :now, heartbeatAt = :now REMOVE holder',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': S(holder), ':now': N(now) },
        }),
      );
    } catch (error) {
      // Not ours (taken over after it expired, or never held): leave it.
      if (isConditionFailed(error)) return;
      throw this.failed(error, 'UpdateItem', `${LEASE_PARTITION}/${this.region}`);
    }
  }

  async listHeartbeats(): Promise<Heartbeat[]> {
    const items = await this.queryPartition(LEASE_PARTITION);
    return items.flatMap((item): Heartbeat[] => {
      const region = String(item['sk']);
      // Carry-overs, and the lease of the single reconciler tandem had before, are not regions.
      if (!REGION.test(region)) return [];
      const parsed = v.safeParse(LeaseItem, item);
      if (!parsed.success) {
        this.report(parsed.issues, LEASE_PARTITION, region, item);
        return [];
      }
      const at = parsed.output.heartbeatAt;
      return at === undefined ? [] : [{ region, at }];
    });
  }

  // ----- the reconciler's carry-over (not part of SpecStorePort) -----

  /** Sites this region's last invocation did not reach, to go first in its next; empty when none or unreadable. */
  async getCarryOver(): Promise<string[]> {
    const sk = `${CARRY_OVER_PREFIX}${this.region}`;
    const item = await this.getItem(LEASE_PARTITION, sk);
    if (item === undefined) return [];
    const parsed = v.safeParse(CarryOverItem, item);
    if (parsed.success) return parsed.output.sites;
    this.report(parsed.issues, LEASE_PARTITION, sk, item);
    return [];
  }

  /** Written by this region's lease holder only, just before it releases the lease. */
  async setCarryOver(sites: readonly string[]): Promise<void> {
    const sk = `${CARRY_OVER_PREFIX}${this.region}`;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(LEASE_PARTITION),
            sk: S(sk),
            sites: { L: sites.map(S) },
            updatedAt: S(new Date().toISOString()),
          },
        }),
      );
    } catch (error) {
      throw this.failed(error, 'PutItem', `${LEASE_PARTITION}/${sk}`);
    }
  }

  // ----- reading items -----

  /**
   * A spec item as well as it can be read: the document from its map
   * (`spec` M) or, written before, its JSON text (`document` S). A field JSON
   * has no type for comes back as a problem naming it, and the site is
   * reported Invalid; a malformed item is reported and comes back with what
   * was readable.
   */
  private readSpec(raw: RawItem, remember = true): StoredSpec {
    const item = plainItem(raw);
    const name = String(item['sk']);
    const parsed = v.safeParse(SpecItem, item);
    if (!parsed.success) this.report(parsed.issues, SPEC_PARTITION, name, item);
    // An unreadable generation counts as 0 (absent), so `tandem apply` can write over the item and repair it.
    const generation = parsed.success ? parsed.output.generation : 0;
    const lineage = this.readLineage(name, item['lineage']);
    const withLineage = lineage === undefined ? {} : { lineage };
    const read = this.readDocumentOf(name, raw);
    if (remember && parsed.success)
      this.documentsRead.set(name, { generation, canonical: canonicalJson(read.document), ...withLineage });
    return {
      name,
      generation,
      hash: documentHash(read.document),
      document: read.document,
      ...(read.problems.length === 0 ? {} : { problems: read.problems }),
      ...withLineage,
    };
  }

  private readDocumentOf(name: string, raw: RawItem): { document: unknown; problems: AttributeProblem[] } {
    const map = raw[SPEC_ATTRIBUTE];
    if (map !== undefined) {
      const { document, problems } = readDocument(map);
      for (const problem of problems)
        this.reportField(SPEC_PARTITION, name, `spec.${problem.field}`, problem.message);
      return { document, problems };
    }
    const text = raw[DOCUMENT_ATTRIBUTE];
    if (text?.S !== undefined) {
      try {
        return { document: JSON.parse(text.S) as unknown, problems: [] };
      } catch (error) {
        this.reportField(SPEC_PARTITION, name, 'document', `is not valid JSON (${(error as Error).message})`);
        return { document: text.S, problems: [] };
      }
    }
    const problem = {
      field: '',
      message:
        text === undefined
          ? `is missing from the item: it holds neither ${SPEC_ATTRIBUTE} (a map) nor ${DOCUMENT_ATTRIBUTE} (JSON text); apply the spec again with tandem apply -f`
          : `is in attribute ${DOCUMENT_ATTRIBUTE} as something other than a string; store the spec as a map in ${SPEC_ATTRIBUTE} (tandem apply -f does)`,
    };
    this.reportField(SPEC_PARTITION, name, SPEC_ATTRIBUTE, problem.message);
    return { document: undefined, problems: [problem] };
  }

  /** A spec's lineage; one that cannot be read is reported and left out (no lost edit can then be shown for it). */
  private readLineage(name: string, value: unknown): SpecLineage | undefined {
    if (value === undefined) return undefined;
    const parsed = v.safeParse(Lineage, value);
    if (parsed.success) return parsed.output;
    this.report(parsed.issues, SPEC_PARTITION, name, value, 'lineage');
    return undefined;
  }

  private readEdit(item: Item): EditRecord[] {
    const key = String(item['sk']);
    const at = key.lastIndexOf('#');
    const parsed = v.safeParse(EditItem, item);
    if (at < 0 || !parsed.success) {
      if (parsed.success) this.reportField(EDIT_PARTITION, key, 'sk', 'must be <site>#<region>');
      else this.report(parsed.issues, EDIT_PARTITION, key, item);
      return [];
    }
    return [{ site: key.slice(0, at), region: key.slice(at + 1), ...parsed.output }];
  }

  /**
   * A status item: `<site>#<region>` with the status as a map, or from before
   * statuses were per region, `<site>` with the status as JSON. One that
   * cannot be read is reported and marked unreadable: that site's region
   * loses its history (its reconciler writes a fresh status over it), no
   * other site is touched.
   */
  private readStatus(item: Item): StoredStatus[] {
    const key = String(item['sk']);
    const at = key.lastIndexOf('#');
    const legacy = at < 0;
    const name = legacy ? key : key.slice(0, at);
    const region = legacy ? undefined : key.slice(at + 1);
    const parsed = v.safeParse(StatusItem, item);
    const unreadable = (body?: unknown): StoredStatus[] => [
      {
        name,
        ...(region === undefined ? {} : { region }),
        // An unreadable revision counts as 0 (absent): the next write then replaces the item.
        revision: typeof item['revision'] === 'number' ? item['revision'] : 0,
        // What still reads of its own region's entry and its CDN is kept, so the site keeps its scaling memory.
        status:
          (region === undefined ? undefined : salvageStatus(body, name, region)) ??
          emptyStatus(name, region ?? ''),
        unreadable: true,
      },
    ];
    if (!parsed.success) {
      this.report(parsed.issues, STATUS_PARTITION, key, item);
      return unreadable();
    }
    let body = parsed.output.status;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body) as unknown;
      } catch (error) {
        this.reportField(STATUS_PARTITION, key, 'status', `is not valid JSON (${(error as Error).message})`);
        return unreadable();
      }
    }
    const checked = checkStatus(body, legacy);
    if (!checked.ok) {
      this.report(checked.issues, STATUS_PARTITION, key, body, 'status');
      return unreadable(body);
    }
    if (!legacy && checked.status.region !== region) {
      this.reportField(STATUS_PARTITION, key, 'status.region', `is ${checked.status.region}, not ${region}`);
      return unreadable();
    }
    const status = { ...checked.status, site: name };
    return [{ name, ...(region === undefined ? {} : { region }), revision: parsed.output.revision, status }];
  }

  private report(
    issues: readonly v.BaseIssue<unknown>[],
    pk: string,
    sk: string,
    item: unknown,
    prefix?: string,
  ): void {
    for (const issue of issues) {
      const keys = issueKeys(issue);
      const path = [...(prefix === undefined ? [] : [prefix]), ...keys.map(String)].join('.');
      const found = keys.reduce<unknown>(
        (value, key) =>
          value !== null && typeof value === 'object'
            ? (value as Record<PropertyKey, unknown>)[key as PropertyKey]
            : undefined,
        item,
      );
      this.reportField(pk, sk, path, `${issueMessage(issue)} (found ${describeValue(found)})`);
    }
  }

  private reportField(pk: string, sk: string, field: string, problem: string): void {
    const what = pk === SPEC_PARTITION ? `re-apply the spec with tandem apply -f` : 'delete the item';
    this.options.onMalformed?.(
      new CloudError(
        'Invalid',
        `${this.tableName}/${pk}/${sk}`,
        `item pk=${pk} sk=${sk} in table ${this.tableName}: field ${field} ${problem}; fix the item or ${what}`,
      ),
    );
  }

  // ----- calls -----

  private async queryPartition(pk: string, skPrefix?: string): Promise<Item[]> {
    return (await this.queryRaw(pk, skPrefix)).map(plainItem);
  }

  private async queryRaw(pk: string, skPrefix?: string): Promise<RawItem[]> {
    const items: RawItem[] = [];
    let start: RawItem | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression:
              skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: {
              ':pk': S(pk),
              ...(skPrefix === undefined ? {} : { ':prefix': S(skPrefix) }),
            },
            ConsistentRead: true,
            ...(this.options.pageSize === undefined ? {} : { Limit: this.options.pageSize }),
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
      } catch (error) {
        throw this.failed(error, 'Query', `${pk} items`);
      }
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  private async getItem(pk: string, sk: string): Promise<Item | undefined> {
    const raw = await this.getRaw(pk, sk);
    return raw === undefined ? undefined : plainItem(raw);
  }

  private async getRaw(pk: string, sk: string): Promise<RawItem | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pk), sk: S(sk) },
          ConsistentRead: true,
        }),
      );
      return Item;
    } catch (error) {
      throw this.failed(error, 'GetItem', `${pk}/${sk}`);
    }
  }

  /** The number a failed condition met: from the error's item where DynamoDB returned it, else read again. */
  private async currentNumber(
    error: unknown,
    pk: string,
    sk: string,
    attribute: string,
  ): Promise<number | undefined> {
    const old = (error as { Item?: Record<string, { N?: string } | undefined> }).Item;
    if (old !== undefined) return old[attribute]?.N === undefined ? 0 : Number(old[attribute].N);
    try {
      const item = await this.getItem(pk, sk);
      if (item === undefined) return 0;
      return typeof item[attribute] === 'number' ? item[attribute] : undefined;
    } catch {
      return undefined;
    }
  }

  private failed(error: unknown, operation: string, item: string): CloudError {
    return fromAwsError(error, 'dynamodb', operation, `table ${this.tableName} (${item})`);
  }
}

/** Condition for a write that expects `attribute` to be `expected`; 0 means absent (or unreadable). */
interface VersionedKind {
  what: 'spec' | 'status';
  partition: string;
  attribute: 'generation' | 'revision';
}

const SPEC: VersionedKind = { what: 'spec', partition: SPEC_PARTITION, attribute: 'generation' };
const STATUS: VersionedKind = { what: 'status', partition: STATUS_PARTITION, attribute: 'revision' };

function expectNumber(
  attribute: string,
  expected: number,
): Pick<
  PutItemCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
> {
  return expected === 0
    ? {
        ConditionExpression: `attribute_not_exists(pk) OR NOT attribute_type(#a, :number)`,
        ExpressionAttributeNames: { '#a': attribute },
        ExpressionAttributeValues: { ':number': S('N') },
      }
    : {
        ConditionExpression: `#a = :expected`,
        ExpressionAttributeNames: { '#a': attribute },
        ExpressionAttributeValues: { ':expected': N(expected) },
      };
}

function isConditionFailed(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

function conflict(
  what: 'spec' | 'status',
  name: string,
  attribute: 'generation' | 'revision',
  current: number | undefined,
  expected: number,
  consequence: string,
): CloudError {
  const found = current === undefined ? 'unknown' : String(current);
  return new CloudError(
    'Conflict',
    name,
    `${what} ${name} changed since it was read (${attribute} ${found}, expected ${expected}); ${consequence}: read it again and retry`,
  );
}

function toJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new CloudError('Invalid', what, `${what} cannot be stored: ${(error as Error).message}`);
  }
  if (json === undefined)
    throw new CloudError('Invalid', what, `${what} cannot be stored: it is not a JSON value`);
  return json;
}

/**
 * An item as plain data, the way the store's schemas read it: strings,
 * numbers (a number JavaScript cannot hold exactly stays a string, so the item
 * is reported rather than misread), booleans, null, lists, maps, and sets as
 * `Set`s.
 */
function plainItem(item: RawItem): Item {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, plainValue(value)]));
}

function plainValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return readNumber(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(plainValue);
  if (value.M !== undefined) return plainItem(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(readNumber));
  if (value.BS !== undefined) return new Set(value.BS);
  return value.B;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…"` : `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value === 'object' && value !== null ? (value instanceof Set ? 'set' : 'map') : typeof value}`;
}
