import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/load.js';
import type { DatabaseKind } from '../store/db.js';
import { insertDeliveries } from '../store/deliveries.js';
import { appendEvents } from '../store/events.js';
import { lockRecord, updateRecord } from '../store/records.js';
import type { Tables } from '../store/tables.js';

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
  await insertDeliveries(
    trx,
    names.map((destination) => ({
      pipeline: pipeline.name,
      recordId,
      destination,
      idempotencyKey: idempotencyKey(pipeline.name, recordId, destination),
      now,
    })),
  );
  return 'decided';
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
  await appendEvents(
    trx,
    [
      {
        pipeline,
        recordId,
        at: now,
        kind: status,
        detail: dead.length > 0 ? { dead_lettered: dead, delivered: rows.length - dead.length } : { destinations: rows.length },
      },
    ],
    kind,
  );
  return status;
}
