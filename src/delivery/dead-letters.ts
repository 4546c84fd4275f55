import type { Kysely } from 'kysely';
import { AirlockError } from '../errors.js';
import { type Actor, checkRecordCaseAct } from '../review/case-authority.js';
import type { Runtime } from '../runtime/context.js';
import { resolveCase } from '../store/cases.js';
import { caseReasonOf, decision, deliveryResponse, eventDetail, rateSignal, recordBody } from '../store/codecs.js';
import { breakerRows, limitsRows } from '../store/delivery-state.js';
import { appendEvents } from '../store/events.js';
import { lockRecord } from '../store/records.js';
import type { DeliveryRow, Tables } from '../store/tables.js';
import type { LiveDeliveryStages } from './live-stages.js';
import { requestBodyView, requestOf } from './request.js';

/** A URL as the API shows it: without user info or query string, where credentials sometimes travel. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * A destination URL as a viewer sees it: the scheme and host only. A path can carry the secret itself (a Slack
 * incoming webhook is https://hooks.slack.com/services/T…/B…/SECRET), so viewers never see it; leads and admins see
 * displayUrl's.
 */
export function viewerUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname !== '/' || u.search ? '/…' : '/'}`;
  } catch {
    return '(invalid url)';
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export interface DeadLetterFilter {
  pipeline?: string;
  destination?: string;
  /** dead_lettered (default: waiting for a person) or discarded. */
  status?: 'dead_lettered' | 'discarded';
  limit?: number;
}

function summary(d: DeliveryRow, caseId: number | null) {
  return {
    id: Number(d.seq),
    pipeline: d.pipeline,
    record_id: d.record_id,
    destination: d.destination,
    status: d.status,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    idempotency_key: d.idempotency_key,
    first_attempt_at: iso(d.first_attempt_at),
    dead_lettered_at: iso(d.updated_at),
    case_id: caseId,
  };
}

async function openDeadLetterCases(db: Kysely<Tables>, pipeline: string, recordId: string, destination: string): Promise<number[]> {
  const rows = await db
    .selectFrom('review_cases')
    .select(['id', 'reason'])
    .where('pipeline', '=', pipeline)
    .where('record_id', '=', recordId)
    .where('type', '=', 'dead_letter')
    .where('status', '=', 'open')
    .execute();
  return rows.filter((r) => caseReasonOf('dead_letter', r.reason)?.destination === destination).map((r) => Number(r.id));
}

/** Dead letters, newest first, with the open dead_letter case each belongs to. */
export async function listDeadLetters(rt: Runtime, f: DeadLetterFilter = {}) {
  if (f.pipeline && !rt.config.pipelines[f.pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${f.pipeline}" is not in the config`);
  const { db } = rt.store;
  let q = db
    .selectFrom('deliveries')
    .selectAll()
    .where('status', '=', f.status ?? 'dead_lettered');
  if (f.pipeline) q = q.where('pipeline', '=', f.pipeline);
  if (f.destination) q = q.where('destination', '=', f.destination);
  const limit = Math.min(10_000, Math.max(1, f.limit ?? 100));
  const rows = await q.orderBy('updated_at', 'desc').orderBy('seq', 'desc').limit(limit).execute();
  let cq = db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', f.status ?? 'dead_lettered');
  if (f.pipeline) cq = cq.where('pipeline', '=', f.pipeline);
  if (f.destination) cq = cq.where('destination', '=', f.destination);
  const total = Number((await cq.executeTakeFirst())?.n ?? 0);
  const out = [];
  for (const d of rows) out.push(summary(d, (await openDeadLetterCases(db, d.pipeline, d.record_id, d.destination))[0] ?? null));
  return { dead_letters: out, total };
}

async function getDelivery(db: Kysely<Tables>, id: number): Promise<DeliveryRow> {
  if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('NOT_FOUND', `dead letter ${id} does not exist`);
  const d = await db.selectFrom('deliveries').selectAll().where('seq', '=', id).executeTakeFirst();
  if (!d) throw new AirlockError('NOT_FOUND', `dead letter ${id} does not exist`);
  return d;
}

