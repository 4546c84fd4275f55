/**
 * "Run at most every N ms" for a stage of the worker pool, by the runtime's clock (which tests and clock jumps move):
 * due at once the first time, then `everyMs` after each run. A clock that went back past the last run makes it due
 * now, rather than after the clock has caught up again.
 */
export class RunPeriod {
  private nextRunAt = 0;

  constructor(readonly everyMs: number) {}

  /** How long to wait before the next run (0: run now, and the period starts again from `now`). */
  waitMs(now: number): number {
    if (now < this.nextRunAt - this.everyMs) this.nextRunAt = now;
    if (now < this.nextRunAt) return this.nextRunAt - now;
    this.nextRunAt = now + this.everyMs;
    return 0;
  }
}
