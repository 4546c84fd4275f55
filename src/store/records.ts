import { type Kysely, sql } from 'kysely';
import { bulkInsert } from './bulk.js';
import { recordBody } from './codecs.js';
import { haltedPipelineFilter } from './contracts.js';
import type { DatabaseKind, NewRecordRow, RecordRow, RecordStatus, RecordUpdate, Tables } from './tables.js';

/** The stored id, body hash and status of those of `ids` that exist (for identity checks at ingest). */
export async function findRecords(
  db: Kysely<Tables>,
  pipeline: string,
  ids: string[],
  kind: DatabaseKind = 'sqlite',
): Promise<Pick<RecordRow, 'id' | 'body_hash' | 'status'>[]> {
  if (ids.length === 0) return [];
  if (kind === 'postgres') {
    // One array parameter: a plan that uses the (pipeline, id) index whatever the number of ids.
    const res = await sql<Pick<RecordRow, 'id' | 'body_hash' | 'status'>>`
      select id, body_hash, status from records where pipeline = ${pipeline} and id = any(${ids}::text[])`.execute(db);
    return res.rows;
  }
  const out: Pick<RecordRow, 'id' | 'body_hash' | 'status'>[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    out.push(
      ...(await db
        .selectFrom('records')
        .select(['id', 'body_hash', 'status'])
        .where('pipeline', '=', pipeline)
        .where('id', 'in', chunk)
        .execute()),
    );
  }
  return out;
}

/** A record's body as stored, decoded; undefined when there is no such record. */
export async function recordBodyOf(db: Kysely<Tables>, pipeline: string, id: string): Promise<unknown> {
  const r = await db.selectFrom('records').select('body').where('pipeline', '=', pipeline).where('id', '=', id).executeTakeFirst();
  return r ? recordBody.decode(r.body) : undefined;
}

export async function getRecord(db: Kysely<Tables>, pipeline: string, id: string): Promise<RecordRow | undefined> {
  return db.selectFrom('records').selectAll().where('pipeline', '=', pipeline).where('id', '=', id).executeTakeFirst();
}

/** Records with this id in any pipeline (for the `/v1/records/:id` shortcut). */
export async function findRecordsById(db: Kysely<Tables>, id: string): Promise<RecordRow[]> {
  return db.selectFrom('records').selectAll().where('id', '=', id).limit(2).execute();
}

const RECORD_COLUMNS = [
  'pipeline',
  'id',
  'body',
  'body_hash',
  'status',
  'contract_hash',
  'violations',
  'prediction',
  'decision',
  'score_attempts',
  'available_at',
  'lease_owner',
  'lease_until',
  'created_at',
  'updated_at',
] as const;

export async function insertRecords(db: Kysely<Tables>, rows: NewRecordRow[], kind: DatabaseKind): Promise<void> {
  await bulkInsert(
    db,
    kind,
    'records',
    RECORD_COLUMNS,
    rows.map((r) => RECORD_COLUMNS.map((c) => r[c] ?? null)),
  );
}

/** Locks a record's row until the transaction ends (PostgreSQL); SQLite transactions are already serial. */
export async function lockRecord(db: Kysely<Tables>, kind: DatabaseKind, pipeline: string, id: string): Promise<RecordRow | undefined> {
  let q = db.selectFrom('records').selectAll().where('pipeline', '=', pipeline).where('id', '=', id);
  if (kind === 'postgres') q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function updateRecord(
  db: Kysely<Tables>,
  pipeline: string,
  id: string,
  set: RecordUpdate,
  leaseOwner?: string,
): Promise<boolean> {
  let q = db.updateTable('records').set(set).where('pipeline', '=', pipeline).where('id', '=', id);
  if (leaseOwner !== undefined) q = q.where('lease_owner', '=', leaseOwner);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Claims up to `limit` records of a pipeline that wait for scoring, with a lease. On PostgreSQL the rows are
 * chosen with FOR UPDATE SKIP LOCKED, so concurrent workers never claim the same record. Nothing is claimed while
 * the pipeline is halted on a schema change.
 */
export async function claimRecordsForScoring(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<RecordRow[]> {
  const waiting: RecordStatus[] = ['received', 'scoring'];
  const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
  const res = await sql<RecordRow>`
    update records set status = 'scoring', lease_owner = ${owner}, lease_until = ${now + leaseMs}, updated_at = ${now}
    where seq in (
      select seq from records
      where pipeline = ${pipeline} and status in (${sql.join(waiting)}) and available_at <= ${now}
        and (lease_until is null or lease_until < ${now})
        and ${haltedPipelineFilter(pipeline)}
      order by seq
      limit ${limit}
      ${lock}
    )
    returning *`.execute(db);
  return res.rows.sort((a, b) => a.seq - b.seq);
}

export async function countRecordsByStatus(db: Kysely<Tables>): Promise<{ pipeline: string; status: string; n: number }[]> {
  const rows = await db
    .selectFrom('records')
    .select(['pipeline', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['pipeline', 'status'])
    .execute();
  return rows.map((r) => ({ pipeline: r.pipeline, status: r.status, n: Number(r.n) }));
}
