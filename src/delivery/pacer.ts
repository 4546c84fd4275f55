import type { DestinationConfig } from '../config/sections/destinations.js';
import type { Rate } from '../config/units.js';
import { AimdRate } from './aimd.js';
import type { Verdict } from './classify.js';
import { RateLimiter } from './rate-limiter.js';
import type { SharedQuotas } from './shared-budget.js';
import { type RateSignal, signalledRatePerSecond } from './signals.js';

const perSecond = (r: Rate) => (r.count / r.intervalMs) * 1000;

/** Leases tokens from a bucket shared by every process (PostgreSQL); see store/delivery-state.ts. */
export type SharedBucket = (want: number, perSecond: number, burst: number) => Promise<{ granted: number; waitMs: number }>;

/** Where the pace comes from: the config (or preset), the destination's own headers, or AIMD. */
export type RateSource = 'config' | 'header' | 'aimd';

/**
 * Paces requests to one destination in this process: a token bucket at the configured rate (or the rate the
 * destination's headers state, or one found by AIMD), shared through the database when `shared` is given;
 * plus the destination's signals — Retry-After pauses everything, `remaining: 0` pauses until the reset, and a
 * remaining quota that would run out before its reset spreads the rest evenly (slowing down before the 429).
 */
export class Pacer {
  private readonly local: RateLimiter;
  private readonly extras: RateLimiter[];
  readonly aimd?: AimdRate;
  private headerRate?: number;
  private leased = 0;
  private leasedAt = 0;
  /** How long a lease from the shared bucket takes (moving average, ms). */
  private leaseMs = 0;
  /** No request before this time (Retry-After, remaining 0). */
  pauseUntil = 0;
  private sigRemaining?: number;
  private sigResetAt?: number;
  private nextSpreadAt = 0;
  lastSignal?: RateSignal & { at: number };
  /** The last reading of the clock (to notice it going back). */
  private lastNow = 0;
  throttles = 0;
  sent = 0;

  constructor(
    private readonly dest: DestinationConfig,
    private readonly now: () => number,
    private readonly shared?: SharedBucket,
    /** The destination's quotas kept in the database (shared by processes, kept over restarts); else counted here. */
    private readonly quotas?: SharedQuotas,
  ) {
    if (!dest.rateLimit) {
      const a = dest.adaptive;
      this.aimd = new AimdRate(
        { initial: a.initialPerSecond, min: 0.1, max: a.maxPerSecond, step: a.step, decrease: a.decrease, intervalMs: a.intervalMs },
        now,
      );
    }
    this.local = new RateLimiter({ count: this.ratePerSecond(), intervalMs: 1000, text: '' }, now, this.burst());
    this.extras = quotas ? [] : dest.extraLimits.map((r) => new RateLimiter(r, now, r.count));
  }

  /** The rate requests are paced to now, per second. */
  ratePerSecond(): number {
    if (this.dest.rateLimit) return perSecond(this.dest.rateLimit);
    if (this.headerRate !== undefined) return this.headerRate;
    return this.aimd?.perSecond ?? 10;
  }

  source(): RateSource {
    return this.dest.rateLimit ? 'config' : this.headerRate !== undefined ? 'header' : 'aimd';
  }

  /** The limit found without configuration (header or AIMD); undefined when configured or not found yet. */
  found(): { perSecond: number; source: 'header' | 'aimd' } | undefined {
    if (this.dest.rateLimit) return undefined;
    if (this.headerRate !== undefined) return { perSecond: this.headerRate, source: 'header' };
    const f = this.aimd?.found;
    return f === undefined ? undefined : { perSecond: f, source: 'aimd' };
  }

  private burst(): number {
    if (this.dest.burst !== undefined) return this.dest.burst;
    const rate = this.ratePerSecond();
    const cap = this.dest.rateLimit ? this.dest.rateLimit.count : Number.POSITIVE_INFINITY;
    // A fifth of a second's worth (RateLimiter's default), at least 1 and at most the rate's count.
    return Math.max(1, Math.min(cap, Math.ceil(rate * 0.2)));
  }

  /**
   * The clock now. When it went back (a correction of the system clock, a test's clock), the deadlines held here —
   * a pause asked for by the destination, the end of its quota window, the next spread request — move back with
   * it: each keeps what was left of it, rather than becoming as long as the jump.
   */
  private clock(): number {
    const t = this.now();
    if (t < this.lastNow) {
      const back = this.lastNow - t;
      if (this.pauseUntil > 0) this.pauseUntil -= back;
      if (this.sigResetAt !== undefined) this.sigResetAt -= back;
      if (this.nextSpreadAt > 0) this.nextSpreadAt -= back;
      this.leasedAt -= back;
    }
    this.lastNow = t;
    return t;
  }

  /** Milliseconds the destination's signals ask to wait before the next request (0: go). */
  signalWaitMs(): number {
    const t = this.clock();
    if (this.pauseUntil > t) return this.pauseUntil - t;
    if (this.quotas && this.quotas.blockedUntil > t) return this.quotas.blockedUntil - t;
    if (this.sigResetAt !== undefined && t >= this.sigResetAt) {
      this.sigRemaining = undefined;
      this.sigResetAt = undefined;
    }
    if (this.sigRemaining !== undefined && this.sigResetAt !== undefined) {
      if (this.sigRemaining <= 0) return this.sigResetAt - t;
      if (this.nextSpreadAt > t) return this.nextSpreadAt - t;
    }
    return 0;
  }

