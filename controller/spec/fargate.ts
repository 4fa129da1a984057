export const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

/** Memory sizes (MiB) Fargate accepts for each CPU size (CPU units). */
const FARGATE_MEMORY: Record<
  (typeof FARGATE_CPU)[number],
  { min: number; max: number; step: number } | readonly number[]
> = {
  256: [512, 1024, 2048],
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

/** The memory sizes allowed for `cpu`, as text for an error message. */
export function describeFargateMemory(cpu: number): string {
  const allowed = FARGATE_MEMORY[cpu as (typeof FARGATE_CPU)[number]];
  if (allowed === undefined) return `cpu must be one of ${FARGATE_CPU.join(', ')}`;
  if (Array.isArray(allowed)) return `${allowed.join(', ')}`;
  const range = allowed as { min: number; max: number; step: number };
  return `${range.min} to ${range.max} in steps of ${range.step}`;
}

export function isFargatePair(cpu: number, memory: number): boolean {
  const allowed = FARGATE_MEMORY[cpu as (typeof FARGATE_CPU)[number]];
  if (allowed === undefined) return false;
  if (Array.isArray(allowed)) return allowed.includes(memory);
  const range = allowed as { min: number; max: number; step: number };
  return memory >= range.min && memory <= range.max && (memory - range.min) % range.step === 0;
}
