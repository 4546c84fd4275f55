import type { Kysely } from 'kysely';
import type { DestinationConfig, PipelineConfig } from '../config/load.js';
import type { Runtime } from '../pipeline/context.js';
import { newCase } from '../review/cases.js';
import { insertCases } from '../store/cases.js';
import { claimDueDeliveries, updateDelivery } from '../store/deliveries.js';
import { appendEvents } from '../store/events.js';
import type { DeliveryRow, Tables } from '../store/tables.js';
import { fullJitterBackoff, isRetryableStatus, parseRetryAfter } from './backoff.js';
import { settleRecordIfDone } from './outbox.js';
import { RateLimiter } from './rate-limiter.js';

interface Outcome {
  kind: 'delivered' | 'retry' | 'dead';
  status?: number;
  error?: string;
  retryAfterMs?: number;
  response?: { status: number; headers: Record<string, string>; body: string };
}

const KEPT_RESPONSE_HEADERS = [
  'content-type',
  'retry-after',
  'x-request-id',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
];

/**
 * The delivery stage of one destination: claims due outbox rows within the destination's rate limit and
 * concurrency, POSTs `{record, decision}` with the effect's idempotency key, and commits the outcome:
 * delivered, retry scheduled (full-jitter backoff, Retry-After honoured), or dead-lettered with the response.
 */
export class DeliveryStage {
  readonly limiter?: RateLimiter;

  constructor(
    private readonly rt: Runtime,
    private readonly pipeline: PipelineConfig,
    private readonly destination: DestinationConfig,
    private readonly owner: string,
  ) {
    if (destination.rateLimit) this.limiter = new RateLimiter(destination.rateLimit, () => rt.clock.now());
  }

  /** Runs one round. `waitMs` says how long to wait when the rate limit, not a lack of work, stopped it. */
  async runOnce(): Promise<{ done: number; waitMs?: number }> {
    const want = this.destination.concurrency;
    const tokens = this.limiter ? this.limiter.take(want) : want;
    if (tokens === 0) return { done: 0, waitMs: this.limiter?.msUntilNext() };
    const now = this.rt.clock.now();
    const { db, kind } = this.rt.store;
    const leaseMs = Math.max(this.rt.config.worker.leaseMs, this.destination.timeoutMs * 2);
    let claimed: DeliveryRow[];
    try {
      claimed = await claimDueDeliveries(db, kind, this.pipeline.name, this.destination.name, this.owner, now, leaseMs, tokens);
    } catch (err) {
      this.limiter?.giveBack(tokens);
      throw err;
    }
    if (claimed.length < tokens) this.limiter?.giveBack(tokens - claimed.length);
    if (claimed.length === 0) return { done: 0 };
    const started = performance.now();
    const records = await this.rt.store.db
      .selectFrom('records')
      .select(['id', 'body', 'decision'])
      .where('pipeline', '=', this.pipeline.name)
      .where(
        'id',
        'in',
        claimed.map((d) => d.record_id),
      )
      .execute();
    const byId = new Map(records.map((r) => [r.id, r]));
    const outcomes = await Promise.all(
      claimed.map((d): Promise<Outcome> | Outcome => {
        const r = byId.get(d.record_id);
        return r ? this.send(d, r.body, r.decision ?? 'null') : { kind: 'dead', error: 'the record no longer exists' };
      }),
    );
    await this.commit(claimed, outcomes);
    const seconds = (performance.now() - started) / 1000;
    for (let i = 0; i < claimed.length; i++)
      this.rt.metrics.stageSeconds.observe({ stage: 'deliver', pipeline: this.pipeline.name }, seconds);
    return { done: claimed.length, waitMs: this.limiter && this.limiter.available() === 0 ? this.limiter.msUntilNext() : undefined };
  }

  private async send(d: DeliveryRow, body: string, decision: string): Promise<Outcome> {
    const dest = this.destination;
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
      const e = err as Error & { cause?: { code?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `timed out after ${dest.timeoutMs}ms`
          : (e.cause?.code ?? (e.cause as Error | undefined)?.message ?? e.message);
      return { kind: 'retry', error: reason };
    }
    const text = await res.text().catch(() => '');
    const headers: Record<string, string> = {};
    for (const h of KEPT_RESPONSE_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const response = { status: res.status, headers, body: text.slice(0, 2048) };
    if (res.status >= 200 && res.status < 300) return { kind: 'delivered', status: res.status };
    if (isRetryableStatus(res.status)) {
      return {
        kind: 'retry',
        status: res.status,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), this.rt.clock.now()),
        response,
      };
    }
    return { kind: 'dead', status: res.status, error: `destination answered ${res.status}`, response };
  }

  /** Commits the outcomes of a round in one transaction (one sync to disk), then counts and alerts. */
  private async commit(claimed: DeliveryRow[], outcomes: Outcome[]): Promise<void> {
    const now = this.rt.clock.now();
    const { db } = this.rt.store;
    const results = await db.transaction().execute(async (trx) => {
      const out: { d: DeliveryRow; final: Outcome; committed: boolean }[] = [];
      for (let i = 0; i < claimed.length; i++) out.push(await this.commitOne(trx, claimed[i], outcomes[i], now));
      return out;
    });
    for (const { d, final, committed } of results) this.report(d, final, committed);
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
          { destination: d.destination, status: final.status ?? null, error: final.error ?? null, attempts },
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
      void this.rt.alerts.raise({
        key: `dead_letter:${d.pipeline}:${d.destination}`,
        severity: 'warning',
        title: `Deliveries to ${d.destination} are dead-lettering`,
        text: `A delivery of pipeline ${d.pipeline} to ${d.destination} was refused for good (${final.error ?? final.status}). It waits in the dead letters for replay.`,
        fields: { pipeline: d.pipeline, destination: d.destination, status: final.status ?? 'none' },
      });
    }
  }
}

function describe(o: Outcome): string {
  return o.error ?? (o.status ? `destination answered ${o.status}` : 'failed');
}
