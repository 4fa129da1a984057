/** Counts of API calls per service, operation and region, for status, logs and metrics. */
export class CallCounter {
  private readonly counts = new Map<string, number>();

  record(service: string, operation: string, region: string): void {
    const key = `${service}\u0000${operation}\u0000${region}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Every count, sorted, then cleared: one pass's worth. */
  drain(): CallCount[] {
    const out = [...this.counts.entries()]
      .map(([key, count]) => {
        const [service, operation, region] = key.split('\u0000') as [string, string, string];
        return { service, operation, region, count };
      })
      .sort((a, b) =>
        `${a.service}${a.operation}${a.region}`.localeCompare(`${b.service}${b.operation}${b.region}`),
      );
    this.counts.clear();
    return out;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
}

export interface CallCount {
  service: string;
  operation: string;
  region: string;
  count: number;
}
