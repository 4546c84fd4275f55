/**
 * What a round's answers do to the outbox, inside the commit's transaction: delivered rows settled as a batch, a retry
 * scheduled with backoff (or given up on past max attempts or max age), a dead letter with its review case.
 */
import { type Kysely, sql } from 'kysely';
import type { DestinationConfig } from '../config/sections/destinations.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { newCase } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { insertCases } from '../store/cases.js';
import { deliveryResponse } from '../store/codecs.js';
import { updateDelivery } from '../store/deliveries.js';
import { appendEvents } from '../store/events.js';
import type { DeliveryRow, Tables } from '../store/tables.js';
import { fullJitterBackoff } from './backoff.js';
import { settleRecordIfDone, settleRecordsIfDone } from './outbox.js';
import { describeOutcome, type Outcome } from './request.js';

/** The destination a commit is for, and the process whose leases it holds. */
export interface CommitContext {
  rt: Runtime;
  pipeline: PipelineConfig;
  destination: DestinationConfig;
  owner: string;
}

/** An attempt's outcome as committed (`final`: a retry past its limits becomes dead); false when the lease was lost. */
export interface CommittedOutcome {
  d: DeliveryRow;
  final: Outcome;
  committed: boolean;
}

/**
 * Commits delivered outcomes as a batch: one update per answered status (rows whose lease this process lost are
 * left alone and reported as not committed), one insert of their events, and the records settled together.
 */
export async function commitDelivered(
  ctx: CommitContext,
  trx: Kysely<Tables>,
  items: { d: DeliveryRow; outcome: Outcome }[],
  now: number,
): Promise<CommittedOutcome[]> {
  const { kind } = ctx.rt.store;
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
      .where('lease_owner', '=', ctx.owner)
      .returning('seq')
      .execute();
    for (const r of res) committed.add(Number(r.seq));
  }
  const done = items.filter(({ d }) => committed.has(Number(d.seq)));
  await settleRecordsIfDone(
    trx,
    kind,
    ctx.pipeline.name,
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

/** Commits one attempt row by row: a retry scheduled (or given up on: a dead letter, with its review case), or its delivery. */
export async function commitAttempt(
  ctx: CommitContext,
  trx: Kysely<Tables>,
  d: DeliveryRow,
  outcome: Outcome,
  now: number,
): Promise<CommittedOutcome> {
  const attempts = d.attempts + 1;
  const firstAttemptAt = d.first_attempt_at ?? now;
  const retry = ctx.destination.retry;
  let final = outcome;
  if (outcome.kind === 'retry') {
    if (attempts >= retry.maxAttempts)
      final = { ...outcome, kind: 'dead', error: `gave up after ${attempts} attempts: ${describeOutcome(outcome)}` };
    else if (now - firstAttemptAt >= retry.maxAgeMs)
      final = {
        ...outcome,
        kind: 'dead',
        error: `gave up after ${Math.round((now - firstAttemptAt) / 1000)}s: ${describeOutcome(outcome)}`,
      };
  }
  const { kind } = ctx.rt.store;
  const committed = await (async () => {
    if (final.kind === 'retry') {
      const delay = Math.max(fullJitterBackoff(attempts - 1, retry.baseMs, retry.capMs), final.retryAfterMs ?? 0);
      const ok = await updateDelivery(trx, d.seq, ctx.owner, {
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
    const ok = await updateDelivery(trx, d.seq, ctx.owner, {
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
        ctx.pipeline,
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
