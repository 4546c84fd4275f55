import { sql } from 'kysely';
import type { DestinationConfig } from '../config/sections/destinations.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { Runtime } from '../runtime/context.js';
import { claimDueDeliveries, updateDelivery } from '../store/deliveries.js';
import { type BreakerRow, leaseTokens, saveLearned } from '../store/delivery-state.js';
import type { DeliveryRow } from '../store/tables.js';
import { breakerPermits } from './breaker.js';
import { type CommitContext, type CommittedOutcome, commitAttempt, commitDelivered } from './commit.js';
import { alertDeadLetters, reportBreakerTransition } from './destination-alerts.js';
import { Pacer } from './pacer.js';
import { type DeliveryMetrics, deliveryMetrics } from './prometheus.js';
import { type Outcome, requestPayload, sendDelivery } from './request.js';
import { RetryBudget } from './retry-budget.js';
import { SharedBreaker } from './shared-breaker.js';
import { SharedQuotas, SharedRetryBudget } from './shared-budget.js';
import { RequestSlots } from './slots.js';

/** Deliveries claimed per request slot: the ones beyond the slots wait in memory for a slot, within the round's deadline. */
const PREFETCH = 3;

/**
 * The delivery stage of one destination. Each round: claim due outbox rows under the destination's circuit breaker
 * and concurrency cap (both shared through the database), hold back retries the retry budget does not allow, pace
 * each request (rate limit, the destination's signals, or AIMD), POST `{record, decision}` with the effect's
 * idempotency key, classify the answer, and commit every outcome and the breaker's counts in one transaction.
 */
