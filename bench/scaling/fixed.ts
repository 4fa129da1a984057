import type { Policy } from './policy.ts';

/** Provisioned for the mean: ceil(mean demand / target) tasks, never changed. */
export function fixedTasks(requests: readonly number[], targetPerTask: number): number {
  const mean = requests.reduce((sum, r) => sum + r, 0) / Math.max(requests.length, 1);
  return Math.max(1, Math.ceil(mean / targetPerTask));
}

export function fixedPolicy(tasks: number): Policy {
  return { decide: () => ({ tasks, reason: 'Fixed' }) };
}
