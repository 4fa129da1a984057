import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedCloud } from '../providers/sim/cloud.ts';
import type { SimWorld } from '../providers/sim/world.ts';

/** The simulated cloud's directory cannot be read or written; the message says which and what to do. */
export class SimStateError extends Error {}

/**
 * The simulated cloud kept in a directory between CLI commands, so `apply`,
 * `plan` and `reconcile` act on one world until the AWS providers are used.
 */
export function openSimState(dir: string): SimulatedCloud {
  const file = join(dir, 'world.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw new SimStateError(
        `--state ${dir} is not a directory: name a directory (it is created if missing)`,
      );
    if (code !== 'ENOENT')
      throw new SimStateError(`cannot read the simulated world in ${file}: ${(error as Error).message}`);
  }
  if (text === undefined) return new SimulatedCloud({});
  let world: unknown;
  try {
    world = JSON.parse(text);
  } catch (error) {
    throw new SimStateError(
      `${file} is not valid JSON (${(error as Error).message}); delete it to start afresh`,
    );
  }
  if (!looksLikeWorld(world)) {
    throw new SimStateError(
      `${file} is not a simulated world this version of tandem wrote (before 0.2, the world had one table; since, a replica per region); delete it to start afresh`,
    );
  }
  return new SimulatedCloud({ world });
}

export function saveSimState(dir: string, sim: SimulatedCloud): void {
  const file = join(dir, 'world.json');
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(sim.world, null, 1)}\n`);
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new SimStateError(
      `cannot keep the simulated world in ${dir} (${(error as Error).message}); nothing was changed: pass --state <a directory you can write>`,
    );
  }
}

/** The state file is tandem's own, but a person may have edited or replaced it. */
function looksLikeWorld(value: unknown): value is SimWorld {
  const world = value as Partial<Record<keyof SimWorld, unknown>> | null;
  const isRecord = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return (
    isRecord(world) &&
    typeof world!.seq === 'number' &&
    isRecord(world!.regions) &&
    isRecord(world!.distributions) &&
    isRecord(world!.replicas)
  );
}
