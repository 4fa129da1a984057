import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoSpecStore } from '../aws/store.ts';
import { LocalCloudError } from './endpoints.ts';

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
}

export interface LocalStore {
  /** The DynamoDB endpoint, for `AWS_ENDPOINT_URL_DYNAMODB` or the CLI. */
  endpoint: string;
  tableName: string;
  /** The store as `region`'s reconciler uses it. */
  storeFor(region: string): DynamoSpecStore;
  close(): Promise<void>;
}

type Dynalite = (options: Record<string, unknown>) => Server;

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
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host}:${port}`;
  const client = localStoreClient(endpoint);
  await ensureSpecTable(client, LOCAL_TABLE);
  return {
    endpoint,
    tableName: LOCAL_TABLE,
    storeFor: (region) => new DynamoSpecStore(client, LOCAL_TABLE, region),
    close: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
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

/** Creates the table with the bootstrap's key schema (see docs/store.md) unless it exists. */
export async function ensureSpecTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
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
