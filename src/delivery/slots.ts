/** This process's request slots for one destination: at most `limit` requests in flight; rounds wait for a free one. */
export class RequestSlots {
  private sending = 0;
  private readonly waiters: (() => void)[] = [];

  /** This process's share of the destination's concurrency cap (re-split when other processes hold leases). */
  constructor(public limit: number) {}

  /** Waits for a slot; false when `deadline` passes first or `stopping()` says so. */
  async take(deadline: number, now: () => number, stopping: () => boolean): Promise<boolean> {
    while (this.sending >= this.limit) {
      if (stopping() || now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    this.sending++;
    return true;
  }

  release(): void {
    this.sending--;
    this.waiters.shift()?.();
  }
}
