export interface TaskSplit {
  stable: number;
  canary: number;
}

/**
 * Splits a region's tasks between stable and canary by the canary's traffic
 * weight: the canary runs at least one task while its weight is above zero, and
 * the stable at least one while its weight is.
 */
export function splitTasks(total: number, canaryWeight: number): TaskSplit {
  if (total <= 0) return { stable: 0, canary: 0 };
  if (canaryWeight <= 0) return { stable: total, canary: 0 };
  if (canaryWeight >= 100) return { stable: 0, canary: total };
  const canary = Math.min(Math.max(Math.round((total * canaryWeight) / 100), 1), Math.max(total - 1, 1));
  return { stable: Math.max(total - canary, 1), canary };
}
