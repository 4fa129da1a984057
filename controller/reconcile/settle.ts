/**
 * Like Promise.all, but waits for every call to finish before failing, so a
 * failed read never leaves calls running outside the pass that made them.
 */
export async function allSettled<T>(calls: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(calls);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
