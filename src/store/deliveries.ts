import { type Kysely, sql, type Updateable } from 'kysely';
import type { DatabaseKind } from './db.js';
import type { DeliveriesTable, DeliveryRow, Tables } from './tables.js';

export interface NewDelivery {
  pipeline: string;
  recordId: string;
  destination: string;
  idempotencyKey: string;
  now: number;
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

/** Claims due deliveries of one destination with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL). */
export async function claimDueDeliveries(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<DeliveryRow[]> {
  if (limit <= 0) return [];
  const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
  const res = await sql<DeliveryRow>`
    update deliveries set lease_owner = ${owner}, lease_until = ${now + leaseMs}
    where seq in (
      select seq from deliveries
      where status = 'pending' and pipeline = ${pipeline} and destination = ${destination}
        and next_attempt_at <= ${now} and (lease_until is null or lease_until < ${now})
      order by next_attempt_at, seq
      limit ${limit}
      ${lock}
    )
    returning *`.execute(db);
  return res.rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.seq - b.seq);
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
