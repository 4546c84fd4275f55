import { type Kysely, sql } from 'kysely';
import { alertOf } from '../alerts/catalog.js';
import type { DestinationConfig, PipelineConfig } from '../config/load.js';
import { newCase } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { insertCases } from '../store/cases.js';
import { decision as decisionColumn, deliveryResponse, recordBody } from '../store/codecs.js';
import { claimDueDeliveries, updateDelivery } from '../store/deliveries.js';
import { type BreakerRow, leaseTokens, lockBreakerRow, saveBreakerRow, saveLearned } from '../store/delivery-state.js';
import { appendEvents } from '../store/events.js';
import type { DeliveryRow, Tables } from '../store/tables.js';
import { fullJitterBackoff } from './backoff.js';
import { advanceBreaker, type BreakerState, breakerPermits, recordOutcomes } from './breaker.js';
import { classifyError, classifyResponse, type Verdict } from './classify.js';
import { settleRecordIfDone, settleRecordsIfDone } from './outbox.js';
import { Pacer } from './pacer.js';
import { type DeliveryMetrics, deliveryMetrics } from './prometheus.js';
import { RetryBudget } from './retry-budget.js';
import { SharedQuotas, SharedRetryBudget } from './shared-budget.js';
import { parseRateSignal, type RateSignal } from './signals.js';
import { renderTemplate, TemplateMissingPath } from './template.js';

interface Outcome {
  kind: 'delivered' | 'retry' | 'dead';
  status?: number;
  error?: string;
  retryAfterMs?: number;
  /** A fault of the destination (5xx, timeout, reset): counts against the circuit breaker. */
  fault?: boolean;
  throttled?: boolean;
  response?: { status: number; headers: Record<string, string>; body: string };
}

export const KEPT_RESPONSE_HEADERS = [
  'content-type',
  'retry-after',
  'x-request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-rate-limit',
  'x-rate-limit-remaining',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'stripe-should-retry',
];

export const breakerFromRow = (r: BreakerRow): BreakerState => ({
  state: r.state,
  windowStart: Number(r.window_start),
  calls: Number(r.calls),
  failures: Number(r.failures),
  prevCalls: Number(r.prev_calls),
  prevFailures: Number(r.prev_failures),
  openedAt: r.opened_at === null ? null : Number(r.opened_at),
  openUntil: r.open_until === null ? null : Number(r.open_until),
  probes: Number(r.probes),
  probeSuccesses: Number(r.probe_successes),
  openings: Number(r.openings),
});

const breakerToRow = (pipeline: string, destination: string, s: BreakerState, now: number): BreakerRow => ({
  pipeline,
  destination,
  state: s.state,
  window_start: s.windowStart,
  calls: s.calls,
  failures: s.failures,
  prev_calls: s.prevCalls,
  prev_failures: s.prevFailures,
  opened_at: s.openedAt,
  open_until: s.openUntil,
  probes: s.probes,
  probe_successes: s.probeSuccesses,
  openings: s.openings,
  updated_at: now,
});

