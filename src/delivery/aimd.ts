/**
 * Finds an unknown rate limit by additive increase, multiplicative decrease (Chiu & Jain 1989; TCP congestion
 * control, RFC 5681): start low, double each interval until the first throttle (slow start), then add `step`
 * requests/s per interval while requests go through and multiply by `decrease` on a throttle (429, or a 503 with
 * Retry-After). Increase only while the rate is actually used (RFC 7661: no growth while demand is below it).
 * The limit it reports is the throughput the destination sustained while it pushed back: requests accepted over the
 * last ten intervals, when every one was saturated (the sender used its rate, or held off after a throttle) and at
 * least one brought a throttle — BBR's delivery-rate sample (Cardwell et al. 2016) taken over whole AIMD cycles, so
 * that neither the burst before a 429 (which overstates a token bucket's rate) nor the pause after it (which
 * understates it) decides. Against a token bucket it is the bucket's rate; against a hard cap it is a lower bound no
 * lower than (1+β)/2 of the cap, the mean of the AIMD sawtooth (Mathis et al. 1997). No throttle, no report.
 */
/** Intervals the found limit is measured over. */
const SPAN = 10;

export class AimdRate {
  private rate: number;
  private slowStart = true;
  private lastChange: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private used = 0;
  private accepted = 0;
  private throttledInInterval = false;
  private ceiling?: number;
  /** The last intervals: accepted, saturated, throttled. */
  private history: { accepted: number; saturated: boolean; throttled: boolean }[] = [];
  /** The sender's hold-off after the last throttle, [from, until). */
  private pause: [number, number] = [0, 0];
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

  /** The limit it found: the throughput sustained over saturated intervals with throttles; undefined until then. */
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

  /**
   * The destination said "too fast"; the sender holds off until `pausedUntil`. At most one decrease per interval:
   * one burst of 429s is one signal.
   */
  onThrottle(pausedUntil?: number): void {
    const t = this.now();
    this.tick();
    this.throttles++;
    this.throttledInInterval = true;
    if (pausedUntil !== undefined && pausedUntil > t) {
      this.pause = this.pause[1] >= t ? [this.pause[0], Math.max(this.pause[1], pausedUntil)] : [t, pausedUntil];
    }
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
      const start = this.lastChange;
      const end = start + intervalMs;
      // In use: at least half of what the rate allowed over the interval was sent. Saturated: in use, or held off.
      const allowed = (this.rate * intervalMs) / 1000;
      const inUse = this.used >= allowed * 0.5;
      this.history.push({
        accepted: this.accepted,
        saturated: inUse || this.throttledInInterval || this.pausedOverlap(start, end) >= intervalMs / 2,
        throttled: this.throttledInInterval,
      });
      if (this.history.length > SPAN) this.history.shift();
      if (this.history.length === SPAN && this.history.every((h) => h.saturated) && this.history.some((h) => h.throttled)) {
        this.ceiling = (this.history.reduce((n, h) => n + h.accepted, 0) / (SPAN * intervalMs)) * 1000;
      }
      this.throttledInInterval = false;
      this.accepted = 0;
      if (inUse) {
        this.rate = Math.min(this.options.max, this.slowStart ? this.rate * 2 : this.rate + this.options.step);
      }
      this.used = 0;
      this.lastChange += intervalMs;
      if (t - this.lastChange > intervalMs * 10) {
        this.lastChange = t;
        this.history = [];
      }
    }
  }

  private pausedOverlap(from: number, to: number): number {
    return Math.max(0, Math.min(this.pause[1], to) - Math.max(this.pause[0], from));
  }
}
