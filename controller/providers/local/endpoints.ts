import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';

/** Where `tandem up` keeps its store and its endpoints unless told otherwise. */
export const DEFAULT_LOCAL_DIR = '.tandem/local';
export const ENDPOINTS_FILE = 'endpoints.json';

const Endpoints = v.object({
  pid: v.number(),
  /** Tells this run from an earlier one on the same directory. */
  runId: v.string(),
  regions: v.array(v.string()),
  cdn: v.string(),
  /** The dashboard page, which also serves the local cloud's control API under /api/. */
  dashboard: v.string(),
  /** The first region's replica of the table: its DynamoDB endpoint. */
  store: v.string(),
  /** Each region's replica of the table, by region. */
  stores: v.record(v.string(), v.string()),
  table: v.string(),
  intervalSeconds: v.number(),
});

/** The local cloud is not running, or refused what was asked of it. */
export class LocalCloudError extends Error {}

/** What a running local cloud writes so the other commands find it. */
export type LocalEndpoints = v.InferOutput<typeof Endpoints>;

export function writeEndpoints(dir: string, endpoints: LocalEndpoints): void {
  writeFileSync(join(dir, ENDPOINTS_FILE), `${JSON.stringify(endpoints, null, 2)}\n`);
}

/** Removes the endpoints file if it is still this run's (another local cloud may have started since). */
export function removeEndpoints(dir: string, runId: string): void {
  if (readEndpoints(dir)?.runId === runId) rmSync(join(dir, ENDPOINTS_FILE), { force: true });
}

/** The endpoints file in `dir`, or undefined when it is missing or not one tandem wrote. */
export function readEndpoints(dir: string): LocalEndpoints | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, ENDPOINTS_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = v.safeParse(Endpoints, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** A running local cloud: where its parts listen, and which of its regions are lost now. */
export type RunningLocalCloud = LocalEndpoints & { lost: string[] };

/**
 * The local cloud running on `dir`, or undefined when none answers there. The
 * file is checked against the running process, so one left by a killed local
 * cloud is never trusted.
 */
export async function runningLocalCloud(dir: string): Promise<RunningLocalCloud | undefined> {
  const endpoints = readEndpoints(dir);
  if (endpoints === undefined) return undefined;
  try {
    const response = await fetch(new URL('api/local', endpoints.dashboard), {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await response.json()) as { runId?: unknown; lost?: unknown };
    if (!response.ok || body.runId !== endpoints.runId) return undefined;
    const lost = Array.isArray(body.lost) ? body.lost.filter((r): r is string => typeof r === 'string') : [];
    return { ...endpoints, lost };
  } catch {
    return undefined;
  }
}

/**
 * The pinned AWS SDK supports Node 20; its warning is about releases after it,
 * and locally the SDK only talks to the store on this machine.
 */
export function quietSdkNodeWarning(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}
