import { type Kysely, sql } from 'kysely';
import type { DestinationConfig, PipelineConfig } from '../config/load.js';
import type { Runtime } from '../pipeline/context.js';
import { newCase } from '../review/cases.js';
import { insertCases } from '../store/cases.js';
import { claimDueDeliveries, updateDelivery } from '../store/deliveries.js';
import { type BreakerRow, leaseTokens, lockBreakerRow, saveBreakerRow, saveLearned } from '../store/delivery-state.js';
import { appendEvents } from '../store/events.js';
import type { DeliveryRow, Tables } from '../store/tables.js';
import { fullJitterBackoff } from './backoff.js';
import { advanceBreaker, type BreakerState, breakerPermits, recordOutcomes } from './breaker.js';
import { classifyError, classifyResponse, type Verdict } from './classify.js';
import { type DeliveryMetrics, deliveryMetrics } from './metrics.js';
import { settleRecordIfDone } from './outbox.js';
import { Pacer } from './pacer.js';
import { RetryBudget } from './retry-budget.js';
import { parseRateSignal, type RateSignal } from './signals.js';

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

/**
 * The delivery stage of one destination. Each round: claim due outbox rows under the destination's circuit breaker
 * and concurrency cap (both shared through the database), hold back retries the retry budget does not allow, pace
 * each request (rate limit, the destination's signals, or AIMD), POST `{record, decision}` with the effect's
 * idempotency key, classify the answer, and commit every outcome and the breaker's counts in one transaction.
 */
export class DeliveryStage {
  readonly pacer: Pacer;
  readonly budget: RetryBudget;
  private readonly metrics: DeliveryMetrics;
  private stopping = false;
  /** Rounds in flight (claimed, being sent or committed) and the deliveries they hold. */
  private readonly rounds = new Set<Promise<void>>();
  private inflight = 0;
  private readonly queue: { d: DeliveryRow; outcome?: Outcome; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;
  private lastLearnedAt = 0;
  private breakerKnown = false;

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
    this.pacer = new Pacer(destination, now, shared);
    const b = destination.retry.budget;
    this.budget = new RetryBudget(b.percent, b.minPerSecond, b.windowMs, now);
    this.metrics = deliveryMetrics(rt.metrics.registry, rt.store);
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
    const free = dest.concurrency - this.inflight;
    // Claim in batches: wait (in memory, a few ms) until half the slots are free, unless nothing is in flight.
    const batch = Math.max(1, Math.min(Math.ceil(dest.concurrency / 2), Math.ceil(this.pacer.ratePerSecond())));
    if (free < batch && this.inflight > 0) return { done: 0, waitMs: 5 };
    const now = this.rt.clock.now();
    const leaseMs = Math.max(this.rt.config.worker.leaseMs, dest.timeoutMs * 2 + 5_000);
    // A round: at most half the concurrency (another starts while one waits on a slow request), and no more than the
    // pace allows in about a second.
    const want = Math.max(1, Math.min(free, batch));
    const claim = await this.claim(now, want, leaseMs);
    if (claim.rows.length === 0) return { done: 0, waitMs: claim.waitMs };
    const n = claim.rows.length;
    this.inflight += n;
    // Each delivery gives its concurrency slot back as soon as its own outcome is committed, not at the end of the round.
    let held = n;
    let closed = false;
    const release = (k: number) => {
      if (closed) return;
      held -= k;
      this.inflight -= k;
    };
    const round: Promise<void> = this.round(claim.rows, claim.halfOpen, leaseMs, release)
      .catch((err) => {
        // Leases expire and the deliveries are claimed again with the same idempotency keys.
        this.rt.logger.error({ ...this.label(), err: (err as Error).message }, 'delivery round failed; its deliveries will be retried');
      })
      .finally(() => {
        release(held);
        closed = true;
        this.rounds.delete(round);
      });
    this.rounds.add(round);
    return { done: n };
  }

