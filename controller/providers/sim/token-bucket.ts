import { performance } from 'node:perf_hooks';

/** `rate` tokens a second, holding at most `burst`: how AWS meters API calls. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token if one is there. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