  /** Milliseconds until a token is available (0: one was taken). */
  private async takeToken(): Promise<number> {
    for (const e of this.extras) if (e.available() < 1) return e.msUntilNext();
    const rate = this.ratePerSecond();
    if (this.quotas && this.quotas.size > 0) {
      const quotaWait = await this.quotas.take(rate);
      if (quotaWait > 0) return quotaWait;
    }
    const burst = this.burst();
    let wait: number;
    if (this.shared) {
      const t = this.now();
      // Leased tokens are used within a second or dropped, so a process cannot hoard a burst for later.
      if (this.leased > 0 && t - this.leasedAt < 1000) {
        this.leased--;
        wait = 0;
      } else {
        // About 50 ms' worth, or enough to cover two round trips of the lease itself when the database is slower than
        // that (a lease is on the path of every request that has no token), never more than the burst.
        const block = Math.max(1, Math.min(burst, Math.ceil(rate * Math.max(0.05, (2 * this.leaseMs) / 1000))));
        const leaseStarted = performance.now();
        const { granted, waitMs } = await this.shared(block, rate, burst);
        this.leaseMs = 0.8 * this.leaseMs + 0.2 * (performance.now() - leaseStarted);
        if (granted > 0) {
          this.leased = granted - 1;
          this.leasedAt = this.now();
          wait = 0;
        } else wait = Math.max(1, waitMs);
      }
    } else {
      if (Math.abs(this.local.perSecond - rate) > 1e-9 || this.local.burst !== burst) this.local.retune(rate, burst);
      wait = this.local.take(1) === 1 ? 0 : Math.max(1, this.local.msUntilNext());
    }
    if (wait === 0) for (const e of this.extras) e.take(1);
    else if (this.quotas && this.quotas.size > 0) this.quotas.giveBack();
    return wait;
  }

  /**
   * Waits for the right to send one request. False when that would take longer than `maxWaitMs` (the caller gives
   * its claimed work back rather than hold it) or `stopped()` turns true.
   */
  async acquire(maxWaitMs: number, stopped: () => boolean): Promise<boolean> {
    const deadline = this.now() + maxWaitMs;
    for (;;) {
      if (stopped()) return false;
      let wait = this.signalWaitMs();
      if (wait === 0) {
        wait = await this.takeToken();
        if (wait === 0) {
          this.onSent();
          return true;
        }
      }
      if (this.now() + wait > deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
    }
  }

  private onSent(): void {
    this.sent++;
    this.aimd?.onSent();
    if (this.sigRemaining !== undefined && this.sigResetAt !== undefined) {
      this.sigRemaining--;
      const t = this.now();
      const left = this.sigResetAt - t;
      // Spread what is left of the quota over what is left of the window, when that is slower than our pace.
      // A reset under 2 s is too coarse (whole seconds) to spread by; there only `remaining: 0` pauses.
      if (left >= 2000 && this.sigRemaining > 0) {
        const spreadRate = (this.sigRemaining / left) * 1000;
        if (spreadRate < this.ratePerSecond()) this.nextSpreadAt = t + 1000 / spreadRate;
      }
    }
  }

  /** Learns from one answer: its rate-limit headers and whether it was a throttle. */
  onResult(signal: RateSignal, verdict: Verdict): void {
    const t = this.clock();
    const throttled = verdict.kind === 'retry' && verdict.throttled;
    if (Object.keys(signal).length > 0) this.lastSignal = { ...signal, at: t };
    if (signal.retryAfterMs !== undefined && verdict.kind !== 'delivered') {
      this.pauseUntil = Math.max(this.pauseUntil, t + signal.retryAfterMs);
    }
    if (signal.remaining !== undefined) {
      const resetMs = signal.resetMs ?? signal.windowMs;
      if (resetMs !== undefined) {
        this.sigRemaining = signal.remaining;
        this.sigResetAt = t + resetMs;
        if (signal.remaining === 0) this.pauseUntil = Math.max(this.pauseUntil, t + resetMs);
      }
    }
    const stated = signalledRatePerSecond(signal);
    if (stated !== undefined && stated > 0 && !this.dest.rateLimit) this.headerRate = stated;
    if (!throttled) this.aimd?.onAccepted();
    if (throttled) {
      this.throttles++;
      // A throttle without a stated wait: hold off one second rather than hammer.
      if (signal.retryAfterMs === undefined && signal.resetMs === undefined) this.pauseUntil = Math.max(this.pauseUntil, t + 1000);
      if (this.headerRate === undefined) this.aimd?.onThrottle(this.pauseUntil);
    }
  }

  snapshot() {
    const found = this.found();
    return {
      rate_per_second: round(this.ratePerSecond()),
      source: this.source(),
      found_per_second: found ? round(found.perSecond) : null,
      found_source: found?.source ?? null,
      aimd_phase: this.aimd?.phase ?? null,
      paused_for_ms: Math.max(0, this.pauseUntil - this.now()),
      throttles: this.throttles,
      sent: this.sent,
      last_signal: this.lastSignal ?? null,
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
