import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { CloudError } from '../../errors.ts';
import { DynamoSpecStore } from '../aws/store.ts';
import { LocalCloudError } from './endpoints.ts';
import { listen } from './listen.ts';

/** The local table's name; on AWS the bootstrap names it. */
export const LOCAL_TABLE = 'tandem';
/** The region the local DynamoDB answers for (any name works; this one keeps the SDK content). */
export const LOCAL_STORE_REGION = 'us-east-1';

export interface LocalStoreOptions {
  /** Directory the data is kept in across restarts; in memory when undefined. */
  dir?: string;
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** How long a new table takes to become ACTIVE (dynalite's createTableMs); default 0. Tests slow it down. */
  createTableMs?: number;
  /** Called for each stored item that does not have the shape tandem writes (see DynamoSpecStore). */
  onMalformed?: (error: CloudError) => void;
}

export interface LocalStore {
  /** The DynamoDB endpoint, for `AWS_ENDPOINT_URL_DYNAMODB` or the CLI. */
  endpoint: string;
  tableName: string;
  /** The store as `region`'s reconciler uses it. */
  storeFor(region: string, options?: { quiet?: boolean }): DynamoSpecStore;
  /** A client of this table, for whoever reads it whole (the replicator). */
  client: DynamoDBClient;
  /** Its region is lost: the table answers no connection (its data is kept) until `restore`. */
  lose(): void;
  restore(): void;
  close(): Promise<void>;
}

type Dynalite = (options: Record<string, unknown>) => Server;

/** How long closing waits for requests in flight to be answered. */
const DRAIN_MS = 2000;

/**
 * tandem's DynamoDB table, served by dynalite in this process and used
 * through the same DynamoSpecStore as on AWS: what works here works there.
 */
export async function startLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  const require = createRequire(import.meta.url);
  const dynalite = require('dynalite') as Dynalite;
  if (options.dir !== undefined) {
    mkdirSync(options.dir, { recursive: true });
    await checkUnlocked(options.dir, createRequire(require.resolve('dynalite')));
  }
  const server = dynalite({
    ...(options.dir === undefined ? {} : { path: options.dir }),
    createTableMs: options.createTableMs ?? 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  let lost = false;
  server.on('connection', (socket) => {
    if (lost) socket.destroy();
  });
  const endpoint = `http://${host}:${port}`;
  const client = localStoreClient(endpoint);
  // dynalite throws, uncaught, when its database closes under a request still reading it.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const close = async () => {
    client.destroy();
    server.closeIdleConnections?.();
    const drainedBy = Date.now() + DRAIN_MS;
    while (inFlight.size > 0 && Date.now() < drainedBy)
      await new Promise((resolve) => setTimeout(resolve, 10));
    server.closeAllConnections?.();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  };
  try {
    await ensureSpecTable(client, LOCAL_TABLE, options.dir);
  } catch (error) {
    // Nothing may keep listening for a store that cannot be used.
    await close();
    throw error;
  }
  return {
    endpoint,
    tableName: LOCAL_TABLE,
    storeFor: (region, how = {}) =>
      new DynamoSpecStore(
        client,
        LOCAL_TABLE,
        region,
        // A quiet store reports no malformed item: a reader that polls would report it twice a second.
        options.onMalformed === undefined || how.quiet === true ? {} : { onMalformed: options.onMalformed },
      ),
    client,
    lose: () => {
      lost = true;
      server.closeAllConnections?.();
    },
    restore: () => {
      lost = false;
    },
    close,
  };
}

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Fails clearly when another process holds the store's directory: dynalite
 * would find out only on the first request, and then crash.
 */
async function checkUnlocked(dir: string, dynaliteRequire: NodeJS.Require): Promise<void> {
  // The LevelDB binding dynalite itself opens the directory with.
  const { Level } = dynaliteRequire('level') as { Level: new (path: string) => LevelDb };
  const db = new Level(dir);
  try {
    await db.open();
  } catch (error) {
    const e = error as { code?: string; cause?: { code?: string } };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED')
      throw new LocalCloudError(
        `the store in ${dir} is in use by another tandem up: stop that one, or pass --dir <another directory> or --in-memory`,
      );
    throw error;
  }
  await db.close();
}

/** A DynamoDB client for the local store: fixed credentials, since dynalite checks none. */
export function localStoreClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_STORE_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

/** How long a table may take to become ACTIVE before the store is given up on. */
export const TABLE_ACTIVE_TIMEOUT_SECONDS = 10;

/**
 * Creates the table with the bootstrap's key schema (see docs/store.md) unless
 * it exists, and waits until it is ACTIVE: until then DynamoDB, and dynalite,
 * answer every item call with ResourceNotFoundException.
 */
export async function ensureSpecTable(
  client: DynamoDBClient,
  tableName: string,
  dir?: string,
): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  try {
    await waitUntilTableExists(
      { client, maxWaitTime: TABLE_ACTIVE_TIMEOUT_SECONDS, minDelay: 0.05, maxDelay: 0.5 },
      { TableName: tableName },
    );
  } catch (error) {
    if ((error as Error).name !== 'TimeoutError') throw error;
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    throw new LocalCloudError(
      `the store's table ${tableName} is still ${Table?.TableStatus ?? 'missing'} after ${TABLE_ACTIVE_TIMEOUT_SECONDS} s` +
        (dir === undefined
          ? ''
          : ` (a tandem up stopped while creating it?): delete ${dir} to start afresh, or pass --dir <another directory> or --in-memory`),
    );
  }
}
