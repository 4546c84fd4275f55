import type { Kysely } from 'kysely';
import type { EventRow, Tables } from './tables.js';

export interface NewEvent {
  pipeline: string;
  recordId: string;
  at: number;
  kind: string;
  detail?: Record<string, unknown>;
}

/** Appends events to the audit trail (append-only: there is no update or delete). */
export async function appendEvents(db: Kysely<Tables>, events: NewEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events.slice(i, i + 500);
    await db
      .insertInto('events')
      .values(
        chunk.map((e) => ({ pipeline: e.pipeline, record_id: e.recordId, at: e.at, kind: e.kind, detail: JSON.stringify(e.detail ?? {}) })),
      )
      .execute();
  }
}

export async function eventsOf(db: Kysely<Tables>, pipeline: string, recordId: string): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('pipeline', '=', pipeline).where('record_id', '=', recordId).orderBy('seq').execute();
}
