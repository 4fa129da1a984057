/** A counting semaphore: at most `limit` calls run at once. */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await call();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** One limiter per key (a region, `cloudfront` or `store`: limited-ports.ts). */
export class Limiters {
  private readonly byKey = new Map<string, Limiter>();
  constructor(readonly limit: number) {}

  for(key: string): Limiter {
    let limiter = this.byKey.get(key);
    if (limiter === undefined) {
      limiter = new Limiter(this.limit);
      this.byKey.set(key, limiter);
    }
    return limiter;
  }
}
