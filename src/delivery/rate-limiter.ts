import type { Rate } from '../config/units.js';

/**
 * A token bucket: `rate.count` tokens per `rate.intervalMs`, holding at most `burst` tokens. The default burst is
 * a fifth of a second's worth (at least 1), so over any window the sent count stays within the rate plus that
 * small burst. Each request takes one token.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private perMs: number;
  burst: number;

  constructor(
    readonly rate: Rate,
    private readonly now: () => number = Date.now,
    burst?: number,
  ) {
    this.perMs = rate.count / rate.intervalMs;
    this.burst = Math.max(1, burst ?? Math.min(rate.count, Math.ceil(this.perMs * 200)));
    this.tokens = this.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      // However far the clock jumped ahead, the bucket holds at most `burst`: a jump never sends more than that at once.
      this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.perMs);
      this.last = t;
    } else if (t < this.last) {
      // The clock went back: refill from the new reading on (adds nothing now), instead of waiting until the clock is
      // past the old reading again, which would stall sending for as long as the jump.
      this.last = t;
    }
  }

  /** Whole tokens available now. */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Takes up to `n` tokens; returns how many were taken. */
  take(n: number): number {
    this.refill();
    const got = Math.max(0, Math.min(n, Math.floor(this.tokens)));
    this.tokens -= got;
    return got;
  }

  /** Gives back tokens taken but not used (e.g. fewer items were due than tokens taken). */
  giveBack(n: number): void {
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  /** Changes the refill rate (requests per second) from now on, e.g. when a destination signals a lower limit. */
  retune(perSecond: number, burst?: number): void {
    this.refill();
    this.perMs = perSecond / 1000;
    if (burst !== undefined) this.burst = Math.max(1, burst);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  get perSecond(): number {
    return this.perMs * 1000;
  }

  /** Milliseconds until one token is available. */
  msUntilNext(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }
}
