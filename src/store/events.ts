import type { Kysely } from 'kysely';
import { bulkInsert } from './bulk.js';
import { eventDetail } from './codecs.js';
import type { EventKind, EventOf } from './event-details.js';
import type { DatabaseKind, EventRow, Tables } from './tables.js';

/** An event to append: its kind, and the detail of that kind (src/store/event-details.ts). */
export type NewEvent<K extends EventKind = EventKind> = EventOf<K>;

/** Appends events to the audit trail (append-only: there is no update or delete). */
export async function appendEvents(db: Kysely<Tables>, events: NewEvent[], kind: DatabaseKind): Promise<void> {
  if (events.length === 0) return;
  await bulkInsert(
    db,
    kind,
    'events',
    ['pipeline', 'record_id', 'at', 'kind', 'detail'],
    events.map((e) => [e.pipeline, e.recordId, e.at, e.kind, eventDetail.encode(e.detail)]),
  );
}

export async function eventsOf(db: Kysely<Tables>, pipeline: string, recordId: string): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('pipeline', '=', pipeline).where('record_id', '=', recordId).orderBy('seq').execute();
}
