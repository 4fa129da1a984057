import type { FailedRollout } from '../model/status.ts';
import type { ServiceState } from '../ports/ecs.ts';

/**
 * The task definitions whose deployment ECS failed in this region and that
 * the spec still wants: tandem does not deploy them again, since ECS would
 * fail and roll back the same way every pass. ECS lists a failed deployment
 * only until its rollback completes, so status keeps them (`before`). A spec
 * that wants another task definition (a new image, task settings or size)
 * drops the record, and that one is deployed; so does a service that runs
 * the family after all (deployed by hand, say). Pure.
 */
export function failedRollouts(
  services: readonly ServiceState[],
  before: readonly FailedRollout[] | undefined,
  wantedFamilies: ReadonlySet<string>,
  now: number,
): FailedRollout[] {
  const byFamily = new Map<string, FailedRollout>();
  for (const known of before ?? []) byFamily.set(known.taskDefinition, known);
  for (const service of services) {
    const failed = service.failedRollout;
    if (failed === undefined || byFamily.has(failed.taskDefinition)) continue;
    byFamily.set(failed.taskDefinition, {
      service: service.name,
      taskDefinition: failed.taskDefinition,
      reason: failed.reason,
      since: now,
    });
  }
  const runsFine = new Set(
    services
      .filter((s) => !s.rolloutInProgress && s.failedRollout?.taskDefinition !== s.taskDefinition)
      .map((s) => s.taskDefinition),
  );
  return [...byFamily.values()]
    .filter((f) => wantedFamilies.has(f.taskDefinition) && !runsFine.has(f.taskDefinition))
    .sort((a, b) => (a.taskDefinition < b.taskDefinition ? -1 : 1));
}
