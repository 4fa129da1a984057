export interface TaskSplit {
  stable: number;
  canary: number;
}

/**
 * Splits a region's tasks between stable and canary by the canary's traffic
 * weight: the canary runs at least one task while its weight is above zero, and
 * the stable at least one while its weight is. When both are weighted and the
 * region runs one task, the canary gets a second one only if `maxTasks` allows
 * it: the split never exceeds `maxTasks` (the spec refuses a canary with
 * maxTasks below 2, spec/schema.ts; were one to get here, the stable keeps the task).
 */
export function splitTasks(total: number, canaryWeight: number, maxTasks: number): TaskSplit {
  const tasks = Math.min(total, maxTasks);
  if (tasks <= 0) return { stable: 0, canary: 0 };
  if (canaryWeight <= 0) return { stable: tasks, canary: 0 };
  if (canaryWeight >= 100) return { stable: 0, canary: tasks };
  const both = Math.max(tasks, Math.min(2, maxTasks));
  if (both < 2) return { stable: both, canary: 0 };
  const canary = Math.min(Math.max(Math.round((both * canaryWeight) / 100), 1), both - 1);
  return { stable: both - canary, canary };
}
