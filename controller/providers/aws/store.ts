import { createHash } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type PutItemCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
import { CloudError } from '../../errors.ts';
import { canonicalJson } from '../../model/naming.ts';
import type { SiteStatus } from '../../model/status.ts';
import type { SpecStorePort, StoredSpec, StoredStatus } from '../../ports/store.ts';
import { issueKeys, issueMessage } from '../../spec/valibot.ts';
import { fromAwsError } from './errors.ts';

/**
 * The spec store on one DynamoDB table (partition key `pk`, sort key `sk`,
 * both strings; no index). Every listing is a Query on one partition:
 *
 * | pk       | sk           | attributes                                                     | written by          |
 * | -------- | ------------ | -------------------------------------------------------------- | ------------------- |
 * | `spec`   | site name    | `generation` N, `document` S (the spec as JSON), `updatedAt` S | people (apply)      |
 * | `status` | site name    | `revision` N, `status` S (SiteStatus as JSON), `updatedAt` S   | the reconciler only |
 * | `lease`  | `reconciler` | `holder` S, `expiresAt` N (epoch ms), `acquiredAt` S           | the reconciler only |
 * | `lease`  | `carry-over` | `sites` L of S, `updatedAt` S                                  | the reconciler only |
 *
 * Spec and status are separate items, so a status write can never touch a
 * person's spec. Documents are JSON strings, so any document, valid or not,
 * round-trips exactly; the hash is computed from the document as read, so an
 * edit made in the console without a generation bump is still seen. Every
 * write is conditional on the generation or revision the writer read.
 * Items are written and read with the plain DynamoDB client, attribute
 * values spelled out. The `platform` partition is the bootstrap's, read by
 * platform.ts. See docs/store.md.
 */

export const SPEC_PARTITION = 'spec';
export const STATUS_PARTITION = 'status';
export const LEASE_PARTITION = 'lease';
export const LEASE_SORT_KEY = 'reconciler';
export const CARRY_OVER_SORT_KEY = 'carry-over';

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

const SpecItem = v.object({
  generation: positiveWhole,
  document: v.string('must be a string holding the spec as JSON'),
});

const StatusItem = v.object({
  revision: positiveWhole,
  status: v.string('must be a string holding the status as JSON'),
});

/** Only what the reconciler relies on when it reads its previous status back. */
const StatusShape = v.looseObject({
  site: v.string(),
  observedGeneration: v.number(),
  observedHash: v.string(),
  conditions: v.record(v.string(), v.unknown()),
  regions: v.record(v.string(), v.unknown()),
  cdn: v.looseObject({}),
  lastActions: v.array(v.unknown()),
  errors: v.array(v.unknown()),
});

const CarryOverItem = v.object({ sites: v.array(v.string(), 'must be a list of site names') });

/** An item as plain data (see `plainItem`), which the schemas above check. */
type Item = Record<string, unknown>;
/** An item as DynamoDB sends and receives it. */
type RawItem = Record<string, AttributeValue>;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

