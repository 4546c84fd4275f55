import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LiveDeliveryStages } from '../delivery/live-stages.js';
import { DeliveryStage } from '../delivery/stage.js';
import { createModelAdapter, type ModelAdapter } from '../models/index.js';
import { SlaStage } from '../review/sla-stage.js';
import type { Runtime } from '../runtime/context.js';
import { DriftStage } from './drift-stage.js';
import { RefitStage } from './refit.js';
import { RetentionStage } from './retention.js';
import { RoutingPolicies } from './routing-policies.js';
import { RunPeriod } from './run-period.js';
import { ScoringStage } from './scoring.js';

interface Stage {
  name: string;
  runOnce(): Promise<number | { done: number; waitMs?: number }>;
  /** Run at most once per this many ms (by the runtime's clock): the loop waits out the rest of the period. */
  everyMs?: number;
  /** Called when the pool stops, before its loops are awaited; resolves when the stage's work in hand is committed. */
  stop?(): Promise<void> | void;
}

/** How often the SLA clocks are checked, and the refit schedule looked at. */
const SLA_EVERY_MS = 5_000;
const REFIT_EVERY_MS = 60_000;

/**
 * Runs every stage of every pipeline as its own loop in this process: scoring per pipeline, delivery per
 * destination. Each loop claims work from the database, so any number of processes can run workers.
 */
export class WorkerPool {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly stages: Stage[] = [];
  private readonly models: ModelAdapter[] = [];
  private loops: Promise<void>[] = [];
  private stopped = true;
  private wakers = new Set<() => void>();
  readonly policies: RoutingPolicies;
  /** The delivery stages this pool runs (the destination status reads their pacing). */
  readonly deliveryStages = new LiveDeliveryStages();

  constructor(private readonly rt: Runtime) {
    this.policies = new RoutingPolicies(rt);
    // SLA clocks and escalation chains of every open review case (once per process; the database decides who fires).
    const sla = new SlaStage(rt);
    this.stages.push({ name: 'review:sla', everyMs: SLA_EVERY_MS, runOnce: () => sla.runOnce() });
    // The feedback loop's scheduled refits of calibrator and threshold (once per due time across processes).
    const refits = new RefitStage(rt);
    this.stages.push({ name: 'routing:refit', everyMs: REFIT_EVERY_MS, runOnce: () => refits.runOnce() });
    // Retention: expired content of finished records is purged every `retention.every` (once per due time across processes).
    const retention = new RetentionStage(rt);
    this.stages.push({ name: 'retention:purge', runOnce: () => retention.runOnce() });
    for (const p of Object.values(rt.config.pipelines)) {
      const model = createModelAdapter(p.model);
      this.models.push(model);
      const scoring = new ScoringStage(rt, p, model, this.owner, this.policies);
      this.stages.push({ name: `score:${p.name}`, runOnce: () => scoring.runOnce() });
      const drift = new DriftStage(rt, p, this.owner);
      this.stages.push({ name: `drift:${p.name}`, runOnce: () => drift.runOnce() });
      for (const d of Object.values(p.destinations)) {
        const delivery = new DeliveryStage(rt, p, d, this.owner);
        this.deliveryStages.add(delivery);
        this.stages.push({
          name: `deliver:${p.name}:${d.name}`,
          runOnce: () => delivery.runOnce(),
          stop: () => {
            this.deliveryStages.delete(delivery);
            return delivery.stop();
          },
        });
      }
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loops = this.stages.map((s) => this.loop(s));
  }

  /** Wakes idle loops now instead of at their next poll. */
  wake(): void {
    for (const w of this.wakers) w();
  }

  /** Stops claiming new work and waits for the work in hand to be committed. */
  async stop(): Promise<void> {
    this.stopped = true;
    const drains = this.stages.map((s) => s.stop?.());
    this.wake();
    await Promise.all(this.loops);
    await Promise.all(drains);
    this.loops = [];
    await Promise.all(this.models.map((m) => m.close?.()));
  }

  private async loop(stage: Stage): Promise<void> {
    let failures = 0;
    const period = stage.everyMs === undefined ? undefined : new RunPeriod(stage.everyMs);
    while (!this.stopped) {
      let wait = this.rt.config.worker.pollIntervalMs;
      try {
        const early = period?.waitMs(this.rt.clock.now());
        if (early !== undefined && early > 0) {
          await this.sleep(early);
          continue;
        }
        const r = await stage.runOnce();
        const done = typeof r === 'number' ? r : r.done;
        const limited = typeof r === 'number' ? undefined : r.waitMs;
        failures = 0;
        if (period) wait = period.everyMs;
        else if (limited !== undefined) wait = Math.max(1, limited);
        else if (done > 0) continue;
      } catch (err) {
        failures++;
        wait = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.rt.logger.error({ stage: stage.name, err: (err as Error).message, retryInMs: wait }, 'stage failed; retrying');
      }
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