export class DeliveryStage {
  readonly pacer: Pacer;
  /** Per process on SQLite (one process owns a destination); one budget for every process on PostgreSQL. */
  readonly budget: RetryBudget | SharedRetryBudget;
  private readonly metrics: DeliveryMetrics;
  private stopping = false;
  /** Rounds in flight (claimed, being sent or committed) and the deliveries they hold. */
  private readonly rounds = new Set<Promise<void>>();
  private inflight = 0;
  /** Requests being sent now: at most this process's share of the destination's concurrency cap. */
  private readonly slots: RequestSlots;
  /** Claimed deliveries whose outcome is not committed yet (answered ones wait for the group commit). */
  private uncommitted = 0;
  private readonly queue: { d: DeliveryRow; outcome?: Outcome; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Group commits running at once: several on PostgreSQL (each on its own connection), one on SQLite. */
  private flushers = 0;
  private lastLearnedAt = 0;
  private readonly breaker: SharedBreaker;
  private readonly committing: CommitContext;

  constructor(
    private readonly rt: Runtime,
    readonly pipeline: PipelineConfig,
    readonly destination: DestinationConfig,
    private readonly owner: string,
  ) {
    const now = () => rt.clock.now();
    const { kind, db } = rt.store;
    // On PostgreSQL every process leases tokens from one bucket row; on SQLite one process owns the destination.
    const shared =
      kind === 'postgres'
        ? (want: number, perSecond: number, burst: number) =>
            leaseTokens(db, kind, pipeline.name, destination.name, want, perSecond, burst, now())
        : undefined;
    // Quotas (a daily cap) are kept in the database on both backends: shared by processes, not reset by a restart.
    const quotas =
      destination.extraLimits.length > 0
        ? new SharedQuotas(destination.extraLimits, db, kind, pipeline.name, destination.name, now)
        : undefined;
    this.pacer = new Pacer(destination, now, shared, quotas);
    const b = destination.retry.budget;
    this.budget =
      kind === 'postgres'
        ? new SharedRetryBudget(b.percent, b.minPerSecond, b.windowMs, db, kind, pipeline.name, destination.name, now)
        : new RetryBudget(b.percent, b.minPerSecond, b.windowMs, now);
    this.metrics = deliveryMetrics(rt.metrics.registry, rt.store);
    this.slots = new RequestSlots(destination.concurrency);
    this.breaker = new SharedBreaker(kind, pipeline.name, destination.name, destination.breaker);
    this.committing = { rt, pipeline, destination, owner };
  }

  /** Stops waiting for tokens (claimed work not yet sent is given back) and resolves when every round is committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.rounds.size > 0) await Promise.allSettled([...this.rounds]);
  }

  private label() {
    return { pipeline: this.pipeline.name, destination: this.destination.name };
  }

  /**
   * Claims a round of due deliveries and sends it in the background: several rounds may be in flight at once (so one
   * request that hangs until its timeout holds up only its own round), within the concurrency cap. `waitMs` says how
   * long to wait when pacing or the breaker, not a lack of work, stopped it.
   */
  async runOnce(): Promise<{ done: number; waitMs?: number }> {
    if (this.stopping) return { done: 0 };
    const signalWait = this.pacer.signalWaitMs();
    if (signalWait > 0) return { done: 0, waitMs: Math.min(signalWait, 1000) };
    const dest = this.destination;
    // Claimed ahead: up to PREFETCH times this process's request slots wait here for a slot (one claim and one commit
    // serve many requests), while no more than the slots are ever sent at once.
    const free = this.slots.limit * PREFETCH - this.inflight;
    // Claim in batches: wait (in memory, a few ms) until a slot's worth is free, unless nothing is in flight.
    const batch = Math.max(1, Math.min(this.slots.limit, Math.ceil(this.pacer.ratePerSecond())));
    if (free < batch && this.inflight > 0) return { done: 0, waitMs: 5 };
    // Answers waiting for their commit hold no slot, but their number is bounded.
    if (this.uncommitted >= this.slots.limit * PREFETCH * 2) return { done: 0, waitMs: 5 };
    const now = this.rt.clock.now();
    const leaseMs = Math.max(this.rt.config.worker.leaseMs, dest.timeoutMs * 2 + 5_000);
    // A round: what is free of the prefetch, and no more than the pace allows in about a second.
    const want = Math.max(1, Math.min(free, Math.ceil(this.pacer.ratePerSecond())));
    const claim = await this.claim(now, want, leaseMs);
    if (claim.rows.length === 0) return { done: 0, waitMs: claim.waitMs };
    const n = claim.rows.length;
    this.inflight += n;
    this.uncommitted += n;
    // Each delivery gives its request slot back as soon as the destination answered (`slotFreed`), and its place among
    // the uncommitted once its outcome is committed; whatever the round still holds is given back when it ends.
    let slots = n;
    let held = n;
    let closed = false;
    const freeSlot = () => {
      if (closed || slots === 0) return;
      slots--;
      this.inflight--;
    };
    const release = (k: number, slotFreed = false) => {
      if (closed) return;
      held -= k;
      this.uncommitted -= k;
      if (!slotFreed) {
        slots -= k;
        this.inflight -= k;
      }
    };
    const round: Promise<void> = this.round(claim.rows, claim.halfOpen, leaseMs, release, freeSlot)
      .catch((err) => {
        // Leases expire and the deliveries are claimed again with the same idempotency keys.
        this.rt.logger.error({ ...this.label(), err: (err as Error).message }, 'delivery round failed; its deliveries will be retried');
      })
      .finally(() => {
        if (!closed) {
          this.inflight -= slots;
          this.uncommitted -= held;
        }
        closed = true;
        this.rounds.delete(round);
      });
    this.rounds.add(round);
    return { done: n };
  }

  private async round(
    rows: DeliveryRow[],
    halfOpen: boolean,
    leaseMs: number,
    release: (k: number, slotFreed?: boolean) => void,
    freeSlot: () => void,
  ): Promise<void> {
    const dest = this.destination;
    const toSend: DeliveryRow[] = [];
    const deferred: DeliveryRow[] = [];
    for (const d of rows) if (d.attempts === 0) this.budget.recordRequest();
    // Retries are withdrawn from the budget as one block per round (one transaction when it is shared).
    const retries = halfOpen ? 0 : rows.filter((d) => d.attempts > 0).length;
    let granted = retries > 0 ? await this.budget.grant(retries) : 0;
    if (retries === 0) {
      await this.budget.flushIfDue().catch((err) => {
        this.rt.logger.warn({ ...this.label(), err: (err as Error).message }, 'could not write the retry budget; will try again');
      });
    }
    for (const d of rows) {
      if (d.attempts === 0 || halfOpen) toSend.push(d);
      else if (granted > 0) {
        granted--;
        toSend.push(d);
      } else deferred.push(d);
    }
    const done: Promise<void>[] = [];
    // A commit that fails (the database went away) rejects these. They are awaited together at the end of the round,
    // but the round may end earlier (its next query fails too), and a rejection nobody awaits would end the process:
    // each is marked handled when it is made. The leases expire and the deliveries are claimed again, same keys.
    const track = (p: Promise<void>) => {
      p.catch(() => {});
      done.push(p);
    };
    if (deferred.length > 0) {
      this.metrics.budgetDeferred.inc(this.label(), deferred.length);
      track(this.enqueue(deferred.map((d) => ({ d }))).then(() => release(deferred.length)));
    }
    const records = toSend.length
      ? await this.rt.store.db
          .selectFrom('records')
          .select(['id', 'body', 'decision'])
          .where('pipeline', '=', this.pipeline.name)
          .where(
            'id',
            'in',
            toSend.map((d) => d.record_id),
          )
          .execute()
      : [];
    const byId = new Map(records.map((r) => [r.id, r]));
    // Claimed work that cannot get a token before the lease is at risk goes back to the outbox, unattempted.
    const paceBudgetMs = Math.min(5_000, leaseMs - dest.timeoutMs - 2_000);
    const deadline = this.rt.clock.now() + paceBudgetMs;
    const givenBack: DeliveryRow[] = [];
    for (const d of toSend) {
      const r = byId.get(d.record_id);
      const started = performance.now();
      let sending: Promise<Outcome>;
      const payload = r ? requestPayload(dest, d, r.body, r.decision) : ({ kind: 'dead', error: 'the record no longer exists' } as Outcome);
      if (typeof payload !== 'string') sending = Promise.resolve(payload);
      else if (!halfOpen && this.breaker.phase === 'open') {
        // The circuit opened while this delivery waited (claimed ahead): it goes back unattempted.
        givenBack.push(d);
        continue;
      } else if (
        !(await this.slots.take(
          deadline,
          () => this.rt.clock.now(),
          () => this.stopping,
        ))
      ) {
        givenBack.push(d);
        continue;
      } else if (await this.pacer.acquire(Math.max(0, deadline - this.rt.clock.now()), () => this.stopping))
        sending = this.send(d, payload).finally(() => this.slots.release());
      else {
        this.slots.release();
        givenBack.push(d);
        continue;
      }
      track(
        sending
          .then((outcome) => {
            freeSlot();
            if (!halfOpen && d.attempts > 0 && outcome.kind === 'delivered') this.budget.refund();
            this.rt.metrics.stageSeconds.observe({ stage: 'deliver', pipeline: this.pipeline.name }, (performance.now() - started) / 1000);
            return this.enqueue([{ d, outcome }]);
          })
          .then(() => release(1, true)),
      );
    }
    if (givenBack.length > 0) {
      // Retries that got no token were withdrawn from the budget but never sent.
      if (!halfOpen) for (const d of givenBack) if (d.attempts > 0) this.budget.cancel();
      track(this.enqueue(givenBack.map((d) => ({ d }))).then(() => release(givenBack.length)));
    }
    await Promise.all(done);
    this.metrics.pace.reset();
    this.metrics.pace.set({ ...this.label(), source: this.pacer.source() }, this.pacer.ratePerSecond());
  }

  /**
   * Group commit: outcomes (and rows given back, without an outcome) wait here until the committer takes everything
   * queued in one transaction; while one commit runs, the next batch gathers.
   */
  private enqueue(items: { d: DeliveryRow; outcome?: Outcome }[]): Promise<void> {
    return new Promise((resolve, reject) => {
      for (const it of items) this.queue.push({ ...it, resolve, reject });
      const most = this.rt.store.kind === 'postgres' ? 2 : 1;
      if (this.flushers < most) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushers++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 256);
        const sent = batch.filter((b) => b.outcome);
        const back = batch.filter((b) => !b.outcome);
        try {
          await this.commit(
            sent.map((b) => b.d),
            sent.map((b) => b.outcome as Outcome),
            back.map((b) => b.d),
          );
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.flushers--;
    }
  }

  /**
   * Claims due rows in one transaction under the breaker: an open circuit claims nothing, a half-open one hands out
   * its probes, and on PostgreSQL the rows leased by every process count against the concurrency cap.
   */
  private async claim(now: number, want: number, leaseMs: number): Promise<{ rows: DeliveryRow[]; waitMs?: number; halfOpen: boolean }> {
    const { db, kind } = this.rt.store;
    const p = this.pipeline.name;
    const d = this.destination.name;
    return db.transaction().execute(async (trx) => {
      // Claims of every process are serialized per destination (the concurrency cap counts what all have leased) by an
      // advisory lock, not by the breaker row, so they do not wait on commits. The breaker row is locked only when it is
      // not closed or this round moves it.
      let unlocked: BreakerRow | undefined;
      if (kind === 'postgres') {
        // The lock and an unlocked read of the breaker in one round trip.
        const r = await sql<BreakerRow & { locked: unknown }>`
          select b.* from (select pg_advisory_xact_lock(hashtext(${`airlock:claim:${p}:${d}`})) as locked) l
          left join delivery_breakers b on b.pipeline = ${p} and b.destination = ${d}`.execute(trx);
        const first = r.rows[0];
        unlocked = first && first.state != null ? first : undefined;
      } else unlocked = await this.breaker.readUnlocked(trx);
      const b = await this.breaker.forClaim(trx, now, unlocked);
      const s = b.state;
      const permits = breakerPermits(s, this.destination.breaker);
      let n = Math.min(want, permits);
      if (n > 0 && kind === 'postgres') {
        // The cap is split evenly between the processes that hold leases on this destination now (this one included),
        // so all together never send more than `concurrency` requests at once.
        const others = await sql<{ n: number }>`
          select count(distinct lease_owner)::int as n from deliveries
          where pipeline = ${p} and destination = ${d} and lease_until > ${now} and status = 'pending'
            and lease_owner <> ${this.owner}`.execute(trx);
        this.slots.limit = Math.max(1, Math.floor(this.destination.concurrency / (1 + Number(others.rows[0]?.n ?? 0))));
        n = Math.min(n, this.slots.limit * PREFETCH - this.inflight);
      }
      let rows: DeliveryRow[] = [];
      if (n > 0) rows = await claimDueDeliveries(trx, kind, p, d, this.owner, now, leaseMs, n, this.destination.orderBy);
      await this.breaker.afterClaim(trx, b, rows.length, now);
      const waitMs = permits === 0 ? Math.max(1, Math.min(1_000, (s.openUntil ?? now + 100) - now)) : n <= 0 ? 20 : undefined;
      return { rows, waitMs, halfOpen: s.state === 'half_open' };
    });
  }

  private send(d: DeliveryRow, payload: string): Promise<Outcome> {
    return sendDelivery(this.destination, d, payload, {
      pipeline: this.pipeline.name,
      metrics: this.metrics,
      pacer: this.pacer,
      clock: this.rt.clock,
    });
  }

  /** Commits a round in one transaction (one sync to disk): outcomes, rows given back, the breaker's counts. */
  private async commit(sent: DeliveryRow[], outcomes: Outcome[], giveBack: DeliveryRow[]): Promise<void> {
    const now = this.rt.clock.now();
    const { db } = this.rt.store;
    const successes = outcomes.filter((x) => x.kind === 'delivered' || (x.kind === 'dead' && x.status !== undefined)).length;
    const faults = outcomes.filter((x) => x.fault).length;
    const pauseUntil = this.pacer.pauseUntil;
    const learnNow = now - this.lastLearnedAt >= 1_000;
    const { results, transition } = await db.transaction().execute(async (trx) => {
      const out: CommittedOutcome[] = [];
      // Delivered: set-based (a few statements for the whole batch); retries and dead letters one by one.
      const delivered: { d: DeliveryRow; outcome: Outcome }[] = [];
      for (let i = 0; i < sent.length; i++) {
        if (outcomes[i].kind === 'delivered') delivered.push({ d: sent[i], outcome: outcomes[i] });
        else out.push(await commitAttempt(this.committing, trx, sent[i], outcomes[i], now));
      }
      if (delivered.length > 0) out.push(...(await commitDelivered(this.committing, trx, delivered, now)));
      for (const d of giveBack) {
        // Not attempted: back to the outbox without counting an attempt, due after a short jittered pause.
        const due = Math.max(pauseUntil, now + 250 + Math.floor(Math.random() * 750));
        await updateDelivery(trx, d.seq, this.owner, { lease_owner: null, lease_until: null, next_attempt_at: due, updated_at: now });
      }
      const t = await this.breaker.count(trx, now, successes, faults);
      if (learnNow) {
        const found = this.pacer.found();
        await saveLearned(
          trx,
          this.pipeline.name,
          this.destination.name,
          {
            ratePerSecond: this.pacer.ratePerSecond(),
            foundPerSecond: found?.perSecond ?? null,
            foundSource: found?.source ?? null,
            signal: this.pacer.lastSignal,
          },
          now,
        );
      }
      return { results: out, transition: t };
    });
    if (learnNow) this.lastLearnedAt = now;
    if (transition) reportBreakerTransition(this.rt, this.metrics, this.label(), transition, this.destination.breaker.openMs);
    let dead = 0;
    for (const { d, final, committed } of results) {
      this.report(d, final, committed);
      if (committed && final.kind === 'dead') dead++;
    }
    if (dead > 0) await alertDeadLetters(this.rt, this.label());
  }

  private report(d: DeliveryRow, final: Outcome, committed: boolean): void {
    const label = { pipeline: d.pipeline, destination: d.destination };
    if (!committed) {
      this.rt.logger.warn(
        { ...label, record: d.record_id },
        'delivery lease expired before its outcome was committed; it will be retried with the same idempotency key',
      );
      return;
    }
    this.rt.metrics.deliveryAttempts.inc({ ...label, outcome: final.kind === 'dead' ? 'dead_lettered' : final.kind });
    if (final.kind === 'dead') {
      this.rt.logger.warn({ ...label, record: d.record_id, status: final.status, error: final.error }, 'delivery dead-lettered');
    }
  }
}
