import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { recordBody } from '../store/codecs.js';
import { insertDeliveries } from '../store/deliveries.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { lockRecord, updateRecord } from '../store/records.js';
import type { DatabaseKind, Tables } from '../store/tables.js';
import { fieldAt } from './template.js';

/**
 * The idempotency key of one effect: derived from (pipeline, record id, destination) only, so every retry,
 * every process and every restart sends the same key for the same effect.
 */
export function idempotencyKey(pipeline: string, recordId: string, destination: string): string {
  const h = createHash('sha256').update(`${pipeline}\u0000${recordId}\u0000${destination}`).digest('hex');
  return `airlock-${h.slice(0, 40)}`;
}

/**
 * Puts one outbox row per destination in the same transaction as the decision. A pipeline without
 * destinations has nothing to deliver: its record is `delivered` at once. Returns the new record status.
 */
export async function enqueueDeliveries(
  trx: Kysely<Tables>,
  pipeline: PipelineConfig,
  recordId: string,
  now: number,
): Promise<'decided' | 'delivered'> {
  const names = Object.keys(pipeline.destinations);
  if (names.length === 0) return 'delivered';
  // Ordering per key (a destination's order_by): the key's value in the record and the record's arrival position.
  const ordered = names.some((n) => pipeline.destinations[n].orderBy !== undefined);
  const record = ordered
    ? await trx
        .selectFrom('records')
        .select(['seq', 'body'])
        .where('pipeline', '=', pipeline.name)
        .where('id', '=', recordId)
        .executeTakeFirst()
    : undefined;
  const body = record ? recordBody.decode(record.body) : undefined;
  await insertDeliveries(
    trx,
    names.map((destination) => {
      const by = pipeline.destinations[destination].orderBy;
      const key = by !== undefined && record ? orderKeyOf(body, by) : null;
      return {
        pipeline: pipeline.name,
        recordId,
        destination,
        idempotencyKey: idempotencyKey(pipeline.name, recordId, destination),
        now,
        orderKey: key,
        orderSeq: key === null ? null : Number(record?.seq),
      };
    }),
  );
  return 'decided';
}

/**
 * The ordering key of a record for a destination's `order_by` path: a string value as is, a number, boolean or object
 * as JSON; null (not ordered) when the record has no value there.
 *
 * The rule: deliveries to one destination that share a key go out one at a time, in the order their records arrived
 * (records.seq), across all processes. An earlier delivery that is pending — due, in flight, or waiting for a retry —
 * holds the later ones back. One that is dead-lettered (or discarded) stops holding them back at once, so a refused
 * effect never blocks its key for longer than its retry policy (max_attempts, max_age) allows; replayed, it goes out
 * when no other delivery of its key is in flight. An earlier record of the key still being scored (received, scoring)
 * holds the later ones back too; one waiting on a person (in review, quarantined, halted) does not — a person's queue
 * must not stop a customer's stream — so it goes out after the later ones once decided.
 */
export function orderKeyOf(record: unknown, path: string): string | null {
  const v = fieldAt(record, path);
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * After a delivery reached a final state: when every destination of the record is final, the record becomes
 * `delivered` (all delivered) or `dead_lettered` (at least one refused for good). Locks the record row first so
 * two workers finishing the record's last two deliveries at once cannot both miss the end.
 */
export async function settleRecordIfDone(
  trx: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  recordId: string,
  now: number,
): Promise<'delivered' | 'dead_lettered' | undefined> {
  const record = await lockRecord(trx, kind, pipeline, recordId);
  if (record?.status !== 'decided') return undefined;
  const rows = await trx
    .selectFrom('deliveries')
    .select(['status', 'destination'])
    .where('pipeline', '=', pipeline)
    .where('record_id', '=', recordId)
    .execute();
  if (rows.some((r) => r.status === 'pending')) return undefined;
  // A discarded dead letter stays refused for good: the record is dead_lettered, not delivered.
  const dead = rows.filter((r) => r.status === 'dead_lettered' || r.status === 'discarded').map((r) => r.destination);
  const status = dead.length > 0 ? 'dead_lettered' : 'delivered';
  await updateRecord(trx, pipeline, recordId, { status, updated_at: now });
  await appendEvents(trx, [settledEvent(pipeline, recordId, now, dead, rows.length)], kind);
  return status;
}

/** The event of a record whose deliveries are all settled: delivered, or dead_lettered naming the refusing destinations. */
function settledEvent(pipeline: string, recordId: string, now: number, dead: string[], destinations: number): NewEvent {
  return dead.length > 0
    ? { pipeline, recordId, at: now, kind: 'dead_lettered', detail: { dead_lettered: dead, delivered: destinations - dead.length } }
    : { pipeline, recordId, at: now, kind: 'delivered', detail: { destinations } };
}

/**
 * settleRecordIfDone for many records at once (the deliveries a round delivered): the records locked in one statement
 * (in id order, so two processes cannot deadlock), their deliveries read in one, and the settled ones updated and
 * their events appended in one statement per outcome.
 */
export async function settleRecordsIfDone(
  trx: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  recordIds: string[],
  now: number,
  eventsBefore: NewEvent[] = [],
): Promise<void> {
  const ids = [...new Set(recordIds)].sort();
  if (ids.length === 0) return appendEvents(trx, eventsBefore, kind);
  let q = trx.selectFrom('records').select(['id', 'status']).where('pipeline', '=', pipeline).where('id', 'in', ids).orderBy('id');
  if (kind === 'postgres') q = q.forUpdate();
  const decided = (await q.execute()).filter((r) => r.status === 'decided').map((r) => r.id);
  if (decided.length === 0) return appendEvents(trx, eventsBefore, kind);
  const rows = await trx
    .selectFrom('deliveries')
    .select(['record_id', 'status', 'destination'])
    .where('pipeline', '=', pipeline)
    .where('record_id', 'in', decided)
    .execute();
  const byRecord = new Map<string, { status: string; destination: string }[]>();
  for (const r of rows) {
    const list = byRecord.get(r.record_id) ?? [];
    list.push(r);
    byRecord.set(r.record_id, list);
  }
  const settled: { id: string; status: 'delivered' | 'dead_lettered'; event: NewEvent }[] = [];
  for (const [id, list] of byRecord) {
    if (list.some((r) => r.status === 'pending')) continue;
    const dead = list.filter((r) => r.status === 'dead_lettered' || r.status === 'discarded').map((r) => r.destination);
    settled.push({
      id,
      status: dead.length > 0 ? 'dead_lettered' : 'delivered',
      event: settledEvent(pipeline, id, now, dead, list.length),
    });
  }
  for (const status of ['delivered', 'dead_lettered'] as const) {
    const these = settled.filter((x) => x.status === status).map((x) => x.id);
    if (these.length === 0) continue;
    await trx.updateTable('records').set({ status, updated_at: now }).where('pipeline', '=', pipeline).where('id', 'in', these).execute();
  }
  // The caller's events (each delivery's) and the records' own, in one statement.
  await appendEvents(trx, [...eventsBefore, ...settled.map((x) => x.event)], kind);
}
