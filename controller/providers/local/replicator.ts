import {
  DeleteItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import { canonicalJson } from '../../model/naming.ts';

/** One region's replica of the local table. */
export interface LocalReplica {
  region: string;
  client: DynamoDBClient;
  tableName: string;
}

export interface ReplicatorOptions {
  /** How long a write takes to reach the other replicas. Default 500 ms (a global table: about a second). */
  delayMs?: number;
  /** How often each replica is read for writes. Default 200 ms. */
  pollMs?: number;
  log?: Logger;
}

type Item = Record<string, AttributeValue>;

/** A write seen in one replica, on its way to the others. */
interface Change {
  key: string;
  /** The item as written; undefined for a delete. */
  item?: Item;
  keyAttributes: Item;
  from: string;
  /** When it was seen: replication's last writer wins on it. */
  version: number;
  due: number;
  /** Replicas it has yet to reach. */
  to: Set<string>;
}

/**
 * A DynamoDB global table's replication for the local cloud, between one
 * dynalite table per region: every write made in a replica (by anyone, the
 * CLI, the reconcilers, a person with the AWS CLI) reaches the others after
 * `delayMs`; where two replicas wrote one item, the write seen later wins in
 * every replica (a global table's last writer wins, to within a poll). A region that is paused (lost) neither sends nor
 * receives; what it missed reaches it once it resumes, and what it wrote
 * before it was lost goes out then.
 *
 * It finds writes by reading every replica every `pollMs` and comparing each
 * item with what it last saw there, so a write needs no hook in the store.
 */
export class TableReplicator {
  private readonly seen = new Map<string, Map<string, { json: string; version: number }>>();
  private readonly pending: Change[] = [];
  private readonly paused = new Set<string>();
  private version = 0;
  private last: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly delayMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly replicas: readonly LocalReplica[],
    private readonly options: ReplicatorOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 500;
    this.pollMs = options.pollMs ?? 200;
    for (const r of replicas) this.seen.set(r.region, new Map());
  }

  start(): void {
    const tick = () => {
      this.running = this.sync()
        .catch((error: unknown) =>
          this.options.log?.warn({ err: (error as Error).message }, 'replication round failed; retrying'),
        )
        .finally(() => {
          this.running = undefined;
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The region is lost: its replica neither sends nor receives until resumed. */
  pause(region: string): void {
    this.paused.add(region);
  }

  resume(region: string): void {
    this.paused.delete(region);
  }

  /** Writes still on their way, for a test or a person waiting for the replicas to meet. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Delivers every write now, due or not: the replicas meet at once (at start-up, before any reconciler runs). */
  async flush(): Promise<void> {
    await this.sync(Number.POSITIVE_INFINITY);
  }

  /** One round: read every live replica for its writes, then deliver those that are due. Rounds never overlap. */
  sync(now = Date.now()): Promise<void> {
    const round = this.last.then(async () => {
      for (const replica of this.replicas) {
        if (this.paused.has(replica.region)) continue;
        await this.collect(replica, now);
      }
      await this.deliver(now);
    });
    this.last = round.catch(() => undefined);
    return round;
  }

  private async collect(replica: LocalReplica, now: number): Promise<void> {
    const seen = this.seen.get(replica.region)!;
    const items = await scanAll(replica);
    const present = new Set<string>();
    for (const item of items) {
      const key = itemKey(item);
      present.add(key);
      const json = canonicalJson(item)!;
      if (seen.get(key)?.json === json) continue;
      this.record(replica.region, key, item, keyOf(item), now);
    }
    for (const [key, last] of seen) {
      if (present.has(key) || last.json === '') continue;
      this.record(replica.region, key, undefined, JSON.parse(key) as Item, now);
    }
  }

  private record(region: string, key: string, item: Item | undefined, keyAttributes: Item, now: number) {
    this.version += 1;
    this.seen
      .get(region)!
      .set(key, { json: item === undefined ? '' : canonicalJson(item)!, version: this.version });
    // A newer write of the same item from the same replica replaces one still on its way.
    const stale = this.pending.findIndex((c) => c.key === key && c.from === region);
    if (stale >= 0) this.pending.splice(stale, 1);
    this.pending.push({
      key,
      ...(item === undefined ? {} : { item }),
      keyAttributes,
      from: region,
      version: this.version,
      due: now + this.delayMs,
      to: new Set(this.replicas.map((r) => r.region).filter((r) => r !== region)),
    });
  }

  private async deliver(now: number): Promise<void> {
    for (const change of [...this.pending]) {
      if (change.due > now || this.paused.has(change.from)) continue;
      for (const region of [...change.to]) {
        if (this.paused.has(region)) continue;
        const target = this.replicas.find((r) => r.region === region)!;
        const there = this.seen.get(region)!.get(change.key);
        // Last writer wins: a later write of the item made there stands.
        if (there === undefined || there.version < change.version) {
          await write(target, change);
          this.seen.get(region)!.set(change.key, {
            json: change.item === undefined ? '' : canonicalJson(change.item)!,
            version: change.version,
          });
        }
        change.to.delete(region);
      }
      if (change.to.size === 0) this.pending.splice(this.pending.indexOf(change), 1);
    }
  }
}

async function scanAll(replica: LocalReplica): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page: ScanCommandOutput = await replica.client.send(
      new ScanCommand({
        TableName: replica.tableName,
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function write(replica: LocalReplica, change: Change): Promise<void> {
  if (change.item === undefined)
    await replica.client.send(
      new DeleteItemCommand({ TableName: replica.tableName, Key: change.keyAttributes }),
    );
  else await replica.client.send(new PutItemCommand({ TableName: replica.tableName, Item: change.item }));
}

function keyOf(item: Item): Item {
  return { pk: item['pk']!, sk: item['sk']! };
}

function itemKey(item: Item): string {
  return JSON.stringify(keyOf(item));
}
