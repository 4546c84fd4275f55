/**
 * Finds an unknown rate limit by additive increase, multiplicative decrease (Chiu & Jain 1989; TCP congestion
 * control, RFC 5681): start low, double each interval until the first throttle (slow start), then add `step`
 * requests/s per interval while requests go through and multiply by `decrease` on a throttle (429, or a 503 with
 * Retry-After). Increase only while the rate is actually used (RFC 7661: no growth while demand is below it).
 * The limit it reports is the rate the destination accepted during intervals in which it also throttled (it was
 * saturated then, so what got through is its capacity — the delivery-rate sample of BBR, Cardwell et al. 2016),
 * smoothed with an EWMA of weight 0.3. The nominal rate at a throttle would overstate a limit that allows bursts.
 */
export class AimdRate {
  private rate: number;
  private slowStart = true;
  private lastChange: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private used = 0;
  private accepted = 0;
  private throttledInInterval = false;
  private ceiling?: number;
  throttles = 0;

  constructor(
    readonly options: { initial: number; min: number; max: number; step: number; decrease: number; intervalMs: number },
    private readonly now: () => number = Date.now,
  ) {
    this.rate = options.initial;
    this.lastChange = now();
  }

  /** The current rate, requests per second. */
  get perSecond(): number {
    this.tick();
    return this.rate;
  }

  /** The limit it found: the smoothed rate at which the destination pushed back; undefined before the first throttle. */
  get found(): number | undefined {
    return this.ceiling;
  }

  get phase(): 'slow_start' | 'additive_increase' {
    return this.slowStart ? 'slow_start' : 'additive_increase';
  }

  /** A request was sent (counts toward "the rate is in use"). */
  onSent(): void {
    this.tick();
    this.used++;
  }

  /** The destination said "too fast". At most one decrease per interval: one burst of 429s is one signal. */
  onThrottle(): void {
    const t = this.now();
    this.tick();
    this.throttles++;
    this.throttledInInterval = true;
    if (t - this.lastDecrease < this.options.intervalMs) return;
    this.rate = Math.max(this.options.min, this.rate * this.options.decrease);
    this.slowStart = false;
    this.lastDecrease = t;
  }

  /** The destination took a request (any answer but a throttle). */
  onAccepted(): void {
    this.tick();
    this.accepted++;
  }

  private tick(): void {
    const t = this.now();
    const { intervalMs } = this.options;
    while (t - this.lastChange >= intervalMs) {
      if (this.throttledInInterval) {
        const sample = (this.accepted / intervalMs) * 1000;
        this.ceiling = this.ceiling === undefined ? sample : 0.7 * this.ceiling + 0.3 * sample;
      }
      this.throttledInInterval = false;
      this.accepted = 0;
      // In use: at least half of what the rate allowed over the interval was sent.
      const allowed = (this.rate * intervalMs) / 1000;
      if (this.used >= allowed * 0.5) {
        this.rate = Math.min(this.options.max, this.slowStart ? this.rate * 2 : this.rate + this.options.step);
      }
      this.used = 0;
      this.lastChange += intervalMs;
      if (t - this.lastChange > intervalMs * 10) this.lastChange = t;
    }
  }
}
