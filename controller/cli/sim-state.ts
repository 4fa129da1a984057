import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedCloud } from '../providers/sim/cloud.ts';
import type { SimWorld } from '../providers/sim/world.ts';

/**
 * The simulated cloud kept in a directory between CLI commands, so `apply`,
 * `plan` and `reconcile` act on one world until the AWS providers are used.
 */
export function openSimState(dir: string): SimulatedCloud {
  const file = join(dir, 'world.json');
  let world: SimWorld | undefined;
  try {
    world = JSON.parse(readFileSync(file, 'utf8')) as SimWorld;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(
        `cannot read the simulated world in ${file}: ${(error as Error).message}; delete it to start afresh`,
      );
    }
  }
  if (world !== undefined && !looksLikeWorld(world)) {
    throw new Error(
      `${file} is not a simulated world this version of tandem wrote (before 0.2, the world had one table; since, a replica per region); delete it to start afresh`,
    );
  }
  return new SimulatedCloud(world === undefined ? {} : { world });
}

export function saveSimState(dir: string, sim: SimulatedCloud): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'world.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(sim.world, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
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