/** Live delivery stages of this process, for the API's destination status. */
export const liveStages = new Set<DeliveryStage>();

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
  /** This process's share of the destination's concurrency cap (the cap split between the processes holding leases). */
  private slotLimit: number;
  /** Requests being sent now (at most slotLimit), and rounds waiting for a slot. */
  private sending = 0;
  private readonly slotWaiters: (() => void)[] = [];
  /** Claimed deliveries whose outcome is not committed yet (answered ones wait for the group commit). */
  private uncommitted = 0;
  private readonly queue: { d: DeliveryRow; outcome?: Outcome; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Group commits running at once: several on PostgreSQL (each on its own connection), one on SQLite. */
  private flushers = 0;
  private lastLearnedAt = 0;
  private breakerKnown = false;
  /** The breaker's state as this process last read it. */
  private breakerState: BreakerState['state'] = 'closed';
  /** Outcomes not yet counted in the shared breaker row (while it is closed, counted at most every 250 ms). */
  private uncounted = { successes: 0, faults: 0, since: 0 };

  constructor(
    readonly rt: Runtime,
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
    this.slotLimit = destination.concurrency;
    liveStages.add(this);
  }

  /** Stops waiting for tokens (claimed work not yet sent is given back) and resolves when every round is committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    liveStages.delete(this);
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
    const free = this.slotLimit * PREFETCH - this.inflight;
    // Claim in batches: wait (in memory, a few ms) until a slot's worth is free, unless nothing is in flight.
    const batch = Math.max(1, Math.min(this.slotLimit, Math.ceil(this.pacer.ratePerSecond())));
    if (free < batch && this.inflight > 0) return { done: 0, waitMs: 5 };
    // Answers waiting for their commit hold no slot, but their number is bounded.
    if (this.uncommitted >= this.slotLimit * PREFETCH * 2) return { done: 0, waitMs: 5 };
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
      const payload = r ? this.payload(d, r.body, r.decision) : ({ kind: 'dead', error: 'the record no longer exists' } as Outcome);
      if (typeof payload !== 'string') sending = Promise.resolve(payload);
      else if (!halfOpen && this.breakerState === 'open') {
        // The circuit opened while this delivery waited (claimed ahead): it goes back unattempted.
        givenBack.push(d);
        continue;
      } else if (!(await this.takeSlot(deadline))) {
        givenBack.push(d);
        continue;
      } else if (await this.pacer.acquire(Math.max(0, deadline - this.rt.clock.now()), () => this.stopping))
        sending = this.send(d, payload).finally(() => this.releaseSlot());
      else {
        this.releaseSlot();
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

  /** Waits for one of this process's request slots; false when `deadline` passes first or the stage stops. */
  private async takeSlot(deadline: number): Promise<boolean> {
    while (this.sending >= this.slotLimit) {
      if (this.stopping || this.rt.clock.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        this.slotWaiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    this.sending++;
    return true;
  }

  private releaseSlot(): void {
    this.sending--;
    this.slotWaiters.shift()?.();
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
   * Claims due rows in one transaction with the breaker row locked: an open circuit claims nothing, a half-open one
   * hands out its probes, and on PostgreSQL the rows leased by every process count against the concurrency cap.
   */
  private async claim(now: number, want: number, leaseMs: number): Promise<{ rows: DeliveryRow[]; waitMs?: number; halfOpen: boolean }> {
    const { db, kind } = this.rt.store;
    const p = this.pipeline.name;
    const d = this.destination.name;
    const o = this.destination.breaker;
    return db.transaction().execute(async (trx) => {
      // Claims of every process are serialized per destination (the concurrency cap counts what all have leased) by an
      // advisory lock, not by the breaker row, so they do not wait on commits. The breaker row is locked only when it is
      // not closed or this round moves it.
      let row: BreakerRow | undefined;
      if (kind === 'postgres') {
        // The lock and an unlocked read of the breaker in one round trip.
        const r = await sql<BreakerRow & { locked: unknown }>`
          select b.* from (select pg_advisory_xact_lock(hashtext(${`airlock:claim:${p}:${d}`})) as locked) l
          left join delivery_breakers b on b.pipeline = ${p} and b.destination = ${d}`.execute(trx);
        const first = r.rows[0];
        row = first && first.state != null ? first : undefined;
      } else if (this.breakerKnown) {
        row = (await trx
          .selectFrom('delivery_breakers')
          .selectAll()
          .where('pipeline', '=', p)
          .where('destination', '=', d)
          .executeTakeFirst()) as BreakerRow | undefined;
      }
      if (!this.breakerKnown) row = undefined;
      let peek = row ? breakerFromRow(row) : undefined;
      if (peek) advanceBreaker(peek, o, now);
      if (!row || !peek || row.state !== 'closed' || peek.state !== 'closed') {
        row = await this.lockBreaker(trx, now);
        peek = undefined;
      }
      const s = breakerFromRow(row);
      const before = JSON.stringify(s);
      advanceBreaker(s, o, now);
      this.breakerState = s.state;
      const permits = breakerPermits(s, o);
      let n = Math.min(want, permits);
      if (n > 0 && kind === 'postgres') {
        // The cap is split evenly between the processes that hold leases on this destination now (this one included),
        // so all together never send more than `concurrency` requests at once.
        const others = await sql<{ n: number }>`
          select count(distinct lease_owner)::int as n from deliveries
          where pipeline = ${p} and destination = ${d} and lease_until > ${now} and status = 'pending'
            and lease_owner <> ${this.owner}`.execute(trx);
        this.slotLimit = Math.max(1, Math.floor(this.destination.concurrency / (1 + Number(others.rows[0]?.n ?? 0))));
        n = Math.min(n, this.slotLimit * PREFETCH - this.inflight);
      }
      let rows: DeliveryRow[] = [];
      if (n > 0) rows = await claimDueDeliveries(trx, kind, p, d, this.owner, now, leaseMs, n, this.destination.orderBy);
      if (s.state === 'half_open') s.probes += rows.length;
      // A closed breaker whose window merely rolled is not written here: the next commit that counts outcomes rolls it.
      if (peek === undefined && JSON.stringify(s) !== before) await saveBreakerRow(trx, breakerToRow(p, d, s, now));
      const waitMs = permits === 0 ? Math.max(1, Math.min(1_000, (s.openUntil ?? now + 100) - now)) : n <= 0 ? 20 : undefined;
      return { rows, waitMs, halfOpen: s.state === 'half_open' };
    });
  }

  private async lockBreaker(trx: Kysely<Tables>, now: number): Promise<BreakerRow> {
    const { kind } = this.rt.store;
    if (!this.breakerKnown) {
      const row = await lockBreakerRow(trx, kind, this.pipeline.name, this.destination.name, now);
      this.breakerKnown = true;
      return row;
    }
    let q = trx
      .selectFrom('delivery_breakers')
      .selectAll()
      .where('pipeline', '=', this.pipeline.name)
      .where('destination', '=', this.destination.name);
    if (kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return (row as BreakerRow | undefined) ?? lockBreakerRow(trx, kind, this.pipeline.name, this.destination.name, now);
  }

  /** The request as sent (for dead-letter inspection): never the credential headers. */
  static requestOf(dest: DestinationConfig, d: DeliveryRow) {
    return {
      method: 'POST',
      url: dest.url,
      headers: {
        'content-type': 'application/json',
        [dest.idempotencyHeader.toLowerCase()]: d.idempotency_key,
        'x-airlock-pipeline': d.pipeline,
        'x-airlock-record-id': encodeURIComponent(d.record_id),
      },
      credential_headers: Object.keys(dest.headers),
    };
  }

  /**
   * The request body: `{record, decision}`, or the destination's template rendered over them. A template path the
   * record lacks refuses the delivery (dead letter naming the path): nothing is sent.
   */
  private payload(d: DeliveryRow, body: string, decision: string | null): string | Outcome {
    const template = this.destination.body;
    if (template === undefined) return `{"record":${body},"decision":${decision ?? 'null'}}`;
    try {
      const meta = { pipeline: d.pipeline, record_id: d.record_id, destination: d.destination, idempotency_key: d.idempotency_key };
      return JSON.stringify(
        renderTemplate(template, { record: recordBody.decode(body), decision: decisionColumn.decodeOrNull(decision), meta }),
      );
    } catch (err) {
      if (err instanceof TemplateMissingPath) return { kind: 'dead', error: err.message };
      throw err;
    }
  }

  private async send(d: DeliveryRow, payload: string): Promise<Outcome> {
    const dest = this.destination;
    const label = this.label();
    let res: Response;
    try {
      res = await fetch(dest.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...dest.headers,
          [dest.idempotencyHeader]: d.idempotency_key,
          'x-airlock-pipeline': d.pipeline,
          'x-airlock-record-id': encodeURIComponent(d.record_id),
          'x-airlock-attempt': String(d.attempts + 1),
        },
        body: payload,
        signal: AbortSignal.timeout(dest.timeoutMs),
      });
    } catch (err) {
      const v = classifyError(err, dest.timeoutMs) as Extract<Verdict, { kind: 'retry' }>;
      this.metrics.responses.inc({ ...label, class: v.reason.startsWith('timed out') ? 'timeout' : 'connection_error' });
      this.pacer.onResult({}, v);
      return { kind: 'retry', error: v.reason, fault: true };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The connection broke while the body was read: the effect may or may not have happened; retry with the same key.
      this.metrics.responses.inc({ ...label, class: 'connection_error' });
      return { kind: 'retry', status: res.status, error: `answer cut off: ${(err as Error).message}`, fault: true };
    }
    const now = this.rt.clock.now();
    const signal: RateSignal = parseRateSignal(res.headers, now);
    const verdict = classifyResponse(res.status, text, signal, dest.classification);
    this.pacer.onResult(signal, verdict);
    const headers: Record<string, string> = {};
    for (const h of KEPT_RESPONSE_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const response = { status: res.status, headers, body: text.slice(0, 2048) };
    const soft = res.status < 300 && verdict.kind !== 'delivered';
    this.metrics.responses.inc({ ...label, class: soft ? 'soft_failure' : `${Math.floor(res.status / 100)}xx` });
    if (verdict.kind === 'delivered') return { kind: 'delivered', status: res.status };
    if (verdict.kind === 'retry') {
      if (verdict.throttled) this.metrics.throttled.inc(label);
      return {
        kind: 'retry',
        status: res.status,
        error: verdict.reason,
        retryAfterMs: signal.retryAfterMs ?? (signal.remaining === 0 ? signal.resetMs : undefined),
        throttled: verdict.throttled,
        fault: !verdict.throttled,
        response,
      };
    }
    return { kind: 'dead', status: res.status, error: verdict.reason, response };
  }

  /** Commits a round in one transaction (one sync to disk): outcomes, rows given back, the breaker's counts. */
  private async commit(sent: DeliveryRow[], outcomes: Outcome[], giveBack: DeliveryRow[]): Promise<void> {
    const now = this.rt.clock.now();
    const { db } = this.rt.store;
    const o = this.destination.breaker;
    const successes = outcomes.filter((x) => x.kind === 'delivered' || (x.kind === 'dead' && x.status !== undefined)).length;
    const faults = outcomes.filter((x) => x.fault).length;
    const pauseUntil = this.pacer.pauseUntil;
    const learnNow = now - this.lastLearnedAt >= 1_000;
    const { results, transition } = await db.transaction().execute(async (trx) => {
      const out: { d: DeliveryRow; final: Outcome; committed: boolean }[] = [];
      // Delivered: set-based (a few statements for the whole batch); retries and dead letters one by one.
      const delivered: { d: DeliveryRow; outcome: Outcome }[] = [];
      for (let i = 0; i < sent.length; i++) {
        if (outcomes[i].kind === 'delivered') delivered.push({ d: sent[i], outcome: outcomes[i] });
        else out.push(await this.commitOne(trx, sent[i], outcomes[i], now));
      }
      if (delivered.length > 0) out.push(...(await this.commitDelivered(trx, delivered, now)));
      for (const d of giveBack) {
        // Not attempted: back to the outbox without counting an attempt, due after a short jittered pause.
        const due = Math.max(pauseUntil, now + 250 + Math.floor(Math.random() * 750));
        await updateDelivery(trx, d.seq, this.owner, { lease_owner: null, lease_until: null, next_attempt_at: due, updated_at: now });
      }
      let t: 'opened' | 'closed' | undefined;
      // While the breaker is closed and all goes well, successes are counted in the shared row in batches (every
      // 250 ms) rather than locking it on every commit; a fault, or a breaker that is not closed, counts at once.
      const u = this.uncounted;
      if (u.successes + u.faults === 0) u.since = now;
      u.successes += successes;
      u.faults += faults;
      if (u.successes + u.faults > 0 && (u.faults > 0 || this.breakerState !== 'closed' || now - u.since >= 250)) {
        // Taken now (commits may run concurrently): what others add meanwhile is counted by a later commit.
        const taken = { successes: u.successes, faults: u.faults };
        this.uncounted = { successes: 0, faults: 0, since: now };
        try {
          const row = await this.lockBreaker(trx, now);
          const s = breakerFromRow(row);
          t = recordOutcomes(s, o, now, taken.successes, taken.faults);
          this.breakerState = s.state;
          await saveBreakerRow(trx, breakerToRow(this.pipeline.name, this.destination.name, s, now));
        } catch (err) {
          this.uncounted.successes += taken.successes;
          this.uncounted.faults += taken.faults;
          throw err;
        }
      }
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
    if (transition) this.reportTransition(transition);
    let dead = 0;
    for (const { d, final, committed } of results) {
      this.report(d, final, committed);
      if (committed && final.kind === 'dead') dead++;
    }
    if (dead > 0) await this.alertDeadLetters();
  }

  private reportTransition(to: 'opened' | 'closed'): void {
    const label = this.label();
    this.metrics.breakerTransitions.inc({ ...label, to: to === 'opened' ? 'open' : 'closed' });
    if (to === 'opened') {
      this.rt.logger.warn(label, 'circuit breaker opened: deliveries to this destination pause');
      void this.rt.alerts.raise(alertOf('breaker_open', { ...label, openMs: this.destination.breaker.openMs }));
    } else this.rt.logger.info(label, 'circuit breaker closed: deliveries resume');
  }

  /** "Dead letters are growing": one de-duplicated alert per destination with the count waiting. */
  private async alertDeadLetters(): Promise<void> {
    const label = this.label();
    const row = await this.rt.store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'dead_lettered')
      .where('pipeline', '=', label.pipeline)
      .where('destination', '=', label.destination)
      .executeTakeFirst();
    const n = Number(row?.n ?? 0);
    void this.rt.alerts.raise(alertOf('dead_letters', { ...label, count: n }));
  }

  /**
   * Commits delivered outcomes as a batch: one update per answered status (rows whose lease this process lost are
   * left alone and reported as not committed), one insert of their events, and the records settled together.
   */
  private async commitDelivered(
    trx: Kysely<Tables>,
    items: { d: DeliveryRow; outcome: Outcome }[],
    now: number,
  ): Promise<{ d: DeliveryRow; final: Outcome; committed: boolean }[]> {
    const { kind } = this.rt.store;
    const byStatus = new Map<number | null, DeliveryRow[]>();
    for (const { d, outcome } of items) {
      const list = byStatus.get(outcome.status ?? null) ?? [];
      list.push(d);
      byStatus.set(outcome.status ?? null, list);
    }
    const committed = new Set<number>();
    for (const [status, rows] of byStatus) {
      const res = await trx
        .updateTable('deliveries')
        .set({
          status: 'delivered',
          attempts: sql<number>`attempts + 1`,
          first_attempt_at: sql<number>`coalesce(first_attempt_at, ${now})`,
          lease_owner: null,
          lease_until: null,
          last_status: status,
          last_error: null,
          response: null,
          updated_at: now,
        })
        .where(
          'seq',
          'in',
          rows.map((d) => d.seq),
        )
        .where('lease_owner', '=', this.owner)
        .returning('seq')
        .execute();
      for (const r of res) committed.add(Number(r.seq));
    }
    const done = items.filter(({ d }) => committed.has(Number(d.seq)));
    await settleRecordsIfDone(
      trx,
      kind,
      this.pipeline.name,
      done.map(({ d }) => d.record_id),
      now,
      done.map(({ d, outcome }) => ({
        pipeline: d.pipeline,
        recordId: d.record_id,
        at: now,
        kind: 'delivery_succeeded',
        detail: { destination: d.destination, attempt: d.attempts + 1, status: outcome.status ?? null },
      })),
    );
    return items.map(({ d, outcome }) => ({ d, final: outcome, committed: committed.has(Number(d.seq)) }));
  }

  private async commitOne(
    trx: Kysely<Tables>,
    d: DeliveryRow,
    outcome: Outcome,
    now: number,
  ): Promise<{ d: DeliveryRow; final: Outcome; committed: boolean }> {
    const attempts = d.attempts + 1;
    const firstAttemptAt = d.first_attempt_at ?? now;
    const retry = this.destination.retry;
    let final = outcome;
    if (outcome.kind === 'retry') {
      if (attempts >= retry.maxAttempts)
        final = { ...outcome, kind: 'dead', error: `gave up after ${attempts} attempts: ${describe(outcome)}` };
      else if (now - firstAttemptAt >= retry.maxAgeMs)
        final = { ...outcome, kind: 'dead', error: `gave up after ${Math.round((now - firstAttemptAt) / 1000)}s: ${describe(outcome)}` };
    }
    const { kind } = this.rt.store;
    const committed = await (async () => {
      if (final.kind === 'retry') {
        const delay = Math.max(fullJitterBackoff(attempts - 1, retry.baseMs, retry.capMs), final.retryAfterMs ?? 0);
        const ok = await updateDelivery(trx, d.seq, this.owner, {
          attempts,
          first_attempt_at: firstAttemptAt,
          next_attempt_at: now + delay,
          lease_owner: null,
          lease_until: null,
          last_status: final.status ?? null,
          last_error: final.error ?? `destination answered ${final.status}`,
          response: final.response ? deliveryResponse.encode(final.response) : null,
          updated_at: now,
        });
        if (!ok) return false;
        await appendEvents(
          trx,
          [
            {
              pipeline: d.pipeline,
              recordId: d.record_id,
              at: now,
              kind: 'delivery_retry_scheduled',
              detail: {
                destination: d.destination,
                attempt: attempts,
                status: final.status ?? null,
                error: final.error ?? null,
                retry_in_ms: delay,
              },
            },
          ],
          kind,
        );
        return true;
      }
      const status = final.kind === 'delivered' ? 'delivered' : 'dead_lettered';
      const ok = await updateDelivery(trx, d.seq, this.owner, {
        status,
        attempts,
        first_attempt_at: firstAttemptAt,
        lease_owner: null,
        lease_until: null,
        last_status: final.status ?? null,
        last_error: final.kind === 'dead' ? (final.error ?? null) : null,
        response: final.kind === 'dead' && final.response ? deliveryResponse.encode(final.response) : null,
        updated_at: now,
      });
      if (!ok) return false;
      const at = { pipeline: d.pipeline, recordId: d.record_id, at: now };
      const detail = { destination: d.destination, attempt: attempts, status: final.status ?? null };
      await appendEvents(
        trx,
        [
          final.kind === 'dead'
            ? { ...at, kind: 'delivery_dead_lettered', detail: { ...detail, error: final.error ?? null } }
            : { ...at, kind: 'delivery_succeeded', detail },
        ],
        kind,
      );
      if (final.kind === 'dead') {
        // People's work is one queue: a dead letter is a review case of type dead_letter, owned as configured.
        const c = newCase(
          this.pipeline,
          d.record_id,
          'dead_letter',
          { destination: d.destination, delivery: d.seq, status: final.status ?? null, error: final.error ?? null, attempts },
          now,
        );
        await insertCases(trx, [c]);
      }
      await settleRecordIfDone(trx, kind, d.pipeline, d.record_id, now);
      return true;
    })();
    return { d, final, committed };
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

function describe(o: Outcome): string {
  return o.error ?? (o.status ? `destination answered ${o.status}` : 'failed');
}
