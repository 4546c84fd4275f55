import { type Kysely, sql, type Updateable } from 'kysely';
import type { DatabaseKind, DeliveriesTable, DeliveryRow, Tables } from './tables.js';

export interface NewDelivery {
  pipeline: string;
  recordId: string;
  destination: string;
  idempotencyKey: string;
  now: number;
  /** Ordering per key: the record's key value and arrival position (null/absent: not ordered). */
  orderKey?: string | null;
  orderSeq?: number | null;
}

export async function insertDeliveries(db: Kysely<Tables>, rows: NewDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('deliveries')
    .values(
      rows.map((d) => ({
        pipeline: d.pipeline,
        record_id: d.recordId,
        destination: d.destination,
        idempotency_key: d.idempotencyKey,
        order_key: d.orderKey ?? null,
        order_seq: d.orderKey == null ? null : (d.orderSeq ?? null),
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: d.now,
        created_at: d.now,
        updated_at: d.now,
      })),
    )
    .onConflict((oc) => oc.columns(['pipeline', 'record_id', 'destination']).doNothing())
    .execute();
}

/**
 * Claims due deliveries of one destination with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL).
 *
 * With `orderBy` (the destination's order_by path), an ordered delivery (order_key set) is claimable only at the head
 * of its key: it waits while an earlier delivery of the same key is pending (due, leased by any process, or waiting
 * for a retry), while any other of its key is in flight (a replayed dead letter), and while a record of the same key
 * that arrived earlier is still being scored (received or scoring), so scoring rounds that commit out of order in
 * several processes do not reorder a key. The rule is src/delivery/outbox.ts `orderKeyOf`'s comment.
 */
export async function claimDueDeliveries(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  orderBy?: string,
): Promise<DeliveryRow[]> {
  if (limit <= 0) return [];
  const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
  const ordered = orderBy === undefined ? sql`` : sql`and (d.order_key is null or (${headOfKey(kind, now, orderBy)}))`;
  const res = await sql<DeliveryRow>`
    update deliveries set lease_owner = ${owner}, lease_until = ${now + leaseMs}
    where seq in (
      select seq from deliveries d
      where status = 'pending' and pipeline = ${pipeline} and destination = ${destination}
        and next_attempt_at <= ${now} and (lease_until is null or lease_until < ${now})
        ${ordered}
      order by next_attempt_at, seq
      limit ${limit}
      ${lock}
    )
    returning *`.execute(db);
  return res.rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.seq - b.seq);
}

/** The condition that delivery `d` is at the head of its ordering key (see claimDueDeliveries). */
function headOfKey(kind: DatabaseKind, now: number, orderBy: string) {
  const segments = orderBy.split('.');
  // The record's key, as orderKeyOf computes it: a string as is, a number as its text.
  const keyOfRecord =
    kind === 'postgres'
      ? sql`(r.body::jsonb #>> ${`{${segments.join(',')}}`}::text[])`
      : sql`json_extract(r.body, ${`$${segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('')}`})`;
  return sql`not exists (
      select 1 from deliveries e
      where e.pipeline = d.pipeline and e.destination = d.destination and e.order_key = d.order_key
        and e.status = 'pending' and e.seq <> d.seq
        and (e.order_seq < d.order_seq or (e.order_seq = d.order_seq and e.seq < d.seq) or e.lease_until >= ${now})
    ) and not exists (
      select 1 from records r
      where r.status in ('received', 'scoring') and r.pipeline = d.pipeline and r.seq < d.order_seq
        and ${keyOfRecord} = d.order_key
    )`;
}

export async function updateDelivery(db: Kysely<Tables>, seq: number, owner: string, set: Updateable<DeliveriesTable>): Promise<boolean> {
  const res = await db.updateTable('deliveries').set(set).where('seq', '=', seq).where('lease_owner', '=', owner).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function deliveriesOf(db: Kysely<Tables>, pipeline: string, recordId: string): Promise<DeliveryRow[]> {
  return db
    .selectFrom('deliveries')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('record_id', '=', recordId)
    .orderBy('seq')
    .execute();
}

export async function countPendingDeliveries(db: Kysely<Tables>): Promise<{ pipeline: string; destination: string; n: number }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['pipeline', 'destination', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'pending')
    .groupBy(['pipeline', 'destination'])
    .execute();
  return rows.map((r) => ({ pipeline: r.pipeline, destination: r.destination, n: Number(r.n) }));
}
