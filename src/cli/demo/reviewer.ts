import type { DemoApi } from './production.js';
import { type DemoRun, sleep } from './workspace.js';

/**
 * The demo's simulated reviewer (clearly marked): works about half of the production cases with the corpus' true
 * labels, after a delay; the other half, and everything else, waits for a person in the console.
 */
export class SimulatedReviewer {
  /** Cases it decided. */
  decisions = 0;
  private stopped = false;
  private readonly leftForPeople = new Set<number>();
  private readonly loop: Promise<void>;

  constructor(
    private readonly run: DemoRun,
    private readonly api: DemoApi,
    /** The corpus label of each production mail, by record id. */
    private readonly truth: ReadonlyMap<string, string>,
    private readonly productionIds: ReadonlySet<string>,
  ) {
    this.loop = (async () => {
      while (!this.stopped) await this.reviewOne().catch(() => sleep(500));
    })();
  }

  /** Stops taking cases; resolves when the case in hand is done. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.loop;
  }

  private async reviewOne(): Promise<void> {
    const { api } = this;
    const next = await api.call(api.tokens.simulatedReviewer, 'POST', '/v1/review/next', {
      pipeline: 'inbox',
      exclude: [...this.leftForPeople],
    });
    const c = next.body?.case;
    if (!c) {
      await sleep(200);
      return;
    }
    const label = this.truth.get(c.record_id);
    const decidable =
      ['low_confidence', 'audit_sample'].includes(c.type) && label !== undefined && this.productionIds.has(c.record_id) && c.id % 2 === 0;
    if (!decidable) {
      this.leftForPeople.add(c.id);
      await api.call(api.tokens.simulatedReviewer, 'POST', `/v1/review/cases/${c.id}/release`, {});
      return;
    }
    await sleep(this.run.fast ? 20 : 1500);
    await api.call(api.tokens.simulatedReviewer, 'POST', `/v1/review/cases/${c.id}/decision`, {
      label,
      note: 'simulated reviewer (corpus label)',
    });
    this.decisions++;
  }
}