  private async round(rows: DeliveryRow[], halfOpen: boolean, leaseMs: number, release: (k: number) => void): Promise<void> {
    const dest = this.destination;
    const toSend: DeliveryRow[] = [];
    const deferred: DeliveryRow[] = [];
    for (const d of rows) {
      if (d.attempts === 0) {
        this.budget.recordRequest();
        toSend.push(d);
      } else if (halfOpen || this.budget.tryRetry()) toSend.push(d);
      else deferred.push(d);
    }
    const done: Promise<void>[] = [];
    if (deferred.length > 0) {
      this.metrics.budgetDeferred.inc(this.label(), deferred.length);
      done.push(this.enqueue(deferred.map((d) => ({ d }))).then(() => release(deferred.length)));
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
      if (!r) sending = Promise.resolve({ kind: 'dead', error: 'the record no longer exists' });
      else if (await this.pacer.acquire(Math.max(0, deadline - this.rt.clock.now()), () => this.stopping))
        sending = this.send(d, r.body, r.decision ?? 'null');
      else {
        givenBack.push(d);
        continue;
      }
      done.push(
        sending
          .then((outcome) => {
            if (!halfOpen && d.attempts > 0 && outcome.kind === 'delivered') this.budget.refund();
            this.rt.metrics.stageSeconds.observe({ stage: 'deliver', pipeline: this.pipeline.name }, (performance.now() - started) / 1000);
            return this.enqueue([{ d, outcome }]);
          })
          .then(() => release(1)),
      );
    }
    if (givenBack.length > 0) {
      // Retries that got no token were withdrawn from the budget but never sent.
      if (!halfOpen) for (const d of givenBack) if (d.attempts > 0) this.budget.cancel();
      done.push(this.enqueue(givenBack.map((d) => ({ d }))).then(() => release(givenBack.length)));
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
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
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
      this.flushing = false;
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
      const row = await this.lockBreaker(trx, now);
      const s = breakerFromRow(row);
      const before = JSON.stringify(s);
      advanceBreaker(s, o, now);
      const permits = breakerPermits(s, o);
      let n = Math.min(want, permits);
      if (n > 0 && kind === 'postgres') {
        const inflight = await sql<{ n: number }>`
          select count(*)::int as n from deliveries
          where pipeline = ${p} and destination = ${d} and lease_until > ${now} and status = 'pending'`.execute(trx);
        n = Math.min(n, this.destination.concurrency - Number(inflight.rows[0]?.n ?? 0));
      }
      let rows: DeliveryRow[] = [];
      if (n > 0) rows = await claimDueDeliveries(trx, kind, p, d, this.owner, now, leaseMs, n);
      if (s.state === 'half_open') s.probes += rows.length;
      if (JSON.stringify(s) !== before) await saveBreakerRow(trx, breakerToRow(p, d, s, now));
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

  private async send(d: DeliveryRow, body: string, decision: string): Promise<Outcome> {
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
        body: `{"record":${body},"decision":${decision}}`,
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
      for (let i = 0; i < sent.length; i++) out.push(await this.commitOne(trx, sent[i], outcomes[i], now));
      for (const d of giveBack) {
        // Not attempted: back to the outbox without counting an attempt, due after a short jittered pause.
        const due = Math.max(pauseUntil, now + 250 + Math.floor(Math.random() * 750));
        await updateDelivery(trx, d.seq, this.owner, { lease_owner: null, lease_until: null, next_attempt_at: due, updated_at: now });
      }
      let t: 'opened' | 'closed' | undefined;
      if (successes + faults > 0) {
        const row = await this.lockBreaker(trx, now);
        const s = breakerFromRow(row);
        t = recordOutcomes(s, o, now, successes, faults);
        await saveBreakerRow(trx, breakerToRow(this.pipeline.name, this.destination.name, s, now));
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
      void this.rt.alerts.raise({
        key: `breaker_open:${label.pipeline}:${label.destination}`,
        severity: 'warning',
        title: `Circuit open for ${label.destination}`,
        text: `Deliveries of pipeline ${label.pipeline} to ${label.destination} failed too often; sending pauses for ${Math.round(this.destination.breaker.openMs / 1000)}s, then probes. Nothing is lost: deliveries wait in the outbox.`,
        fields: label,
      });
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
    void this.rt.alerts.raise({
      key: `dead_letter:${label.pipeline}:${label.destination}`,
      severity: 'warning',
      title: `Deliveries to ${label.destination} are dead-lettering`,
      text: `${n} deliveries of pipeline ${label.pipeline} to ${label.destination} were refused for good and wait in the dead letters (airlock deliveries list) for replay or discard.`,
      fields: { ...label, dead_letters: n },
    });
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
          response: final.response ? JSON.stringify(final.response) : null,
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
        response: final.kind === 'dead' && final.response ? JSON.stringify(final.response) : null,
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
            kind: final.kind === 'delivered' ? 'delivery_succeeded' : 'delivery_dead_lettered',
            detail: {
              destination: d.destination,
              attempt: attempts,
              status: final.status ?? null,
              ...(final.kind === 'dead' ? { error: final.error ?? null } : {}),
            },
          },
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
