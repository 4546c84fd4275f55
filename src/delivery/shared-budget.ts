import type { Kysely } from 'kysely';
import type { Rate } from '../config/units.js';
import type { BudgetBucket } from '../store/codecs.js';
import { leaseQuota, withdrawRetries } from '../store/delivery-budgets.js';
import type { DatabaseKind, Tables } from '../store/tables.js';

/**
 * The retry budget's rule (Finagle `RetryBudget`, as src/delivery/retry-budget.ts): over the window, retries may be at
 * most `percent`% of first attempts plus `minPerSecond` × the window's seconds.
 */
export function retriesAllowed(requests: number, percent: number, minPerSecond: number, windowMs: number): number {
  return Math.floor((percent / 100) * requests + minPerSecond * (windowMs / 1000));
}

/**
 * The retry budget of one destination shared by every process on PostgreSQL: each process counts its first attempts,
 * refunds and cancellations locally and writes them when it next withdraws retries (a block per round, never a row
 * touched per request), or at least once a second; withdrawals are granted against the window's totals of every
 * process, so two processes together retry no more than one would.
 */
export class SharedRetryBudget {
  private delta = { requests: 0, retries: 0 };
  private lastWrite = 0;
  private last: BudgetBucket[] = [];
  private writing?: Promise<unknown>;

  constructor(
    readonly percent: number,
    readonly minPerSecond: number,
    readonly windowMs: number,
    private readonly db: Kysely<Tables>,
    private readonly kind: DatabaseKind,
    private readonly pipeline: string,
    private readonly destination: string,
    private readonly now: () => number = Date.now,
  ) {}

  recordRequest(): void {
    this.delta.requests++;
  }

  /** A retry went through: its withdrawal is returned and it counts as a request (as RetryBudget.refund). */
  refund(): void {
    this.delta.requests++;
    this.delta.retries--;
  }

  /** A granted retry was not sent after all. */
  cancel(): void {
    this.delta.retries--;
  }

  private windowSeconds(): number {
    return Math.max(1, Math.ceil(this.windowMs / 1000));
  }

  /** Withdraws up to `want` retries from the shared budget (writing this process's counts in the same transaction). */
  async grant(want: number): Promise<number> {
    // One write at a time per process: a second round waits for the first's (its counts are in it or in the next).
    while (this.writing) await this.writing.catch(() => undefined);
    const delta = this.delta;
    this.delta = { requests: 0, retries: 0 };
    const p = withdrawRetries(
      this.db,
      this.kind,
      this.pipeline,
      this.destination,
      delta,
      want,
      this.windowSeconds(),
      (buckets) =>
        retriesAllowed(
          buckets.reduce((s, b) => s + b.requests, 0),
          this.percent,
          this.minPerSecond,
          this.windowMs,
        ),
      this.now(),
    );
    this.writing = p;
    try {
      const { granted, buckets } = await p;
      this.last = buckets;
      this.lastWrite = this.now();
      return granted;
    } catch (err) {
      // Not written: keep the counts for the next write.
      this.delta.requests += delta.requests;
      this.delta.retries += delta.retries;
      throw err;
    } finally {
      this.writing = undefined;
    }
  }

  /** Writes this process's counts when a second has passed since the last write (so others see its deposits). */
  async flushIfDue(): Promise<void> {
    if (this.delta.requests === 0 && this.delta.retries === 0) return;
    if (this.now() - this.lastWrite < 1000) return;
    await this.grant(0);
  }

  /** The shared window as last read by this process. */
  snapshot(): {
    window_ms: number;
    percent: number;
    min_per_second: number;
    requests: number;
    retries: number;
    available: number;
    shared: true;
  } {
    const oldest = Math.floor(this.now() / 1000) - this.windowSeconds() + 1;
    const live = this.last.filter((b) => b.second >= oldest);
    const requests = live.reduce((s, b) => s + b.requests, 0);
    const retries = live.reduce((s, b) => s + b.retries, 0);
    return {
      window_ms: this.windowMs,
      percent: this.percent,
      min_per_second: this.minPerSecond,
      requests,
      retries,
      available: Math.max(0, retriesAllowed(requests, this.percent, this.minPerSecond, this.windowMs) - retries),
      shared: true,
    };
  }
}

/**
 * Quotas on top of the rate limit (HubSpot's daily cap, GitHub's hourly one), counted in fixed windows aligned to UTC
 * in a row every process shares — on SQLite too, so a restart does not forget what the day has used. Units are leased
 * in small blocks; a leased unit is good until its window ends, so the quota is never exceeded, and at most one block
 * per process goes unused when a process stops.
 */
export class SharedQuotas {
  private readonly held: { rate: Rate; left: number; windowEnd: number }[];
  /** A quota is spent until then (its window's end): nothing is sent before. */
  blockedUntil = 0;

  constructor(
    quotas: Rate[],
    private readonly db: Kysely<Tables>,
    private readonly kind: DatabaseKind,
    private readonly pipeline: string,
    private readonly destination: string,
    private readonly now: () => number = Date.now,
  ) {
    this.held = quotas.map((rate) => ({ rate, left: 0, windowEnd: 0 }));
  }

  get size(): number {
    return this.held.length;
  }

  /**
   * Takes one unit of every quota for one request: 0 when taken, else the milliseconds until the spent quota's window
   * ends (units already taken from the other quotas are kept for the next request). `perSecond` sizes the block.
   */
  async take(perSecond: number): Promise<number> {
    for (;;) {
      const t = this.now();
      // Checked and taken with no await in between: concurrent rounds of this process never take the same unit.
      const empty = this.held.find((h) => h.windowEnd <= t || h.left <= 0);
      if (!empty) {
        for (const h of this.held) h.left--;
        return 0;
      }
      const block = Math.max(1, Math.min(50, Math.ceil(perSecond * 0.25)));
      const r = await leaseQuota(this.db, this.kind, this.pipeline, this.destination, empty.rate, block, t);
      if (r.windowEnd > empty.windowEnd) {
        empty.left = r.granted;
        empty.windowEnd = r.windowEnd;
      } else empty.left += r.granted;
      if (r.granted === 0 && empty.left <= 0) {
        this.blockedUntil = Math.max(this.blockedUntil, r.windowEnd);
        return Math.max(1, r.windowEnd - t);
      }
    }
  }

  /** Gives back one unit of every quota (taken for a request that was not sent): kept for this process's next one. */
  giveBack(): void {
    const t = this.now();
    for (const h of this.held) if (h.windowEnd > t) h.left++;
    // A concurrent round may have found the quota spent (and blocked until the window's end) while this unit was out:
    // with it back, the next request may go, or the unit would stay stranded here while the others wait a day.
    if (this.held.every((h) => h.windowEnd > t && h.left > 0)) this.blockedUntil = 0;
  }
}
