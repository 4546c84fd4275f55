import { type Kysely, sql } from 'kysely';
import { type HaltDetail, type HaltResolution, haltDetail, haltResolution } from './codecs.js';
import type { ContractVersionRow, DatabaseKind, HaltRow, Tables } from './tables.js';

export async function contractVersions(db: Kysely<Tables>, pipeline: string): Promise<ContractVersionRow[]> {
  return db.selectFrom('contract_versions').selectAll().where('pipeline', '=', pipeline).orderBy('version', 'asc').execute();
}

export async function activeContractVersion(db: Kysely<Tables>, pipeline: string): Promise<ContractVersionRow | undefined> {
  return db
    .selectFrom('contract_versions')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'active')
    .orderBy('version', 'desc')
    .executeTakeFirst();
}

/** Adds a version and makes it the active one; the previous active version is superseded. */
export async function insertActiveContractVersion(
  db: Kysely<Tables>,
  v: { pipeline: string; hash: string; schema: string; source: 'config' | 'accepted'; now: number; by: string | null; note: string | null },
): Promise<number> {
  const last = await db
    .selectFrom('contract_versions')
    .select((eb) => eb.fn.max<number>('version').as('v'))
    .where('pipeline', '=', v.pipeline)
    .executeTakeFirst();
  const version = Number(last?.v ?? 0) + 1;
  await db
    .updateTable('contract_versions')
    .set({ status: 'superseded' })
    .where('pipeline', '=', v.pipeline)
    .where('status', '=', 'active')
    .execute();
  await db
    .insertInto('contract_versions')
    .values({
      pipeline: v.pipeline,
      version,
      hash: v.hash,
      schema: v.schema,
      source: v.source,
      status: 'active',
      created_at: v.now,
      created_by: v.by,
      note: v.note,
    })
    .execute();
  return version;
}

export async function openHalt(db: Kysely<Tables>, pipeline: string, kind: DatabaseKind, lock = false): Promise<HaltRow | undefined> {
  let q = db.selectFrom('halts').selectAll().where('pipeline', '=', pipeline).where('status', '=', 'open').orderBy('id', 'asc');
  if (lock && kind === 'postgres') q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function haltsOf(db: Kysely<Tables>, pipeline: string, limit = 50): Promise<HaltRow[]> {
  return db.selectFrom('halts').selectAll().where('pipeline', '=', pipeline).orderBy('id', 'desc').limit(limit).execute();
}

export async function insertHalt(
  db: Kysely<Tables>,
  h: { pipeline: string; kind: string; field: string; contractVersion: number | null; detail: HaltDetail; now: number },
): Promise<number> {
  const row = await db
    .insertInto('halts')
    .values({
      pipeline: h.pipeline,
      status: 'open',
      kind: h.kind,
      field: h.field,
      contract_version: h.contractVersion,
      detail: haltDetail.encode(h.detail),
      opened_at: h.now,
      resolved_at: null,
      resolved_by: null,
      resolution: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function resolveHalt(
  db: Kysely<Tables>,
  id: number,
  status: 'accepted' | 'rejected',
  by: string | null,
  resolution: HaltResolution,
  now: number,
): Promise<boolean> {
  const res = await db
    .updateTable('halts')
    .set({ status, resolved_by: by, resolved_at: now, resolution: haltResolution.encode(resolution) })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Records one sighting of a structural change and answers how many records showed it within the window. */
export async function recordSighting(
  db: Kysely<Tables>,
  s: { pipeline: string; kind: string; field: string; recordId: string; now: number; windowMs: number },
): Promise<{ count: number; recordIds: string[] }> {
  await db
    .insertInto('change_sightings')
    .values({ pipeline: s.pipeline, kind: s.kind, field: s.field, record_id: s.recordId, at: s.now })
    .execute();
  const rows = await db
    .selectFrom('change_sightings')
    .select('record_id')
    .where('pipeline', '=', s.pipeline)
    .where('kind', '=', s.kind)
    .where('field', '=', s.field)
    .where('at', '>', s.now - s.windowMs)
    .orderBy('seq', 'asc')
    .execute();
  return { count: rows.length, recordIds: rows.map((r) => r.record_id) };
}

/** Forgets sightings older than the longest window any pipeline uses (housekeeping; they carry no record values). */
export async function pruneSightings(db: Kysely<Tables>, before: number): Promise<void> {
  await db.deleteFrom('change_sightings').where('at', '<', before).execute();
}

/** SQL condition: the pipeline has no open halt (the scoring claim adds it, so a halt stops scoring at once). */
export function haltedPipelineFilter(pipeline: string) {
  return sql`not exists (select 1 from halts h where h.pipeline = ${pipeline} and h.status = 'open')`;
}