/** One dead letter: the request as sent (without credentials), the last response, and every attempt. */
export async function showDeadLetter(rt: Runtime, id: number) {
  const { db } = rt.store;
  const d = await getDelivery(db, id);
  const dest = rt.config.pipelines[d.pipeline]?.destinations[d.destination];
  const record = await db
    .selectFrom('records')
    .select(['body', 'decision', 'status'])
    .where('pipeline', '=', d.pipeline)
    .where('id', '=', d.record_id)
    .executeTakeFirst();
  const events = await db
    .selectFrom('events')
    .selectAll()
    .where('pipeline', '=', d.pipeline)
    .where('record_id', '=', d.record_id)
    .orderBy('seq')
    .execute();
  // The attempts and people's actions on this delivery: the delivery_* events naming its destination.
  const mine = events
    .map((e) => {
      const detail: Record<string, unknown> = eventDetail.decode(e.detail);
      return { at: iso(e.at), kind: e.kind, detail };
    })
    .filter((e) => e.kind.startsWith('delivery_') && e.detail.destination === d.destination);
  const cases = await openDeadLetterCases(db, d.pipeline, d.record_id, d.destination);
  return {
    ...summary(d, cases[0] ?? null),
    record_status: record?.status ?? null,
    request: dest
      ? {
          ...requestOf(dest, d),
          url: displayUrl(dest.url),
          body: record ? requestBodyView(dest, d, recordBody.decode(record.body), decision.decodeOrNull(record.decision)) : null,
        }
      : null,
    response: deliveryResponse.decodeOrNull(d.response),
    attempt_log: mine.filter((e) => e.kind !== 'delivery_replayed' && e.kind !== 'delivery_discarded'),
    history: mine.filter((e) => e.kind === 'delivery_replayed' || e.kind === 'delivery_discarded'),
  };
}

export interface ReplaySelection {
  ids?: number[];
  pipeline?: string;
  destination?: string;
  /** Replay at most this many (default 1000). */
  limit?: number;
}

/**
 * Puts dead letters back in the outbox: the delivery is pending again with a fresh attempt count (max attempts and
 * max age start over), the record goes from dead_lettered back to decided until delivered, and the open
 * dead_letter case is resolved as replayed. Each is audited as a `delivery_replayed` event on its record.
 */
export async function replayDeadLetters(rt: Runtime, sel: ReplaySelection, opts: { actor: Actor; note?: string }) {
  const { db } = rt.store;
  let ids = sel.ids;
  if (!ids) {
    if (sel.pipeline && !rt.config.pipelines[sel.pipeline])
      throw new AirlockError('NOT_FOUND', `pipeline "${sel.pipeline}" is not in the config`);
    let q = db.selectFrom('deliveries').select('seq').where('status', '=', 'dead_lettered');
    if (sel.pipeline) q = q.where('pipeline', '=', sel.pipeline);
    if (sel.destination) q = q.where('destination', '=', sel.destination);
    ids = (
      await q
        .orderBy('seq')
        .limit(sel.limit ?? 1000)
        .execute()
    ).map((r) => Number(r.seq));
  }
  const replayed: number[] = [];
  const skipped: { id: number; reason: string }[] = [];
  for (const id of ids) {
    try {
      await replayOne(rt, id, opts);
      replayed.push(id);
    } catch (err) {
      if (sel.ids && ids.length === 1) throw err;
      skipped.push({ id, reason: (err as Error).message });
    }
  }
  if (replayed.length > 0) rt.wake();
  return { replayed, skipped };
}

async function replayOne(rt: Runtime, id: number, opts: { actor: Actor; note?: string }): Promise<void> {
  const { kind } = rt.store;
  const now = rt.clock.now();
  await rt.store.db.transaction().execute(async (trx) => {
    const first = await getDelivery(trx, id);
    const record = await lockRecord(trx, kind, first.pipeline, first.record_id);
    const d = await getDelivery(trx, id);
    if (d.status !== 'dead_lettered') throw new AirlockError('CONFLICT', `delivery ${id} is ${d.status}, not dead-lettered`);
    if (!rt.config.pipelines[d.pipeline]?.destinations[d.destination])
      throw new AirlockError('CONFLICT', `destination ${d.destination} of pipeline ${d.pipeline} is no longer in the config`);
    // Replaying is approving the record's dead-letter case, whichever door it comes through (a lead's call by default).
    await checkRecordCaseAct(
      trx,
      rt.config,
      opts.actor,
      { pipeline: d.pipeline, recordId: d.record_id, type: 'dead_letter' },
      'approve',
      { before: recordBody.tryDecode(record?.body ?? null) ?? {} },
      now,
    );
    await trx
      .updateTable('deliveries')
      .set({
        status: 'pending',
        attempts: 0,
        first_attempt_at: null,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      })
      .where('seq', '=', id)
      .where('status', '=', 'dead_lettered')
      .execute();
    // docs/design.md's record states: a replayed record waits on the system again (decided) until it is delivered.
    if (record?.status === 'dead_lettered') {
      await trx
        .updateTable('records')
        .set({ status: 'decided', updated_at: now })
        .where('pipeline', '=', d.pipeline)
        .where('id', '=', d.record_id)
        .execute();
    }
    for (const c of await openDeadLetterCases(trx, d.pipeline, d.record_id, d.destination))
      await resolveCase(trx, c, { label: 'replayed', by: opts.actor.name, note: opts.note }, now);
    await appendEvents(
      trx,
      [
        {
          pipeline: d.pipeline,
          recordId: d.record_id,
          at: now,
          kind: 'delivery_replayed',
          detail: {
            destination: d.destination,
            delivery: id,
            by: opts.actor.name,
            note: opts.note ?? null,
            previous_attempts: d.attempts,
            previous_status: d.last_status,
            previous_error: d.last_error,
          },
        },
      ],
      kind,
    );
  });
}