export class DynamoSpecStore implements SpecStorePort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoSpecStoreOptions = {},
  ) {}

  /**
   * The document as last read, per site. An edit made straight in the console
   * changes the document without bumping the generation; writes conditional on
   * this text as well refuse to overwrite such an edit.
   */
  private readonly documentsRead = new Map<string, { generation: number; json: string }>();

  private expectSpec(name: string, expectedGeneration: number) {
    const condition = expectNumber('generation', expectedGeneration);
    const read = this.documentsRead.get(name);
    if (expectedGeneration === 0 || read?.generation !== expectedGeneration) return condition;
    return {
      ConditionExpression: `${condition.ConditionExpression} AND #document = :read`,
      ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, '#document': 'document' },
      ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ':read': S(read.json) },
    };
  }

  // ----- specs -----

  async listSpecs(): Promise<StoredSpec[]> {
    const items = await this.queryPartition(SPEC_PARTITION);
    return items.map((item) => this.readSpec(item));
  }

  async getSpec(name: string): Promise<StoredSpec | undefined> {
    const item = await this.getItem(SPEC_PARTITION, name);
    return item === undefined ? undefined : this.readSpec(item);
  }

  async putSpec(name: string, document: unknown, expectedGeneration: number): Promise<StoredSpec> {
    const json = toJson(document, `spec ${name}`);
    const generation = expectedGeneration + 1;
    await this.versionedWrite(SPEC, name, expectedGeneration, {
      Item: {
        pk: S(SPEC_PARTITION),
        sk: S(name),
        generation: N(generation),
        document: S(json),
        updatedAt: S(new Date().toISOString()),
      },
    });
    const stored = JSON.parse(json) as unknown;
    return { name, generation, hash: documentHash(stored), document: stored };
  }

  async deleteSpec(name: string, expectedGeneration: number): Promise<void> {
    await this.versionedWrite(SPEC, name, expectedGeneration, 'delete');
  }

  // ----- statuses -----

  async listStatuses(): Promise<StoredStatus[]> {
    const items = await this.queryPartition(STATUS_PARTITION);
    return items.map((item) => this.readStatus(item));
  }

  async putStatus(status: SiteStatus, expectedRevision: number): Promise<StoredStatus> {
    const name = status.site;
    const json = toJson(status, `status ${name}`);
    const revision = expectedRevision + 1;
    await this.versionedWrite(STATUS, name, expectedRevision, {
      Item: {
        pk: S(STATUS_PARTITION),
        sk: S(name),
        revision: N(revision),
        status: S(json),
        updatedAt: S(new Date().toISOString()),
      },
    });
    return { name, revision, status: JSON.parse(json) as SiteStatus };
  }

  async deleteStatus(name: string, expectedRevision: number): Promise<void> {
    await this.versionedWrite(STATUS, name, expectedRevision, 'delete');
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
    const condition =
      kind.what === 'spec' ? this.expectSpec(name, expected) : expectNumber(kind.attribute, expected);
    const common = {
      TableName: this.tableName,
      ...condition,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
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

  // ----- the lease -----

  async acquireLease(holder: string, ttlSeconds: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(LEASE_PARTITION),
            sk: S(LEASE_SORT_KEY),
            holder: S(holder),
            expiresAt: N(now + ttlSeconds * 1000),
            acquiredAt: S(new Date(now).toISOString()),
          },
          // Free, expired (a lease is live until, not at, expiresAt), unreadable, or already ours.
          ConditionExpression:
            'attribute_not_exists(pk) OR NOT attribute_type(expiresAt, :number) OR expiresAt <= :now OR holder = :holder',
          ExpressionAttributeValues: { ':number': S('N'), ':now': N(now), ':holder': S(holder) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw this.failed(error, 'PutItem', `${LEASE_PARTITION}/${LEASE_SORT_KEY}`);
    }
  }

  async releaseLease(holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: S(LEASE_PARTITION), sk: S(LEASE_SORT_KEY) },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': S(holder) },
        }),
      );
    } catch (error) {
      // Not ours (taken over after it expired, or never held): leave it.
      if (isConditionFailed(error)) return;
      throw this.failed(error, 'DeleteItem', `${LEASE_PARTITION}/${LEASE_SORT_KEY}`);
    }
  }

  // ----- the reconciler's carry-over (not part of SpecStorePort) -----

  /** Sites the last invocation did not reach, to go first in the next; empty when none or unreadable. */
  async getCarryOver(): Promise<string[]> {
    const item = await this.getItem(LEASE_PARTITION, CARRY_OVER_SORT_KEY);
    if (item === undefined) return [];
    const parsed = v.safeParse(CarryOverItem, item);
    if (parsed.success) return parsed.output.sites;
    this.report(parsed.issues, LEASE_PARTITION, CARRY_OVER_SORT_KEY, item);
    return [];
  }

  /** Written by the lease holder only, just before it releases the lease. */
  async setCarryOver(sites: readonly string[]): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(LEASE_PARTITION),
            sk: S(CARRY_OVER_SORT_KEY),
            sites: { L: sites.map(S) },
            updatedAt: S(new Date().toISOString()),
          },
        }),
      );
    } catch (error) {
      throw this.failed(error, 'PutItem', `${LEASE_PARTITION}/${CARRY_OVER_SORT_KEY}`);
    }
  }

  // ----- reading items -----

  /** A spec item as well as it can be read; a malformed one is reported and comes back with what was readable. */
  private readSpec(item: Item): StoredSpec {
    const name = String(item['sk']);
    const parsed = v.safeParse(SpecItem, item);
    if (parsed.success) {
      this.documentsRead.set(name, { generation: parsed.output.generation, json: parsed.output.document });
      try {
        const document = JSON.parse(parsed.output.document) as unknown;
        return { name, generation: parsed.output.generation, hash: documentHash(document), document };
      } catch (error) {
        this.reportField(SPEC_PARTITION, name, 'document', `is not valid JSON (${(error as Error).message})`);
        const document = parsed.output.document;
        return { name, generation: parsed.output.generation, hash: documentHash(document), document };
      }
    }
    this.report(parsed.issues, SPEC_PARTITION, name, item);
    // An unreadable generation counts as 0 (absent), so `tandem apply` can write over the item and repair it.
    const generation = typeof item['generation'] === 'number' ? item['generation'] : 0;
    const document = readableDocument(item['document']);
    return { name, generation, hash: documentHash(document), document };
  }

  /**
   * A status item; a malformed one comes back as an empty status at the
   * revision read (0 when unreadable), so the next pass writes it afresh.
   */
  private readStatus(item: Item): StoredStatus {
    const name = String(item['sk']);
    const parsed = v.safeParse(StatusItem, item);
    const revision = typeof item['revision'] === 'number' ? item['revision'] : 0;
    if (!parsed.success) {
      this.report(parsed.issues, STATUS_PARTITION, name, item);
      return { name, revision, status: emptyStatus(name) };
    }
    let body: unknown;
    try {
      body = JSON.parse(parsed.output.status);
    } catch (error) {
      this.reportField(STATUS_PARTITION, name, 'status', `is not valid JSON (${(error as Error).message})`);
      return { name, revision, status: emptyStatus(name) };
    }
    const shape = v.safeParse(StatusShape, body);
    if (!shape.success) {
      this.report(shape.issues, STATUS_PARTITION, name, body, 'status');
      return { name, revision, status: emptyStatus(name) };
    }
    return { name, revision, status: { ...(shape.output as unknown as SiteStatus), site: name } };
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

  private async queryPartition(pk: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: RawItem | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': S(pk) },
            ConsistentRead: true,
            ...(this.options.pageSize === undefined ? {} : { Limit: this.options.pageSize }),
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
      } catch (error) {
        throw this.failed(error, 'Query', `${pk} items`);
      }
      items.push(...(page.Items ?? []).map(plainItem));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  private async getItem(pk: string, sk: string): Promise<Item | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: S(pk), sk: S(sk) },
          ConsistentRead: true,
        }),
      );
      return Item === undefined ? undefined : plainItem(Item);
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

/** A document attribute that is not a JSON string, as plain data: a console edit may have made it a map. */
function readableDocument(value: unknown): unknown {
  if (typeof value !== 'string') return value instanceof Set ? [...(value as Set<unknown>)] : value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…"` : `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value === 'object' && value !== null ? (value instanceof Set ? 'set' : 'map') : typeof value}`;
}

function emptyStatus(site: string): SiteStatus {
  return {
    site,
    observedGeneration: 0,
    observedHash: '',
    conditions: {},
    regions: {},
    cdn: {},
    lastActions: [],
    errors: [],
  };
}
