import type { Kysely } from 'kysely';
import { bulkInsert } from './bulk.js';
import type { DatabaseKind } from './db.js';
import type { EventRow, Tables } from './tables.js';

export interface NewEvent {
  pipeline: string;
  recordId: string;
  at: number;
  kind: string;
  detail?: Record<string, unknown>;
}

/** Appends events to the audit trail (append-only: there is no update or delete). */
export async function appendEvents(db: Kysely<Tables>, events: NewEvent[], kind: DatabaseKind): Promise<void> {
  if (events.length === 0) return;
  await bulkInsert(
    db,
    kind,
    'events',
    ['pipeline', 'record_id', 'at', 'kind', 'detail'],
    events.map((e) => [e.pipeline, e.recordId, e.at, e.kind, JSON.stringify(e.detail ?? {})]),
  );
}

export async function eventsOf(db: Kysely<Tables>, pipeline: string, recordId: string): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('pipeline', '=', pipeline).where('record_id', '=', recordId).orderBy('seq').execute();
}