/** Gives up on a dead letter with a person's reason; the record stays dead_lettered, its case is resolved. */
export async function discardDeadLetter(rt: Runtime, id: number, opts: { actor: Actor; reason: string }) {
  if (typeof opts.reason !== 'string' || opts.reason.trim() === '')
    throw new AirlockError('BAD_REQUEST', 'discarding a dead letter needs a "reason"');
  const { kind } = rt.store;
  const now = rt.clock.now();
  await rt.store.db.transaction().execute(async (trx) => {
    const first = await getDelivery(trx, id);
    const record = await lockRecord(trx, kind, first.pipeline, first.record_id);
    const d = await getDelivery(trx, id);
    if (d.status !== 'dead_lettered') throw new AirlockError('CONFLICT', `delivery ${id} is ${d.status}, not dead-lettered`);
    await checkRecordCaseAct(
      trx,
      rt.config,
      opts.actor,
      { pipeline: d.pipeline, recordId: d.record_id, type: 'dead_letter' },
      'reject',
      { before: recordBody.tryDecode(record?.body ?? null) ?? {} },
      now,
    );
    await trx.updateTable('deliveries').set({ status: 'discarded', updated_at: now }).where('seq', '=', id).execute();
    for (const c of await openDeadLetterCases(trx, d.pipeline, d.record_id, d.destination))
      await resolveCase(trx, c, { label: 'discarded', by: opts.actor.name, note: opts.reason }, now);
    await appendEvents(
      trx,
      [
        {
          pipeline: d.pipeline,
          recordId: d.record_id,
          at: now,
          kind: 'delivery_discarded',
          detail: { destination: d.destination, delivery: id, by: opts.actor.name, reason: opts.reason },
        },
      ],
      kind,
    );
  });
  return showDeadLetter(rt, id);
}

/**
 * Every destination's state: its limits (configured, found, last signal), circuit breaker (shared), queue and dead
 * letters, and the pacing and retry budget of this process's stage when `live` (the worker pool's) runs one.
 */
export async function destinationStatus(rt: Runtime, live?: LiveDeliveryStages) {
  const { db } = rt.store;
  const [breakers, limits, counts, quotas] = await Promise.all([
    breakerRows(db),
    limitsRows(db),
    db
      .selectFrom('deliveries')
      .select(['pipeline', 'destination', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['pipeline', 'destination', 'status'])
      .execute(),
    db.selectFrom('delivery_quotas').selectAll().execute(),
  ]);
  const out = [];
  for (const p of Object.values(rt.config.pipelines)) {
    for (const dest of Object.values(p.destinations)) {
      const b = breakers.find((x) => x.pipeline === p.name && x.destination === dest.name);
      const l = limits.find((x) => x.pipeline === p.name && x.destination === dest.name);
      const stage = live?.find(p.name, dest.name);
      const c = (status: string) =>
        Number(counts.find((x) => x.pipeline === p.name && x.destination === dest.name && x.status === status)?.n ?? 0);
      out.push({
        pipeline: p.name,
        destination: dest.name,
        type: dest.type,
        preset: dest.preset ?? null,
        url: displayUrl(dest.url),
        rate_limit: dest.rateLimit
          ? { text: dest.rateLimit.text, per_second: (dest.rateLimit.count / dest.rateLimit.intervalMs) * 1000 }
          : null,
        extra_limits: dest.extraLimits.map((r) => r.text),
        // Quotas counted in fixed windows, all processes together (units leased by a process count as used).
        quotas: dest.extraLimits.map((r) => {
          const q = quotas.find((x) => x.pipeline === p.name && x.destination === dest.name && x.quota === r.text);
          const start = Math.floor(Date.now() / r.intervalMs) * r.intervalMs;
          const used = q && Number(q.window_start) >= start ? Number(q.used) : 0;
          return { quota: r.text, limit: r.count, used, window_start: iso(start), window_end: iso(start + r.intervalMs) };
        }),
        order_by: dest.orderBy ?? null,
        concurrency: dest.concurrency,
        found_limit: l?.found_per_second != null ? { per_second: Number(l.found_per_second), source: l.found_source } : null,
        pace_per_second: l?.rate_per_second != null ? Number(l.rate_per_second) : null,
        last_signal: l ? rateSignal.decodeOrNull(l.signal) : null,
        breaker: b
          ? {
              state: b.state,
              openings: Number(b.openings),
              opened_at: iso(b.opened_at),
              open_until: iso(b.open_until),
              window: { calls: Number(b.calls), failures: Number(b.failures) },
            }
          : { state: 'closed', openings: 0, opened_at: null, open_until: null, window: { calls: 0, failures: 0 } },
        retry_budget: stage ? stage.budget.snapshot() : null,
        this_process: stage ? stage.pacer.snapshot() : null,
        deliveries: { pending: c('pending'), delivered: c('delivered'), dead_lettered: c('dead_lettered'), discarded: c('discarded') },
      });
    }
  }
  return { destinations: out };
}
