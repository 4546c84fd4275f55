/**
 * A retry budget per destination, as Finagle's `RetryBudget` (twitter/finagle, "Retry budgets"): over a sliding
 * window of `windowMs`, retries may be at most `percent` of requests plus a floor of `minPerSecond`, so an outage
 * cannot turn every failure into more traffic. As in gRPC's retry throttling (gRFC A6), a retry that succeeds
 * refills the budget (it is refunded and counts as a request): in an outbox all work left may be retries, and a
 * healthy destination must be able to drain them at its full rate. Counted in one-second buckets of a ring.
 */
export class RetryBudget {
  private readonly buckets: { second: number; requests: number; retries: number }[];

  constructor(
    readonly percent: number,
    readonly minPerSecond: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    const n = Math.max(1, Math.ceil(windowMs / 1000));
    this.buckets = Array.from({ length: n }, () => ({ second: -1, requests: 0, retries: 0 }));
  }

  private bucket(): { second: number; requests: number; retries: number } {
    const second = Math.floor(this.now() / 1000);
    const b = this.buckets[second % this.buckets.length];
    if (b.second !== second) {
      b.second = second;
      b.requests = 0;
      b.retries = 0;
    }
    return b;
  }

  private totals(): { requests: number; retries: number } {
    const oldest = Math.floor(this.now() / 1000) - this.buckets.length + 1;
    let requests = 0;
    let retries = 0;
    for (const b of this.buckets) {
      if (b.second >= oldest) {
        requests += b.requests;
        retries += b.retries;
      }
    }
    return { requests, retries };
  }

  /** Counts a first attempt (a deposit into the budget). */
  recordRequest(): void {
    this.bucket().requests++;
  }

  /** A retry went through: evidence the destination is healthy. Its withdrawal is returned and it counts as a request. */
  refund(): void {
    const b = this.bucket();
    if (b.retries > 0) b.retries--;
    b.requests++;
  }

  /** A retry taken from the budget was not sent after all: its withdrawal is returned. */
  cancel(): void {
    const b = this.bucket();
    if (b.retries > 0) b.retries--;
  }

  /** Retries the budget still allows in the window now. */
  available(): number {
    const { requests, retries } = this.totals();
    const allowed = Math.floor((this.percent / 100) * requests + this.minPerSecond * (this.windowMs / 1000));
    return Math.max(0, allowed - retries);
  }

  /** Takes one retry from the budget; false when it is spent (the retry must wait). */
  tryRetry(): boolean {
    if (this.available() <= 0) return false;
    this.bucket().retries++;
    return true;
  }

  /** Takes up to `want` retries from the budget at once (the interface the shared budget has too). */
  async grant(want: number): Promise<number> {
    let n = 0;
    while (n < want && this.tryRetry()) n++;
    return n;
  }

  /** Nothing to write: this budget lives in this process (SQLite; see shared-budget.ts for PostgreSQL). */
  async flushIfDue(): Promise<void> {}

  snapshot(): { window_ms: number; percent: number; min_per_second: number; requests: number; retries: number; available: number } {
    const t = this.totals();
    return {
      window_ms: this.windowMs,
      percent: this.percent,
      min_per_second: this.minPerSecond,
      requests: t.requests,
      retries: t.retries,
      available: this.available(),
    };
  }
}
